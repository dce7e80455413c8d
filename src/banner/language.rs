//! Choosing the visitor's language from `Accept-Language` (RFC 9110 §12.5.4, with the basic
//! filtering of RFC 4647 §3.3.1 widened to the primary subtag).

/// Ranges read from one header at most: a header is client input, and real ones list a few.
const MAX_RANGES: usize = 32;

/// The index in `offered` (lowercase language tags) of the language to show: the first
/// range by weight (`q`, then order) that an offered tag matches exactly, or else by primary
/// subtag (`nl-BE` finds `nl`; `pt` finds `pt-br`); `*` and no match give `default`.
pub(crate) fn negotiate(
    accept_language: Option<&[u8]>,
    offered: &[String],
    default: usize,
) -> usize {
    let Some(header) = accept_language.and_then(|h| std::str::from_utf8(h).ok()) else {
        return default;
    };
    let mut ranges: Vec<(u16, usize, &str)> = header
        .split(',')
        .take(MAX_RANGES)
        .enumerate()
        .filter_map(|(order, item)| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let mut weight = 1000;
            for param in parts {
                let (name, value) = param.split_once('=')?;
                if name.trim().eq_ignore_ascii_case("q") {
                    weight = parse_weight(value.trim())?;
                }
            }
            (!tag.is_empty() && weight > 0).then_some((weight, order, tag))
        })
        .collect();
    // Highest weight first; the header's order among equals.
    ranges.sort_by_key(|&(weight, order, _)| (std::cmp::Reverse(weight), order));
    for (_, _, range) in ranges {
        if range == "*" {
            return default;
        }
        if let Some(found) = offered.iter().position(|o| o.eq_ignore_ascii_case(range)) {
            return found;
        }
        let wanted = primary(range);
        if let Some(found) = offered
            .iter()
            .position(|o| wanted.eq_ignore_ascii_case(primary(o)))
        {
            return found;
        }
    }
    default
}

fn primary(tag: &str) -> &str {
    tag.split('-').next().unwrap_or(tag)
}

/// A `qvalue` in thousandths: `0`, `0.5`, `1.000`; anything else is not one.
fn parse_weight(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered() -> Vec<String> {
        ["en", "nl", "de", "fr", "pt-br"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn pick(header: &str) -> &'static str {
        let all = ["en", "nl", "de", "fr", "pt-br"];
        all[negotiate(Some(header.as_bytes()), &offered(), 0)]
    }

    #[test]
    fn exact_then_primary_subtag() {
        assert_eq!(pick("nl"), "nl");
        assert_eq!(pick("NL-be"), "nl");
        assert_eq!(pick("pt"), "pt-br");
        assert_eq!(pick("pt-PT"), "pt-br");
        assert_eq!(pick("de-CH, fr"), "de");
    }

    #[test]
    fn weights_decide_then_order() {
        assert_eq!(pick("fr;q=0.5, de;q=0.9"), "de");
        assert_eq!(pick("fr;q=0.9, de;q=0.9"), "fr");
        assert_eq!(pick("de;q=0, fr;q=0.1"), "fr");
        assert_eq!(pick("sv, nl;q=0.3"), "nl");
        assert_eq!(pick("de;q=0.001"), "de");
    }

    #[test]
    fn fallbacks_to_the_default() {
        assert_eq!(negotiate(None, &offered(), 1), 1);
        assert_eq!(pick("sv, fi"), "en");
        assert_eq!(pick("*"), "en");
        assert_eq!(pick("sv, *;q=0.5, nl;q=0.4"), "en");
        assert_eq!(pick(""), "en");
        assert_eq!(pick("de;q=0"), "en");
    }

    #[test]
    fn malformed_ranges_are_skipped() {
        assert_eq!(pick("de;q=2, fr"), "fr");
        assert_eq!(pick("de;q=abc, nl;q=0.5"), "nl");
        assert_eq!(pick("de;q=0.5555, nl;q=0.5"), "nl");
        assert_eq!(pick("de;q, nl"), "nl");
        assert_eq!(pick(",,;;, nl"), "nl");
        assert_eq!(negotiate(Some(b"\xff\xfe"), &offered(), 2), 2);
    }

    #[test]
    fn weights_parse_as_thousandths() {
        assert_eq!(parse_weight("1"), Some(1000));
        assert_eq!(parse_weight("1.000"), Some(1000));
        assert_eq!(parse_weight("0.5"), Some(500));
        assert_eq!(parse_weight("0.05"), Some(50));
        assert_eq!(parse_weight("0"), Some(0));
        assert_eq!(parse_weight("1.5"), None);
        assert_eq!(parse_weight("-1"), None);
        assert_eq!(parse_weight("0.1234"), None);
    }
}
