//! The host and path a browser would request for an attribute's URL, read the way the WHATWG
//! URL parser reads them: surrounding spaces and embedded tabs and newlines ignored, `\` taken
//! as `/` in http(s) URLs, any number of slashes after the scheme, userinfo and port dropped,
//! percent-encoded host bytes decoded, case folded, a trailing dot ignored.

use std::borrow::Cow;

/// Where a URL points. Borrowed from the attribute value when it needs no normalising.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    /// Lowercase host, without port, userinfo or trailing dot. Empty for the page's own host
    /// when no `<base>` changed it.
    pub(crate) host: Cow<'a, [u8]>,
    /// The path, `\` turned into `/`, without query or fragment.
    pub(crate) path: Cow<'a, [u8]>,
}

impl Target<'_> {
    fn into_owned(self) -> Target<'static> {
        Target {
            host: Cow::Owned(self.host.into_owned()),
            path: Cow::Owned(self.path.into_owned()),
        }
    }
}

/// The document's base: where relative URLs point.
#[derive(Clone, Debug, Default)]
pub(crate) struct Base {
    /// `None` until a `<base href>` names another host: relative URLs are first-party.
    host: Option<Vec<u8>>,
    /// The base path up to its last `/`.
    dir: Vec<u8>,
}

impl Base {
    /// A base set by `<base href="…">`.
    pub(crate) fn from_href(href: &[u8]) -> Base {
        let page = Base::default();
        match resolve(href, &page) {
            Some(target) => {
                let dir_len = target
                    .path
                    .iter()
                    .rposition(|b| *b == b'/')
                    .map_or(0, |n| n + 1);
                Base {
                    host: (!target.host.is_empty()).then(|| target.host.to_vec()),
                    dir: target.path[..dir_len].to_vec(),
                }
            }
            None => Base::default(),
        }
    }
}

/// Schemes whose URLs have a host and in which `\` counts as `/`.
fn is_special(scheme: &[u8]) -> bool {
    [&b"http"[..], b"https", b"ws", b"wss", b"ftp"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
}

fn is_slash(b: u8) -> bool {
    b == b'/' || b == b'\\'
}

/// Resolves an (entity-decoded) attribute value. `None` for URLs that fetch nothing from a
/// host (`data:`, `javascript:`, `mailto:`, ...).
pub(crate) fn resolve<'a>(value: &'a [u8], base: &'a Base) -> Option<Target<'a>> {
    match clean(value) {
        Cow::Borrowed(value) => resolve_clean(value, base),
        Cow::Owned(value) => resolve_clean(&value, base).map(Target::into_owned),
    }
}

fn resolve_clean<'a>(value: &'a [u8], base: &'a Base) -> Option<Target<'a>> {
    let scheme_end = value
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')));
    if let Some(n) = scheme_end {
        if n > 0 && value[0].is_ascii_alphabetic() && value[n] == b':' {
            if !is_special(&value[..n]) {
                return None;
            }
            let after = &value[n + 1..];
            let slashes = after.iter().take_while(|b| is_slash(**b)).count();
            return Some(authority(&after[slashes..]));
        }
    }
    if value.len() >= 2 && is_slash(value[0]) && is_slash(value[1]) {
        return Some(authority(&value[2..]));
    }
    let path = path_of(value);
    let path = if path.first() == Some(&b'/') {
        path
    } else {
        let mut joined = base.dir.clone();
        if joined.is_empty() {
            joined.push(b'/');
        }
        joined.extend_from_slice(&path);
        Cow::Owned(joined)
    };
    let host = match &base.host {
        Some(host) => Cow::Borrowed(&host[..]),
        None => Cow::Borrowed(&b""[..]),
    };
    Some(Target { host, path })
}

/// Removes leading and trailing C0 controls and spaces, and tabs and newlines anywhere.
fn clean(value: &[u8]) -> Cow<'_, [u8]> {
    let start = value.iter().position(|b| *b > b' ').unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| *b > b' ')
        .map_or(start, |n| n + 1);
    let value = &value[start..end];
    if value.iter().any(|b| matches!(b, b'\t' | b'\n' | b'\r')) {
        Cow::Owned(
            value
                .iter()
                .copied()
                .filter(|b| !matches!(b, b'\t' | b'\n' | b'\r'))
                .collect(),
        )
    } else {
        Cow::Borrowed(value)
    }
}

fn authority(rest: &[u8]) -> Target<'_> {
    let end = rest
        .iter()
        .position(|b| matches!(b, b'/' | b'\\' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    let host_port = match authority.iter().rposition(|b| *b == b'@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    let host = if host_port.first() == Some(&b'[') {
        let close = host_port.iter().position(|b| *b == b']');
        &host_port[..close.map_or(host_port.len(), |n| n + 1)]
    } else {
        match host_port.iter().rposition(|b| *b == b':') {
            Some(colon) => &host_port[..colon],
            None => host_port,
        }
    };
    let plain =
        !host.iter().any(|b| b.is_ascii_uppercase() || *b == b'%') && host.last() != Some(&b'.');
    let host = if plain {
        Cow::Borrowed(host)
    } else {
        let mut host = percent_decode(host);
        host.make_ascii_lowercase();
        if host.last() == Some(&b'.') {
            host.pop();
        }
        Cow::Owned(host)
    };
    Target {
        host,
        path: path_of(&rest[end..]),
    }
}

/// The path part of what follows the authority (or of a relative URL), `\` as `/`.
fn path_of(rest: &[u8]) -> Cow<'_, [u8]> {
    let end = rest
        .iter()
        .position(|b| matches!(b, b'?' | b'#'))
        .unwrap_or(rest.len());
    let path = &rest[..end];
    if path.contains(&b'\\') {
        Cow::Owned(
            path.iter()
                .map(|b| if *b == b'\\' { b'/' } else { *b })
                .collect(),
        )
    } else {
        Cow::Borrowed(path)
    }
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' && i + 2 < input.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_path(value: &str) -> Option<(String, String)> {
        resolve(value.as_bytes(), &Base::default()).map(|t| {
            (
                String::from_utf8(t.host.into_owned()).unwrap(),
                String::from_utf8(t.path.into_owned()).unwrap(),
            )
        })
    }

    fn hp(host: &str, path: &str) -> Option<(String, String)> {
        Some((host.into(), path.into()))
    }

    #[test]
    fn hosts_as_browsers_read_them() {
        let tracker = "www.google-analytics.com";
        for url in [
            "https://www.google-analytics.com/analytics.js",
            "//www.google-analytics.com/analytics.js",
            "  \\\\www.google-analytics.com\\analytics.js ",
            "HTTPS:///WWW.Google-Analytics.COM./analytics.js?x#y",
            "https://user:pw@www.google-analytics.com:443/analytics.js",
            "ht\ntps://www.google-analy\ttics.com/analytics.js",
            "https:\\/www.%67oogle-analytics.com/analytics.js",
            "http:www.google-analytics.com/analytics.js",
        ] {
            assert_eq!(host_path(url), hp(tracker, "/analytics.js"), "{url:?}");
        }
        assert_eq!(host_path("https://[::1]:8080/x"), hp("[::1]", "/x"));
        assert_eq!(host_path("data:text/html,hi"), None);
        assert_eq!(host_path("javascript:alert(1)"), None);
        assert_eq!(host_path("/local/a.js"), hp("", "/local/a.js"));
        assert_eq!(host_path("a.js"), hp("", "/a.js"));
        assert_eq!(host_path("https://x.test"), hp("x.test", ""));
    }

    #[test]
    fn base_href_moves_relative_urls() {
        let base = Base::from_href(b"https://cdn.tracker.test/lib/");
        let target = resolve(b"t.js", &base).unwrap();
        assert_eq!(&*target.host, b"cdn.tracker.test");
        assert_eq!(&*target.path, b"/lib/t.js");
        let target = resolve(b"/x.js", &base).unwrap();
        assert_eq!(&*target.path, b"/x.js");
    }
}
