//! The cost the layer adds to a request that is not HTML, against a bare service and against
//! `tower-cookies`, measured side by side in one run.
//!
//! `cargo bench --bench request_path`
//!
//! Every variant gets the same request (a browser page request with a realistic 10-cookie,
//! ~500-byte `Cookie` header that includes a consent cookie allowing analytics) and the same
//! inner service. Scenario (a): the response sets no cookie. Scenario (b): it sets five, two of
//! them marketing cookies the visitor did not allow. Requests are built outside the timed part.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group};
use http::header::SET_COOKIE;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use tower::{Layer, Service, service_fn};
use tower_consent::{ConsentLayer, NoopSink};
use tower_cookies::{CookieManagerLayer, Cookies};

type Body = Full<Bytes>;

const SET_COOKIES: [&str; 5] = [
    "sid=8f14e45fceea167a5a36dedd4bea2543; Path=/; HttpOnly; Secure; SameSite=Lax",
    "_ga=GA1.1.1266398316.1764460000; Path=/; Max-Age=63072000; Domain=example.com",
    "_ga_ABC123XYZ=GS1.1.1764460000.1.1.1764460100.0.0.0; Path=/; Max-Age=63072000",
    "_fbp=fb.1.1764460000000.1266398316; Path=/; Max-Age=7776000",
    "_gcl_au=1.1.1266398316.1764460000; Path=/; Max-Age=7776000",
];

fn consent_value() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "1.analytics.1.{}.6f1c0e6a9d8b4b2f8e51c7a1d2e3f405.0",
        now - 3600
    )
}

fn request(cookie_header: &HeaderValue) -> Request<Body> {
    Request::get("/products/42?ref=home")
        .header("host", "www.example.com")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        )
        .header("accept", "application/json")
        .header("accept-language", "en-GB,en;q=0.9,nl;q=0.8")
        .header("accept-encoding", "gzip, deflate, br, zstd")
        .header("sec-fetch-dest", "empty")
        .header("sec-fetch-mode", "cors")
        .header("sec-fetch-site", "same-origin")
        .header("cookie", cookie_header.clone())
        .body(Body::default())
        .unwrap_or_default()
}

fn cookie_header() -> HeaderValue {
    let header = format!(
        "sid=s%3A8f14e45fceea167a5a36dedd4bea2543.Xq1cF0t3kQ2m7ZyV9bP4rW8nH6jL5dS1aE0uK3oI2gT; \
         _ga=GA1.1.1266398316.1764460000; _ga_ABC123XYZ=GS1.1.1764460000.1.1.1764460100.0.0.0; \
         theme=dark; lang=en-GB; cart=3f2a9c1e-7b4d-4e8a-9f6c-2d1b0a9e8c7f; \
         recently_viewed=42%2C17%2C99%2C1031%2C7%2C2048%2C512; \
         csrftoken=Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0cGx1Z2hwbG92ZXJ4eXp6eQ; \
         ab_bucket=checkout_v2_b; __Host-consent={}",
        consent_value()
    );
    HeaderValue::from_str(&header).unwrap_or(HeaderValue::from_static(""))
}

fn respond(set_cookies: bool) -> Response<Body> {
    let mut response = Response::new(Body::default());
    if set_cookies {
        for cookie in SET_COOKIES {
            response
                .headers_mut()
                .append(SET_COOKIE, HeaderValue::from_static(cookie));
        }
    }
    response
}

/// Polls a future that is ready at once, as every service here is.
fn now<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmarked services never wait"),
    }
}

fn run<S, B>(service: &mut S, req: Request<Body>) -> Response<B>
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible>,
{
    let mut cx = Context::from_waker(Waker::noop());
    let _ = service.poll_ready(&mut cx);
    match now(service.call(req)) {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

fn bench(c: &mut Criterion) {
    let cookie = cookie_header();
    assert!(
        (450..=600).contains(&cookie.len()),
        "Cookie header is {} bytes",
        cookie.len()
    );
    let consent = ConsentLayer::builder()
        .cookie("sid", "necessary")
        .sink(NoopSink)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));

    for (scenario, set_cookies) in [
        ("a_no_set_cookie", false),
        ("b_5_set_cookie_2_denied", true),
    ] {
        let mut group = c.benchmark_group(scenario);
        let inner =
            move |_req: Request<Body>| async move { Ok::<_, Infallible>(respond(set_cookies)) };
        let reading = move |req: Request<Body>| async move {
            let theme = req
                .extensions()
                .get::<Cookies>()
                .and_then(|cookies| cookies.get("theme"))
                .map(|c| c.value().len());
            black_box(theme);
            Ok::<_, Infallible>(respond(set_cookies))
        };

        let mut bare = service_fn(inner);
        group.bench_function("bare", |b| {
            b.iter_batched(
                || request(&cookie),
                |req| run(&mut bare, req),
                BatchSize::NumIterations(8),
            )
        });
        let mut layer = consent.layer(service_fn(inner));
        let check = run(&mut layer, request(&cookie));
        assert_eq!(
            check.headers().get_all(SET_COOKIE).iter().count(),
            if set_cookies { 3 } else { 0 },
            "the layer keeps sid, _ga and _ga_*, and removes the two marketing cookies"
        );
        group.bench_function("tower_consent", |b| {
            b.iter_batched(
                || request(&cookie),
                |req| run(&mut layer, req),
                BatchSize::NumIterations(8),
            )
        });
        let mut cookies = CookieManagerLayer::new().layer(service_fn(inner));
        group.bench_function("tower_cookies", |b| {
            b.iter_batched(
                || request(&cookie),
                |req| run(&mut cookies, req),
                BatchSize::NumIterations(8),
            )
        });
        let mut cookies_reading = CookieManagerLayer::new().layer(service_fn(reading));
        group.bench_function("tower_cookies_read_one", |b| {
            b.iter_batched(
                || request(&cookie),
                |req| run(&mut cookies_reading, req),
                BatchSize::NumIterations(8),
            )
        });
        group.finish();
    }
}

/// Runs one variant `n` times without criterion, for `scripts/instructions.sh` to count its
/// instructions under callgrind (exact and repeatable, where wall-clock time on a shared machine
/// is not). Variants: `bare`, `tower_consent`, `tower_cookies`; `SET_COOKIES=1` for scenario (b).
fn count(variant: &str, n: usize) {
    let cookie = cookie_header();
    let set_cookies = std::env::var_os("SET_COOKIES").is_some();
    let inner = move |_req: Request<Body>| async move { Ok::<_, Infallible>(respond(set_cookies)) };
    let consent = ConsentLayer::builder()
        .cookie("sid", "necessary")
        .sink(NoopSink)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let requests: Vec<_> = (0..n).map(|_| request(&cookie)).collect();
    let mut responses = Vec::with_capacity(n);
    let mut bare = service_fn(inner);
    let mut layer = consent.layer(service_fn(inner));
    let mut cookies = CookieManagerLayer::new().layer(service_fn(inner));
    for req in requests {
        let status = match variant {
            "bare" => run(&mut bare, req).status(),
            "tower_consent" => run(&mut layer, req).status(),
            "tower_cookies" => run(&mut cookies, req).status(),
            other => panic!("unknown variant {other}"),
        };
        responses.push(status);
    }
    black_box(responses);
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(variant) = std::env::var("COUNT_VARIANT") {
        let n = std::env::var("COUNT_N")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(100_000);
        return count(&variant, n);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
