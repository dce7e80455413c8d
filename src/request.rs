//! Facts about a request that several parts of the layer ask for.

use http::header::ACCEPT;
use http::{HeaderMap, HeaderName};

use crate::config::Settings;
use crate::consent::{Consent, Decision};
use crate::time;

/// Header names built once: looking a header up by `&str` parses the name on every call.
pub(crate) static SEC_GPC: HeaderName = HeaderName::from_static("sec-gpc");
pub(crate) static SEC_FETCH_DEST: HeaderName = HeaderName::from_static("sec-fetch-dest");
pub(crate) static SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// The visitor's effective consent for a request: the choice in the consent cookie, with
/// `Sec-GPC` folded in.
///
/// A request may carry several consent cookies (set for other paths, or on a parent domain
/// while a host-only one exists). Values that are malformed, wrongly signed, expired or from
/// another policy revision are ignored; of the rest the most recent choice wins, and of equally
/// recent ones the one that allows less.
pub(crate) fn consent(headers: &HeaderMap, settings: &Settings) -> Consent {
    let categories = &settings.categories;
    let mut values = settings.cookie.finder.values(headers).peekable();
    let mut best: Option<Decision> = None;
    if values.peek().is_some() {
        let now = time::now_secs();
        for value in values {
            if let Some(decision) = settings.codec.decode(value, categories, now) {
                best = Some(match best {
                    Some(current) if !preferred(&decision, &current) => current,
                    _ => decision,
                });
            }
        }
    }
    Consent::new(categories.clone(), best, gpc(headers))
}

/// Whether decision `a` should win over `b`: later, then fewer categories, then the lower
/// category bits and id, so that the outcome never depends on header order.
fn preferred(a: &Decision, b: &Decision) -> bool {
    let key = |d: &Decision| {
        (
            std::cmp::Reverse(d.decided_at),
            d.granted.len(),
            d.granted.bits(),
            d.id.0,
        )
    };
    key(a) < key(b)
}

/// Whether the request carries `Sec-GPC: 1` (Global Privacy Control).
pub(crate) fn gpc(headers: &HeaderMap) -> bool {
    headers
        .get(&SEC_GPC)
        .is_some_and(|v| v.as_bytes().trim_ascii() == b"1")
}

/// Whether the request loads a page: a document or frame navigation by `Sec-Fetch-Dest`, or,
/// from a browser that does not send it, an `Accept` that asks for HTML.
pub(crate) fn is_navigation(headers: &HeaderMap) -> bool {
    match headers.get(&SEC_FETCH_DEST) {
        Some(dest) => matches!(dest.as_bytes(), b"document" | b"iframe" | b"frame"),
        None => headers
            .get_all(ACCEPT)
            .iter()
            .any(|accept| memchr::memmem::find(accept.as_bytes(), b"text/html").is_some()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(n, v)| {
                (
                    http::HeaderName::from_static(n),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn gpc_is_exactly_one() {
        assert!(gpc(&headers(&[("sec-gpc", "1")])));
        assert!(gpc(&headers(&[("sec-gpc", " 1 ")])));
        for other in ["0", "true", "", "11"] {
            assert!(!gpc(&headers(&[("sec-gpc", other)])), "{other}");
        }
        assert!(!gpc(&HeaderMap::new()));
    }

    #[test]
    fn navigations() {
        assert!(is_navigation(&headers(&[("sec-fetch-dest", "document")])));
        assert!(is_navigation(&headers(&[("sec-fetch-dest", "iframe")])));
        assert!(!is_navigation(&headers(&[
            ("sec-fetch-dest", "empty"),
            ("accept", "text/html")
        ])));
        assert!(is_navigation(&headers(&[(
            "accept",
            "text/html,application/xhtml+xml"
        )])));
        assert!(!is_navigation(&headers(&[("accept", "application/json")])));
        assert!(!is_navigation(&HeaderMap::new()));
    }
}
