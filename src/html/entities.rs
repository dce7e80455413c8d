//! Character references in attribute values, decoded as a browser decodes them before the
//! value is used as a URL.
//!
//! Only references that produce ASCII are in the table: a tracker's host or path is ASCII, so a
//! reference to any other character cannot make a value match a rule, whether it is decoded or
//! not.

use std::borrow::Cow;

/// Named references that decode to an ASCII character (from the WHATWG list). The ones marked
/// `legacy` are also recognised without their `;`.
const NAMED: &[(&str, u8, bool)] = &[
    ("amp", b'&', true),
    ("AMP", b'&', true),
    ("apos", b'\'', false),
    ("ast", b'*', false),
    ("bsol", b'\\', false),
    ("colon", b':', false),
    ("comma", b',', false),
    ("commat", b'@', false),
    ("DiacriticalGrave", b'`', false),
    ("dollar", b'$', false),
    ("equals", b'=', false),
    ("excl", b'!', false),
    ("grave", b'`', false),
    ("gt", b'>', true),
    ("GT", b'>', true),
    ("Hat", b'^', false),
    ("lbrace", b'{', false),
    ("lbrack", b'[', false),
    ("lcub", b'{', false),
    ("lowbar", b'_', false),
    ("lpar", b'(', false),
    ("lsqb", b'[', false),
    ("lt", b'<', true),
    ("LT", b'<', true),
    ("midast", b'*', false),
    ("NewLine", b'\n', false),
    ("num", b'#', false),
    ("percnt", b'%', false),
    ("period", b'.', false),
    ("plus", b'+', false),
    ("quest", b'?', false),
    ("quot", b'"', true),
    ("QUOT", b'"', true),
    ("rbrace", b'}', false),
    ("rbrack", b']', false),
    ("rcub", b'}', false),
    ("rpar", b')', false),
    ("rsqb", b']', false),
    ("semi", b';', false),
    ("sol", b'/', false),
    ("Tab", b'\t', false),
    ("UnderBar", b'_', false),
    ("verbar", b'|', false),
    ("vert", b'|', false),
    ("VerticalLine", b'|', false),
];

/// The attribute value with its character references decoded. Borrowed when it has none.
///
/// Characters outside ASCII are written as UTF-8; references the table does not know are kept
/// as written (see the module note).
pub(crate) fn decode_attribute(value: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memchr(b'&', value) else {
        return Cow::Borrowed(value);
    };
    let mut out = Vec::with_capacity(value.len());
    out.extend_from_slice(&value[..first]);
    let mut i = first;
    while i < value.len() {
        if value[i] != b'&' {
            let next = memchr::memchr(b'&', &value[i..]).map_or(value.len(), |n| i + n);
            out.extend_from_slice(&value[i..next]);
            i = next;
            continue;
        }
        match reference(&value[i + 1..]) {
            Some((len, ch)) => {
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
                i += 1 + len;
            }
            None => {
                out.push(b'&');
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// Decodes the reference that follows a `&`: its length (without the `&`) and character.
fn reference(rest: &[u8]) -> Option<(usize, char)> {
    if rest.first() == Some(&b'#') {
        return numeric(rest);
    }
    let name_len = rest
        .iter()
        .position(|b| !b.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let name = &rest[..name_len];
    if rest.get(name_len) == Some(&b';') {
        if let Some((_, ch, _)) = NAMED.iter().find(|(n, _, _)| n.as_bytes() == name) {
            return Some((name_len + 1, char::from(*ch)));
        }
    }
    // A legacy reference without `;`: the longest legacy name the text starts with, unless
    // it runs on into an alphanumeric or `=` (then it is not decoded, in attributes).
    let (legacy, ch, _) = NAMED
        .iter()
        .filter(|(n, _, legacy)| *legacy && name.starts_with(n.as_bytes()))
        .max_by_key(|(n, _, _)| n.len())?;
    let after = rest.get(legacy.len());
    if after.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'=') {
        return None;
    }
    Some((legacy.len(), char::from(*ch)))
}

/// `#123;` or `#x7B;` (the `;` optional), with the spec's replacements for invalid numbers.
fn numeric(rest: &[u8]) -> Option<(usize, char)> {
    let (hex, digits_from) = match rest.get(1) {
        Some(b'x' | b'X') => (true, 2),
        _ => (false, 1),
    };
    let radix = if hex { 16 } else { 10 };
    let digits = rest[digits_from..]
        .iter()
        .take_while(|b| (**b as char).is_digit(radix))
        .count();
    if digits == 0 {
        return None;
    }
    let mut value: u32 = 0;
    for b in &rest[digits_from..digits_from + digits] {
        let digit = (*b as char).to_digit(radix).unwrap_or(0);
        value = value.saturating_mul(radix).saturating_add(digit);
    }
    let mut len = digits_from + digits;
    if rest.get(len) == Some(&b';') {
        len += 1;
    }
    let ch = match value {
        0 => '\u{FFFD}',
        0x80..=0x9F => windows_1252(value),
        _ => char::from_u32(value).unwrap_or('\u{FFFD}'),
    };
    Some((len, ch))
}

/// The characters the spec substitutes for C1 controls. None is ASCII, so the exact mapping
/// cannot change a match; a stand-in keeps the value non-ASCII as it is in a browser.
fn windows_1252(_value: u32) -> char {
    '\u{FFFD}'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(s: &str) -> String {
        String::from_utf8(decode_attribute(s.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn named_numeric_and_legacy_references() {
        assert_eq!(
            decode("https&colon;&sol;&sol;www&period;google-analytics&period;com/a.js"),
            "https://www.google-analytics.com/a.js"
        );
        assert_eq!(decode("&#104;&#x74;&#X74;p&#115"), "https");
        assert_eq!(decode("a&amp;b&ampc&amp=d&amp/"), "a&b&ampc&amp=d&/");
        assert_eq!(decode("&unknown; &#; &#x; &"), "&unknown; &#; &#x; &");
        assert_eq!(decode("&#0;&#x110000;&#128;"), "\u{FFFD}\u{FFFD}\u{FFFD}");
        assert_eq!(decode("&#99999999999999999999;"), "\u{FFFD}");
        assert!(matches!(decode_attribute(b"plain"), Cow::Borrowed(_)));
    }
}
