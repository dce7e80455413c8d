//! Reading cookie names and values out of `Cookie` and `Set-Cookie` header values, as bytes,
//! without building a jar: the layer needs one cookie by name, or each name once.

use http::HeaderMap;
use http::header::{COOKIE, SET_COOKIE};
use memchr::memmem;

/// Each `name=value` pair of every `Cookie` header in `headers`, in order. Pieces without `=`
/// are skipped; surrounding spaces are trimmed; nothing is decoded.
pub(crate) fn request_pairs(headers: &HeaderMap) -> impl Iterator<Item = (&[u8], &[u8])> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|value| value.as_bytes().split(|b| *b == b';'))
        .filter_map(|pair| {
            let eq = memchr::memchr(b'=', pair)?;
            Some((trim(&pair[..eq]), trim(&pair[eq + 1..])))
        })
}

/// Finds the values of one cookie in `Cookie` header values by jumping to `name=` with
/// `memmem` (built once).
#[derive(Clone, Debug)]
pub(crate) struct CookieFinder {
    /// `name=`
    needle: memmem::Finder<'static>,
}

impl CookieFinder {
    pub(crate) fn new(name: &str) -> Self {
        let needle = format!("{name}=").into_bytes();
        CookieFinder {
            needle: memmem::Finder::new(&needle).into_owned(),
        }
    }

    /// Calls `found` with every value of the cookie in one `Cookie` header value, in order (a
    /// request may carry several cookies of one name, set for other paths or domains).
    /// Surrounding double quotes are removed.
    pub(crate) fn for_each_value<'h>(&self, header: &'h [u8], mut found: impl FnMut(&'h [u8])) {
        let needle_len = self.needle.needle().len();
        let mut from = 0;
        while let Some(offset) = self.needle.find(&header[from..]) {
            let at = from + offset;
            from = at + needle_len;
            if at_pair_start(header, at) {
                let rest = &header[from..];
                let end = memchr::memchr(b';', rest).unwrap_or(rest.len());
                found(unquote(trim(&rest[..end])));
            }
        }
    }

    /// Whether one `Cookie` header value holds the cookie.
    pub(crate) fn occurs_in(&self, header: &[u8]) -> bool {
        let mut any = false;
        self.for_each_value(header, |_| any = true);
        any
    }
}

/// The cookie name a `Set-Cookie` value sets, if it has one that can be read: the token
/// before the first `=` (spaces around it allowed). A value that a browser would read as a
/// nameless cookie, or whose name holds separators, gives `None`.
pub(crate) fn set_cookie_name(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii_start();
    let len = value
        .iter()
        .position(|b| !is_token_byte(*b))
        .unwrap_or(value.len());
    let (name, rest) = value.split_at(len);
    if name.is_empty() || rest.trim_ascii_start().first() != Some(&b'=') {
        return None;
    }
    Some(name)
}

/// Whether any `Set-Cookie` header is present at all, to skip filtering cheaply.
pub(crate) fn has_set_cookie(headers: &HeaderMap) -> bool {
    headers.contains_key(SET_COOKIE)
}

/// Whether `name` is a non-empty RFC 9110 token, as a cookie name must be.
pub(crate) fn is_cookie_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|b| is_token_byte(*b))
}

/// RFC 9110 token characters: letters, digits and ``!#$%&'*+-.^_`|~``.
const TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

fn is_token_byte(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// Whether `name=` found at `at` starts a pair, rather than ending another cookie's name or
/// sitting inside a value.
fn at_pair_start(header: &[u8], at: usize) -> bool {
    header[..at]
        .iter()
        .rev()
        .find(|b| **b != b' ' && **b != b'\t')
        .is_none_or(|b| *b == b';')
}

fn trim(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

fn unquote(value: &[u8]) -> &[u8] {
    match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&'static [u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(COOKIE, HeaderValue::from_bytes(v).unwrap());
        }
        map
    }

    #[test]
    fn finds_values_only_at_pair_starts() {
        let finder = CookieFinder::new("consent");
        let map = headers(&[
            b"xconsent=1; a=consent=2;consent=3",
            b"  consent = 4 ; consent=\"5\"",
            b"consent=",
        ]);
        let mut found: Vec<&[u8]> = Vec::new();
        for header in map.get_all(COOKIE) {
            finder.for_each_value(header.as_bytes(), |v| found.push(v));
        }
        // `consent = 4` has a space before `=`, which is not the cookie `consent`.
        assert_eq!(found, [&b"3"[..], b"5", b""]);
    }

    #[test]
    fn pairs_skip_pieces_without_equals() {
        let map = headers(&[b"a=1; junk; b = 2 ;=3", b"\xff\xfe=\x80"]);
        let pairs: Vec<_> = request_pairs(&map).collect();
        assert_eq!(
            pairs,
            [
                (&b"a"[..], &b"1"[..]),
                (b"b", b"2"),
                (b"", b"3"),
                (b"\xff\xfe", b"\x80")
            ]
        );
    }

    #[test]
    fn set_cookie_names() {
        assert_eq!(set_cookie_name(b"_ga=GA1.1; Path=/"), Some(&b"_ga"[..]));
        assert_eq!(set_cookie_name(b" sid =x"), Some(&b"sid"[..]));
        assert_eq!(set_cookie_name(b"nameless"), None);
        assert_eq!(set_cookie_name(b"=value"), None);
        assert_eq!(set_cookie_name(b"a b=c"), None);
        assert_eq!(set_cookie_name(b"flag; a=b"), None);
        assert_eq!(set_cookie_name(b"\xff=1"), None);
    }
}
