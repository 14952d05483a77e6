//! AWS Signature Version 2, header (`Authorization: AWS key:signature`) and query
//! (`AWSAccessKeyId`, `Expires`, `Signature`) forms.
//!
//! Still needed: boto3's `generate_presigned_url` produces V2 query URLs by default for
//! `us-east-1`, and older tools sign with V2. The signature is HMAC-SHA1 over a string built
//! from the method, three headers, the `x-amz-*` headers and the resource with its
//! sub-resources (see "Signing and Authenticating REST Requests" in the S3 documentation).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use http::{HeaderMap, Method};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::router::Params;
use crate::{S3Error, S3ErrorCode, S3Result, s3_error};

/// How far a V2 header-signed request's `Date` may be from the server's clock.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// The sub-resources that are part of the string to sign, in the order S3 sorts them.
const SIGNED_SUBRESOURCES: &[&str] = &[
    "acl",
    "cors",
    "delete",
    "lifecycle",
    "location",
    "logging",
    "notification",
    "partNumber",
    "policy",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// A V2 signature, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Auth {
    /// The access key that claims to have signed.
    pub access_key_id: String,
    /// The base64 signature.
    pub signature: String,
    /// `Expires` (Unix seconds) of a presigned URL; `None` for header signatures.
    pub expires: Option<u64>,
}

impl V2Auth {
    /// Parses a V2 signature from the header or the query; `None` when the request carries
    /// neither form.
    pub fn from_request(params: &Params, headers: &HeaderMap) -> S3Result<Option<Self>> {
        if let Some(value) = headers.get(http::header::AUTHORIZATION) {
            let value = value
                .to_str()
                .map_err(|_| s3_error!(AccessDenied, "Authorization is not ASCII"))?;
            let Some(credential) = value.strip_prefix("AWS ") else {
                return Ok(None);
            };
            let (access_key_id, signature) = credential
                .trim()
                .rsplit_once(':')
                .filter(|(k, s)| !k.is_empty() && !s.is_empty())
                .ok_or_else(|| {
                    s3_error!(
                        InvalidArgument,
                        "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature"
                    )
                })?;
            return Ok(Some(Self {
                access_key_id: access_key_id.to_owned(),
                signature: signature.to_owned(),
                expires: None,
            }));
        }
        let (Some(access_key_id), Some(signature)) =
            (params.get("AWSAccessKeyId"), params.get("Signature"))
        else {
            return Ok(None);
        };
        let expires = params
            .get("Expires")
            .and_then(|e| e.parse::<u64>().ok())
            .ok_or_else(|| {
                s3_error!(
                    AccessDenied,
                    "Query-string authentication requires the Expires parameter"
                )
            })?;
        Ok(Some(Self {
            access_key_id: access_key_id.to_owned(),
            signature: signature.to_owned(),
            expires: Some(expires),
        }))
    }

    /// Verifies the signature with the signer's `secret` at `now`. `resource` is the bucket and
    /// raw path as S3 defines it for V2: `/bucket/key` whatever the addressing style.
    pub fn verify(
        &self,
        method: &Method,
        resource: &str,
        params: &Params,
        headers: &HeaderMap,
        secret: &str,
        now: SystemTime,
    ) -> S3Result<()> {
        let now_secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let date_line = match self.expires {
            Some(expires) => {
                if now_secs > expires {
                    return Err(s3_error!(AccessDenied, "Request has expired"));
                }
                expires.to_string()
            }
            None => {
                let date = header_date(headers)?;
                if date.abs_diff(now_secs) > MAX_SKEW.as_secs() {
                    return Err(S3Error::new(S3ErrorCode::RequestTimeTooSkewed));
                }
                // With x-amz-date the Date line is empty: the date is signed among the x-amz headers.
                if headers.contains_key("x-amz-date") && !headers.contains_key(http::header::DATE) {
                    String::new()
                } else {
                    header_text(headers, "date")
                }
            }
        };
        let string_to_sign = string_to_sign(method, &date_line, resource, params, headers);
        let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes())
            .map_err(|_| s3_error!(InternalError))?;
        mac.update(string_to_sign.as_bytes());
        let computed = BASE64.encode(mac.finalize().into_bytes());
        let provided = self.signature.as_bytes();
        if computed.len() != provided.len() || !bool::from(computed.as_bytes().ct_eq(provided)) {
            return Err(S3Error::new(S3ErrorCode::SignatureDoesNotMatch)
                .detail("StringToSign", string_to_sign));
        }
        Ok(())
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// The request time of a header signature: `x-amz-date` or else `Date`, as an HTTP date.
fn header_date(headers: &HeaderMap) -> S3Result<u64> {
    let text = headers
        .get("x-amz-date")
        .or_else(|| headers.get(http::header::DATE))
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            s3_error!(
                AccessDenied,
                "AWS authentication requires a valid Date or x-amz-date header"
            )
        })?;
    chrono::DateTime::parse_from_rfc2822(text.trim())
        .ok()
        .and_then(|d| u64::try_from(d.timestamp()).ok())
        .ok_or_else(|| {
            s3_error!(
                AccessDenied,
                "AWS authentication requires a valid Date or x-amz-date header"
            )
        })
}

/// The V2 string to sign.
pub fn string_to_sign(
    method: &Method,
    date_line: &str,
    resource: &str,
    params: &Params,
    headers: &HeaderMap,
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(method.as_str());
    out.push('\n');
    out.push_str(&header_text(headers, "content-md5"));
    out.push('\n');
    out.push_str(&header_text(headers, "content-type"));
    out.push('\n');
    out.push_str(date_line);
    out.push('\n');
    let mut amz: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in headers {
        let name = name.as_str();
        if !name.starts_with("x-amz-") {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes())
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        match amz.iter_mut().find(|(n, _)| n == name) {
            Some((_, values)) => values.push(value),
            None => amz.push((name.to_owned(), vec![value])),
        }
    }
    amz.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, values) in amz {
        out.push_str(&name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push_str(resource);
    let mut first = true;
    for name in SIGNED_SUBRESOURCES {
        if !params.has(name) {
            continue;
        }
        out.push(if first { '?' } else { '&' });
        first = false;
        out.push_str(name);
        if let Some(value) = params.get(name).filter(|v| !v.is_empty()) {
            out.push('=');
            out.push_str(value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    // The examples of "Signing and Authenticating REST Requests" (S3 Developer Guide, V2).
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn documented_get_example() {
        let h = headers(&[
            ("host", "awsexamplebucket1.us-west-1.s3.amazonaws.com"),
            ("date", "Tue, 27 Mar 2007 19:36:42 +0000"),
            (
                "authorization",
                "AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=",
            ),
        ]);
        let params = Params::parse("");
        let auth = V2Auth::from_request(&params, &h).unwrap().unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_175_024_202);
        auth.verify(
            &Method::GET,
            "/awsexamplebucket1/photos/puppy.jpg",
            &params,
            &h,
            SECRET,
            now,
        )
        .unwrap();
        let err = auth
            .verify(
                &Method::GET,
                "/awsexamplebucket1/photos/kitten.jpg",
                &params,
                &h,
                SECRET,
                now,
            )
            .unwrap_err();
        assert_eq!(err.code, S3ErrorCode::SignatureDoesNotMatch);
        let late = now + Duration::from_secs(16 * 60);
        assert_eq!(
            auth.verify(
                &Method::GET,
                "/awsexamplebucket1/photos/puppy.jpg",
                &params,
                &h,
                SECRET,
                late
            )
            .unwrap_err()
            .code,
            S3ErrorCode::RequestTimeTooSkewed
        );
    }

    #[test]
    fn agrees_with_botocore_on_amz_headers_and_subresources() {
        // Signed by botocore's HmacV1Auth (the V2 signer of aws-cli v1 and boto3) with its Date
        // fixed: repeated x-amz-meta headers joined, x-amz-* sorted, `?uploads` signed.
        let h = headers(&[
            ("content-type", "application/x-download"),
            ("content-md5", "4gJE4saaMU4BqNR0kLY+lw=="),
            ("date", "Tue, 27 Mar 2007 21:06:08 +0000"),
            ("x-amz-acl", "public-read"),
            ("x-amz-meta-reviewedby", "joe@example.com"),
            ("x-amz-meta-reviewedby", "jane@example.com"),
            ("x-amz-meta-filechecksum", "0x02661779"),
            ("x-amz-meta-checksumalgorithm", "crc32"),
            ("content-disposition", "attachment; filename=database.dat"),
            ("content-encoding", "gzip"),
            (
                "authorization",
                "AWS AKIAIOSFODNN7EXAMPLE:UhxJHh/bAB+ELXGF7gve5Fcq8ow=",
            ),
        ]);
        let params = Params::parse("uploads");
        let auth = V2Auth::from_request(&params, &h).unwrap().unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_175_029_568);
        auth.verify(
            &Method::PUT,
            "/static.johnsmith.net/db-backup.dat.gz",
            &params,
            &h,
            SECRET,
            now,
        )
        .unwrap();
        let mut changed = h.clone();
        changed.insert("x-amz-acl", "private".parse().unwrap());
        let err = auth.verify(
            &Method::PUT,
            "/static.johnsmith.net/db-backup.dat.gz",
            &params,
            &changed,
            SECRET,
            now,
        );
        assert_eq!(err.unwrap_err().code, S3ErrorCode::SignatureDoesNotMatch);
    }

    #[test]
    fn documented_query_string_example() {
        let params = Params::parse(
            "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D",
        );
        let h = headers(&[]);
        let auth = V2Auth::from_request(&params, &h).unwrap().unwrap();
        assert_eq!(auth.expires, Some(1_175_139_620));
        let now = UNIX_EPOCH + Duration::from_secs(1_175_139_000);
        auth.verify(
            &Method::GET,
            "/johnsmith/photos/puppy.jpg",
            &params,
            &h,
            SECRET,
            now,
        )
        .unwrap();
        let expired = UNIX_EPOCH + Duration::from_secs(1_175_139_621);
        assert_eq!(
            auth.verify(
                &Method::GET,
                "/johnsmith/photos/puppy.jpg",
                &params,
                &h,
                SECRET,
                expired
            )
            .unwrap_err()
            .code,
            S3ErrorCode::AccessDenied
        );
    }

    #[test]
    fn subresources_are_signed_in_order() {
        let params = Params::parse("versionId=3&acl&prefix=unsigned&uploadId=u");
        let sts = string_to_sign(&Method::GET, "d", "/b/k", &params, &headers(&[]));
        assert!(sts.ends_with("/b/k?acl&uploadId=u&versionId=3"), "{sts}");
    }
}
