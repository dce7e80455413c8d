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

/// The name a `Set-Cookie` value's cookie will come back under, read the way a browser reads it
/// (RFC 6265bis, 5.7): the text before the first `=` of the part before the first `;`, trimmed
/// of white space, whatever bytes it holds (`track[id]` is a name to a browser, if not to RFC
/// 6265). A nameless cookie (no `=` there, or nothing before it) is sent back as its bare value,
/// which the server then reads as `name=value` again, so the value up to its first `=` is the
/// name it will be taken for. `None` only when that is empty too.
pub(crate) fn set_cookie_name(value: &[u8]) -> Option<&[u8]> {
    // A plain loop: names are a few bytes long, shorter than `memchr`'s setup.
    let name = match value.iter().position(|b| *b == b'=' || *b == b';') {
        Some(at) if value[at] == b'=' => trim(&value[..at]),
        _ => &[],
    };
    let name = if name.is_empty() {
        let pair_end = memchr::memchr(b';', value).unwrap_or(value.len());
        let bare_value = trim(&value[..pair_end]);
        let bare_value = bare_value.strip_prefix(b"=").map_or(bare_value, trim);
        trim(&bare_value[..memchr::memchr(b'=', bare_value).unwrap_or(bare_value.len())])
    } else {
        name
    };
    (!name.is_empty()).then_some(name)
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
        let name = |v: &'static [u8]| set_cookie_name(v).map(String::from_utf8_lossy);
        assert_eq!(name(b"_ga=GA1.1; Path=/").as_deref(), Some("_ga"));
        assert_eq!(name(b" sid\t=x").as_deref(), Some("sid"));
        assert_eq!(name(b"track[id]=1").as_deref(), Some("track[id]"));
        assert_eq!(name(b"a b=c").as_deref(), Some("a b"));
        assert_eq!(name(b"\xff=1").as_deref(), Some("\u{fffd}"));
        // Nameless cookies come back as their bare value, read as `name=value` by the server.
        assert_eq!(name(b"=_ga=GA1.1.123; Path=/").as_deref(), Some("_ga"));
        assert_eq!(name(b"_gid").as_deref(), Some("_gid"));
        assert_eq!(name(b"flag; a=b").as_deref(), Some("flag"));
        assert_eq!(name(b"=value").as_deref(), Some("value"));
        assert_eq!(name(b"="), None);
        assert_eq!(name(b" ; Path=/"), None);
    }
}
