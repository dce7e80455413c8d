//! The scanner proven against `html5ever`'s full parser (tree builder included):
//!
//! - every script, frame, image, embed, object, link and source element html5ever builds (with
//!   scripting on), the scanner finds too, with the same relevant attributes, and no other;
//! - in the rewriter's output, parsed again with scripting on and off, no element of a category
//!   the visitor refused is live.
//!
//! The corpus: the fixtures in `tests/fixtures/`, documents generated from real-world and
//! adversarial fragments, and (when `HTML5LIB_TESTS` names a checkout of `html5lib-tests`)
//! the inputs of its tree-construction tests.

use std::collections::BTreeMap;
#[cfg(test)]
use std::path::Path;

use html5ever::tendril::TendrilSink;
use html5ever::{ParseOpts, QualName, local_name, ns};
use markup5ever_rcdom::{Handle, NodeData, RcDom};

use crate::catalog::trackers::Trackers;
use crate::config::Settings;
use crate::consent::CategorySet;

use super::rewrite::Element;
use super::scanner::Seen;
use super::url::{self, Base};
use super::{Rules, rewrite_chunks, scan_noting};

/// Attributes compared between the two parsers.
const RELEVANT: &[&str] = &["src", "href", "xlink:href", "srcset", "data", "type", "rel"];

/// An element as both sides list it: namespace, name, relevant attributes (first of duplicates).
type Listed = (&'static str, String, BTreeMap<String, String>);

/// An element of html5ever's tree.
struct TreeElement {
    namespace: &'static str,
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    /// The document's `<base href>` in force when the parser reached it: a browser fetches what
    /// the parser inserts before the `<base>` relative to the page itself.
    base: Option<String>,
}

fn parse(input: &[u8], scripting: bool) -> Vec<TreeElement> {
    let mut opts = ParseOpts::default();
    opts.tree_builder.scripting_enabled = scripting;
    let dom = html5ever::parse_document(RcDom::default(), opts)
        .from_utf8()
        .one(input);
    let mut out = Vec::new();
    walk(&dom.document, &mut out, &mut None, false);
    out
}

fn walk(node: &Handle, out: &mut Vec<TreeElement>, base: &mut Option<String>, in_template: bool) {
    if let NodeData::Element {
        name,
        attrs,
        template_contents,
        ..
    } = &node.data
    {
        let is_base = name.ns == ns!(html) && name.local == local_name!("base");
        if is_base && base.is_none() && !in_template {
            *base = attrs
                .borrow()
                .iter()
                .find(|a| &*a.name.local == "href")
                .map(|a| a.value.to_string());
        }
        if let Some(namespace) = namespace_of(name) {
            let text = node
                .children
                .borrow()
                .iter()
                .filter_map(|child| match &child.data {
                    NodeData::Text { contents } => Some(contents.borrow().to_string()),
                    _ => None,
                })
                .collect();
            out.push(TreeElement {
                namespace,
                name: name.local.to_string(),
                attrs: attrs
                    .borrow()
                    .iter()
                    .map(|a| {
                        let name = match &a.name.prefix {
                            Some(prefix) => format!("{prefix}:{}", a.name.local),
                            None => a.name.local.to_string(),
                        };
                        (name, a.value.to_string())
                    })
                    .collect(),
                text,
                base: base.clone(),
            });
        }
        if let Some(contents) = template_contents.borrow().as_ref() {
            walk(contents, out, base, true);
        }
    }
    for child in node.children.borrow().iter() {
        walk(child, out, base, in_template);
    }
}

fn namespace_of(name: &QualName) -> Option<&'static str> {
    if name.ns == ns!(html) {
        let judged = [
            local_name!("script"),
            local_name!("iframe"),
            local_name!("img"),
            local_name!("embed"),
            local_name!("object"),
            local_name!("link"),
            local_name!("source"),
        ];
        judged.contains(&name.local).then_some("html")
    } else if name.ns == ns!(svg) {
        [local_name!("script"), local_name!("image")]
            .contains(&name.local)
            .then_some("svg")
    } else {
        None
    }
}

fn relevant(attrs: impl Iterator<Item = (String, String)>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (name, value) in attrs {
        if RELEVANT.contains(&name.as_str()) {
            map.entry(name).or_insert(value);
        }
    }
    map
}

/// What html5ever builds, scripting on.
fn tree_listing(input: &[u8]) -> Vec<Listed> {
    let mut listed: Vec<Listed> = parse(input, true)
        .into_iter()
        .map(|e| (e.namespace, e.name, relevant(e.attrs.into_iter())))
        .collect();
    listed.sort();
    listed
}

/// What the scanner finds outside `<noscript>` text. Values are normalised as the HTML input
/// stream is (CR and CRLF to LF, NUL to U+FFFD) and read as UTF-8 the way html5ever reads them.
fn scanner_listing(seen: &[Seen]) -> Vec<Listed> {
    let mut listed: Vec<Listed> = seen
        .iter()
        .filter(|s| !s.in_noscript && s.name != b"frame")
        .filter_map(|s| {
            // Foreign elements the scanner judges only to be safe (an `<iframe>` inside
            // `<svg>` loads nothing) are not in html5ever's list.
            let (namespace, name) = match (s.namespace, s.element) {
                ("html", Element::Script) => ("html", "script"),
                ("html", Element::Frame) => ("html", "iframe"),
                ("html", Element::Img) => ("html", "img"),
                ("html", Element::Embed) => ("html", "embed"),
                ("html", Element::Object) => ("html", "object"),
                ("html", Element::Link) => ("html", "link"),
                ("html", Element::Source) => ("html", "source"),
                ("svg", Element::SvgScript) => ("svg", "script"),
                ("svg", Element::SvgImage) => ("svg", "image"),
                _ => return None,
            };
            let attrs = s.attrs.iter().map(|(n, v)| {
                let name = String::from_utf8_lossy(n).into_owned();
                let value = String::from_utf8_lossy(v)
                    .replace("\r\n", "\n")
                    .replace('\r', "\n")
                    .replace('\0', "\u{FFFD}");
                (name, value)
            });
            Some((namespace, name.to_string(), relevant(attrs)))
        })
        .collect();
    listed.sort();
    listed
}

/// Values that hold characters outside ASCII are compared by presence only: the scanner decodes
/// only the character references that can spell a host (see `entities`).
fn comparable(listed: &[Listed]) -> Vec<Listed> {
    listed
        .iter()
        .map(|(ns, name, attrs)| {
            let attrs = attrs
                .iter()
                .map(|(n, v)| {
                    let v = if v.is_ascii() {
                        v.clone()
                    } else {
                        "<non-ascii>".into()
                    };
                    (n.clone(), v)
                })
                .collect();
            (*ns, name.clone(), attrs)
        })
        .collect()
}

fn is_javascript(attrs: &[(String, String)]) -> bool {
    let first = |name: &str| attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim());
    let Some(kind) = first("type") else {
        return true;
    };
    let essence = kind
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    kind.is_empty()
        || essence == "module"
        || essence.ends_with("javascript")
        || essence.ends_with("ecmascript")
        || essence.starts_with("text/javascript1.")
        || essence == "text/jscript"
        || essence == "text/livescript"
}

/// The URLs of a `srcset`, as the HTML spec splits it: a URL runs to whitespace (a comma in it
/// stays), its descriptors to the next comma.
fn srcset_urls(srcset: &str) -> Vec<&str> {
    let mut urls = Vec::new();
    let mut expecting_url = true;
    for token in srcset.split_ascii_whitespace() {
        if expecting_url {
            let url = token.trim_end_matches(',');
            if !url.is_empty() {
                urls.push(url);
            }
            expecting_url = token.ends_with(',');
        } else if let Some(comma) = token.find(',') {
            let rest = &token[comma + 1..];
            if rest.is_empty() {
                expecting_url = true;
            } else {
                urls.push(rest.trim_end_matches(','));
                expecting_url = rest.ends_with(',');
            }
        }
    }
    urls
}

/// Elements in the output that load or run something of a category outside `allowed`.
pub(crate) fn live_offenders(
    trackers: &Trackers,
    output: &[u8],
    allowed: CategorySet,
    scripting: bool,
) -> Vec<String> {
    let elements = parse(output, scripting);
    let denied = |value: &str, base: &Option<String>| {
        let base = base.as_deref().map_or_else(Base::default, |href| {
            Base::from_href(href.as_bytes(), &Base::default())
        });
        url::resolve(value.as_bytes(), &base)
            .and_then(|t| trackers.classify_url(&t.host, &t.path).map(|m| m.category))
            .filter(|c| !allowed.contains(*c))
    };
    let mut offenders = Vec::new();
    for e in &elements {
        let first = |name: &str| {
            e.attrs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let urls: Vec<&str> = match (e.namespace, e.name.as_str()) {
            ("html", "script") => {
                if !scripting || !is_javascript(&e.attrs) {
                    continue;
                }
                match first("src") {
                    Some(src) => vec![src],
                    None => {
                        if trackers.first_denied(e.text.as_bytes(), allowed).is_some() {
                            offenders.push(format!("inline script {:?}", e.text));
                        }
                        continue;
                    }
                }
            }
            ("html", "link") => {
                let preload = first("rel").is_some_and(|rel| {
                    rel.split_ascii_whitespace().any(|r| {
                        [
                            "preconnect",
                            "dns-prefetch",
                            "preload",
                            "prefetch",
                            "modulepreload",
                            "prerender",
                        ]
                        .iter()
                        .any(|p| p.eq_ignore_ascii_case(r))
                    })
                });
                if !preload {
                    continue;
                }
                first("href").into_iter().collect()
            }
            ("html", "object") => first("data").into_iter().collect(),
            ("html", _) => {
                let mut urls: Vec<&str> = first("src").into_iter().collect();
                if let Some(srcset) = first("srcset") {
                    urls.extend(srcset_urls(srcset));
                }
                urls
            }
            ("svg", "script") => {
                // An SVG script runs by the same type rules as an HTML one.
                if !scripting || !is_javascript(&e.attrs) {
                    continue;
                }
                first("href")
                    .into_iter()
                    .chain(first("xlink:href"))
                    .collect()
            }
            ("svg", _) => first("href")
                .into_iter()
                .chain(first("xlink:href"))
                .collect(),
            _ => continue,
        };
        for value in urls {
            if denied(value, &e.base).is_some() {
                offenders.push(format!("<{} {}={value:?}>", e.name, "url"));
            }
        }
    }
    offenders
}

/// Everything the oracle checks on one document. Returns a description of each failure.
pub(crate) fn check_document(settings: &Settings, input: &[u8]) -> Vec<String> {
    let mut failures = Vec::new();
    let trackers = settings.trackers();
    let all = settings.categories().all();
    let (seen, _) = scan_noting(settings, all, input);
    let tree = comparable(&tree_listing(input));
    let scanned = comparable(&scanner_listing(&seen));
    // A `<frameset>` replaces the body, taking elements already parsed out of the document:
    // the scanner, which builds no tree, still sees them (and judges them, which is harmless).
    let frameset = memchr::memmem::find(&input.to_ascii_lowercase(), b"<frameset").is_some();
    if tree != scanned && !frameset {
        let missing: Vec<_> = tree.iter().filter(|e| !scanned.contains(e)).collect();
        let extra: Vec<_> = scanned.iter().filter(|e| !tree.contains(e)).collect();
        failures.push(format!(
            "listing differs: html5ever has {missing:?} the scanner lacks; the scanner has {extra:?}"
        ));
    }
    for allowed in [
        CategorySet::NECESSARY,
        CategorySet::NECESSARY.with(2),
        CategorySet::NECESSARY.with(3),
        CategorySet::NECESSARY.with(1).with(3),
    ] {
        let output = rewrite_chunks(settings, allowed, &[input]);
        for scripting in [true, false] {
            let offenders = live_offenders(trackers, &output, allowed, scripting);
            if !offenders.is_empty() {
                failures.push(format!(
                    "live in the output (allowed {:b}, scripting {scripting}): {offenders:?}",
                    allowed.bits()
                ));
            }
        }
        let again = rewrite_chunks(settings, allowed, &[&output]);
        if again != output {
            failures.push(format!("not idempotent (allowed {:b})", allowed.bits()));
        }
    }
    failures
}

/// Splits an html5lib tree-construction file into its `#data` inputs (scripting-off-only tests
/// and fragment tests left out).
pub(crate) fn html5lib_inputs(dat: &str) -> Vec<String> {
    let mut inputs = Vec::new();
    for test in dat
        .split("\n\n#data\n")
        .map(|t| t.trim_start_matches("#data\n"))
    {
        let Some(end) = test.find("\n#errors") else {
            continue;
        };
        if test.contains("\n#script-off") || test.contains("\n#document-fragment") {
            continue;
        }
        inputs.push(test[..end].to_string());
    }
    inputs
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{ConsentLayer, NoopSink};

    fn settings() -> Arc<Settings> {
        ConsentLayer::builder()
            .sink(NoopSink)
            .build()
            .unwrap()
            .shared_settings()
    }

    fn assert_agrees(settings: &Settings, name: &str, input: &[u8]) {
        let failures = check_document(settings, input);
        assert!(
            failures.is_empty(),
            "{name}: {failures:#?}\ninput: {:?}",
            String::from_utf8_lossy(input)
        );
    }

    #[test]
    fn fixtures_agree_with_html5ever() {
        let settings = settings();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "html") {
                assert_agrees(
                    &settings,
                    &path.display().to_string(),
                    &std::fs::read(&path).unwrap(),
                );
                count += 1;
            }
        }
        assert!(count >= 3, "fixtures found: {count}");
    }

    #[test]
    fn generated_documents_agree_with_html5ever() {
        let settings = settings();
        for seed in 0..400u64 {
            let document = super::super::generated::document(seed);
            assert_agrees(&settings, &format!("seed {seed}"), document.as_bytes());
        }
    }

    /// Runs when `HTML5LIB_TESTS` names a checkout of html5lib-tests.
    #[test]
    fn html5lib_tree_construction_inputs_agree_with_html5ever() {
        let Some(root) = std::env::var_os("HTML5LIB_TESTS") else {
            eprintln!("skipped: set HTML5LIB_TESTS to a checkout of html5lib-tests to run");
            return;
        };
        let settings = settings();
        let dir = Path::new(&root).join("tree-construction");
        let mut failures = Vec::new();
        let mut total = 0;
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for path in files
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "dat"))
        {
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, input) in html5lib_inputs(&text).iter().enumerate() {
                total += 1;
                let found = check_document(&settings, input.as_bytes());
                if !found.is_empty() {
                    failures.push(format!("{} #{i} {input:?}: {found:?}", path.display()));
                }
            }
        }
        eprintln!(
            "html5lib inputs checked: {total}, failing: {}",
            failures.len()
        );
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
