//! Counting usage as it happens: [`UsageMeter`] sums each request into the current period's
//! counters in memory and, when the period ends, writes them as one usage object
//! (`s3-usage-<service id>-<start>-<period>`, see [`Engine::store_usage_report`]).
//!
//! # Periods
//!
//! Periods are aligned to multiples of the configured length since the Unix epoch (with one
//! hour: every hour on the hour), so objects of several nodes line up. The first period of a
//! process starts when the meter is made, and the last one ends when it is closed; both are
//! shorter, and their names say so (`…-2026-11-22T10:17:23.000Z-2557`). A period in which
//! nothing was counted writes no object.
//!
//! # Exactly once, and what a crash loses
//!
//! A request is counted in the period in which it is recorded (when its response ends), and
//! rolling over to the next period happens under the same lock as recording, so each request
//! lands in exactly one period whatever the timing of the background flush. A period's object
//! is written in one transaction; if the database refuses, the counters stay in memory and
//! are tried again, so while the node runs a database outage delays objects but loses
//! nothing. (A commit whose acknowledgement is lost is tried again too, and then counted
//! twice.) [`UsageMeter::close`] ends the current period early and writes it, which is what a
//! clean shutdown does, trying for a few seconds. A crash (or `kill -9`), or a database that
//! refuses throughout the shutdown, loses what was counted since the last period ended — at
//! most one period — and any ended periods the database had not yet taken.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use depot_domain::{ServiceId, UsageCounters, UsageKey};

use crate::engine::Engine;
use crate::error::EngineError;
use crate::types::UsageReport;

/// How soon a write the database refused is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// How often [`UsageMeter::run`] tries to write the last periods when it stops, a second apart.
const ATTEMPTS_ON_STOP: u32 = 5;

/// How a [`UsageMeter`] names and cuts its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageMeterConfig {
    /// This node's service id, in every object's name (see `docs/ostor.md` for nodes that
    /// share a database).
    pub service: ServiceId,
    /// The length of a period in seconds: 1 to 366 days' worth.
    pub period_seconds: u64,
}

/// Per-request usage counters of one node, written as a usage object every period.
///
/// See the [module documentation](self) for how periods are cut and what a crash loses.
pub struct UsageMeter {
    engine: Engine,
    service: ServiceId,
    period: i64,
    state: Mutex<State>,
}

impl std::fmt::Debug for UsageMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageMeter")
            .field("service", &self.service)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

struct State {
    current: Window,
    /// Ended periods with counters, oldest first, not yet in the database.
    ended: VecDeque<Window>,
}

struct Window {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    counters: HashMap<UsageKey, UsageCounters>,
}

impl Window {
    fn empty(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self {
            start,
            end,
            counters: HashMap::new(),
        }
    }

    fn report(&self, service: ServiceId) -> UsageReport {
        let mut items: Vec<_> = self
            .counters
            .iter()
            .map(|(key, counters)| (key.clone(), *counters))
            .collect();
        items.sort_by(|(a, _), (b, _)| a.cmp(b));
        UsageReport {
            service,
            start: self.start,
            period_seconds: u64::try_from((self.end - self.start).num_seconds()).unwrap_or(0),
            items,
        }
    }
}

impl UsageMeter {
    /// How long a period may last: a year is far past any use and keeps the arithmetic in
    /// range.
    pub const MAX_PERIOD_SECONDS: u64 = 366 * 24 * 3600;

    /// A meter whose first period starts now (at the whole second).
    ///
    /// Errors: [`EngineError::InvalidArgument`] for a period outside 1 s ..= 366 days.
    pub fn new(engine: Engine, config: UsageMeterConfig) -> Result<Self, EngineError> {
        Self::starting_at(engine, config, Utc::now())
    }

    /// A meter whose first period starts at `start` (at the whole second before it).
    ///
    /// Errors: as [`UsageMeter::new`].
    pub fn starting_at(
        engine: Engine,
        config: UsageMeterConfig,
        start: DateTime<Utc>,
    ) -> Result<Self, EngineError> {
        if !(1..=Self::MAX_PERIOD_SECONDS).contains(&config.period_seconds) {
            return Err(EngineError::InvalidArgument(format!(
                "a usage period lasts 1 to {} seconds, not {}",
                Self::MAX_PERIOD_SECONDS,
                config.period_seconds
            )));
        }
        let period = i64::try_from(config.period_seconds).unwrap_or(i64::MAX);
        let start = whole_second(start);
        let end = aligned(start, period).end;
        Ok(Self {
            engine,
            service: config.service,
            period,
            state: Mutex::new(State {
                current: Window::empty(start, end),
                ended: VecDeque::new(),
            }),
        })
    }

    /// Adds `counters` to `key`'s usage in the current period. Cheap: one short lock.
    pub fn record(&self, key: UsageKey, counters: &UsageCounters) {
        self.record_at(Utc::now(), key, counters);
    }

    /// [`UsageMeter::record`] as if it were `at`.
    pub fn record_at(&self, at: DateTime<Utc>, key: UsageKey, counters: &UsageCounters) {
        let mut state = self.lock();
        self.roll_over(&mut state, at);
        state
            .current
            .counters
            .entry(key)
            .or_default()
            .merge(counters);
    }

    /// When the current period ends.
    pub fn period_end(&self) -> DateTime<Utc> {
        self.lock().current.end
    }

    /// Writes every ended period's counters; returns how many objects were written. What
    /// the database refuses stays for the next call.
    pub async fn flush(&self) -> Result<usize, EngineError> {
        self.flush_at(Utc::now()).await
    }

    /// [`UsageMeter::flush`] as if it were `now`.
    pub async fn flush_at(&self, now: DateTime<Utc>) -> Result<usize, EngineError> {
        let ended: Vec<Window> = {
            let mut state = self.lock();
            self.roll_over(&mut state, now);
            state.ended.drain(..).collect()
        };
        let mut written = 0;
        let mut windows = ended.into_iter();
        while let Some(window) = windows.next() {
            if let Err(error) = self
                .engine
                .store_usage_report(&window.report(self.service))
                .await
            {
                // Back in front, in order, ahead of anything that ended meanwhile.
                let mut state = self.lock();
                for window in std::iter::once(window).chain(windows).rev() {
                    state.ended.push_front(window);
                }
                return Err(error);
            }
            written += 1;
        }
        Ok(written)
    }

    /// Ends the current period now and writes it with every other ended one: a clean stop.
    /// What is recorded afterwards counts towards a period that is never written.
    pub async fn close(&self) -> Result<usize, EngineError> {
        self.close_at(Utc::now()).await
    }

    /// [`UsageMeter::close`] as if it were `now`.
    pub async fn close_at(&self, now: DateTime<Utc>) -> Result<usize, EngineError> {
        {
            let mut state = self.lock();
            self.roll_over(&mut state, now);
            let current = &state.current;
            // The name counts whole seconds: the period ends at the next one, and lasts one
            // at least.
            let mut end = whole_second(now);
            if end < now {
                end += TimeDelta::seconds(1);
            }
            let end = end
                .max(current.start + TimeDelta::seconds(1))
                .min(current.end);
            let next = Window::empty(end, aligned(end, self.period).end);
            let mut ended = std::mem::replace(&mut state.current, next);
            ended.end = end;
            if !ended.counters.is_empty() {
                state.ended.push_back(ended);
            }
        }
        self.flush_at(now).await
    }

    /// Flushes at the end of every period until `stop` completes, then closes the meter.
    pub async fn run(self: Arc<Self>, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let pending = !self.lock().ended.is_empty();
            let wait = if pending {
                RETRY_AFTER
            } else {
                (self.period_end() - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
            };
            tokio::select! {
                () = &mut stop => break,
                () = tokio::time::sleep(wait) => {}
            }
            match self.flush().await {
                Ok(0) => {}
                Ok(written) => tracing::debug!(written, "usage objects written"),
                Err(error) => {
                    tracing::warn!(%error, "writing usage objects failed; retrying");
                }
            }
        }
        let mut outcome = self.close().await;
        for _ in 1..ATTEMPTS_ON_STOP {
            let Err(error) = &outcome else { break };
            tracing::warn!(%error, "writing the last usage objects failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            outcome = self.flush().await;
        }
        match outcome {
            Ok(written) => tracing::info!(written, "usage counters written"),
            Err(error) => {
                tracing::error!(%error, "writing the last usage objects failed; they are lost");
            }
        }
    }

    /// Moves the current period to the ended ones if `now` is past it.
    fn roll_over(&self, state: &mut State, now: DateTime<Utc>) {
        if now < state.current.end {
            return;
        }
        let next = aligned(now, self.period);
        let ended = std::mem::replace(&mut state.current, next);
        if !ended.counters.is_empty() {
            state.ended.push_back(ended);
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state whole, so a panic elsewhere cannot have
        // left it half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `at` without its fraction of a second.
fn whole_second(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

/// The aligned period of `period` seconds that holds `at`.
fn aligned(at: DateTime<Utc>, period: i64) -> Window {
    let start = at.timestamp().div_euclid(period) * period;
    let start = DateTime::from_timestamp(start, 0).unwrap_or(at);
    Window::empty(start, start + TimeDelta::seconds(period))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_align_to_multiples_of_their_length() {
        let at: DateTime<Utc> = "2026-11-22T10:17:23.400Z".parse().expect("instant");
        let window = aligned(at, 3600);
        assert_eq!(window.start.to_rfc3339(), "2026-11-22T10:00:00+00:00");
        assert_eq!(window.end.to_rfc3339(), "2026-11-22T11:00:00+00:00");
        let window = aligned(at, 7);
        assert_eq!(window.start.timestamp() % 7, 0);
        assert!(window.start <= at && at < window.end);
        assert_eq!(whole_second(at).to_rfc3339(), "2026-11-22T10:17:23+00:00");
    }
}
