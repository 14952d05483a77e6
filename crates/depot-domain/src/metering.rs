//! The metering hook: how the data plane hands usage to whoever bills it.
//!
//! The data plane's metering layer counts every request, and billing aggregates the counts,
//! but neither crate may depend on the other (STYLE.md §2–3). This trait is the seam: the
//! data plane calls it, `depot-billing` implements it, `depot-api` connects the two.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::usage::{UsageCounters, UsageKey};

/// Receives usage as the data plane measures it.
///
/// # Contract
///
/// - `record` is called on the request path, once per request or per small batch, so an
///   implementation must be cheap: add to an in-memory aggregate and flush in the background,
///   never wait on a database per call.
/// - Records are additive. The same key may be recorded many times; the sink sums them.
/// - `at` is when the usage happened (the request's completion), used to place the counters
///   in the right billing period even if they are flushed later.
/// - An error is reported to the caller, which logs it: the request it measured has already
///   been served and is not failed because metering was.
///
/// ```
/// use async_trait::async_trait;
/// use chrono::{DateTime, Utc};
/// use depot_domain::{UsageCounters, UsageKey, UsageSink, UsageSinkError};
/// use std::sync::Mutex;
///
/// /// Sums everything in memory (a test double).
/// #[derive(Default)]
/// struct Totals(Mutex<UsageCounters>);
///
/// #[async_trait]
/// impl UsageSink for Totals {
///     async fn record(
///         &self,
///         _key: &UsageKey,
///         _at: DateTime<Utc>,
///         counters: &UsageCounters,
///     ) -> Result<(), UsageSinkError> {
///         let mut totals = self.0.lock().map_err(|_| UsageSinkError::Unavailable("poisoned".into()))?;
///         totals.merge(counters);
///         Ok(())
///     }
/// }
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait UsageSink: Send + Sync {
    /// Adds `counters` to the usage of `key` at instant `at`.
    async fn record(
        &self,
        key: &UsageKey,
        at: DateTime<Utc>,
        counters: &UsageCounters,
    ) -> Result<(), UsageSinkError>;
}

/// Why a [`UsageSink`] did not take a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageSinkError {
    /// The sink cannot take records right now (buffer full, store down); a retry may succeed.
    #[error("usage sink unavailable: {0}")]
    Unavailable(String),
    /// The sink refuses this record (for example, an unknown user); retrying will not help.
    #[error("usage record rejected: {0}")]
    Rejected(String),
}
