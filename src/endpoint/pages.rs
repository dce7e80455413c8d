//! What the endpoint shows: the preferences page (`GET` on its path), also the withdrawal
//! page, and the banner's stylesheet for pages whose policy allows no inline style.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{
    ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_LANGUAGE, CONTENT_SECURITY_POLICY, CONTENT_TYPE, VARY,
};
use http::{HeaderValue, Method, Response, request};

use crate::banner::render::{self, Page};
use crate::config::Settings;
use crate::request::{self as request_facts, RequestFacts};

use super::{origin, submission};

/// The preferences page for the visitor making the request: their current choice ticked,
/// the GPC notice when the signal is sent, and `return_to` (a query parameter, else the
/// `Referer`) as the way back.
pub(crate) fn preferences(parts: &request::Parts, settings: &Arc<Settings>) -> Response<Bytes> {
    let facts = RequestFacts::read(&parts.headers, &settings.reader.finder);
    let consent = request_facts::consent(settings, facts);
    let query_return = parts.uri.query().and_then(|query| {
        submission::form_pairs(query.as_bytes())
            .find_map(|(name, value)| (name.ok()? == "return_to").then_some(value.ok()?))
    });
    let return_to = origin::return_location(query_return.as_deref(), &parts.headers, &parts.uri);
    let banner = &settings.banner;
    let language = banner.language(
        parts
            .headers
            .get(ACCEPT_LANGUAGE)
            .map(HeaderValue::as_bytes),
    );
    let page = Page {
        banner,
        categories: settings.categories(),
        language,
        return_to,
        gpc: consent.gpc(),
    };
    // A fresh nonce per page: the policy allows this page's stylesheet and nothing else.
    let nonce = super::new_consent_id().to_hex();
    let body = if parts.method == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from(render::preferences(
            &page,
            consent.allowed_set(),
            &settings.services,
            &nonce,
        ))
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        VARY,
        HeaderValue::from_static("cookie, sec-gpc, accept-language"),
    );
    if let Some(Ok(language)) = banner
        .texts
        .get(language)
        .map(|t| HeaderValue::from_str(&t.language))
    {
        headers.insert(CONTENT_LANGUAGE, language);
    }
    let policy = format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
    );
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(CONTENT_SECURITY_POLICY, policy);
    }
    response
}

/// The stylesheet, for pages whose `Content-Security-Policy` allows styles from `'self'` but
/// not inline.
pub(crate) fn stylesheet(parts: &request::Parts) -> Response<Bytes> {
    let body = if parts.method == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from_static(render::Sheet::Served.css().as_bytes())
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    // The same for every visitor; a day is short enough for a new version to reach everyone.
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}
