//! Validators that differ per consent variant: a rewritten page's `ETag` carries the set of
//! allowed categories and the rules it was rewritten under, so no cache or conditional request
//! hands one visitor's variant to another, or a page rewritten before a deploy as current.
//!
//! `"abc"` from the inner service becomes `W/"abc;consent=6.1a2b3c4d"` (weak: the bytes differ
//! from the inner service's own representation). A request's `If-None-Match` entries of the
//! visitor's current variant reach the inner service as `W/"abc"`, so it can still answer
//! `304`; entries of any other variant are dropped, so it cannot.

use http::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH};
use http::{HeaderMap, HeaderValue};

use crate::banner::PagePlan;
use crate::config::Settings;
use crate::consent::CategorySet;

const MARK: &[u8] = b";consent=";

/// Splits an entity-tag into its weakness and opaque content (without quotes).
fn parse(tag: &[u8]) -> Option<(bool, &[u8])> {
    let tag = tag.trim_ascii();
    let (weak, quoted) = match tag.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, tag),
    };
    let inner = quoted.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    (!inner.contains(&b'"')).then_some((weak, inner))
}

/// The variant of a page a visitor gets: the categories they allowed (hexadecimal bits), the
/// banner or link inserted, with its language (see [`PagePlan::variant`]), and the rules it
/// was rewritten under (see [`Settings::rules_fingerprint`]).
pub(crate) fn variant(
    allowed: CategorySet,
    page: Option<&PagePlan>,
    settings: &Settings,
) -> String {
    let rules = &settings.rules_fingerprint;
    match page {
        Some(page) => format!(
            "{:x}.{}.{rules}",
            allowed.bits(),
            page.variant(&settings.banner)
        ),
        None => format!("{:x}.{rules}", allowed.bits()),
    }
}

fn variant_suffix(variant: &str) -> Vec<u8> {
    let mut suffix = MARK.to_vec();
    suffix.extend_from_slice(variant.as_bytes());
    suffix
}

/// Makes the response's `ETag` specific to `variant`. A malformed one is removed: it cannot
/// be told apart from another variant's.
/// `variant` is only called when there is an `ETag` to rewrite: most pages have none.
pub(crate) fn vary_etag(headers: &mut HeaderMap, variant: impl FnOnce() -> String) {
    let Some(etag) = headers.get(ETAG) else {
        return;
    };
    let variant = variant();
    let variant = variant.as_str();
    let rewritten = parse(etag.as_bytes()).and_then(|(_, opaque)| {
        let mut value = b"W/\"".to_vec();
        value.extend_from_slice(opaque);
        value.extend_from_slice(&variant_suffix(variant));
        value.push(b'"');
        HeaderValue::from_bytes(&value).ok()
    });
    match rewritten {
        Some(value) => {
            headers.insert(ETAG, value);
        }
        None => {
            headers.remove(ETAG);
        }
    }
}

/// Rewrites `If-None-Match` for the inner service: entries of `variant` lose their suffix,
/// entries of other variants are dropped, and so are entries of no variant when
/// `page_view` (a `GET` or `HEAD` navigation, whose answer is a page): the layer marks every
/// page it rewrites or passes, so such a tag names a copy it never handled, cached before the
/// layer was deployed, with its trackers live. (Other requests keep them: they are how images,
/// scripts and API responses, which keep their own tags, are revalidated.) Returns whether an
/// entry of `variant` was kept, so that a `304` answering it gets the variant's `ETag` back.
pub(crate) fn strip_variant(headers: &mut HeaderMap, variant: &str, page_view: bool) -> bool {
    let suffix = variant_suffix(variant);
    let mut kept_ours = false;
    let mut changed = false;
    let mut entries: Vec<Vec<u8>> = Vec::new();
    for value in headers.get_all(IF_NONE_MATCH) {
        for entry in split_entity_tags(value.as_bytes()) {
            let marked = parse(entry)
                .and_then(|(_, opaque)| Some((opaque, memchr::memmem::rfind(opaque, MARK)?)));
            let Some((opaque, at)) = marked else {
                match page_view {
                    true => changed = true,
                    false => entries.push(entry.to_vec()),
                }
                continue;
            };
            changed = true;
            if opaque[at..] == suffix[..] {
                kept_ours = true;
                let mut stripped = b"W/\"".to_vec();
                stripped.extend_from_slice(&opaque[..at]);
                stripped.push(b'"');
                entries.push(stripped);
            }
        }
    }
    if !changed {
        return false;
    }
    headers.remove(IF_NONE_MATCH);
    if !entries.is_empty() {
        if let Ok(value) = HeaderValue::from_bytes(&entries.join(&b", "[..])) {
            headers.insert(IF_NONE_MATCH, value);
        }
    }
    if !headers.contains_key(IF_NONE_MATCH) {
        // The date was sent for the same cached copy, another variant's (or one the layer
        // never handled), and an `If-None-Match` kept the site from reading it (RFC 9110,
        // 13.2.2): without one, a `304` on the date would keep that copy.
        headers.remove(IF_MODIFIED_SINCE);
    }
    kept_ours
}

/// The entries of an `If-None-Match` list: commas inside quotes do not split.
fn split_entity_tags(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = value;
    std::iter::from_fn(move || {
        loop {
            if rest.is_empty() {
                return None;
            }
            let mut in_quotes = false;
            let end = rest
                .iter()
                .position(|b| {
                    if *b == b'"' {
                        in_quotes = !in_quotes;
                    }
                    *b == b',' && !in_quotes
                })
                .unwrap_or(rest.len());
            let entry = rest[..end].trim_ascii();
            rest = rest.get(end + 1..).unwrap_or(b"");
            if !entry.is_empty() {
                return Some(entry);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: http::HeaderName, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn etags_carry_the_variant() {
        for (etag, expected) in [
            ("\"abc\"", Some("W/\"abc;consent=5\"")),
            ("W/\"abc\"", Some("W/\"abc;consent=5\"")),
            ("abc", None),
            ("\"a\"b\"", None),
        ] {
            let mut h = headers(ETAG, etag);
            vary_etag(&mut h, || "5".to_owned());
            assert_eq!(h.get(ETAG).map(|v| v.to_str().unwrap()), expected, "{etag}");
        }
    }

    #[test]
    fn conditional_requests_only_match_their_own_variant() {
        let mut h = headers(
            IF_NONE_MATCH,
            "W/\"abc;consent=5\", W/\"abc;consent=1\", \"other,x\"",
        );
        assert!(strip_variant(&mut h, "5", false));
        assert_eq!(h.get(IF_NONE_MATCH).unwrap(), "W/\"abc\", \"other,x\"");

        let mut h = headers(IF_NONE_MATCH, "W/\"abc;consent=1\"");
        assert!(!strip_variant(&mut h, "5", false));
        assert!(
            h.get(IF_NONE_MATCH).is_none(),
            "another variant's tag must not reach the service"
        );

        let mut h = headers(IF_NONE_MATCH, "\"plain\"");
        assert!(!strip_variant(&mut h, "5", false));
        assert_eq!(h.get(IF_NONE_MATCH).unwrap(), "\"plain\"");
    }

    #[test]
    fn a_page_view_drops_tags_of_no_variant_and_the_date_with_them() {
        for value in ["\"plain\"", "*", "W/\"old\", junk"] {
            let mut h = headers(IF_NONE_MATCH, value);
            h.insert(
                IF_MODIFIED_SINCE,
                HeaderValue::from_static("Mon, 30 Nov 2026 09:00:00 GMT"),
            );
            assert!(!strip_variant(&mut h, "5", true));
            assert!(h.get(IF_NONE_MATCH).is_none(), "{value}");
            assert!(h.get(IF_MODIFIED_SINCE).is_none(), "{value}");
        }
        let mut h = headers(IF_NONE_MATCH, "\"plain\", W/\"abc;consent=5\"");
        assert!(strip_variant(&mut h, "5", true));
        assert_eq!(h.get(IF_NONE_MATCH).unwrap(), "W/\"abc\"");
    }
}
