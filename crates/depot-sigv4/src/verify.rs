//! The server side: read a request's SigV4 authorization, then verify it with the signer's secret.
//!
//! Verification is two steps so that this crate needs no credential store: [`Authorization::from_request`]
//! tells which access key signed, the caller looks its secret up wherever it keeps secrets, and
//! [`Verifier::verify`] checks the signature, the clock and the presigned validity.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method, Uri};

use crate::canonical::{canonical_request, host_of};
use crate::key::signatures_match;
use crate::sign::MAX_PRESIGN_EXPIRY;
use crate::uri::{canonical_query, canonical_uri, query_pairs, query_pairs_raw};
use crate::{
    ALGORITHM, AmzDate, PayloadMode, Scope, SigV4Error, SigningKey, SigningKeyCache, UriRules,
    string_to_sign,
};

/// How far a request's clock may be from the server's: 15 minutes, as Amazon S3 allows.
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// Where the signature was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthLocation {
    /// The `Authorization` header.
    Header,
    /// The query string of a presigned URL, valid for the given time from its date.
    Query {
        /// `X-Amz-Expires`.
        expires: Duration,
    },
}

/// A request's SigV4 authorization, parsed but not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key that claims to have signed.
    pub access_key_id: String,
    /// The credential scope.
    pub scope: Scope,
    /// The signed header names, lowercase, in the signer's order.
    pub signed_headers: Vec<String>,
    /// The hex signature.
    pub signature: String,
    /// `x-amz-date` or `X-Amz-Date`.
    pub date: AmzDate,
    /// Header or presigned query.
    pub location: AuthLocation,
    /// What the signature says of the body.
    pub payload: PayloadMode,
    /// The payload hash exactly as the client sent it (a digest may be in upper case): the last
    /// line of the canonical request.
    pub payload_hash: String,
    /// `x-amz-security-token` or `X-Amz-Security-Token`, if sent.
    pub session_token: Option<String>,
}

fn malformed(what: impl Into<String>) -> SigV4Error {
    SigV4Error::MalformedAuthorization(what.into())
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, SigV4Error> {
    headers
        .get(name)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| malformed(format!("{name} is not ASCII")))
        })
        .transpose()
}

impl Authorization {
    /// Whether the request carries SigV4 authorization at all (an `AWS4-HMAC-SHA256`
    /// Authorization header or an `X-Amz-Algorithm` query parameter). Requests that do not may
    /// be anonymous or signed with another scheme.
    pub fn is_present(uri: &Uri, headers: &HeaderMap) -> bool {
        let header = headers
            .get(http::header::AUTHORIZATION)
            .is_some_and(|v| v.as_bytes().starts_with(b"AWS4-"));
        header || query_pairs(uri.query().unwrap_or("")).any(|(name, _)| name == "X-Amz-Algorithm")
    }

    /// Parses the authorization of a request: the header form if an `Authorization` header is
    /// present, the presigned form if the query has `X-Amz-Algorithm`.
    pub fn from_request(uri: &Uri, headers: &HeaderMap) -> Result<Self, SigV4Error> {
        if let Some(header) = header_str(headers, "authorization")? {
            return Self::from_header(header, headers);
        }
        let query = uri.query().unwrap_or("");
        if query_pairs(query).any(|(name, _)| name == "X-Amz-Algorithm") {
            return Self::from_query(query, headers);
        }
        Err(SigV4Error::MissingAuthorization)
    }

    fn from_header(header: &str, headers: &HeaderMap) -> Result<Self, SigV4Error> {
        let (algorithm, rest) = header
            .trim()
            .split_once(' ')
            .ok_or_else(|| malformed("no algorithm in Authorization"))?;
        if algorithm != ALGORITHM {
            return Err(SigV4Error::UnsupportedAlgorithm(
                algorithm.chars().take(40).collect(),
            ));
        }
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (name, value) = part
                .trim()
                .split_once('=')
                .ok_or_else(|| malformed("Authorization component without `=`"))?;
            let slot = match name {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed,
                "Signature" => &mut signature,
                _ => {
                    return Err(malformed(format!(
                        "unknown Authorization component `{name}`"
                    )));
                }
            };
            if slot.replace(value).is_some() {
                return Err(malformed(format!(
                    "repeated Authorization component `{name}`"
                )));
            }
        }
        let credential = credential.ok_or_else(|| malformed("missing Credential"))?;
        let signed = signed.ok_or_else(|| malformed("missing SignedHeaders"))?;
        let signature = signature.ok_or_else(|| malformed("missing Signature"))?;
        let date =
            header_str(headers, "x-amz-date")?.ok_or_else(|| malformed("missing x-amz-date"))?;
        let payload_hash = header_str(headers, "x-amz-content-sha256")?
            .ok_or_else(|| SigV4Error::InvalidPayloadHash("missing x-amz-content-sha256".into()))?;
        let session_token = header_str(headers, "x-amz-security-token")?.map(str::to_owned);
        Self::assemble(
            credential,
            signed,
            signature,
            date,
            AuthLocation::Header,
            payload_hash,
            session_token,
        )
    }

    fn from_query(query: &str, headers: &HeaderMap) -> Result<Self, SigV4Error> {
        let (
            mut algorithm,
            mut credential,
            mut date,
            mut expires,
            mut signed,
            mut signature,
            mut token,
            mut content,
        ) = (None, None, None, None, None, None, None, None);
        for (name, value) in query_pairs(query) {
            let slot = match name.as_ref() {
                "X-Amz-Algorithm" => &mut algorithm,
                "X-Amz-Credential" => &mut credential,
                "X-Amz-Date" => &mut date,
                "X-Amz-Expires" => &mut expires,
                "X-Amz-SignedHeaders" => &mut signed,
                "X-Amz-Signature" => &mut signature,
                "X-Amz-Security-Token" => &mut token,
                "X-Amz-Content-Sha256" => &mut content,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(malformed(format!("repeated query parameter `{name}`")));
            }
        }
        let algorithm = algorithm.ok_or_else(|| malformed("missing X-Amz-Algorithm"))?;
        if algorithm != ALGORITHM {
            return Err(SigV4Error::UnsupportedAlgorithm(
                algorithm.chars().take(40).collect(),
            ));
        }
        let expires = expires.ok_or_else(|| malformed("missing X-Amz-Expires"))?;
        let expires = expires
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
            .filter(|e| !e.is_zero() && *e <= MAX_PRESIGN_EXPIRY)
            .ok_or(SigV4Error::InvalidExpires)?;
        // A presigned URL does not know its body: UNSIGNED-PAYLOAD unless the signer said otherwise.
        let payload_hash = match content.as_deref() {
            Some(value) => value,
            None => header_str(headers, "x-amz-content-sha256")?.unwrap_or(crate::UNSIGNED_PAYLOAD),
        };
        Self::assemble(
            &credential.ok_or_else(|| malformed("missing X-Amz-Credential"))?,
            &signed.ok_or_else(|| malformed("missing X-Amz-SignedHeaders"))?,
            &signature.ok_or_else(|| malformed("missing X-Amz-Signature"))?,
            &date.ok_or_else(|| malformed("missing X-Amz-Date"))?,
            AuthLocation::Query { expires },
            payload_hash,
            token,
        )
    }

    fn assemble(
        credential: &str,
        signed: &str,
        signature: &str,
        date: &str,
        location: AuthLocation,
        payload_hash: &str,
        session_token: Option<String>,
    ) -> Result<Self, SigV4Error> {
        let payload = PayloadMode::parse(payload_hash)?;
        let (access_key_id, scope) = credential
            .split_once('/')
            .ok_or_else(|| malformed("Credential has no scope"))?;
        if access_key_id.is_empty() {
            return Err(malformed("empty access key id"));
        }
        let scope = Scope::parse(scope)?;
        let date = AmzDate::parse(date)?;
        if scope.date != date.date_stamp() {
            return Err(SigV4Error::InvalidDate(format!(
                "credential date {} does not match request date {date}",
                scope.date
            )));
        }
        let signed_headers: Vec<String> = signed.split(';').map(str::to_owned).collect();
        if signed_headers
            .iter()
            .any(|h| h.is_empty() || h.bytes().any(|b| b.is_ascii_uppercase()))
        {
            return Err(malformed(
                "SignedHeaders must be lowercase names separated by `;`",
            ));
        }
        if !signed_headers.iter().any(|h| h == "host") {
            return Err(SigV4Error::MissingSignedHeader("host".into()));
        }
        if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed("Signature must be 64 hex digits"));
        }
        Ok(Self {
            access_key_id: access_key_id.to_owned(),
            scope,
            signed_headers,
            signature: signature.to_ascii_lowercase(),
            date,
            location,
            payload,
            payload_hash: payload_hash.to_owned(),
            session_token,
        })
    }
}

/// Checks signatures for one service: the rules it canonicalises paths by, the clock skew it
/// allows, the region(s) it answers for; keeps a cache of signing keys.
#[derive(Debug)]
pub struct Verifier {
    service: String,
    region: Option<String>,
    uri_rules: UriRules,
    max_skew: Duration,
    keys: SigningKeyCache,
}

/// A request whose signature checked out, with what is needed to check its body.
#[derive(Debug, Clone)]
pub struct VerifiedRequest {
    /// The access key that signed.
    pub access_key_id: String,
    /// What the body must satisfy.
    pub payload: PayloadMode,
    /// The host that was signed, from `Host` or the request's authority.
    pub host: Option<String>,
    /// The signed header names, lowercase.
    pub signed_headers: Vec<String>,
    /// The seed signature for aws-chunked bodies.
    pub seed: SeedSignature,
}

/// The request's signature with its key and scope: the start of the chain of chunk signatures.
#[derive(Debug, Clone)]
pub struct SeedSignature {
    /// The request's signature.
    pub signature: String,
    /// The key it was made with.
    pub signing_key: SigningKey,
    /// Its scope.
    pub scope: Scope,
    /// Its date.
    pub date: AmzDate,
}

impl Verifier {
    /// A verifier for `service` (`s3`) that accepts any region, with S3 URI rules and 15 minutes
    /// of clock skew.
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            region: None,
            uri_rules: UriRules::S3,
            max_skew: DEFAULT_MAX_SKEW,
            keys: SigningKeyCache::default(),
        }
    }

    /// Accepts only signatures scoped to `region`.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Canonicalises paths by `rules`.
    pub fn with_uri_rules(mut self, rules: UriRules) -> Self {
        self.uri_rules = rules;
        self
    }

    /// Allows `skew` between the request's clock and the server's.
    pub fn with_max_skew(mut self, skew: Duration) -> Self {
        self.max_skew = skew;
        self
    }

    /// Verifies `auth` (parsed from this request) with the signer's `secret` at time `now`.
    ///
    /// Order matters for the error a client sees: the scope first, then the clock, then the
    /// signature — as S3 does, a skewed clock is reported as such even if the signature is right.
    pub fn verify(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        auth: &Authorization,
        secret: &str,
        now: SystemTime,
    ) -> Result<VerifiedRequest, SigV4Error> {
        if auth.scope.service != self.service
            || self
                .region
                .as_ref()
                .is_some_and(|r| *r != auth.scope.region)
        {
            return Err(SigV4Error::ScopeMismatch(auth.scope.to_string()));
        }
        self.check_time(auth, now)?;
        check_every_amz_header_is_signed(headers, auth)?;
        let host = verified_host(headers, uri)?;
        let skip_signature = matches!(auth.location, AuthLocation::Query { .. });
        let query = canonical_query(query_pairs_raw(uri.query().unwrap_or("")), |name| {
            skip_signature && name == b"X-Amz-Signature"
        });
        let creq = canonical_request(
            method.as_str(),
            &canonical_uri(uri.path(), self.uri_rules),
            &query,
            headers,
            host.as_deref(),
            &auth.signed_headers,
            &auth.payload_hash,
        )?;
        let sts = string_to_sign(auth.date, &auth.scope, &creq);
        let cached = self.keys.lookup(&auth.access_key_id, secret, &auth.scope);
        let signing_key = cached
            .clone()
            .unwrap_or_else(|| SigningKey::derive(secret, &auth.scope));
        let computed = signing_key.sign(&sts);
        if !signatures_match(&computed, &auth.signature) {
            return Err(SigV4Error::SignatureMismatch);
        }
        if cached.is_none() {
            self.keys
                .store(&auth.access_key_id, secret, &auth.scope, &signing_key);
        }
        Ok(VerifiedRequest {
            access_key_id: auth.access_key_id.clone(),
            payload: auth.payload,
            host,
            signed_headers: auth.signed_headers.clone(),
            seed: SeedSignature {
                signature: computed,
                signing_key,
                scope: auth.scope.clone(),
                date: auth.date,
            },
        })
    }

    /// Both steps at once: parses the authorization, asks `secret_of` for the secret of the key
    /// that signed (`None` for an unknown key), and verifies.
    pub fn verify_request<S: AsRef<str>>(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        now: SystemTime,
        secret_of: impl FnOnce(&str) -> Option<S>,
    ) -> Result<VerifiedRequest, SigV4Error> {
        let auth = Authorization::from_request(uri, headers)?;
        let secret = secret_of(&auth.access_key_id).ok_or(SigV4Error::UnknownAccessKey)?;
        self.verify(method, uri, headers, &auth, secret.as_ref(), now)
    }

    fn check_time(&self, auth: &Authorization, now: SystemTime) -> Result<(), SigV4Error> {
        let now = AmzDate::from_system_time(now).unix_seconds();
        let signed = auth.date.unix_seconds();
        let skew = self.max_skew.as_secs();
        match auth.location {
            AuthLocation::Header if signed.abs_diff(now) > skew => {
                Err(SigV4Error::RequestTimeTooSkewed)
            }
            AuthLocation::Query { .. } if signed > now.saturating_add(skew) => {
                Err(SigV4Error::NotYetValid)
            }
            AuthLocation::Query { expires } if now > signed.saturating_add(expires.as_secs()) => {
                Err(SigV4Error::Expired)
            }
            _ => Ok(()),
        }
    }
}

/// Headers a presigned URL's user may add without signing them: the AWS SDKs leave them out of
/// presigned signatures.
const UNSIGNED_AMZ_HEADERS_PRESIGNED: &[&str] = &["x-amz-user-agent", "x-amz-checksum-mode"];

/// Every `x-amz-*` header changes what a request means (ACLs, copy sources, metadata,
/// encryption), so each must be signed, as S3 requires. `x-amz-content-sha256` is covered by the
/// canonical request's last line.
fn check_every_amz_header_is_signed(
    headers: &HeaderMap,
    auth: &Authorization,
) -> Result<(), SigV4Error> {
    for name in headers.keys() {
        let name = name.as_str();
        if !name.starts_with("x-amz-") || name == "x-amz-content-sha256" {
            continue;
        }
        if matches!(auth.location, AuthLocation::Query { .. })
            && UNSIGNED_AMZ_HEADERS_PRESIGNED.contains(&name)
        {
            continue;
        }
        if !auth.signed_headers.iter().any(|signed| signed == name) {
            return Err(SigV4Error::UnsignedHeader(name.to_owned()));
        }
    }
    Ok(())
}

/// The host the signature covers. A request may name its host twice — the `Host` header and an
/// absolute URI or HTTP/2 `:authority` — and a router may read either, so both must agree.
fn verified_host(headers: &HeaderMap, uri: &Uri) -> Result<Option<String>, SigV4Error> {
    let host = host_of(headers, uri);
    if let (Some(header), Some(authority)) = (headers.get(http::header::HOST), uri.authority()) {
        let header = header.to_str().map_err(|_| SigV4Error::HostMismatch)?;
        let strip_default = |text: &str| -> String {
            let lower = text.to_ascii_lowercase();
            match (uri.scheme_str(), lower.rsplit_once(':')) {
                (Some("http"), Some((h, "80"))) | (Some("https"), Some((h, "443"))) => h.to_owned(),
                _ => lower,
            }
        };
        if strip_default(header) != strip_default(authority.as_str()) {
            return Err(SigV4Error::HostMismatch);
        }
    }
    Ok(host)
}
