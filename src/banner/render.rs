//! The markup of the banner, the "Cookie settings" link and the preferences page.
//!
//! Every text is escaped where it is written, and every character outside ASCII is written as
//! a character reference, so the markup reads the same in a page of any ASCII-compatible
//! charset. The inserted markup is also well-formed XML (for `application/xhtml+xml` pages).
//! No inline `style` attribute or event handler is used, so a strict
//! `Content-Security-Policy` needs only the stylesheet allowed.

use std::fmt::Write as _;
use std::sync::OnceLock;

use http::HeaderMap;

use super::{BANNER_CSS, Banner, LINK_CSS, MARKER};
use crate::config::Service;
use crate::consent::{Categories, CategorySet};
use crate::html::csp::{self, Inline};

/// How the stylesheet reaches a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Style {
    /// A `<style>` element, with the page's nonce when its policy asks for one.
    Inline(Option<String>),
    /// A `<link>` to the endpoint's stylesheet: the page's policy allows no inline style, and
    /// the stylesheet loads under `'self'`.
    Linked,
    /// Only while a [`Template`](super::template::Template) is made: [`STYLE_HOLE`] where the
    /// style element goes.
    Hole,
}

/// Marks the style element's place in a template: a control character, which `escape` never
/// writes for anything but itself and no stylesheet or nonce of ours contains.
pub(crate) const STYLE_HOLE: &str = "\u{1}style\u{1}";

impl Style {
    /// The way the response's `Content-Security-Policy` lets the stylesheet in.
    pub(crate) fn for_response(headers: &HeaderMap) -> Style {
        match csp::inline(headers, csp::STYLES) {
            Inline::Free => Style::Inline(None),
            Inline::Nonce(nonce) => Style::Inline(Some(nonce)),
            Inline::Blocked => Style::Linked,
        }
    }
}

/// What a rendering needs to know of the layer and the visitor.
pub(crate) struct Page<'a> {
    pub(crate) banner: &'a Banner,
    pub(crate) categories: &'a Categories,
    pub(crate) language: usize,
    /// The same-origin path (with query) the visitor goes back to after choosing.
    pub(crate) return_to: &'a str,
    /// The request carries `Sec-GPC: 1`.
    pub(crate) gpc: bool,
}

impl Page<'_> {
    fn texts(&self) -> &super::Texts {
        // The language index comes from `Banner::language`, always in range.
        &self.banner.texts[self.language.min(self.banner.texts.len() - 1)]
    }

    fn lang_dir(&self) -> String {
        let texts = self.texts();
        let dir = if texts.rtl { "rtl" } else { "ltr" };
        format!(r#"lang="{}" dir="{dir}""#, escape(&texts.language))
    }

    /// The preferences page's address, which brings the visitor back here.
    fn settings_href(&self) -> String {
        format!(
            "{}?return_to={}",
            self.banner.endpoint,
            encode_query_value(self.return_to)
        )
    }

    fn hidden_fields(&self, out: &mut String) {
        let hash = &self.banner.hashes[self.language.min(self.banner.hashes.len() - 1)];
        let _ = write!(
            out,
            r#"<input type="hidden" name="return_to" value="{}"/><input type="hidden" name="wording" value="{hash}"/>"#,
            escape(self.return_to)
        );
    }

    /// The end of an introductory paragraph: the privacy policy link, then the GPC notice.
    fn lead_end(&self, out: &mut String, gpc_role: &str) {
        if let Some(link) = &self.banner.privacy_policy {
            let _ = write!(
                out,
                r#" <a href="{}">{}</a>"#,
                escape(link),
                escape(&self.texts().privacy_policy)
            );
        }
        out.push_str("</p>");
        self.gpc_notice(out, gpc_role);
    }

    /// A form that posts to the endpoint, with its hidden fields.
    fn form_start(&self, out: &mut String, attributes: &str) {
        let _ = write!(
            out,
            r#"<form {attributes} method="post" action="{}">"#,
            escape(&self.banner.endpoint)
        );
        self.hidden_fields(out);
    }

    /// The notice shown while the browser sends Global Privacy Control.
    fn gpc_notice(&self, out: &mut String, role: &str) {
        let kept_off = self.categories.sale_share();
        if !self.gpc || kept_off == CategorySet::EMPTY {
            return;
        }
        let texts = self.texts();
        let titles: Vec<&str> = kept_off
            .indices()
            .filter_map(|i| texts.categories.get(i))
            .map(|(title, _)| title.as_str())
            .collect();
        let notice = texts.gpc_notice.replace("{categories}", &titles.join(", "));
        let _ = write!(
            out,
            r#"<p class="tc-gpc" role="{role}">{}</p>"#,
            escape(&notice)
        );
    }
}

/// The stylesheets, minified once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sheet {
    /// The banner's and the preferences page's.
    Banner,
    /// The "Cookie settings" link's.
    Link,
    /// Both: what the endpoint serves, for pages that cannot carry them inline.
    Served,
}

impl Sheet {
    pub(crate) fn css(self) -> &'static str {
        static BANNER: OnceLock<String> = OnceLock::new();
        static LINK: OnceLock<String> = OnceLock::new();
        static SERVED: OnceLock<String> = OnceLock::new();
        match self {
            Sheet::Banner => BANNER.get_or_init(|| minify(BANNER_CSS)),
            Sheet::Link => LINK.get_or_init(|| minify(LINK_CSS)),
            Sheet::Served => SERVED.get_or_init(|| minify(&format!("{BANNER_CSS}\n{LINK_CSS}"))),
        }
    }
}

pub(crate) fn style_element(style: &Style, sheet: Sheet, stylesheet_path: &str, out: &mut String) {
    match style {
        Style::Hole => out.push_str(STYLE_HOLE),
        Style::Inline(nonce) => {
            out.push_str("<style");
            if let Some(nonce) = nonce {
                let _ = write!(out, r#" nonce="{}""#, escape(nonce));
            }
            out.push('>');
            out.push_str(sheet.css());
            out.push_str("</style>");
        }
        Style::Linked => {
            let _ = write!(
                out,
                r#"<link rel="stylesheet" href="{}"/>"#,
                escape(stylesheet_path)
            );
        }
    }
}

/// The banner: heading, text, privacy link, GPC notice, and the three choices, each usable
/// without JavaScript.
pub(crate) fn banner(page: &Page<'_>, style: &Style) -> Vec<u8> {
    let texts = page.texts();
    let mut out = String::with_capacity(Sheet::Banner.css().len() + 2048);
    let _ = write!(
        out,
        r#"<div class="tc-banner" id="tc-banner" tabindex="-1" role="region" aria-labelledby="tc-banner-title" {} {MARKER}="">"#,
        page.lang_dir()
    );
    style_element(style, Sheet::Banner, &page.banner.stylesheet_path, &mut out);
    let _ = write!(
        out,
        r#"<div class="tc-card"><h2 class="tc-title" id="tc-banner-title">{}</h2><p class="tc-text">{}"#,
        escape(&texts.title),
        escape(&texts.text)
    );
    page.lead_end(&mut out, "note");
    page.form_start(&mut out, r#"class="tc-actions""#);
    // Accept and reject: the same element, class and size. `formaction` and `formmethod`
    // keep them posting here even inside a form the page left open (where the browser
    // ignores the banner's own `<form>`).
    let endpoint = escape(&page.banner.endpoint);
    let _ = write!(
        out,
        r#"<button class="tc-button" type="submit" name="action" value="accept" formaction="{endpoint}" formmethod="post">{}</button><button class="tc-button" type="submit" name="action" value="reject" formaction="{endpoint}" formmethod="post">{}</button><a class="tc-button tc-secondary" href="{}">{}</a></form></div></div>"#,
        escape(&texts.accept_all),
        escape(&texts.reject_all),
        escape(&page.settings_href()),
        escape(&texts.settings)
    );
    out.into_bytes()
}

/// The link that takes a keyboard user from the start of the page to the banner at its end:
/// off screen until it has the focus (its style comes with the banner's).
pub(crate) fn skip_link(banner: &Banner, language: usize) -> Vec<u8> {
    let label = banner
        .texts
        .get(language)
        .map_or("", |texts| texts.skip.as_str());
    format!(
        r##"<a class="tc-skip" href="#tc-banner" {MARKER}="">{}</a>"##,
        escape(label)
    )
    .into_bytes()
}

/// The small "Cookie settings" link for visitors who decided, in a navigation landmark (a
/// `div`, which also ends any SVG or MathML the page left open).
pub(crate) fn settings_link(page: &Page<'_>, style: &Style) -> Vec<u8> {
    let mut out = String::with_capacity(Sheet::Link.css().len() + 256);
    let label = escape(&page.texts().settings_link);
    let _ = write!(
        out,
        r#"<div class="tc-settings" role="navigation" aria-label="{label}" {} {MARKER}="">"#,
        page.lang_dir()
    );
    style_element(style, Sheet::Link, &page.banner.stylesheet_path, &mut out);
    let _ = write!(
        out,
        r#"<a class="tc-settings-link" href="{}">{label}</a></div>"#,
        escape(&page.settings_href()),
    );
    out.into_bytes()
}

/// The preferences page: every category with its description and services, the optional ones
/// ticked as the visitor allowed them, and save, reject all and accept all. `nonce` is the
/// page's own style nonce, which its `Content-Security-Policy` names.
pub(crate) fn preferences(
    page: &Page<'_>,
    allowed: CategorySet,
    services: &[Service],
    nonce: &str,
) -> String {
    let texts = page.texts();
    let mut out = String::with_capacity(Sheet::Banner.css().len() + 4096);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html {}><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>{}</title>"#,
        page.lang_dir(),
        escape(&texts.preferences_title)
    );
    style_element(
        &Style::Inline(Some(nonce.to_owned())),
        Sheet::Banner,
        &page.banner.stylesheet_path,
        &mut out,
    );
    let _ = write!(
        out,
        r#"</head><body class="tc-page"><main class="tc-prefs"><h1 id="tc-prefs-title">{}</h1><p class="tc-intro">{}"#,
        escape(&texts.preferences_title),
        escape(&texts.preferences_intro)
    );
    page.lead_end(&mut out, "status");
    page.form_start(&mut out, r#"aria-labelledby="tc-prefs-title""#);
    for (index, category) in page.categories.iter() {
        let name = escape(category.as_str());
        let (title, description) = texts
            .categories
            .get(index)
            .map_or((category.as_str(), ""), |(t, d)| (t.as_str(), d.as_str()));
        let _ = write!(
            out,
            r#"<section class="tc-category" aria-labelledby="tc-label-{name}"><div class="tc-category-head">"#
        );
        if index == 0 {
            let _ = write!(
                out,
                r#"<input type="checkbox" id="tc-cat-{name}" checked disabled aria-describedby="tc-desc-{name}"><label id="tc-label-{name}" for="tc-cat-{name}">{}</label><span class="tc-always">{}</span>"#,
                escape(title),
                escape(&texts.always_on)
            );
        } else {
            let checked = if allowed.contains(index) {
                " checked"
            } else {
                ""
            };
            let _ = write!(
                out,
                r#"<input type="checkbox" id="tc-cat-{name}" name="category" value="{name}"{checked} aria-describedby="tc-desc-{name}"><label id="tc-label-{name}" for="tc-cat-{name}">{}</label>"#,
                escape(title)
            );
        }
        let _ = write!(
            out,
            r#"</div><p class="tc-description" id="tc-desc-{name}">{}</p>"#,
            escape(description)
        );
        let in_category: Vec<String> = services
            .iter()
            .filter(|s| s.category == category.as_str())
            .map(|s| match s.vendor.as_str() {
                "-" | "" => s.name.clone(),
                vendor if vendor == s.name => s.name.clone(),
                vendor => format!("{} ({vendor})", s.name),
            })
            .collect();
        if !in_category.is_empty() {
            let _ = write!(
                out,
                r#"<p class="tc-services">{}: {}</p>"#,
                escape(&texts.services),
                escape(&in_category.join(", "))
            );
        }
        out.push_str("</section>");
    }
    let _ = write!(
        out,
        r#"<div class="tc-actions"><button class="tc-button" type="submit" name="action" value="save">{}</button><button class="tc-button" type="submit" name="action" value="reject">{}</button><button class="tc-button" type="submit" name="action" value="accept">{}</button></div></form><a class="tc-back" href="{}">{}</a></main></body></html>"#,
        escape(&texts.save),
        escape(&texts.reject_all),
        escape(&texts.accept_all),
        escape(page.return_to),
        escape(&texts.back)
    );
    out
}

/// A stylesheet without comments and runs of white space.
fn minify(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find("*/")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text and attribute values, escaped for HTML, with every character outside ASCII as a
/// character reference.
pub(crate) fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    // Runs every response that gets the banner, over every text: one byte pass finds the first
    // byte to rewrite, and the runs between such bytes are copied whole.
    let needs_escape = |b: &u8| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'') || !b.is_ascii();
    let Some(first) = text.bytes().position(|b| needs_escape(&b)) else {
        return std::borrow::Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    let mut rest = &text[first..];
    while let Some(c) = rest.chars().next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => {
                let _ = write!(out, "&#x{:x};", u32::from(c));
            }
        }
        rest = &rest[c.len_utf8()..];
        let run = rest
            .bytes()
            .position(|b| needs_escape(&b))
            .unwrap_or(rest.len());
        out.push_str(&rest[..run]);
        rest = &rest[run..];
    }
    std::borrow::Cow::Owned(out)
}

/// A query parameter's value, percent-encoded (everything but unreserved characters and `/`).
pub(crate) fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("Nee, bedankt"), "Nee, bedankt");
        assert_eq!(
            escape("Präferenzen «ł»"),
            "Pr&#xe4;ferenzen &#xab;&#x142;&#xbb;"
        );
        assert_eq!(encode_query_value("/a b?c=d&e"), "/a%20b%3Fc%3Dd%26e");
        assert_eq!(encode_query_value("/é"), "/%C3%A9");
    }

    proptest::proptest! {
        #[test]
        fn escaping_agrees_with_a_character_at_a_time(text in "[a-z &<>\"'äł€😀]{0,24}") {
            let plain: String = text
                .chars()
                .map(|c| match c {
                    '&' => "&amp;".to_owned(),
                    '<' => "&lt;".to_owned(),
                    '>' => "&gt;".to_owned(),
                    '"' => "&quot;".to_owned(),
                    '\'' => "&#39;".to_owned(),
                    c if c.is_ascii() => c.to_string(),
                    c => format!("&#x{:x};", u32::from(c)),
                })
                .collect();
            proptest::prop_assert_eq!(escape(&text), plain);
        }
    }

    #[test]
    fn the_minified_stylesheet_keeps_every_rule() {
        let css = Sheet::Served.css();
        assert!(!css.contains("/*") && !css.contains('\n'));
        for kept in [
            ".tc-banner {",
            ".tc-button {",
            ".tc-settings-link {",
            "@media (prefers-reduced-motion: reduce)",
            "@media (prefers-color-scheme: dark)",
            "@keyframes tc-rise",
        ] {
            assert!(css.contains(kept), "{kept}");
        }
        assert!(css.len() < BANNER_CSS.len() + LINK_CSS.len());
        assert!(
            Sheet::Link.css().len() < 1024,
            "the link's style stays small"
        );
        assert!(!Sheet::Banner.css().contains(".tc-settings-link"));
    }

    #[test]
    fn the_style_follows_the_pages_policy() {
        let mut headers = HeaderMap::new();
        assert_eq!(Style::for_response(&headers), Style::Inline(None));
        headers.insert(
            http::header::CONTENT_SECURITY_POLICY,
            "style-src 'nonce-n0nce'".parse().unwrap(),
        );
        assert_eq!(
            Style::for_response(&headers),
            Style::Inline(Some("n0nce".into()))
        );
        headers.insert(
            http::header::CONTENT_SECURITY_POLICY,
            "default-src 'self'".parse().unwrap(),
        );
        assert_eq!(Style::for_response(&headers), Style::Linked);
    }
}

/// WCAG 2.2 contrast of the default palettes, light and dark: text at least 4.5:1 (AA), the
/// focus ring at least 3:1 against the background (non-text contrast).
#[cfg(test)]
mod contrast {
    use super::BANNER_CSS;

    /// The `--tc-*` colours of each `:where(:root)` block, in order (light, then dark).
    fn palettes() -> Vec<Vec<(String, [f64; 3])>> {
        BANNER_CSS
            .split(":where(:root) {")
            .skip(1)
            .map(|block| {
                block[..block.find('}').unwrap()]
                    .split(';')
                    .filter_map(|declaration| {
                        let (name, value) = declaration.split_once(':')?;
                        let hex = value.trim().strip_prefix('#')?;
                        let channel = |i: usize| {
                            f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0
                        };
                        Some((name.trim().to_owned(), [channel(0), channel(2), channel(4)]))
                    })
                    .collect()
            })
            .collect()
    }

    fn luminance(rgb: [f64; 3]) -> f64 {
        let linear = |c: f64| {
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
    }

    fn ratio(a: [f64; 3], b: [f64; 3]) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    #[test]
    fn default_colours_meet_wcag_aa() {
        let palettes = palettes();
        assert_eq!(palettes.len(), 2, "a light and a dark palette");
        for palette in palettes {
            let colour = |name: &str| {
                palette
                    .iter()
                    .find(|(n, _)| n == name)
                    .unwrap_or_else(|| panic!("{name} missing"))
                    .1
            };
            for (text, background, minimum) in [
                ("--tc-fg", "--tc-bg", 4.5),
                ("--tc-muted", "--tc-bg", 4.5),
                ("--tc-accent", "--tc-bg", 4.5),
                ("--tc-accent-fg", "--tc-accent", 4.5),
                ("--tc-focus", "--tc-bg", 3.0),
            ] {
                let contrast = ratio(colour(text), colour(background));
                assert!(
                    contrast >= minimum,
                    "{text} on {background}: {contrast:.2}:1, below {minimum}:1"
                );
            }
        }
        // The checker itself: black on white is 21:1, a colour on itself 1:1.
        assert!((ratio([0.0; 3], [1.0; 3]) - 21.0).abs() < 1e-9);
        assert!((ratio([0.5; 3], [0.5; 3]) - 1.0).abs() < 1e-9);
    }
}
