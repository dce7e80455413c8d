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
    /// The base path: a relative path goes after its last `/`, and a URL of only a query or
    /// fragment keeps it whole.
    path: Vec<u8>,
    /// The base's scheme, lowercase: a URL such as `https:x.js` is relative when it matches.
    scheme: Option<Vec<u8>>,
    /// A `<base href>` set it: later ones are ignored, as browsers do.
    set: bool,
}

impl Base {
    /// A base set by `<base href="…">`, read against the base in force (the page's own, or
    /// in a `srcdoc` document the page's base).
    pub(crate) fn from_href(href: &[u8], within: &Base) -> Base {
        let scheme = scheme_of(&clean(href))
            .map(<[u8]>::to_ascii_lowercase)
            .or_else(|| within.scheme.clone());
        match resolve(href, within) {
            Some(target) => Base {
                host: (!target.host.is_empty()).then(|| target.host.to_vec()),
                path: target.path.to_vec(),
                scheme,
                set: true,
            },
            None => Base {
                set: true,
                ..Base::default()
            },
        }
    }

    pub(crate) fn is_set(&self) -> bool {
        self.set
    }

    /// Relative URLs name another host than the page's: a `<base href>` with a host is in
    /// force (the page's, or in a `srcdoc` document the page's or its own).
    pub(crate) fn names_a_host(&self) -> bool {
        self.host.is_some()
    }

    /// The base a document nested in this one starts with (an `<iframe srcdoc>`'s): this one,
    /// until the nested document's own first `<base href>` replaces it.
    pub(crate) fn for_nested(&self) -> Base {
        Base {
            set: false,
            ..self.clone()
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

/// The scheme of an absolute URL (`https` of `https://…`).
fn scheme_of(value: &[u8]) -> Option<&[u8]> {
    let n = value
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))?;
    (n > 0 && value[0].is_ascii_alphabetic() && value[n] == b':').then(|| &value[..n])
}

fn resolve_clean<'a>(value: &'a [u8], base: &'a Base) -> Option<Target<'a>> {
    let mut value = value;
    if let Some(scheme) = scheme_of(value) {
        if !is_special(scheme) {
            return None;
        }
        let after = &value[scheme.len() + 1..];
        let slashes = after.iter().take_while(|b| is_slash(**b)).count();
        // `https:x.js` and `https:/x.js` against an `https:` base are relative, as the URL
        // parser's "special relative or authority" state reads them.
        let same_scheme = base
            .scheme
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme));
        if slashes >= 2 || !same_scheme {
            return Some(authority(&after[slashes..]));
        }
        value = after;
    }
    // Two or more slashes (either way) start an authority, and the URL parser's "special
    // authority ignore slashes" state skips every further one: `///host/x` loads from `host`.
    let slashes = value.iter().take_while(|b| is_slash(**b)).count();
    if slashes >= 2 {
        return Some(authority(&value[slashes..]));
    }
    let path = if slashes == 1 {
        path_of(value)
    } else if matches!(value.first(), None | Some(b'?' | b'#')) {
        // Only a query or a fragment: the base's own path.
        Cow::Borrowed(if base.path.is_empty() {
            &b"/"[..]
        } else {
            &base.path[..]
        })
    } else {
        // A path relative to the base's directory: joined first, so that its dot segments
        // (`./x`, `a/../x`) are resolved within it.
        let dir = base
            .path
            .iter()
            .rposition(|b| *b == b'/')
            .map_or(0, |n| n + 1);
        let mut joined = base.path[..dir].to_vec();
        if joined.is_empty() {
            joined.push(b'/');
        }
        joined.extend_from_slice(value);
        Cow::Owned(path_of(&joined).into_owned())
    };
    let host = match &base.host {
        Some(host) => Cow::Borrowed(&host[..]),
        None => Cow::Borrowed(&b""[..]),
    };
    Some(Target { host, path })
}

/// Removes leading and trailing C0 controls and spaces, and tabs and newlines anywhere.
fn clean(value: &[u8]) -> Cow<'_, [u8]> {
    // Usually nothing to trim: the first and last bytes say so.
    let trimmed =
        value.first().is_some_and(|b| *b > b' ') && value.last().is_some_and(|b| *b > b' ');
    let value = if trimmed {
        value
    } else {
        let start = value.iter().position(|b| *b > b' ').unwrap_or(value.len());
        let end = value
            .iter()
            .rposition(|b| *b > b' ')
            .map_or(start, |n| n + 1);
        &value[start..end]
    };
    if memchr::memchr3(b'\t', b'\n', b'\r', value).is_some() {
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
    // One pass over the authority: where it ends, its last `@` and `:`, and whether the host
    // needs normalising (upper case, percent-encoding).
    let (mut end, mut at, mut colon, mut unusual) = (rest.len(), None, None, false);
    for (i, b) in rest.iter().enumerate() {
        match b {
            b'/' | b'\\' | b'?' | b'#' => {
                end = i;
                break;
            }
            b'@' => {
                at = Some(i);
                colon = None;
                unusual = false;
            }
            b':' => colon = Some(i),
            b'%' | b'A'..=b'Z' => unusual = true,
            _ => {}
        }
    }
    let host_start = at.map_or(0, |a| a + 1);
    let host_port = &rest[host_start..end];
    let host = if host_port.first() == Some(&b'[') {
        let close = host_port.iter().position(|b| *b == b']');
        &host_port[..close.map_or(host_port.len(), |n| n + 1)]
    } else {
        match colon {
            Some(colon) => &rest[host_start..colon],
            None => host_port,
        }
    };
    let host = if !unusual && host.last() != Some(&b'.') {
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

/// The path part of what follows the authority (or of a relative URL): `\` as `/`, and dot
/// segments (`.`, `..`, `%2e`) resolved as the URL parser resolves them, so that `/a/../tr`
/// is matched as `/tr`.
fn path_of(rest: &[u8]) -> Cow<'_, [u8]> {
    // One pass to the query or fragment: a dot segment starts after a slash (or the start),
    // as `.` or `%2e`.
    let (mut backslash, mut dotted, mut percent) = (false, rest.first() == Some(&b'.'), false);
    let mut previous = 0u8;
    let mut end = rest.len();
    for (i, &b) in rest.iter().enumerate() {
        match b {
            b'?' | b'#' => {
                end = i;
                break;
            }
            b'\\' => backslash = true,
            b'.' if previous == b'/' || previous == b'\\' => dotted = true,
            b'%' => percent = true,
            _ => {}
        }
        previous = b;
    }
    let path = &rest[..end];
    dotted |= percent && path.windows(3).any(|w| w.eq_ignore_ascii_case(b"%2e"));
    if !dotted && !backslash {
        return Cow::Borrowed(path);
    }
    let slashed: Vec<u8> = path
        .iter()
        .map(|b| if *b == b'\\' { b'/' } else { *b })
        .collect();
    if !dotted {
        return Cow::Owned(slashed);
    }
    let absolute = slashed.first() == Some(&b'/');
    let parts: Vec<&[u8]> = slashed.split(|b| *b == b'/').collect();
    let last = parts.len().saturating_sub(1);
    let mut segments: Vec<&[u8]> = Vec::new();
    let mut trailing_slash = false;
    for (i, segment) in parts.iter().enumerate() {
        if i == 0 && absolute {
            continue;
        }
        let lower = segment.to_ascii_lowercase();
        match lower.as_slice() {
            b"." | b"%2e" => trailing_slash = i == last,
            b".." | b".%2e" | b"%2e." | b"%2e%2e" => {
                segments.pop();
                trailing_slash = i == last;
            }
            _ => {
                segments.push(segment);
                trailing_slash = false;
            }
        }
    }
    let mut out = Vec::with_capacity(slashed.len());
    for segment in &segments {
        out.push(b'/');
        out.extend_from_slice(segment);
    }
    if trailing_slash || out.is_empty() {
        out.push(b'/');
    }
    Cow::Owned(out)
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
        for dotted in [
            "https://www.facebook.com/a/../tr?id=1",
            "https://www.facebook.com/a/%2E%2e/tr",
            "https://www.facebook.com/./tr",
            "https://www.facebook.com/../../tr",
            "https://www.facebook.com\\a\\..\\tr",
        ] {
            assert_eq!(host_path(dotted), hp("www.facebook.com", "/tr"), "{dotted}");
        }
        assert_eq!(host_path("https://x.test/a/b/.."), hp("x.test", "/a/"));
        assert_eq!(
            host_path("https://x.test/a.b/c..d"),
            hp("x.test", "/a.b/c..d")
        );
    }

    #[test]
    fn base_href_moves_relative_urls() {
        let base = Base::from_href(b"https://cdn.tracker.test/lib/", &Base::default());
        let target = resolve(b"t.js", &base).unwrap();
        assert_eq!(&*target.host, b"cdn.tracker.test");
        assert_eq!(&*target.path, b"/lib/t.js");
        let target = resolve(b"/x.js", &base).unwrap();
        assert_eq!(&*target.path, b"/x.js");
        // Same scheme as the base, without `//`: relative.
        let target = resolve(b"https:en_US/x.js", &base).unwrap();
        assert_eq!(
            (&*target.host, &*target.path),
            (&b"cdn.tracker.test"[..], &b"/lib/en_US/x.js"[..])
        );
        let target = resolve(b"HTTPS:/x.js", &base).unwrap();
        assert_eq!(
            (&*target.host, &*target.path),
            (&b"cdn.tracker.test"[..], &b"/x.js"[..])
        );
        let target = resolve(b"http:x.test/a.js", &base).unwrap();
        assert_eq!(&*target.host, b"x.test", "another scheme: an authority");
    }

    #[test]
    fn any_number_of_slashes_starts_an_authority() {
        let gtm = "www.googletagmanager.com";
        for url in [
            "///www.googletagmanager.com/gtag/js?id=G-1",
            "\\\\\\www.googletagmanager.com/gtag/js",
            "/\\/www.googletagmanager.com/gtag/js",
            "////www.googletagmanager.com\\gtag/js",
        ] {
            assert_eq!(host_path(url), hp(gtm, "/gtag/js"), "{url:?}");
        }
        let base = Base::from_href(b"///www.googletagmanager.com/", &Base::default());
        let target = resolve(b"gtag/js?id=G-1", &base).unwrap();
        assert_eq!(
            (&*target.host, &*target.path),
            (gtm.as_bytes(), &b"/gtag/js"[..])
        );
    }

    #[test]
    fn relative_paths_resolve_their_dot_segments_within_the_base() {
        let cases: [(&[u8], &[u8], &[u8]); 9] = [
            (
                b"https://www.google.com/pagead/",
                b"./conversion_async.js",
                b"/pagead/conversion_async.js",
            ),
            (
                b"https://www.google.com/pagead/",
                b"x/../conversion.js",
                b"/pagead/conversion.js",
            ),
            (
                b"https://www.google.com/pagead/",
                b"%2e/conversion.js",
                b"/pagead/conversion.js",
            ),
            (
                b"https://www.google.com/pagead/",
                b"../ads/x.js",
                b"/ads/x.js",
            ),
            (b"/app/", b"./matomo/x.js", b"/app/matomo/x.js"),
            (b"/matomo/", b"./matomo.js", b"/matomo/matomo.js"),
            (b"https://www.google.com/pagead", b"?q=1", b"/pagead"),
            (b"https://www.google.com/pagead", b"#f", b"/pagead"),
            (b"https://www.google.com/pagead", b"", b"/pagead"),
        ];
        for (href, url, path) in cases {
            let base = Base::from_href(href, &Base::default());
            let target = resolve(url, &base).unwrap();
            assert_eq!(
                &*target.path,
                path,
                "{} against {}",
                String::from_utf8_lossy(url),
                String::from_utf8_lossy(href)
            );
        }
        // Without a `<base>`, the page is taken to sit at `/`.
        assert_eq!(host_path("./a/../b.js"), hp("", "/b.js"));
        assert_eq!(host_path("?q"), hp("", "/"));
    }
}
