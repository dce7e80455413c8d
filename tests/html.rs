//! HTML responses through the layer: which are rewritten, what happens to their headers and
//! validators, and how the body streams.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    COOKIE, ETAG, HOST, IF_MODIFIED_SINCE, IF_NONE_MATCH, ORIGIN, RANGE, SET_COOKIE, VARY,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::channel::Channel;
use http_body_util::{BodyExt, Full};
use tower::{Layer, ServiceExt, service_fn};
use tower_consent::{ConsentLayer, NoopSink};

mod common;

use common::Reply;

const PAGE: &str = concat!(
    "<!DOCTYPE html><html><head><title>Shop</title>",
    r#"<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>"#,
    "</head><body><h1>Shop</h1>",
    r#"<img src="https://www.facebook.com/tr?id=1&amp;ev=PageView" width="1">"#,
    "</body></html>"
);

const NEUTRALISED_GA: &str = r#"<script type="text/plain" data-consent-category="analytics" async data-consent-src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>"#;

/// A layer that rewrites without inserting the banner or the settings link (`tests/banner.rs`
/// covers those), so that pages come back as the rewriter alone leaves them.
fn layer() -> ConsentLayer {
    ConsentLayer::builder()
        .sink(NoopSink)
        .banner(false)
        .settings_link(false)
        .build()
        .unwrap()
}

/// The site: answers `PAGE` (or `x-body`) with the headers named `x-reply-*`, says whether it saw
/// `Accept-Encoding`, and answers `If-None-Match: W/"v1"` with a 304 as a real server would.
async fn site(req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let saw_encoding = req.headers().contains_key(ACCEPT_ENCODING);
    let matches_v1 = req
        .headers()
        .get_all(IF_NONE_MATCH)
        .iter()
        .any(|v| v.to_str().unwrap().contains("\"v1\""));
    let body = req
        .headers()
        .get("x-body")
        .map_or(PAGE.to_string(), |v| v.to_str().unwrap().to_string());
    let mut response = Response::new(Full::new(Bytes::from(body.clone())));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CONTENT_LENGTH, body.len().into());
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(ETAG, HeaderValue::from_static("\"v1\""));
    headers.insert(
        "x-saw-accept-encoding",
        saw_encoding.to_string().parse().unwrap(),
    );
    for (name, value) in req.headers() {
        if let Some(reply) = name.as_str().strip_prefix("x-reply-") {
            let name = http::HeaderName::from_bytes(reply.as_bytes()).unwrap();
            headers.insert(name, value.clone());
        }
    }
    if let Some(status) = req.headers().get("x-status") {
        *response.status_mut() = status.to_str().unwrap().parse().unwrap();
    }
    // `Range: bytes=A-B`, as a real server answers it: 206 with those bytes of the page.
    if let Some((from, to)) = req
        .headers()
        .get(RANGE)
        .and_then(|v| v.to_str().unwrap().strip_prefix("bytes="))
        .and_then(|range| range.split_once('-'))
    {
        let (from, to): (usize, usize) = (from.parse().unwrap(), to.parse().unwrap());
        let part = Bytes::from(body.clone()).slice(from..=to.min(body.len() - 1));
        let headers = response.headers_mut();
        headers.insert(CONTENT_LENGTH, part.len().into());
        headers.insert(
            CONTENT_RANGE,
            format!("bytes {from}-{}/{}", from + part.len() - 1, body.len())
                .parse()
                .unwrap(),
        );
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        *response.body_mut() = Full::new(part);
    }
    // A date is only read without an entity tag (RFC 9110, 13.2.2); the page never changes.
    let unchanged_since =
        !req.headers().contains_key(IF_NONE_MATCH) && req.headers().contains_key(IF_MODIFIED_SINCE);
    if (matches_v1 || unchanged_since) && matches!(*req.method(), Method::GET | Method::HEAD) {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        *response.body_mut() = Full::new(Bytes::new());
    }
    Ok(response)
}

async fn send(layer: &ConsentLayer, req: Request<Full<Bytes>>) -> Reply {
    common::send_to(layer, site, req).await
}

fn get(path: &str) -> http::request::Builder {
    Request::get(path)
        .header(HOST, "example.com")
        .header("sec-fetch-dest", "document")
        .header(ACCEPT_ENCODING, "gzip, br")
}

/// A script's `fetch`, not a page view.
fn fetch(path: &str) -> http::request::Builder {
    Request::get(path)
        .header(HOST, "example.com")
        .header("sec-fetch-dest", "empty")
}

fn done(req: http::request::Builder) -> Request<Full<Bytes>> {
    req.body(Full::new(Bytes::new())).unwrap()
}

/// `name=value` of a consent cookie for a visitor who accepted everything.
async fn accepted_everything(layer: &ConsentLayer) -> String {
    let req = Request::post("/consent")
        .header(HOST, "example.com")
        .header(ORIGIN, "https://example.com")
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from_static(br#"{"action":"accept"}"#)))
        .unwrap();
    let reply = send(layer, req).await;
    let set = reply.headers[SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn pages_are_rewritten_for_what_the_visitor_allowed() {
    let layer = layer();
    let reply = send(&layer, done(get("/"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains(NEUTRALISED_GA), "{}", reply.body);
    assert!(
        reply
            .body
            .contains(r#"data-consent-src="https://www.facebook.com/tr?id=1&amp;ev=PageView""#)
    );
    assert!(!reply.headers.contains_key(CONTENT_LENGTH));
    assert!(!reply.headers.contains_key(ACCEPT_RANGES));
    let (allowed, rules) = variant(&reply.headers[ETAG]);
    assert_eq!(allowed, "1");
    assert_eq!(reply.headers[VARY], "cookie, sec-gpc");

    let cookie = accepted_everything(&layer).await;
    let reply = send(&layer, done(get("/").header(COOKIE, &cookie))).await;
    assert_eq!(reply.body, PAGE);
    assert_eq!(variant(&reply.headers[ETAG]), ("f".into(), rules));
    assert_eq!(reply.headers[VARY], "cookie, sec-gpc");
}

/// The allowed categories and the rules' fingerprint a variant's `ETag` names:
/// `W/"v1;consent=1.1a2b3c4d"` gives `("1", "1a2b3c4d")`.
fn variant(etag: &HeaderValue) -> (String, String) {
    let etag = etag.to_str().unwrap();
    let variant = etag
        .strip_prefix("W/\"v1;consent=")
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a variant's tag: {etag}"));
    let (allowed, rules) = variant.split_once('.').unwrap_or_else(|| panic!("{etag}"));
    assert!(
        rules.len() == 8 && rules.bytes().all(|b| b.is_ascii_hexdigit()),
        "{etag}"
    );
    (allowed.to_owned(), rules.to_owned())
}

#[tokio::test]
async fn a_page_rewritten_under_other_rules_is_not_revalidated() {
    // The site's page is cached with its trackers blocked; then a deploy changes the rules
    // (here, the built-in Meta Pixel rules switched off, so the page is rewritten
    // differently). The old copy's tag must not be confirmed by the new layer.
    let before = layer();
    let after = ConsentLayer::builder_from({
        let mut config = tower_consent::ConsentConfig::default();
        config.disable = vec!["Meta Pixel".into()];
        config
    })
    .sink(NoopSink)
    .banner(false)
    .settings_link(false)
    .build()
    .unwrap();
    let cached = send(&before, done(get("/"))).await;
    let etag = cached.headers[ETAG].to_str().unwrap().to_owned();
    let same_rules = send(&layer(), done(get("/").header(IF_NONE_MATCH, &etag))).await;
    assert_eq!(
        same_rules.status,
        StatusCode::NOT_MODIFIED,
        "the same rules, built again, name the same variant"
    );
    let new_rules = send(&after, done(get("/").header(IF_NONE_MATCH, &etag))).await;
    assert_eq!(new_rules.status, StatusCode::OK, "{:?}", new_rules.headers);
    assert_ne!(new_rules.body, cached.body);
    assert_ne!(
        variant(&new_rules.headers[ETAG]),
        variant(&cached.headers[ETAG])
    );
}

#[tokio::test]
async fn navigations_are_asked_for_an_uncompressed_page() {
    let layer = layer();
    let saw = |reply: &Reply| {
        reply.headers["x-saw-accept-encoding"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(saw(&send(&layer, done(get("/"))).await), "false");
    let api = fetch("/api").header(ACCEPT_ENCODING, "gzip");
    assert_eq!(saw(&send(&layer, done(api)).await), "true");
    let cookie = accepted_everything(&layer).await;
    let reply = send(&layer, done(get("/").header(COOKIE, &cookie))).await;
    assert_eq!(saw(&reply), "true", "nothing to block: compression is kept");
}

#[tokio::test]
async fn other_responses_pass_untouched() {
    let layer = layer();
    let cases = [
        get("/").header("x-reply-content-type", "application/json"),
        get("/").header("x-reply-content-disposition", "attachment"),
        get("/").header("x-status", "206"),
        get("/").header("x-status", "204"),
    ];
    for req in cases {
        let reply = send(&layer, done(req)).await;
        assert_eq!(reply.body, PAGE);
        assert!(reply.headers.contains_key(CONTENT_LENGTH));
        assert_eq!(reply.headers[ETAG], "\"v1\"");
        assert!(!reply.headers.contains_key(VARY));
    }
    // HTML the layer cannot read passes whole, but says that another visitor's copy differs.
    let unreadable = [
        get("/").header("x-reply-content-encoding", "zstd"),
        get("/").header("x-reply-content-type", "text/html; charset=utf-16"),
    ];
    for req in unreadable {
        let reply = send(&layer, done(req)).await;
        assert_eq!(reply.body, PAGE);
        assert!(reply.headers.contains_key(CONTENT_LENGTH));
        assert!(reply.headers[ETAG].to_str().unwrap().starts_with("W/\"v1;"));
        assert!(reply.headers[VARY].to_str().unwrap().contains("cookie"));
    }
}

#[tokio::test]
async fn a_head_response_has_the_headers_of_the_get_it_describes() {
    let layer = layer();
    let cookie = accepted_everything(&layer).await;
    for visitor in [None, Some(&cookie)] {
        let request = |method: Method| {
            let request = get("/").method(method);
            match visitor {
                Some(cookie) => request.header(COOKIE, cookie),
                None => request,
            }
        };
        let page = send(&layer, done(request(Method::GET))).await;
        let head = send(&layer, done(request(Method::HEAD))).await;
        assert_eq!(head.status, StatusCode::OK);
        for name in [ETAG, VARY, CONTENT_TYPE, CONTENT_LENGTH, ACCEPT_RANGES] {
            assert_eq!(head.headers.get(&name), page.headers.get(&name), "{name}");
        }
        // A cache that stored the page revalidates it with `HEAD` as with `GET`.
        let etag = page.headers[ETAG].to_str().unwrap();
        let again = send(
            &layer,
            done(request(Method::HEAD).header(IF_NONE_MATCH, etag)),
        )
        .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers[ETAG], etag);
    }
    // Another visitor's `HEAD` does not confirm it.
    let undecided = send(&layer, done(get("/"))).await;
    let etag = undecided.headers[ETAG].to_str().unwrap();
    let other = send(
        &layer,
        done(
            get("/")
                .method(Method::HEAD)
                .header(COOKIE, &cookie)
                .header(IF_NONE_MATCH, etag),
        ),
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
}

/// A page view through the layer, of a site that answers with `body` as gzip-encoded HTML.
async fn page_served_as_gzip(body: Bytes) -> Response<tower_consent::ConsentBody<Full<Bytes>>> {
    let service = layer().layer(service_fn(move |_req: Request<Full<Bytes>>| {
        let body = body.clone();
        async move {
            let mut response = Response::new(Full::new(body));
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            Ok::<_, Infallible>(response)
        }
    }));
    service.oneshot(done(get("/"))).await.unwrap()
}

/// With the `decompress` feature (on for the crate's own tests), a page that arrives compressed
/// anyway is decoded, rewritten and sent uncompressed.
#[tokio::test]
async fn compressed_pages_are_decoded_and_rewritten() {
    use std::io::Write;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(PAGE.as_bytes()).unwrap();
    let response = page_served_as_gzip(Bytes::from(gzip.finish().unwrap())).await;
    assert!(!response.headers().contains_key(CONTENT_ENCODING));
    assert!(!response.headers().contains_key(CONTENT_LENGTH));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(body.contains(NEUTRALISED_GA), "{body}");
    assert!(body.ends_with("</body></html>"));
}

/// A compressed page that does not decode makes the response fail after what was rewritten,
/// so no client or cache takes the shortened page for the whole one (a review found such pages
/// ended cleanly: an empty 200 for plain HTML marked gzip).
#[tokio::test]
async fn a_page_that_does_not_decode_fails_instead_of_ending_early() {
    use std::io::Write;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(PAGE.repeat(50).as_bytes()).unwrap();
    let whole = gzip.finish().unwrap();
    // The first deflate block's header (after gzip's ten bytes) made the reserved block type.
    let mut corrupt = whole.clone();
    corrupt[10] = 0xff;
    let cases = [
        (
            "truncated",
            Bytes::copy_from_slice(&whole[..whole.len() / 2]),
        ),
        ("corrupt", Bytes::from(corrupt)),
        ("not compressed at all", Bytes::from_static(PAGE.as_bytes())),
    ];
    for (case, body) in cases {
        let collected = page_served_as_gzip(body).await.into_body().collect().await;
        assert!(collected.is_err(), "{case}: the body ended as if whole");
    }
}

#[tokio::test]
async fn conditional_requests_revalidate_only_their_own_variant() {
    let layer = layer();
    let first = send(&layer, done(get("/"))).await;
    let etag = first.headers[ETAG].to_str().unwrap().to_owned();
    let again = send(&layer, done(get("/").header(IF_NONE_MATCH, &etag))).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers[ETAG], etag.as_str());
    assert!(again.headers[VARY].to_str().unwrap().contains("cookie"));

    let cookie = accepted_everything(&layer).await;
    let other = send(
        &layer,
        done(
            get("/")
                .header(IF_NONE_MATCH, &etag)
                .header(COOKIE, &cookie),
        ),
    )
    .await;
    assert_eq!(other.status, StatusCode::OK, "another variant's validator");
    assert_eq!(other.body, PAGE);
}

#[tokio::test]
async fn a_copy_cached_before_the_layer_is_not_revalidated() {
    // The site's own tag, from a copy a browser or cache kept from before the layer was
    // deployed, with its trackers live: a page view gets the rewritten page.
    let layer = layer();
    let before = send(&layer, done(get("/").header(IF_NONE_MATCH, "\"v1\""))).await;
    assert_eq!(before.status, StatusCode::OK, "{:?}", before.headers);
    assert!(before.body.contains(NEUTRALISED_GA));
    // A `fetch` keeps the site's own tags: images, scripts and API responses are revalidated
    // with them.
    let api = fetch("/api").header(IF_NONE_MATCH, "\"v1\"");
    assert_eq!(
        send(&layer, done(api)).await.status,
        StatusCode::NOT_MODIFIED
    );
}

#[tokio::test]
async fn a_date_alone_does_not_revalidate_a_page() {
    // A site whose pages have no entity tag: the date cannot say which visitor's variant, or
    // which rules, the cached copy is of, so a page view gets the page again.
    let layer = layer();
    let date = "Mon, 30 Nov 2026 09:00:00 GMT";
    let page = send(&layer, done(get("/").header(IF_MODIFIED_SINCE, date))).await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.headers);
    assert!(page.body.contains(NEUTRALISED_GA));
    // Other requests keep their dates.
    let api = fetch("/api").header(IF_MODIFIED_SINCE, date);
    assert_eq!(
        send(&layer, done(api)).await.status,
        StatusCode::NOT_MODIFIED
    );
}

#[tokio::test]
async fn a_page_view_asks_for_the_whole_page() {
    // Part of a page cannot be rewritten: a page view asking for a range gets the whole page,
    // rewritten, rather than the original bytes with their trackers live.
    let layer = layer();
    let ranged = send(&layer, done(get("/").header(RANGE, "bytes=0-99"))).await;
    assert_eq!(ranged.status, StatusCode::OK, "{:?}", ranged.headers);
    assert!(ranged.body.contains(NEUTRALISED_GA), "{}", ranged.body);
    assert!(!ranged.headers.contains_key(CONTENT_RANGE));
    // Other requests keep their ranges (media, downloads, a script's own `fetch`).
    let fetch = Request::get("/video")
        .header("sec-fetch-dest", "video")
        .header(RANGE, "bytes=0-9");
    let part = send(&layer, done(fetch)).await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body.len(), 10);
}

#[tokio::test]
async fn a_date_does_not_revalidate_another_variants_copy() {
    let layer = layer();
    let cookie = accepted_everything(&layer).await;
    let accepted = send(&layer, done(get("/").header(COOKIE, &cookie))).await;
    let etag = accepted.headers[ETAG].to_str().unwrap().to_owned();
    let date = "Mon, 30 Nov 2026 09:00:00 GMT";
    // The visitor has since refused (no consent cookie): the copy cached under the other
    // choice must not be confirmed, by its entity tag or by the date sent with it.
    let refused = send(
        &layer,
        done(
            get("/")
                .header(IF_NONE_MATCH, &etag)
                .header(IF_MODIFIED_SINCE, date),
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::OK, "{:?}", refused.headers);
    assert!(refused.body.contains("data-consent-category"));
    // The visitor's own variant still revalidates.
    let own = send(
        &layer,
        done(
            get("/")
                .header(COOKIE, &cookie)
                .header(IF_NONE_MATCH, &etag)
                .header(IF_MODIFIED_SINCE, date),
        ),
    )
    .await;
    assert_eq!(own.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn html_the_layer_cannot_read_still_varies_by_consent() {
    let layer = layer();
    let cookie = accepted_everything(&layer).await;
    // A visitor who allowed everything keeps `Accept-Encoding`; the site compresses in a
    // coding the layer does not decode, so the page passes whole.
    let passed = send(
        &layer,
        done(
            get("/")
                .header(COOKIE, &cookie)
                .header("x-reply-content-encoding", "zstd"),
        ),
    )
    .await;
    assert_eq!(passed.status, StatusCode::OK);
    assert!(
        passed.headers[VARY].to_str().unwrap().contains("cookie"),
        "{:?}",
        passed.headers
    );
    let etag = passed.headers[ETAG].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with("W/\"v1;"),
        "a variant's tag, not the site's: {etag}"
    );
    // After a change of mind, that copy is not confirmed.
    let refused = send(&layer, done(get("/").header(IF_NONE_MATCH, &etag))).await;
    assert_eq!(refused.status, StatusCode::OK);
}

type Streamed = Response<Channel<Bytes, std::io::Error>>;

/// A site whose page streams through a channel, so the test decides when each part arrives.
fn streaming_site(
    body: Channel<Bytes, std::io::Error>,
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Streamed,
    Error = Infallible,
    Future = std::future::Ready<Result<Streamed, Infallible>>,
> {
    let body = std::sync::Mutex::new(Some(body));
    service_fn(move |_req: Request<Full<Bytes>>| {
        let body = body.lock().unwrap().take().expect("called once");
        let mut response = Response::new(body);
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        std::future::ready(Ok(response))
    })
}

async fn next_data<B>(body: &mut B) -> String
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Debug,
{
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("output for the data sent so far, without waiting for more")
        .expect("a frame")
        .expect("no error");
    String::from_utf8(frame.into_data().expect("data").to_vec()).unwrap()
}

#[tokio::test]
async fn output_streams_as_input_arrives_and_trailers_follow() {
    let (mut tx, channel) = Channel::<Bytes, std::io::Error>::new(4);
    let service = layer().layer(streaming_site(channel));
    let response = service.oneshot(done(get("/"))).await.unwrap();
    let mut body = response.into_body();

    tx.send_data(Bytes::from_static(b"<h1>Hello</h1><script async sr"))
        .await
        .unwrap();
    assert_eq!(
        next_data(&mut body).await,
        "<h1>Hello</h1>",
        "the unfinished tag is held"
    );
    tx.send_data(Bytes::from_static(
        b"c=\"https://connect.facebook.net/en_US/fbevents.js\"></script><p>more</p>",
    ))
    .await
    .unwrap();
    let mut rest = String::new();
    while !rest.ends_with("<p>more</p>") {
        rest.push_str(&next_data(&mut body).await);
    }
    assert_eq!(
        rest,
        r#"<script type="text/plain" data-consent-category="marketing" async data-consent-src="https://connect.facebook.net/en_US/fbevents.js"></script><p>more</p>"#
    );
    let mut trailers = HeaderMap::new();
    trailers.insert("x-checksum", HeaderValue::from_static("abc"));
    tx.send_trailers(trailers).await.unwrap();
    drop(tx);
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.trailers_ref().unwrap()["x-checksum"], "abc");
    assert!(body.frame().await.is_none());
}

#[tokio::test]
async fn held_bytes_come_out_before_the_trailers() {
    let (mut tx, channel) = Channel::<Bytes, std::io::Error>::new(4);
    let response = layer()
        .layer(streaming_site(channel))
        .oneshot(done(get("/")))
        .await
        .unwrap();
    let mut body = response.into_body();
    tx.send_data(Bytes::from_static(b"<p>cut <img src=\"/x.png"))
        .await
        .unwrap();
    tx.send(Frame::trailers(HeaderMap::new())).await.unwrap();
    drop(tx);
    let mut frames = Vec::new();
    while let Some(frame) = body.frame().await {
        frames.push(frame.unwrap());
    }
    let data: String = frames
        .iter()
        .filter_map(|f| f.data_ref())
        .map(|d| String::from_utf8_lossy(d).into_owned())
        .collect();
    assert_eq!(data, "<p>cut <img src=\"/x.png");
    assert!(frames.last().unwrap().is_trailers());
}

#[tokio::test]
async fn errors_of_the_inner_body_reach_the_client() {
    let (mut tx, channel) = Channel::<Bytes, std::io::Error>::new(4);
    let response = layer()
        .layer(streaming_site(channel))
        .oneshot(done(get("/")))
        .await
        .unwrap();
    let mut body = response.into_body();
    tx.send_data(Bytes::from_static(b"<p>ok</p>"))
        .await
        .unwrap();
    assert_eq!(next_data(&mut body).await, "<p>ok</p>");
    tx.abort(std::io::Error::other("upstream reset"));
    let error = body.frame().await.unwrap().unwrap_err();
    assert_eq!(error.to_string(), "upstream reset");
}

/// With Consent Mode on, the page's CSP nonce is carried by the inserted script.
#[tokio::test]
async fn consent_mode_carries_the_pages_nonce() {
    let layer = ConsentLayer::builder()
        .sink(NoopSink)
        .consent_mode(true)
        .build()
        .unwrap();
    let req = get("/")
        .header("x-body", "<html><head><title>t</title></head></html>")
        .header("x-reply-content-security-policy", "script-src 'nonce-Zm9v'");
    let reply = send(&layer, done(req)).await;
    assert!(
        reply
            .body
            .starts_with(r#"<html><head><script data-tower-consent-mode nonce="Zm9v">"#),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("'ad_storage':'denied'"));
}

/// A whole body in one chunk goes out as one frame that is known to be the last, so the server
/// writes the end of the response with it: no small write of its own for Nagle's algorithm to
/// hold back.
#[tokio::test]
async fn a_body_in_one_chunk_is_one_last_frame() {
    let layer = layer();
    let response = layer
        .layer(service_fn(site))
        .oneshot(done(get("/")))
        .await
        .unwrap();
    let mut body = response.into_body();
    let frame = body.frame().await.unwrap().unwrap();
    let data = frame.into_data().unwrap();
    assert!(
        String::from_utf8_lossy(&data).contains(NEUTRALISED_GA),
        "the whole page, rewritten, in the first frame"
    );
    assert!(body.is_end_stream(), "and known to be the last");
    assert!(body.frame().await.is_none());
}
