//! Who may post a choice, and where the visitor is sent back to.
//!
//! Consent must not be forgeable from another site, and the endpoint must never become an open
//! redirect: both decisions are made here from request headers alone.

use http::header::{HOST, ORIGIN, REFERER};
use http::{HeaderMap, Uri};

use crate::config::normalize_origin;

/// Why a submission was refused as cross-site.
pub(crate) type Refusal = &'static str;

/// Accepts a submission unless the browser says it comes from another site: `Sec-Fetch-Site`
/// of `cross-site` or `same-site`, or an `Origin` other than the request's own host, or, on a
/// site served over HTTPS (`https_site`, known from the consent cookie being `Secure`), an
/// `http://` origin, which anyone on the network path could have injected into. Origins in
/// `allowed` are accepted in every case. Requests without either header (not from a browser, or
/// from an old one) are accepted: a browser that sends neither cannot be told apart.
pub(crate) fn check_same_origin(
    headers: &HeaderMap,
    uri: &Uri,
    allowed: &[String],
    https_site: bool,
) -> Result<(), Refusal> {
    if headers.get_all(ORIGIN).iter().nth(1).is_some() {
        return Err("consent can only be given on this site (several Origin headers)");
    }
    let origin = headers.get(ORIGIN).map(|v| v.to_str().unwrap_or("null"));
    let normalized = origin.and_then(normalize_origin);
    let allowed_origin = normalized
        .as_deref()
        .is_some_and(|o| allowed.iter().any(|a| a == o));
    let from_another_site = headers
        .get_all(&crate::request::SEC_FETCH_SITE)
        .iter()
        .any(|v| matches!(v.as_bytes(), b"cross-site" | b"same-site"));
    if from_another_site && !allowed_origin {
        return Err("consent can only be given on this site (Sec-Fetch-Site says otherwise)");
    }
    if origin.is_none() || allowed_origin {
        return Ok(());
    }
    let Some(origin) = normalized else {
        return Err("consent can only be given on this site (Origin is opaque or malformed)");
    };
    if https_site && origin.starts_with("http://") {
        return Err("consent can only be given on this site over HTTPS (Origin is http://)");
    }
    match request_host(headers, uri) {
        Some(host) if same_authority(&origin, &host) => Ok(()),
        _ => Err(
            "consent can only be given on this site (Origin differs from Host; behind a proxy that rewrites Host, add the site's origin to allowed_origins)",
        ),
    }
}

/// The host (and port) the request was sent to: `Host`, or the URI's authority (HTTP/2).
fn request_host(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    match headers.get(HOST) {
        Some(host) => host.to_str().ok().map(str::to_ascii_lowercase),
        None => uri.authority().map(|a| a.as_str().to_ascii_lowercase()),
    }
}

/// Whether a normalized origin (`scheme://host[:port]`) names `host` (`host[:port]`, lowercase),
/// with the scheme's default port implied on either side.
fn same_authority(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let host = host.strip_suffix(default_port).unwrap_or(host);
    authority == host
}

/// The longest path (with query) the endpoint redirects to.
const MAX_RETURN_PATH: usize = 2048;

/// `path` if it is a same-origin absolute path a browser cannot read as another host: it starts
/// with one `/`, and holds only visible ASCII without `\` (which browsers read as `/`).
pub(crate) fn safe_return_path(path: &str) -> Option<&str> {
    let bytes = path.as_bytes();
    let safe = bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && bytes.len() <= MAX_RETURN_PATH
        && bytes.iter().all(|b| b.is_ascii_graphic() && *b != b'\\');
    safe.then_some(path)
}

/// Where a form submission sends the visitor: `return_to` if safe, else the path of a
/// same-origin `Referer`, else `/`.
pub(crate) fn return_location<'a>(
    return_to: Option<&'a str>,
    headers: &'a HeaderMap,
    uri: &Uri,
) -> &'a str {
    if let Some(path) = return_to.and_then(safe_return_path) {
        return path;
    }
    headers
        .get(REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|referer| same_origin_referer_path(referer, headers, uri))
        .unwrap_or("/")
}

fn same_origin_referer_path<'a>(
    referer: &'a str,
    headers: &HeaderMap,
    uri: &Uri,
) -> Option<&'a str> {
    let (scheme, rest) = referer.split_once("://")?;
    let path_start = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(path_start);
    let origin = normalize_origin(&format!("{scheme}://{authority}"))?;
    let host = request_host(headers, uri)?;
    if !same_authority(&origin, &host) {
        return None;
    }
    let path = path.split('#').next().unwrap_or_default();
    safe_return_path(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn uri() -> Uri {
        Uri::from_static("/consent")
    }

    #[test]
    fn same_origin_rules() {
        let allowed = vec!["https://www.example.com".to_string()];
        let ok: &[&[(&str, &str)]] = &[
            &[("host", "example.com")],
            &[],
            &[("host", "example.com"), ("origin", "https://example.com")],
            &[
                ("host", "example.com:443"),
                ("origin", "https://EXAMPLE.com"),
            ],
            &[
                ("host", "localhost:3000"),
                ("origin", "http://localhost:3000"),
                ("sec-fetch-site", "same-origin"),
            ],
            &[
                ("host", "backend:8080"),
                ("origin", "https://www.example.com"),
                ("sec-fetch-site", "same-site"),
            ],
            &[("host", "example.com"), ("sec-fetch-site", "none")],
        ];
        for case in ok {
            assert_eq!(
                check_same_origin(&headers(case), &uri(), &allowed, false),
                Ok(()),
                "{case:?}"
            );
        }
        let refused: &[&[(&str, &str)]] = &[
            &[("host", "example.com"), ("sec-fetch-site", "cross-site")],
            &[
                ("host", "example.com"),
                ("sec-fetch-site", "same-site"),
                ("origin", "https://a.example.com"),
            ],
            &[("host", "example.com"), ("origin", "https://evil.com")],
            &[("host", "example.com"), ("origin", "null")],
            &[
                ("host", "example.com"),
                ("origin", "http://example.com:8080"),
            ],
            &[
                ("host", "example.com:8080"),
                ("origin", "http://example.com"),
            ],
            &[("origin", "https://example.com")],
            &[
                ("host", "example.com"),
                ("origin", "https://example.com"),
                ("origin", "https://evil.com"),
            ],
            &[
                ("host", "example.com"),
                ("sec-fetch-site", "same-origin"),
                ("sec-fetch-site", "cross-site"),
            ],
        ];
        for case in refused {
            assert!(
                check_same_origin(&headers(case), &uri(), &allowed, false).is_err(),
                "{case:?}"
            );
        }
        let h2 = Uri::from_static("https://example.com/consent");
        let origin_only = headers(&[("origin", "https://example.com")]);
        assert_eq!(check_same_origin(&origin_only, &h2, &[], true), Ok(()));
        // A site served over HTTPS refuses an http:// origin of its own host.
        let downgraded = headers(&[("host", "example.com"), ("origin", "http://example.com")]);
        assert_eq!(check_same_origin(&downgraded, &uri(), &[], false), Ok(()));
        assert!(check_same_origin(&downgraded, &uri(), &[], true).is_err());
        let local = ["http://localhost:3000".to_string()];
        let listed = headers(&[("host", "example.com"), ("origin", "http://localhost:3000")]);
        assert_eq!(check_same_origin(&listed, &uri(), &local, true), Ok(()));
    }

    #[test]
    fn return_paths_never_leave_the_site() {
        for good in ["/", "/a/b?c=d#e", "/%2F%2Fevil.com", "/.//x"] {
            assert_eq!(safe_return_path(good), Some(good));
        }
        for bad in [
            "",
            "https://evil.com",
            "//evil.com",
            "/\\evil.com",
            "/a\\b",
            "\\\\evil.com",
            "/a\tb",
            "/a\r\nLocation: x",
            "/é",
            "javascript:alert(1)",
            " /a",
        ] {
            assert_eq!(safe_return_path(bad), None, "{bad:?}");
        }
        assert_eq!(
            safe_return_path(&format!("/{}", "a".repeat(MAX_RETURN_PATH))),
            None
        );
    }

    #[test]
    fn return_location_falls_back_to_referer_then_root() {
        let with_referer = headers(&[
            ("host", "example.com"),
            ("referer", "https://example.com/page?x=1#f"),
        ]);
        assert_eq!(
            return_location(Some("/there"), &with_referer, &uri()),
            "/there"
        );
        assert_eq!(
            return_location(Some("//evil.com"), &with_referer, &uri()),
            "/page?x=1"
        );
        assert_eq!(return_location(None, &with_referer, &uri()), "/page?x=1");
        let foreign = headers(&[
            ("host", "example.com"),
            ("referer", "https://evil.com/page"),
        ]);
        assert_eq!(return_location(None, &foreign, &uri()), "/");
        let bare = headers(&[("host", "example.com"), ("referer", "https://example.com")]);
        assert_eq!(return_location(None, &bare, &uri()), "/");
        let sneaky = headers(&[
            ("host", "example.com"),
            ("referer", "https://example.com//evil.com"),
        ]);
        assert_eq!(return_location(None, &sneaky, &uri()), "/");
    }
}
