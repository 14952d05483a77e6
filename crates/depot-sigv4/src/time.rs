//! The two date forms SigV4 speaks (`20150830T123600Z` and `20150830`), without a calendar crate.
//!
//! SigV4 needs only UTC formatting and parsing of one fixed layout, so a few lines of civil-date
//! arithmetic keep this crate's dependencies to HTTP and cryptography.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::SigV4Error;

/// An instant formatted as SigV4 wants it: `YYYYMMDD'T'HHMMSS'Z'`, always UTC, whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AmzDate {
    /// Seconds since the Unix epoch.
    secs: u64,
}

impl AmzDate {
    /// The instant, truncated to whole seconds. Instants before 1970 become the epoch.
    pub fn from_system_time(time: SystemTime) -> Self {
        let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Self { secs }
    }

    /// The instant as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.secs)
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> u64 {
        self.secs
    }

    /// Parses `YYYYMMDD'T'HHMMSS'Z'`.
    pub fn parse(text: &str) -> Result<Self, SigV4Error> {
        let invalid = || SigV4Error::InvalidDate(text.chars().take(32).collect());
        let b = text.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return Err(invalid());
        }
        let num = |range: std::ops::Range<usize>| -> Result<u64, SigV4Error> {
            let digits = &b[range];
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(invalid());
            }
            Ok(digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
        };
        let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
        let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
        if !(1970..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(invalid());
        }
        let days = days_from_civil(year, month, day);
        Ok(Self {
            secs: days * 86_400 + hour * 3_600 + minute * 60 + second,
        })
    }

    /// `YYYYMMDD`, the date of the credential scope.
    pub fn date_stamp(self) -> String {
        let (y, m, d) = civil_from_days(self.secs / 86_400);
        format!("{y:04}{m:02}{d:02}")
    }
}

impl std::fmt::Display for AmzDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = civil_from_days(self.secs / 86_400);
        let rem = self.secs % 86_400;
        write!(
            f,
            "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
            rem / 3_600,
            rem % 3_600 / 60,
            rem % 60
        )
    }
}

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), for years
/// from 1970 on.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
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
    fn formats_and_parses_known_instants() {
        for (secs, text) in [
            (0, "19700101T000000Z"),
            (1_440_938_160, "20150830T123600Z"),
            (951_782_400, "20000229T000000Z"),
            (253_402_300_799, "99991231T235959Z"),
        ] {
            let date = AmzDate { secs };
            assert_eq!(date.to_string(), text);
            assert_eq!(AmzDate::parse(text), Ok(date));
        }
        assert_eq!(
            AmzDate {
                secs: 1_440_938_160
            }
            .date_stamp(),
            "20150830"
        );
    }

    #[test]
    fn rejects_impossible_dates() {
        for bad in [
            "",
            "20150830T123600",
            "20150830 123600Z",
            "2015083OT123600Z",
            "20150230T000000Z",
            "20190229T000000Z",
            "20151301T000000Z",
            "20150830T240000Z",
            "20150830T126000Z",
            "19691231T235959Z",
            "+0150830T123600Z",
        ] {
            assert!(AmzDate::parse(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn round_trips_every_second(secs in 0u64..253_402_300_800) {
            let date = AmzDate { secs };
            proptest::prop_assert_eq!(AmzDate::parse(&date.to_string()), Ok(date));
        }
    }
}
