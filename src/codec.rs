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
            id: ConsentId(id),
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
        let len = rest.iter().position(|b| *b == b'.').unwrap_or(rest.len());
        self.at += len + 1;
        Some(&rest[..len])
    }
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

/// At most 19 digits, so the value cannot overflow a `u64`.
fn parse_decimal(field: &[u8], max_digits: usize) -> Option<u64> {
    if field.is_empty() || field.len() > max_digits.min(19) {
        return None;
    }
    let mut value = 0u64;
    let mut bad = false;
    for b in field {
        let digit = b.wrapping_sub(b'0');
        bad |= digit > 9;
        value = value * 10 + u64::from(digit);
    }
    (!bad).then_some(value)
}

fn parse_hex_id(field: &[u8]) -> Option<u128> {
    if field.len() != 32 {
        return None;
    }
    let (high, low) = field.split_at(16);
    Some(u128::from(parse_hex_u64(high)?) << 64 | u128::from(parse_hex_u64(low)?))
}

/// Lowercase hexadecimal digit values; 0xff for every other byte.
const HEX: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

fn parse_hex_u64(digits: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    let mut bad = 0u8;
    for b in digits {
        let digit = HEX[usize::from(*b)];
        bad |= digit;
        value = value << 4 | u64::from(digit & 0x0f);
    }
    (bad & 0xf0 == 0).then_some(value)
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
            id: ConsentId(0x6f1c_0e6a_9d8b_4b2f_8e51_c7a1_d2e3_f405),
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

    proptest! {
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
            let decision = Decision { granted, revision, decided_at: NOW - age, id: ConsentId(id), gpc };
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
            value in "1\\.[a-z+]{0,20}\\.[0-9]{0,11}\\.[0-9]{0,21}\\.[0-9a-f]{30,33}\\.[0-2](\\.[A-Za-z0-9_-]{40,45})?"
        ) {
            let codec = Codec::new(Some(&[1; 32]), 3, HALF_YEAR);
            prop_assert!(codec.decode(value.as_bytes(), &table(), NOW).is_none());
        }
    }
}
