//! The layer in an Axum `Router`, with `Consent` as an extractor.

use axum::Router;
use axum::body::Body;
use axum::response::{AppendHeaders, IntoResponse};
use axum::routing::get;
use http::header::{CONTENT_TYPE, COOKIE, HOST, LOCATION, SET_COOKIE};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_consent::{Consent, ConsentLayer, NoopSink};

async fn whoami(consent: Consent) -> String {
    let allowed: Vec<_> = consent.allowed().map(|c| c.as_str()).collect();
    format!(
        "decided={} allowed={}",
        consent.is_decided(),
        allowed.join(",")
    )
}

async fn maybe(consent: Option<Consent>) -> &'static str {
    if consent.is_some() {
        "layer present"
    } else {
        "no layer"
    }
}

async fn tracked() -> impl IntoResponse {
    let cookies = [
        (SET_COOKIE, "_ga=GA1.1; Path=/"),
        (SET_COOKIE, "_fbp=fb.1; Path=/"),
    ];
    (AppendHeaders(cookies), "tracked")
}

fn app() -> Router {
    let layer = ConsentLayer::builder().sink(NoopSink).build().unwrap();
    Router::new()
        .route("/whoami", get(whoami))
        .route("/maybe", get(maybe))
        .route("/tracked", get(tracked))
        .layer(layer)
}

async fn body_text(response: axum::response::Response) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn get_with_cookie(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut req = Request::get(path).header(HOST, "example.com");
    if let Some(cookie) = cookie {
        req = req.header(COOKIE, cookie);
    }
    req.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn extractor_sees_the_choice_made_at_the_endpoint() {
    let app = app();
    let before = app
        .clone()
        .oneshot(get_with_cookie("/whoami", None))
        .await
        .unwrap();
    assert_eq!(body_text(before).await, "decided=false allowed=necessary");

    let post = Request::post("/consent")
        .header(HOST, "example.com")
        .header("origin", "https://example.com")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "action=save&category=analytics&return_to=/whoami",
        ))
        .unwrap();
    let reply = app.clone().oneshot(post).await.unwrap();
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    assert_eq!(reply.headers()[LOCATION], "/whoami");
    let cookie = reply.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();

    let after = app
        .clone()
        .oneshot(get_with_cookie("/whoami", Some(&cookie)))
        .await
        .unwrap();
    assert_eq!(
        body_text(after).await,
        "decided=true allowed=necessary,analytics"
    );

    let tracked = app
        .oneshot(get_with_cookie("/tracked", Some(&cookie)))
        .await
        .unwrap();
    let set: Vec<_> = tracked.headers().get_all(SET_COOKIE).iter().collect();
    assert_eq!(set, ["_ga=GA1.1; Path=/"]);
}

#[tokio::test]
async fn optional_extractor_and_missing_layer_rejection() {
    let present = app()
        .oneshot(get_with_cookie("/maybe", None))
        .await
        .unwrap();
    assert_eq!(body_text(present).await, "layer present");

    let bare = Router::new()
        .route("/whoami", get(whoami))
        .route("/maybe", get(maybe));
    let absent = bare
        .clone()
        .oneshot(get_with_cookie("/maybe", None))
        .await
        .unwrap();
    assert_eq!(body_text(absent).await, "no layer");
    let rejected = bare
        .oneshot(get_with_cookie("/whoami", None))
        .await
        .unwrap();
    assert_eq!(rejected.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body_text(rejected).await.contains("was ConsentLayer added"));
}
