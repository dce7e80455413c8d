//! The HTML rewriter on arbitrary bytes, cut into arbitrary chunks: it never panics, the chunks
//! never change the output, and rewriting the output again changes nothing.
//!
//! RUSTC_BOOTSTRAP=1 cargo fuzz run rewrite   (from the repository root)

#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tower_consent::{ConsentLayer, NoopSink};

fn layer() -> &'static ConsentLayer {
    static LAYER: OnceLock<ConsentLayer> = OnceLock::new();
    LAYER.get_or_init(|| ConsentLayer::builder().sink(NoopSink).build().unwrap())
}

/// The visitors tried: nothing allowed, analytics only, everything.
const VISITORS: [&[&str]; 3] = [&[], &["analytics"], &["preferences", "analytics", "marketing"]];

fuzz_target!(|data: &[u8]| {
    // The first byte picks the visitor and the chunk size; the rest is the document.
    let Some((&control, document)) = data.split_first() else {
        return;
    };
    let visitor = VISITORS[usize::from(control % 3)];
    let chunk = usize::from(control / 3) % 64 + 1;
    let document = Bytes::copy_from_slice(document);

    let whole = layer().html_rewriter(visitor).unwrap().rewrite_all(&document);

    let mut rewriter = layer().html_rewriter(visitor).unwrap();
    let mut chunked = Vec::with_capacity(whole.len());
    let mut from = 0;
    while from < document.len() {
        let to = (from + chunk).min(document.len());
        rewriter.push(&document.slice(from..to));
        while let Some(piece) = rewriter.next_output() {
            chunked.extend_from_slice(&piece);
        }
        from = to;
    }
    rewriter.finish();
    while let Some(piece) = rewriter.next_output() {
        chunked.extend_from_slice(&piece);
    }
    assert_eq!(whole, chunked, "chunks of {chunk} bytes changed the output");

    let again = layer().html_rewriter(visitor).unwrap().rewrite_all(&Bytes::from(whole.clone()));
    assert_eq!(whole, again, "rewriting the output changed it");
});
