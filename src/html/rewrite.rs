//! What happens to an element the scanner found: kept, neutralised, removed, switched on, or
//! (inline scripts) held until its text is classified.

use crate::catalog::trackers::Trackers;
use crate::consent::{Categories, CategorySet};

use super::Limits;
use super::entities::decode_attribute;
use super::tag::{AttrSpan, TagView};
use super::url::{self, Base};

/// How an element the visitor has not allowed is blocked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockMode {
    /// Kept in the page but inert: a script gets `type="text/plain"`, a frame, image or link
    /// has its URL attribute renamed to `data-consent-…`. A client-side script can switch it
    /// on later, and the page keeps its layout.
    #[default]
    #[serde(alias = "neutralize")]
    Neutralise,
    /// Taken out of the page: the element (for a script or frame, its content and end tag too).
    Remove,
}

/// The category value stamped on a script the rewriter blocked without knowing its category:
/// a tag too long to read whole, or an inline script too long to classify.
pub(crate) const UNKNOWN_CATEGORY: &str = "unknown";

/// Elements the rewriter reads the attributes of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Element {
    Script,
    /// `iframe` and `frame`.
    Frame,
    /// `img`, and `image`, which the tree builder turns into `img`.
    Img,
    Embed,
    Object,
    Link,
    Source,
    /// `input` (with `type=image` it loads its `src`).
    Input,
    /// `video` and `audio`: `src`, and a video's `poster`.
    Media,
    Base,
    SvgScript,
    SvgImage,
    /// MathML `annotation-xml`: an HTML integration point depending on its `encoding`.
    AnnotationXml,
    /// `font` in foreign content breaks out of it only with `color`, `face` or `size`.
    Font,
}

/// What the visitor allowed and how to block the rest: fixed for one response.
#[derive(Debug)]
pub(crate) struct Policy<'a> {
    pub(crate) trackers: &'a Trackers,
    pub(crate) categories: &'a Categories,
    pub(crate) allowed: CategorySet,
    pub(crate) mode: BlockMode,
    /// Some inline signature belongs to a category the visitor has not allowed.
    pub(crate) hold_inline: bool,
    pub(crate) limits: Limits,
    /// How deep in `<iframe srcdoc>` documents this is.
    pub(crate) depth: u8,
    /// Where every blocking decision is written down, when someone audits a page.
    pub(crate) findings: Option<&'a Findings>,
}

/// A tracker the rewriter blocked: what loads it, from where, and the rule that knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) element: &'static str,
    pub(crate) source: String,
    pub(crate) category: usize,
    pub(crate) service: Option<String>,
}

/// The blocking decisions of one audited document.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    /// The element being decided.
    pub(crate) element: std::cell::Cell<&'static str>,
    pub(crate) found: std::cell::RefCell<Vec<Finding>>,
}

impl Findings {
    pub(crate) fn note(&self, source: &[u8], category: usize, service: Option<&str>) {
        self.found.borrow_mut().push(Finding {
            element: self.element.get(),
            source: String::from_utf8_lossy(source).into_owned(),
            category,
            service: service.map(str::to_owned),
        });
    }
}

impl Element {
    /// The element's name, as a finding reports it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Element::Script => "script",
            Element::Frame => "iframe",
            Element::Img => "img",
            Element::Embed => "embed",
            Element::Object => "object",
            Element::Link => "link",
            Element::Source => "source",
            Element::Input => "input",
            Element::Media => "video, audio or track",
            Element::Base => "base",
            Element::SvgScript => "svg script",
            Element::SvgImage => "svg image",
            Element::AnnotationXml => "annotation-xml",
            Element::Font => "font",
        }
    }
}

/// The deepest `srcdoc` document rewritten; one nested deeper is taken out whole.
const MAX_SRCDOC_DEPTH: u8 = 3;

/// The outcome for one start tag.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Keep,
    /// The start tag is replaced by these bytes.
    Replace(Vec<u8>),
    /// The element is taken out.
    Remove,
    /// An inline script, decided by its text. `switched_on` is the tag to send when no
    /// signature of a denied category is found (a site-authored blocked script being switched
    /// on); `None` keeps the tag as it is.
    Inline {
        switched_on: Option<Vec<u8>>,
    },
}

impl Policy<'_> {
    pub(crate) fn decide(&self, element: Element, tag: TagView<'_>, base: &Base) -> Verdict {
        if let Some(findings) = self.findings {
            findings.element.set(element.name());
        }
        match element {
            Element::Script => self.script(tag, base, &[b"src"], true),
            // An SVG script loads `href` (or `xlink:href`); `src` too, in case the scanner
            // misread where the SVG ends and the browser sees an HTML script. Its text is
            // markup to the parser, not held for classification.
            Element::SvgScript => self.script(tag, base, &[b"src", b"href", b"xlink:href"], false),
            Element::Frame => self.frame(tag, base),
            Element::Embed | Element::Input => self.by_urls(tag, base, &[b"src"], &[]),
            Element::Media => self.by_urls(tag, base, &[b"src", b"poster"], &[]),
            Element::Img | Element::Source => self.by_urls(tag, base, &[b"src"], &[b"srcset"]),
            Element::Object => self.by_urls(tag, base, &[b"data"], &[]),
            // Every link, whatever its `rel` (`preconnect`, `preload`, `stylesheet`, `icon`,
            // ...): one to a tracker's host is made inert.
            Element::Link => self.by_urls(tag, base, &[b"href"], &[b"imagesrcset"]),
            Element::SvgImage => self.by_urls(tag, base, &[b"href", b"xlink:href"], &[]),
            Element::Base | Element::AnnotationXml | Element::Font => Verdict::Keep,
        }
    }

    /// The category of a URL the visitor has not allowed.
    fn denied_url(&self, raw: &[u8], base: &Base) -> Option<usize> {
        let decoded = decode_attribute(raw);
        let target = url::resolve(&decoded, base)?;
        let found = self.trackers.classify_url(&target.host, &target.path)?;
        if self.allowed.contains(found.category) {
            return None;
        }
        if let Some(findings) = self.findings {
            findings.note(&decoded, found.category, Some(found.service));
        }
        Some(found.category)
    }

    /// The category of the first URL attribute (or `srcset`-like candidate) that points at a
    /// tracker the visitor has not allowed.
    fn denied_in(
        &self,
        tag: TagView<'_>,
        base: &Base,
        urls: &[&'static [u8]],
        srcsets: &[&'static [u8]],
    ) -> Option<usize> {
        let url_denied = urls
            .iter()
            .flat_map(|name| tag.get_all(name))
            .find_map(|value| self.denied_url(value, base));
        url_denied.or_else(|| {
            srcsets
                .iter()
                .flat_map(|name| tag.get_all(name))
                .find_map(|value| {
                    let decoded = decode_attribute(value);
                    srcset_urls(&decoded).find_map(|u| self.denied_url(u, base))
                })
        })
    }

    /// Frames, images, links: blocked when a URL attribute points at a denied tracker.
    fn by_urls(
        &self,
        tag: TagView<'_>,
        base: &Base,
        urls: &[&'static [u8]],
        srcsets: &[&'static [u8]],
    ) -> Verdict {
        match self.denied_in(tag, base, urls, srcsets) {
            None => Verdict::Keep,
            Some(_) if self.mode == BlockMode::Remove => Verdict::Remove,
            Some(category) => {
                let mut edit = TagEdit::new(tag);
                edit.insert_category(self.category_name(category));
                for name in urls.iter().chain(srcsets) {
                    edit.rename_all(name, b"data-consent-");
                }
                Verdict::Replace(edit.finish())
            }
        }
    }

    /// A frame: its `src` as any URL, and its `srcdoc` (a whole document in an attribute)
    /// rewritten like the page itself.
    fn frame(&self, tag: TagView<'_>, base: &Base) -> Verdict {
        let denied = self.denied_in(tag, base, &[b"src"], &[]);
        if denied.is_some() && self.mode == BlockMode::Remove {
            return Verdict::Remove;
        }
        let mut edit = TagEdit::new(tag);
        let mut changed = false;
        if let Some(category) = denied {
            edit.insert_category(self.category_name(category));
            edit.rename_all(b"src", b"data-consent-");
            changed = true;
        }
        if let Some(srcdoc) = tag.get(b"srcdoc") {
            let document = decode_attribute(srcdoc);
            if self.depth >= MAX_SRCDOC_DEPTH {
                // Too deep to follow: the document is kept out.
                edit.rename_all(b"srcdoc", b"data-consent-");
                changed = true;
            } else {
                let nested = Policy {
                    depth: self.depth + 1,
                    ..*self
                };
                let rewritten = super::rewrite_nested(&nested, base, &document);
                if rewritten != *document {
                    edit.replace_value(b"srcdoc", escape_attribute(&rewritten));
                    changed = true;
                }
            }
        }
        if changed {
            Verdict::Replace(edit.finish())
        } else {
            Verdict::Keep
        }
    }

    pub(crate) fn category_name(&self, index: usize) -> &str {
        self.categories
            .name(index)
            .map_or(UNKNOWN_CATEGORY, |c| c.as_str())
    }

    /// `classifiable`: an inline script's text can be held and searched for signatures.
    fn script(
        &self,
        tag: TagView<'_>,
        base: &Base,
        urls: &[&'static [u8]],
        classifiable: bool,
    ) -> Verdict {
        // A Consent Mode script from an earlier rewrite: a fresh one takes its place.
        if tag.find(super::consent_mode::MARKER).is_some() {
            return Verdict::Remove;
        }
        // Several `type`s: the parser reads the first, but Chromium's preload scanner reads the
        // last and may fetch the URL whatever the first says.
        if tag.get_all(b"type").nth(1).is_some() {
            if let Some(blocked) = self.block_denied_source(tag, base, urls) {
                return blocked;
            }
        }
        match script_type(tag) {
            ScriptType::JavaScript => self.live_script(tag, base, urls, classifiable),
            ScriptType::Blocked => {
                let Some(categories) = self.site_categories(tag) else {
                    return Verdict::Keep;
                };
                if !self.allowed.contains_all(categories) {
                    return Verdict::Keep;
                }
                let switched_on = switch_on(tag);
                let view = TagView {
                    bytes: &switched_on.bytes,
                    attrs: &switched_on.attrs,
                };
                // Judged again as the live script it becomes: a site's label does not let a
                // tracker of a category the visitor refused through.
                match self.live_script(view, base, urls, classifiable) {
                    Verdict::Keep => Verdict::Replace(switched_on.bytes),
                    Verdict::Inline { switched_on: _ } => Verdict::Inline {
                        switched_on: Some(switched_on.bytes),
                    },
                    _ => Verdict::Keep,
                }
            }
            ScriptType::Other => Verdict::Keep,
        }
    }

    /// A script that runs as it is, loading the first of `urls` it has.
    fn live_script(
        &self,
        tag: TagView<'_>,
        base: &Base,
        urls: &[&'static [u8]],
        classifiable: bool,
    ) -> Verdict {
        if let Some(blocked) = self.block_denied_source(tag, base, urls) {
            return blocked;
        }
        let external = urls.iter().any(|name| tag.find(name).is_some());
        match (external, self.hold_inline, classifiable) {
            (false, true, true) => Verdict::Inline { switched_on: None },
            // Text that cannot be classified, of a visitor who has not allowed everything
            // signatures find: made inert (the strict side).
            (false, true, false) => {
                Verdict::Replace(neutralise_script(tag.bytes, UNKNOWN_CATEGORY))
            }
            _ => Verdict::Keep,
        }
    }

    /// A script whose URL (any of `urls`, duplicates included) a refused tracker serves:
    /// removed, or written as a blocked script (see [`block_external_script`]).
    fn block_denied_source(
        &self,
        tag: TagView<'_>,
        base: &Base,
        urls: &[&'static [u8]],
    ) -> Option<Verdict> {
        let category = urls
            .iter()
            .flat_map(|name| tag.get_all(name))
            .find_map(|url| self.denied_url(url, base))?;
        Some(match self.mode {
            BlockMode::Remove => Verdict::Remove,
            BlockMode::Neutralise => Verdict::Replace(block_external_script(
                tag,
                urls,
                self.category_name(category),
            )),
        })
    }

    /// The categories a site-authored blocked script names, if it names any, all known.
    fn site_categories(&self, tag: TagView<'_>) -> Option<CategorySet> {
        let value = [
            &b"data-consent-category"[..],
            b"data-category",
            b"data-cookieconsent",
        ]
        .iter()
        .find_map(|name| tag.get(name))?;
        let value = decode_attribute(value);
        let mut set = CategorySet::EMPTY;
        let mut named = false;
        for name in value
            .split(|b| *b == b',' || b.is_ascii_whitespace())
            .filter(|n| !n.is_empty())
        {
            let name = name.to_ascii_lowercase();
            // Cookiebot's name for analytics.
            let name: &[u8] = if name == b"statistics" {
                b"analytics"
            } else {
                &name
            };
            // A category this layer does not have can never be allowed: the script stays off.
            let index = self.categories.index_of_bytes(name)?;
            set = set.with(index);
            named = true;
        }
        named.then_some(set)
    }
}

/// `<script` + this, inserted right after the tag name, makes a script inert: browsers keep
/// the first of duplicate attributes, so the script's own `type` further on is ignored.
pub(crate) fn insertion(category: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 + category.len());
    out.extend_from_slice(b" type=\"text/plain\" data-consent-category=\"");
    out.extend_from_slice(category.as_bytes());
    out.push(b'"');
    out
}

/// An external script of a refused category, written as a site writes a script it blocks
/// itself (see [`switch_on`]): `type="text/plain"` and its category first, its own `type`s
/// renamed `data-consent-type` and its URLs `data-consent-src` (and so on). The first `type`
/// alone keeps the parser from running it, but not a browser's preload scanner from fetching
/// its URL: Chromium's honours a later `type="text/javascript"`.
fn block_external_script(tag: TagView<'_>, urls: &[&'static [u8]], category: &str) -> Vec<u8> {
    let mut edit = TagEdit::new(tag);
    edit.insert_raw(&insertion(category));
    for name in urls.iter().chain([&&b"type"[..]]) {
        edit.rename_all(name, b"data-consent-");
    }
    edit.finish()
}

/// Length of `<script`: where [`insertion`] goes.
pub(crate) const SCRIPT_NAME_END: usize = 7;

fn neutralise_script(tag: &[u8], category: &str) -> Vec<u8> {
    let split = SCRIPT_NAME_END.min(tag.len());
    let insert = insertion(category);
    let mut out = Vec::with_capacity(tag.len() + insert.len());
    out.extend_from_slice(&tag[..split]);
    out.extend_from_slice(&insert);
    out.extend_from_slice(&tag[split..]);
    out
}

/// An element with more attributes than the lexer records: made inert by attributes inserted
/// right after its name, which win over any later duplicate, unless it already is.
pub(crate) fn overflowing(element: Element, seen: TagView<'_>) -> Option<Vec<u8>> {
    let neutralised = seen.attrs.first().is_some_and(|first| {
        seen.attr_name(first)
            .eq_ignore_ascii_case(b"data-consent-category")
    });
    let blank: &[u8] = match element {
        Element::Script | Element::SvgScript => return overflowing_script(seen),
        _ if neutralised => return None,
        Element::Frame | Element::Embed | Element::Input => b" src=\"about:blank\"",
        Element::Media => b" src=\"data:,\" poster=\"data:,\"",
        Element::Img | Element::Source => b" src=\"data:,\" srcset=\"data:,\"",
        Element::Object => b" data=\"data:,\"",
        Element::Link => b" href=\"data:,\"",
        Element::SvgImage => b" href=\"data:,\" xlink:href=\"data:,\"",
        Element::Base | Element::AnnotationXml | Element::Font => return None,
    };
    let mut insert = format!(" data-consent-category=\"{UNKNOWN_CATEGORY}\"").into_bytes();
    insert.extend_from_slice(blank);
    Some(insert)
}

/// A tag too long to read whole (its first bytes are `seen`, with the attributes complete
/// there): a script is made inert unless it already is; anything else passes unchanged.
pub(crate) fn overflowing_script(seen: TagView<'_>) -> Option<Vec<u8>> {
    let inert_already = seen.attrs.first().is_some_and(|first| {
        seen.attr_name(first).eq_ignore_ascii_case(b"type")
            && decode_attribute(seen.attr_value(first))
                .trim_ascii()
                .eq_ignore_ascii_case(b"text/plain")
    });
    (!inert_already).then(|| insertion(UNKNOWN_CATEGORY))
}

enum ScriptType {
    JavaScript,
    /// `text/plain`: the way sites and consent managers write a script meant to be switched on.
    Blocked,
    /// JSON, templates, import maps and anything else a browser does not run.
    Other,
}

/// Reads a script's type as the HTML spec does, erring towards "JavaScript" for a type with
/// parameters (a browser may or may not run it; blocking it is the safe side).
fn script_type(tag: TagView<'_>) -> ScriptType {
    let type_value = match tag.get(b"type") {
        Some(value) => decode_attribute(value).into_owned(),
        None => match tag.get(b"language") {
            Some(language) if !language.is_empty() => {
                let mut t = b"text/".to_vec();
                t.extend_from_slice(&decode_attribute(language));
                t
            }
            _ => return ScriptType::JavaScript,
        },
    };
    let value = type_value.trim_ascii();
    if value.is_empty() || value.eq_ignore_ascii_case(b"module") {
        return ScriptType::JavaScript;
    }
    let essence = value
        .split(|b| *b == b';')
        .next()
        .unwrap_or(value)
        .trim_ascii();
    if is_javascript_mime(essence) {
        ScriptType::JavaScript
    } else if essence.eq_ignore_ascii_case(b"text/plain") {
        ScriptType::Blocked
    } else {
        ScriptType::Other
    }
}

fn is_javascript_mime(essence: &[u8]) -> bool {
    const TYPES: &[&[u8]] = &[
        b"application/ecmascript",
        b"application/javascript",
        b"application/x-ecmascript",
        b"application/x-javascript",
        b"text/ecmascript",
        b"text/javascript",
        b"text/javascript1.0",
        b"text/javascript1.1",
        b"text/javascript1.2",
        b"text/javascript1.3",
        b"text/javascript1.4",
        b"text/javascript1.5",
        b"text/jscript",
        b"text/livescript",
        b"text/x-ecmascript",
        b"text/x-javascript",
        // Partytown runs these in a worker: scripts all the same.
        b"text/partytown",
    ];
    TYPES.iter().any(|t| t.eq_ignore_ascii_case(essence))
}

/// A rebuilt tag with its attribute spans, so it can be judged like one read from the page.
struct Rebuilt {
    bytes: Vec<u8>,
    attrs: Vec<AttrSpan>,
}

/// A site-authored blocked script as it runs: every `type` dropped (the one from
/// `data-consent-type` written first), `data-consent-src` or `data-src` made `src`.
fn switch_on(tag: TagView<'_>) -> Rebuilt {
    let mut edit = TagEdit::new(tag);
    if let Some(original) = tag.get(b"data-consent-type") {
        let original = decode_attribute(original);
        let mut attr = b" type=\"".to_vec();
        for b in original.iter() {
            match b {
                b'"' => attr.extend_from_slice(b"&quot;"),
                b'&' => attr.extend_from_slice(b"&amp;"),
                _ => attr.push(*b),
            }
        }
        attr.push(b'"');
        edit.insert_raw(&attr);
    }
    edit.remove_all(b"type");
    if tag.find(b"src").is_none() {
        if tag.find(b"data-consent-src").is_some() {
            edit.rename_first(b"data-consent-src", b"src");
        } else if tag.find(b"data-src").is_some() {
            edit.rename_first(b"data-src", b"src");
        }
    }
    edit.finish_with_spans()
}

/// Edits to one start tag, applied in a single pass over its bytes.
struct TagEdit<'a> {
    tag: TagView<'a>,
    /// Inserted right after the tag name.
    insert: Vec<u8>,
    /// `(attribute index, change)`, in attribute order.
    changes: Vec<(usize, Change)>,
}

enum Change {
    /// The name gets a prefix (`src` → `data-consent-src`).
    Prefix(&'static [u8]),
    /// The value is replaced (written double-quoted; already escaped).
    Value(Vec<u8>),
    /// The name is replaced.
    Rename(&'static [u8]),
    Remove,
}

impl<'a> TagEdit<'a> {
    fn new(tag: TagView<'a>) -> Self {
        TagEdit {
            tag,
            insert: Vec::new(),
            changes: Vec::new(),
        }
    }

    fn insert_raw(&mut self, bytes: &[u8]) {
        self.insert.extend_from_slice(bytes);
    }

    fn insert_category(&mut self, category: &str) {
        self.insert.extend_from_slice(b" data-consent-category=\"");
        self.insert.extend_from_slice(category.as_bytes());
        self.insert.push(b'"');
    }

    fn matching(&self, name: &[u8]) -> impl Iterator<Item = usize> + '_ {
        let name = name.to_vec();
        self.tag
            .attrs
            .iter()
            .enumerate()
            .filter(move |(_, a)| self.tag.attr_name(a).eq_ignore_ascii_case(&name))
            .map(|(i, _)| i)
    }

    /// Every duplicate too: renaming the first would make the next one the live one.
    fn rename_all(&mut self, name: &[u8], prefix: &'static [u8]) {
        let found: Vec<usize> = self.matching(name).collect();
        self.changes
            .extend(found.into_iter().map(|i| (i, Change::Prefix(prefix))));
    }

    fn rename_first(&mut self, name: &[u8], to: &'static [u8]) {
        let first = self.matching(name).next();
        if let Some(i) = first {
            self.changes.push((i, Change::Rename(to)));
        }
    }

    fn replace_value(&mut self, name: &[u8], value: Vec<u8>) {
        let first = self.matching(name).next();
        if let Some(i) = first {
            self.changes.push((i, Change::Value(value)));
        }
    }

    fn remove_all(&mut self, name: &[u8]) {
        let found: Vec<usize> = self.matching(name).collect();
        self.changes
            .extend(found.into_iter().map(|i| (i, Change::Remove)));
    }

    fn finish(self) -> Vec<u8> {
        self.finish_with_spans().bytes
    }

    /// The edited tag, and where its attributes now are.
    fn finish_with_spans(mut self) -> Rebuilt {
        self.changes.sort_by_key(|(i, _)| *i);
        let bytes = self.tag.bytes;
        let name_end = self.tag.attrs.first().map_or_else(
            || tag_name_end(bytes),
            |first| tag_name_end(&bytes[..first.name.0 as usize]),
        );
        let mut out = Vec::with_capacity(bytes.len() + self.insert.len() + 32);
        out.extend_from_slice(&bytes[..name_end]);
        out.extend_from_slice(&self.insert);
        let mut attrs = Vec::with_capacity(self.tag.attrs.len());
        // Attributes written into `insert` are not tracked: nothing judges them again.
        let mut copied = name_end;
        let mut changes = self.changes.iter().peekable();
        for (i, attr) in self.tag.attrs.iter().enumerate() {
            let (name_start, name_end) = (attr.name.0 as usize, attr.name.1 as usize);
            let attr_end = if attr.value.1 > attr.name.1 || attr.quoted {
                attr.value.1 as usize + usize::from(attr.quoted)
            } else {
                name_end
            };
            let change = match changes.peek() {
                Some((index, change)) if *index == i => {
                    changes.next();
                    Some(change)
                }
                _ => None,
            };
            let before = &bytes[copied..name_start];
            let shift =
                |at: u32, out_len: usize, from: usize| (out_len + (at as usize - from)) as u32;
            if let Some(Change::Remove) = change {
                // The whitespace before it goes too, unless nothing separates it from what
                // follows (`type="a"src=…`): the name must not run into the next attribute.
                out.extend_from_slice(before.trim_ascii_end());
                copied = attr_end.min(bytes.len());
                let separated = bytes.get(copied).is_none_or(|b| {
                    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>')
                });
                if !separated {
                    out.push(b' ');
                }
                continue;
            }
            out.extend_from_slice(before);
            match change {
                Some(Change::Remove) => {}
                Some(Change::Value(value)) => {
                    out.extend_from_slice(&bytes[name_start..name_end]);
                    out.extend_from_slice(b"=\"");
                    out.extend_from_slice(value);
                    out.push(b'"');
                    copied = attr_end.min(bytes.len());
                    continue;
                }
                Some(Change::Prefix(prefix)) => out.extend_from_slice(prefix),
                Some(Change::Rename(to)) => {
                    let new_name_start = out.len();
                    out.extend_from_slice(to);
                    let new_name_end = out.len();
                    out.extend_from_slice(&bytes[name_end..attr_end.min(bytes.len())]);
                    attrs.push(AttrSpan {
                        name: (new_name_start as u32, new_name_end as u32),
                        value: (
                            shift(attr.value.0, new_name_end, name_end),
                            shift(attr.value.1, new_name_end, name_end),
                        ),
                        quoted: attr.quoted,
                    });
                    copied = attr_end.min(bytes.len());
                    continue;
                }
                None => {}
            }
            let start = out.len();
            out.extend_from_slice(&bytes[name_start..attr_end.min(bytes.len())]);
            attrs.push(AttrSpan {
                name: (start as u32, shift(attr.name.1, start, name_start)),
                value: (
                    shift(attr.value.0, start, name_start),
                    shift(attr.value.1, start, name_start),
                ),
                quoted: attr.quoted,
            });
            copied = attr_end.min(bytes.len());
        }
        out.extend_from_slice(&bytes[copied.min(bytes.len())..]);
        Rebuilt { bytes: out, attrs }
    }
}

/// A value for a double-quoted attribute.
fn escape_attribute(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 16);
    for b in value {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            _ => out.push(*b),
        }
    }
    out
}

/// Where a start tag's name ends: `<` then name bytes up to whitespace, `/` or `>`.
fn tag_name_end(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .skip(1)
        .position(|b| matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>'))
        .map_or(bytes.len(), |n| n + 1)
}

/// The URLs of a `srcset` (its candidates' URLs, descriptors skipped).
fn srcset_urls(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = value;
    std::iter::from_fn(move || {
        loop {
            let start = rest
                .iter()
                .position(|b| !(b.is_ascii_whitespace() || *b == b','))?;
            rest = &rest[start..];
            let end = rest
                .iter()
                .position(|b| b.is_ascii_whitespace())
                .unwrap_or(rest.len());
            let mut url = &rest[..end];
            rest = &rest[end..];
            let trailing_commas = url.iter().rev().take_while(|b| **b == b',').count();
            if trailing_commas == 0 {
                // Descriptors run to the next comma outside parentheses.
                let mut depth = 0usize;
                let stop = rest
                    .iter()
                    .position(|b| {
                        match b {
                            b'(' => depth += 1,
                            b')' => depth = depth.saturating_sub(1),
                            b',' if depth == 0 => return true,
                            _ => {}
                        }
                        false
                    })
                    .unwrap_or(rest.len());
                rest = &rest[stop..];
            }
            url = &url[..url.len() - trailing_commas];
            if !url.is_empty() {
                return Some(url);
            }
        }
    })
}
