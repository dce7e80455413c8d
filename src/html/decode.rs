//! Compressed HTML bodies decoded as they stream (feature `decompress`), so that they can be
//! rewritten: gzip, deflate (zlib-wrapped, or raw as some servers send it) and brotli.
//!
//! Each call decodes at most [`OUTPUT`] bytes, so a small compressed chunk that expands a
//! thousandfold is taken in pieces, never all at once. The decoder's own window comes on top of
//! the rewriter's bounds: 32 KiB for gzip and deflate, and for brotli the window the server
//! chose (4 MiB at the usual settings, at most 16 MiB).

use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};
use bytes::{Buf, Bytes};
use flate2::{Decompress, FlushDecompress, Status};

use super::response::Coding;

/// The most one decoding step produces.
const OUTPUT: usize = 16 * 1024;

/// The longest gzip header accepted (its optional name and comment fields are unbounded).
const MAX_GZIP_HEADER: usize = 4096;

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DecodeError {
    #[error("invalid gzip header")]
    GzipHeader,
    #[error("corrupt deflate data: {0}")]
    Deflate(#[from] flate2::DecompressError),
    #[error("corrupt brotli data")]
    Brotli,
    #[error("the compressed body ended early")]
    Truncated,
}

type Brotli = BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>;

/// The decoder of one body.
pub(crate) struct Decoder {
    kind: Kind,
    /// Compressed bytes received and not yet decoded.
    pending: Bytes,
    /// The last step filled its output: the decoder may hold more without further input.
    more_output: bool,
    done: bool,
}

enum Kind {
    /// Gzip: header bytes gathered until the whole header is known, then raw deflate.
    Gzip {
        header: Option<Vec<u8>>,
        inflate: Decompress,
    },
    /// HTTP's `deflate`: zlib-wrapped, or raw; told by the first bytes.
    Deflate(Option<Decompress>),
    Brotli(Box<Brotli>),
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("pending", &self.pending.len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    pub(crate) fn new(coding: Coding) -> Option<Decoder> {
        let kind = match coding {
            Coding::Identity => return None,
            Coding::Gzip => Kind::Gzip {
                header: Some(Vec::new()),
                inflate: Decompress::new(false),
            },
            Coding::Deflate => Kind::Deflate(None),
            // Strict: standard `br` windows only (up to 16 MiB); the large-window extension
            // would let a response hold up to 1 GiB (found by a review).
            Coding::Brotli => Kind::Brotli(Box::new(BrotliState::new_strict(
                StandardAlloc::default(),
                StandardAlloc::default(),
                StandardAlloc::default(),
            ))),
        };
        Some(Decoder {
            kind,
            pending: Bytes::new(),
            more_output: false,
            done: false,
        })
    }

    /// Compressed bytes wait here until [`Decoder::step`] takes them. After the end of the
    /// stream nothing is kept: bytes there are no page, and kept they would pile up (a review
    /// found 8 MB held, copied again at every frame).
    pub(crate) fn feed(&mut self, data: Bytes) {
        if self.done {
            return;
        }
        if self.pending.is_empty() {
            self.pending = data;
        } else {
            let mut joined = Vec::with_capacity(self.pending.len() + data.len());
            joined.extend_from_slice(&self.pending);
            joined.extend_from_slice(&data);
            self.pending = Bytes::from(joined);
        }
    }

    /// Whether bytes are waiting to be decoded, or decoded output to be taken.
    pub(crate) fn has_pending(&self) -> bool {
        !self.done && (!self.pending.is_empty() || self.more_output)
    }

    /// Decodes some of what is pending: at most [`OUTPUT`] bytes come out. Empty when the
    /// decoder needs more input.
    pub(crate) fn step(&mut self) -> Result<Bytes, DecodeError> {
        if self.done {
            self.pending.clear();
            return Ok(Bytes::new());
        }
        let mut out = Vec::with_capacity(OUTPUT);
        self.more_output = false;
        match &mut self.kind {
            Kind::Gzip { header, inflate } => {
                if let Some(gathered) = header {
                    let take = self.pending.len().min(MAX_GZIP_HEADER + 1 - gathered.len());
                    gathered.extend_from_slice(&self.pending[..take]);
                    match gzip_header_len(gathered)? {
                        None if gathered.len() > MAX_GZIP_HEADER => {
                            return Err(DecodeError::GzipHeader);
                        }
                        None => {
                            self.pending.advance(take);
                            return Ok(Bytes::new());
                        }
                        Some(len) => {
                            // What followed the header in `gathered` is deflate data: put it back.
                            let before = gathered.len() - take;
                            self.pending.advance(len - before);
                            *header = None;
                        }
                    }
                }
                self.done = inflate_step(inflate, &mut self.pending, &mut out)?;
            }
            Kind::Deflate(inflate) => {
                if inflate.is_none() {
                    if self.pending.len() < 2 {
                        return Ok(Bytes::new());
                    }
                    let (cmf, flg) = (self.pending[0], self.pending[1]);
                    let zlib = cmf & 0x0f == 8 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0;
                    *inflate = Some(Decompress::new(zlib));
                }
                if let Some(inflate) = inflate {
                    self.done = inflate_step(inflate, &mut self.pending, &mut out)?;
                }
            }
            Kind::Brotli(state) => {
                out.resize(OUTPUT, 0);
                let (mut available_in, mut input_offset) = (self.pending.len(), 0);
                let (mut available_out, mut output_offset, mut total) = (OUTPUT, 0, 0);
                let result = BrotliDecompressStream(
                    &mut available_in,
                    &mut input_offset,
                    &self.pending,
                    &mut available_out,
                    &mut output_offset,
                    &mut out,
                    &mut total,
                    state,
                );
                out.truncate(output_offset);
                self.pending.advance(input_offset);
                match result {
                    BrotliResult::ResultFailure => return Err(DecodeError::Brotli),
                    BrotliResult::ResultSuccess => self.done = true,
                    BrotliResult::NeedsMoreInput => {}
                    BrotliResult::NeedsMoreOutput => self.more_output = true,
                }
            }
        }
        if self.done {
            // A gzip trailer (CRC and length), or anything after the stream, is not page.
            self.pending.clear();
        }
        self.more_output |= out.len() == OUTPUT;
        Ok(Bytes::from(out))
    }

    /// The body ended: an error if the compressed stream did not.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.done {
            Ok(())
        } else {
            Err(DecodeError::Truncated)
        }
    }
}

/// One inflate step from `input` into `out`'s spare capacity. Returns whether the stream ended.
fn inflate_step(
    inflate: &mut Decompress,
    input: &mut Bytes,
    out: &mut Vec<u8>,
) -> Result<bool, DecodeError> {
    let before = inflate.total_in();
    let status = inflate.decompress_vec(input, out, FlushDecompress::None)?;
    let consumed = usize::try_from(inflate.total_in() - before).unwrap_or(input.len());
    input.advance(consumed.min(input.len()));
    Ok(status == Status::StreamEnd)
}

/// The length of a gzip header at the start of `buf`: `None` while more bytes are needed.
fn gzip_header_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    if buf.len() < 10 {
        return Ok(None);
    }
    if buf[0] != 0x1f || buf[1] != 0x8b || buf[2] != 8 {
        return Err(DecodeError::GzipHeader);
    }
    let flags = buf[3];
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let Some(len) = buf.get(at..at + 2) else {
            return Ok(None);
        };
        at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            match buf.get(at..).and_then(|rest| memchr::memchr(0, rest)) {
                Some(n) => at += n + 1,
                None => return Ok(None),
            }
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    Ok((buf.len() >= at).then_some(at))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn decode_in_chunks(coding: Coding, compressed: &[u8], chunk: usize) -> Vec<u8> {
        let mut decoder = Decoder::new(coding).unwrap();
        let mut out = Vec::new();
        for piece in compressed.chunks(chunk) {
            decoder.feed(Bytes::copy_from_slice(piece));
            while decoder.has_pending() {
                let decoded = decoder.step().unwrap();
                assert!(decoded.len() <= OUTPUT);
                if decoded.is_empty() && decoder.has_pending() {
                    // Needs more input than a partial header or block gives.
                    break;
                }
                out.extend_from_slice(&decoded);
            }
        }
        while decoder.has_pending() {
            out.extend_from_slice(&decoder.step().unwrap());
        }
        decoder.finish().unwrap();
        out
    }

    fn page() -> Vec<u8> {
        "<p>hello <script src=\"https://connect.facebook.net/x.js\"></script></p>\n"
            .repeat(2000)
            .into_bytes()
    }

    #[test]
    fn gzip_deflate_and_raw_deflate_in_any_chunks() {
        let page = page();
        let mut gzip = flate2::GzBuilder::new()
            .filename("page.html")
            .comment("a comment")
            .write(Vec::new(), flate2::Compression::default());
        gzip.write_all(&page).unwrap();
        let gzip = gzip.finish().unwrap();
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        zlib.write_all(&page).unwrap();
        let zlib = zlib.finish().unwrap();
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(&page).unwrap();
        let raw = raw.finish().unwrap();
        for chunk in [1, 7, 1000, 1 << 20] {
            assert_eq!(
                decode_in_chunks(Coding::Gzip, &gzip, chunk),
                page,
                "gzip {chunk}"
            );
            assert_eq!(
                decode_in_chunks(Coding::Deflate, &zlib, chunk),
                page,
                "zlib {chunk}"
            );
            assert_eq!(
                decode_in_chunks(Coding::Deflate, &raw, chunk),
                page,
                "raw {chunk}"
            );
        }
    }

    fn brotli(data: &[u8], quality: u32, window: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, quality, window);
        writer.write_all(data).unwrap();
        drop(writer);
        out
    }

    #[test]
    fn brotli_in_any_chunks() {
        let page = page();
        for (quality, window) in [(5, 22), (11, 24), (1, 10)] {
            let compressed = brotli(&page, quality, window);
            for chunk in [1, 13, 4096, 1 << 20] {
                assert_eq!(
                    decode_in_chunks(Coding::Brotli, &compressed, chunk),
                    page,
                    "quality {quality}, window {window}, chunks of {chunk}"
                );
            }
        }
        let mut decoder = Decoder::new(Coding::Brotli).unwrap();
        decoder.feed(Bytes::from_static(b"\xff\xff\xff\xff not brotli"));
        assert!(decoder.step().is_err());
    }

    /// Large-window brotli (windows up to 1 GiB, an extension no `br` response uses) is
    /// refused: it would let one response hold far more than the 16 MiB a standard window may.
    #[test]
    fn large_window_brotli_is_refused() {
        let params = brotli::enc::BrotliEncoderParams {
            quality: 1,
            lgwin: 30,
            large_window: true,
            ..Default::default()
        };
        let mut compressed = Vec::new();
        {
            let mut writer = brotli::CompressorWriter::with_params(&mut compressed, 4096, &params);
            writer.write_all(&page()).unwrap();
        }
        let mut decoder = Decoder::new(Coding::Brotli).unwrap();
        decoder.feed(Bytes::from(compressed));
        let mut failed = false;
        while decoder.has_pending() {
            match decoder.step() {
                Ok(_) => {}
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        assert!(failed || decoder.finish().is_err());
    }

    /// Bytes after the end of the stream are not kept: a review found them held and copied
    /// again at every frame.
    #[test]
    fn nothing_is_held_after_the_end_of_the_stream() {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzip.write_all(b"<p>short</p>").unwrap();
        let member = gzip.finish().unwrap();
        let mut decoder = Decoder::new(Coding::Gzip).unwrap();
        decoder.feed(Bytes::from(member.clone()));
        while decoder.has_pending() {
            decoder.step().unwrap();
        }
        for _ in 0..64 {
            decoder.feed(Bytes::from(vec![0x1f; 16 * 1024]));
            assert!(!decoder.has_pending());
        }
        assert_eq!(decoder.pending.len(), 0);
    }

    #[test]
    fn corrupt_and_truncated_streams_are_errors() {
        let mut decoder = Decoder::new(Coding::Gzip).unwrap();
        decoder.feed(Bytes::from_static(b"not gzip at all"));
        assert!(decoder.step().is_err());
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzip.write_all(&page()).unwrap();
        let gzip = gzip.finish().unwrap();
        let mut decoder = Decoder::new(Coding::Gzip).unwrap();
        decoder.feed(Bytes::copy_from_slice(&gzip[..gzip.len() / 2]));
        while decoder.has_pending() {
            if decoder.step().unwrap().is_empty() {
                break;
            }
        }
        assert!(decoder.finish().is_err());
    }
}
