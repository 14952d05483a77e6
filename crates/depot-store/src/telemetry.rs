//! One log line and one set of metrics per request, written when the response body has been
//! sent (or abandoned), so they carry the bytes really sent and the whole duration.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use depot_domain::{OpClass, UsageCounters, UsageKey};
use depot_engine::UsageMeter;
use depot_sigv4::BoxError;
use http_body::{Body, Frame, SizeHint};

use crate::body::ResponseBody;
use crate::service::Seen;

/// Metric names, Prometheus style.
pub const REQUESTS_TOTAL: &str = "depot_s3_requests_total";
/// Seconds from request to the end of the response body, by operation.
pub const REQUEST_DURATION: &str = "depot_s3_request_duration_seconds";
/// Request payload bytes received (decoded: without aws-chunked framing).
pub const BYTES_IN: &str = "depot_s3_bytes_in_total";
/// Response body bytes sent.
pub const BYTES_OUT: &str = "depot_s3_bytes_out_total";

/// What is known of a request when its response starts.
#[derive(Debug)]
pub(crate) struct RequestRecord {
    pub(crate) request_id: String,
    pub(crate) operation: &'static str,
    pub(crate) bucket: Option<String>,
    pub(crate) method: http::Method,
    pub(crate) status: u16,
    /// Payload bytes read from the request body, counted as they are read.
    pub(crate) uploaded: Arc<AtomicU64>,
    pub(crate) started: Instant,
    /// Where the request is counted for usage statistics, if it is.
    pub(crate) usage: Option<UsageRecorder>,
}

/// Counts one request in the usage meter, exactly once: when its response body ends or is
/// dropped ([`UsageRecorder::record`], with the bytes sent), or — if the request's future is
/// dropped before there is a response (a reset stream, a connection closed mid-upload) — when
/// this is dropped, with nothing downloaded. Requests that named no user are not counted.
pub(crate) struct UsageRecorder {
    meter: Arc<UsageMeter>,
    seen: Arc<Seen>,
    uploaded: Arc<AtomicU64>,
    recorded: bool,
}

impl UsageRecorder {
    pub(crate) fn new(meter: Arc<UsageMeter>, seen: Arc<Seen>, uploaded: Arc<AtomicU64>) -> Self {
        Self {
            meter,
            seen,
            uploaded,
            recorded: false,
        }
    }

    /// Counts the request with `downloaded` response bytes; later calls do nothing.
    pub(crate) fn record(&mut self, downloaded: u64) {
        if std::mem::replace(&mut self.recorded, true) {
            return;
        }
        let Some(user) = self.seen.user.get() else {
            return;
        };
        let mut counters = UsageCounters {
            bytes_uploaded: self.uploaded.load(Ordering::Relaxed),
            bytes_downloaded: downloaded,
            ..UsageCounters::ZERO
        };
        counters.record_op(self.seen.class.get().copied().unwrap_or(OpClass::Other));
        let key = UsageKey {
            user: *user,
            bucket: self.seen.bucket_ref(),
        };
        self.meter.record(key, &counters);
    }
}

impl Drop for UsageRecorder {
    fn drop(&mut self) {
        self.record(0);
    }
}

impl std::fmt::Debug for UsageRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageRecorder")
            .field("recorded", &self.recorded)
            .finish_non_exhaustive()
    }
}

impl RequestRecord {
    fn finish(self, bytes_out: u64, completed: bool) {
        let elapsed = self.started.elapsed();
        let bytes_in = self.uploaded.load(Ordering::Relaxed);
        if let Some(mut usage) = self.usage {
            usage.record(bytes_out);
        }
        let status = self.status.to_string();
        metrics::counter!(REQUESTS_TOTAL, "operation" => self.operation, "status" => status)
            .increment(1);
        metrics::histogram!(REQUEST_DURATION, "operation" => self.operation)
            .record(elapsed.as_secs_f64());
        metrics::counter!(BYTES_IN).increment(bytes_in);
        metrics::counter!(BYTES_OUT).increment(bytes_out);
        tracing::info!(
            request_id = %self.request_id,
            operation = self.operation,
            bucket = self.bucket.as_deref().unwrap_or(""),
            method = %self.method,
            status = self.status,
            bytes_in,
            bytes_out,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            completed,
            "s3 request"
        );
    }
}

/// A response body that counts what it sends and reports the request when it ends.
pub(crate) struct LoggedBody {
    inner: ResponseBody,
    record: Option<RequestRecord>,
    bytes_out: u64,
}

impl LoggedBody {
    pub(crate) fn new(inner: ResponseBody, record: RequestRecord) -> Self {
        Self {
            inner,
            record: Some(record),
            bytes_out: 0,
        }
    }

    fn finish(&mut self, completed: bool) {
        if let Some(record) = self.record.take() {
            record.finish(self.bytes_out, completed);
        }
    }
}

impl Body for LoggedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes_out += data.len() as u64;
                }
                if this.inner.is_end_stream() {
                    this.finish(true);
                }
            }
            Poll::Ready(None) => this.finish(true),
            Poll::Ready(Some(Err(_))) => this.finish(false),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        // A body dropped before its end: the client went away, or it was never polled (HEAD,
        // empty bodies the server does not poll).
        let completed = self.inner.is_end_stream();
        self.finish(completed);
    }
}
