//! Eight bytes at a time in a `u64` ("SIMD within a register"), for the consent cookie's short
//! fields, read on every request that needs the consent, where a byte loop's branches cost more
//! than the arithmetic and a `memchr` call's setup more than the search. (Tried for the HTML
//! scanner's searches too, without gain: see BENCHMARKS.md.) Bytes are read little-endian: byte `i` of the
//! input is bits `8 * i .. 8 * i + 8` of the word, and a flag for it is its high bit.

pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
pub(crate) const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// `byte` in every lane.
pub(crate) const fn splat(byte: u8) -> u64 {
    ONES * byte as u64
}

/// Eight bytes as a little-endian word; a short tail is padded with zero bytes.
pub(crate) fn word_at(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..at + 8) {
        Some(chunk) => {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            u64::from_le_bytes(word)
        }
        None => bytes
            .get(at..)
            .unwrap_or_default()
            .iter()
            .rev()
            .fold(0, |word, b| word << 8 | u64::from(*b)),
    }
}

/// The high bit of every byte of `word` that is zero, and of no other (exact, unlike the
/// shorter borrow trick, whose later bytes can be wrong).
pub(crate) fn zero_bytes(word: u64) -> u64 {
    let low7 = (word & !HIGH_BITS).wrapping_add(!HIGH_BITS);
    !(low7 | word | !HIGH_BITS)
}

/// The high bit of every byte of `word` equal to `byte`.
pub(crate) fn bytes_equal(word: u64, byte: u8) -> u64 {
    zero_bytes(word ^ splat(byte))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn flags(f: impl Fn(u8) -> bool, bytes: [u8; 8]) -> u64 {
        bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| f(**b))
            .fold(0, |mask, (i, _)| mask | 0x80 << (8 * i))
    }

    proptest! {
        #[test]
        fn lane_tests_agree_with_byte_tests(bytes in any::<[u8; 8]>(), byte in any::<u8>()) {
            let word = u64::from_le_bytes(bytes);
            prop_assert_eq!(zero_bytes(word), flags(|b| b == 0, bytes));
            prop_assert_eq!(bytes_equal(word, byte), flags(|b| b == byte, bytes));
        }

        #[test]
        fn words_pad_short_tails_with_zeros(bytes in proptest::collection::vec(any::<u8>(), 0..20), at in 0usize..24) {
            let mut expected = [0u8; 8];
            for (i, e) in expected.iter_mut().enumerate() {
                *e = bytes.get(at + i).copied().unwrap_or(0);
            }
            prop_assert_eq!(word_at(&bytes, at), u64::from_le_bytes(expected));
        }
    }
}
