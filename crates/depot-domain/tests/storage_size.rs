//! StorageSize: integrating size over time in byte-hours, peaks, and consistency checks.

use chrono::{DateTime, TimeDelta, Utc};
use depot_domain::{Decimal, StorageSize, StorageSizeError};
use proptest::prelude::*;

fn at(text: &str) -> DateTime<Utc> {
    text.parse()
        .expect("test literal is a valid RFC 3339 instant")
}

fn epoch() -> DateTime<Utc> {
    at("2024-01-01T00:00:00Z")
}

#[test]
fn integrates_a_step_function() {
    let start = epoch();
    let mut size = StorageSize::new(start);
    size.advance(start, 12_288).expect("same instant is fine");
    size.advance(start + TimeDelta::hours(599), 12_288)
        .expect("forward");
    // ostor's sample bucket1: 12288 bytes held for 599 hours.
    assert_eq!(size.h_integral(), Decimal::from(7_360_512));
    assert_eq!(size.current_bytes(), 12_288);
    assert_eq!(size.hmax_bytes(), 12_288);
    assert_eq!(size.last_ts(), start + TimeDelta::hours(599));
}

#[test]
fn integrates_the_old_size_before_taking_the_new_one() {
    let start = epoch();
    let mut size = StorageSize::new(start);
    size.advance(start + TimeDelta::hours(5), 100)
        .expect("forward");
    // Empty for five hours: nothing accrued yet.
    assert_eq!(size.h_integral(), Decimal::ZERO);
    size.advance(start + TimeDelta::hours(6), 0)
        .expect("forward");
    assert_eq!(size.h_integral(), Decimal::from(100));
    size.advance(start + TimeDelta::hours(100), 0)
        .expect("forward");
    assert_eq!(size.h_integral(), Decimal::from(100));
    assert_eq!(size.hmax_bytes(), 100);
}

#[test]
fn fractions_of_an_hour_are_exact() {
    let start = epoch();
    let mut size = StorageSize::new(start);
    size.advance(start, 1_000).expect("same instant");
    size.advance(start + TimeDelta::minutes(90), 1_000)
        .expect("forward");
    assert_eq!(size.h_integral(), Decimal::from(1_500));
    size.advance(
        start + TimeDelta::minutes(90) + TimeDelta::seconds(36),
        1_000,
    )
    .expect("forward");
    assert_eq!(size.h_integral(), Decimal::new(15_100, 1));
    // A single nanosecond at one byte is 1/3.6e12 byte-hours, and is not dropped.
    let mut tiny = StorageSize::new(start);
    tiny.advance(start, 1).expect("same instant");
    tiny.advance(start + TimeDelta::nanoseconds(1), 1)
        .expect("forward");
    assert!(tiny.h_integral() > Decimal::ZERO);
}

#[test]
fn tracks_and_resets_the_peak() {
    let start = epoch();
    let mut size = StorageSize::new(start);
    size.advance(start, 500).expect("same instant");
    size.advance(start + TimeDelta::hours(1), 2_000)
        .expect("forward");
    size.advance(start + TimeDelta::hours(2), 700)
        .expect("forward");
    assert_eq!(size.hmax_bytes(), 2_000);
    size.reset_peak();
    assert_eq!(size.hmax_bytes(), 700);
    size.advance(start + TimeDelta::hours(3), 900)
        .expect("forward");
    assert_eq!(size.hmax_bytes(), 900);
}

#[test]
fn refuses_time_going_backwards_and_changes_nothing() {
    let start = epoch();
    let mut size = StorageSize::new(start);
    size.advance(start, 10).expect("same instant");
    let before = size;
    let earlier = start - TimeDelta::milliseconds(1);
    assert_eq!(
        size.advance(earlier, 99),
        Err(StorageSizeError::TimeWentBackwards {
            last_ts: start,
            now: earlier
        })
    );
    assert_eq!(size, before);
}

#[test]
fn refuses_overflow_and_changes_nothing() {
    let start = epoch();
    let mut size =
        StorageSize::from_parts(u64::MAX, u64::MAX, Decimal::MAX, start).expect("consistent parts");
    let before = size;
    assert_eq!(
        size.advance(start + TimeDelta::hours(1), 0),
        Err(StorageSizeError::IntegralOverflow)
    );
    assert_eq!(size, before);
}

#[test]
fn from_parts_checks_consistency() {
    let start = epoch();
    assert_eq!(
        StorageSize::from_parts(10, 9, Decimal::ZERO, start),
        Err(StorageSizeError::PeakBelowCurrent {
            current_bytes: 10,
            hmax_bytes: 9
        })
    );
    assert_eq!(
        StorageSize::from_parts(0, 0, Decimal::NEGATIVE_ONE, start),
        Err(StorageSizeError::NegativeIntegral)
    );
}

#[test]
fn serde_uses_ostor_names_and_a_string_integral() {
    let size = StorageSize::from_parts(12_288, 46_700_160, Decimal::new(73_605_125, 1), epoch())
        .expect("consistent parts");
    let json = serde_json::to_string(&size).expect("serializes");
    assert_eq!(
        json,
        r#"{"current":12288,"hmax":46700160,"h_integral":"7360512.5","last_ts":"2024-01-01T00:00:00Z"}"#
    );
    assert_eq!(serde_json::from_str::<StorageSize>(&json).ok(), Some(size));

    for invalid in [
        r#"{"current":2,"hmax":1,"h_integral":"0","last_ts":"2024-01-01T00:00:00Z"}"#,
        r#"{"current":1,"hmax":1,"h_integral":"-1","last_ts":"2024-01-01T00:00:00Z"}"#,
        r#"{"current":1,"hmax":1,"h_integral":1.5,"last_ts":"2024-01-01T00:00:00Z"}"#,
    ] {
        assert!(
            serde_json::from_str::<StorageSize>(invalid).is_err(),
            "accepted {invalid}"
        );
    }
}

proptest! {
    /// Splitting an interval into steps at a constant size gives the same integral as one step.
    #[test]
    fn integral_is_additive(
        bytes in 0..=1u64 << 50,
        steps in prop::collection::vec(0..=10_000_000_000i64, 1..20),
    ) {
        let start = epoch();
        let mut stepped = StorageSize::new(start);
        stepped.advance(start, bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut now = start;
        for nanos in &steps {
            now += TimeDelta::nanoseconds(*nanos);
            stepped.advance(now, bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        let mut single = StorageSize::new(start);
        single.advance(start, bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        single.advance(now, bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;

        let difference = (stepped.h_integral() - single.h_integral()).abs();
        prop_assert!(difference <= Decimal::new(1, 12), "{} vs {}", stepped.h_integral(), single.h_integral());
    }

    /// Whole hours at a whole number of bytes integrate to exactly bytes × hours.
    #[test]
    fn whole_hours_are_exact(bytes in any::<u64>(), hours in 0..=100_000i64) {
        let start = epoch();
        let mut size = StorageSize::new(start);
        size.advance(start, bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        size.advance(start + TimeDelta::hours(hours), bytes)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let expected = Decimal::from(u128::from(bytes) * u128::try_from(hours).unwrap_or_default());
        prop_assert_eq!(size.h_integral(), expected);
        prop_assert_eq!(size.hmax_bytes(), bytes);
    }
}
