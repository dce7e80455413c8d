//! Wall-clock seconds, their RFC 3339 form, and the cookie-date algorithm, without a
//! date-time dependency.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch; 0 if the clock is set before it.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) struct Rfc3339(pub(crate) u64);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0 / 86_400;
        let secs = self.0 % 86_400;
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

/// The time a `Set-Cookie`'s `Expires` names, in seconds since the Unix epoch (negative before
/// it), read by the cookie-date algorithm browsers use (RFC 6265bis, section 5.1.1): the first
/// token that reads as a time, a day, a month and a year, in whatever order and with whatever
/// delimiters. `None` when a part is missing or out of range (years before 1601 included) or
/// the date does not exist: then the browser ignores the attribute, and so must we.
pub(crate) fn parse_cookie_date(text: &[u8]) -> Option<i64> {
    let is_delimiter =
        |b: u8| matches!(b, 0x09 | 0x20..=0x2f | 0x3b..=0x40 | 0x5b..=0x60 | 0x7b..=0x7e);
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    for token in text.split(|b| is_delimiter(*b)).filter(|t| !t.is_empty()) {
        // A token fills the first part, in this order, that is still missing and that it
        // reads as.
        let _ = fill(&mut time, || hms_time(token))
            || fill(&mut day, || Some(leading_number(token, 1, 2)?.0))
            || fill(&mut month, || month_of(token))
            || fill(&mut year, || Some(leading_number(token, 2, 4)?.0));
    }
    let ((hour, minute, second), day, month, year) = (time?, day?, month?, year?);
    let year = match year {
        70..=99 => year + 1900,
        0..=69 => year + 2000,
        _ => year,
    };
    if !(1..=31).contains(&day) || year < 1601 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    if day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(i64::from(year), i64::from(month), i64::from(day));
    Some(days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second))
}

/// Sets an unset `slot` to what `read` reads; whether it did.
fn fill<T>(slot: &mut Option<T>, read: impl FnOnce() -> Option<T>) -> bool {
    if slot.is_some() {
        return false;
    }
    *slot = read();
    slot.is_some()
}

/// `time-field ":" time-field ":" time-field`, each one or two digits, then nothing or a
/// non-digit.
fn hms_time(token: &[u8]) -> Option<(u32, u32, u32)> {
    let (hour, rest) = leading_number(token, 1, 2)?;
    let (minute, rest) = leading_number(rest.strip_prefix(b":")?, 1, 2)?;
    let (second, _) = leading_number(rest.strip_prefix(b":")?, 1, 2)?;
    Some((hour, minute, second))
}

/// `min` to `max` digits at the start, then nothing or a non-digit: their value, and what
/// follows them.
fn leading_number(token: &[u8], min: usize, max: usize) -> Option<(u32, &[u8])> {
    let digits = token.iter().take_while(|b| b.is_ascii_digit()).count();
    // At most four digits: no overflow.
    (min..=max).contains(&digits).then(|| {
        let value = token[..digits]
            .iter()
            .fold(0, |n, d| n * 10 + u32::from(d - b'0'));
        (value, &token[digits..])
    })
}

/// The month a token's first three letters name, case-insensitively.
fn month_of(token: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let prefix = token.get(..3)?;
    MONTHS
        .iter()
        .position(|m| prefix.eq_ignore_ascii_case(*m))
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn days_in_month(year: u32, month: u32) -> u32 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's civil-to-days algorithm: days since 1970-01-01 (negative before it).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's days-to-civil algorithm, for days since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_dates_are_read_as_browsers_read_them() {
        let date = |text: &str| parse_cookie_date(text.as_bytes());
        // The three forms servers send, all one instant.
        assert_eq!(date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(date("Thursday, 01-Jan-70 00:00:00 GMT"), Some(0));
        assert_eq!(date("Thu Jan  1 00:00:00 1970"), Some(0));
        assert_eq!(date("Wed, 09 Jun 2021 10:18:14 GMT"), Some(1_623_233_894));
        assert_eq!(date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(date("Fri, 01 Jan 2100 00:00:00 GMT"), Some(4_102_444_800));
        assert_eq!(date("01 jan 1601 00:00:00"), Some(-11_644_473_600));
        assert_eq!(date("29 Feb 2000 12:00:00"), Some(951_825_600));
        // Years 70-99 are 19xx, 0-69 are 20xx, however many digits spell them.
        assert_eq!(date("1 Jan 69 00:00:00"), date("1 Jan 2069 00:00:00"));
        assert_eq!(date("Thu, 01 Jan 0001 00:00:00 GMT"), Some(978_307_200));
        // A long run of digits is no token of the date (and overflows nothing).
        assert_eq!(
            date("99999999999999999999 01 Jan 2001 00:00:00"),
            Some(978_307_200)
        );
        for unusable in [
            "1970",
            "",
            "junk",
            "Thu, 01 Jan 1600 00:00:00 GMT",
            "Thu, 01 Jan 0100 00:00:00 GMT",
            "30 Feb 2001 00:00:00",
            "29 Feb 1900 00:00:00",
            "32 Jan 2001 00:00:00",
            "01 Jan 2001 24:00:00",
            "01 Jan 2001 00:60:00",
            "01 Jan 2001",
            "01 Foo 2001 00:00:00",
            "01 Jan 2001 0:0:000",
            "a1970 01 Jan 00:00:00",
        ] {
            assert_eq!(date(unusable), None, "{unusable:?}");
        }
        // `a1970` is no token of the date; the year is the 2099 after it.
        assert_eq!(
            date("a1970 01 Jan 2099 00:00:00 GMT"),
            date("01 Jan 2099 00:00:00")
        );
    }

    proptest::proptest! {
        /// Against the `time` crate (through `cookie`), on dates written the usual way.
        #[test]
        fn cookie_dates_agree_with_the_time_crate(
            year in 1601i32..=9999, month in 1u8..=12, day in 1u8..=31,
            hour in 0u8..24, minute in 0u8..60, second in 0u8..60,
        ) {
            use cookie::time::{Date, Month, PrimitiveDateTime, Time};
            let month_name = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                "Oct", "Nov", "Dec"][usize::from(month - 1)];
            let text = format!("Mon, {day:02} {month_name} {year} {hour:02}:{minute:02}:{second:02} GMT");
            let expected = Month::try_from(month)
                .ok()
                .and_then(|m| Date::from_calendar_date(year, m, day).ok())
                .and_then(|date| Some(PrimitiveDateTime::new(date, Time::from_hms(hour, minute, second).ok()?)))
                .map(|at| at.assume_utc().unix_timestamp());
            proptest::prop_assert_eq!(parse_cookie_date(text.as_bytes()), expected, "{}", text);
        }
    }

    #[test]
    fn civil_days_round_trip() {
        for days in [0u64, 1, 59, 365, 10_957, 11_016, 20_000, 47_482, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y as i64, m as i64, d as i64), days as i64);
        }
    }

    #[test]
    fn known_dates() {
        assert_eq!(Rfc3339(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Rfc3339(951_782_400).to_string(), "2000-02-29T00:00:00Z");
        assert_eq!(Rfc3339(1_764_460_399).to_string(), "2025-11-29T23:53:19Z");
        assert_eq!(Rfc3339(4_102_444_799).to_string(), "2099-12-31T23:59:59Z");
    }
}
