//! The tag states of the WHATWG tokenizer (tag name through self-closing start tag), resumable
//! at any byte so that a tag cut by a chunk boundary continues in the next chunk.
//!
//! Attribute positions are recorded as offsets from the tag's `<`, so they stay valid whether
//! the tag's bytes end up in one chunk or in the carry buffer.

use memchr::memchr;

/// How many attributes of one tag are recorded. A tag with more is still lexed to its end; the
/// rewriter treats it as one it cannot fully see (fail closed for scripts).
pub(crate) const MAX_ATTRS: usize = 128;

/// Longest tag name kept for comparison; every name the rewriter cares about is shorter.
const NAME_CAP: usize = 16;

/// Byte classes of the tag states.
pub(crate) const WS: u8 = 1;
pub(crate) const SLASH: u8 = 2;
pub(crate) const GT: u8 = 4;
pub(crate) const EQ: u8 = 8;

static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b'\t' as usize] = WS;
    table[b'\n' as usize] = WS;
    table[0x0c] = WS;
    table[b'\r' as usize] = WS;
    table[b' ' as usize] = WS;
    table[b'/' as usize] = SLASH;
    table[b'>' as usize] = GT;
    table[b'=' as usize] = EQ;
    table
};

/// How far a plain loop looks before handing over to `memchr`, whose call and setup cost more
/// than the short distances between markup characters that are common in pages.
const NEAR: usize = 16;

/// The index of the first `needle` in `buf` from `from`.
#[inline]
pub(crate) fn find_byte(needle: u8, buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..)?;
    let near = rest.len().min(NEAR);
    if let Some(n) = rest[..near].iter().position(|b| *b == needle) {
        return Some(from + n);
    }
    memchr(needle, &rest[near..]).map(|n| from + near + n)
}

/// The first index from `from` whose byte is in one of the `mask` classes, or `buf.len()`.
#[inline]
pub(crate) fn find_class(buf: &[u8], from: usize, mask: u8) -> usize {
    buf[from..]
        .iter()
        .position(|b| CLASS[usize::from(*b)] & mask != 0)
        .map_or(buf.len(), |n| from + n)
}

#[inline]
pub(crate) fn skip_whitespace(buf: &[u8], from: usize) -> usize {
    skip_class(buf, from, WS)
}

/// The first index from `from` whose byte is in none of the `mask` classes, or `buf.len()`.
#[inline]
fn skip_class(buf: &[u8], from: usize, mask: u8) -> usize {
    buf[from..]
        .iter()
        .position(|b| CLASS[usize::from(*b)] & mask == 0)
        .map_or(buf.len(), |n| from + n)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Name,
    BeforeAttrName,
    AttrName,
    AfterAttrName,
    BeforeAttrValue,
    DoubleQuoted,
    SingleQuoted,
    Unquoted,
    AfterQuotedValue,
    SelfClosing,
}

/// One attribute, as offsets from the tag's `<`. `value` is empty for an attribute without one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AttrSpan {
    pub(crate) name: (u32, u32),
    pub(crate) value: (u32, u32),
    /// The value was written in quotes (the quotes are outside `value`).
    pub(crate) quoted: bool,
}

/// The lexer of one tag at a time.
#[derive(Debug)]
pub(crate) struct TagLexer {
    state: State,
    /// Tag bytes consumed so far, counting from the `<`.
    consumed: usize,
    name: [u8; NAME_CAP],
    name_len: usize,
    /// Record attribute spans (only for tags the rewriter looks at).
    record: bool,
    attrs: Vec<AttrSpan>,
    /// More attributes than [`MAX_ATTRS`], or an offset beyond `u32`.
    pub(crate) attrs_overflow: bool,
    pub(crate) self_closing: bool,
    pub(crate) end_tag: bool,
}

impl TagLexer {
    pub(crate) fn new() -> Self {
        TagLexer {
            state: State::Name,
            consumed: 0,
            name: [0; NAME_CAP],
            name_len: 0,
            record: false,
            attrs: Vec::with_capacity(16),
            attrs_overflow: false,
            self_closing: false,
            end_tag: false,
        }
    }

    /// Starts a tag whose name begins `prefix_len` bytes after its `<` (1 for `<a`, 2 for
    /// `</a`).
    pub(crate) fn start(&mut self, end_tag: bool) {
        self.state = State::Name;
        self.consumed = if end_tag { 2 } else { 1 };
        self.name_len = 0;
        self.record = false;
        self.attrs.clear();
        self.attrs_overflow = false;
        self.self_closing = false;
        self.end_tag = end_tag;
    }

    /// Starts an end tag whose name was already matched by a raw-text state (`</script`), so
    /// that lexing resumes at the byte after the name.
    pub(crate) fn start_matched_end_tag(&mut self, name: &[u8]) {
        self.start(true);
        self.consumed = 2 + name.len();
        self.name_len = name.len().min(NAME_CAP);
        self.name[..self.name_len].copy_from_slice(&name[..self.name_len]);
    }

    /// The tag name, ASCII-lowercased; `None` while it is still being read or when it is longer
    /// than any name the rewriter knows.
    pub(crate) fn name(&self) -> &[u8] {
        if self.name_len > NAME_CAP {
            return b"";
        }
        &self.name[..self.name_len]
    }

    /// How many bytes of the name were read so far.
    pub(crate) fn name_read(&self) -> usize {
        self.name_len
    }

    /// Whether the name read so far is short enough to be one the scanner acts on.
    pub(crate) fn name_could_matter(&self) -> bool {
        self.name_len <= NAME_CAP
    }

    pub(crate) fn name_complete(&self) -> bool {
        self.state != State::Name
    }

    pub(crate) fn set_record(&mut self, record: bool) {
        self.record = record;
    }

    pub(crate) fn attrs(&self) -> &[AttrSpan] {
        &self.attrs
    }

    /// How many of the recorded attributes are complete: the last one is not while its name
    /// or value is still being read.
    pub(crate) fn complete_attrs(&self) -> usize {
        match self.state {
            State::BeforeAttrName | State::AfterQuotedValue | State::SelfClosing | State::Name => {
                self.attrs.len()
            }
            _ => self.attrs.len().saturating_sub(1),
        }
    }

    /// Lexes `buf[from..]`. Returns [`Step::Done`] with the index just past the closing `>`
    /// when the tag ends in `buf`, or [`Step::More`] when all of it was consumed and the tag
    /// goes on. While the name is being read it returns [`Step::NameDone`] as soon as the name
    /// ends, so the caller can decide whether to record attributes.
    ///
    /// Each state consumes its whole run of bytes at once (names and unquoted values through a
    /// byte-class table, quoted values with `memchr`): tags are most of a page's bytes.
    pub(crate) fn run(&mut self, buf: &[u8], from: usize) -> Step {
        let len = buf.len();
        let mut i = from;
        // Tag offset of `buf[0]`, so that `buf[i]` is at `base + i` (wrapping: `from` may be
        // larger than what was consumed).
        let base = self.consumed.wrapping_sub(from);
        let at = |i: usize| base.wrapping_add(i);
        loop {
            if i >= len {
                self.consumed = at(len);
                return Step::More;
            }
            match self.state {
                State::Name => {
                    let end = find_class(buf, i, WS | SLASH | GT);
                    for &b in &buf[i..end] {
                        if self.name_len < NAME_CAP {
                            self.name[self.name_len] = b.to_ascii_lowercase();
                        }
                        self.name_len = self.name_len.saturating_add(1);
                    }
                    i = end;
                    if i >= len {
                        continue;
                    }
                    match buf[i] {
                        b'>' => {
                            self.state = State::AfterAttrName;
                            self.consumed = at(i + 1);
                            return Step::NameDone { at: i, ends: true };
                        }
                        b'/' => self.state = State::SelfClosing,
                        _ => self.state = State::BeforeAttrName,
                    }
                    self.consumed = at(i + 1);
                    return Step::NameDone {
                        at: i + 1,
                        ends: false,
                    };
                }
                State::BeforeAttrName => {
                    i = skip_whitespace(buf, i);
                    if i >= len {
                        continue;
                    }
                    match buf[i] {
                        b'/' | b'>' => self.state = State::AfterAttrName,
                        _ => {
                            // `=` here starts a name that begins with `=`.
                            self.begin_attr(at(i));
                            self.state = State::AttrName;
                            i += 1;
                        }
                    }
                }
                State::AttrName => {
                    i = find_class(buf, i, WS | SLASH | GT | EQ);
                    if i >= len {
                        continue;
                    }
                    self.end_name(at(i));
                    if buf[i] == b'=' {
                        self.state = State::BeforeAttrValue;
                        i += 1;
                    } else {
                        self.state = State::AfterAttrName;
                    }
                }
                State::AfterAttrName => {
                    i = skip_whitespace(buf, i);
                    if i >= len {
                        continue;
                    }
                    match buf[i] {
                        b'/' => {
                            self.state = State::SelfClosing;
                            i += 1;
                        }
                        b'=' => {
                            self.state = State::BeforeAttrValue;
                            i += 1;
                        }
                        b'>' => {
                            self.consumed = at(i + 1);
                            return Step::Done(i + 1);
                        }
                        _ => {
                            self.begin_attr(at(i));
                            self.state = State::AttrName;
                            i += 1;
                        }
                    }
                }
                State::BeforeAttrValue => {
                    i = skip_whitespace(buf, i);
                    if i >= len {
                        continue;
                    }
                    match buf[i] {
                        b'"' => {
                            self.begin_value(at(i + 1), true);
                            self.state = State::DoubleQuoted;
                            i += 1;
                        }
                        b'\'' => {
                            self.begin_value(at(i + 1), true);
                            self.state = State::SingleQuoted;
                            i += 1;
                        }
                        b'>' => {
                            self.consumed = at(i + 1);
                            return Step::Done(i + 1);
                        }
                        _ => {
                            self.begin_value(at(i), false);
                            self.state = State::Unquoted;
                        }
                    }
                }
                State::DoubleQuoted | State::SingleQuoted => {
                    let quote = if self.state == State::DoubleQuoted {
                        b'"'
                    } else {
                        b'\''
                    };
                    match memchr(quote, &buf[i..]) {
                        Some(n) => {
                            self.end_value(at(i + n));
                            self.state = State::AfterQuotedValue;
                            i += n + 1;
                        }
                        None => i = len,
                    }
                }
                State::Unquoted => {
                    i = find_class(buf, i, WS | GT);
                    if i >= len {
                        continue;
                    }
                    self.end_value(at(i));
                    if buf[i] == b'>' {
                        self.consumed = at(i + 1);
                        return Step::Done(i + 1);
                    }
                    self.state = State::BeforeAttrName;
                    i += 1;
                }
                State::AfterQuotedValue => match buf[i] {
                    b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' => {
                        self.state = State::BeforeAttrName;
                        i += 1;
                    }
                    b'/' => {
                        self.state = State::SelfClosing;
                        i += 1;
                    }
                    b'>' => {
                        self.consumed = at(i + 1);
                        return Step::Done(i + 1);
                    }
                    _ => self.state = State::BeforeAttrName,
                },
                State::SelfClosing => match buf[i] {
                    b'>' => {
                        self.self_closing = true;
                        self.consumed = at(i + 1);
                        return Step::Done(i + 1);
                    }
                    _ => self.state = State::BeforeAttrName,
                },
            }
        }
    }

    /// Skips to the end of a tag whose attributes nobody will look at: the common case, a tag
    /// without quotes, is one `memchr`.
    pub(crate) fn skip(&mut self, buf: &[u8], from: usize) -> Step {
        if matches!(self.state, State::BeforeAttrName | State::AfterAttrName) {
            let rest = &buf[from..];
            if let Some(n) = memchr::memchr3(b'>', b'"', b'\'', rest) {
                if rest[n] == b'>' {
                    // No quote before `>`: it closes the tag. Whether it is self-closing does
                    // not matter to tags nobody records.
                    self.consumed += n + 1;
                    return Step::Done(from + n + 1);
                }
            }
        }
        self.run(buf, from)
    }

    fn begin_attr(&mut self, at: usize) {
        if !self.record {
            return;
        }
        if self.attrs.len() >= MAX_ATTRS || at > u32::MAX as usize {
            self.attrs_overflow = true;
            return;
        }
        let at = at as u32;
        self.attrs.push(AttrSpan {
            name: (at, at),
            value: (at, at),
            quoted: false,
        });
    }

    fn end_name(&mut self, at: usize) {
        if let Some(attr) = self.current() {
            attr.name.1 = at as u32;
            attr.value = (at as u32, at as u32);
        }
    }

    fn begin_value(&mut self, at: usize, quoted: bool) {
        if let Some(attr) = self.current() {
            attr.value = (at as u32, at as u32);
            attr.quoted = quoted;
        }
    }

    fn end_value(&mut self, at: usize) {
        if let Some(attr) = self.current() {
            attr.value.1 = at as u32;
        }
    }

    /// The attribute being lexed, if it is recorded.
    fn current(&mut self) -> Option<&mut AttrSpan> {
        if !self.record || self.attrs_overflow {
            return None;
        }
        self.attrs.last_mut()
    }
}

/// Where a tag whose attributes nobody looks at ends: the index just past its `>`, when that is
/// in `buf`. `from` is just after the tag name. The tag states with the attribute boundaries
/// merged away (see [`SKIM`]): the same answer as [`TagLexer::run`], for a fraction of the
/// work. Names and unquoted values go a byte at a time through one table lookup each, with no
/// branch but the loop's; quoted values, the long runs, are jumped over.
pub(crate) fn end_of_tag(buf: &[u8], from: usize) -> Option<usize> {
    let mut state = skim::BETWEEN;
    let mut i = from;
    while let Some(&b) = buf.get(i) {
        state = SKIM[usize::from(state & 7)][usize::from(SKIM_KIND[usize::from(b)])];
        i += 1;
        if state >= skim::IN_DOUBLE {
            let quote = match state {
                skim::DONE => return Some(i),
                skim::IN_DOUBLE => b'"',
                _ => b'\'',
            };
            i = find_byte(quote, buf, i)? + 1;
            state = skim::BETWEEN;
        }
    }
    None
}

/// The states and byte kinds of [`end_of_tag`].
mod skim {
    /// Before an attribute name (also after a quoted value, or a `/`).
    pub(super) const BETWEEN: u8 = 0;
    /// In an attribute name, or after it: both go on the same way (white space, `=`, a new
    /// name), so the merged machine needs one state for them.
    pub(super) const NAME: u8 = 1;
    pub(super) const BEFORE_VALUE: u8 = 2;
    pub(super) const UNQUOTED: u8 = 3;
    /// Entered at an opening quote; the quoted value is jumped over.
    pub(super) const IN_DOUBLE: u8 = 4;
    pub(super) const IN_SINGLE: u8 = 5;
    pub(super) const DONE: u8 = 6;

    pub(super) const OTHER: u8 = 0;
    pub(super) const WS: u8 = 1;
    pub(super) const SLASH: u8 = 2;
    pub(super) const GT: u8 = 3;
    pub(super) const EQ: u8 = 4;
    pub(super) const DOUBLE: u8 = 5;
    pub(super) const SINGLE: u8 = 6;
}

static SKIM_KIND: [u8; 256] = {
    let mut kinds = [skim::OTHER; 256];
    kinds[b'\t' as usize] = skim::WS;
    kinds[b'\n' as usize] = skim::WS;
    kinds[0x0c] = skim::WS;
    kinds[b'\r' as usize] = skim::WS;
    kinds[b' ' as usize] = skim::WS;
    kinds[b'/' as usize] = skim::SLASH;
    kinds[b'>' as usize] = skim::GT;
    kinds[b'=' as usize] = skim::EQ;
    kinds[b'"' as usize] = skim::DOUBLE;
    kinds[b'\'' as usize] = skim::SINGLE;
    kinds
};

/// `SKIM[state][kind]`: the WHATWG attribute states with what only matters for recording
/// merged away. `=` before a name starts one; a quote in a name or unquoted value is part of
/// it; after a quoted value, as after `/`, comes whatever may start an attribute.
#[rustfmt::skip]
static SKIM: [[u8; 8]; 8] = {
    use skim::*;
    let mut next = [[DONE; 8]; 8];
    //                               OTHER     WS            SLASH     GT    EQ            DOUBLE     SINGLE     -
    next[BETWEEN as usize] =      [NAME,     BETWEEN,      BETWEEN,  DONE, NAME,         NAME,      NAME,      DONE];
    next[NAME as usize] =         [NAME,     NAME,         BETWEEN,  DONE, BEFORE_VALUE, NAME,      NAME,      DONE];
    next[BEFORE_VALUE as usize] = [UNQUOTED, BEFORE_VALUE, UNQUOTED, DONE, UNQUOTED,     IN_DOUBLE, IN_SINGLE, DONE];
    next[UNQUOTED as usize] =     [UNQUOTED, BETWEEN,      UNQUOTED, DONE, UNQUOTED,     UNQUOTED,  UNQUOTED,  DONE];
    next
};

/// How far [`TagLexer::run`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The tag name ended at `at` (the index of the byte after it, or of the `>`); `ends` when
    /// that byte is the tag's closing `>`, consumed.
    NameDone { at: usize, ends: bool },
    /// The tag ended just before this index.
    Done(usize),
    /// The buffer ended inside the tag.
    More,
}

/// Attribute lookups over a complete tag's bytes.
#[derive(Clone, Copy)]
pub(crate) struct TagView<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) attrs: &'a [AttrSpan],
}

impl<'a> TagView<'a> {
    fn slice(&self, (start, end): (u32, u32)) -> &'a [u8] {
        self.bytes.get(start as usize..end as usize).unwrap_or(b"")
    }

    pub(crate) fn attr_name(&self, attr: &AttrSpan) -> &'a [u8] {
        self.slice(attr.name)
    }

    pub(crate) fn attr_value(&self, attr: &AttrSpan) -> &'a [u8] {
        self.slice(attr.value)
    }

    /// The first attribute named `name` (lowercase), as browsers keep the first of duplicates.
    pub(crate) fn find(&self, name: &[u8]) -> Option<&'a AttrSpan> {
        self.attrs
            .iter()
            .find(|a| self.attr_name(a).eq_ignore_ascii_case(name))
    }

    /// The raw (not entity-decoded) value of the first attribute named `name`.
    pub(crate) fn get(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.get_all(name).next()
    }

    /// The raw values of every attribute named `name`, duplicates included: the parser keeps
    /// the first, but a browser's preload scanner may fetch a later one.
    pub(crate) fn get_all<'n>(&self, name: &'n [u8]) -> impl Iterator<Item = &'a [u8]> + 'n
    where
        'a: 'n,
    {
        let view = *self;
        self.attrs
            .iter()
            .filter(move |a| view.attr_name(a).eq_ignore_ascii_case(name))
            .map(move |a| view.attr_value(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(input: &str) -> (usize, Vec<(String, String)>, bool) {
        let mut lexer = TagLexer::new();
        lexer.start(false);
        let bytes = input.as_bytes();
        let mut i = 1;
        loop {
            match lexer.run(bytes, i) {
                Step::NameDone { at, ends } => {
                    lexer.set_record(true);
                    if ends {
                        return (at + 1, Vec::new(), false);
                    }
                    i = at;
                }
                Step::Done(end) => {
                    let view = TagView {
                        bytes,
                        attrs: lexer.attrs(),
                    };
                    let attrs = view
                        .attrs
                        .iter()
                        .map(|a| {
                            (
                                String::from_utf8_lossy(view.attr_name(a)).into_owned(),
                                String::from_utf8_lossy(view.attr_value(a)).into_owned(),
                            )
                        })
                        .collect();
                    return (end, attrs, lexer.self_closing);
                }
                Step::More => panic!("unterminated: {input}"),
            }
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn attributes_in_every_form() {
        let (end, attrs, _) = lex(r#"<img a=1 B="x>y" c='z"' d e = f g=>"#);
        assert_eq!(end, 35);
        assert_eq!(
            attrs,
            pairs(&[
                ("a", "1"),
                ("B", "x>y"),
                ("c", "z\""),
                ("d", ""),
                ("e", "f"),
                ("g", "")
            ])
        );
    }

    #[test]
    fn odd_but_valid_tokenizations() {
        // A quote inside an unquoted value or a name is an ordinary character.
        let (_, attrs, _) = lex(r#"<img a=b"c d"e=f'>"#);
        assert_eq!(attrs, pairs(&[("a", "b\"c"), ("d\"e", "f'")]));
        // Missing whitespace after a quoted value, `=` starting a name, `/` between attributes.
        let (_, attrs, closing) = lex(r#"<img a="1"b="2" =c/d/>"#);
        assert_eq!(
            attrs,
            pairs(&[("a", "1"), ("b", "2"), ("=c", ""), ("d", "")])
        );
        assert!(closing);
    }

    /// Where the lexer says a tag (starting with `<` and a name) ends.
    fn lexer_end(bytes: &[u8]) -> Option<usize> {
        let mut lexer = TagLexer::new();
        lexer.start(false);
        let mut step = lexer.run(bytes, 1);
        if let Step::NameDone { at, ends } = step {
            step = if ends {
                Step::Done(at + 1)
            } else {
                lexer.run(bytes, at)
            };
        }
        match step {
            Step::Done(end) => Some(end),
            _ => None,
        }
    }

    /// Where `end_of_tag` says it ends, called as the scanner calls it.
    fn skimmed_end(bytes: &[u8]) -> Option<usize> {
        let name_end = find_class(bytes, 1, WS | SLASH | GT);
        match bytes.get(name_end) {
            Some(b'>') => Some(name_end + 1),
            Some(_) => end_of_tag(bytes, name_end + 1),
            None => None,
        }
    }

    #[test]
    fn end_of_tag_agrees_with_the_lexer() {
        let cases = [
            r#"<a href="/x" title='a>b'>"#,
            r#"<a b=c=">" d>"#,
            r#"<a ="x>" y>"#,
            r#"<a b/="x>" y>"#,
            r#"<a b = "x>" y>"#,
            r#"<a b= c="x>" y>"#,
            r#"<a "b"="c>" d>"#,
            r#"<a b="1"c="2>3">"#,
            "<a b\n=\n'x>y'\n/>",
            "<a/b/c>",
            "<a b=>",
            "<a b='unterminated",
            r#"<a b=/"x>" c>"#,
            r#"<a b==">" c>"#,
        ];
        for case in cases {
            assert_eq!(
                skimmed_end(case.as_bytes()),
                lexer_end(case.as_bytes()),
                "{case}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn end_of_tag_agrees_with_the_lexer_on_any_tag(tail in "[ab=\"'/> \t\n]{0,24}") {
            let tag = format!("<a{tail}");
            proptest::prop_assert_eq!(skimmed_end(tag.as_bytes()), lexer_end(tag.as_bytes()), "{}", tag);
        }
    }

    #[test]
    fn resumes_at_every_byte() {
        let input = r#"<SCRIPT type="text/javascript" src='//x.test/a>b' async>"#;
        let whole = lex(input);
        for cut in 1..input.len() {
            let mut lexer = TagLexer::new();
            lexer.start(false);
            let mut bytes = input.as_bytes()[..cut].to_vec();
            let mut step = lexer.run(&bytes, 1);
            if let Step::NameDone { at, .. } = step {
                lexer.set_record(true);
                step = lexer.run(&bytes, at);
            }
            if step == Step::More {
                let from = bytes.len();
                bytes.extend_from_slice(&input.as_bytes()[cut..]);
                step = lexer.run(&bytes, from);
                if let Step::NameDone { at, .. } = step {
                    lexer.set_record(true);
                    step = lexer.run(&bytes, at);
                }
            }
            assert_eq!(step, Step::Done(whole.0), "cut at {cut}");
            assert_eq!(lexer.name(), b"script");
            let view = TagView {
                bytes: &bytes,
                attrs: lexer.attrs(),
            };
            assert_eq!(view.get(b"src"), Some(&b"//x.test/a>b"[..]), "cut at {cut}");
        }
    }
}
