//! `OstorClient`: a typed async client for every call of the ostor admin API, each request
//! signed with SigV4 by a system user's key, so Depot can drive any ostor-compatible cluster.
//!
//! Every call is an S3 request to the service (`/`) with one `ostor-…` sub-resource first in
//! the query, then the parameters in the order the reference writes them, values
//! percent-encoded as SigV4 encodes them (`emailAddress=user%40example.com`) and flags as bare
//! names (`&genKey`). Replication is the exception: a bucket sub-resource, addressed
//! path-style (`/<bucket>?replication`). See `docs/ostor.md` for the contract.
//!
//! Answers with any 2xx status are success: the contract uses 200 and 204, and the reference's
//! own sample prints a 203. Anything else is [`ClientError::Status`] with the S3 error
//! document's `Code` and `Message` when the body has them (ostor's bodies may be empty).

use std::fmt;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use depot_domain::{Email, LimitKind, UserId};
use depot_sigv4::{Credentials, SigV4Error, SignableBody, SigningParams, sign_request, uri_encode};
use http::header::HOST;
use http::{HeaderMap, HeaderValue, Method};
use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use serde::de::DeserializeOwned;

use crate::replication::{
    GEO_ACCESS_KEY_HEADER, GEO_ACCESS_SECRET_HEADER, GEO_ENDPOINT_HEADER, ReplicationConfiguration,
    ReplicationXml, insert_remote_headers,
};
pub use crate::replication::{RemoteEndpoint, ReplicationSettings};
use crate::wire::{
    AccountInfo, BucketInfo, BucketList, LimitsInfo, QuotaInfo, UsageList, UsageReport, UserInfo,
    UserList,
};

/// The signing region when none is configured; ostor ignores the region, AWS-style servers
/// expect this one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// How long connecting may take before the call fails as a transport error.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a whole call may take. Admin calls are small; usage objects are the largest.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Which user a call is about: ostor names users by email or by id (`emailAddress=` / `id=`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserRef {
    /// `emailAddress=<email>`.
    Email(String),
    /// `id=<16 hex digits>`.
    Id(String),
}

impl From<UserId> for UserRef {
    fn from(id: UserId) -> Self {
        UserRef::Id(id.to_string())
    }
}

impl From<&Email> for UserRef {
    fn from(email: &Email) -> Self {
        UserRef::Email(email.as_str().to_owned())
    }
}

/// What a limit call is about: a user or a bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LimitTarget {
    /// The user's requests (`emailAddress=` / `id=`).
    User(UserRef),
    /// The bucket's requests (`bucket=`).
    Bucket(String),
}

/// What a quota call is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QuotaTarget {
    /// One user (`emailAddress=` / `id=`).
    User(UserRef),
    /// One bucket (`bucket=`).
    Bucket(String),
    /// Every user without a quota of their own (`default=user`).
    DefaultUser,
    /// Every bucket without a quota of its own (`default=bucket`).
    DefaultBucket,
}

/// Operation limits for `PUT ?ostor-limits&ops`, in operations **per minute**; only the
/// classes given are sent (the server gives the others `default`, which defaults to 0,
/// unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OpsLimits {
    /// `default=`: operations of no other class, and every class not given.
    pub default: Option<u64>,
    /// `get=`.
    pub get: Option<u64>,
    /// `put=`.
    pub put: Option<u64>,
    /// `list=`.
    pub list: Option<u64>,
    /// `delete=`.
    pub delete: Option<u64>,
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a status other than 2xx.
    #[error("the server answered {status}{}", status_detail(.code.as_deref(), .message.as_deref()))]
    Status {
        /// The HTTP status.
        status: u16,
        /// The S3 error `Code`, when the body carried one.
        code: Option<String>,
        /// The S3 error `Message`, when the body carried one.
        message: Option<String>,
    },
    /// The request did not reach the server or the answer did not come back.
    #[error("transport error: {0}")]
    Transport(#[from] reqwest::Error),
    /// A success answer whose body is not what the call answers.
    #[error("could not decode the answer: {0}")]
    Decode(String),
    /// The endpoint given to [`OstorClient::new`] is not usable.
    #[error("invalid endpoint: {0}")]
    InvalidEndpoint(String),
    /// The request could not be signed (a value that cannot travel in a header).
    #[error("could not sign the request: {0}")]
    Signing(#[from] SigV4Error),
}

fn status_detail(code: Option<&str>, message: Option<&str>) -> String {
    match (code, message) {
        (Some(code), Some(message)) => format!(" {code}: {message}"),
        (Some(code), None) => format!(" {code}"),
        (None, Some(message)) => format!(": {message}"),
        (None, None) => String::new(),
    }
}

impl ClientError {
    /// The HTTP status of a [`ClientError::Status`].
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The S3 error code of a [`ClientError::Status`], when the body carried one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Status { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// A client of one ostor endpoint, signing as one system user.
///
/// Cloning is cheap (the connection pool is shared). `Debug` shows the endpoint, region and
/// access key id, never the secret.
#[derive(Clone)]
pub struct OstorClient {
    http: reqwest::Client,
    /// `scheme://authority`, without a trailing slash.
    base: String,
    /// The `Host` header: the authority without a default port.
    host: HeaderValue,
    credentials: Credentials,
    region: String,
}

impl fmt::Debug for OstorClient {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("OstorClient")
            .field("endpoint", &self.base)
            .field("region", &self.region)
            .field("access_key_id", &self.credentials.access_key_id())
            .finish_non_exhaustive()
    }
}

/// One request before signing: the raw (encoded) path and query, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Call {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Call {
    /// A call to the service (`/`) with the query `query`.
    fn service(method: Method, query: Query) -> Self {
        Self {
            method,
            path: "/".to_owned(),
            query: query.0,
            headers: HeaderMap::new(),
            body: Vec::new(),
        }
    }

    /// A call to `bucket`, path-style, with a raw query (possibly empty).
    fn bucket(method: Method, bucket: &str, query: &str) -> Self {
        Self {
            method,
            path: format!("/{}", uri_encode(bucket)),
            query: query.to_owned(),
            headers: HeaderMap::new(),
            body: Vec::new(),
        }
    }
}

/// What a successful call answered.
#[derive(Debug)]
struct Answer {
    headers: HeaderMap,
    body: Bytes,
}

impl OstorClient {
    /// A client of `endpoint` (`http://127.0.0.1:9000` or `https://s3.example.com`, no path
    /// beyond `/`), signing with the system user's `access_key_id` and `secret_access_key`
    /// in region [`DEFAULT_REGION`].
    pub fn new(
        endpoint: &str,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Result<Self, ClientError> {
        let (base, host) = parse_endpoint(endpoint)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Self {
            http,
            base,
            host,
            credentials: Credentials::new(access_key_id, secret_access_key),
            region: DEFAULT_REGION.to_owned(),
        })
    }

    /// The same client signing for `region`.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// The same client sending through `http` (for other timeouts, proxies or roots of
    /// trust).
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// The endpoint, as `scheme://authority`.
    pub fn endpoint(&self) -> &str {
        &self.base
    }

    /// The signing region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The access key id requests are signed with.
    pub fn access_key_id(&self) -> &str {
        self.credentials.access_key_id()
    }

    // ---- Users ----

    /// `GET ?ostor-users`: every user, without keys.
    pub async fn list_users(&self) -> Result<Vec<UserInfo>, ClientError> {
        let answer = self.execute(requests::list_users()).await?;
        Ok(decode_json::<UserList>(&answer.body)?.users)
    }

    /// `GET ?ostor-users&emailAddress=|id=`: one user with keys and accounts.
    pub async fn get_user(&self, user: &UserRef) -> Result<UserInfo, ClientError> {
        let answer = self.execute(requests::get_user(user)).await?;
        decode_json(&answer.body)
    }

    /// `PUT ?ostor-users&emailAddress=`: creates an enabled user with one key pair.
    pub async fn create_user(&self, email: &str) -> Result<UserInfo, ClientError> {
        let answer = self.execute(requests::create_user(email)).await?;
        decode_json(&answer.body)
    }

    /// `POST ?ostor-users&…[&accountName=]&genKey`: a new key pair for the user, or for its
    /// account `account`.
    ///
    /// The answer is the user with all its keys; for an account, the user's email and id with
    /// the account's new pair.
    pub async fn generate_key(
        &self,
        user: &UserRef,
        account: Option<&str>,
    ) -> Result<UserInfo, ClientError> {
        let answer = self.execute(requests::generate_key(user, account)).await?;
        decode_json(&answer.body)
    }

    /// `POST ?ostor-users&…[&accountName=]&revokeKey=`: removes one key pair of the user or
    /// of its account.
    pub async fn revoke_key(
        &self,
        user: &UserRef,
        account: Option<&str>,
        access_key_id: &str,
    ) -> Result<(), ClientError> {
        self.execute(requests::revoke_key(user, account, access_key_id))
            .await
            .map(drop)
    }

    /// `POST ?ostor-users&…&enable` or `&disable`.
    pub async fn set_user_enabled(&self, user: &UserRef, enabled: bool) -> Result<(), ClientError> {
        self.execute(requests::set_user_enabled(user, enabled))
            .await
            .map(drop)
    }

    /// `DELETE ?ostor-users&emailAddress=|id=`.
    pub async fn delete_user(&self, user: &UserRef) -> Result<(), ClientError> {
        self.execute(requests::delete_user(user)).await.map(drop)
    }

    // ---- Accounts ----

    /// `POST ?ostor-accounts&…&accountName=`: creates the account with one key pair.
    pub async fn create_account(
        &self,
        user: &UserRef,
        name: &str,
    ) -> Result<AccountInfo, ClientError> {
        let answer = self.execute(requests::create_account(user, name)).await?;
        decode_json(&answer.body)
    }

    /// `DELETE ?ostor-accounts&…&accountName=`.
    pub async fn delete_account(&self, user: &UserRef, name: &str) -> Result<(), ClientError> {
        self.execute(requests::delete_account(user, name))
            .await
            .map(drop)
    }

    // ---- Buckets ----

    /// `GET ?ostor-buckets[&emailAddress=|id=]`: every bucket, or those of one user.
    pub async fn list_buckets(
        &self,
        owner: Option<&UserRef>,
    ) -> Result<Vec<BucketInfo>, ClientError> {
        let answer = self.execute(requests::list_buckets(owner)).await?;
        Ok(decode_json::<BucketList>(&answer.body)?.buckets)
    }

    /// S3 `CreateBucket` (`PUT /<bucket>`) signed with `owner`'s key, so the bucket belongs to
    /// that key's user (or account): the admin API itself creates no buckets.
    pub async fn create_bucket_as(
        &self,
        bucket: &str,
        owner: &Credentials,
    ) -> Result<(), ClientError> {
        self.execute_as(Call::bucket(Method::PUT, bucket, ""), owner)
            .await
            .map(drop)
    }

    /// S3 `DeleteBucket` (`DELETE /<bucket>`) signed with `owner`'s key.
    pub async fn delete_bucket_as(
        &self,
        bucket: &str,
        owner: &Credentials,
    ) -> Result<(), ClientError> {
        self.execute_as(Call::bucket(Method::DELETE, bucket, ""), owner)
            .await
            .map(drop)
    }

    // ---- Limits ----

    /// `GET ?ostor-limits&…`: rates per second (operations) and KB/s (bandwidth).
    ///
    /// A target whose limits were never set answers 404 `NoSuchLimits`.
    pub async fn get_limits(&self, target: &LimitTarget) -> Result<LimitsInfo, ClientError> {
        let answer = self.execute(requests::get_limits(target)).await?;
        decode_json(&answer.body)
    }

    /// `PUT ?ostor-limits&…&ops&default=…`: operation limits per **minute**.
    pub async fn set_ops_limits(
        &self,
        target: &LimitTarget,
        limits: &OpsLimits,
    ) -> Result<(), ClientError> {
        self.execute(requests::set_ops_limits(target, limits))
            .await
            .map(drop)
    }

    /// `PUT ?ostor-limits&…&bandwidth&out=`: the outgoing bandwidth limit in KB/s.
    pub async fn set_bandwidth_limit(
        &self,
        target: &LimitTarget,
        out_kb_per_s: u64,
    ) -> Result<(), ClientError> {
        self.execute(requests::set_bandwidth_limit(target, out_kb_per_s))
            .await
            .map(drop)
    }

    /// `DELETE ?ostor-limits&…&ops|&bandwidth`: resets one kind to unlimited.
    pub async fn delete_limits(
        &self,
        target: &LimitTarget,
        kind: LimitKind,
    ) -> Result<(), ClientError> {
        self.execute(requests::delete_limits(target, kind))
            .await
            .map(drop)
    }

    // ---- Quotas ----

    /// `GET ?ostor-quotas&…`.
    pub async fn get_quota(&self, target: &QuotaTarget) -> Result<QuotaInfo, ClientError> {
        let answer = self.execute(requests::get_quota(target)).await?;
        decode_json(&answer.body)
    }

    /// `PUT ?ostor-quotas&…&quota-size=`: the quota in GB (2^30 bytes), 0 unlimited.
    pub async fn set_quota(&self, target: &QuotaTarget, size_gb: u64) -> Result<(), ClientError> {
        self.execute(requests::set_quota(target, size_gb))
            .await
            .map(drop)
    }

    /// `DELETE ?ostor-quotas&…`: resets the quota to unlimited.
    pub async fn delete_quota(&self, target: &QuotaTarget) -> Result<(), ClientError> {
        self.execute(requests::delete_quota(target)).await.map(drop)
    }

    // ---- Replication ----

    /// `GET /<bucket>?replication`: the configuration, and the remote region from the
    /// `x-amz-geo-*` headers when `x-amz-geo-endpoint` is present (a missing key or secret
    /// header is read as empty).
    pub async fn get_replication(&self, bucket: &str) -> Result<ReplicationSettings, ClientError> {
        let answer = self
            .execute(Call::bucket(Method::GET, bucket, "replication"))
            .await?;
        let config = ReplicationConfiguration::parse(&answer.body)
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        Ok(ReplicationSettings {
            config,
            remote: remote_from_headers(&answer.headers)?,
        })
    }

    /// `PUT /<bucket>?replication` with the document, and the remote region in headers.
    pub async fn put_replication(
        &self,
        bucket: &str,
        settings: &ReplicationSettings,
    ) -> Result<(), ClientError> {
        self.execute(requests::put_replication(bucket, settings)?)
            .await
            .map(drop)
    }

    /// `DELETE /<bucket>?replication`.
    pub async fn delete_replication(&self, bucket: &str) -> Result<(), ClientError> {
        self.execute(Call::bucket(Method::DELETE, bucket, "replication"))
            .await
            .map(drop)
    }

    // ---- Usage ----

    /// `GET ?ostor-usage`: the names of the usage objects.
    pub async fn list_usage(&self) -> Result<UsageList, ClientError> {
        let answer = self.execute(requests::list_usage()).await?;
        decode_json(&answer.body)
    }

    /// `GET ?ostor-usage&obj=`: one usage object.
    pub async fn get_usage(&self, object: &str) -> Result<UsageReport, ClientError> {
        let answer = self.execute(requests::get_usage(object)).await?;
        decode_json(&answer.body)
    }

    /// `DELETE ?ostor-usage&obj=`.
    pub async fn delete_usage(&self, object: &str) -> Result<(), ClientError> {
        self.execute(requests::delete_usage(object)).await.map(drop)
    }

    // ---- Sending ----

    async fn execute(&self, call: Call) -> Result<Answer, ClientError> {
        self.execute_as(call, &self.credentials).await
    }

    async fn execute_as(
        &self,
        call: Call,
        credentials: &Credentials,
    ) -> Result<Answer, ClientError> {
        let request = self.signed(call, credentials, SystemTime::now())?;
        let request = reqwest::Request::try_from(request)?;
        let response = self.http.execute(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        if status.is_success() {
            Ok(Answer { headers, body })
        } else {
            let (code, message) = parse_error_body(&body);
            Err(ClientError::Status {
                status: status.as_u16(),
                code,
                message,
            })
        }
    }

    /// `call` as an absolute-URI request with `Host`, signed by `credentials` at `time`.
    fn signed(
        &self,
        call: Call,
        credentials: &Credentials,
        time: SystemTime,
    ) -> Result<http::Request<Vec<u8>>, ClientError> {
        let Call {
            method,
            path,
            query,
            headers,
            body,
        } = call;
        let uri = if query.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{query}", self.base)
        };
        let signing = SigningParams::s3(credentials, &self.region, time);
        let request = signed_request(
            method,
            &uri,
            &self.host,
            headers,
            SignableBody::Bytes(&body),
            &signing,
        )?;
        Ok(request.map(|()| body))
    }
}

/// A request for the absolute `uri` with `Host` and the SigV4 signature set: how Depot's own
/// S3 clients (this one, the replicator) sign. `Host` is set here rather than left to the
/// HTTP stack so that the signed one is the one sent.
pub(crate) fn signed_request(
    method: Method,
    uri: &str,
    host: &HeaderValue,
    headers: HeaderMap,
    payload: SignableBody<'_>,
    signing: &SigningParams<'_>,
) -> Result<http::Request<()>, ClientError> {
    let mut request = http::Request::builder()
        .method(method)
        .uri(uri)
        .body(())
        .map_err(|e| ClientError::InvalidEndpoint(format!("{uri}: {e}")))?;
    *request.headers_mut() = headers;
    request.headers_mut().insert(HOST, host.clone());
    sign_request(&mut request, payload, signing)?;
    Ok(request)
}

/// Splits `endpoint` into `scheme://authority` and the `Host` header value.
pub(crate) fn parse_endpoint(endpoint: &str) -> Result<(String, HeaderValue), ClientError> {
    let invalid = |why: &str| ClientError::InvalidEndpoint(format!("`{endpoint}`: {why}"));
    let url = reqwest::Url::parse(endpoint).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials do not belong in the endpoint"));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("the endpoint must have no path, query or fragment"));
    }
    let host = url.host_str().ok_or_else(|| invalid("no host"))?;
    // `Url::port` is `None` for the scheme's default port, which HTTP stacks leave out of Host.
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let header = HeaderValue::from_str(&authority).map_err(|_| invalid("bad host"))?;
    Ok((format!("{}://{authority}", url.scheme()), header))
}

/// The remote region of a `GET ?replication` answer.
fn remote_from_headers(headers: &HeaderMap) -> Result<Option<RemoteEndpoint>, ClientError> {
    let text = |name: &str| -> Result<Option<String>, ClientError> {
        headers
            .get(name)
            .map(|value| {
                value
                    .to_str()
                    .map(str::to_owned)
                    .map_err(|_| ClientError::Decode(format!("{name} is not visible ASCII")))
            })
            .transpose()
    };
    let Some(endpoint) = text(GEO_ENDPOINT_HEADER)? else {
        return Ok(None);
    };
    Ok(Some(RemoteEndpoint {
        endpoint,
        access_key: text(GEO_ACCESS_KEY_HEADER)?.unwrap_or_default(),
        secret: text(GEO_ACCESS_SECRET_HEADER)?.unwrap_or_default(),
    }))
}

fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Decode(e.to_string()))
}

/// `Code` and `Message` of an S3 error document (`<Error><Code>…</Code>…</Error>`); `None`
/// for each that is absent or empty, and for bodies that are empty or not XML.
pub(crate) fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(text) = std::str::from_utf8(body) else {
        return (None, None);
    };
    let mut reader = Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut buffer = String::new();
    let (mut code, mut message) = (None, None);
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => {
                path.push(start.local_name().into_inner().to_owned());
                buffer.clear();
            }
            Ok(Event::End(_)) => {
                if path.len() == 2 && path[0] == "Error" {
                    let value = Some(buffer.trim().to_owned()).filter(|v| !v.is_empty());
                    match path[1].as_str() {
                        "Code" => code = value,
                        "Message" => message = value,
                        _ => {}
                    }
                }
                path.pop();
                buffer.clear();
            }
            Ok(Event::Text(text)) => buffer.push_str(&text.xml10_content()),
            Ok(Event::CData(data)) => buffer.push_str(&data.xml10_content()),
            Ok(Event::GeneralRef(reference)) => match reference.resolve_char_ref() {
                Ok(Some(c)) => buffer.push(c),
                _ => buffer.push_str(resolve_predefined_entity(&reference).unwrap_or("")),
            },
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    (code, message)
}

/// A query string being built: the sub-resource first, then parameters in call order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Query(String);

impl Query {
    fn new(subresource: &str) -> Self {
        Self(subresource.to_owned())
    }

    /// `&name`, a flag without a value.
    fn flag(mut self, name: &str) -> Self {
        self.0.push('&');
        self.0.push_str(name);
        self
    }

    /// `&name=value`, the value percent-encoded.
    fn param(mut self, name: &str, value: &str) -> Self {
        self.0.push('&');
        self.0.push_str(name);
        self.0.push('=');
        self.0.push_str(&uri_encode(value));
        self
    }

    fn optional(self, name: &str, value: Option<u64>) -> Self {
        match value {
            Some(value) => self.param(name, &value.to_string()),
            None => self,
        }
    }

    fn user(self, user: &UserRef) -> Self {
        match user {
            UserRef::Email(email) => self.param("emailAddress", email),
            UserRef::Id(id) => self.param("id", id),
        }
    }

    fn account(self, account: Option<&str>) -> Self {
        match account {
            Some(name) => self.param("accountName", name),
            None => self,
        }
    }

    fn limit_target(self, target: &LimitTarget) -> Self {
        match target {
            LimitTarget::User(user) => self.user(user),
            LimitTarget::Bucket(bucket) => self.param("bucket", bucket),
        }
    }

    fn quota_target(self, target: &QuotaTarget) -> Self {
        match target {
            QuotaTarget::User(user) => self.user(user),
            QuotaTarget::Bucket(bucket) => self.param("bucket", bucket),
            QuotaTarget::DefaultUser => self.param("default", "user"),
            QuotaTarget::DefaultBucket => self.param("default", "bucket"),
        }
    }
}

/// The calls as plain values, so their shape is tested without a server.
mod requests {
    use base64::Engine as _;
    use http::HeaderName;
    use http::header::CONTENT_TYPE;
    use md5::{Digest, Md5};

    use super::*;

    pub(super) fn list_users() -> Call {
        Call::service(Method::GET, Query::new("ostor-users"))
    }

    pub(super) fn get_user(user: &UserRef) -> Call {
        Call::service(Method::GET, Query::new("ostor-users").user(user))
    }

    pub(super) fn create_user(email: &str) -> Call {
        Call::service(
            Method::PUT,
            Query::new("ostor-users").param("emailAddress", email),
        )
    }

    pub(super) fn generate_key(user: &UserRef, account: Option<&str>) -> Call {
        let query = Query::new("ostor-users")
            .user(user)
            .account(account)
            .flag("genKey");
        Call::service(Method::POST, query)
    }

    pub(super) fn revoke_key(user: &UserRef, account: Option<&str>, key: &str) -> Call {
        let query = Query::new("ostor-users")
            .user(user)
            .account(account)
            .param("revokeKey", key);
        Call::service(Method::POST, query)
    }

    pub(super) fn set_user_enabled(user: &UserRef, enabled: bool) -> Call {
        let flag = if enabled { "enable" } else { "disable" };
        Call::service(
            Method::POST,
            Query::new("ostor-users").user(user).flag(flag),
        )
    }

    pub(super) fn delete_user(user: &UserRef) -> Call {
        Call::service(Method::DELETE, Query::new("ostor-users").user(user))
    }

    pub(super) fn create_account(user: &UserRef, name: &str) -> Call {
        let query = Query::new("ostor-accounts")
            .user(user)
            .param("accountName", name);
        Call::service(Method::POST, query)
    }

    pub(super) fn delete_account(user: &UserRef, name: &str) -> Call {
        let query = Query::new("ostor-accounts")
            .user(user)
            .param("accountName", name);
        Call::service(Method::DELETE, query)
    }

    pub(super) fn list_buckets(owner: Option<&UserRef>) -> Call {
        let query = Query::new("ostor-buckets");
        let query = match owner {
            Some(user) => query.user(user),
            None => query,
        };
        Call::service(Method::GET, query)
    }

    pub(super) fn get_limits(target: &LimitTarget) -> Call {
        Call::service(Method::GET, Query::new("ostor-limits").limit_target(target))
    }

    pub(super) fn set_ops_limits(target: &LimitTarget, limits: &OpsLimits) -> Call {
        let query = Query::new("ostor-limits")
            .limit_target(target)
            .flag("ops")
            .optional("default", limits.default)
            .optional("get", limits.get)
            .optional("put", limits.put)
            .optional("list", limits.list)
            .optional("delete", limits.delete);
        Call::service(Method::PUT, query)
    }

    pub(super) fn set_bandwidth_limit(target: &LimitTarget, out_kb_per_s: u64) -> Call {
        let query = Query::new("ostor-limits")
            .limit_target(target)
            .flag("bandwidth")
            .param("out", &out_kb_per_s.to_string());
        Call::service(Method::PUT, query)
    }

    pub(super) fn delete_limits(target: &LimitTarget, kind: LimitKind) -> Call {
        let flag = match kind {
            LimitKind::Ops => "ops",
            LimitKind::Bandwidth => "bandwidth",
        };
        let query = Query::new("ostor-limits").limit_target(target).flag(flag);
        Call::service(Method::DELETE, query)
    }

    pub(super) fn get_quota(target: &QuotaTarget) -> Call {
        Call::service(Method::GET, Query::new("ostor-quotas").quota_target(target))
    }

    pub(super) fn set_quota(target: &QuotaTarget, size_gb: u64) -> Call {
        let query = Query::new("ostor-quotas")
            .quota_target(target)
            .param("quota-size", &size_gb.to_string());
        Call::service(Method::PUT, query)
    }

    pub(super) fn delete_quota(target: &QuotaTarget) -> Call {
        Call::service(
            Method::DELETE,
            Query::new("ostor-quotas").quota_target(target),
        )
    }

    pub(super) fn put_replication(
        bucket: &str,
        settings: &ReplicationSettings,
    ) -> Result<Call, ClientError> {
        let body = settings.config.to_xml().into_bytes();
        let mut call = Call::bucket(Method::PUT, bucket, "replication");
        call.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        // S3 requires Content-MD5 on PutBucketReplication; ostor does not mind it.
        let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&body));
        call.headers.insert(
            HeaderName::from_static("content-md5"),
            header(&md5, "Content-MD5")?,
        );
        if let Some(remote) = &settings.remote {
            insert_remote_headers(&mut call.headers, remote).map_err(|name| {
                ClientError::Signing(SigV4Error::Unsignable(format!(
                    "the value of {name} cannot travel in an HTTP header"
                )))
            })?;
        }
        call.body = body;
        Ok(call)
    }

    pub(super) fn list_usage() -> Call {
        Call::service(Method::GET, Query::new("ostor-usage"))
    }

    pub(super) fn get_usage(object: &str) -> Call {
        Call::service(Method::GET, Query::new("ostor-usage").param("obj", object))
    }

    pub(super) fn delete_usage(object: &str) -> Call {
        Call::service(
            Method::DELETE,
            Query::new("ostor-usage").param("obj", object),
        )
    }

    /// A header value; the error names the header, never the value (it may be a secret).
    fn header(value: &str, name: &str) -> Result<HeaderValue, ClientError> {
        HeaderValue::from_str(value).map_err(|_| {
            ClientError::Signing(SigV4Error::Unsignable(format!(
                "the value of {name} cannot travel in an HTTP header"
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::ReplicationRule;
    use depot_sigv4::{EMPTY_SHA256, Verifier};

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn client() -> OstorClient {
        OstorClient::new("http://127.0.0.1:9000", "AKIDEXAMPLE", SECRET).expect("valid endpoint")
    }

    fn email() -> UserRef {
        UserRef::Email("user1@email.com".into())
    }

    #[test]
    fn user_queries_encode_emails_and_write_bare_flags() {
        assert_eq!(requests::list_users().query, "ostor-users");
        assert_eq!(
            requests::get_user(&UserRef::Id("b09693b73b3c7686".into())).query,
            "ostor-users&id=b09693b73b3c7686"
        );
        let create = requests::create_user("a+b@example.com");
        assert_eq!(create.method, Method::PUT);
        assert_eq!(create.path, "/");
        assert_eq!(create.query, "ostor-users&emailAddress=a%2Bb%40example.com");
        let gen_key = requests::generate_key(&email(), None);
        assert_eq!(gen_key.method, Method::POST);
        assert_eq!(
            gen_key.query,
            "ostor-users&emailAddress=user1%40email.com&genKey"
        );
        assert_eq!(
            requests::generate_key(&email(), Some("account 1")).query,
            "ostor-users&emailAddress=user1%40email.com&accountName=account%201&genKey"
        );
        assert_eq!(
            requests::revoke_key(&email(), None, "8eaa6ab4749a29b4034G").query,
            "ostor-users&emailAddress=user1%40email.com&revokeKey=8eaa6ab4749a29b4034G"
        );
        assert_eq!(
            requests::set_user_enabled(&email(), false).query,
            "ostor-users&emailAddress=user1%40email.com&disable"
        );
        assert_eq!(
            requests::set_user_enabled(&email(), true).query,
            "ostor-users&emailAddress=user1%40email.com&enable"
        );
        assert_eq!(requests::delete_user(&email()).method, Method::DELETE);
    }

    #[test]
    fn account_and_bucket_queries() {
        let create = requests::create_account(&email(), "account1");
        assert_eq!(create.method, Method::POST);
        assert_eq!(
            create.query,
            "ostor-accounts&emailAddress=user1%40email.com&accountName=account1"
        );
        assert_eq!(
            requests::delete_account(&UserRef::Id("bc6265392b818465".into()), "a").query,
            "ostor-accounts&id=bc6265392b818465&accountName=a"
        );
        assert_eq!(requests::list_buckets(None).query, "ostor-buckets");
        assert_eq!(
            requests::list_buckets(Some(&email())).query,
            "ostor-buckets&emailAddress=user1%40email.com"
        );
    }

    #[test]
    fn limit_queries_follow_the_reference() {
        let bucket = LimitTarget::Bucket("testbucket".into());
        let limits = OpsLimits {
            default: Some(60),
            put: Some(3600),
            list: Some(30),
            ..OpsLimits::default()
        };
        let set = requests::set_ops_limits(&bucket, &limits);
        assert_eq!(set.method, Method::PUT);
        assert_eq!(
            set.query,
            "ostor-limits&bucket=testbucket&ops&default=60&put=3600&list=30"
        );
        assert_eq!(
            requests::set_bandwidth_limit(&bucket, 50).query,
            "ostor-limits&bucket=testbucket&bandwidth&out=50"
        );
        let user = LimitTarget::User(email());
        assert_eq!(
            requests::get_limits(&user).query,
            "ostor-limits&emailAddress=user1%40email.com"
        );
        assert_eq!(
            requests::delete_limits(&user, LimitKind::Ops).query,
            "ostor-limits&emailAddress=user1%40email.com&ops"
        );
        assert_eq!(
            requests::delete_limits(&bucket, LimitKind::Bandwidth).query,
            "ostor-limits&bucket=testbucket&bandwidth"
        );
    }

    #[test]
    fn quota_and_usage_queries() {
        assert_eq!(
            requests::set_quota(&QuotaTarget::DefaultUser, 1024).query,
            "ostor-quotas&default=user&quota-size=1024"
        );
        assert_eq!(
            requests::get_quota(&QuotaTarget::DefaultBucket).query,
            "ostor-quotas&default=bucket"
        );
        assert_eq!(
            requests::delete_quota(&QuotaTarget::Bucket("bucket1".into())).query,
            "ostor-quotas&bucket=bucket1"
        );
        assert_eq!(
            requests::get_quota(&QuotaTarget::User(email())).query,
            "ostor-quotas&emailAddress=user1%40email.com"
        );
        assert_eq!(requests::list_usage().query, "ostor-usage");
        assert_eq!(
            requests::get_usage("s3-usage-8000000000000003-2016-04-11T13:12:53.000Z-30").query,
            "ostor-usage&obj=s3-usage-8000000000000003-2016-04-11T13%3A12%3A53.000Z-30"
        );
        assert_eq!(requests::delete_usage("x").method, Method::DELETE);
    }

    #[test]
    fn replication_is_a_bucket_subresource_with_geo_headers() {
        let settings = ReplicationSettings {
            config: ReplicationConfiguration {
                role: "arn:aws:iam::850b4943d62191a5:role/s3-replication-role".into(),
                rules: vec![ReplicationRule {
                    id: None,
                    enabled: true,
                    priority: Some(1),
                    delete_marker_replication: false,
                    prefix: String::new(),
                    destination_bucket: "target".into(),
                }],
            },
            remote: Some(RemoteEndpoint {
                endpoint: "https://s3.remote.example".into(),
                access_key: "AKIDREMOTE".into(),
                secret: SECRET.into(),
            }),
        };
        let call = requests::put_replication("test", &settings).expect("valid headers");
        assert_eq!(call.path, "/test");
        assert_eq!(call.query, "replication");
        assert_eq!(
            call.headers[GEO_ENDPOINT_HEADER],
            "https://s3.remote.example"
        );
        assert_eq!(call.headers[GEO_ACCESS_KEY_HEADER], "AKIDREMOTE");
        assert_eq!(call.headers[GEO_ACCESS_SECRET_HEADER], SECRET);
        assert!(call.headers[GEO_ACCESS_SECRET_HEADER].is_sensitive());
        assert!(call.headers.contains_key("content-md5"));
        assert_eq!(
            ReplicationConfiguration::parse(&call.body).expect("body parses"),
            settings.config
        );

        let mut bad = settings.clone();
        if let Some(remote) = bad.remote.as_mut() {
            remote.secret = "line\nbreak".into();
        }
        let error = requests::put_replication("test", &bad).expect_err("newline refused");
        assert!(!error.to_string().contains("line"));

        let mut headers = HeaderMap::new();
        assert_eq!(remote_from_headers(&headers).expect("no headers"), None);
        headers.insert(GEO_ENDPOINT_HEADER, HeaderValue::from_static("http://r"));
        headers.insert(GEO_ACCESS_KEY_HEADER, HeaderValue::from_static("k"));
        let remote = remote_from_headers(&headers)
            .expect("valid headers")
            .expect("endpoint present");
        assert_eq!(
            (
                remote.endpoint.as_str(),
                remote.access_key.as_str(),
                remote.secret.as_str()
            ),
            ("http://r", "k", "")
        );
    }

    #[test]
    fn parses_s3_error_documents() {
        let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchLimits</Code>\
            <Message>No limits for &quot;a&amp;b&quot;</Message><RequestId>1</RequestId></Error>";
        assert_eq!(
            parse_error_body(body),
            (
                Some("NoSuchLimits".to_owned()),
                Some("No limits for \"a&b\"".to_owned())
            )
        );
        assert_eq!(parse_error_body(b""), (None, None));
        assert_eq!(parse_error_body(b"{\"error\": 1}"), (None, None));
        assert_eq!(parse_error_body(b"\xff\xfe"), (None, None));
        assert_eq!(
            parse_error_body(b"<Error><Code>AccessDenied</Code><Message/></Error>"),
            (Some("AccessDenied".to_owned()), None)
        );
        // A Code nested deeper is not the error's code.
        assert_eq!(
            parse_error_body(b"<Error><Detail><Code>X</Code></Detail></Error>"),
            (None, None)
        );
    }

    #[test]
    fn error_accessors_and_display() {
        let error = ClientError::Status {
            status: 404,
            code: Some("NoSuchUser".into()),
            message: Some("The user does not exist.".into()),
        };
        assert_eq!(error.status(), Some(404));
        assert_eq!(error.code(), Some("NoSuchUser"));
        assert_eq!(
            error.to_string(),
            "the server answered 404 NoSuchUser: The user does not exist."
        );
        let bare = ClientError::Status {
            status: 503,
            code: None,
            message: None,
        };
        assert_eq!(bare.to_string(), "the server answered 503");
        assert_eq!(ClientError::Decode("x".into()).status(), None);
    }

    #[test]
    fn signing_adds_a_verifiable_authorization() {
        let client = client();
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let request = client
            .signed(
                requests::generate_key(&email(), None),
                &client.credentials,
                time,
            )
            .expect("signs");
        assert_eq!(
            request.uri().to_string(),
            "http://127.0.0.1:9000/?ostor-users&emailAddress=user1%40email.com&genKey"
        );
        let headers = request.headers();
        assert_eq!(headers[HOST], "127.0.0.1:9000");
        assert_eq!(headers["x-amz-content-sha256"], EMPTY_SHA256);
        let authorization = headers[http::header::AUTHORIZATION]
            .to_str()
            .expect("ASCII");
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/s3/aws4_request"
            ),
            "{authorization}"
        );
        assert!(!authorization.contains(SECRET));

        // What the server sees: the path and query on the request line, and the headers.
        let server_uri: http::Uri = "/?ostor-users&emailAddress=user1%40email.com&genKey"
            .parse()
            .expect("valid URI");
        let verified = Verifier::new("s3")
            .with_region("us-east-1")
            .verify_request(&Method::POST, &server_uri, headers, time, |key| {
                (key == "AKIDEXAMPLE").then_some(SECRET)
            })
            .expect("the signature verifies");
        assert_eq!(verified.access_key_id, "AKIDEXAMPLE");
    }

    #[test]
    fn signing_covers_the_body_and_the_region() {
        let client = client().with_region("eu-west-1");
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let call = Call {
            body: b"<x/>".to_vec(),
            ..Call::bucket(Method::PUT, "test", "replication")
        };
        let request = client
            .signed(call, &client.credentials, time)
            .expect("signs");
        assert_eq!(
            request.uri().to_string(),
            "http://127.0.0.1:9000/test?replication"
        );
        assert_eq!(
            request.headers()["x-amz-content-sha256"],
            SignableBody::Bytes(b"<x/>").payload_hash().as_str()
        );
        let authorization = request.headers()[http::header::AUTHORIZATION]
            .to_str()
            .expect("ASCII");
        assert!(authorization.contains("/eu-west-1/s3/aws4_request"));
        assert_eq!(request.body(), b"<x/>");
    }

    #[test]
    fn endpoints() {
        let https = OstorClient::new("https://s3.example.com/", "a", "b").expect("valid");
        assert_eq!(https.endpoint(), "https://s3.example.com");
        assert_eq!(https.host, "s3.example.com");
        let default_port = OstorClient::new("http://s3.example.com:80", "a", "b").expect("valid");
        assert_eq!(default_port.host, "s3.example.com");
        let ipv6 = OstorClient::new("http://[::1]:9000", "a", "b").expect("valid");
        assert_eq!(ipv6.host, "[::1]:9000");
        for bad in [
            "ftp://s3.example.com",
            "s3.example.com",
            "http://s3.example.com/prefix",
            "http://s3.example.com/?x",
            "http://user:pw@s3.example.com",
            "",
        ] {
            assert!(
                matches!(
                    OstorClient::new(bad, "a", "b"),
                    Err(ClientError::InvalidEndpoint(_))
                ),
                "{bad} must be refused"
            );
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", client());
        assert!(shown.contains("AKIDEXAMPLE"));
        assert!(!shown.contains(SECRET));
        assert_eq!(client().region(), DEFAULT_REGION);
        assert_eq!(client().access_key_id(), "AKIDEXAMPLE");
    }
}
