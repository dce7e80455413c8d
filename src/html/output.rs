//! The rewriter's output for one input chunk: unchanged spans as slices of the chunk, changed
//! tags as new bytes, and the bytes of a construct still being decided held back (copied to
//! the carry buffer only when it runs past the end of the chunk).

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

/// What the output keeps from one chunk to the next.
#[derive(Debug, Default)]
pub(crate) struct Carry {
    /// Held bytes from earlier chunks: the start of the construct being decided.
    bytes: BytesMut,
    holding: bool,
    dropping: bool,
}

/// Output over one chunk.
///
/// Positions are indices into the chunk. Bytes before `emitted` are dealt with; bytes from
/// `emitted` on are unchanged output not yet pushed, up to `hold_at` when a construct is held
/// (the held region is the carry followed by the chunk from `hold_at`).
pub(crate) struct Out<'a> {
    pub(crate) chunk: &'a Bytes,
    emitted: usize,
    hold_at: usize,
    carry: &'a mut Carry,
    pieces: &'a mut VecDeque<Bytes>,
}

impl<'a> Out<'a> {
    pub(crate) fn new(
        chunk: &'a Bytes,
        carry: &'a mut Carry,
        pieces: &'a mut VecDeque<Bytes>,
    ) -> Self {
        Out {
            chunk,
            emitted: 0,
            hold_at: 0,
            carry,
            pieces,
        }
    }

    fn push_slice(&mut self, from: usize, to: usize) {
        if to > from {
            self.pieces.push_back(self.chunk.slice(from..to));
        }
    }

    fn push_owned(&mut self, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            self.pieces.push_back(Bytes::from(bytes));
        }
    }

    fn push_bytes(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.pieces.push_back(Bytes::copy_from_slice(bytes));
        }
    }

    pub(crate) fn holding(&self) -> bool {
        self.carry.holding
    }

    /// Holds output from `at` until the construct starting there is decided.
    pub(crate) fn hold(&mut self, at: usize) {
        debug_assert!(!self.carry.holding && !self.carry.dropping);
        self.carry.holding = true;
        self.hold_at = at;
    }

    /// Length of the held region if it ran to `to`.
    pub(crate) fn held_len(&self, to: usize) -> usize {
        self.carry.bytes.len() + to.saturating_sub(self.hold_at)
    }

    /// The held bytes carried from earlier chunks.
    pub(crate) fn carry_bytes(&self) -> &[u8] {
        &self.carry.bytes
    }

    /// Where the held region's bytes in this chunk begin (0 when it began in an earlier one).
    pub(crate) fn hold_at(&self) -> usize {
        self.hold_at
    }

    /// The held region up to `to`, in one piece (copying this chunk's part into the carry
    /// when the region began in an earlier chunk).
    pub(crate) fn held(&mut self, to: usize) -> &[u8] {
        if self.carry.bytes.is_empty() {
            return &self.chunk[self.hold_at..to];
        }
        let chunk = self.chunk;
        self.carry.bytes.extend_from_slice(&chunk[self.hold_at..to]);
        self.hold_at = to;
        self.emitted = to;
        &self.carry.bytes
    }

    /// `bytes` go out at `at`, a position outside any held region. Taken owned (the banner,
    /// a script): they become a piece without a copy.
    pub(crate) fn insert_at(&mut self, at: usize, bytes: Vec<u8>) {
        self.push_slice(self.emitted, at);
        self.push_owned(bytes);
        self.emitted = at;
    }

    /// `bytes` go out just before the held region.
    pub(crate) fn insert_before_held(&mut self, bytes: Vec<u8>) {
        if self.carry.bytes.is_empty() {
            self.push_slice(self.emitted, self.hold_at);
            self.emitted = self.hold_at;
        }
        self.push_owned(bytes);
    }

    /// The held region is output as it is.
    pub(crate) fn release(&mut self) {
        if !self.carry.bytes.is_empty() {
            let held = self.carry.bytes.split().freeze();
            self.pieces.push_back(held);
        }
        self.carry.holding = false;
    }

    /// The held region up to `to` is replaced by `new`.
    pub(crate) fn replace_held(&mut self, to: usize, new: &[u8]) {
        if self.carry.bytes.is_empty() {
            self.push_slice(self.emitted, self.hold_at);
        } else {
            self.carry.bytes.clear();
        }
        self.push_bytes(new);
        self.emitted = to;
        self.carry.holding = false;
    }

    /// The held region is output with `remove` bytes at offset `at` replaced by `new`.
    pub(crate) fn splice_held(&mut self, at: usize, remove: usize, new: &[u8]) {
        if self.carry.bytes.is_empty() {
            self.push_slice(self.emitted, self.hold_at + at);
            self.push_bytes(new);
            self.emitted = self.hold_at + at + remove;
        } else {
            // The carry holds at least the start tag, which is where splices happen.
            let head = self
                .carry
                .bytes
                .split_to(at.min(self.carry.bytes.len()))
                .freeze();
            self.pieces.push_back(head);
            self.push_bytes(new);
            let skip = remove.min(self.carry.bytes.len());
            let _ = self.carry.bytes.split_to(skip);
            if !self.carry.bytes.is_empty() {
                let rest = self.carry.bytes.split().freeze();
                self.pieces.push_back(rest);
            }
        }
        self.carry.holding = false;
    }

    /// Output from `at` is dropped until [`Out::end_drop`].
    pub(crate) fn start_drop(&mut self, at: usize) {
        self.push_slice(self.emitted, at);
        self.emitted = at;
        self.carry.dropping = true;
    }

    /// Output resumes at `at`.
    pub(crate) fn end_drop(&mut self, at: usize) {
        self.emitted = at;
        self.carry.dropping = false;
    }

    /// The chunk is consumed: unchanged output goes out, a held region moves to the carry.
    pub(crate) fn finish(mut self) {
        let end = self.chunk.len();
        if self.carry.holding {
            if self.carry.bytes.is_empty() {
                self.push_slice(self.emitted, self.hold_at);
            }
            let chunk = self.chunk;
            self.carry
                .bytes
                .extend_from_slice(&chunk[self.hold_at..end]);
        } else if !self.carry.dropping {
            self.push_slice(self.emitted, end);
        }
    }
}
