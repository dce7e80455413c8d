//! The consent endpoint: where a visitor's choice is posted, recorded, and stored in the cookie.
//!
//! The service answers requests to the endpoint path itself; the inner service never sees them.
//! Everything that can be decided from the request head is decided before the body is read
//! ([`prepare`]); the rest once it has been ([`answer`]).

mod origin;
mod pages;
mod submission;

use std::sync::Arc;

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::{HeaderValue, Method, Response, StatusCode, request};

use crate::config::Settings;
use crate::consent::{Consent, ConsentId, Decision};
use crate::sink::ConsentRecord;
use crate::{headers, request as request_facts, time};

pub(crate) use origin::safe_return_path;
pub(crate) use submission::Format;

/// What to do with an endpoint request once its head is known.
#[derive(Debug)]
pub(crate) enum Prepared {
    /// Answer now, without reading the body.
    Answer(Response<Bytes>),
    /// Read the body (at most the configured limit), then [`answer`].
    ReadBody(Format),
}

pub(crate) fn prepare(parts: &request::Parts, settings: &Arc<Settings>) -> Prepared {
    let stylesheet = parts.uri.path() == settings.banner.stylesheet_path;
    let readable = parts.method == Method::GET || parts.method == Method::HEAD;
    match (stylesheet, readable) {
        (true, true) => return Prepared::Answer(pages::stylesheet(parts)),
        (false, true) => return Prepared::Answer(pages::preferences(parts, settings)),
        (_, false) if stylesheet || parts.method != Method::POST => {
            let (allow, message) = if stylesheet {
                ("GET, HEAD", "the stylesheet is read with GET")
            } else {
                (
                    "GET, HEAD, POST",
                    "the consent endpoint shows the preferences page (GET) and records a choice (POST)",
                )
            };
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, message);
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
            return Prepared::Answer(response);
        }
        _ => {}
    }
    let https_site = settings.cookie.secure;
    if let Err(refusal) = origin::check_same_origin(
        &parts.headers,
        &parts.uri,
        &settings.allowed_origins,
        https_site,
    ) {
        return Prepared::Answer(plain(StatusCode::FORBIDDEN, refusal));
    }
    let Some(format) = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| Format::from_content_type(v.as_bytes()))
    else {
        return Prepared::Answer(plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the choice as application/x-www-form-urlencoded or application/json",
        ));
    };
    let declared_len = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|len| len > settings.max_body_bytes as u64) {
        return Prepared::Answer(too_large(settings));
    }
    Prepared::ReadBody(format)
}

/// The body was longer than the configured limit.
pub(crate) fn too_large(settings: &Settings) -> Response<Bytes> {
    plain(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "a consent submission is at most {} bytes",
            settings.max_body_bytes
        ),
    )
}

/// The request body failed before it was complete.
pub(crate) fn unreadable_body() -> Response<Bytes> {
    plain(
        StatusCode::BAD_REQUEST,
        "the request body could not be read",
    )
}

/// Records the submitted choice and replies: `303` back to the page for a form, `200` with the
/// resulting consent for JSON. Both set the consent cookie and expire the cookies of categories
/// the choice does not allow.
pub(crate) fn answer(
    parts: &request::Parts,
    format: Format,
    body: &[u8],
    settings: &Arc<Settings>,
) -> Response<Bytes> {
    let submission = match submission::parse(format, body, settings.categories()) {
        Ok(submission) => submission,
        Err(error) => return plain(StatusCode::BAD_REQUEST, error.to_string()),
    };
    let gpc = request_facts::gpc(&parts.headers);
    let decision = Decision {
        granted: submission.granted,
        revision: settings.reader.codec.revision(),
        decided_at: time::now_secs(),
        id: new_consent_id(),
        gpc,
    };
    let record = ConsentRecord {
        id: decision.id,
        time: decision.decided_at,
        action: submission.action,
        categories: decision
            .granted
            .indices()
            .filter_map(|i| settings.categories().name(i))
            .map(|c| c.as_str().to_owned())
            .collect(),
        revision: decision.revision,
        gpc,
        wording: submission
            .wording
            .filter(|hash| settings.banner.knows_wording(hash)),
    };
    if let Err(error) = settings.sink.record(&record) {
        tracing::error!(%error, "tower-consent: choice not recorded, so not applied");
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "your choice could not be recorded; please try again",
        );
    }
    let consent = Consent::with_decision(settings.clone(), Some(decision), gpc);

    let mut response = match format {
        Format::Form => {
            let location = origin::return_location(
                submission.return_to.as_deref(),
                &parts.headers,
                &parts.uri,
            );
            let mut response = Response::new(Bytes::new());
            *response.status_mut() = StatusCode::SEE_OTHER;
            let location = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
            response.headers_mut().insert(LOCATION, location);
            response
        }
        Format::Json => {
            let body = serde_json::to_vec(&consent).unwrap_or_default();
            let mut response = Response::new(Bytes::from(body));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(cookie) = HeaderValue::from_str(&consent_cookie(settings, &decision)) {
        headers.append(SET_COOKIE, cookie);
    }
    let withdrawn = headers::lingering_cookies(&parts.headers, settings, consent.allowed_set());
    headers::expire_cookies(headers, settings, &withdrawn);
    response
}

fn consent_cookie(settings: &Settings, decision: &Decision) -> String {
    let config = &settings.cookie;
    let value = settings
        .reader
        .codec
        .encode(decision, settings.categories());
    let max_age = i64::try_from(config.max_age_secs).unwrap_or(i64::MAX);
    let mut cookie = cookie::Cookie::build((config.name.as_str(), value))
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age))
        .same_site(cookie::SameSite::Lax)
        .secure(config.secure);
    if let Some(domain) = &config.domain {
        cookie = cookie.domain(domain.as_str());
    }
    cookie.to_string()
}

/// 128 bits from the operating system's generator. Should it fail, the id is still unique in
/// practice (time, a counter and per-process random hash keys), though guessable.
pub(crate) fn new_consent_id() -> ConsentId {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_ok() {
        return ConsentId::from_u128(u128::from_le_bytes(bytes));
    }
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    tracing::warn!("tower-consent: the OS random generator failed; using a fallback consent id");
    let seed = (
        std::time::SystemTime::now(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::process::id(),
    );
    let half = |_| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        std::hash::Hash::hash(&seed, &mut hasher);
        hasher.finish()
    };
    ConsentId::from_u128(u128::from(half(0)) << 64 | u128::from(half(1)))
}

/// A short plain-text reply that is never cached.
pub(crate) fn plain(status: StatusCode, message: impl Into<String>) -> Response<Bytes> {
    let mut body = message.into();
    body.push('\n');
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
