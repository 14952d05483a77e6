//! Rate and bandwidth limits (ostor `?ostor-limits`) enforced on S3 requests: an operation
//! over its class's rate is refused with `SlowDown`; a response body over the bandwidth limit is
//! paced to it.
//!
//! The limiter's state sits behind [`LimiterState`]: [`MemoryLimiter`], the default, keeps it
//! in this process, which is exact for one node; [`DatabaseLimiter`] keeps it in the metadata
//! database, where every node sharing the database counts against the same buckets.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use depot_domain::{Limits, OpClass};
use depot_engine::Engine;
use depot_sigv4::BoxError;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Instant;

use crate::body::ResponseBody;
use crate::router::Endpoint;

/// The most a limiter keeps state for before forgetting idle entries.
const MAX_ENTRIES: usize = 100_000;

/// Where the limiter's counters live.
#[async_trait]
pub trait LimiterState: Send + Sync {
    /// Takes one operation from the token bucket `key`, which refills at `per_second` and holds
    /// at most `burst` operations (full at first); `false` if it is empty.
    async fn take_op(&self, key: &str, per_second: f64, burst: f64) -> bool;

    /// Reserves the sending of `bytes` on the bandwidth `key` limited to `bytes_per_second`;
    /// returns how long to wait before sending them. Reservations queue: the bytes of all
    /// downloads sharing `key` together keep to the rate.
    async fn reserve_bytes(&self, key: &str, bytes: u64, bytes_per_second: f64) -> Duration;
}

/// [`LimiterState`] in this process's memory.
#[derive(Debug, Default)]
pub struct MemoryLimiter {
    ops: Mutex<HashMap<String, (f64, Instant)>>,
    bandwidth: Mutex<HashMap<String, Instant>>,
}

#[async_trait]
impl LimiterState for MemoryLimiter {
    async fn take_op(&self, key: &str, per_second: f64, burst: f64) -> bool {
        let now = Instant::now();
        let Ok(mut buckets) = self.ops.lock() else {
            return true;
        };
        if buckets.len() >= MAX_ENTRIES && !buckets.contains_key(key) {
            // Forgetting a bucket refills it: lenient, and only under a flood of keys.
            buckets.clear();
        }
        let (tokens, last) = buckets.entry(key.to_owned()).or_insert((burst, now));
        let refilled = (*tokens + now.duration_since(*last).as_secs_f64() * per_second).min(burst);
        *last = now;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            true
        } else {
            *tokens = refilled;
            false
        }
    }

    async fn reserve_bytes(&self, key: &str, bytes: u64, bytes_per_second: f64) -> Duration {
        let now = Instant::now();
        let Ok(mut clocks) = self.bandwidth.lock() else {
            return Duration::ZERO;
        };
        if clocks.len() >= MAX_ENTRIES && !clocks.contains_key(key) {
            clocks.retain(|_, free_at| *free_at > now);
        }
        let free_at = clocks.entry(key.to_owned()).or_insert(now);
        let start = (*free_at).max(now);
        // A rate too small to express is as good as closed; never panic on it.
        let cost = Duration::try_from_secs_f64(bytes as f64 / bytes_per_second)
            .unwrap_or(Duration::from_secs(u64::from(u32::MAX)));
        *free_at = start + cost;
        *free_at - now
    }
}

/// [`LimiterState`] in the metadata database (see `Engine::take_limiter_token`), shared by
/// every node on it, at one statement per decision and per paced piece of a download.
///
/// A database that does not answer admits the request and sends at once: limits protect the
/// service, and an outage of their counts must not become an outage of the data plane. Each
/// failure is logged.
#[derive(Debug, Clone)]
pub struct DatabaseLimiter {
    engine: Engine,
}

impl DatabaseLimiter {
    /// A limiter counting in `engine`'s database.
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

#[async_trait]
impl LimiterState for DatabaseLimiter {
    async fn take_op(&self, key: &str, per_second: f64, burst: f64) -> bool {
        match self.engine.take_limiter_token(key, per_second, burst).await {
            Ok(admitted) => admitted,
            Err(error) => {
                tracing::warn!(%error, key, "rate limit not checked: the database failed");
                true
            }
        }
    }

    async fn reserve_bytes(&self, key: &str, bytes: u64, bytes_per_second: f64) -> Duration {
        match self
            .engine
            .reserve_limiter_bandwidth(key, bytes, bytes_per_second)
            .await
        {
            Ok(wait) => wait,
            Err(error) => {
                tracing::warn!(%error, key, "bandwidth not paced: the database failed");
                Duration::ZERO
            }
        }
    }
}

/// The class an S3 operation counts in (ostor's `get`, `put`, `list`, `delete`, `default`).
pub fn op_class(endpoint: &Endpoint) -> OpClass {
    use Endpoint as E;
    match endpoint {
        E::GetObject | E::HeadObject | E::GetObjectAcl => OpClass::Get,
        E::PutObject
        | E::CopyObject
        | E::PostObject
        | E::CreateMultipartUpload
        | E::UploadPart { .. }
        | E::UploadPartCopy { .. }
        | E::CompleteMultipartUpload { .. } => OpClass::Put,
        E::ListBuckets
        | E::ListObjects
        | E::ListObjectsV2
        | E::ListObjectVersions
        | E::ListMultipartUploads
        | E::ListParts { .. } => OpClass::List,
        E::DeleteObject | E::DeleteObjects | E::DeleteBucket | E::AbortMultipartUpload { .. } => {
            OpClass::Delete
        }
        _ => OpClass::Other,
    }
}

/// The limits that apply to one request, with the keys their state is kept under.
#[derive(Debug, Default, Clone)]
pub(crate) struct AppliedLimits {
    /// (state key, limits): the user's, then the bucket's.
    scopes: Vec<(String, Limits)>,
}

impl AppliedLimits {
    pub(crate) fn new(
        user: depot_domain::UserId,
        bucket: Option<&depot_domain::BucketName>,
        (user_limits, bucket_limits): (Option<Limits>, Option<Limits>),
    ) -> Self {
        let mut scopes = Vec::new();
        if let Some(limits) = user_limits.filter(|limits| !limits.is_unlimited()) {
            scopes.push((format!("user/{user}"), limits));
        }
        if let (Some(bucket), Some(limits)) = (
            bucket,
            bucket_limits.filter(|limits| !limits.is_unlimited()),
        ) {
            scopes.push((format!("bucket/{bucket}"), limits));
        }
        Self { scopes }
    }

    /// Takes one operation of `class` from every scope; `false` if any is over its rate.
    pub(crate) async fn admit(&self, state: &dyn LimiterState, class: OpClass) -> bool {
        let class_name = match class {
            OpClass::Get => "get",
            OpClass::Put => "put",
            OpClass::List => "list",
            OpClass::Delete => "delete",
            OpClass::Other => "default",
        };
        for (key, limits) in &self.scopes {
            let Some(rate) = limits.ops_per_second(class).and_then(to_f64) else {
                continue;
            };
            // At most one second's worth, and at least one operation.
            if !state
                .take_op(&format!("{key}/ops/{class_name}"), rate, rate.max(1.0))
                .await
            {
                return false;
            }
        }
        true
    }

    /// The bandwidth limits of the scopes: (state key, bytes per second).
    pub(crate) fn bandwidth(&self) -> Vec<(String, f64)> {
        self.scopes
            .iter()
            .filter_map(|(key, limits)| {
                let rate = limits.bandwidth_out_bytes_per_second().and_then(to_f64)?;
                Some((format!("{key}/out"), rate))
            })
            .collect()
    }
}

fn to_f64(value: rust_decimal::Decimal) -> Option<f64> {
    use rust_decimal::prelude::ToPrimitive;
    value.to_f64().filter(|rate| *rate > 0.0)
}

type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;
type Reservation = Pin<Box<dyn Future<Output = Duration> + Send>>;

/// A response body sent no faster than its bandwidth limits: each piece is reserved on every
/// limit and sent once the longest reservation has passed.
pub(crate) struct PacedBody {
    inner: ResponseBody,
    state: Arc<dyn LimiterState>,
    limits: Vec<(String, f64)>,
    /// The piece size: a tenth of a second at the slowest rate, at least 1 KiB.
    piece: usize,
    pending: Bytes,
    stage: Stage,
}

enum Stage {
    Idle,
    Reserving(Reservation, Bytes),
    Waiting(Sleep, Bytes),
}

impl PacedBody {
    pub(crate) fn new(
        inner: ResponseBody,
        state: Arc<dyn LimiterState>,
        limits: Vec<(String, f64)>,
    ) -> Self {
        let slowest = limits
            .iter()
            .map(|(_, rate)| *rate)
            .fold(f64::INFINITY, f64::min);
        let piece = ((slowest / 10.0) as usize).clamp(1024, 1024 * 1024);
        Self {
            inner,
            state,
            limits,
            piece,
            pending: Bytes::new(),
            stage: Stage::Idle,
        }
    }

    fn reserve(&self, bytes: u64) -> Reservation {
        let state = self.state.clone();
        let limits = self.limits.clone();
        Box::pin(async move {
            let mut wait = Duration::ZERO;
            for (key, rate) in &limits {
                wait = wait.max(state.reserve_bytes(key, bytes, *rate).await);
            }
            wait
        })
    }
}

impl Body for PacedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            match &mut this.stage {
                Stage::Waiting(sleep, _) => {
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let Stage::Waiting(_, piece) = std::mem::replace(&mut this.stage, Stage::Idle)
                    else {
                        continue;
                    };
                    return Poll::Ready(Some(Ok(Frame::data(piece))));
                }
                Stage::Reserving(reservation, _) => {
                    let Poll::Ready(wait) = reservation.as_mut().poll(cx) else {
                        return Poll::Pending;
                    };
                    let Stage::Reserving(_, piece) =
                        std::mem::replace(&mut this.stage, Stage::Idle)
                    else {
                        continue;
                    };
                    this.stage = Stage::Waiting(Box::pin(tokio::time::sleep(wait)), piece);
                }
                Stage::Idle if !this.pending.is_empty() => {
                    let take = this.pending.len().min(this.piece);
                    let piece = this.pending.split_to(take);
                    this.stage = Stage::Reserving(this.reserve(piece.len() as u64), piece);
                }
                Stage::Idle => match Pin::new(&mut this.inner).poll_frame(cx) {
                    Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                        Ok(data) => this.pending = data,
                        Err(frame) => return Poll::Ready(Some(Ok(frame))),
                    },
                    other => return other,
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.stage, Stage::Idle) && self.pending.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let mut hint = self.inner.size_hint();
        let buffered = self.pending.len() as u64
            + match &self.stage {
                Stage::Idle => 0,
                Stage::Reserving(_, piece) | Stage::Waiting(_, piece) => piece.len() as u64,
            };
        hint.set_lower(hint.lower() + buffered);
        if let Some(upper) = hint.upper() {
            hint.set_upper(upper + buffered);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn token_bucket_allows_its_burst_then_refuses() {
        let limiter = MemoryLimiter::default();
        assert!(limiter.take_op("k", 1.0, 1.0).await);
        assert!(!limiter.take_op("k", 1.0, 1.0).await);
        assert!(limiter.take_op("other", 1.0, 1.0).await);
    }

    #[tokio::test]
    async fn bandwidth_reservations_queue_behind_each_other() {
        let limiter = MemoryLimiter::default();
        let first = limiter.reserve_bytes("k", 1000, 1000.0).await;
        let second = limiter.reserve_bytes("k", 1000, 1000.0).await;
        assert!(first <= Duration::from_secs(1) && first > Duration::from_millis(900));
        assert!(second > Duration::from_millis(1900), "{second:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn paced_body_takes_size_over_rate() {
        use http_body_util::BodyExt;
        let body = crate::body::full(Bytes::from(vec![7u8; 200 * 1024]));
        let state: Arc<dyn LimiterState> = Arc::new(MemoryLimiter::default());
        let paced = PacedBody::new(body, state, vec![("k".into(), 50.0 * 1024.0)]);
        let started = tokio::time::Instant::now();
        let collected = paced.collect().await.expect("body").to_bytes();
        assert_eq!(collected.len(), 200 * 1024);
        assert!(
            started.elapsed() >= Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
