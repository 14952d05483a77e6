//! PostObject: browser uploads through an HTML form, authorised by a signed POST policy instead
//! of an Authorization header ("Browser-Based Uploads Using POST", S3 documentation).
//!
//! The form's fields arrive before the file; every field but a few must be allowed by one of
//! the policy's conditions; the policy is signed with SigV4 (`x-amz-signature` over the base64
//! policy) or V2 (`signature`, HMAC-SHA1). The file streams into the engine like any PUT.

use std::collections::BTreeMap;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use depot_domain::{BucketName, ObjectKey};
use depot_engine::{Engine, ObjectAttributes, WriteCondition};
use depot_sigv4::{AmzDate, BoxError, Scope, SigningKey};
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::Value;
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::body::ResponseBody;
use crate::headers::MAX_USER_METADATA;
use crate::service::{MAX_PUT_SIZE, status_response, xml_response};
use crate::service::{Principal, Seen};
use crate::xml::XmlWriter;
use crate::{S3Error, S3ErrorCode, S3Result, s3_error};

/// The most bytes of form fields (policy included) read before the file.
const MAX_FIELDS: usize = 64 * 1024;

/// Fields that need no policy condition (S3: the signature fields, the file, the policy and
/// `x-ignore-*`).
fn exempt(name: &str) -> bool {
    matches!(
        name,
        "x-amz-signature" | "file" | "policy" | "awsaccesskeyid" | "signature"
    ) || name.starts_with("x-ignore-")
}

fn policy_error(message: impl std::fmt::Display) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::AccessDenied,
        format!("Invalid according to Policy: {message}"),
    )
}

/// Handles a POST Object request to `bucket`; `admit` applies the signer's rate limits once
/// the form's signature checked out, before the file is read.
pub(crate) async fn post_object<S, A>(
    engine: &Engine,
    bucket: &BucketName,
    headers: &HeaderMap,
    body: S,
    seen: &Seen,
    admit: A,
) -> S3Result<Response<ResponseBody>>
where
    S: futures_core::Stream<Item = Result<bytes::Bytes, BoxError>> + Send + Unpin + 'static,
    A: AsyncFnOnce(&Principal) -> S3Result<()>,
{
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary =
        multer::parse_boundary(content_type).map_err(|_| s3_error!(MalformedPOSTRequest))?;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .per_field(MAX_FIELDS as u64)
            .whole_stream(MAX_PUT_SIZE + MAX_FIELDS as u64),
    );
    let mut form = multer::Multipart::with_constraints(body, boundary, constraints);

    // Field names are case-insensitive in S3's form handling.
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut fields_size = 0;
    let file = loop {
        let field = form.next_field().await.map_err(|e| {
            s3_error!(
                MalformedPOSTRequest,
                "The body of your POST request is not well-formed multipart/form-data: {e}"
            )
        })?;
        let Some(field) = field else {
            return Err(s3_error!(
                InvalidArgument,
                "POST requires exactly one file upload per request."
            )
            .detail("ArgumentName", "file"));
        };
        let name = field.name().unwrap_or("").to_ascii_lowercase();
        if name == "file" {
            let filename = field.file_name().map(str::to_owned);
            break (field, filename);
        }
        let value = field
            .text()
            .await
            .map_err(|_| s3_error!(MalformedPOSTRequest))?;
        fields_size += name.len() + value.len();
        if fields_size > MAX_FIELDS {
            return Err(s3_error!(MaxMessageLengthExceeded));
        }
        fields.insert(name, value);
    };
    let (file_field, filename) = file;

    // The key may name the uploaded file's name.
    let key_template = fields.get("key").ok_or_else(|| s3_error!(InvalidArgument, "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.").detail("ArgumentName", "key"))?;
    let key_text = key_template.replace("${filename}", filename.as_deref().unwrap_or(""));
    fields.insert("key".into(), key_text.clone());
    let key: ObjectKey = key_text.parse().map_err(|_| s3_error!(KeyTooLongError))?;

    let policy_text = fields.get("policy").cloned();
    let principal = authenticate(engine, &fields, policy_text.as_deref()).await?;
    let _ = seen.user.set(principal.user_id);
    seen.usable_bucket(engine, bucket, &principal).await?;
    admit(&principal).await?;
    let length_range = match &policy_text {
        Some(policy) => check_policy(policy, bucket, &fields)?,
        None => None,
    };

    let max = length_range.map_or(MAX_PUT_SIZE, |(_, max)| max.min(MAX_PUT_SIZE));
    let staged = match engine.stage(file_field, max).await {
        Err(depot_engine::EngineError::EntityTooLarge) => {
            return Err(s3_error!(
                EntityTooLarge,
                "Your proposed upload exceeds the maximum allowed size"
            )
            .detail("MaxSizeAllowed", max.to_string()));
        }
        other => other?,
    };
    if let Some((min, _)) = length_range
        && staged.size < min
    {
        return Err(s3_error!(
            EntityTooSmall,
            "Your proposed upload is smaller than the minimum allowed size"
        )
        .detail("MinSizeAllowed", min.to_string()));
    }
    let attrs = attributes(&fields)?;
    let info = engine
        .put_object(bucket, &key, staged, attrs, WriteCondition::None)
        .await?;
    let etag = format!("\"{}\"", info.etag);

    if let Some(redirect) = fields
        .get("success_action_redirect")
        .or_else(|| fields.get("redirect"))
        && let Ok(mut url) = url_with_result(redirect, bucket, &key_text, &etag)
    {
        url.truncate(8 * 1024);
        if let Ok(location) = HeaderValue::from_str(&url) {
            let mut response = status_response(StatusCode::SEE_OTHER);
            response
                .headers_mut()
                .insert(http::header::LOCATION, location);
            return Ok(response);
        }
    }
    let mut response = match fields.get("success_action_status").map(String::as_str) {
        Some("201") => {
            let host = headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let location = format!(
                "http://{host}/{bucket}/{}",
                depot_sigv4::uri_encode_path(&key_text)
            );
            let mut xml = XmlWriter::new("PostResponse");
            xml.element("Location", &location)
                .element("Bucket", bucket.as_str())
                .element("Key", &key_text)
                .element("ETag", &etag);
            let mut response = xml_response(xml.finish("PostResponse"));
            *response.status_mut() = StatusCode::CREATED;
            response
        }
        Some("200") => status_response(StatusCode::OK),
        _ => status_response(StatusCode::NO_CONTENT),
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(http::header::ETAG, value);
    }
    Ok(response)
}

/// Appends `bucket`, `key` and `etag` to a redirect URL, as S3 does.
fn url_with_result(base: &str, bucket: &BucketName, key: &str, etag: &str) -> Result<String, ()> {
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(());
    }
    let separator = if base.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{base}{separator}bucket={}&key={}&etag={}",
        depot_sigv4::uri_encode(bucket.as_str()),
        depot_sigv4::uri_encode(key),
        depot_sigv4::uri_encode(etag)
    ))
}

/// Checks the policy's signature and returns the signer's user.
async fn authenticate(
    engine: &Engine,
    fields: &BTreeMap<String, String>,
    policy: Option<&str>,
) -> S3Result<Principal> {
    let Some(policy) = policy else {
        // An unsigned form would need a bucket that accepts anonymous writes; none does.
        return Err(s3_error!(AccessDenied));
    };
    if let Some(credential) = fields.get("x-amz-credential") {
        if fields.get("x-amz-algorithm").map(String::as_str) != Some(depot_sigv4::ALGORITHM) {
            return Err(s3_error!(
                InvalidArgument,
                "Only AWS4-HMAC-SHA256 is supported for x-amz-algorithm"
            ));
        }
        let (access_key_id, scope) = credential
            .split_once('/')
            .ok_or_else(|| s3_error!(InvalidArgument, "Invalid x-amz-credential"))?;
        let scope = Scope::parse(scope)?;
        let date = fields
            .get("x-amz-date")
            .map(String::as_str)
            .map(AmzDate::parse)
            .transpose()?;
        if date.is_some_and(|d| d.date_stamp() != scope.date) {
            return Err(s3_error!(
                InvalidArgument,
                "x-amz-date does not match the credential date"
            ));
        }
        let key = engine
            .access_key(access_key_id)
            .await?
            .ok_or_else(|| s3_error!(InvalidAccessKeyId))?;
        let signature = fields
            .get("x-amz-signature")
            .ok_or_else(|| s3_error!(AccessDenied, "x-amz-signature is missing"))?;
        let computed = SigningKey::derive(&key.secret, &scope).sign(policy);
        if computed.len() != signature.len()
            || !bool::from(
                computed
                    .as_bytes()
                    .ct_eq(signature.to_ascii_lowercase().as_bytes()),
            )
        {
            return Err(s3_error!(SignatureDoesNotMatch));
        }
        if !key.user_enabled {
            return Err(s3_error!(AccessDenied));
        }
        return Ok(Principal::from(key));
    }
    let access_key_id = fields
        .get("awsaccesskeyid")
        .ok_or_else(|| s3_error!(AccessDenied))?;
    let key = engine
        .access_key(access_key_id)
        .await?
        .ok_or_else(|| s3_error!(InvalidAccessKeyId))?;
    let signature = fields
        .get("signature")
        .ok_or_else(|| s3_error!(AccessDenied))?;
    let mut mac = Hmac::<Sha1>::new_from_slice(key.secret.as_bytes())
        .map_err(|_| s3_error!(InternalError))?;
    mac.update(policy.as_bytes());
    let computed = BASE64.encode(mac.finalize().into_bytes());
    if computed.len() != signature.len()
        || !bool::from(computed.as_bytes().ct_eq(signature.as_bytes()))
    {
        return Err(s3_error!(SignatureDoesNotMatch));
    }
    if !key.user_enabled {
        return Err(s3_error!(AccessDenied));
    }
    Ok(Principal::from(key))
}

/// Checks the policy document against the form; returns its content-length-range, if any.
fn check_policy(
    policy_b64: &str,
    bucket: &BucketName,
    fields: &BTreeMap<String, String>,
) -> S3Result<Option<(u64, u64)>> {
    let bytes = BASE64.decode(policy_b64.trim()).map_err(|_| {
        s3_error!(
            InvalidPolicyDocument,
            "Invalid Policy: Invalid Base64 Encoding"
        )
    })?;
    let policy: Value = serde_json::from_slice(&bytes)
        .map_err(|_| s3_error!(InvalidPolicyDocument, "Invalid Policy: Invalid JSON."))?;
    let expiration = policy
        .get("expiration")
        .and_then(Value::as_str)
        .and_then(|e| DateTime::parse_from_rfc3339(e).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidPolicyDocument,
                "Invalid Policy: Policy missing expiration."
            )
        })?;
    if expiration.with_timezone(&Utc) < DateTime::<Utc>::from(SystemTime::now()) {
        return Err(policy_error("Policy expired."));
    }
    let conditions = policy
        .get("conditions")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            s3_error!(
                InvalidPolicyDocument,
                "Invalid Policy: Policy missing conditions."
            )
        })?;
    let value_of = |name: &str| -> Option<String> {
        if name == "bucket" {
            return Some(bucket.to_string());
        }
        fields.get(name).cloned()
    };
    let mut covered: Vec<String> = vec!["bucket".into()];
    let mut length_range = None;
    for condition in conditions {
        match condition {
            Value::Object(map) => {
                for (name, expected) in map {
                    let name = name.to_ascii_lowercase();
                    let expected = expected
                        .as_str()
                        .ok_or_else(|| s3_error!(InvalidPolicyDocument))?;
                    if value_of(&name).as_deref() != Some(expected) {
                        return Err(policy_error(format!(
                            "Policy Condition failed: [\"eq\", \"${name}\", \"{expected}\"]"
                        )));
                    }
                    covered.push(name);
                }
            }
            Value::Array(items) => {
                let op = items
                    .first()
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase);
                match (op.as_deref(), items.get(1), items.get(2)) {
                    (Some("content-length-range"), Some(min), Some(max)) => {
                        let (Some(min), Some(max)) = (as_u64(min), as_u64(max)) else {
                            return Err(s3_error!(InvalidPolicyDocument));
                        };
                        length_range = Some((min, max));
                    }
                    (
                        Some(op @ ("eq" | "starts-with")),
                        Some(Value::String(field)),
                        Some(Value::String(expected)),
                    ) => {
                        let name = field
                            .strip_prefix('$')
                            .unwrap_or(field)
                            .to_ascii_lowercase();
                        let actual = value_of(&name).unwrap_or_default();
                        let holds = if op == "eq" {
                            actual == *expected
                        } else if name == "content-type" {
                            // S3 checks each of several comma-separated content types.
                            actual
                                .split(',')
                                .all(|t| t.trim().starts_with(expected.as_str()))
                        } else {
                            actual.starts_with(expected.as_str())
                        };
                        if !holds {
                            return Err(policy_error(format!(
                                "Policy Condition failed: [\"{op}\", \"${name}\", \"{expected}\"]"
                            )));
                        }
                        covered.push(name);
                    }
                    _ => {
                        return Err(s3_error!(
                            InvalidPolicyDocument,
                            "Invalid Policy: Invalid Condition."
                        ));
                    }
                }
            }
            _ => {
                return Err(s3_error!(
                    InvalidPolicyDocument,
                    "Invalid Policy: Invalid Condition."
                ));
            }
        }
    }
    let extra: Vec<&str> = fields
        .keys()
        .map(String::as_str)
        .filter(|name| {
            !exempt(name) && !name.starts_with("x-amz-") && !covered.iter().any(|c| c == name)
        })
        .collect();
    // x-amz-* fields other than the signature's own must be covered too.
    let extra_amz: Vec<&str> = fields
        .keys()
        .map(String::as_str)
        .filter(|name| {
            name.starts_with("x-amz-")
                && !matches!(*name, "x-amz-signature")
                && !covered.iter().any(|c| c == name)
        })
        .collect();
    if let Some(name) = extra.iter().chain(extra_amz.iter()).next() {
        return Err(policy_error(format!("Extra input fields: {name}")));
    }
    Ok(length_range)
}

fn as_u64(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

/// The object attributes a form sets (fields named like the PUT headers).
fn attributes(fields: &BTreeMap<String, String>) -> S3Result<ObjectAttributes> {
    let field = |name: &str| fields.get(name).cloned();
    let mut metadata = BTreeMap::new();
    let mut size = 0;
    for (name, value) in fields {
        if let Some(key) = name.strip_prefix("x-amz-meta-") {
            size += key.len() + value.len();
            metadata.insert(key.to_owned(), value.clone());
        }
    }
    if size > MAX_USER_METADATA {
        return Err(s3_error!(MetadataTooLarge));
    }
    Ok(ObjectAttributes {
        content_type: field("content-type"),
        content_encoding: field("content-encoding"),
        content_disposition: field("content-disposition"),
        content_language: field("content-language"),
        cache_control: field("cache-control"),
        expires: field("expires"),
        user_metadata: metadata,
        checksum: None,
        storage_class: field("x-amz-storage-class"),
    })
}
