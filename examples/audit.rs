//! The `testing` helpers outside a test: `cargo run --example audit`.
//!
//! An Axum page with the trackers sites paste in, requested by four visitors (new, rejected,
//! analytics only, everything accepted) through the layer; each response is audited, and what
//! would track that visitor is printed. `tests/testing.rs` is the same app as a test suite,
//! with `assert_no_tracking`.

use axum::Router;
use axum::body::Body;
use axum::http::header::SET_COOKIE;
use axum::response::{AppendHeaders, Html};
use axum::routing::get;
use http::Response;
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_consent::testing::{Visitor, audit};
use tower_consent::{ConsentLayer, NoopSink};

const PAGE: &str = r#"<!doctype html><html><head>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>
<script>fbq('init', '1234567890'); fbq('track', 'PageView');</script>
</head><body><h1>Shop</h1>
<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ"></iframe>
<img src="https://bat.bing.com/action/0?ti=1" width="1" height="1">
</body></html>"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let layer = ConsentLayer::builder()
        .cookie("sid", "necessary")
        .sink(NoopSink)
        .build()?;
    let app = Router::new()
        .route(
            "/shop",
            get(|| async {
                (
                    AppendHeaders([
                        (SET_COOKIE, "sid=1; Path=/; HttpOnly"),
                        (SET_COOKIE, "_ga=GA1.1.1.1; Path=/"),
                        (SET_COOKIE, "_fbp=fb.1.1.1; Path=/"),
                    ]),
                    Html(PAGE),
                )
            }),
        )
        .layer(layer.clone());

    let visitors = [
        ("a new visitor", Visitor::new()),
        ("a visitor who rejected", Visitor::rejected()),
        (
            "a visitor who allowed analytics",
            Visitor::allowing(&["analytics"]),
        ),
        ("a visitor who accepted everything", Visitor::accepted()),
    ];
    for (who, visitor) in visitors {
        let request = visitor.request(&layer, "/shop").body(Body::empty())?;
        let response = app.clone().oneshot(request).await?;
        let (parts, body) = response.into_parts();
        let response = Response::from_parts(parts, body.collect().await?.to_bytes());
        println!("{who}:\n{}", audit(&layer, &response));
    }
    Ok(())
}
