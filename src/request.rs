//! Facts about a request that several parts of the layer ask for.

use std::sync::Arc;

use http::header::ACCEPT;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::codec::Codec;
use crate::config::Settings;
use crate::consent::{Categories, CategorySet, Consent, Decision};
use crate::cookies::CookieFinder;
use crate::time;

/// Header names built once: looking a header up by `&str` parses the name on every call.
pub(crate) static SEC_GPC: HeaderName = HeaderName::from_static("sec-gpc");
pub(crate) static SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Everything needed to read the consent cookie: built once with the layer, and shared by every
/// [`Consent`] it hands out so that one can be read when it is first asked.
#[derive(Debug)]
pub(crate) struct ConsentReader {
    pub(crate) categories: Categories,
    pub(crate) codec: Codec,
    pub(crate) finder: CookieFinder,
}

impl ConsentReader {
    /// The choice the consent cookies hold, if any is valid.
    ///
    /// A request may carry several consent cookies (set for other paths, or on a parent domain
    /// while a host-only one exists). Values that are malformed, wrongly signed, expired or
    /// from another policy revision are ignored. Of the rest, only what every one allows counts:
    /// the categories all of them granted, and the GPC exemption only if all were made with the
    /// signal. The id and time are those of the one that allows least, then the most recent.
    /// Not "the most recent", nor "the one that allows least": with a shared parent domain, a
    /// sibling subdomain could plant a cookie of its own (minted at the endpoint, so validly
    /// signed) for one path, and add a category the visitor never chose or lift GPC's override.
    pub(crate) fn read(&self, cookies: &ConsentCookies) -> Option<Decision> {
        let mut best: Option<Decision> = None;
        let (mut granted, mut gpc): (Option<CategorySet>, bool) = (None, true);
        let mut now = None;
        for header in cookies.iter() {
            self.finder.for_each_value(header.as_bytes(), |value| {
                let now = *now.get_or_insert_with(time::now_secs);
                if let Some(decision) = self.codec.decode(value, &self.categories, now) {
                    granted =
                        Some(granted.map_or(decision.granted, |g| g.intersect(decision.granted)));
                    gpc &= decision.gpc;
                    best = Some(match best {
                        Some(current) if !preferred(&decision, &current) => current,
                        _ => decision,
                    });
                }
            });
        }
        best.map(|decision| Decision {
            granted: granted.unwrap_or(decision.granted),
            gpc,
            ..decision
        })
    }
}

/// The `Cookie` header values of a request that may hold the consent cookie, kept as
/// reference-counted clones until someone asks what the visitor allowed: most responses never
/// need to know.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConsentCookies {
    first: Option<HeaderValue>,
    /// Boxed so that the usual case, one header, keeps `Consent` small enough to move inline.
    more: Option<Box<[HeaderValue]>>,
}

impl ConsentCookies {
    fn iter(&self) -> impl Iterator<Item = &HeaderValue> {
        self.first
            .iter()
            .chain(self.more.iter().flat_map(|more| more.iter()))
    }
}

/// What the layer reads from a request's headers, gathered in one pass over them (three hash
/// lookups cost more than walking a request's dozen headers once).
#[derive(Debug)]
pub(crate) struct RequestFacts {
    /// The `Cookie` values that may hold the consent cookie. One `Cookie` header (HTTP/1.1) is
    /// kept whole and unread; of several (HTTP/2 sends one per cookie) only those that hold the
    /// consent cookie are kept, usually one.
    pub(crate) cookies: ConsentCookies,
    /// `Sec-GPC: 1` was sent.
    pub(crate) gpc: bool,
    /// The request loads a page: a document or frame navigation by `Sec-Fetch-Dest`, or, from
    /// a browser that does not send it, an `Accept` that asks for HTML.
    pub(crate) navigation: bool,
    /// The navigation loads a frame (`Sec-Fetch-Dest: iframe` or `frame`), not a top-level
    /// document: no banner goes into it.
    pub(crate) frame: bool,
    /// The request carries `If-None-Match`.
    pub(crate) conditional: bool,
}

impl RequestFacts {
    pub(crate) fn read(headers: &HeaderMap, finder: &CookieFinder) -> Self {
        let mut cookies = ConsentCookies::default();
        let mut more = Vec::new();
        let mut keep_if_it_holds_the_cookie = |value: &HeaderValue| {
            if finder.occurs_in(value.as_bytes()) {
                match cookies.first {
                    None => cookies.first = Some(value.clone()),
                    Some(_) => more.push(value.clone()),
                }
            }
        };
        let (mut cookie_values, mut first_cookie) = (0, None);
        let mut gpc = false;
        let mut dest = None;
        let mut conditional = false;
        for (name, value) in headers {
            // Matched as text: cheaper than comparing `HeaderName`s, and most names differ
            // from all four in length alone.
            match name.as_str() {
                "cookie" => {
                    cookie_values += 1;
                    match (cookie_values, first_cookie) {
                        (1, _) => first_cookie = Some(value),
                        (2, Some(first)) => {
                            keep_if_it_holds_the_cookie(first);
                            keep_if_it_holds_the_cookie(value);
                        }
                        _ => keep_if_it_holds_the_cookie(value),
                    }
                }
                "sec-gpc" => gpc |= is_gpc_signal(value),
                "sec-fetch-dest" => dest = Some(value),
                "if-none-match" => conditional = true,
                _ => {}
            }
        }
        if cookie_values == 1 {
            cookies.first = first_cookie.cloned();
        }
        if !more.is_empty() {
            cookies.more = Some(more.into_boxed_slice());
        }
        let navigation = match dest {
            Some(dest) => is_navigation_dest(dest),
            None => accepts_html(headers),
        };
        let frame = dest.is_some_and(|d| matches!(d.as_bytes(), b"iframe" | b"frame"));
        RequestFacts {
            cookies,
            gpc,
            navigation,
            frame,
            conditional,
        }
    }
}

/// The visitor's consent for a request, read when first asked.
pub(crate) fn consent(settings: &Arc<Settings>, facts: RequestFacts) -> Consent {
    Consent::unread(settings.clone(), facts.cookies, facts.gpc)
}

/// Whether decision `a` should win over `b`: fewer categories, then the lower category bits,
/// then later, then the lower id, so that the outcome never depends on header order.
fn preferred(a: &Decision, b: &Decision) -> bool {
    let key = |d: &Decision| {
        (
            d.granted.len(),
            d.granted.bits(),
            std::cmp::Reverse(d.decided_at),
            d.id.as_u128(),
        )
    };
    key(a) < key(b)
}

/// Whether the request carries `Sec-GPC: 1` (Global Privacy Control).
pub(crate) fn gpc(headers: &HeaderMap) -> bool {
    headers.get_all(&SEC_GPC).iter().any(is_gpc_signal)
}

fn is_gpc_signal(value: &HeaderValue) -> bool {
    value.as_bytes().trim_ascii() == b"1"
}

fn is_navigation_dest(dest: &HeaderValue) -> bool {
    matches!(dest.as_bytes(), b"document" | b"iframe" | b"frame")
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .any(|accept| memchr::memmem::find(accept.as_bytes(), b"text/html").is_some())
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

    fn is_navigation(headers: &HeaderMap) -> bool {
        RequestFacts::read(headers, &CookieFinder::new("consent")).navigation
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
