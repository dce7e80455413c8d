//! The `testing` helpers as a site uses them: an Axum app with the trackers real sites carry,
//! tested for each kind of visitor with `Visitor` and `assert_no_tracking`; and a test of the
//! test, where a configuration with a tracker rule switched off must make the audit fail.

use std::panic::AssertUnwindSafe;

use axum::Router;
use axum::body::Body;
use axum::http::header::SET_COOKIE;
use axum::response::{AppendHeaders, Html, IntoResponse};
use axum::routing::get;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_consent::testing::{Visitor, assert_no_tracking, assert_no_tracking_except, audit};
use tower_consent::{ConsentConfig, ConsentLayer, NoopSink};

/// A page as sites paste trackers in: gtag.js, a Meta Pixel (inline loader and noscript
/// image) and a YouTube embed, with the cookies their handlers set.
async fn shop() -> impl IntoResponse {
    let page = r#"<!doctype html><html><head>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>
<script>!function(f,b,e,v){}(window,document,'script','https://connect.facebook.net/en_US/fbevents.js');
fbq('init', '1234567890'); fbq('track', 'PageView');</script>
<noscript><img height="1" width="1" src="https://www.facebook.com/tr?id=1234567890&ev=PageView&noscript=1"></noscript>
</head><body><h1>Shop</h1>
<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ"></iframe>
</body></html>"#;
    (
        AppendHeaders([
            (SET_COOKIE, "sid=s3ss10n; Path=/; HttpOnly"),
            (SET_COOKIE, "_ga=GA1.1.1.1; Path=/; Max-Age=63072000"),
            (SET_COOKIE, "_fbp=fb.1.1.1; Path=/; Max-Age=7776000"),
            (SET_COOKIE, "mystery=1; Path=/"),
        ]),
        Html(page),
    )
}

fn app(layer: ConsentLayer) -> Router {
    Router::new().route("/shop", get(shop)).layer(layer)
}

fn layer() -> ConsentLayer {
    ConsentLayer::builder()
        .cookie("sid", "necessary")
        .sink(NoopSink)
        .build()
        .unwrap()
}

/// The response to `request`, with its body read.
async fn get_page(layer: &ConsentLayer, request: Request<Body>) -> Response<Bytes> {
    let response = app(layer.clone()).oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
}

async fn page_for(layer: &ConsentLayer, visitor: &Visitor) -> Response<Bytes> {
    let request = visitor.request(layer, "/shop").body(Body::empty()).unwrap();
    get_page(layer, request).await
}

#[tokio::test]
async fn nothing_tracks_a_visitor_who_did_not_agree() {
    let layer = layer();
    for visitor in [
        Visitor::new(),
        Visitor::rejected(),
        Visitor::new().sending_gpc(),
    ] {
        let response = page_for(&layer, &visitor).await;
        assert_no_tracking(&layer, &response);
        // Cookies no rule knows are reported, but are not tracking.
        assert_eq!(audit(&layer, &response).unknown_cookies, ["mystery"]);
    }
}

#[tokio::test]
async fn what_a_visitor_allowed_loads_and_nothing_else() {
    let layer = layer();
    let response = page_for(&layer, &Visitor::allowing(&["analytics"])).await;
    assert_no_tracking_except(&layer, &response, &["analytics"]);
    let found = audit(&layer, &response);
    assert_eq!(found.cookies.len(), 1);
    assert_eq!(found.cookies[0].name, "_ga");
    assert_eq!(found.trackers.len(), 1, "{found}");
    assert_eq!(found.trackers[0].element, "script");
    assert_eq!(found.trackers[0].category, "analytics");
    assert_eq!(
        found.trackers[0].service.as_deref(),
        Some("Google Analytics")
    );

    // Everything accepted, but Global Privacy Control on: marketing stays off.
    let accepted_before = Visitor::accepted();
    let cookie = accepted_before.cookie(&layer).unwrap();
    let request = Visitor::new()
        .sending_gpc()
        .request(&layer, "/shop")
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap();
    let response = get_page(&layer, request).await;
    assert_no_tracking_except(&layer, &response, &["preferences", "analytics"]);

    let everything = page_for(&layer, &Visitor::accepted()).await;
    let found = audit(&layer, &everything);
    let services: Vec<&str> = found
        .trackers
        .iter()
        .filter_map(|t| t.service.as_deref())
        .collect();
    assert_eq!(
        services,
        ["Google Analytics", "Meta Pixel", "Meta Pixel", "YouTube"],
        "{found}"
    );
}

/// The test of the test: a site that switches the Meta Pixel rule off lets the pixel through,
/// and its `assert_no_tracking` must fail, naming it.
#[tokio::test]
async fn a_rule_switched_off_makes_the_assertion_fail() {
    let config: ConsentConfig =
        serde_json::from_value(serde_json::json!({ "disable": ["Meta Pixel"] })).unwrap();
    let broken = ConsentLayer::builder_from(config)
        .cookie("sid", "necessary")
        .sink(NoopSink)
        .build()
        .unwrap();
    let response = page_for(&broken, &Visitor::new()).await;
    let body = String::from_utf8_lossy(response.body()).into_owned();
    assert!(
        body.contains("fbq('init'"),
        "the pixel went through: {body}"
    );
    let failure =
        std::panic::catch_unwind(AssertUnwindSafe(|| assert_no_tracking(&broken, &response)))
            .expect_err("the audit must catch the pixel the broken layer let through");
    let report = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        report.contains("cookie _fbp (marketing, Meta Pixel)"),
        "{report}"
    );
    assert!(
        report.contains("inline script connect.facebook.net (marketing, Meta Pixel)"),
        "{report}"
    );
    assert!(
        report.contains("img https://www.facebook.com/tr?id=1234567890"),
        "{report}"
    );
    // The working layer passes the same assertion.
    assert_no_tracking(&layer(), &page_for(&layer(), &Visitor::new()).await);
}

#[test]
fn visitors_carry_the_layers_cookie() {
    let layer = layer();
    assert_eq!(Visitor::new().cookie(&layer), None);
    let rejected = Visitor::rejected().cookie(&layer).unwrap();
    assert!(rejected.starts_with("__Host-consent=1..1."), "{rejected}");
    let some = Visitor::allowing(&["analytics", "marketing"])
        .cookie(&layer)
        .unwrap();
    assert!(some.contains("=1.analytics+marketing."), "{some}");
    let request = Visitor::accepted()
        .sending_gpc()
        .request(&layer, "/")
        .body(())
        .unwrap();
    assert_eq!(request.headers()["sec-gpc"], "1");
    assert_eq!(request.headers()["sec-fetch-dest"], "document");
    let unknown = std::panic::catch_unwind(AssertUnwindSafe(|| {
        Visitor::allowing(&["social"]).cookie(&layer)
    }));
    assert!(unknown.is_err());
}
