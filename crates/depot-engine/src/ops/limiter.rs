//! The rate limiter's state in the database, for `depot-api` nodes that enforce limits
//! together: a token bucket per operation class and a bandwidth clock, each decided by one
//! statement on the database's clock (see `repo::limiter`).

use std::time::Duration;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::repo::limiter::{self as state, MICRO, TokenBucket};

/// The fastest rate kept exactly: a million operations (or bytes) a second. Faster ones are
/// held to it, which no single scope reaches; it keeps the refill's arithmetic inside 63 bits.
const MAX_MICRO_RATE: i64 = MICRO * MICRO;

/// The longest wait a reservation answers, as the in-memory limiter: a rate too small to
/// express is as good as closed.
const MAX_WAIT_US: i64 = u32::MAX as i64 * MICRO;

/// `value` in millionths, within `1..=MAX_MICRO_RATE`; `None` if it is not a positive number.
fn micro(value: f64) -> Option<i64> {
    (value.is_finite() && value > 0.0).then(|| {
        (value * MICRO as f64)
            .round()
            .clamp(1.0, MAX_MICRO_RATE as f64) as i64
    })
}

impl Engine {
    /// Takes one operation from the token bucket `key`, which refills at `per_second` and
    /// holds at most `burst` operations (full when first used); whether one was left. A rate
    /// that is not a positive number limits nothing.
    pub async fn take_limiter_token(
        &self,
        key: &str,
        per_second: f64,
        burst: f64,
    ) -> Result<bool, EngineError> {
        let Some(refill_per_second) = micro(per_second) else {
            return Ok(true);
        };
        let capacity = micro(burst).unwrap_or(MICRO).max(MICRO);
        // Idle this long, the bucket is full; at most 10^18 µs with the bounds above.
        let fill_us = (capacity as f64 / refill_per_second as f64 * MICRO as f64).ceil();
        let bucket = TokenBucket {
            capacity,
            refill_per_second,
            fill_us: fill_us as i64,
        };
        let _gate = self.write_gate().await;
        state::take_token(self.db(), key, bucket).await
    }

    /// Reserves the sending of `bytes` on the bandwidth clock `key`, limited to
    /// `bytes_per_second`, after every earlier reservation on it by any node; returns how long
    /// to wait before sending them. A rate that is not a positive number limits nothing.
    pub async fn reserve_limiter_bandwidth(
        &self,
        key: &str,
        bytes: u64,
        bytes_per_second: f64,
    ) -> Result<Duration, EngineError> {
        if !(bytes_per_second.is_finite() && bytes_per_second > 0.0) {
            return Ok(Duration::ZERO);
        }
        let cost_us = (bytes as f64 / bytes_per_second * MICRO as f64)
            .ceil()
            .min(MAX_WAIT_US as f64) as i64;
        let _gate = self.write_gate().await;
        let wait_us = state::reserve_time(self.db(), key, cost_us, MAX_WAIT_US).await?;
        Ok(Duration::from_micros(wait_us.clamp(0, MAX_WAIT_US) as u64))
    }
}
