//! The layer end to end through `tower::ServiceExt::oneshot`: endpoint, extensions, Set-Cookie
//! gating, and bad input of every kind.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{
    ALLOW, CONTENT_TYPE, COOKIE, HOST, LOCATION, ORIGIN, REFERER, SET_COOKIE, VARY,
};
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::Full;
use tower::{Service, ServiceExt, service_fn};
mod common;

use common::{Recorder, Reply};
use tower_consent::{
    Consent, ConsentLayer, ConsentLayerBuilder, ConsentRecord, ConsentSink, SinkError,
    UnknownCookies,
};

/// The cookies the inner site sets on every response.
const SITE_COOKIES: &[&str] = &[
    "sid=abc; Path=/; HttpOnly",
    "_ga=GA1.1.123.456; Path=/; Max-Age=63072000",
    "_ga_ABC123=GS1.1; Path=/",
    "_fbp=fb.1.123; Path=/",
    "theme=dark; Path=/",
];

struct FailingSink;

impl ConsentSink for FailingSink {
    fn record(&self, _: &ConsentRecord) -> Result<(), SinkError> {
        Err(SinkError::Other("disk full".into()))
    }
}

fn builder() -> ConsentLayerBuilder {
    ConsentLayer::builder().cookie("theme", "preferences")
}

/// The site: sets `SITE_COOKIES` (or the cookies in `x-set-cookie`) and answers with what the
/// handler sees of the consent.
async fn site(req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let consent = req.extensions().get::<Consent>().cloned();
    let body = match &consent {
        Some(c) => serde_json::to_string(c).unwrap(),
        None => "no consent".into(),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    let custom: Vec<_> = req
        .headers()
        .get_all("x-set-cookie")
        .iter()
        .cloned()
        .collect();
    if custom.is_empty() {
        for cookie in SITE_COOKIES {
            response
                .headers_mut()
                .append(SET_COOKIE, cookie.parse().unwrap());
        }
    } else {
        for value in custom {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    if let Some(vary) = req.headers().get("x-vary") {
        response.headers_mut().insert(VARY, vary.clone());
    }
    Ok(response)
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn allowed(&self) -> Vec<String> {
        self.json()["allowed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }
}

async fn send_with<B>(layer: &ConsentLayer, req: Request<B>) -> Reply
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Debug,
{
    let service = layer
        .clone()
        .layer_service(service_fn(|req: Request<B>| async move {
            let (parts, _) = req.into_parts();
            site(Request::from_parts(parts, Full::new(Bytes::new()))).await
        }));
    common::read(service.oneshot(req).await.unwrap()).await
}

async fn send(layer: &ConsentLayer, req: Request<Full<Bytes>>) -> Reply {
    send_with(layer, req).await
}

trait LayerExt {
    fn layer_service<S>(self, inner: S) -> tower_consent::ConsentService<S>;
}

impl LayerExt for ConsentLayer {
    fn layer_service<S>(self, inner: S) -> tower_consent::ConsentService<S> {
        tower::Layer::layer(&self, inner)
    }
}

fn page(cookie: Option<&str>) -> Request<Full<Bytes>> {
    let mut req = Request::get("/page")
        .header(HOST, "example.com")
        .header("sec-fetch-dest", "document");
    if let Some(cookie) = cookie {
        req = req.header(COOKIE, cookie);
    }
    req.body(Full::new(Bytes::new())).unwrap()
}

fn form(body: &str) -> http::request::Builder {
    Request::post("/consent")
        .header(HOST, "example.com")
        .header(ORIGIN, "https://example.com")
        .header("sec-fetch-site", "same-origin")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-body", body)
}

fn build(req: http::request::Builder) -> Request<Full<Bytes>> {
    let body = req
        .headers_ref()
        .and_then(|h| h.get("x-body"))
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    req.body(Full::new(Bytes::from(body))).unwrap()
}

fn json_post(body: &str) -> Request<Full<Bytes>> {
    Request::post("/consent")
        .header(HOST, "example.com")
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

#[tokio::test]
async fn undecided_visitor_gets_only_necessary_and_unknown_cookies() {
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let reply = send(&layer, page(None)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.set_cookie_names(), ["sid"]);
    assert_eq!(reply.json()["decided"], false);
    assert_eq!(reply.allowed(), ["necessary"]);
    let vary: Vec<_> = reply.headers.get_all(VARY).iter().collect();
    assert_eq!(vary, ["cookie, sec-gpc"]);
}

#[tokio::test]
async fn accept_round_trip_reaches_the_handler() {
    let recorder = Recorder::default();
    let layer = builder().sink(recorder.clone()).build().unwrap();
    let reply = send(&layer, build(form("action=accept&return_to=/after"))).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.headers[LOCATION], "/after");
    assert_eq!(reply.headers["cache-control"], "no-store");
    let set = reply.set_cookies();
    assert_eq!(set.len(), 1, "{set:?}");
    let consent = &set[0];
    assert!(
        consent.starts_with("__Host-consent=1.preferences+analytics+marketing.1."),
        "{consent}"
    );
    for attribute in [
        "; SameSite=Lax",
        "; Secure",
        "; Path=/",
        "; Max-Age=15552000",
    ] {
        assert!(consent.contains(attribute), "{consent} lacks {attribute}");
    }
    assert!(
        !consent.contains("HttpOnly"),
        "JavaScript must be able to read it"
    );

    let next = send(
        &layer,
        page(Some(&format!("sid=abc; {}", reply.consent_cookie()))),
    )
    .await;
    assert_eq!(next.json()["decided"], true);
    assert_eq!(
        next.allowed(),
        ["necessary", "preferences", "analytics", "marketing"]
    );
    assert_eq!(
        next.set_cookie_names(),
        ["sid", "_ga", "_ga_ABC123", "_fbp", "theme"]
    );
    let records = recorder.records();
    assert_eq!(records.len(), 1);
    assert_eq!(next.json()["id"], records[0].id.to_string());
    assert_eq!(
        records[0].categories,
        ["preferences", "analytics", "marketing"]
    );
}

#[tokio::test]
async fn reject_and_save_gate_set_cookie_per_category() {
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let reject = send(&layer, build(form("action=reject"))).await;
    let after_reject = send(&layer, page(Some(&reject.consent_cookie()))).await;
    assert_eq!(after_reject.json()["decided"], true);
    assert_eq!(after_reject.allowed(), ["necessary"]);
    assert_eq!(after_reject.set_cookie_names(), ["sid"]);

    let cases: &[(&str, &[&str])] = &[
        ("category=analytics", &["sid", "_ga", "_ga_ABC123"]),
        ("category=marketing", &["sid", "_fbp"]),
        ("category=preferences", &["sid", "theme"]),
        (
            "category=analytics&category=preferences",
            &["sid", "_ga", "_ga_ABC123", "theme"],
        ),
        ("", &["sid"]),
    ];
    for (categories, expected) in cases {
        let save = send(&layer, build(form(&format!("action=save&{categories}")))).await;
        assert_eq!(save.status, StatusCode::SEE_OTHER);
        let next = send(&layer, page(Some(&save.consent_cookie()))).await;
        assert_eq!(&next.set_cookie_names(), expected, "{categories}");
    }
}

#[tokio::test]
async fn json_endpoint_replies_with_the_consent() {
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let reply = send(
        &layer,
        json_post(r#"{"action":"save","categories":["analytics"]}"#),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[CONTENT_TYPE], "application/json");
    assert_eq!(reply.allowed(), ["necessary", "analytics"]);
    assert_eq!(
        reply.json()["denied"],
        serde_json::json!(["preferences", "marketing"])
    );
    assert_eq!(reply.json()["revision"], 1);
    let next = send(&layer, page(Some(&reply.consent_cookie()))).await;
    assert_eq!(next.allowed(), ["necessary", "analytics"]);
}

#[tokio::test]
async fn withdrawal_expires_the_withdrawn_categories_cookies() {
    let layer = builder()
        .cookie_domain("example.com")
        .sink(Recorder::default())
        .build()
        .unwrap();
    let accept = send(&layer, build(form("action=accept"))).await;
    let cookie_header = format!(
        "{}; _ga=GA1; _ga_ABC123=GS1; _fbp=fb; theme=dark; sid=1",
        accept.consent_cookie()
    );
    let withdraw = send(
        &layer,
        build(form("action=save&category=preferences").header(COOKIE, &cookie_header)),
    )
    .await;
    let set = withdraw.set_cookies();
    assert!(
        set[0].starts_with("__Secure-consent=1.preferences."),
        "{set:?}"
    );
    let expired: Vec<_> = set[1..].iter().map(String::as_str).collect();
    assert_eq!(
        expired,
        // Host-only and on the parent domain; unpartitioned and partitioned (CHIPS).
        [
            "_ga=; SameSite=None; Secure; Path=/; Max-Age=0",
            "_ga=; SameSite=None; Secure; Path=/; Domain=example.com; Max-Age=0",
            "_ga=; SameSite=None; Partitioned; Secure; Path=/; Max-Age=0",
            "_ga=; SameSite=None; Partitioned; Secure; Path=/; Domain=example.com; Max-Age=0",
            "_ga_ABC123=; SameSite=None; Secure; Path=/; Max-Age=0",
            "_ga_ABC123=; SameSite=None; Secure; Path=/; Domain=example.com; Max-Age=0",
            "_ga_ABC123=; SameSite=None; Partitioned; Secure; Path=/; Max-Age=0",
            "_ga_ABC123=; SameSite=None; Partitioned; Secure; Path=/; Domain=example.com; Max-Age=0",
            "_fbp=; SameSite=None; Secure; Path=/; Max-Age=0",
            "_fbp=; SameSite=None; Secure; Path=/; Domain=example.com; Max-Age=0",
            "_fbp=; SameSite=None; Partitioned; Secure; Path=/; Max-Age=0",
            "_fbp=; SameSite=None; Partitioned; Secure; Path=/; Domain=example.com; Max-Age=0",
        ]
    );
}

#[tokio::test]
async fn lingering_tracker_cookies_are_expired_on_page_views() {
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let reply = send(&layer, page(Some("_fbp=old; sid=1"))).await;
    let set = reply.set_cookies();
    assert!(
        set.contains(&"_fbp=; SameSite=None; Secure; Path=/; Max-Age=0".to_string()),
        "{set:?}"
    );
    // Not for requests that are not page views (an API call, an image).
    let api = Request::get("/api")
        .header(COOKIE, "_fbp=old")
        .header("sec-fetch-dest", "empty")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let reply = send(&layer, api).await;
    assert!(!reply.set_cookies().iter().any(|c| c.contains("Max-Age=0")));
}

#[tokio::test]
async fn gpc_denies_marketing_and_is_recorded() {
    let recorder = Recorder::default();
    let layer = builder().sink(recorder.clone()).build().unwrap();
    // Accepted without the signal; the signal arrives later: marketing is off.
    let accept = send(&layer, build(form("action=accept"))).await;
    let mut req = page(Some(&accept.consent_cookie()));
    req.headers_mut().insert("sec-gpc", "1".parse().unwrap());
    let reply = send(&layer, req).await;
    assert_eq!(reply.allowed(), ["necessary", "preferences", "analytics"]);
    assert_eq!(reply.json()["gpc"], true);
    assert!(!reply.set_cookie_names().contains(&"_fbp".to_string()));

    // Accepted while sending the signal: an explicit grant, marketing stays on.
    let accept_gpc = send(&layer, build(form("action=accept").header("sec-gpc", "1"))).await;
    let mut req = page(Some(&accept_gpc.consent_cookie()));
    req.headers_mut().insert("sec-gpc", "1".parse().unwrap());
    let reply = send(&layer, req).await;
    assert!(reply.allowed().contains(&"marketing".to_string()));
    assert_eq!(reply.json()["gpc_at_decision"], true);

    let records = recorder.records();
    assert_eq!([records[0].gpc, records[1].gpc], [false, true]);
}

#[tokio::test]
async fn cross_site_submissions_are_forbidden() {
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let cases = [
        build(form("action=accept").header("sec-fetch-site", "cross-site")),
        build(
            Request::post("/consent")
                .header(HOST, "example.com")
                .header(ORIGIN, "https://evil.example")
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("x-body", "action=accept"),
        ),
    ];
    for req in cases {
        let reply = send(&layer, req).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert!(reply.set_cookies().is_empty());
        assert!(
            reply
                .body
                .contains("consent can only be given on this site"),
            "{}",
            reply.body
        );
    }
}

#[tokio::test]
async fn redirects_stay_on_the_site() {
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let cases = [
        ("return_to=%2F%2Fevil.com", None, "/"),
        ("return_to=https%3A%2F%2Fevil.com", None, "/"),
        ("return_to=%2F%5Cevil.com", None, "/"),
        ("return_to=%2Fa%0D%0ASet-Cookie%3A+x%3D1", None, "/"),
        ("return_to=%2Fok%3Fa%3D1", None, "/ok?a=1"),
        ("", Some("https://example.com/from?x=1"), "/from?x=1"),
        ("", Some("https://evil.com/from"), "/"),
        (
            "return_to=%2F%2Fevil.com",
            Some("https://example.com/back"),
            "/back",
        ),
    ];
    for (extra, referer, expected) in cases {
        let mut req = form(&format!("action=reject&{extra}"));
        if let Some(referer) = referer {
            req = req.header(REFERER, referer);
        }
        let reply = send(&layer, build(req)).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER);
        assert_eq!(reply.headers[LOCATION], expected, "{extra} {referer:?}");
    }
}

#[tokio::test]
async fn a_policy_revision_bump_asks_again() {
    let v1 = builder().sink(Recorder::default()).build().unwrap();
    let v2 = builder()
        .policy_revision(2)
        .sink(Recorder::default())
        .build()
        .unwrap();
    let accept = send(&v1, build(form("action=accept"))).await;
    let cookie = accept.consent_cookie();
    assert_eq!(send(&v1, page(Some(&cookie))).await.json()["decided"], true);
    let asked_again = send(&v2, page(Some(&cookie))).await;
    assert_eq!(asked_again.json()["decided"], false);
    assert_eq!(asked_again.set_cookie_names(), ["sid"]);
}

#[tokio::test]
async fn signed_cookies_reject_tampering_and_unsigned_values() {
    let signed = builder()
        .signing_key([9u8; 32])
        .sink(Recorder::default())
        .build()
        .unwrap();
    let unsigned = builder().sink(Recorder::default()).build().unwrap();
    let reject = send(&signed, build(form("action=reject"))).await;
    let cookie = reject.consent_cookie();
    assert_eq!(
        send(&signed, page(Some(&cookie))).await.json()["decided"],
        true
    );

    let tampered = cookie.replacen("1..", "1.marketing.", 1);
    assert_ne!(tampered, cookie);
    let reply = send(&signed, page(Some(&tampered))).await;
    assert_eq!(reply.json()["decided"], false);
    assert_eq!(reply.allowed(), ["necessary"]);

    let forged = send(&unsigned, build(form("action=accept")))
        .await
        .consent_cookie();
    let reply = send(&signed, page(Some(&forged))).await;
    assert_eq!(reply.json()["decided"], false);
}

#[tokio::test]
async fn report_only_changes_nothing() {
    let layer = builder()
        .report_only(true)
        .sink(Recorder::default())
        .build()
        .unwrap();
    let reply = send(&layer, page(Some("_fbp=old"))).await;
    assert_eq!(
        reply.set_cookie_names(),
        ["sid", "_ga", "_ga_ABC123", "_fbp", "theme"]
    );
    assert!(reply.headers.get(VARY).is_none());
    assert_eq!(
        reply.allowed(),
        ["necessary"],
        "handlers still see the real consent"
    );
    // The endpoint still records choices.
    let accept = send(&layer, build(form("action=accept"))).await;
    assert_eq!(accept.status, StatusCode::SEE_OTHER);
    assert!(!accept.consent_cookie().is_empty());
}

#[tokio::test]
async fn unknown_cookie_policy() {
    let allow = builder().sink(Recorder::default()).build().unwrap();
    let strict = builder()
        .unknown_cookies(UnknownCookies::AsCategory("marketing".into()))
        .sink(Recorder::default())
        .build()
        .unwrap();
    assert_eq!(send(&allow, page(None)).await.set_cookie_names(), ["sid"]);
    assert!(
        send(&strict, page(None))
            .await
            .set_cookie_names()
            .is_empty()
    );
    let accept = send(&strict, build(form("action=accept"))).await;
    let all = send(&strict, page(Some(&accept.consent_cookie()))).await;
    assert!(all.set_cookie_names().contains(&"sid".to_string()));
    // Declared necessary: kept even under the strict policy.
    let declared = builder()
        .cookie("sid", "necessary")
        .unknown_cookies(UnknownCookies::AsCategory("marketing".into()))
        .sink(Recorder::default())
        .build()
        .unwrap();
    assert_eq!(
        send(&declared, page(None)).await.set_cookie_names(),
        ["sid"]
    );
}

#[tokio::test]
async fn vary_is_merged_and_only_added_when_consent_matters() {
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let mut req = page(None);
    req.headers_mut()
        .insert("x-vary", "Accept-Encoding, Cookie".parse().unwrap());
    let reply = send(&layer, req).await;
    let vary: Vec<_> = reply.headers.get_all(VARY).iter().collect();
    assert_eq!(vary, ["Accept-Encoding, Cookie", "sec-gpc"]);

    let mut req = page(None);
    req.headers_mut()
        .insert("x-set-cookie", "sid=1".parse().unwrap());
    let reply = send(&layer, req).await;
    assert!(
        reply.headers.get(VARY).is_none(),
        "only a necessary cookie: no Vary"
    );
}

#[tokio::test]
async fn endpoint_method_type_and_size_errors() {
    let layer = builder()
        .max_body_bytes(64)
        .sink(Recorder::default())
        .build()
        .unwrap();
    let delete = Request::delete("/consent")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let reply = send(&layer, delete).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers[ALLOW], "GET, HEAD, POST");
    let post_css = Request::post("/consent/banner.css")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let reply = send(&layer, post_css).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers[ALLOW], "GET, HEAD");

    let text = Request::post("/consent")
        .header(CONTENT_TYPE, "text/plain")
        .body(Full::new(Bytes::from("action=accept")))
        .unwrap();
    assert_eq!(
        send(&layer, text).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let none = Request::post("/consent")
        .body(Full::new(Bytes::from("action=accept")))
        .unwrap();
    assert_eq!(
        send(&layer, none).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );

    let big = build(form(&format!("action=accept&pad={}", "x".repeat(100))));
    let reply = send(&layer, big).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply.set_cookies().is_empty());

    for (body, message) in [
        ("action=maybe", "unknown action \"maybe\""),
        (
            "action=save&category=tracking",
            "unknown category \"tracking\"",
        ),
        ("category=analytics", "missing field `action`"),
        ("action=%FF", "not valid UTF-8"),
    ] {
        let reply = send(&layer, build(form(body))).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(reply.body.contains(message), "{body}: {}", reply.body);
        assert!(reply.set_cookies().is_empty());
    }
    let reply = send(&layer, json_post("{\"action\":")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body.starts_with("the JSON body is invalid"),
        "{}",
        reply.body
    );
}

/// A request body delivered in pieces, possibly failing.
struct Chunks(VecDeque<Result<Bytes, std::io::Error>>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.0.pop_front().map(|r| r.map(Frame::data)))
    }
}

fn streamed(chunks: Vec<Result<Bytes, std::io::Error>>) -> Request<Chunks> {
    Request::post("/consent")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Chunks(chunks.into()))
        .unwrap()
}

#[tokio::test]
async fn streamed_bodies_are_limited_and_errors_are_bad_requests() {
    let layer = builder()
        .max_body_bytes(32)
        .sink(Recorder::default())
        .build()
        .unwrap();
    let ok = send_with(
        &layer,
        streamed(vec![
            Ok("action=sa".into()),
            Ok(Bytes::new()),
            Ok("ve&category=analytics".into()),
        ]),
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let chunk = Bytes::from(vec![b'a'; 20]);
    let too_big = send_with(&layer, streamed(vec![Ok(chunk.clone()), Ok(chunk)])).await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
    let broken = send_with(
        &layer,
        streamed(vec![
            Ok("action=".into()),
            Err(std::io::Error::other("reset")),
        ]),
    )
    .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    assert!(broken.set_cookies().is_empty());
}

#[tokio::test]
async fn a_failing_sink_applies_no_choice() {
    let layer = builder().sink(FailingSink).build().unwrap();
    let reply = send(&layer, build(form("action=accept"))).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.set_cookies().is_empty());
}

#[tokio::test]
async fn bad_consent_cookies_mean_undecided_and_never_fail() {
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let good = send(&layer, build(form("action=accept")))
        .await
        .consent_cookie();
    let value = good.split_once('=').unwrap().1.to_string();
    let huge = format!("__Host-consent={}", "1".repeat(20_000));
    let cases: Vec<Vec<u8>> = vec![
        b"__Host-consent=".to_vec(),
        b"__Host-consent=garbage".to_vec(),
        format!("__Host-consent={}", &value[..value.len() / 2]).into_bytes(),
        format!("__Host-consent={value}x").into_bytes(),
        format!("__Host-consent={}", value.replace(".1.", ".7.")).into_bytes(),
        huge.into_bytes(),
        [b"__Host-consent=1.\xff\xfe.1.".as_slice(), &[0x80; 40]].concat(),
        format!("consent={value}").into_bytes(),
        format!("x__Host-consent={value}").into_bytes(),
    ];
    for cookie in cases {
        let mut req = page(None);
        req.headers_mut()
            .insert(COOKIE, http::HeaderValue::from_bytes(&cookie).unwrap());
        let reply = send(&layer, req).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.json()["decided"],
            false,
            "{}",
            String::from_utf8_lossy(&cookie)
        );
        assert_eq!(reply.set_cookie_names(), ["sid"]);
    }
}

#[tokio::test]
async fn several_consent_cookies_allow_only_what_all_of_them_allow() {
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let id = "0123456789abcdef0123456789abcdef";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let value = |cats: &str, at: u64| format!("__Host-consent=1.{cats}.1.{at}.{id}.0");
    let cases = [
        // A newer, wider choice (planted by a sibling subdomain, say) does not override.
        (
            vec![value("", now - 100), value("analytics+marketing", now - 50)],
            vec!["necessary"],
        ),
        (
            vec![value("analytics+marketing", now - 50), value("", now - 100)],
            vec!["necessary"],
        ),
        (
            vec![
                value("analytics+marketing", now - 50),
                value("analytics", now - 100),
            ],
            vec!["necessary", "analytics"],
        ),
        // Neither a subset of the other: only what both allow (a review found a planted
        // `preferences` winning over the visitor's own analytics+marketing).
        (
            vec![value("analytics", now - 100), value("marketing", now - 50)],
            vec!["necessary"],
        ),
        (
            vec![value("marketing", now - 50), value("analytics", now - 100)],
            vec!["necessary"],
        ),
        (
            vec![
                value("analytics+marketing", now - 100),
                value("preferences", now - 50),
            ],
            vec!["necessary"],
        ),
        (
            vec!["__Host-consent=junk".into(), value("analytics", now - 50)],
            vec!["necessary", "analytics"],
        ),
    ];
    for (cookies, expected) in cases {
        // Both as one header and as separate headers (HTTP/2 may split them).
        let joined = page(Some(&cookies.join("; ")));
        assert_eq!(
            send(&layer, joined).await.allowed(),
            expected,
            "{cookies:?}"
        );
        let mut split = page(None);
        for cookie in &cookies {
            split.headers_mut().append(COOKIE, cookie.parse().unwrap());
        }
        assert_eq!(
            send(&layer, split).await.allowed(),
            expected,
            "{cookies:?} split"
        );
    }
    // GPC's override is lifted only if every choice was made with the signal: a newer planted
    // one made with it does not lift it from the visitor's own.
    let own = format!("__Host-consent=1.marketing.1.{}.{id}.0", now - 100);
    let planted = format!("__Host-consent=1.marketing.1.{}.{id}.1", now - 50);
    let mut req = page(Some(&format!("{own}; {planted}")));
    req.headers_mut()
        .insert("sec-gpc", http::HeaderValue::from_static("1"));
    assert_eq!(send(&layer, req).await.allowed(), ["necessary"]);
    // With the signal behind every choice, the exemption holds.
    let mut req = page(Some(&planted));
    req.headers_mut()
        .insert("sec-gpc", http::HeaderValue::from_static("1"));
    assert_eq!(
        send(&layer, req).await.allowed(),
        ["necessary", "marketing"]
    );
}

#[tokio::test]
async fn a_16_kb_cookie_header_is_handled() {
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let accept = send(&layer, build(form("action=save&category=analytics"))).await;
    let mut header = String::new();
    for i in 0..1200 {
        header.push_str(&format!("c{i}=v{i}; "));
    }
    header.push_str(&accept.consent_cookie());
    assert!(
        header.len() > 12_000 && header.len() < 16_000,
        "{}",
        header.len()
    );
    let padded = format!("{header}; pad={}", "p".repeat(16_384 - header.len()));
    let reply = send(&layer, page(Some(&padded))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.allowed(), ["necessary", "analytics"]);
}

#[tokio::test]
async fn odd_set_cookie_values_are_judged_by_the_name_a_browser_would_store() {
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let mut req = page(None);
    for value in [
        &b"no-equals-sign"[..],
        b"=nameless",
        b"bad name=1",
        b"_fbp=\xff\xfe; Path=/",
        b"  _ga  =x",
        b"\xf0\x9f=1",
        b"_gid",
        b"=_ga=GA1.1.123; Path=/",
        b"=",
    ] {
        req.headers_mut().append(
            "x-set-cookie",
            http::HeaderValue::from_bytes(value).unwrap(),
        );
    }
    let reply = send(&layer, req).await;
    assert_eq!(reply.status, StatusCode::OK);
    let kept: Vec<&[u8]> = reply
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    // Unknown names are kept (default policy); `_fbp`, `_ga`, and the nameless `_gid` and
    // `_ga=…` (which a browser sends back as `_gid` and `_ga`) are trackers and go.
    assert_eq!(
        kept,
        [
            &b"no-equals-sign"[..],
            b"=nameless",
            b"bad name=1",
            b"\xf0\x9f=1",
            b"="
        ]
    );
}

/// With unknown cookies treated as marketing, names outside RFC 6265's token syntax are not a
/// way around the filter.
#[tokio::test]
async fn strict_mode_covers_names_outside_the_token_syntax() {
    let layer = builder()
        .unknown_cookies(UnknownCookies::AsCategory("marketing".into()))
        .sink(Recorder::default())
        .build()
        .unwrap();
    let mut req = page(None);
    for value in ["track[id]=1", "_x:y=1", "a b=1", "nameless"] {
        req.headers_mut()
            .append("x-set-cookie", value.parse().unwrap());
    }
    assert!(send(&layer, req).await.set_cookies().is_empty());
}

#[tokio::test]
async fn the_service_is_ready_and_reusable() {
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let mut service = layer.layer_service(service_fn(site));
    for _ in 0..3 {
        let reply = service
            .ready()
            .await
            .unwrap()
            .call(page(None))
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
    }
}

/// The README's one-line JavaScript recipe reads the categories out of a real consent cookie.
/// Needs Node.js; without it the test says so and passes.
#[tokio::test]
async fn the_readme_javascript_recipe_reads_the_cookie() {
    let readme = include_str!("../README.md");
    let recipe = readme
        .lines()
        .find(|l| l.starts_with("const granted = "))
        .expect("the README shows the recipe");
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let cookie = send(
        &layer,
        build(form("action=save&category=analytics&category=marketing")),
    )
    .await
    .consent_cookie();
    let script = format!(
        "const document = {{ cookie: {:?} }};\n{recipe}\nconsole.log(JSON.stringify(granted));",
        format!("sid=1; {cookie}; theme=dark")
    );
    match std::process::Command::new("node")
        .arg("-e")
        .arg(&script)
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                r#"["analytics","marketing"]"#
            );
        }
        Err(_) => eprintln!("node not found: the README's JavaScript recipe was not run"),
    }
}

mod arbitrary_input {
    use super::*;
    use proptest::prelude::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Junk at the endpoint: never a panic, never a 500, and a cookie only with a success.
        #[test]
        fn endpoint_bodies(
            body in proptest::collection::vec(any::<u8>(), 0..200),
            json in any::<bool>(),
        ) {
            let layer = builder().max_body_bytes(128).sink(Recorder::default()).build().unwrap();
            let content_type = if json { "application/json" } else { "application/x-www-form-urlencoded" };
            let req = Request::post("/consent")
                .header(CONTENT_TYPE, content_type)
                .body(Full::new(Bytes::from(body)))
                .unwrap();
            let reply = runtime().block_on(send(&layer, req));
            let ok = [StatusCode::SEE_OTHER, StatusCode::OK];
            prop_assert!(
                ok.contains(&reply.status)
                    || [StatusCode::BAD_REQUEST, StatusCode::PAYLOAD_TOO_LARGE].contains(&reply.status),
                "{}", reply.status
            );
            prop_assert_eq!(!reply.set_cookies().is_empty(), ok.contains(&reply.status));
        }

        /// Any `Cookie` header: the page is served, and nobody looks as if they consented
        /// unless a well-formed consent value of the current revision is in it.
        #[test]
        fn cookie_headers(header in "[ -~]{0,300}") {
            let layer = builder().sink(Recorder::default()).build().unwrap();
            let Ok(value) = http::HeaderValue::from_str(&header) else { return Ok(()) };
            let mut req = page(None);
            req.headers_mut().insert(COOKIE, value);
            let reply = runtime().block_on(send(&layer, req));
            prop_assert_eq!(reply.status, StatusCode::OK);
            prop_assert_eq!(&reply.json()["decided"], false);
            let names = reply.set_cookie_names();
            prop_assert_eq!(names.first().map(String::as_str), Some("sid"));
        }
    }
}

#[tokio::test]
async fn a_site_may_always_delete_a_tracking_cookie() {
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let mut req = page(None);
    req.headers_mut()
        .append("x-set-cookie", "_fbp=; Max-Age=0; Path=/".parse().unwrap());
    req.headers_mut()
        .append("x-set-cookie", "_fbp=fb.1.2; Path=/".parse().unwrap());
    let reply = send(&layer, req).await;
    assert_eq!(reply.set_cookies(), ["_fbp=; Max-Age=0; Path=/"]);
}

#[tokio::test]
async fn only_a_real_deletion_gets_a_denied_cookie_through() {
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let mut req = page(None);
    for value in [
        // A past date: the browser deletes the cookie.
        "_fbp=; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        // No date a browser reads: it stores a session cookie, so these must go.
        "_fbp=fb.1.2; Expires=1970",
        "_gcl_au=1.1.2; Expires=Wed, 01 Jan 2099 00:00:00 GMT; Expires=1970",
        "_fbp=fb.1.3; Expires=Thu, 30 Feb 1970 00:00:00 GMT",
    ] {
        req.headers_mut()
            .append("x-set-cookie", value.parse().unwrap());
    }
    let reply = send(&layer, req).await;
    assert_eq!(reply.set_cookies(), ["_fbp=; Max-Age=0"]);
}

/// A denied cookie's deletion goes out as the layer writes it, not as the site did: headers
/// that the layer reads as deletions but Chromium stores as live cookies (found by a review
/// that compared the two on each of these) set nothing.
#[tokio::test]
async fn a_denied_cookie_is_deleted_in_the_layers_own_words() {
    let layer = builder().sink(Recorder::default()).build().unwrap();
    let mut req = page(None);
    let padding = "0".repeat(1025);
    for value in [
        // Chromium counts the last Max-Age even when it is no number: a session cookie.
        "_ga=1; Max-Age=0; Max-Age=".to_owned(),
        "_ga=2; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Expires=junk 9999".to_owned(),
        // `+60` is 60 seconds to Chromium.
        "_ga=3; Max-Age=+60; Expires=Thu, 01 Jan 1970 00:00:00 GMT".to_owned(),
        // Attribute values over 1 024 bytes are ignored by Chromium.
        format!("_ga=4; Max-Age={padding}"),
        // Dates Chromium does not read.
        "_ga=5; Expires=01 Jan 1970 00:00:00Z".to_owned(),
        // Where the cookie lives, kept; other attributes dropped.
        "_gid=6; Path=/shop; Domain=.example.com; Secure; Partitioned; HttpOnly; Max-Age=0"
            .to_owned(),
    ] {
        req.headers_mut()
            .append("x-set-cookie", value.parse().unwrap());
    }
    let reply = send(&layer, req).await;
    assert_eq!(
        reply.set_cookies(),
        [
            "_ga=; Max-Age=0",
            "_ga=; Max-Age=0",
            "_ga=; Max-Age=0",
            "_ga=; Max-Age=0",
            "_ga=; Max-Age=0",
            "_gid=; Max-Age=0; Domain=.example.com; Path=/shop; Secure; Partitioned",
        ]
    );
}
