//! `StorageSize`: how much a bucket stores now, at its peak, and integrated over time.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::string_form::parse_plain_decimal;

/// Nanoseconds in an hour: the integral is kept in byte-hours, time is measured in nanoseconds.
const NANOS_PER_HOUR: u64 = 3_600 * 1_000_000_000;

/// A bucket's storage over time, as ostor's bucket listing reports it
/// (`"size": {"current", "hmax", "h_integral", "last_ts"}`).
///
/// - `current`: bytes stored now;
/// - `hmax`: the peak of `current` since the counter started or was last
///   [reset](StorageSize::reset_peak) — what peak-based billing charges;
/// - `h_integral`: the integral of `current` over time, in byte-hours — what average-based
///   billing charges (divide by the hours of a period to get the average bytes stored);
/// - `last_ts`: when the values were last brought up to date.
///
/// Storage is a step function: between two updates the size is what the earlier update set.
/// [`StorageSize::advance`] therefore adds `current × (now − last_ts)` to the integral
/// *before* taking the new size. The product is computed exactly in `u128` byte-nanoseconds
/// and only then converted to byte-hours as a [`Decimal`], so no update — however frequent or
/// short — is lost to rounding; the only rounding is `Decimal`'s 28th significant digit.
/// No floats are involved.
///
/// ```
/// use chrono::{DateTime, TimeDelta, Utc};
/// use depot_domain::{Decimal, StorageSize};
///
/// let start: DateTime<Utc> = "2024-01-01T00:00:00Z".parse()?;
/// let mut size = StorageSize::new(start);
/// size.advance(start, 1_000)?;                          // upload 1000 bytes
/// size.advance(start + TimeDelta::hours(2), 4_000)?;    // 2 h at 1000 B, then 4000 B
/// size.advance(start + TimeDelta::minutes(150), 0)?;    // 30 min at 4000 B, then empty
///
/// assert_eq!(size.h_integral(), Decimal::from(4_000)); // 2000 + 2000 byte-hours
/// assert_eq!(size.hmax_bytes(), 4_000);
/// assert_eq!(size.current_bytes(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageSize {
    current_bytes: u64,
    hmax_bytes: u64,
    h_integral: Decimal,
    last_ts: DateTime<Utc>,
}

/// Why a [`StorageSize`] could not be built or advanced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageSizeError {
    /// `advance` was called with an instant before the last update.
    #[error("storage size was last updated at {last_ts}; cannot advance to the earlier {now}")]
    TimeWentBackwards {
        /// When the size was last updated.
        last_ts: DateTime<Utc>,
        /// The earlier instant `advance` was called with.
        now: DateTime<Utc>,
    },
    /// The integral no longer fits in a [`Decimal`] (about 7.9 × 10^28 byte-hours).
    #[error("storage integral overflowed")]
    IntegralOverflow,
    /// The peak is below the current size, which a real history cannot produce.
    #[error("storage peak {hmax_bytes} is below the current size {current_bytes}")]
    PeakBelowCurrent {
        /// The current size given.
        current_bytes: u64,
        /// The peak given.
        hmax_bytes: u64,
    },
    /// The integral is negative, which a real history cannot produce.
    #[error("storage integral must not be negative")]
    NegativeIntegral,
    /// The integral's text is not a plain decimal number.
    #[error("invalid storage integral {0:?}; expected a plain decimal number of byte-hours")]
    InvalidIntegral(String),
}

impl StorageSize {
    /// An empty bucket, first measured at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            current_bytes: 0,
            hmax_bytes: 0,
            h_integral: Decimal::ZERO,
            last_ts: at,
        }
    }

    /// Rebuilds a size from stored or reported values, checking they are consistent.
    pub fn from_parts(
        current_bytes: u64,
        hmax_bytes: u64,
        h_integral: Decimal,
        last_ts: DateTime<Utc>,
    ) -> Result<Self, StorageSizeError> {
        if hmax_bytes < current_bytes {
            return Err(StorageSizeError::PeakBelowCurrent {
                current_bytes,
                hmax_bytes,
            });
        }
        if h_integral.is_sign_negative() && !h_integral.is_zero() {
            return Err(StorageSizeError::NegativeIntegral);
        }
        Ok(Self {
            current_bytes,
            hmax_bytes,
            h_integral: h_integral.abs(),
            last_ts,
        })
    }

    /// Bytes stored as of [`StorageSize::last_ts`].
    pub fn current_bytes(&self) -> u64 {
        self.current_bytes
    }

    /// The largest [`StorageSize::current_bytes`] seen since the counter started or the peak
    /// was last reset.
    pub fn hmax_bytes(&self) -> u64 {
        self.hmax_bytes
    }

    /// The integral of the size over time up to [`StorageSize::last_ts`], in byte-hours.
    pub fn h_integral(&self) -> Decimal {
        self.h_integral
    }

    /// When the values were last brought up to date.
    pub fn last_ts(&self) -> DateTime<Utc> {
        self.last_ts
    }

    /// Brings the integral up to `now` at the old size, then records `new_current_bytes`.
    ///
    /// Calling it with the same size is how a reader brings the integral up to date without
    /// a change. `now` may equal `last_ts` (several changes in one instant). On error nothing
    /// is changed.
    ///
    /// # Errors
    ///
    /// [`StorageSizeError::TimeWentBackwards`] if `now` is before `last_ts`: integrating
    /// over negative time would subtract storage that was really held. Callers whose clocks
    /// may step back (several nodes) decide themselves whether to clamp.
    /// [`StorageSizeError::IntegralOverflow`] if the integral would not fit.
    pub fn advance(
        &mut self,
        now: DateTime<Utc>,
        new_current_bytes: u64,
    ) -> Result<(), StorageSizeError> {
        self.h_integral = self.integral_at(now)?;
        self.current_bytes = new_current_bytes;
        self.hmax_bytes = self.hmax_bytes.max(new_current_bytes);
        self.last_ts = now;
        Ok(())
    }

    /// What the integral would be at `now` if the size did not change, without updating.
    pub fn integral_at(&self, now: DateTime<Utc>) -> Result<Decimal, StorageSizeError> {
        let backwards = || StorageSizeError::TimeWentBackwards {
            last_ts: self.last_ts,
            now,
        };
        let elapsed = now.signed_duration_since(self.last_ts);
        // A non-negative `TimeDelta` has non-negative seconds and sub-second nanoseconds, so
        // the conversions fail exactly when time went backwards.
        let seconds = u128::try_from(elapsed.num_seconds()).map_err(|_| backwards())?;
        let subsec_nanos = u128::try_from(elapsed.subsec_nanos()).map_err(|_| backwards())?;
        let elapsed_nanos = seconds * 1_000_000_000 + subsec_nanos;

        let byte_nanos = u128::from(self.current_bytes)
            .checked_mul(elapsed_nanos)
            .ok_or(StorageSizeError::IntegralOverflow)?;
        let whole_hours = i128::try_from(byte_nanos / u128::from(NANOS_PER_HOUR))
            .ok()
            .and_then(|hours| Decimal::try_from_i128_with_scale(hours, 0).ok())
            .ok_or(StorageSizeError::IntegralOverflow)?;
        // The remainder is below one hour of nanoseconds, so it always fits a u64.
        let remainder = u64::try_from(byte_nanos % u128::from(NANOS_PER_HOUR))
            .map_err(|_| StorageSizeError::IntegralOverflow)?;
        let fraction = Decimal::from(remainder)
            .checked_div(Decimal::from(NANOS_PER_HOUR))
            .ok_or(StorageSizeError::IntegralOverflow)?;

        self.h_integral
            .checked_add(whole_hours)
            .and_then(|integral| integral.checked_add(fraction))
            .ok_or(StorageSizeError::IntegralOverflow)
    }

    /// Starts a new peak window: the peak becomes the current size.
    ///
    /// Billing calls this at the start of each period, after reading the previous peak.
    pub fn reset_peak(&mut self) {
        self.hmax_bytes = self.current_bytes;
    }
}

/// The serde form: ostor's field names, with the integral as a decimal string so that no
/// JSON number, and no float, carries it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageSizeWire {
    current: u64,
    hmax: u64,
    h_integral: String,
    last_ts: DateTime<Utc>,
}

impl Serialize for StorageSize {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StorageSizeWire {
            current: self.current_bytes,
            hmax: self.hmax_bytes,
            h_integral: self.h_integral.to_string(),
            last_ts: self.last_ts,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for StorageSize {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = StorageSizeWire::deserialize(deserializer)?;
        let h_integral = parse_plain_decimal(&wire.h_integral).ok_or_else(|| {
            serde::de::Error::custom(StorageSizeError::InvalidIntegral(wire.h_integral.clone()))
        })?;
        StorageSize::from_parts(wire.current, wire.hmax, h_integral, wire.last_ts)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("valid RFC 3339 instant")
    }

    #[test]
    fn many_short_steps_lose_nothing() {
        // 1000 one-millisecond steps at 1000 bytes: exactly 1000 byte-seconds = 1000/3600
        // byte-hours, which truncating each step to whole byte-hours would lose entirely.
        let start = at("2024-01-01T00:00:00Z");
        let mut size = StorageSize::new(start);
        size.advance(start, 1_000).expect("same instant");
        let mut now = start;
        for _ in 0..1_000 {
            now += TimeDelta::milliseconds(1);
            size.advance(now, 1_000).expect("time moves forward");
        }
        let expected = Decimal::from(1_000)
            .checked_div(Decimal::from(3_600))
            .expect("non-zero divisor");
        let error = (size.h_integral() - expected).abs();
        assert!(
            error < Decimal::new(1, 20),
            "integral {} vs {expected}",
            size.h_integral()
        );
    }

    #[test]
    fn integral_at_does_not_mutate() {
        let start = at("2024-01-01T00:00:00Z");
        let mut size = StorageSize::new(start);
        size.advance(start, 10).expect("same instant");
        let later = start + TimeDelta::hours(3);
        assert_eq!(size.integral_at(later), Ok(Decimal::from(30)));
        assert_eq!(size.h_integral(), Decimal::ZERO);
        assert_eq!(size.last_ts(), start);
    }
}
