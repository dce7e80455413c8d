//! The streaming HTML rewriter: `scanner` finds the elements that matter, `rewrite` decides
//! what happens to each, `output` assembles the result from slices of the input, and `body`
//! wraps a response body around it all.

pub(crate) mod body;
pub(crate) mod consent_mode;
pub(crate) mod csp;
#[cfg(feature = "decompress")]
mod decode;
mod entities;
mod output;
pub(crate) mod response;
pub(crate) mod rewrite;
mod scanner;
mod tag;
mod url;

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use crate::catalog::trackers::Trackers;
use crate::config::Settings;
use crate::consent::{Categories, CategorySet};

pub use rewrite::BlockMode;

use output::{Carry, Out};
use rewrite::Policy;
use scanner::{Context, Scanner};
pub(crate) use url::Base;
pub(crate) use url::resolve as resolve_url;

/// How much one response's rewriter holds back at most (see the README, "Bounds").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// A tag the rewriter must read whole (script, frame, image, link, ...).
    pub(crate) max_tag: usize,
    /// An inline script held until its text is classified, start tag included.
    pub(crate) max_script: usize,
    /// The text of one `<noscript>` that is read as markup.
    pub(crate) max_noscript: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_tag: 64 * 1024,
            max_script: 64 * 1024,
            max_noscript: 64 * 1024,
        }
    }
}

/// What one response's rewriter needs from the layer, shared by every response.
pub(crate) trait Rules: Send + Sync {
    fn trackers(&self) -> &Trackers;
    fn categories(&self) -> &Categories;
    fn limits(&self) -> Limits;
    fn block_mode(&self) -> BlockMode;
    /// Google Consent Mode's signals, when it is on.
    fn consent_mode(&self) -> Option<&consent_mode::Signals>;
}

/// What one page view gets inserted besides Consent Mode's script (which every page gets when
/// it is on).
#[derive(Debug, Default)]
pub(crate) struct PageInserts {
    /// The nonce the page's `Content-Security-Policy` allows inline scripts by.
    pub(crate) script_nonce: Option<String>,
    /// The banner or the "Cookie settings" link, for before `</body>`.
    pub(crate) closing: Option<Vec<u8>>,
    /// The banner's skip link, for right after `<body>`.
    pub(crate) opening: Option<Vec<u8>>,
}

/// The rewriter of one HTML body: feed it chunks, take the output pieces.
#[derive(Debug)]
pub(crate) struct Rewriter {
    allowed: CategorySet,
    /// The body's first bytes, until two were seen: a UTF-16 byte order mark there turns
    /// the rewriter off for the body.
    start: [u8; 2],
    start_len: usize,
    passthrough: bool,
    hold_inline: bool,
    scanner: Scanner,
    carry: Carry,
    base: Base,
    output: VecDeque<Bytes>,
}

impl Rewriter {
    pub(crate) fn new(rules: &dyn Rules, allowed: CategorySet) -> Self {
        Self::for_page(rules, allowed, PageInserts::default())
    }

    /// A rewriter for one page view, with what is inserted into it.
    pub(crate) fn for_page(rules: &dyn Rules, allowed: CategorySet, inserts: PageInserts) -> Self {
        let mut scanner = Scanner::new(true);
        scanner.injection = rules
            .consent_mode()
            .map(|signals| consent_mode::script(signals, allowed, inserts.script_nonce.as_deref()));
        scanner.closing = inserts.closing;
        scanner.opening = inserts.opening;
        Rewriter {
            allowed,
            start: [0; 2],
            start_len: 0,
            passthrough: false,
            hold_inline: rules.trackers().signatures_outside(allowed),
            scanner,
            carry: Carry::default(),
            base: Base::default(),
            output: VecDeque::new(),
        }
    }

    fn run(&mut self, rules: &dyn Rules, chunk: &Bytes, end: bool) {
        self.run_noting(rules, chunk, end, None);
    }

    fn run_noting(
        &mut self,
        rules: &dyn Rules,
        chunk: &Bytes,
        end: bool,
        seen: Option<&mut Vec<scanner::Seen>>,
    ) {
        let policy = Policy {
            trackers: rules.trackers(),
            categories: rules.categories(),
            allowed: self.allowed,
            mode: rules.block_mode(),
            hold_inline: self.hold_inline,
            limits: rules.limits(),
            depth: 0,
            findings: None,
        };
        let mut cx = Context {
            policy: &policy,
            base: &mut self.base,
            seen,
        };
        let mut out = Out::new(chunk, &mut self.carry, &mut self.output);
        if end {
            self.scanner.finish(&mut out);
        } else {
            self.scanner.scan(&mut cx, &mut out, 0, chunk.len());
        }
        out.finish();
    }

    /// Rewrites the next chunk of the body.
    pub(crate) fn push(&mut self, rules: &dyn Rules, chunk: &Bytes) {
        if self.start_len < 2 {
            for b in chunk.iter().take(2 - self.start_len) {
                self.start[self.start_len] = *b;
                self.start_len += 1;
            }
            if self.start_len == 2 && matches!(self.start, [0xFE, 0xFF] | [0xFF, 0xFE]) {
                tracing::warn!(
                    "tower-consent: an HTML body in UTF-16 (by its byte order mark) passes through without tracker blocking"
                );
                self.passthrough = true;
                // Nothing is inserted either: it would be written in UTF-8, before the mark.
                self.scanner.injection = None;
                self.scanner.closing = None;
                self.scanner.opening = None;
            }
        }
        if self.passthrough {
            // What a first one-byte chunk left held (nothing: a lone byte is text) goes first.
            self.run(rules, &Bytes::new(), true);
            if !chunk.is_empty() {
                self.output.push_back(chunk.clone());
            }
            return;
        }
        self.run(rules, chunk, false);
    }

    /// The body ended: releases whatever was held.
    pub(crate) fn end(&mut self, rules: &dyn Rules) {
        if !self.passthrough {
            self.run(rules, &Bytes::new(), true);
        }
    }

    /// The next piece of output, in order.
    pub(crate) fn next_piece(&mut self) -> Option<Bytes> {
        self.output.pop_front()
    }

    /// All the output ready now, in one piece: one input chunk gives one frame, rather than a
    /// frame per unchanged span and per changed tag (each its own chunk of a chunked
    /// response). One piece is handed on as it is; several are copied once, into a buffer of
    /// their total size. Nothing waits for this: it is what is ready.
    pub(crate) fn next_output(&mut self) -> Option<Bytes> {
        if self.output.len() <= 1 {
            return self.output.pop_front();
        }
        let total = self.output.iter().map(Bytes::len).sum();
        let mut joined = bytes::BytesMut::with_capacity(total);
        for piece in self.output.drain(..) {
            joined.extend_from_slice(&piece);
        }
        Some(joined.freeze())
    }

    pub(crate) fn is_drained(&self) -> bool {
        self.output.is_empty()
    }
}

/// The rewriter the layer runs over HTML responses, for one document, usable on its own: see
/// [`ConsentLayer::html_rewriter`](crate::ConsentLayer::html_rewriter).
///
/// Feed the document in chunks with [`push`](HtmlRewriter::push), take the output with
/// [`next_output`](HtmlRewriter::next_output) after each, and call
/// [`finish`](HtmlRewriter::finish) at the end (a construct cut off by the end is then let
/// out). Output never waits for more input than the construct being decided; unchanged
/// spans are slices of the input.
pub struct HtmlRewriter {
    settings: Arc<Settings>,
    rewriter: Rewriter,
}

impl HtmlRewriter {
    pub(crate) fn new(settings: Arc<Settings>, allowed: CategorySet) -> Self {
        let rewriter = Rewriter::new(&*settings, allowed);
        HtmlRewriter { settings, rewriter }
    }

    /// Rewrites the next chunk of the document.
    pub fn push(&mut self, chunk: &Bytes) {
        self.rewriter.push(&*self.settings, chunk);
    }

    /// The document ended: whatever was held back is let out.
    pub fn finish(&mut self) {
        self.rewriter.end(&*self.settings);
    }

    /// The next piece of output, in order, or `None` until more input is pushed.
    pub fn next_output(&mut self) -> Option<Bytes> {
        self.rewriter.next_piece()
    }

    /// Rewrites a whole document in one call.
    pub fn rewrite_all(&mut self, document: &Bytes) -> Vec<u8> {
        let mut out = Vec::with_capacity(document.len() + 256);
        self.push(document);
        self.finish();
        while let Some(piece) = self.next_output() {
            out.extend_from_slice(&piece);
        }
        out
    }
}

impl std::fmt::Debug for HtmlRewriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HtmlRewriter").finish_non_exhaustive()
    }
}

/// Rewrites a document held whole (an `<iframe srcdoc>`), with `policy` and from `base`.
pub(crate) fn rewrite_nested(policy: &Policy<'_>, base: &Base, document: &[u8]) -> Vec<u8> {
    let mut scanner = Scanner::new(true);
    let mut carry = Carry::default();
    let mut pieces = VecDeque::new();
    let mut base = base.for_nested();
    let chunk = Bytes::copy_from_slice(document);
    let mut cx = Context {
        policy,
        base: &mut base,
        seen: None,
    };
    let mut out = Out::new(&chunk, &mut carry, &mut pieces);
    scanner.scan(&mut cx, &mut out, 0, chunk.len());
    out.finish();
    let end = Bytes::new();
    let mut out = Out::new(&end, &mut carry, &mut pieces);
    scanner.finish(&mut out);
    out.finish();
    let mut rewritten = Vec::with_capacity(document.len());
    for piece in pieces {
        rewritten.extend_from_slice(&piece);
    }
    rewritten
}

/// Every tracker a document would load, whatever the visitor allowed: what the rewriter
/// blocks for a visitor who allowed nothing, by the rules of `rules`.
#[cfg(feature = "testing")]
pub(crate) fn audit(rules: &dyn Rules, document: &[u8]) -> Vec<rewrite::Finding> {
    let findings = rewrite::Findings::default();
    let allowed = CategorySet::NECESSARY;
    let policy = Policy {
        trackers: rules.trackers(),
        categories: rules.categories(),
        allowed,
        mode: BlockMode::Neutralise,
        hold_inline: rules.trackers().signatures_outside(allowed),
        limits: rules.limits(),
        depth: 0,
        findings: Some(&findings),
    };
    rewrite_nested(&policy, &Base::default(), document);
    findings.found.into_inner()
}

/// Rewrites a whole document in the given chunks: for tests, benches and the inspect tool's
/// expectations.
#[cfg(test)]
pub(crate) fn rewrite_chunks(rules: &dyn Rules, allowed: CategorySet, chunks: &[&[u8]]) -> Vec<u8> {
    run_chunks(rules, Rewriter::new(rules, allowed), chunks)
}

/// Runs `rewriter` over a whole document in the given chunks and collects its output.
#[cfg(test)]
pub(crate) fn run_chunks(rules: &dyn Rules, mut rewriter: Rewriter, chunks: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in chunks {
        rewriter.push(rules, &Bytes::copy_from_slice(chunk));
        while let Some(piece) = rewriter.next_piece() {
            out.extend_from_slice(&piece);
        }
    }
    rewriter.end(rules);
    while let Some(piece) = rewriter.next_piece() {
        out.extend_from_slice(&piece);
    }
    out
}

/// The elements the scanner judges in a whole document, with what it outputs.
#[cfg(test)]
pub(crate) fn scan_noting(
    rules: &dyn Rules,
    allowed: CategorySet,
    input: &[u8],
) -> (Vec<scanner::Seen>, Vec<u8>) {
    let mut rewriter = Rewriter::new(rules, allowed);
    let mut seen = Vec::new();
    rewriter.run_noting(
        rules,
        &Bytes::copy_from_slice(input),
        false,
        Some(&mut seen),
    );
    rewriter.end(rules);
    let mut out = Vec::new();
    while let Some(piece) = rewriter.next_piece() {
        out.extend_from_slice(&piece);
    }
    (seen, out)
}

#[cfg(test)]
mod generated;
#[cfg(test)]
mod oracle;
#[cfg(test)]
mod tests;
