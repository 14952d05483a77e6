//! What a run measured: completed operations, bytes, errors and latencies, reduced to the
//! figures the report prints (ops/s, MiB/s, p50, p99).
//!
//! Latencies are kept whole (8 bytes an operation: a 5-second run at 20 k ops/s is under 1 MiB)
//! and sorted once at the end, so percentiles are exact rather than bucketed estimates.

use std::time::Duration;

/// The nearest-rank percentile of an ascending slice: the smallest value such that at least
/// `p` percent of the values are less than or equal to it. `None` for an empty slice.
///
/// Nearest rank rather than interpolation: the answer is always a latency some request really
/// had, and p100 is the maximum.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    // rank = ceil(p/100 · n), at least 1. Integer arithmetic on per-mille avoids float
    // rounding turning an exact rank (p99 of 100 values = the 99th) into the next one.
    let n = sorted.len();
    let per_cent_mille = (p * 1000.0).round() as u128; // p in thousandths of a percent
    let rank = (per_cent_mille * n as u128).div_ceil(100_000).max(1);
    let index = usize::try_from(rank - 1).unwrap_or(usize::MAX).min(n - 1);
    sorted.get(index).copied()
}

/// What one worker, then a whole run, recorded inside the measurement window.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    /// Latency of each operation completed in the window, in nanoseconds.
    latencies_ns: Vec<u64>,
    /// Payload bytes moved by those operations (request body plus response body).
    bytes: u64,
    /// Failed requests, in the window or not: any failure is worth reporting.
    errors: u64,
    /// The first failure's message, to show what went wrong.
    first_error: Option<String>,
}

impl Recorder {
    /// Records a completed operation.
    pub fn record(&mut self, latency: Duration, bytes: u64) {
        self.latencies_ns
            .push(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
        self.bytes += bytes;
    }

    /// Records a failed request.
    pub fn fail(&mut self, error: &dyn std::fmt::Display) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(error.to_string());
        }
    }

    /// Adds another recorder's figures (another worker's) to these.
    pub fn merge(&mut self, other: Recorder) {
        self.latencies_ns.extend(other.latencies_ns);
        self.bytes += other.bytes;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    /// Operations recorded so far.
    pub fn ops(&self) -> u64 {
        self.latencies_ns.len() as u64
    }

    /// Reduces the recording of a window of length `window` to its figures.
    pub fn summarize(mut self, window: Duration) -> Summary {
        self.latencies_ns.sort_unstable();
        let at = |p| percentile(&self.latencies_ns, p).map(Duration::from_nanos);
        Summary {
            ops: self.ops(),
            bytes: self.bytes,
            errors: self.errors,
            first_error: self.first_error.clone(),
            window,
            p50: at(50.0),
            p99: at(99.0),
            max: at(100.0),
        }
    }
}

/// The figures of one run against one server.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Operations completed inside the window.
    pub ops: u64,
    /// Payload bytes those operations moved.
    pub bytes: u64,
    /// Failed requests (warm-up included).
    pub errors: u64,
    /// What the first failure said.
    pub first_error: Option<String>,
    /// The length of the measurement window.
    pub window: Duration,
    /// Median latency; `None` when nothing completed.
    pub p50: Option<Duration>,
    /// 99th-percentile latency.
    pub p99: Option<Duration>,
    /// The slowest operation.
    pub max: Option<Duration>,
}

impl Summary {
    /// Operations per second over the window.
    pub fn ops_per_sec(&self) -> f64 {
        per_second(self.ops as f64, self.window)
    }

    /// Payload throughput over the window, in MiB (2²⁰ bytes) per second.
    pub fn mib_per_sec(&self) -> f64 {
        per_second(self.bytes as f64 / MIB, self.window)
    }
}

/// One mebibyte, as a float for throughput arithmetic.
pub const MIB: f64 = 1_048_576.0;

fn per_second(amount: f64, window: Duration) -> f64 {
    let seconds = window.as_secs_f64();
    if seconds > 0.0 { amount / seconds } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 50.0), Some(50));
        assert_eq!(percentile(&hundred, 99.0), Some(99));
        assert_eq!(percentile(&hundred, 99.5), Some(100));
        assert_eq!(percentile(&hundred, 100.0), Some(100));
        assert_eq!(percentile(&hundred, 0.0), Some(1));
        assert_eq!(percentile(&hundred, 1.0), Some(1));
        assert_eq!(percentile(&hundred, 1.01), Some(2));

        // Ten values: p50 is the 5th, p99 rounds up to the 10th.
        let ten = [10, 20, 30, 40, 50, 60, 70, 80, 90, 1000];
        assert_eq!(percentile(&ten, 50.0), Some(50));
        assert_eq!(percentile(&ten, 99.0), Some(1000));
        assert_eq!(percentile(&ten, 90.0), Some(90));

        assert_eq!(percentile(&[7], 50.0), Some(7));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
        // Out-of-range p is clamped, never an index out of bounds.
        assert_eq!(percentile(&ten, 250.0), Some(1000));
        assert_eq!(percentile(&ten, -3.0), Some(10));
    }

    #[test]
    fn percentile_of_a_large_run_matches_the_definition() {
        // 1..=10_000 shuffled deterministically, then sorted as summarize does.
        let mut values: Vec<u64> = (1..=10_000u64).map(|i| (i * 7919) % 10_007).collect();
        values.sort_unstable();
        let n = values.len();
        // p in per-mille, so the checks are exact integer comparisons.
        for per_mille in [500, 900, 990, 999] {
            let got = percentile(&values, f64::from(per_mille) / 10.0).expect("non-empty");
            // At least p of the values are ≤ the answer…
            let at_or_below = values.iter().filter(|v| **v <= got).count();
            assert!(
                at_or_below * 1000 >= per_mille as usize * n,
                "p{per_mille}‰"
            );
            // …and fewer than p are below it: it is the smallest such value.
            let below = values.iter().filter(|v| **v < got).count();
            assert!(below * 1000 < per_mille as usize * n, "p{per_mille}‰");
        }
    }

    #[test]
    fn summary_rates_and_merging() {
        let mut a = Recorder::default();
        for ms in [1, 2, 3] {
            a.record(Duration::from_millis(ms), 1_048_576);
        }
        let mut b = Recorder::default();
        b.record(Duration::from_millis(10), 1_048_576);
        b.fail(&"connection reset");
        b.fail(&"second");
        a.merge(b);
        let summary = a.summarize(Duration::from_secs(2));
        assert_eq!(summary.ops, 4);
        assert_eq!(summary.errors, 2);
        assert_eq!(summary.first_error.as_deref(), Some("connection reset"));
        assert_eq!(summary.ops_per_sec(), 2.0);
        assert_eq!(summary.mib_per_sec(), 2.0);
        assert_eq!(summary.p50, Some(Duration::from_millis(2)));
        assert_eq!(summary.p99, Some(Duration::from_millis(10)));
        assert_eq!(summary.max, Some(Duration::from_millis(10)));
    }

    #[test]
    fn empty_summary_has_no_latencies_and_zero_rates() {
        let summary = Recorder::default().summarize(Duration::ZERO);
        assert_eq!(summary.ops, 0);
        assert_eq!(summary.p50, None);
        assert_eq!(summary.ops_per_sec(), 0.0);
        assert_eq!(summary.mib_per_sec(), 0.0);
    }
}
