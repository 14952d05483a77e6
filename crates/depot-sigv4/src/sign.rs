//! The client side: sign an `http::Request` in its headers, or presign it into a URL.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::canonical::{canonical_request, host_of};
use crate::uri::{canonical_query, canonical_uri, query_pairs_raw, uri_encode};
use crate::{
    ALGORITHM, AmzDate, Scope, SigV4Error, SignableBody, SigningKey, UriRules, string_to_sign,
};

/// The longest validity of a presigned URL: seven days.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(604_800);

/// Headers a signer leaves out because proxies and HTTP stacks rewrite them, as the AWS SDKs do.
const UNSIGNED_HEADERS: &[&str] = &[
    "authorization",
    "user-agent",
    "x-amzn-trace-id",
    "expect",
    "transfer-encoding",
];

/// Headers that a presigned URL does not sign, because the one who follows the URL may not send them.
const UNSIGNED_HEADERS_PRESIGNED: &[&str] = &["x-amz-user-agent", "x-amz-checksum-mode"];

/// An access key with its secret, and an optional session token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"****")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "****"),
            )
            .finish()
    }
}

impl Credentials {
    /// A key pair without a session token.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }

    /// The same key pair with a session token (sent as `x-amz-security-token`).
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(token.into());
        self
    }

    /// The access key id.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret access key.
    pub fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// The session token, if any.
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }
}

/// Everything a signature depends on besides the request itself.
#[derive(Debug, Clone)]
pub struct SigningParams<'a> {
    /// Who signs.
    pub credentials: &'a Credentials,
    /// The region of the scope, such as `us-east-1`.
    pub region: &'a str,
    /// The service of the scope, such as `s3`.
    pub service: &'a str,
    /// The signing time.
    pub time: SystemTime,
    /// How the path becomes the canonical URI.
    pub uri_rules: UriRules,
    /// Whether header signing adds `x-amz-content-sha256` (S3 requires it).
    pub content_sha256_header: bool,
    /// Whether the session token is part of the signature. Some services want it added after
    /// signing; S3 does not, and Depot's verifier rejects such requests.
    pub sign_session_token: bool,
}

impl<'a> SigningParams<'a> {
    /// Parameters for Amazon S3 and S3-compatible servers: service `s3`, S3 URI rules and
    /// `x-amz-content-sha256` sent.
    pub fn s3(credentials: &'a Credentials, region: &'a str, time: SystemTime) -> Self {
        Self {
            credentials,
            region,
            service: "s3",
            time,
            uri_rules: UriRules::S3,
            content_sha256_header: true,
            sign_session_token: true,
        }
    }

    fn date(&self) -> AmzDate {
        AmzDate::from_system_time(self.time)
    }

    fn scope(&self) -> Scope {
        Scope::new(self.date(), self.region, self.service)
    }
}

/// The outcome of signing: the signature and the texts it was computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The lowercase hex signature.
    pub signature: String,
    /// The canonical request that was signed.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The signing key, for chaining aws-chunked chunk signatures from this seed signature.
    pub signing_key: SigningKey,
    /// The scope the signature is bound to.
    pub scope: Scope,
    /// The signing time.
    pub date: AmzDate,
}

fn header_value(value: &str) -> Result<HeaderValue, SigV4Error> {
    HeaderValue::from_str(value)
        .map_err(|_| SigV4Error::Unsignable(format!("`{value}` is not a valid header value")))
}

/// Signs a request in place: adds `x-amz-date`, `x-amz-content-sha256` (if asked),
/// `x-amz-security-token` (if any) and `authorization`.
///
/// `Host` is signed but not added: HTTP clients derive it from the URI, which must therefore
/// carry an authority unless a `Host` header is already set.
pub fn sign_request<B>(
    request: &mut http::Request<B>,
    body: SignableBody<'_>,
    params: &SigningParams<'_>,
) -> Result<Signature, SigV4Error> {
    let uri = request.uri().clone();
    let method = request.method().as_str().to_owned();
    sign_headers(
        &method,
        uri.path(),
        uri.query().unwrap_or(""),
        host_of(request.headers(), &uri).as_deref(),
        request.headers_mut(),
        body,
        params,
    )
}

/// [`sign_request`] for a request given as parts: a raw path and query (as on the request
/// line) and the headers, which receive the signature.
pub fn sign_headers(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    host: Option<&str>,
    headers: &mut HeaderMap,
    body: SignableBody<'_>,
    params: &SigningParams<'_>,
) -> Result<Signature, SigV4Error> {
    let date = params.date();
    let payload_hash = body.payload_hash();
    let mut added: Vec<(HeaderName, HeaderValue)> = vec![(
        HeaderName::from_static("x-amz-date"),
        header_value(&date.to_string())?,
    )];
    if params.content_sha256_header {
        added.push((
            HeaderName::from_static("x-amz-content-sha256"),
            header_value(&payload_hash)?,
        ));
    }
    let token = params.credentials.session_token();
    if let Some(token) = token.filter(|_| params.sign_session_token) {
        let mut value = header_value(token)?;
        value.set_sensitive(true);
        added.push((HeaderName::from_static("x-amz-security-token"), value));
    }
    let mut signed_view = headers.clone();
    for (name, value) in &added {
        signed_view.insert(name.clone(), value.clone());
    }
    let signed_headers = signed_header_names(&signed_view, host.is_some(), UNSIGNED_HEADERS);
    let query = canonical_query(query_pairs_raw(raw_query), |_| false);
    let creq = canonical_request(
        method,
        &canonical_uri(raw_path, params.uri_rules),
        &query,
        &signed_view,
        host,
        &signed_headers,
        &payload_hash,
    )?;
    let signature = finish(params, date, creq);
    let authorization = format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={}",
        params.credentials.access_key_id(),
        signature.scope,
        signed_headers.join(";"),
        signature.signature
    );
    for (name, value) in added {
        headers.insert(name, value);
    }
    if let Some(token) = token.filter(|_| !params.sign_session_token) {
        let mut value = header_value(token)?;
        value.set_sensitive(true);
        headers.insert(HeaderName::from_static("x-amz-security-token"), value);
    }
    headers.insert(http::header::AUTHORIZATION, header_value(&authorization)?);
    Ok(signature)
}

/// Presigns a request: returns its URI with the `X-Amz-*` query parameters that carry the
/// signature, valid for `expires_in` (1 second to 7 days). The request's headers, other than
/// those presigned URLs never sign, are signed and must be sent by whoever follows the URL.
///
/// For S3, sign `SignableBody::Mode(PayloadMode::Unsigned)`: the body is not known in advance.
pub fn presign_request<B>(
    request: &http::Request<B>,
    body: SignableBody<'_>,
    params: &SigningParams<'_>,
    expires_in: Duration,
) -> Result<(http::Uri, Signature), SigV4Error> {
    let uri = request.uri();
    let (query, signature) = presign_query(
        request.method().as_str(),
        uri.path(),
        uri.query().unwrap_or(""),
        host_of(request.headers(), uri).as_deref(),
        request.headers(),
        body,
        params,
        expires_in,
    )?;
    let mut text = uri.to_string();
    match uri.query() {
        None => text.push('?'),
        Some("") => {}
        Some(_) => text.push('&'),
    }
    text.push_str(&query);
    let signed_uri = text
        .parse()
        .map_err(|_| SigV4Error::Unsignable("the presigned URI is not valid".into()))?;
    Ok((signed_uri, signature))
}

/// The query parameters to append to a URI to presign it, already encoded and joined with `&`.
#[allow(clippy::too_many_arguments)]
pub fn presign_query(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    host: Option<&str>,
    headers: &HeaderMap,
    body: SignableBody<'_>,
    params: &SigningParams<'_>,
    expires_in: Duration,
) -> Result<(String, Signature), SigV4Error> {
    if expires_in.is_zero() || expires_in > MAX_PRESIGN_EXPIRY {
        return Err(SigV4Error::InvalidExpires);
    }
    let date = params.date();
    let scope = params.scope();
    let mut excluded: Vec<&str> = UNSIGNED_HEADERS.to_vec();
    excluded.extend_from_slice(UNSIGNED_HEADERS_PRESIGNED);
    let signed_headers = signed_header_names(headers, host.is_some(), &excluded);
    let mut added: Vec<(&str, String)> = vec![
        ("X-Amz-Algorithm", ALGORITHM.to_owned()),
        (
            "X-Amz-Credential",
            format!("{}/{scope}", params.credentials.access_key_id()),
        ),
        ("X-Amz-Date", date.to_string()),
        ("X-Amz-Expires", expires_in.as_secs().to_string()),
        ("X-Amz-SignedHeaders", signed_headers.join(";")),
    ];
    let token = params.credentials.session_token();
    let signed_token = token.filter(|_| params.sign_session_token);
    let pairs = query_pairs_raw(raw_query).chain(
        added
            .iter()
            .map(|(name, value)| (name.as_bytes().into(), value.as_bytes().into()))
            .chain(signed_token.map(|t| {
                (
                    b"X-Amz-Security-Token".as_slice().into(),
                    t.as_bytes().into(),
                )
            })),
    );
    let query = canonical_query(pairs, |_| false);
    let creq = canonical_request(
        method,
        &canonical_uri(raw_path, params.uri_rules),
        &query,
        headers,
        host,
        &signed_headers,
        &body.payload_hash(),
    )?;
    let signature = finish(params, date, creq);
    added.push(("X-Amz-Signature", signature.signature.clone()));
    // The token follows the signature, where the AWS SDKs put it, whether signed or not.
    if let Some(token) = token {
        added.push(("X-Amz-Security-Token", token.to_owned()));
    }
    let appended = added
        .iter()
        .map(|(name, value)| format!("{}={}", uri_encode(name), uri_encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    Ok((appended, signature))
}

/// The sorted, lowercase names of the headers to sign: all present but the excluded, and `host`.
fn signed_header_names(headers: &HeaderMap, has_host: bool, excluded: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = headers
        .keys()
        .map(|name| name.as_str())
        .filter(|name| !excluded.contains(name))
        .map(str::to_owned)
        .collect();
    if has_host && !names.iter().any(|n| n == "host") {
        names.push("host".to_owned());
    }
    names.sort_unstable();
    names
}

fn finish(params: &SigningParams<'_>, date: AmzDate, canonical_request: String) -> Signature {
    let scope = params.scope();
    let string_to_sign = string_to_sign(date, &scope, &canonical_request);
    let signing_key = SigningKey::derive(params.credentials.secret_access_key(), &scope);
    Signature {
        signature: signing_key.sign(&string_to_sign),
        canonical_request,
        string_to_sign,
        signing_key,
        scope,
        date,
    }
}
