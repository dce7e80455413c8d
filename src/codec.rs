//! The consent cookie's value.
//!
//! ```text
//! 1.analytics+marketing.3.1764460000.6f1c0e6a9d8b4b2f8e51c7a1d2e3f405.0[.SIGNATURE]
//! │ │                   │ │          │                                │  └ base64url HMAC-SHA256 of all before it
//! │ │                   │ │          │                                └ 1 if Sec-GPC: 1 was sent when choosing
//! │ │                   │ │          └ consent id: 128 random bits in hex
//! │ │                   │ └ when: seconds since the Unix epoch
//! │ │                   └ policy revision the choice was made on
//! │ └ granted optional categories, joined by '+', empty when none
//! └ format version
//! ```
//!
//! Every character is a cookie-octet (RFC 6265), so the value needs no quoting or percent-
//! encoding, and JavaScript reads the granted categories with
//! `value.split('.')[1].split('+')`. Decoding is strict: anything out of shape, signed wrongly,
//! made on another policy revision, or older than the configured lifetime yields `None`, which the
//! layer treats as an undecided visitor. It never panics and never allocates.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::consent::{Categories, CategorySet, ConsentId, Decision};
use crate::swar::{HIGH_BITS, ONES, bytes_equal, word_at};

const VERSION: &[u8] = b"1";
const SIGNATURE_LEN: usize = 43;
/// A choice dated further in the future than this is forged or from a broken clock.
const CLOCK_SKEW_SECS: u64 = 24 * 60 * 60;
/// Prefixed to what is signed, so that a site key shared with another use signs nothing else.
const SIGNING_CONTEXT: &[u8] = b"tower-consent cookie v1\0";

/// Reads and writes consent cookie values for one layer configuration.
#[derive(Clone)]
pub(crate) struct Codec {
    /// Keyed once; cloned per use so the key schedule is not redone.
    mac: Option<Hmac<Sha256>>,
    revision: u32,
    max_age_secs: u64,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("signed", &self.mac.is_some())
            .field("revision", &self.revision)
            .field("max_age_secs", &self.max_age_secs)
            .finish()
    }
}

impl Codec {
    /// `key` must be at least 32 bytes (checked by the configuration).
    pub(crate) fn new(key: Option<&[u8]>, revision: u32, max_age_secs: u64) -> Self {
        let mac = key.and_then(|key| {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
            mac.update(SIGNING_CONTEXT);
            Some(mac)
        });
        Codec {
            mac,
            revision,
            max_age_secs,
        }
    }

    pub(crate) fn revision(&self) -> u32 {
        self.revision
    }

    pub(crate) fn encode(&self, decision: &Decision, categories: &Categories) -> String {
        let mut value = String::with_capacity(128);
        value.push_str("1.");
        let mut first = true;
        for index in decision.granted.indices().filter(|i| *i != 0) {
            if let Some(category) = categories.name(index) {
                if !first {
                    value.push('+');
                }
                value.push_str(category.as_str());
                first = false;
            }
        }
        use std::fmt::Write;
        let _ = write!(
            value,
            ".{}.{}.{}.{}",
            decision.revision,
            decision.decided_at,
            decision.id,
            if decision.gpc { '1' } else { '0' }
        );
        if let Some(mac) = &self.mac {
            let mut mac = mac.clone();
            mac.update(value.as_bytes());
            value.push('.');
            base64url_32(&mac.finalize().into_bytes().into(), &mut value);
        }
        value
    }

    /// The decision a cookie value holds, if it is well formed, correctly signed (when signing),
    /// made on the current policy revision and not older than the cookie's lifetime at `now`
    /// (seconds since the Unix epoch).
    pub(crate) fn decode(
        &self,
        value: &[u8],
        categories: &Categories,
        now: u64,
    ) -> Option<Decision> {
        // One forward pass with plain loops: this runs on every request that carries the cookie,
        // and every field is a few bytes long.
        let mut cursor = Cursor { value, at: 0 };
        if cursor.field()? != VERSION {
            return None;
        }
        let granted = cursor.field()?;
        let revision = parse_decimal(cursor.field()?, 10).and_then(|r| u32::try_from(r).ok())?;
        let decided_at = parse_decimal(cursor.field()?, 19)?;
        let id = parse_hex_id(cursor.field()?)?;
        let gpc = match cursor.field()? {
            b"0" => false,
            b"1" => true,
            _ => return None,
        };
        // Everything before the `.` that precedes the signature is signed.
        let signed_len = cursor.at.saturating_sub(1);
        let signature = cursor.field();
        if cursor.field().is_some() || signature.is_some_and(<[u8]>::is_empty) {
            return None;
        }
        if let Some(mac) = &self.mac {
            let signature = signature?;
            let mut mac = mac.clone();
            mac.update(value.get(..signed_len)?);
            let mut expected = String::with_capacity(SIGNATURE_LEN);
            base64url_32(&mac.finalize().into_bytes().into(), &mut expected);
            if !constant_time_eq(expected.as_bytes(), signature) {
                return None;
            }
        }
        if revision != self.revision
            || decided_at > now.saturating_add(CLOCK_SKEW_SECS)
            || now.saturating_sub(decided_at) > self.max_age_secs
        {
            return None;
        }
        Some(Decision {
            granted: parse_categories(granted, categories)?,
            revision,
            decided_at,
            id: ConsentId::from_u128(id),
            gpc,
        })
    }
}

/// Reads the `.`-separated fields of a value front to back, as `split(b'.')` would, keeping
/// the position so the signed part can be found.
struct Cursor<'a> {
    value: &'a [u8],
    /// Start of the next field; past the end once the last field has been read.
    at: usize,
}

impl<'a> Cursor<'a> {
    fn field(&mut self) -> Option<&'a [u8]> {
        let rest = self.value.get(self.at..)?;
        let len = position_of_dot(rest).unwrap_or(rest.len());
        self.at += len + 1;
        Some(&rest[..len])
    }
}

/// The first `.`, found eight bytes at a time: field lengths vary, so a byte loop's exit
/// branch mispredicts at every field.
fn position_of_dot(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < bytes.len() {
        let dots = bytes_equal(word_at(bytes, at), b'.');
        if dots != 0 {
            let found = at + (dots.trailing_zeros() / 8) as usize;
            return (found < bytes.len()).then_some(found);
        }
        at += 8;
    }
    None
}

/// `+`-separated category names; names the site no longer has are left out, `necessary` is
/// implied, and anything that is not a well-formed name makes the whole value malformed.
fn parse_categories(field: &[u8], categories: &Categories) -> Option<CategorySet> {
    let mut set = CategorySet::EMPTY;
    if field.is_empty() {
        return Some(set);
    }
    for name in field.split(|b| *b == b'+') {
        match categories.index_of_bytes(name) {
            Some(0) => {}
            Some(index) => set = set.with(index),
            // Rare: a name the site dropped is ignored, a malformed one voids the value.
            None if is_valid_name_bytes(name) => {}
            None => return None,
        }
    }
    Some(set)
}

fn is_valid_name_bytes(name: &[u8]) -> bool {
    std::str::from_utf8(name).is_ok_and(crate::consent::is_valid_name)
}

/// At most 19 digits, so a valid field cannot overflow a `u64`. The arithmetic wraps because a
/// byte that is not a digit is only noticed at the end (no branch per byte), and until then it
/// may add up to 255.
fn parse_decimal(field: &[u8], max_digits: usize) -> Option<u64> {
    if field.is_empty() || field.len() > max_digits.min(19) {
        return None;
    }
    let mut value = 0u64;
    let mut bad = false;
    for b in field {
        let digit = b.wrapping_sub(b'0');
        bad |= digit > 9;
        value = value.wrapping_mul(10).wrapping_add(u64::from(digit));
    }
    (!bad).then_some(value)
}

/// 32 lowercase hexadecimal digits, eight at a time.
fn parse_hex_id(field: &[u8]) -> Option<u128> {
    if field.len() != 32 {
        return None;
    }
    (0..4).try_fold(0u128, |id, i| {
        Some(id << 32 | u128::from(parse_hex_word(word_at(field, i * 8))?))
    })
}

/// Eight ASCII hexadecimal digits (lowercase), first digit in the lowest byte, as a number.
fn parse_hex_word(word: u64) -> Option<u32> {
    // Bytes at or above `low` get their high bit set by adding `0x80 - low`; bytes above
    // `high` by adding `0x7f - high`. ASCII bytes cannot carry into their neighbours.
    let at_least = |low: u8| word.wrapping_add(ONES * u64::from(0x80 - low)) & HIGH_BITS;
    let above = |high: u8| word.wrapping_add(ONES * u64::from(0x7f - high)) & HIGH_BITS;
    let digits = at_least(b'0') & !above(b'9');
    let letters = at_least(b'a') & !above(b'f');
    if word & HIGH_BITS != 0 || digits | letters != HIGH_BITS {
        return None;
    }
    // '0'..'9' keep their low nibble; 'a'..'f' have 1..6 there and need 9 more.
    let nibbles = (word & (ONES * 0x0f)) + (letters >> 7) * 9;
    // First digit most significant: gather the nibbles pairwise into one 32-bit number.
    let mut n = nibbles.swap_bytes();
    n = (n >> 4 | n) & 0x00ff_00ff_00ff_00ff;
    n = (n >> 8 | n) & 0x0000_ffff_0000_ffff;
    n = (n >> 16 | n) & 0x0000_0000_ffff_ffff;
    u32::try_from(n).ok()
}

fn base64url_32(bytes: &[u8; 32], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut held = 0u32;
    for byte in bytes {
        bits = bits << 8 | u32::from(*byte);
        held += 8;
        while held >= 6 {
            held -= 6;
            out.push(ALPHABET[(bits >> held & 63) as usize] as char);
        }
    }
    if held > 0 {
        out.push(ALPHABET[(bits << (6 - held) & 63) as usize] as char);
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Category;
    use proptest::prelude::*;

    const NOW: u64 = 1_764_460_000;
    const HALF_YEAR: u64 = 180 * 24 * 60 * 60;

    fn table() -> Categories {
        let optional = vec![
            Category::PREFERENCES,
            Category::ANALYTICS,
            Category::MARKETING,
            Category::new("social").unwrap(),
        ];
        Categories::new(optional, CategorySet::EMPTY.with(3))
    }

    fn decision(granted: CategorySet) -> Decision {
        Decision {
            granted,
            revision: 3,
            decided_at: NOW - 10,
            id: ConsentId::from_u128(0x6f1c_0e6a_9d8b_4b2f_8e51_c7a1_d2e3_f405),
            gpc: false,
        }
    }

    fn is_cookie_octet(b: u8) -> bool {
        matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
    }

    #[test]
    fn documented_example_reads_back() {
        let codec = Codec::new(None, 3, HALF_YEAR);
        let value = b"1.analytics+marketing.3.1764460000.6f1c0e6a9d8b4b2f8e51c7a1d2e3f405.0";
        let decoded = codec.decode(value, &table(), NOW).unwrap();
        assert_eq!(decoded.granted, CategorySet::EMPTY.with(2).with(3));
        assert_eq!(decoded.decided_at, 1_764_460_000);
        assert_eq!(
            codec.encode(&decoded, &table()).as_bytes(),
            value.as_slice()
        );
    }

    #[test]
    fn signed_values_verify_and_tampering_is_caught() {
        let codec = Codec::new(Some(&[7; 32]), 3, HALF_YEAR);
        let value = codec.encode(&decision(CategorySet::EMPTY.with(2)), &table());
        assert_eq!(value.rsplit('.').next().unwrap().len(), SIGNATURE_LEN);
        assert!(codec.decode(value.as_bytes(), &table(), NOW).is_some());

        let tampered = value.replacen("analytics", "marketing", 1);
        assert!(codec.decode(tampered.as_bytes(), &table(), NOW).is_none());
        let unsigned = &value[..value.rfind('.').unwrap()];
        assert!(codec.decode(unsigned.as_bytes(), &table(), NOW).is_none());
        let other_key = Codec::new(Some(&[8; 32]), 3, HALF_YEAR);
        assert!(other_key.decode(value.as_bytes(), &table(), NOW).is_none());
    }

    #[test]
    fn revision_and_age_limit_validity() {
        let codec = Codec::new(None, 3, HALF_YEAR);
        let value = codec.encode(&decision(CategorySet::EMPTY.with(1)), &table());
        let bumped = Codec::new(None, 4, HALF_YEAR);
        assert!(bumped.decode(value.as_bytes(), &table(), NOW).is_none());
        let later = NOW + HALF_YEAR + 60;
        assert!(codec.decode(value.as_bytes(), &table(), later).is_none());
        let long_before = NOW - 2 * CLOCK_SKEW_SECS;
        assert!(
            codec
                .decode(value.as_bytes(), &table(), long_before)
                .is_none()
        );
    }

    #[test]
    fn malformed_values_are_undecided() {
        let codec = Codec::new(None, 3, HALF_YEAR);
        let good = "1.analytics.3.1764460000.6f1c0e6a9d8b4b2f8e51c7a1d2e3f405.0";
        assert!(codec.decode(good.as_bytes(), &table(), NOW).is_some());
        let bad: &[&[u8]] = &[
            b"",
            b"1",
            b"2.analytics.3.1764460000.6f1c0e6a9d8b4b2f8e51c7a1d2e3f405.0",
            b"1.Analytics.3.1764460000.6f1c0e6a9d8b4b2f8e51c7a1d2e3f405.0",
            b"1.analytics..3.1764460000.6f1c0e6a9d8b4b2f8e51c7a1d2e3f405.0",
            b"1.analytics+.3.1764460000.6f1c0e6a9d8b4b2f8e51c7a1d2e3f405.0",
            b"1.analytics.+3.1764460000.6f1c0e6a9d8b4b2f8e51c7a1d2e3f405.0",
            b"1.analytics.3.1764460000.6F1C0E6A9D8B4B2F8E51C7A1D2E3F405.0",
            b"1.analytics.3.1764460000.6f1c0e6a9d8b4b2f8e51c7a1d2e3f40.0",
            b"1.analytics.3.1764460000.6f1c0e6a9d8b4b2f8e51c7a1d2e3f405.2",
            b"1.analytics.3.99999999999999999999.6f1c0e6a9d8b4b2f8e51c7a1d2e3f405.0",
            b"1.analytics.3.1764460000.6f1c0e6a9d8b4b2f8e51c7a1d2e3f405.0.sig.extra",
            b"1.analytics.3.1764460000.6f1c0e6a9d8b4b2f8e51c7a1d2e3f405",
            b"1.anal\xffytics.3.1764460000.6f1c0e6a9d8b4b2f8e51c7a1d2e3f405.0",
        ];
        for value in bad {
            assert!(
                codec.decode(value, &table(), NOW).is_none(),
                "{:?}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn categories_the_site_dropped_are_ignored() {
        let codec = Codec::new(None, 3, HALF_YEAR);
        let value = b"1.analytics+retired.3.1764460000.6f1c0e6a9d8b4b2f8e51c7a1d2e3f405.0";
        let decoded = codec.decode(value, &table(), NOW).unwrap();
        assert_eq!(decoded.granted, CategorySet::EMPTY.with(2));
    }

    #[test]
    fn base64url_matches_a_known_vector() {
        let mut out = String::new();
        base64url_32(&[0xff; 32], &mut out);
        assert_eq!(out, "__________________________________________8");
        out.clear();
        let mut counting = [0u8; 32];
        for (i, b) in counting.iter_mut().enumerate() {
            *b = i as u8;
        }
        base64url_32(&counting, &mut out);
        assert_eq!(out, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
    }

    #[test]
    fn word_helpers_match_the_obvious_loops() {
        assert_eq!(position_of_dot(b""), None);
        assert_eq!(position_of_dot(b"abc"), None);
        assert_eq!(position_of_dot(b"abcdefgh.x"), Some(8));
        assert_eq!(parse_hex_word(word_at(b"0123abcf", 0)), Some(0x0123_abcf));
        for bad in [
            &b"0123abcg"[..],
            b"0123ABCF",
            b"0123abc/",
            b"0123abc:",
            b"`123abcf",
            b"0123\xffbcf",
        ] {
            assert_eq!(
                parse_hex_word(word_at(bad, 0)),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    proptest! {
        #[test]
        fn dot_search_and_hex_parsing_agree_with_byte_loops(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(position_of_dot(&bytes), bytes.iter().position(|b| *b == b'.'));
            if bytes.len() >= 8 {
                let chunk = &bytes[..8];
                let expected = chunk.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
                    .then(|| u32::from_str_radix(std::str::from_utf8(chunk).unwrap(), 16).unwrap());
                prop_assert_eq!(parse_hex_word(word_at(chunk, 0)), expected);
            }
        }

        #[test]
        fn hex_words_round_trip(n in any::<u32>()) {
            let text = format!("{n:08x}");
            prop_assert_eq!(parse_hex_word(word_at(text.as_bytes(), 0)), Some(n));
        }

        #[test]
        fn every_decision_round_trips(
            bits in 0u64..32,
            revision in any::<u32>(),
            age in 0u64..HALF_YEAR,
            id in any::<u128>(),
            gpc in any::<bool>(),
            signed in any::<bool>(),
        ) {
            let key = [42u8; 40];
            let codec = Codec::new(signed.then_some(&key[..]), revision, HALF_YEAR);
            let granted = (1..5).filter(|i| bits & (1 << i) != 0)
                .fold(CategorySet::EMPTY, CategorySet::with);
            let decision = Decision { granted, revision, decided_at: NOW - age, id: ConsentId::from_u128(id), gpc };
            let value = codec.encode(&decision, &table());
            prop_assert!(value.bytes().all(is_cookie_octet), "{}", value);
            prop_assert_eq!(codec.decode(value.as_bytes(), &table(), NOW), Some(decision));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(value in proptest::collection::vec(any::<u8>(), 0..200)) {
            for codec in [Codec::new(None, 3, HALF_YEAR), Codec::new(Some(&[1; 32]), 3, HALF_YEAR)] {
                let _ = codec.decode(&value, &table(), NOW);
            }
        }

        #[test]
        fn decoding_near_misses_never_panics(
            value in "1\\.[a-z+]{0,20}\\.[0-9~]{0,11}\\.[0-9~/:]{0,21}\\.[0-9a-f]{30,33}\\.[0-2](\\.[A-Za-z0-9_-]{40,45})?"
        ) {
            let codec = Codec::new(Some(&[1; 32]), 3, HALF_YEAR);
            prop_assert!(codec.decode(value.as_bytes(), &table(), NOW).is_none());
        }
    }
}
