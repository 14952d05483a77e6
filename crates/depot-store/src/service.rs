//! The S3 service: one request in, one response out, whatever happens in between. Routing,
//! authentication, dispatch to the operation, and the S3 error document on any failure.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use depot_domain::{BucketName, BucketRef, ObjectKey, OpClass, UserId};
use depot_engine::{BucketIdentity, Engine, UsageMeter};
use depot_sigv4::{BoxError, PayloadCheck, PayloadMode, VerifiedBody, Verifier};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use rand::Rng;

use crate::admin::{AdminApi, AdminRequest, MAX_ADMIN_BODY};
use crate::auth::v2::V2Auth;
use crate::body::{ResponseBody, empty, full, read_limited};
use crate::limits::{AppliedLimits, LimiterState, MemoryLimiter, PacedBody, op_class};
use crate::router::{Addressing, Params, Route, route};
use crate::telemetry::{LoggedBody, RequestRecord, UsageRecorder};
use crate::{S3Error, S3Result, ops, s3_error};

/// The largest object a single PUT may create: 5 GiB, as S3.
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// How the S3 listener behaves.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Virtual-hosted-style domains.
    pub addressing: Addressing,
    /// The region reported by GetBucketLocation and used for new buckets.
    pub region: String,
}

/// Who is making a request, once its signature checked out.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user the key belongs to.
    pub user_id: UserId,
    /// The key that signed.
    pub access_key_id: String,
    /// Whether the user is a system user (may use the admin API).
    pub system: bool,
    /// The ostor account the key belongs to, if it is an account's key.
    pub account: Option<String>,
}

impl From<depot_engine::KeyRecord> for Principal {
    fn from(key: depot_engine::KeyRecord) -> Self {
        Self {
            user_id: key.user_id,
            access_key_id: key.access_key_id,
            system: key.system,
            account: key.account,
        }
    }
}

impl Principal {
    /// Whether the caller may use `bucket`: the owner's own keys reach all its buckets, an
    /// account's keys only the account's (see `docs/ostor.md`).
    pub fn may_use(&self, bucket: &depot_engine::BucketIdentity) -> bool {
        bucket.owner == self.user_id && (self.account.is_none() || self.account == bucket.account)
    }

    /// Who a bucket created by this caller belongs to.
    pub fn bucket_owner(&self) -> depot_engine::BucketOwner {
        depot_engine::BucketOwner {
            user: self.user_id,
            account: self.account.clone(),
        }
    }
}

/// The S3 data plane as a service: cheap to clone, shared by every connection.
#[derive(Clone)]
pub struct S3Service {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    engine: Engine,
    config: StoreConfig,
    /// Shared by rebuilt services, with its cache of signing keys.
    verifier: Arc<Verifier>,
    /// The admin API mounted beside S3, if any (`?ostor-…`, `?replication`).
    admin: Option<Arc<dyn AdminApi>>,
    /// Where rate and bandwidth limits keep their counters.
    limiter: Arc<dyn LimiterState>,
    /// Where each request's usage is counted, if anywhere.
    usage: Option<Arc<UsageMeter>>,
}

impl std::fmt::Debug for S3Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Service")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Everything an operation handler needs about its request.
pub(crate) struct Ctx<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) config: &'a StoreConfig,
    pub(crate) principal: Principal,
    pub(crate) headers: HeaderMap,
    pub(crate) params: Params,
    pub(crate) bucket: Option<BucketName>,
    pub(crate) key: Option<ObjectKey>,
    pub(crate) payload: PayloadCheck,
    pub(crate) seen: &'a Seen,
}

/// What a request turned out to concern, learned while it is served: whom its usage is
/// counted for, and how.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// The operation's class, once routed.
    pub(crate) class: OnceLock<OpClass>,
    /// The bucket it names, once routed.
    pub(crate) addressed: OnceLock<BucketName>,
    /// The user whose key signed it.
    pub(crate) user: OnceLock<UserId>,
    /// The addressed bucket as looked up, once per request (`None`: it does not exist).
    pub(crate) bucket: OnceLock<Option<Arc<BucketIdentity>>>,
    /// The bucket the request created.
    pub(crate) created: OnceLock<BucketIdentity>,
}

impl Seen {
    /// The addressed bucket `name`, looked up at most once per request however many checks
    /// ask (rate limits, access, the operation).
    ///
    /// Errors: `NoSuchBucket`.
    pub(crate) async fn lookup_bucket(
        &self,
        engine: &Engine,
        name: &BucketName,
    ) -> S3Result<Arc<BucketIdentity>> {
        let found = match self.bucket.get() {
            Some(found) => found.clone(),
            None => {
                let found = match engine.bucket_identity(name).await {
                    Ok(identity) => Some(identity),
                    Err(depot_engine::EngineError::NoSuchBucket) => None,
                    Err(error) => return Err(error.into()),
                };
                self.bucket.get_or_init(|| found).clone()
            }
        };
        found.ok_or_else(|| s3_error!(NoSuchBucket))
    }

    /// The addressed bucket `name` if `principal` may use it: `AccessDenied` for a bucket
    /// that exists but is not theirs, as S3 answers.
    pub(crate) async fn usable_bucket(
        &self,
        engine: &Engine,
        name: &BucketName,
        principal: &Principal,
    ) -> S3Result<Arc<BucketIdentity>> {
        let bucket = self.lookup_bucket(engine, name).await?;
        if !principal.may_use(&bucket) {
            return Err(s3_error!(AccessDenied));
        }
        Ok(bucket)
    }

    /// The bucket incarnation the request created or found, else the name it gave with epoch
    /// 0 (the bucket does not exist, or the request ended before it looked).
    pub(crate) fn bucket_ref(&self) -> Option<BucketRef> {
        let looked_up = self.bucket.get().and_then(Option::as_deref);
        let found = self.created.get().or(looked_up);
        match (found, self.addressed.get()) {
            (Some(identity), _) => Some(incarnation(identity)),
            (None, Some(name)) => Some(BucketRef {
                name: name.clone(),
                epoch: 0,
            }),
            (None, None) => None,
        }
    }
}

/// The bucket as usage counts it: its name and epoch.
fn incarnation(identity: &BucketIdentity) -> BucketRef {
    BucketRef {
        name: identity.name.clone(),
        epoch: u64::try_from(identity.epoch).unwrap_or(0),
    }
}

impl Ctx<'_> {
    /// The addressed bucket; routing guarantees one for bucket and object operations.
    pub(crate) fn bucket(&self) -> S3Result<&BucketName> {
        self.bucket
            .as_ref()
            .ok_or_else(|| s3_error!(InternalError, "no bucket routed"))
    }

    /// The addressed key; routing guarantees one for object operations.
    pub(crate) fn key(&self) -> S3Result<&ObjectKey> {
        self.key
            .as_ref()
            .ok_or_else(|| s3_error!(InternalError, "no key routed"))
    }

    /// Checks that the caller may use the bucket, and returns it (see [`Seen::usable_bucket`]).
    pub(crate) async fn owned_bucket(&self) -> S3Result<Arc<BucketIdentity>> {
        self.seen
            .usable_bucket(self.engine, self.bucket()?, &self.principal)
            .await
    }
}

impl S3Service {
    /// The service over `engine`.
    pub fn new(engine: Engine, config: StoreConfig) -> Self {
        let verifier = Arc::new(Verifier::new("s3"));
        Self {
            inner: Arc::new(Inner {
                engine,
                config,
                verifier,
                admin: None,
                limiter: Arc::new(MemoryLimiter::default()),
                usage: None,
            }),
        }
    }

    /// The service with `admin` answering admin requests (without one they are
    /// `NotImplemented`).
    pub fn with_admin(self, admin: Arc<dyn AdminApi>) -> Self {
        self.rebuild(|inner| inner.admin = Some(admin))
    }

    /// The service keeping its limiter's counters in `state` (by default, this process's
    /// memory): shared state makes limits hold across several nodes.
    pub fn with_limiter(self, state: Arc<dyn LimiterState>) -> Self {
        self.rebuild(|inner| inner.limiter = state)
    }

    /// The service counting every authenticated request in `meter` (by default, none is
    /// counted).
    pub fn with_usage(self, meter: Arc<UsageMeter>) -> Self {
        self.rebuild(|inner| inner.usage = Some(meter))
    }

    fn rebuild(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Inner::clone(&self.inner);
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Handles one request. Never fails: every error becomes an S3 error response.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<ResponseBody>
    where
        B: Body + Send + Unpin + 'static,
        B::Data: bytes::Buf + Send,
        B::Error: Into<BoxError>,
    {
        let started = Instant::now();
        let request_id = request_id();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let declared_length: u64 = request
            .headers()
            .get("x-amz-decoded-content-length")
            .or_else(|| request.headers().get(http::header::CONTENT_LENGTH))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        // An error may be answered before the request body was read. An HTTP/1 connection with
        // unread body bytes cannot carry another request, so the client is told to reconnect
        // rather than find the connection closed under its next request.
        let may_leave_body_unread = request.version() <= http::Version::HTTP_11
            && (declared_length > 0
                || request
                    .headers()
                    .contains_key(http::header::TRANSFER_ENCODING));
        let seen = Arc::new(Seen::default());
        let uploaded = Arc::new(AtomicU64::new(0));
        // Made first, so that dropping this future (a reset stream, a connection closed
        // mid-request) still counts the request.
        let usage = self
            .inner
            .usage
            .clone()
            .map(|meter| UsageRecorder::new(meter, seen.clone(), uploaded.clone()));
        let (outcome, operation) = self.dispatch(request, &seen, &uploaded).await;
        let mut response = match outcome {
            Ok(response) => response,
            Err(error) => {
                let mut response = error_response(&error, &method, &path, &request_id);
                if may_leave_body_unread {
                    response
                        .headers_mut()
                        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
                }
                response
            }
        };
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            headers.insert("x-amz-request-id", value.clone());
            headers.insert("x-amz-id-2", value);
        }
        headers.insert(http::header::SERVER, HeaderValue::from_static("Depot"));
        let record = RequestRecord {
            request_id,
            operation,
            bucket: seen.addressed.get().map(ToString::to_string),
            method,
            status: response.status().as_u16(),
            uploaded,
            started,
            usage,
        };
        response.map(|body| LoggedBody::new(body, record).boxed_unsync())
    }

    async fn dispatch<B>(
        &self,
        request: Request<B>,
        seen: &Seen,
        uploaded: &Arc<AtomicU64>,
    ) -> (S3Result<Response<ResponseBody>>, &'static str)
    where
        B: Body + Send + Unpin + 'static,
        B::Data: bytes::Buf + Send,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = request.into_parts();
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .map(str::to_owned);
        let Route {
            endpoint,
            bucket,
            key,
        } = match route(
            &self.inner.config.addressing,
            &parts.method,
            host.as_deref(),
            parts.uri.path(),
            parts.uri.query().unwrap_or(""),
            &parts.headers,
        ) {
            Ok(route) => route,
            Err(error) => return (Err(error), "Unknown"),
        };
        let operation = endpoint.name();
        let class = op_class(&endpoint);
        let _ = seen.class.set(class);
        if let Some(name) = &bucket {
            let _ = seen.addressed.set(name.clone());
        }
        let verified = |body: B, check: PayloadCheck| {
            VerifiedBody::new(body, check).counting_into(uploaded.clone())
        };
        if endpoint == crate::router::Endpoint::PostObject {
            // A form upload carries its own signature, over its policy, inside the body.
            let outcome = async {
                let bucket = bucket.ok_or_else(|| s3_error!(MethodNotAllowed))?;
                let check = PayloadCheck::unsigned(PayloadMode::Unsigned, &parts.headers)?;
                let (stream, _) = crate::body::payload_stream(verified(body, check));
                // The form names its signer only inside the body, so the limits are applied
                // there, once the policy's signature checked out.
                let admit = async |principal: &Principal| {
                    self.admit(principal, Some(&bucket), OpClass::Put, seen)
                        .await
                        .map(drop)
                };
                ops::post::post_object(
                    &self.inner.engine,
                    &bucket,
                    &parts.headers,
                    stream,
                    seen,
                    admit,
                )
                .await
            }
            .await;
            return (outcome, operation);
        }
        let outcome = async {
            let params = Params::parse(parts.uri.query().unwrap_or(""));
            let body_headers = body_headers(&parts.headers, &endpoint);
            let (principal, payload) = self
                .authenticate(&parts, &body_headers, &params, bucket.as_ref())
                .await?;
            let _ = seen.user.set(principal.user_id);
            if let crate::router::Endpoint::Ostor { resource } = endpoint {
                let admin = self.inner.admin.as_ref().ok_or_else(|| {
                    s3_error!(NotImplemented, "The {resource} admin API is not enabled.")
                })?;
                let body = read_limited(verified(body, payload), MAX_ADMIN_BODY).await?;
                let request = AdminRequest {
                    method: parts.method.clone(),
                    resource,
                    params,
                    headers: parts.headers.clone(),
                    principal,
                    bucket,
                    body,
                };
                return Ok(admin.handle(request).await?.map(full));
            }
            let limits = self.admit(&principal, bucket.as_ref(), class, seen).await?;
            let ctx = Ctx {
                engine: &self.inner.engine,
                config: &self.inner.config,
                principal,
                headers: parts.headers.clone(),
                params,
                bucket,
                key,
                payload,
                seen,
            };
            let body = verified(body, ctx.payload.clone());
            let response = ops::dispatch(&ctx, endpoint, body)
                .await
                .map_err(|error| name_the_resource(error, &ctx))?;
            let bandwidth = limits.bandwidth();
            if bandwidth.is_empty() {
                return Ok(response);
            }
            let limiter = self.inner.limiter.clone();
            Ok(response.map(|body| PacedBody::new(body, limiter, bandwidth).boxed_unsync()))
        }
        .await;
        (outcome, operation)
    }

    /// Applies the rate limits of `principal` and of `bucket` to one request of `class`:
    /// `SlowDown` if either is exhausted, else the limits (for pacing its download).
    async fn admit(
        &self,
        principal: &Principal,
        bucket: Option<&BucketName>,
        class: OpClass,
        seen: &Seen,
    ) -> S3Result<AppliedLimits> {
        let engine = &self.inner.engine;
        let (user_limits, mut bucket_limits) =
            engine.request_limits(principal.user_id, bucket).await?;
        // A bucket's limits count only its owner's requests: someone refused access must
        // not use up the owner's rate.
        if bucket_limits.is_some()
            && let Some(name) = bucket
            && seen.usable_bucket(engine, name, principal).await.is_err()
        {
            bucket_limits = None;
        }
        let limits = AppliedLimits::new(principal.user_id, bucket, (user_limits, bucket_limits));
        if !limits.admit(&*self.inner.limiter, class).await {
            return Err(s3_error!(SlowDown));
        }
        Ok(limits)
    }

    /// Verifies the request's signature (V4 or V2) and finds its principal; the checks of
    /// the body come from `body_headers` (see [`body_headers`]).
    async fn authenticate(
        &self,
        parts: &http::request::Parts,
        body_headers: &HeaderMap,
        params: &Params,
        bucket: Option<&BucketName>,
    ) -> S3Result<(Principal, PayloadCheck)> {
        let now = SystemTime::now();
        let engine = &self.inner.engine;
        if depot_sigv4::Authorization::is_present(&parts.uri, &parts.headers) {
            let auth = depot_sigv4::Authorization::from_request(&parts.uri, &parts.headers)?;
            let key = engine
                .access_key(&auth.access_key_id)
                .await?
                .ok_or_else(|| s3_error!(InvalidAccessKeyId))?;
            let verified = self.inner.verifier.verify(
                &parts.method,
                &parts.uri,
                &parts.headers,
                &auth,
                &key.secret,
                now,
            )?;
            if !key.user_enabled {
                return Err(s3_error!(
                    AccessDenied,
                    "The account of this access key is disabled."
                ));
            }
            let payload = PayloadCheck::new(&verified, body_headers)?;
            return Ok((Principal::from(key), payload));
        }
        if let Some(auth) = V2Auth::from_request(params, &parts.headers)? {
            let key = engine
                .access_key(&auth.access_key_id)
                .await?
                .ok_or_else(|| s3_error!(InvalidAccessKeyId))?;
            let resource = v2_resource(
                bucket,
                parts.uri.path(),
                &self.inner.config.addressing,
                &parts.headers,
            );
            auth.verify(
                &parts.method,
                &resource,
                params,
                &parts.headers,
                &key.secret,
                now,
            )?;
            if !key.user_enabled {
                return Err(s3_error!(
                    AccessDenied,
                    "The account of this access key is disabled."
                ));
            }
            // V2 does not sign the body; Content-MD5 and checksums are still checked.
            let mode = match parts
                .headers
                .get("x-amz-content-sha256")
                .and_then(|v| v.to_str().ok())
            {
                Some(value) => PayloadMode::parse(value)?,
                None => PayloadMode::Unsigned,
            };
            let payload = PayloadCheck::unsigned(mode, body_headers)?;
            return Ok((Principal::from(key), payload));
        }
        Err(s3_error!(AccessDenied))
    }
}

/// The headers that describe the request body. CompleteMultipartUpload's
/// `x-amz-checksum-*` is the checksum of the object it makes, checked by the operation
/// against the parts, not a checksum of its XML body.
fn body_headers<'a>(
    headers: &'a HeaderMap,
    endpoint: &crate::router::Endpoint,
) -> std::borrow::Cow<'a, HeaderMap> {
    if !matches!(
        endpoint,
        crate::router::Endpoint::CompleteMultipartUpload { .. }
    ) {
        return std::borrow::Cow::Borrowed(headers);
    }
    let mut without = headers.clone();
    for algorithm in depot_sigv4::ChecksumAlgorithm::ALL {
        without.remove(algorithm.header_name());
    }
    std::borrow::Cow::Owned(without)
}

/// Adds the element S3 names a missing resource with: `<Key>` for NoSuchKey, `<BucketName>`
/// for NoSuchBucket, `<UploadId>` for NoSuchUpload.
fn name_the_resource(mut error: S3Error, ctx: &Ctx<'_>) -> S3Error {
    use crate::S3ErrorCode as C;
    let detail = match error.code {
        C::NoSuchKey => ctx.key.as_ref().map(|k| ("Key", k.to_string())),
        C::NoSuchBucket => ctx.bucket.as_ref().map(|b| ("BucketName", b.to_string())),
        C::NoSuchUpload => ctx
            .params
            .get("uploadId")
            .map(|u| ("UploadId", u.to_owned())),
        _ => None,
    };
    if let Some((name, value)) = detail
        && !error.details.iter().any(|(n, _)| *n == name)
    {
        error = error.detail(name, value);
    }
    error
}

/// The V2 canonical resource: `/bucket` plus the raw path, whatever the addressing style; a
/// request to the bucket itself signs `/bucket/`, as botocore and s3cmd do.
fn v2_resource(
    bucket: Option<&BucketName>,
    raw_path: &str,
    addressing: &Addressing,
    headers: &HeaderMap,
) -> String {
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    match bucket {
        Some(bucket) if addressing.is_virtual_host(host) => format!("/{bucket}{raw_path}"),
        Some(bucket) if raw_path == format!("/{bucket}") => format!("/{bucket}/"),
        _ => raw_path.to_owned(),
    }
}

fn request_id() -> String {
    let id: u64 = rand::thread_rng().r#gen();
    format!("{id:016X}")
}

/// The S3 error document for `error`, or just the status for HEAD (which has no body).
pub(crate) fn error_response(
    error: &S3Error,
    method: &Method,
    path: &str,
    request_id: &str,
) -> Response<ResponseBody> {
    let status = error.code.status();
    if status.is_server_error() {
        tracing::error!(request_id, error = %error, "s3 request failed");
    }
    let body = if *method == Method::HEAD {
        empty()
    } else {
        let resource = percent_encoding::percent_decode_str(path)
            .decode_utf8_lossy()
            .into_owned();
        full(Bytes::from(error.to_xml(&resource, request_id)))
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if *method != Method::HEAD {
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
    }
    response
}

/// A 200 response carrying an XML document.
pub(crate) fn xml_response(document: String) -> Response<ResponseBody> {
    let mut response = Response::new(full(Bytes::from(document)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    response
}

/// A response with only a status.
pub(crate) fn status_response(status: StatusCode) -> Response<ResponseBody> {
    let mut response = Response::new(empty());
    *response.status_mut() = status;
    response
}

impl From<depot_engine::EngineError> for S3Error {
    fn from(error: depot_engine::EngineError) -> Self {
        use depot_engine::EngineError as E;
        match error {
            E::NoSuchBucket => s3_error!(NoSuchBucket),
            E::NoSuchKey => s3_error!(NoSuchKey),
            E::NoSuchUpload => s3_error!(NoSuchUpload),
            E::BucketAlreadyExists => s3_error!(BucketAlreadyExists),
            E::BucketAlreadyOwnedByYou => s3_error!(BucketAlreadyOwnedByYou),
            E::BucketNotEmpty => s3_error!(BucketNotEmpty),
            E::PreconditionFailed => s3_error!(PreconditionFailed).detail("Condition", "If-Match"),
            E::InvalidPart => s3_error!(InvalidPart),
            E::InvalidPartOrder => s3_error!(InvalidPartOrder),
            E::EntityTooSmall => s3_error!(EntityTooSmall),
            E::EntityTooLarge => s3_error!(EntityTooLarge),
            E::InvalidArgument(message) => {
                S3Error::with_message(crate::S3ErrorCode::InvalidArgument, message)
            }
            E::InvalidRange => s3_error!(InvalidRange),
            E::NoSuchUser => s3_error!(NoSuchUser),
            E::UserAlreadyExists => s3_error!(UserAlreadyExists),
            E::UserHasBuckets => s3_error!(UserHasBuckets),
            E::NoSuchAccount => s3_error!(NoSuchAccount),
            E::NoSuchReplicationConfiguration => s3_error!(ReplicationConfigurationNotFoundError),
            E::NoSuchUsageReport => s3_error!(NoSuchUsageObject),
            E::AccountAlreadyExists => s3_error!(AccountAlreadyExists),
            E::AccountHasBuckets => s3_error!(AccountHasBuckets),
            E::NoSuchAccessKey => s3_error!(NoSuchAccessKey),
            E::KeyLimitReached => s3_error!(KeyLimitReached),
            E::QuotaExceeded(message) => {
                S3Error::with_message(crate::S3ErrorCode::QuotaExceeded, message)
            }
            E::Body(source) => crate::body::body_error(source),
            other => {
                // The source stays in the log; the client learns only that it was our fault.
                let mut chain = other.to_string();
                let mut source = std::error::Error::source(&other);
                while let Some(cause) = source {
                    chain.push_str(": ");
                    chain.push_str(&cause.to_string());
                    source = cause.source();
                }
                tracing::error!(error = %chain, "engine failure");
                s3_error!(InternalError)
            }
        }
    }
}
