//! Which responses the rewriter takes, and what changes in the headers of those it does.

use http::header::{
    ACCEPT_RANGES, CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE,
};

/// A decoded body goes out as it is: its coding header goes with the length.
pub(crate) fn drop_coding_header(headers: &mut HeaderMap) {
    headers.remove(CONTENT_ENCODING);
}
use http::{HeaderMap, StatusCode};

/// How a rewritable body arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    Identity,
    /// Decoded with the `decompress` feature.
    #[cfg_attr(not(feature = "decompress"), allow(dead_code))]
    Gzip,
    #[cfg_attr(not(feature = "decompress"), allow(dead_code))]
    Deflate,
    #[cfg_attr(not(feature = "decompress"), allow(dead_code))]
    Brotli,
}

/// Why a response is not rewritten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Skip {
    /// No body (`HEAD`, 1xx, 204, 205, 304) or a part of one (206).
    NoBody,
    /// Not `text/html` or `application/xhtml+xml`, or a download.
    NotHtml,
    /// Compressed in a way this build does not decode (any coding without the `decompress`
    /// feature; several codings, or an unknown one, with it).
    Encoded,
    /// A charset that is not ASCII-compatible, where markup is not found byte by byte.
    Charset,
}

/// Whether a response's body goes through the rewriter, and how it is encoded.
pub(crate) fn rewritable(
    status: StatusCode,
    headers: &HeaderMap,
    head: bool,
) -> Result<Coding, Skip> {
    if head || status.is_informational() || matches!(status.as_u16(), 204 | 205 | 206 | 304) {
        return Err(Skip::NoBody);
    }
    let content_type = headers.get(CONTENT_TYPE).ok_or(Skip::NotHtml)?.as_bytes();
    let mut params = content_type.split(|b| *b == b';');
    let essence = params.next().unwrap_or_default().trim_ascii();
    if !(essence.eq_ignore_ascii_case(b"text/html")
        || essence.eq_ignore_ascii_case(b"application/xhtml+xml"))
    {
        return Err(Skip::NotHtml);
    }
    let attachment = headers.get_all(CONTENT_DISPOSITION).iter().any(|value| {
        let value = value.as_bytes().trim_ascii();
        value.len() >= 10 && value[..10].eq_ignore_ascii_case(b"attachment")
    });
    if attachment {
        return Err(Skip::NotHtml);
    }
    let coding = content_coding(headers)?;
    for param in params {
        let Some(eq) = param.iter().position(|b| *b == b'=') else {
            continue;
        };
        if !param[..eq].trim_ascii().eq_ignore_ascii_case(b"charset") {
            continue;
        }
        let charset = param[eq + 1..].trim_ascii();
        let charset = charset
            .strip_prefix(b"\"")
            .and_then(|c| c.strip_suffix(b"\""))
            .unwrap_or(charset)
            .to_ascii_lowercase();
        if NOT_ASCII_COMPATIBLE
            .iter()
            .any(|label| charset == label.as_bytes())
        {
            return Err(Skip::Charset);
        }
        // The first `charset` counts, as in the browser's MIME type parser.
        break;
    }
    Ok(coding)
}

/// The labels of the encodings in which markup is not ASCII (WHATWG Encoding Standard):
/// UTF-16 and ISO-2022-JP, and the ISO-2022 ones that decode to nothing. A label browsers do
/// not know (`utf-32`, say) is ignored, and the page read in an ASCII-compatible encoding: it is
/// rewritten.
const NOT_ASCII_COMPATIBLE: [&str; 15] = [
    "unicodefffe",
    "utf-16be",
    "csunicode",
    "iso-10646-ucs-2",
    "ucs-2",
    "unicode",
    "unicodefeff",
    "utf-16",
    "utf-16le",
    "csiso2022jp",
    "iso-2022-jp",
    "csiso2022kr",
    "iso-2022-kr",
    "iso-2022-cn",
    "iso-2022-cn-ext",
];

/// The body's content coding: identity, or one coding this build decodes.
fn content_coding(headers: &HeaderMap) -> Result<Coding, Skip> {
    let mut found = Coding::Identity;
    for value in headers.get_all(CONTENT_ENCODING) {
        for coding in value
            .as_bytes()
            .split(|b| *b == b',')
            .map(<[u8]>::trim_ascii)
        {
            if coding.is_empty() || coding.eq_ignore_ascii_case(b"identity") {
                continue;
            }
            let known =
                if coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip") {
                    Coding::Gzip
                } else if coding.eq_ignore_ascii_case(b"deflate") {
                    Coding::Deflate
                } else if coding.eq_ignore_ascii_case(b"br") {
                    Coding::Brotli
                } else {
                    return Err(Skip::Encoded);
                };
            if found != Coding::Identity || !cfg!(feature = "decompress") {
                return Err(Skip::Encoded);
            }
            found = known;
        }
    }
    Ok(found)
}

/// A rewritten body has another length, and byte ranges of the original mean nothing in it.
pub(crate) fn drop_length_headers(headers: &mut HeaderMap) {
    headers.remove(CONTENT_LENGTH);
    headers.remove(ACCEPT_RANGES);
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn check(
        status: u16,
        pairs: &[(&'static str, &'static str)],
        head: bool,
    ) -> Result<Coding, Skip> {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                http::HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        rewritable(StatusCode::from_u16(status).unwrap(), &headers, head)
    }

    #[test]
    fn only_html_bodies_are_rewritten() {
        let html = [("content-type", "text/html; charset=utf-8")];
        assert_eq!(check(200, &html, false), Ok(Coding::Identity));
        assert_eq!(
            check(404, &[("content-type", "APPLICATION/XHTML+XML")], false),
            Ok(Coding::Identity)
        );
        assert_eq!(check(200, &html, true), Err(Skip::NoBody));
        for status in [101, 204, 205, 206, 304] {
            assert_eq!(check(status, &html, false), Err(Skip::NoBody), "{status}");
        }
        assert_eq!(
            check(200, &[("content-type", "text/plain")], false),
            Err(Skip::NotHtml)
        );
        assert_eq!(check(200, &[], false), Err(Skip::NotHtml));
        assert_eq!(
            check(
                200,
                &[
                    html[0],
                    ("content-disposition", "Attachment; filename=a.html")
                ],
                false
            ),
            Err(Skip::NotHtml)
        );
        let gzip = check(200, &[html[0], ("content-encoding", "gzip")], false);
        if cfg!(feature = "decompress") {
            assert_eq!(gzip, Ok(Coding::Gzip));
            let br = check(200, &[html[0], ("content-encoding", "br")], false);
            assert_eq!(br, Ok(Coding::Brotli));
        } else {
            assert_eq!(gzip, Err(Skip::Encoded));
        }
        for unknown in ["compress", "zstd", "gzip, br"] {
            let coded = check(200, &[html[0], ("content-encoding", unknown)], false);
            assert_eq!(coded, Err(Skip::Encoded), "{unknown}");
        }
        let identity = check(200, &[html[0], ("content-encoding", "identity")], false);
        assert_eq!(identity, Ok(Coding::Identity));
        for charset in [
            "text/html; charset=UTF-16LE",
            "text/html;charset=\"iso-2022-jp\"",
            "text/html; charset=unicode",
            "text/html; charset=ISO-10646-UCS-2",
        ] {
            assert_eq!(
                check(200, &[("content-type", charset)], false),
                Err(Skip::Charset),
                "{charset}"
            );
        }
        // Labels browsers do not know, or of ASCII-compatible encodings, leave the page read
        // as ASCII-compatible: it is rewritten (a review found `utf-32` pages passed whole,
        // their trackers live).
        for charset in [
            "text/html; charset=utf-32",
            "text/html; charset=UTF-32BE",
            "text/html; charset=unicode-1-1-utf-8",
            "text/html; charset=utf-16x",
            "text/html; charset=utf-8; charset=utf-16",
        ] {
            assert_eq!(
                check(200, &[("content-type", charset)], false),
                Ok(Coding::Identity),
                "{charset}"
            );
        }
    }
}
