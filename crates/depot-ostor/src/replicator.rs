//! The replication worker: drains the engine's replication queue by copying objects to (and
//! deleting keys at) each bucket's destination, any S3 endpoint, with SigV4-signed requests.
//!
//! Each node runs one [`Replicator`]. It leases due entries from the queue (so nodes sharing a
//! PostgreSQL database never work on one key at once), runs up to
//! [`ReplicatorConfig::concurrency`] copies at a time, and reports each back: done, dropped
//! (the object is gone, or no rule covers it any more), or to be retried after a back-off that
//! doubles from [`ReplicatorConfig::first_retry`] up to [`ReplicatorConfig::max_retry`].
//! A destination that refuses a copy (a 4xx answer: credentials, a missing bucket) marks the
//! object `FAILED`; it is still retried, so fixing the destination heals it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use chrono::Utc;
use depot_domain::{ObjectKey, RemoteEndpoint, ReplicationRule};
use depot_engine::{
    Engine, EngineError, ObjectInfo, ObjectReader, ReplicationOperation, ReplicationOutcome,
    ReplicationTask,
};
use depot_sigv4::{
    Credentials, PayloadMode, SignableBody, SigningParams, uri_encode, uri_encode_path,
};
use depot_store::headers::attribute_headers;
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use tokio::task::JoinSet;

use crate::client::{DEFAULT_REGION, parse_endpoint, parse_error_body, signed_request};

/// How a [`Replicator`] paces itself.
#[derive(Debug, Clone)]
pub struct ReplicatorConfig {
    /// Copies in flight at once.
    pub concurrency: usize,
    /// How often the queue is looked at when nothing woke the worker (writes on other nodes).
    pub poll_interval: Duration,
    /// The wait before the first retry; each further failure doubles it.
    pub first_retry: Duration,
    /// The longest wait between retries.
    pub max_retry: Duration,
    /// How long a leased entry stays with this worker before another may take it.
    pub lease: Duration,
    /// The region requests to destinations are signed for.
    pub region: String,
}

/// How much of an error answer is read, for the entry's last error.
const ERROR_BODY_LIMIT: usize = 8 * 1024;

/// How much shorter than the lease one attempt may run: an attempt never outlives its lease,
/// so no second worker takes the entry while an older copy of the key is still travelling.
const LEASE_MARGIN: Duration = Duration::from_secs(60);

impl Default for ReplicatorConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            poll_interval: Duration::from_secs(1),
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(60),
            lease: Duration::from_secs(15 * 60),
            region: DEFAULT_REGION.to_owned(),
        }
    }
}

impl ReplicatorConfig {
    /// The wait before retrying an entry that failed `attempts` times before this failure.
    fn backoff(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.min(31));
        self.first_retry.saturating_mul(factor).min(self.max_retry)
    }
}

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    /// The destination answered with an error status.
    #[error("the destination answered {status}: {body}")]
    Status { status: StatusCode, body: String },
    /// The request could not be made or its answer not read.
    #[error("the destination could not be reached: {0}")]
    Transport(#[from] reqwest::Error),
    /// The request could not be built (an endpoint or a header value that cannot be sent).
    #[error("{0}")]
    Request(String),
    /// The source could not be read.
    #[error("reading the source failed: {0}")]
    Source(#[from] EngineError),
    /// The copy took longer than its lease allows; a slow destination is no refusal.
    #[error("the copy did not finish within {} s", .0.as_secs())]
    TimedOut(Duration),
}

impl AttemptError {
    /// Whether the destination refused the request itself (not a passing failure): the object
    /// is then marked `FAILED`.
    fn refused(&self) -> bool {
        match self {
            Self::Status { status, .. } => {
                status.is_client_error()
                    && *status != StatusCode::REQUEST_TIMEOUT
                    && *status != StatusCode::TOO_MANY_REQUESTS
            }
            Self::Request(_) => true,
            Self::Transport(_) | Self::Source(_) | Self::TimedOut(_) => false,
        }
    }
}

/// The replication worker of one node.
#[derive(Debug, Clone)]
pub struct Replicator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    engine: Engine,
    http: reqwest::Client,
    config: ReplicatorConfig,
}

impl Replicator {
    /// A worker over `engine`.
    pub fn new(engine: Engine, config: ReplicatorConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            // A redirect could turn a PUT into a bodiless GET that answers 2xx: never follow.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            // Between reads, not in total: a large object takes as long as it takes.
            .read_timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                http,
                config,
            }),
        })
    }

    /// Works until `shutdown` resolves; copies in flight then are abandoned and their entries
    /// handed back, due at once (the next start sends them again).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let engine = &self.inner.engine;
        let config = &self.inner.config;
        match engine.release_stale_replications().await {
            Ok(0) => {}
            Ok(released) => {
                tracing::info!(released, "replication entries of an earlier run released")
            }
            Err(error) => tracing::warn!(%error, "releasing stale replication leases failed"),
        }
        tokio::pin!(shutdown);
        let mut running: JoinSet<()> = JoinSet::new();
        let mut in_flight: HashMap<tokio::task::Id, ReplicationTask> = HashMap::new();
        loop {
            let free = config.concurrency.max(1).saturating_sub(running.len());
            if free > 0 {
                match engine.claim_replications(free, config.lease).await {
                    Ok(tasks) => {
                        for task in tasks {
                            let worker = self.clone();
                            let handed = task.clone();
                            let handle =
                                running.spawn(async move { worker.attempt(&handed).await });
                            in_flight.insert(handle.id(), task);
                        }
                    }
                    Err(error) => tracing::warn!(%error, "reading the replication queue failed"),
                }
            }
            // Full: wait for a slot (the queue may hold more). Otherwise for a write, a
            // retry coming due (the poll) or a slot.
            let full = running.len() >= config.concurrency.max(1);
            tokio::select! {
                () = &mut shutdown => break,
                Some(joined) = running.join_next_with_id(), if !running.is_empty() => {
                    let id = match joined {
                        Ok((id, ())) => id,
                        Err(error) => {
                            tracing::error!(%error, "a replication attempt failed to finish");
                            error.id()
                        }
                    };
                    in_flight.remove(&id);
                }
                () = engine.replication_queued(), if !full => {}
                () = tokio::time::sleep(config.poll_interval), if !full => {}
            }
        }
        running.abort_all();
        while running.join_next().await.is_some() {}
        for task in in_flight.values() {
            if let Err(error) = engine.release_replication(task).await {
                tracing::warn!(%error, key = %task.key, "handing back a replication entry failed");
            }
        }
    }

    /// One attempt at `task`, reported to the engine.
    async fn attempt(&self, task: &ReplicationTask) {
        let lease = self.inner.config.lease;
        let deadline = lease.saturating_sub(LEASE_MARGIN).max(lease / 2);
        let outcome = match tokio::time::timeout(deadline, self.replicate(task)).await {
            Ok(outcome) => outcome,
            Err(_) => self.retry(task, &AttemptError::TimedOut(deadline), None),
        };
        match &outcome {
            ReplicationOutcome::Completed { .. } => tracing::debug!(
                bucket = %task.bucket, key = %task.key, operation = ?task.operation,
                "replicated"
            ),
            ReplicationOutcome::Dropped => tracing::debug!(
                bucket = %task.bucket, key = %task.key, "replication no longer needed"
            ),
            ReplicationOutcome::Retry {
                error, retry_at, ..
            } => tracing::warn!(
                bucket = %task.bucket, key = %task.key, attempts = task.attempts + 1,
                %retry_at, %error, "replication failed; will retry"
            ),
        }
        if let Err(error) = self.inner.engine.finish_replication(task, &outcome).await {
            tracing::warn!(%error, key = %task.key, "recording a replication outcome failed");
        }
    }

    /// Carries out `task` once and says how it went.
    async fn replicate(&self, task: &ReplicationTask) -> ReplicationOutcome {
        let engine = &self.inner.engine;
        let settings = match engine.replication(&task.bucket).await {
            Ok(settings) => settings,
            Err(EngineError::NoSuchBucket | EngineError::NoSuchReplicationConfiguration) => {
                return ReplicationOutcome::Dropped;
            }
            Err(error) => return self.retry(task, &AttemptError::Source(error), None),
        };
        let Some(rule) = settings.config.rule_for(task.key.as_str()) else {
            return ReplicationOutcome::Dropped;
        };
        let Some(remote) = settings.remote else {
            // Refused when the settings are stored; nothing can be done with such an entry.
            tracing::warn!(bucket = %task.bucket, "replication settings without a destination endpoint");
            return ReplicationOutcome::Dropped;
        };
        match task.operation {
            ReplicationOperation::Put => {
                let (info, reader) = match engine.open_object(&task.bucket, &task.key).await {
                    Ok(opened) => opened,
                    Err(EngineError::NoSuchKey | EngineError::NoSuchBucket) => {
                        return ReplicationOutcome::Dropped;
                    }
                    Err(error) => return self.retry(task, &AttemptError::Source(error), None),
                };
                let object = Some((info.etag.clone(), info.last_modified));
                match self.put(&remote, rule, &task.key, &info, reader).await {
                    Ok(()) => ReplicationOutcome::Completed { copied: object },
                    Err(error) => self.retry(task, &error, object),
                }
            }
            ReplicationOperation::Delete if !rule.delete_marker_replication => {
                ReplicationOutcome::Dropped
            }
            ReplicationOperation::Delete => match self.delete(&remote, rule, &task.key).await {
                Ok(()) => ReplicationOutcome::Completed { copied: None },
                Err(error) => self.retry(task, &error, None),
            },
        }
    }

    fn retry(
        &self,
        task: &ReplicationTask,
        error: &AttemptError,
        object: Option<(String, chrono::DateTime<Utc>)>,
    ) -> ReplicationOutcome {
        let wait = chrono::Duration::from_std(self.inner.config.backoff(task.attempts))
            .unwrap_or(chrono::Duration::days(1));
        let now = Utc::now();
        ReplicationOutcome::Retry {
            retry_at: now.checked_add_signed(wait).unwrap_or(now),
            error: error.to_string(),
            refused: error.refused(),
            object,
        }
    }

    /// `PUT` of the object at the destination, streamed from the open reader.
    async fn put(
        &self,
        remote: &RemoteEndpoint,
        rule: &ReplicationRule,
        key: &ObjectKey,
        info: &ObjectInfo,
        reader: ObjectReader,
    ) -> Result<(), AttemptError> {
        let mut headers = object_headers(info)?;
        headers.insert(CONTENT_LENGTH, HeaderValue::from(info.size));
        let body = reqwest::Body::wrap_stream(reader.into_stream(0..info.size));
        self.send(
            remote,
            Method::PUT,
            &rule.destination_bucket,
            key,
            headers,
            body,
        )
        .await
        .map(drop)
    }

    /// `DELETE` of the key at the destination; a key already gone counts as deleted.
    async fn delete(
        &self,
        remote: &RemoteEndpoint,
        rule: &ReplicationRule,
        key: &ObjectKey,
    ) -> Result<(), AttemptError> {
        match self
            .send(
                remote,
                Method::DELETE,
                &rule.destination_bucket,
                key,
                HeaderMap::new(),
                reqwest::Body::from(Vec::new()),
            )
            .await
        {
            Err(AttemptError::Status { status, .. }) if status == StatusCode::NOT_FOUND => Ok(()),
            other => other.map(drop),
        }
    }

    /// Sends one signed path-style request for `bucket`/`key` to the remote endpoint.
    async fn send(
        &self,
        remote: &RemoteEndpoint,
        method: Method,
        bucket: &str,
        key: &ObjectKey,
        headers: HeaderMap,
        body: reqwest::Body,
    ) -> Result<StatusCode, AttemptError> {
        let (base, host) = parse_endpoint(&remote.endpoint)
            .map_err(|error| AttemptError::Request(error.to_string()))?;
        let uri = format!("{base}/{}/{}", uri_encode(bucket), key_path(key.as_str())?);
        let credentials = Credentials::new(&remote.access_key, &remote.secret);
        let signing = SigningParams::s3(&credentials, &self.inner.config.region, SystemTime::now());
        let request = signed_request(
            method,
            &uri,
            &host,
            headers,
            SignableBody::Mode(PayloadMode::Unsigned),
            &signing,
        )
        .map_err(|error| AttemptError::Request(error.to_string()))?;
        let request = reqwest::Request::try_from(request.map(|()| body))?;
        let response = self.inner.http.execute(request).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(status);
        }
        Err(AttemptError::Status {
            status,
            body: error_summary(&error_body(response).await),
        })
    }
}

/// A key as a request path, `/` kept so the destination sees the same key. A key with a `.`
/// or `..` segment cannot be sent: URL parsing resolves such segments (even encoded), so the
/// path sent would not be the one signed.
fn key_path(key: &str) -> Result<String, AttemptError> {
    if key
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(AttemptError::Request(format!(
            "the key {key:?} has a '.' or '..' segment, which cannot travel in a URL path"
        )));
    }
    Ok(uri_encode_path(key))
}

/// The start of an error answer, at most [`ERROR_BODY_LIMIT`] bytes of it.
async fn error_body(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(ERROR_BODY_LIMIT);
    String::from_utf8_lossy(&body).into_owned()
}

/// The headers that carry an object's attributes, and its MD5 for the destination to check.
fn object_headers(info: &ObjectInfo) -> Result<HeaderMap, AttemptError> {
    let mut headers = attribute_headers(&info.attrs).map_err(AttemptError::Request)?;
    // A single-part object's ETag is its MD5; a multipart one's is not.
    let mut md5 = [0u8; 16];
    if hex::decode_to_slice(&info.etag, &mut md5).is_ok() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(md5);
        let value = HeaderValue::from_str(&encoded)
            .map_err(|_| AttemptError::Request(format!("Content-MD5 {encoded:?}")))?;
        headers.insert(HeaderName::from_static("content-md5"), value);
    }
    Ok(headers)
}

/// The S3 error code and message of an error body, or its start, for the entry's last error.
fn error_summary(body: &str) -> String {
    match parse_error_body(body.as_bytes()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ => body.chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use depot_engine::ObjectAttributes;

    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let config = ReplicatorConfig {
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(60),
            ..ReplicatorConfig::default()
        };
        let waits: Vec<u64> = (0..8).map(|n| config.backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(config.backoff(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn refusals_are_client_errors_other_than_timeouts() {
        let status = |code: u16| AttemptError::Status {
            status: StatusCode::from_u16(code).expect("valid"),
            body: String::new(),
        };
        assert!(status(403).refused());
        assert!(status(404).refused());
        assert!(!status(408).refused());
        assert!(!status(429).refused());
        assert!(!status(500).refused());
        assert!(!status(503).refused());
        assert!(!AttemptError::TimedOut(Duration::from_secs(600)).refused());
    }

    #[test]
    fn keys_keep_their_slashes_and_dot_segments_are_refused() {
        assert_eq!(key_path("a/b c/d.txt").expect("sendable"), "a/b%20c/d.txt");
        assert_eq!(key_path("a..b/c+%").expect("sendable"), "a..b/c%2B%25");
        for key in ["../../etc/passwd", "a/./b", ".", "a/.."] {
            let error = key_path(key).expect_err("refused");
            assert!(error.refused(), "{key}");
        }
    }

    #[test]
    fn attributes_travel_as_headers_with_the_md5() {
        let info = ObjectInfo {
            bucket: "bkt".parse().expect("name"),
            key: ObjectKey::new("k".to_owned()).expect("key"),
            size: 3,
            etag: "900150983cd24fb0d6963f7d28e17f72".to_owned(),
            last_modified: Utc::now(),
            attrs: ObjectAttributes {
                content_type: Some("text/plain".to_owned()),
                cache_control: Some("no-cache".to_owned()),
                user_metadata: BTreeMap::from([("colour".to_owned(), "blue".to_owned())]),
                ..ObjectAttributes::default()
            },
            part_count: None,
            version_id: None,
            replication_status: None,
        };
        let headers = object_headers(&info).expect("headers");
        assert_eq!(headers["content-type"], "text/plain");
        assert_eq!(headers["cache-control"], "no-cache");
        assert_eq!(headers["x-amz-meta-colour"], "blue");
        assert_eq!(headers["content-md5"], "kAFQmDzST7DWlj99KOF/cg==");
        let multipart = ObjectInfo {
            etag: "900150983cd24fb0d6963f7d28e17f72-2".to_owned(),
            ..info
        };
        assert!(
            !object_headers(&multipart)
                .expect("headers")
                .contains_key("content-md5")
        );
    }

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(
            error_summary("<Error><Code>NoSuchBucket</Code><Message>gone</Message></Error>"),
            "NoSuchBucket: gone"
        );
        assert_eq!(error_summary("plain"), "plain");
    }
}
