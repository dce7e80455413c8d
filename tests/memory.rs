//! A rewritten response holds a bounded amount of memory however long its body: 100 MB of
//! tracker-laden HTML streams through the layer while the heap is measured after every frame.
//!
//! Alone in its test binary: the allocator counts every thread of the process.

use std::alloc::System;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{Request, Response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Empty};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tower::{Layer, ServiceExt, service_fn};
use tower_consent::{ConsentLayer, NoopSink};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const TOTAL: usize = 100 * 1024 * 1024;
const CHUNK: usize = 16 * 1024;
const BUDGET: isize = 64 * 1024;

/// The shop fixture repeated without end, served in 16 KB slices of a static buffer, so the
/// body itself allocates nothing.
struct Endless {
    text: &'static [u8],
    period: usize,
    sent: usize,
}

impl Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.sent >= TOTAL {
            return Poll::Ready(None);
        }
        let from = self.sent % self.period;
        let chunk = Bytes::from_static(&self.text[from..from + CHUNK]);
        self.sent += CHUNK;
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }
}

/// Bytes allocated and not yet freed since the region began (`bytes_allocated` and
/// `bytes_deallocated` already include what reallocations added and removed).
fn in_use(region: &Region<'_, System>) -> isize {
    let change = region.change();
    change.bytes_allocated as isize - change.bytes_deallocated as isize
}

/// The tests of this binary measure the whole process's heap: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "current_thread")]
async fn a_hundred_megabytes_stream_through_in_bounded_memory() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let page = include_str!("fixtures/shop.html");
    let repeats = CHUNK / page.len() + 2;
    let text: &'static [u8] = Box::leak(page.repeat(repeats).into_bytes().into_boxed_slice());
    let layer = ConsentLayer::builder().sink(NoopSink).build().unwrap();
    let service = layer.layer(service_fn(move |_req: Request<Empty<Bytes>>| async move {
        let mut response = Response::new(Endless {
            text,
            period: page.len(),
            sent: 0,
        });
        response
            .headers_mut()
            .insert(CONTENT_TYPE, "text/html".parse().unwrap());
        Ok::<_, Infallible>(response)
    }));
    let request = Request::get("/")
        .header(HOST, "example.com")
        .header("sec-fetch-dest", "document")
        .body(Empty::new())
        .unwrap();

    let region = Region::new(GLOBAL);
    let response = service.oneshot(request).await.unwrap();
    let mut body = response.into_body();
    let (mut peak, mut total, mut neutralised) = (0isize, 0usize, 0usize);
    while let Some(frame) = body.frame().await {
        let data = frame.unwrap().into_data().unwrap();
        total += data.len();
        neutralised += memchr::memmem::find_iter(&data, b"data-consent-category").count();
        drop(data);
        peak = peak.max(in_use(&region));
    }
    assert!(total > TOTAL, "the whole body came through: {total}");
    assert!(
        neutralised > 10_000,
        "trackers were blocked all along: {neutralised}"
    );
    assert!(peak < BUDGET, "peak heap of the response: {peak} bytes");
    eprintln!("peak heap while streaming 100 MB: {peak} bytes");
}

/// A gzip bomb: about 190 KB that decode to 64 MB of HTML. With the `decompress` feature the body is
/// decoded a piece at a time, so the heap stays within the rewriter's bound plus the decoder's
/// window (32 KiB) and state.
#[tokio::test(flavor = "current_thread")]
async fn a_gzip_bomb_is_decoded_in_bounded_memory() {
    use std::io::Write;
    let _alone = ONE_AT_A_TIME.lock().await;
    const DECODED: usize = 64 * 1024 * 1024;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let block = "<p>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</p>".repeat(20_000);
    for _ in 0..DECODED / block.len() {
        gzip.write_all(block.as_bytes()).unwrap();
    }
    let compressed: &'static [u8] = Box::leak(gzip.finish().unwrap().into_boxed_slice());
    let layer = ConsentLayer::builder().sink(NoopSink).build().unwrap();
    let service = layer.layer(service_fn(move |_req: Request<Empty<Bytes>>| async move {
        let mut response = Response::new(http_body_util::Full::new(Bytes::from_static(compressed)));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, "text/html".parse().unwrap());
        headers.insert(http::header::CONTENT_ENCODING, "gzip".parse().unwrap());
        Ok::<_, Infallible>(response)
    }));
    let request = Request::get("/")
        .header(HOST, "example.com")
        .body(Empty::new())
        .unwrap();

    let region = Region::new(GLOBAL);
    let response = service.oneshot(request).await.unwrap();
    let mut body = response.into_body();
    let (mut peak, mut total) = (0isize, 0usize);
    while let Some(frame) = body.frame().await {
        total += frame.unwrap().into_data().unwrap().len();
        peak = peak.max(in_use(&region));
    }
    assert!(total >= DECODED - block.len(), "decoded {total} bytes");
    assert!(peak < 256 * 1024, "peak heap of the response: {peak} bytes");
    eprintln!(
        "peak heap while decoding {compressed_len} bytes to {total}: {peak} bytes",
        compressed_len = compressed.len()
    );
}
