//! The tokenizer subset: the WHATWG tokenizer states a browser with scripting enabled goes
//! through, with just enough of the tree builder to know which states it switches to (raw text
//! elements, foreign content, `<plaintext>`). Text is skipped with `memchr` jumps; only the tags
//! the rewriter acts on have their attributes recorded and their bytes held.
//!
//! Every state resumes at any byte, so chunk boundaries never change what is found.

use memchr::{memchr, memchr2};

use super::output::Out;
use super::rewrite::{self, Element, Policy, Verdict};
use super::tag::{self, Step, TagLexer, TagView};
use super::url::Base;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Data,
    /// After `<`.
    TagOpen,
    /// After `</`.
    EndTagOpen,
    /// After `<!`: how many bytes of `--` (1) or `[CDATA[` (2..=8) matched.
    MarkupOpen(u8),
    Tag,
    Comment(Comment),
    BogusComment,
    /// In a CDATA section, with how many `]` just seen.
    Cdata(u8),
    /// RAWTEXT or RCDATA: text until `</name`.
    Text(EndMatch),
    Script(Script),
    Plaintext,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Comment {
    Start,
    StartDash,
    Body,
    EndDash,
    End,
    EndBang,
}

/// Progress towards the end tag `</name` of a raw text element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EndMatch {
    name: &'static [u8],
    /// 0: in text; 1: after `<`; 2 + k: after `</` and k bytes of the name.
    progress: usize,
}

/// The script data states, with their escapes (`<!--` inside a script).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Script {
    Data,
    Lt,
    /// After `</` and this many bytes of `script`.
    EndName(usize),
    EscapeStart,
    EscapeStartDash,
    Escaped,
    EscapedDash,
    EscapedDashDash,
    EscapedLt,
    EscapedEndName(usize),
    /// After `<` and letters in an escaped script: whether they spell `script` so far, and
    /// how many.
    DoubleEscapeStart(bool, usize),
    DoubleEscaped,
    DoubleEscapedDash,
    DoubleEscapedDashDash,
    DoubleEscapedLt,
    DoubleEscapeEnd(bool, usize),
}

/// The open SVG and MathML elements: which tokenizer rules apply to the next tag.
#[derive(Clone, Copy, Debug)]
struct ForeignElement {
    name: [u8; 16],
    name_len: usize,
    namespace: Namespace,
    /// An element inside which markup is HTML again (`foreignObject`, `annotation-xml` with an
    /// HTML encoding; the MathML text elements for start tags).
    integration: Integration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Integration {
    None,
    Html,
    MathText,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Namespace {
    Svg,
    Math,
}

impl ForeignElement {
    fn is(&self, name: &[u8]) -> bool {
        &self.name[..self.name_len] == name
    }
}

/// Deepest foreign nesting tracked; deeper elements are treated as not nested further.
const MAX_FOREIGN_DEPTH: usize = 256;

/// What the start tag being lexed turns out to be, known once its name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    /// Nothing the scanner acts on.
    Plain,
    /// An HTML element the rewriter judges, and the state its content is read in.
    Judged(Element, After),
    /// An HTML element whose content is read in another state.
    Switches(After),
    /// `svg` or `math` in HTML content.
    EntersForeign(Namespace),
    /// An element in foreign content (pushed on the foreign stack unless self-closing).
    Foreign(Option<Element>),
    /// `<template>`: its content is not part of the document (a `<base>` there does not count).
    Template,
    /// `<head>`, after which Consent Mode's script goes.
    Head,
    /// `<html>` or `<body>`, while the banner waits: the input is a whole document.
    Document,
}

/// The state after a start tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    Data,
    Text(&'static [u8]),
    Script,
    NoScript,
    Plaintext,
}

/// An inline script held until its text is classified.
#[derive(Debug)]
struct InlineHold {
    /// Length of its start tag at the head of the held region.
    tag_len: usize,
    /// The tag to send if the text is clean (a site-authored script being switched on).
    switched_on: Option<Vec<u8>>,
}

/// The tokenizer of one document (or of the markup inside a `<noscript>`, as a browser
/// without scripting reads it).
#[derive(Debug)]
pub(crate) struct Scanner {
    state: State,
    lexer: TagLexer,
    pending: Pending,
    foreign: Vec<ForeignElement>,
    /// Scripting on: `<noscript>` is raw text, and its content is scanned again by `noscript`.
    scripting: bool,
    noscript: Option<Box<Scanner>>,
    /// Bytes of the current `<noscript>` content scanned so far.
    noscript_seen: usize,
    inline: Option<InlineHold>,
    /// The element being taken out reaches to its end tag.
    removing_content: bool,
    /// How many `<template>` elements are open.
    template_depth: usize,
    /// The current tag was already decided (it reached the tag bound).
    decided: bool,
    /// Where the current tag's `<` is in the chunk.
    tag_start: usize,
    /// Google Consent Mode's script, until it is inserted (after `<head>`, or before the first
    /// script of a page without one).
    pub(crate) injection: Option<Vec<u8>>,
    /// The banner (or the "Cookie settings" link), until it is inserted: before the first
    /// `</body>` outside a `<template>`, or at the end of a document without one.
    pub(crate) closing: Option<Vec<u8>>,
    /// Markup for right after the `<body>` start tag (the banner's skip link), until then.
    pub(crate) opening: Option<Vec<u8>>,
    /// An `<html>` or `<body>` start tag was seen: the input is a document, not a fragment
    /// (which gets no banner at its end).
    document: bool,
}

/// What scanning needs from the response: the visitor's policy, and the document's base.
pub(crate) struct Context<'p> {
    pub(crate) policy: &'p Policy<'p>,
    pub(crate) base: &'p mut Base,
    /// Where judged elements are listed, when someone asks (tests and audits).
    pub(crate) seen: Option<&'p mut Vec<Seen>>,
}

/// An element the scanner judged, as it found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) element: Element,
    /// `html`, `svg` or `math`: where the scanner placed it.
    pub(crate) namespace: &'static str,
    /// The tag name, ASCII-lowercased.
    pub(crate) name: Vec<u8>,
    /// Found in a `<noscript>`'s text, read as markup.
    pub(crate) in_noscript: bool,
    /// Every recorded attribute: lowercase name, entity-decoded value.
    pub(crate) attrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Context<'_> {
    fn note(
        &mut self,
        element: Element,
        namespace: &'static str,
        name: &[u8],
        in_noscript: bool,
        view: TagView<'_>,
    ) {
        let Some(seen) = self.seen.as_deref_mut() else {
            return;
        };
        seen.push(Seen {
            element,
            namespace,
            name: name.to_vec(),
            in_noscript,
            attrs: view
                .attrs
                .iter()
                .map(|a| {
                    (
                        view.attr_name(a).to_ascii_lowercase(),
                        super::entities::decode_attribute(view.attr_value(a)).into_owned(),
                    )
                })
                .collect(),
        });
    }
}

impl Scanner {
    pub(crate) fn new(scripting: bool) -> Self {
        Scanner {
            state: State::Data,
            lexer: TagLexer::new(),
            pending: Pending::Plain,
            foreign: Vec::new(),
            scripting,
            noscript: None,
            noscript_seen: 0,
            inline: None,
            removing_content: false,
            template_depth: 0,
            decided: false,
            tag_start: 0,
            injection: None,
            closing: None,
            opening: None,
            document: false,
        }
    }

    /// Start tags are read as HTML: no foreign element open, or the current one is an
    /// integration point.
    fn html_start_tags(&self, name: &[u8]) -> bool {
        match self.foreign.last() {
            None => true,
            Some(top) => match top.integration {
                Integration::None => false,
                Integration::Html => true,
                Integration::MathText => name != b"mglyph" && name != b"malignmark",
            },
        }
    }

    /// Scans `chunk[from..to]` of `out`.
    pub(crate) fn scan(&mut self, cx: &mut Context<'_>, out: &mut Out<'_>, from: usize, to: usize) {
        let chunk = out.chunk;
        let buf = &chunk[..to];
        let mut i = from;
        while i < to {
            match self.state {
                State::Data => {
                    let Some(lt) = tag::find_byte(b'<', buf, i) else {
                        i = to;
                        continue;
                    };
                    if let Some(end) = self.skim(cx, buf, lt) {
                        i = end;
                        continue;
                    }
                    self.tag_start = lt;
                    self.state = State::TagOpen;
                    i = lt + 1;
                }
                State::TagOpen => {
                    let b = buf[i];
                    if b.is_ascii_alphabetic() {
                        self.lexer.start(false);
                        self.state = State::Tag;
                        continue;
                    }
                    // `</` may begin the `</body>` the banner goes before: still held.
                    if out.holding() && !(b == b'/' && self.closing.is_some()) {
                        out.release();
                    }
                    match b {
                        b'/' => {
                            self.state = State::EndTagOpen;
                            i += 1;
                        }
                        b'!' => {
                            self.state = State::MarkupOpen(0);
                            i += 1;
                        }
                        b'?' => self.state = State::BogusComment,
                        _ => self.state = State::Data,
                    }
                }
                State::EndTagOpen => {
                    let b = buf[i];
                    if !b.is_ascii_alphabetic() && out.holding() {
                        out.release();
                    }
                    if b.is_ascii_alphabetic() {
                        self.lexer.start(true);
                        self.state = State::Tag;
                    } else if b == b'>' {
                        self.state = State::Data;
                        i += 1;
                    } else {
                        self.state = State::BogusComment;
                    }
                }
                State::MarkupOpen(matched) => {
                    i = self.markup_open(buf, i, matched);
                }
                State::Tag => {
                    i = self.tag(cx, out, buf, i);
                }
                State::Comment(comment) => {
                    i = self.comment(buf, i, comment);
                }
                State::BogusComment => match memchr(b'>', &buf[i..]) {
                    Some(n) => {
                        self.state = State::Data;
                        i += n + 1;
                    }
                    None => i = to,
                },
                State::Cdata(brackets) => {
                    i = self.cdata(buf, i, brackets);
                }
                State::Text(end) => {
                    i = self.text(cx, out, buf, i, end);
                }
                State::Script(script) => {
                    i = self.script(cx, out, buf, i, script);
                }
                State::Plaintext => i = to,
            }
        }
        // A start tag whose name is cut by the end of the chunk may be one the rewriter
        // changes: its bytes so far are held until the name is known.
        let name_pending = self.state == State::TagOpen
            || (self.state == State::Tag
                && !self.lexer.name_complete()
                && self.name_could_matter())
            || (self.state == State::EndTagOpen && self.closing.is_some());
        if to == chunk.len() && name_pending && !out.holding() {
            out.hold(self.tag_start);
        }
    }

    /// The common case taken whole: a tag that lies in `buf` and that nothing depends on (an end
    /// tag, or a start tag the rewriter does not judge and that switches no state, outside
    /// foreign content). Returns the index past its `>`; `None` leaves it to the state machine.
    ///
    /// An element that only loads URLs (an image, a source, a link, ...) is skimmed too when
    /// relative URLs can only name the page's own host (no rule for it, no `<base>`, and
    /// judged elements are not being listed) and nothing in its tag can make a URL name
    /// another host: no `:` (a scheme, or `&colon;`), no `//`, no `\`, no `&` (an entity
    /// could spell any of them), and no tab or line break (which URL parsing removes, joining
    /// what they separate).
    #[inline]
    fn skim(&self, cx: &Context<'_>, buf: &[u8], lt: usize) -> Option<usize> {
        if !self.foreign.is_empty() {
            return None;
        }
        if let Some(end) = tiny_tag(buf, lt) {
            return Some(end);
        }
        let next = *buf.get(lt + 1)?;
        if next == b'/' {
            // Inside a `<template>`, `</template>` must be seen.
            if self.template_depth > 0 || !buf.get(lt + 2)?.is_ascii_alphabetic() {
                return None;
            }
            // `</body>` is where the banner goes, while it waits.
            if self.closing.is_some()
                && buf
                    .get(lt + 2..lt + 6)
                    .is_none_or(|name| name.eq_ignore_ascii_case(b"body"))
            {
                return None;
            }
            let rest = buf.get(lt + 3..)?;
            let near = rest.len().min(16);
            let n = match rest[..near]
                .iter()
                .position(|b| matches!(b, b'>' | b'"' | b'\''))
            {
                Some(n) => n,
                None => near + memchr::memchr3(b'>', b'"', b'\'', &rest[near..])?,
            };
            return (rest[n] == b'>').then_some(lt + 3 + n + 1);
        }
        if !next.is_ascii_alphabetic() {
            return None;
        }
        let name_end = tag::find_class(buf, lt + 1, tag::WS | tag::SLASH | tag::GT);
        let delimiter = *buf.get(name_end)?;
        let name = &buf[lt + 1..name_end];
        // Only names of 3 to 9 letters can matter (see `html_pending`).
        if (3..=9).contains(&name.len()) {
            let mut lower = [0u8; 9];
            for (l, b) in lower.iter_mut().zip(name) {
                *l = b.to_ascii_lowercase();
            }
            match self.html_pending(&lower[..name.len()]) {
                Pending::Plain => {}
                Pending::Judged(
                    Element::Img
                    | Element::Source
                    | Element::Link
                    | Element::Input
                    | Element::Media
                    | Element::Embed
                    | Element::Object,
                    After::Data,
                ) if relative_is_own(cx) => {
                    let end = match delimiter {
                        b'>' => name_end + 1,
                        _ => tag::end_of_tag(buf, name_end + 1)?,
                    };
                    return loads_only_relative_urls(&buf[lt..end]).then_some(end);
                }
                _ => return None,
            }
        }
        if delimiter == b'>' {
            return Some(name_end + 1);
        }
        tag::end_of_tag(buf, name_end + 1)
    }

    fn markup_open(&mut self, buf: &[u8], i: usize, matched: u8) -> usize {
        const CDATA: &[u8] = b"[CDATA[";
        let b = buf[i];
        match matched {
            0 if b == b'-' => self.state = State::MarkupOpen(1),
            1 if b == b'-' => self.state = State::Comment(Comment::Start),
            // CDATA only where the current node is foreign; at an integration point an HTML
            // element may be open inside, where `<![CDATA[` is a bogus comment ending at `>`:
            // read as such, which is the strict side (less is skipped).
            0 if b == b'['
                && self
                    .foreign
                    .last()
                    .is_some_and(|top| top.integration == Integration::None) =>
            {
                self.state = State::MarkupOpen(3)
            }
            m if m >= 3 && CDATA.get(usize::from(m) - 2) == Some(&b) => {
                self.state = if usize::from(m) - 1 == CDATA.len() {
                    State::Cdata(0)
                } else {
                    State::MarkupOpen(m + 1)
                };
            }
            _ => {
                // Reconsumed in the bogus comment, which only looks for `>`.
                self.state = State::BogusComment;
                return i;
            }
        }
        i + 1
    }

    fn comment(&mut self, buf: &[u8], mut i: usize, mut state: Comment) -> usize {
        while i < buf.len() {
            if state == Comment::Body {
                match memchr(b'-', &buf[i..]) {
                    Some(n) => {
                        i += n + 1;
                        state = Comment::EndDash;
                        continue;
                    }
                    None => {
                        i = buf.len();
                        break;
                    }
                }
            }
            state = match (state, buf[i]) {
                (Comment::Start | Comment::StartDash | Comment::End | Comment::EndBang, b'>') => {
                    self.state = State::Data;
                    return i + 1;
                }
                (Comment::Start, b'-') => Comment::StartDash,
                (Comment::StartDash | Comment::EndDash | Comment::End, b'-') => Comment::End,
                (Comment::End, b'!') => Comment::EndBang,
                (Comment::EndBang, b'-') => Comment::EndDash,
                _ => {
                    // Reconsumed in the comment body.
                    state = Comment::Body;
                    continue;
                }
            };
            i += 1;
        }
        self.state = State::Comment(state);
        i
    }

    fn cdata(&mut self, buf: &[u8], mut i: usize, mut brackets: u8) -> usize {
        while i < buf.len() {
            if brackets == 0 {
                match memchr(b']', &buf[i..]) {
                    Some(n) => {
                        i += n + 1;
                        brackets = 1;
                    }
                    None => {
                        i = buf.len();
                        break;
                    }
                }
                continue;
            }
            match buf[i] {
                b']' => brackets = 2,
                b'>' if brackets == 2 => {
                    self.state = State::Data;
                    return i + 1;
                }
                _ => brackets = 0,
            }
            i += 1;
        }
        self.state = State::Cdata(brackets);
        i
    }
}

/// The end of the commonest tags of a page, `<p>`, `</a>`, `<h2>`, `</li>`: a name of one or
/// two letters or digits (the first a letter) closed at once, start or end tag. No such name
/// is one the rewriter judges, switches state on, or waits for (`</template>`, `</body>`), so
/// outside foreign content they are skipped without a closer look.
#[inline]
fn tiny_tag(buf: &[u8], lt: usize) -> Option<usize> {
    let name = match buf.get(lt + 1)? {
        b'/' => lt + 2,
        _ => lt + 1,
    };
    if !buf.get(name)?.is_ascii_alphabetic() {
        return None;
    }
    match *buf.get(name + 1)? {
        b'>' => Some(name + 2),
        b if b.is_ascii_alphanumeric() => (*buf.get(name + 2)? == b'>').then_some(name + 3),
        _ => None,
    }
}

/// Whether a relative URL can only name the page's own host, which no rule speaks of: see
/// [`Scanner::skim`].
fn relative_is_own(cx: &Context<'_>) -> bool {
    cx.seen.is_none() && !cx.base.names_a_host() && !cx.policy.trackers.has_own_host_rules()
}

/// Whether nothing in a tag's bytes can make one of its URLs name a host: see
/// [`Scanner::skim`]. A branch-free pass over a byte table, then the few slashes: cheaper than
/// a byte loop that branches, eight-byte words, or several `memchr` passes (all three tried).
/// Flagging more than needed (vertical tab) only sends the tag to be judged.
fn loads_only_relative_urls(tag: &[u8]) -> bool {
    const HOST_HINTS: [u8; 256] = {
        let mut table = [0; 256];
        let mut hints: &[u8] = b":\\&\t\n\x0b\x0c\r";
        while let [b, rest @ ..] = hints {
            table[*b as usize] = 1;
            hints = rest;
        }
        table
    };
    tag.iter()
        .fold(0, |hints, b| hints | HOST_HINTS[usize::from(*b)])
        == 0
        && memchr::memchr_iter(b'/', tag).all(|at| tag.get(at + 1) != Some(&b'/'))
}

fn is_delimiter(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>')
}

/// HTML start tags that end foreign content (the "breakout" list of the tree builder).
fn breaks_out_of_foreign(name: &[u8]) -> bool {
    matches!(
        name,
        b"b" | b"big"
            | b"blockquote"
            | b"body"
            | b"br"
            | b"center"
            | b"code"
            | b"dd"
            | b"div"
            | b"dl"
            | b"dt"
            | b"em"
            | b"embed"
            | b"h1"
            | b"h2"
            | b"h3"
            | b"h4"
            | b"h5"
            | b"h6"
            | b"head"
            | b"hr"
            | b"i"
            | b"img"
            | b"li"
            | b"listing"
            | b"menu"
            | b"meta"
            | b"nobr"
            | b"ol"
            | b"p"
            | b"pre"
            | b"ruby"
            | b"s"
            | b"small"
            | b"span"
            | b"strong"
            | b"strike"
            | b"sub"
            | b"sup"
            | b"table"
            | b"tt"
            | b"u"
            | b"ul"
            | b"var"
    )
}

/// End tags that leave foreign content whatever is open: `</p>` and `</br>` (the tree builder's
/// special case). Any other end tag that names no open foreign element leaves the scanner in
/// foreign content: the browser may have left it (the tag closed an HTML element around the
/// `<svg>`), but staying is the strict side, since foreign content switches no element to raw
/// text and every element that loads something is judged in it too.
fn closes_foreign(name: &[u8]) -> bool {
    matches!(name, b"p" | b"br")
}

/// The element names raw text states end on, as `'static` slices.
fn raw_text_name(name: &[u8]) -> Option<&'static [u8]> {
    Some(match name {
        b"style" => b"style",
        b"xmp" => b"xmp",
        b"iframe" => b"iframe",
        b"noembed" => b"noembed",
        b"noframes" => b"noframes",
        b"title" => b"title",
        b"textarea" => b"textarea",
        _ => return None,
    })
}

impl Scanner {
    /// What a start tag is, from its name and where it stands.
    fn classify_start(&mut self, name: &[u8]) -> Pending {
        if let Some(top) = self.foreign.last() {
            let svg_in_annotation = top.is(b"annotation-xml") && name == b"svg";
            if !self.html_start_tags(name) && !svg_in_annotation {
                if name == b"font" {
                    return Pending::Foreign(Some(Element::Font));
                }
                if breaks_out_of_foreign(name) {
                    self.pop_to_integration_point();
                    return self.classify_start(name);
                }
                let element = match (top.namespace, name) {
                    (_, b"script") => Some(Element::SvgScript),
                    (Namespace::Svg, b"image") => Some(Element::SvgImage),
                    (Namespace::Math, b"annotation-xml") => Some(Element::AnnotationXml),
                    // Foreign elements that load nothing, judged all the same: if the scanner
                    // misreads where foreign content ends, the browser may see HTML ones.
                    (_, b"iframe" | b"frame") => Some(Element::Frame),
                    (_, b"img") => Some(Element::Img),
                    (_, b"embed") => Some(Element::Embed),
                    (_, b"object") => Some(Element::Object),
                    (_, b"link") => Some(Element::Link),
                    (_, b"source") => Some(Element::Source),
                    _ => None,
                };
                return Pending::Foreign(element);
            }
        }
        self.html_pending(name)
    }

    /// What a start tag is in HTML content.
    fn html_pending(&self, name: &[u8]) -> Pending {
        // Every name that matters has 3 to 9 letters; most tags of a page (`a`, `p`, `li`, `td`,
        // `em`, ...) have fewer.
        if !(3..=9).contains(&name.len()) {
            return Pending::Plain;
        }
        match name {
            b"svg" => Pending::EntersForeign(Namespace::Svg),
            b"math" => Pending::EntersForeign(Namespace::Math),
            b"script" if self.scripting => Pending::Judged(Element::Script, After::Script),
            b"script" => Pending::Switches(After::Script),
            b"iframe" => Pending::Judged(Element::Frame, After::Text(b"iframe")),
            b"frame" => Pending::Judged(Element::Frame, After::Data),
            b"img" | b"image" => Pending::Judged(Element::Img, After::Data),
            b"embed" => Pending::Judged(Element::Embed, After::Data),
            b"object" => Pending::Judged(Element::Object, After::Data),
            b"link" => Pending::Judged(Element::Link, After::Data),
            b"source" => Pending::Judged(Element::Source, After::Data),
            b"input" => Pending::Judged(Element::Input, After::Data),
            b"video" | b"audio" | b"track" => Pending::Judged(Element::Media, After::Data),
            b"base" => Pending::Judged(Element::Base, After::Data),
            b"template" => Pending::Template,
            b"head" if self.injection.is_some() => Pending::Head,
            b"html" | b"body" if self.closing.is_some() || self.opening.is_some() => {
                Pending::Document
            }
            b"noscript" if self.scripting => Pending::Switches(After::NoScript),
            b"plaintext" => Pending::Switches(After::Plaintext),
            _ => match raw_text_name(name) {
                Some(text) => Pending::Switches(After::Text(text)),
                None => Pending::Plain,
            },
        }
    }

    fn pop_to_integration_point(&mut self) {
        while let Some(top) = self.foreign.last() {
            if top.integration != Integration::None {
                break;
            }
            self.foreign.pop();
        }
    }

    fn push_foreign(&mut self, name: &[u8], namespace: Namespace, integration: Integration) {
        if self.foreign.len() >= MAX_FOREIGN_DEPTH {
            return;
        }
        let mut element = ForeignElement {
            name: [0; 16],
            name_len: name.len().min(16),
            namespace,
            integration,
        };
        element.name[..element.name_len].copy_from_slice(&name[..element.name_len]);
        self.foreign.push(element);
    }

    /// Lexes the tag in progress.
    fn tag(&mut self, cx: &mut Context<'_>, out: &mut Out<'_>, buf: &[u8], i: usize) -> usize {
        if !self.lexer.name_complete() {
            return match self.lexer.run(buf, i) {
                Step::NameDone { at, ends } => {
                    self.on_name(out);
                    if ends {
                        self.tag_end(cx, out, at + 1)
                    } else {
                        at
                    }
                }
                Step::Done(end) => self.tag_end(cx, out, end),
                Step::More => {
                    // A name longer than any that matters is not worth holding.
                    if out.holding() && !self.name_could_matter() {
                        out.release();
                    }
                    buf.len()
                }
            };
        }
        if !out.holding() {
            // The fast skip does not tell `<svg/>` from `<svg>`; in foreign content that
            // decides whether an element opens.
            let self_closing_matters = !self.lexer.end_tag
                && matches!(
                    self.pending,
                    Pending::EntersForeign(_) | Pending::Foreign(_)
                );
            let step = if self_closing_matters {
                self.lexer.run(buf, i)
            } else {
                self.lexer.skip(buf, i)
            };
            return match step {
                Step::Done(end) | Step::NameDone { at: end, .. } => self.tag_end(cx, out, end),
                Step::More => buf.len(),
            };
        }
        // A held tag is read no further than the tag bound: past it, it is decided on what
        // was seen, at the same byte however the body is cut into chunks.
        let room = cx.policy.limits.max_tag.saturating_sub(out.held_len(i));
        let stop = i.saturating_add(room).min(buf.len());
        match self.lexer.run(&buf[..stop], i) {
            Step::Done(end) | Step::NameDone { at: end, .. } => self.tag_end(cx, out, end),
            Step::More if stop < buf.len() => {
                self.tag_overflow(cx, out, stop);
                stop
            }
            Step::More => buf.len(),
        }
    }

    /// Whether the tag name read so far may be one the scanner acts on: a start tag's of at
    /// most the longest such name, or `body` of an end tag while the banner waits for it.
    fn name_could_matter(&self) -> bool {
        if self.lexer.end_tag {
            // `name()` is empty past its cap, so the length is checked first.
            self.closing.is_some()
                && self.lexer.name_read() <= 4
                && b"body".starts_with(self.lexer.name())
        } else {
            self.lexer.name_could_matter()
        }
    }

    /// The tag name is known: decide whether its attributes matter.
    fn on_name(&mut self, out: &mut Out<'_>) {
        self.decided = false;
        if self.lexer.end_tag {
            let closes_body = self.lexer.name() == b"body" && self.template_depth == 0;
            match self.closing.take_if(|_| closes_body) {
                Some(markup) if out.holding() => {
                    out.insert_before_held(markup);
                    out.release();
                }
                Some(markup) => out.insert_at(self.tag_start, markup),
                None if out.holding() => out.release(),
                None => {}
            }
            return;
        }
        let mut name = [0u8; 16];
        let len = self.lexer.name().len();
        name[..len].copy_from_slice(self.lexer.name());
        self.pending = self.classify_start(&name[..len]);
        let record = matches!(
            self.pending,
            Pending::Judged(..) | Pending::Foreign(Some(_))
        );
        self.lexer.set_record(record);
        if record {
            if !out.holding() {
                out.hold(self.tag_start);
            }
        } else if out.holding() {
            out.release();
        }
    }
}

impl Scanner {
    /// A tag ended just before `end`.
    fn tag_end(&mut self, cx: &mut Context<'_>, out: &mut Out<'_>, end: usize) -> usize {
        self.state = State::Data;
        if self.lexer.end_tag {
            self.end_tag_done(out, end);
            return end;
        }
        match self.pending {
            Pending::Plain => {}
            Pending::Switches(after) => self.enter(after),
            Pending::EntersForeign(namespace) => {
                if !self.lexer.self_closing {
                    let name = if namespace == Namespace::Svg {
                        &b"svg"[..]
                    } else {
                        b"math"
                    };
                    self.push_foreign(name, namespace, Integration::None);
                }
            }
            Pending::Judged(element, after) => {
                if !self.decided {
                    self.judge(cx, out, element, "html", after, end);
                }
                self.enter(after);
            }
            Pending::Foreign(element) => self.foreign_start_tag(cx, out, element, end),
            Pending::Template => self.template_depth = self.template_depth.saturating_add(1),
            Pending::Document => {
                self.document = true;
                if self.lexer.name() == b"body" && self.template_depth == 0 {
                    if let Some(markup) = self.opening.take() {
                        out.insert_at(end, markup);
                    }
                }
            }
            Pending::Head => {
                if let Some(script) = self.injection.take() {
                    out.insert_at(end, script);
                }
            }
        }
        end
    }

    /// Applies the rewriter's verdict on a complete start tag, of an element in `namespace`.
    fn judge(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Out<'_>,
        element: Element,
        namespace: &'static str,
        after: After,
        end: usize,
    ) {
        let attrs_overflow = self.lexer.attrs_overflow;
        if element == Element::Script && namespace == "html" {
            // A page without `<head>`: Consent Mode's script goes before its first script.
            if let Some(script) = self.injection.take() {
                out.insert_before_held(script);
            }
        }
        let verdict = {
            let view = TagView {
                bytes: out.held(end),
                attrs: self.lexer.attrs(),
            };
            cx.note(element, namespace, self.lexer.name(), !self.scripting, view);
            if element == Element::Base {
                // The first `<base href>` of the document counts, in either view of a
                // `<noscript>` (a base only a browser without scripting sees is taken too: the
                // strict side), and not one inside a `<template>`.
                if let Some(href) = view.get(b"href") {
                    if !cx.base.is_set() && self.template_depth == 0 {
                        *cx.base =
                            Base::from_href(&super::entities::decode_attribute(href), cx.base);
                    }
                }
                Verdict::Keep
            } else if attrs_overflow {
                // More attributes than are recorded: the element may have any of them, so it
                // is made inert by attributes inserted first (the first of duplicates wins).
                let name_end = 1 + self.lexer.name().len();
                match rewrite::overflowing(element, view) {
                    Some(insert) => Verdict::Replace(splice(view.bytes, name_end, &insert)),
                    None => Verdict::Keep,
                }
            } else {
                cx.policy.decide(element, view, cx.base)
            }
        };
        match verdict {
            Verdict::Keep => out.release(),
            Verdict::Replace(bytes) => out.replace_held(end, &bytes),
            Verdict::Remove => {
                out.replace_held(end, b"");
                // A script's or frame's text goes with it, up to and including its end tag.
                if matches!(after, After::Script | After::Text(_)) {
                    out.start_drop(end);
                    self.removing_content = true;
                }
            }
            Verdict::Inline { switched_on } => {
                self.inline = Some(InlineHold {
                    tag_len: out.held_len(end),
                    switched_on,
                });
            }
        }
    }

    /// A held tag reached the tag bound at `at`: decided on the attributes complete there.
    fn tag_overflow(&mut self, cx: &mut Context<'_>, out: &mut Out<'_>, at: usize) {
        self.decided = true;
        let complete = self.lexer.complete_attrs();
        let verdict = {
            let view = TagView {
                bytes: out.held(at),
                attrs: &self.lexer.attrs()[..complete],
            };
            match self.pending {
                Pending::Judged(Element::Script, _) => rewrite::overflowing_script(view)
                    .map(|insert| splice(view.bytes, rewrite::SCRIPT_NAME_END, &insert)),
                Pending::Judged(element, _) | Pending::Foreign(Some(element)) => {
                    // Neutralised, not removed: the rest of the tag streams on.
                    let policy = Policy {
                        mode: rewrite::BlockMode::Neutralise,
                        ..*cx.policy
                    };
                    match policy.decide(element, view, cx.base) {
                        Verdict::Replace(bytes) => Some(bytes),
                        _ => None,
                    }
                }
                _ => None,
            }
        };
        match verdict {
            Some(bytes) => out.replace_held(at, &bytes),
            None => out.release(),
        }
        self.lexer.set_record(false);
    }

    fn foreign_start_tag(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Out<'_>,
        element: Option<Element>,
        end: usize,
    ) {
        let mut integration = Integration::None;
        let mut name = [0u8; 16];
        let len = self.lexer.name().len();
        name[..len].copy_from_slice(self.lexer.name());
        let name = &name[..len];
        match element {
            Some(Element::Font) => {
                let view = TagView {
                    bytes: out.held(end),
                    attrs: self.lexer.attrs(),
                };
                // Past the attribute cap `color` may be unseen: taken as breaking out.
                let breaks_out = self.lexer.attrs_overflow
                    || [&b"color"[..], b"face", b"size"]
                        .iter()
                        .any(|a| view.find(a).is_some());
                out.release();
                if breaks_out {
                    self.pop_to_integration_point();
                    return;
                }
            }
            Some(Element::AnnotationXml) => {
                let view = TagView {
                    bytes: out.held(end),
                    attrs: self.lexer.attrs(),
                };
                let encoding = view.get(b"encoding").map(super::entities::decode_attribute);
                if encoding.is_some_and(|e| {
                    e.eq_ignore_ascii_case(b"text/html")
                        || e.eq_ignore_ascii_case(b"application/xhtml+xml")
                }) {
                    integration = Integration::Html;
                }
                out.release();
            }
            Some(element) => {
                // Judged as in HTML content: whichever namespace the browser puts it in, it
                // loads nothing the visitor refused. Its content stays foreign markup.
                let after = After::Data;
                let namespace = match self.foreign.last().map(|top| top.namespace) {
                    Some(Namespace::Math) => "math",
                    _ => "svg",
                };
                if self.decided {
                    out.release();
                } else {
                    self.judge(cx, out, element, namespace, after, end);
                }
            }
            None => {}
        }
        if self.lexer.self_closing {
            return;
        }
        let Some(top) = self.foreign.last() else {
            return;
        };
        let namespace = top.namespace;
        if integration == Integration::None {
            integration = match (namespace, name) {
                (Namespace::Svg, b"foreignobject" | b"desc" | b"title") => Integration::Html,
                (Namespace::Math, b"mi" | b"mo" | b"mn" | b"ms" | b"mtext") => {
                    Integration::MathText
                }
                _ => Integration::None,
            };
        }
        self.push_foreign(name, namespace, integration);
    }

    fn end_tag_done(&mut self, out: &mut Out<'_>, end: usize) {
        if self.removing_content {
            out.end_drop(end);
            self.removing_content = false;
        }
        // A `</template>` in foreign content is a foreign end tag: it closes no template.
        if self.template_depth > 0 && self.foreign.is_empty() && self.lexer.name() == b"template" {
            self.template_depth -= 1;
        }
        if self.foreign.is_empty() {
            return;
        }
        let name = self.lexer.name();
        if let Some(found) = self.foreign.iter().rposition(|e| e.is(name)) {
            self.foreign.truncate(found);
        } else if self
            .foreign
            .last()
            .is_some_and(|top| top.integration == Integration::None)
            && closes_foreign(name)
        {
            self.foreign.clear();
        }
    }

    fn enter(&mut self, after: After) {
        self.state = match after {
            After::Data => State::Data,
            After::Text(name) => State::Text(EndMatch { name, progress: 0 }),
            After::Script => State::Script(Script::Data),
            After::NoScript => {
                self.noscript_seen = 0;
                match &mut self.noscript {
                    Some(inner) => inner.reset(),
                    None => self.noscript = Some(Box::new(Scanner::new(false))),
                }
                State::Text(EndMatch {
                    name: b"noscript",
                    progress: 0,
                })
            }
            After::Plaintext => State::Plaintext,
        };
    }

    fn reset(&mut self) {
        self.state = State::Data;
        self.template_depth = 0;
        self.foreign.clear();
        self.inline = None;
        self.removing_content = false;
    }
}

/// `bytes` with `insert` placed at `at`.
fn splice(bytes: &[u8], at: usize, insert: &[u8]) -> Vec<u8> {
    let at = at.min(bytes.len());
    let mut out = Vec::with_capacity(bytes.len() + insert.len());
    out.extend_from_slice(&bytes[..at]);
    out.extend_from_slice(insert);
    out.extend_from_slice(&bytes[at..]);
    out
}

impl Scanner {
    /// RAWTEXT and RCDATA: text up to `</name` and a delimiter. A `<noscript>`'s text is also
    /// scanned as markup, the way a browser without scripting reads it.
    fn text(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Out<'_>,
        buf: &[u8],
        mut i: usize,
        mut end: EndMatch,
    ) -> usize {
        let from = i;
        let name = end.name;
        let mut found = None;
        while i < buf.len() {
            match end.progress {
                0 => match memchr(b'<', &buf[i..]) {
                    Some(n) => {
                        i += n + 1;
                        end.progress = 1;
                    }
                    None => i = buf.len(),
                },
                1 if buf[i] == b'/' => {
                    end.progress = 2;
                    i += 1;
                }
                p if p >= 2 && p - 2 < name.len() && buf[i].to_ascii_lowercase() == name[p - 2] => {
                    end.progress += 1;
                    i += 1;
                }
                p if p >= 2 && p - 2 == name.len() && is_delimiter(buf[i]) => {
                    found = Some(i);
                    break;
                }
                // Not the end tag: reconsumed as text (it may start one).
                _ => end.progress = 0,
            }
        }
        if name == b"noscript" {
            let content_end =
                found.map_or(buf.len(), |d| d.saturating_sub(name.len() + 2).max(from));
            self.scan_noscript(cx, out, from, content_end, found.is_some());
        }
        match found {
            Some(d) => {
                self.lexer.start_matched_end_tag(name);
                self.state = State::Tag;
                d
            }
            None => {
                self.state = State::Text(end);
                buf.len()
            }
        }
    }

    /// Feeds a `<noscript>`'s text to the scanner that reads it as markup, within its bound.
    fn scan_noscript(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Out<'_>,
        from: usize,
        to: usize,
        ends: bool,
    ) {
        let Some(mut inner) = self.noscript.take() else {
            return;
        };
        let budget = cx
            .policy
            .limits
            .max_noscript
            .saturating_sub(self.noscript_seen);
        if budget > 0 {
            let stop = from + budget.min(to - from);
            if stop > from {
                // Neutralised, never removed: a removal could run past the `</noscript>`.
                let policy = Policy {
                    mode: rewrite::BlockMode::Neutralise,
                    ..*cx.policy
                };
                let mut inner_cx = Context {
                    policy: &policy,
                    base: &mut *cx.base,
                    seen: cx.seen.as_deref_mut(),
                };
                inner.scan(&mut inner_cx, out, from, stop);
            }
            if ends
                || stop < to
                || self.noscript_seen + (to - from) >= cx.policy.limits.max_noscript
            {
                inner.terminate(out);
            }
        }
        self.noscript_seen = self.noscript_seen.saturating_add(to - from);
        self.noscript = Some(inner);
    }

    /// The markup view of a `<noscript>` ends: whatever it holds goes out as it is.
    fn terminate(&mut self, out: &mut Out<'_>) {
        if out.holding() {
            out.release();
        }
        self.reset();
    }

    /// Script data: text up to `</script` and a delimiter, through the escaped states that
    /// `<!--` opens (where `<script>` nests a further level).
    fn script(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Out<'_>,
        buf: &[u8],
        mut i: usize,
        mut st: Script,
    ) -> usize {
        const NAME: &[u8] = b"script";
        let from = i;
        let mut found = None;
        while i < buf.len() {
            let b = buf[i];
            st = match st {
                Script::Data => match memchr(b'<', &buf[i..]) {
                    Some(n) => {
                        i += n + 1;
                        st = Script::Lt;
                        continue;
                    }
                    None => {
                        i = buf.len();
                        continue;
                    }
                },
                Script::Lt => match b {
                    b'/' => Script::EndName(0),
                    b'!' => Script::EscapeStart,
                    _ => {
                        st = Script::Data;
                        continue;
                    }
                },
                Script::EndName(k) | Script::EscapedEndName(k) => {
                    let escaped = matches!(st, Script::EscapedEndName(_));
                    if k == NAME.len() && is_delimiter(b) {
                        found = Some(i);
                        break;
                    }
                    if k < NAME.len() && b.to_ascii_lowercase() == NAME[k] {
                        if escaped {
                            Script::EscapedEndName(k + 1)
                        } else {
                            Script::EndName(k + 1)
                        }
                    } else {
                        st = if escaped {
                            Script::Escaped
                        } else {
                            Script::Data
                        };
                        continue;
                    }
                }
                Script::EscapeStart if b == b'-' => Script::EscapeStartDash,
                Script::EscapeStartDash if b == b'-' => Script::EscapedDashDash,
                Script::EscapeStart | Script::EscapeStartDash => {
                    st = Script::Data;
                    continue;
                }
                Script::Escaped | Script::DoubleEscaped => {
                    // Only a `-` (towards `-->`) or a `<` (towards a tag name) matters here.
                    match memchr2(b'-', b'<', &buf[i..]) {
                        Some(n) => {
                            let dash = buf[i + n] == b'-';
                            i += n + 1;
                            st = match (st == Script::DoubleEscaped, dash) {
                                (false, true) => Script::EscapedDash,
                                (false, false) => Script::EscapedLt,
                                (true, true) => Script::DoubleEscapedDash,
                                (true, false) => Script::DoubleEscapedLt,
                            };
                        }
                        None => i = buf.len(),
                    }
                    continue;
                }
                Script::EscapedDash | Script::EscapedDashDash => match b {
                    b'-' => Script::EscapedDashDash,
                    b'<' => Script::EscapedLt,
                    b'>' if st == Script::EscapedDashDash => Script::Data,
                    _ => Script::Escaped,
                },
                Script::EscapedLt => match b {
                    b'/' => Script::EscapedEndName(0),
                    _ if b.is_ascii_alphabetic() => {
                        st = Script::DoubleEscapeStart(true, 0);
                        continue;
                    }
                    _ => {
                        st = Script::Escaped;
                        continue;
                    }
                },
                Script::DoubleEscapeStart(spells, k) | Script::DoubleEscapeEnd(spells, k) => {
                    let starting = matches!(st, Script::DoubleEscapeStart(..));
                    if is_delimiter(b) {
                        let is_script = spells && k == NAME.len();
                        match (starting, is_script) {
                            (true, true) => Script::DoubleEscaped,
                            (true, false) => Script::Escaped,
                            (false, true) => Script::Escaped,
                            (false, false) => Script::DoubleEscaped,
                        }
                    } else if b.is_ascii_alphabetic() {
                        let spells = spells && k < NAME.len() && b.to_ascii_lowercase() == NAME[k];
                        let k = k.saturating_add(1);
                        if starting {
                            Script::DoubleEscapeStart(spells, k)
                        } else {
                            Script::DoubleEscapeEnd(spells, k)
                        }
                    } else {
                        st = if starting {
                            Script::Escaped
                        } else {
                            Script::DoubleEscaped
                        };
                        continue;
                    }
                }
                Script::DoubleEscapedDash | Script::DoubleEscapedDashDash => match b {
                    b'-' => Script::DoubleEscapedDashDash,
                    b'<' => Script::DoubleEscapedLt,
                    b'>' if st == Script::DoubleEscapedDashDash => Script::Data,
                    _ => Script::DoubleEscaped,
                },
                Script::DoubleEscapedLt => match b {
                    b'/' => Script::DoubleEscapeEnd(true, 0),
                    _ => {
                        st = Script::DoubleEscaped;
                        continue;
                    }
                },
            };
            i += 1;
        }
        if self.inline.is_some() {
            let content_end =
                found.map_or(buf.len(), |d| d.saturating_sub(NAME.len() + 2).max(from));
            self.classify_inline(cx, out, buf, from, content_end);
        }
        match found {
            Some(d) => {
                if self.inline.is_some() {
                    self.inline_clean(out);
                }
                self.lexer.start_matched_end_tag(NAME);
                self.state = State::Tag;
                d
            }
            None => {
                self.state = State::Script(st);
                buf.len()
            }
        }
    }

    /// Searches the held inline script's text in `buf[from..to]` (and across the boundary with
    /// the text before it) for signatures of categories the visitor has not allowed, within the
    /// script bound. Blocks the script when one is found or the bound is passed.
    fn classify_inline(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Out<'_>,
        buf: &[u8],
        from: usize,
        to: usize,
    ) {
        let Some(hold) = &self.inline else {
            return;
        };
        let limit = cx.policy.limits.max_script;
        let held_to = out.held_len(to);
        let over = held_to > limit;
        let within = if over {
            to.saturating_sub(held_to - limit).max(from)
        } else {
            to
        };
        let policy = cx.policy;
        let longest = policy.trackers.longest_signature();
        // The earliest-ending denied signature, by offset in the held region, so that the
        // category stamped on the script does not depend on where the chunks were cut.
        let mut first: Option<(usize, usize, usize)> = None;
        let mut consider = |found: Option<(usize, usize, usize)>| {
            if let Some(f) = found {
                if first.is_none_or(|current| f.0 < current.0) {
                    first = Some(f);
                }
            }
        };
        let carried = out.carry_bytes();
        let region_at = out.held_len(from);
        if from == out.hold_at() && carried.len() > hold.tag_len && longest > 1 {
            let tail_from = carried.len().saturating_sub(longest - 1).max(hold.tag_len);
            let mut seam = carried[tail_from..].to_vec();
            let tail_len = seam.len();
            seam.extend_from_slice(&buf[from..within.min(from + longest - 1)]);
            consider(
                policy
                    .trackers
                    .first_denied(&seam, policy.allowed)
                    .map(|(end, c, p)| (region_at - tail_len + end, c, p)),
            );
        }
        consider(
            policy
                .trackers
                .first_denied(&buf[from..within], policy.allowed)
                .map(|(end, c, p)| (region_at + end, c, p)),
        );
        match first {
            Some((_, category, pattern)) => {
                if let Some(findings) = policy.findings {
                    if let Some((text, found)) = policy.trackers.signature(pattern) {
                        findings.element.set("inline script");
                        findings.note(text.as_bytes(), category, Some(found.service));
                    }
                }
                let label = policy.category_name(category).to_owned();
                self.block_inline(cx, out, to, &label);
            }
            None if over => {
                if let Some(findings) = policy.findings {
                    findings.element.set("inline script");
                    findings.note(b"(too long to classify)", usize::MAX, None);
                }
                self.block_inline(cx, out, to, rewrite::UNKNOWN_CATEGORY)
            }
            None => {}
        }
    }

    /// The held inline script is blocked; its text so far reaches to `at`.
    fn block_inline(&mut self, cx: &mut Context<'_>, out: &mut Out<'_>, at: usize, category: &str) {
        let Some(hold) = self.inline.take() else {
            return;
        };
        if hold.switched_on.is_some() {
            // A site-authored blocked script stays as the site wrote it: off.
            out.release();
        } else if cx.policy.mode == rewrite::BlockMode::Remove {
            out.replace_held(at, b"");
            out.start_drop(at);
            self.removing_content = true;
        } else {
            out.splice_held(rewrite::SCRIPT_NAME_END, 0, &rewrite::insertion(category));
        }
    }

    /// The held inline script ended with no denied signature in it.
    fn inline_clean(&mut self, out: &mut Out<'_>) {
        let Some(hold) = self.inline.take() else {
            return;
        };
        match hold.switched_on {
            Some(tag) => out.splice_held(0, hold.tag_len, &tag),
            None => out.release(),
        }
    }

    /// The body ended: whatever is held goes out. A tag cut off by the end is dropped by
    /// browsers; a script cut off runs with the text it has, all of which was searched.
    pub(crate) fn finish(&mut self, out: &mut Out<'_>) {
        if self.inline.is_some() {
            self.inline_clean(out);
        }
        if let Some(inner) = &mut self.noscript {
            if matches!(
                self.state,
                State::Text(EndMatch {
                    name: b"noscript",
                    ..
                })
            ) {
                inner.terminate(out);
            }
        }
        if out.holding() {
            out.release();
        }
        // A document without `</body>`: the banner goes at its end, unless the end is inside
        // a script, raw text, a comment or a tag, where it would not be markup, or the input
        // is a fragment of a page (no `<html>` or `<body>`), which a script places in one.
        if let Some(markup) = self.closing.take() {
            if self.state == State::Data && self.template_depth == 0 && self.document {
                out.insert_at(out.chunk.len(), markup);
            } else {
                tracing::debug!(
                    document = self.document,
                    "tower-consent: the banner was not inserted: the body ended outside markup, or is a fragment"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The byte-by-byte statement of what `loads_only_relative_urls` tests.
    fn plainly(tag: &[u8]) -> bool {
        !tag.iter().any(|b| {
            matches!(
                b,
                b':' | b'\\' | b'&' | b'\t' | b'\n' | b'\x0b' | b'\r' | b'\x0c'
            )
        }) && !tag.windows(2).any(|pair| pair == b"//")
    }

    proptest! {
        #[test]
        fn relative_url_test_agrees_byte_by_byte(
            tag in proptest::collection::vec(
                prop_oneof![Just(b'/'), Just(b':'), Just(b'&'), Just(b'\t'), Just(b'\r'),
                    Just(b'\x0b'), Just(b'a'), Just(b'"'), any::<u8>()],
                0..40,
            )
        ) {
            prop_assert_eq!(loads_only_relative_urls(&tag), plainly(&tag));
        }
    }

    #[test]
    fn tiny_tags_are_names_of_one_or_two_closed_at_once() {
        let end = |tag: &str| tiny_tag(tag.as_bytes(), 0);
        assert_eq!(end("<p>text"), Some(3));
        assert_eq!(end("</li>"), Some(5));
        assert_eq!(end("<h2>"), Some(4));
        assert_eq!(end("</a><a>"), Some(4));
        for other in [
            "<a href=/>",
            "<abc>",
            "<2>",
            "</ >",
            "<p/>",
            "<h-2>",
            "</p",
            "<",
            "<!>",
        ] {
            assert_eq!(end(other), None, "{other}");
        }
    }

    #[test]
    fn a_slash_pair_across_words_is_seen() {
        for at in 0..17 {
            let mut tag = vec![b'a'; 18];
            tag[at] = b'/';
            assert!(loads_only_relative_urls(&tag));
            tag[at + 1] = b'/';
            assert!(!loads_only_relative_urls(&tag), "slashes at {at}");
        }
    }
}
