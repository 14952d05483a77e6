//! Reading S3's request headers: object attributes and user metadata, Content-MD5, ranges and
//! conditionals. Each bad value becomes the S3 error AWS answers with.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use depot_engine::ObjectAttributes;
use http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_TYPE, EXPIRES,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use md5::{Digest as _, Md5};

use crate::{S3Result, s3_error};

/// The most bytes of user metadata (names and values of `x-amz-meta-*`) one object may carry.
pub const MAX_USER_METADATA: usize = 2 * 1024;

/// The first value of a header as text, if present and ASCII.
pub fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `x-amz-meta-*` headers, names lowercase without the prefix; at most 2 KB in all.
pub fn user_metadata(headers: &HeaderMap) -> S3Result<BTreeMap<String, String>> {
    let mut metadata = BTreeMap::new();
    let mut size = 0;
    for (name, value) in headers {
        let Some(key) = name.as_str().strip_prefix("x-amz-meta-") else {
            continue;
        };
        // Metadata is UTF-8 text for S3; bytes that are not are refused, not mangled.
        let value = std::str::from_utf8(value.as_bytes())
            .map_err(|_| s3_error!(InvalidArgument, "x-amz-meta-{key} must be UTF-8"))?;
        size += key.len() + value.len();
        metadata
            .entry(key.to_owned())
            .and_modify(|existing: &mut String| {
                existing.push(',');
                existing.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    if size > MAX_USER_METADATA {
        return Err(s3_error!(
            MetadataTooLarge,
            "Your metadata headers exceed the maximum allowed metadata size of {MAX_USER_METADATA} bytes."
        )
        .detail("Size", size.to_string())
        .detail("MaxSizeAllowed", MAX_USER_METADATA.to_string()));
    }
    Ok(metadata)
}

/// The headers an object's stored attributes travel in: `Content-Type` and the other
/// representation headers that are set, and `x-amz-meta-*`. GET and HEAD answer with them; the
/// replicator sends them with its copy.
///
/// Errors: the header whose value no header can carry (attributes stored from request headers
/// always fit).
pub fn attribute_headers(attrs: &ObjectAttributes) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    let value = |name: &str, text: &str| {
        HeaderValue::from_str(text).map_err(|_| format!("{name}: {text:?} cannot be sent"))
    };
    for (name, text) in [
        (CONTENT_TYPE, &attrs.content_type),
        (CONTENT_ENCODING, &attrs.content_encoding),
        (CONTENT_DISPOSITION, &attrs.content_disposition),
        (CONTENT_LANGUAGE, &attrs.content_language),
        (CACHE_CONTROL, &attrs.cache_control),
        (EXPIRES, &attrs.expires),
    ] {
        if let Some(text) = text {
            headers.insert(name.clone(), value(name.as_str(), text)?);
        }
    }
    for (key, text) in &attrs.user_metadata {
        let name = format!("x-amz-meta-{key}");
        let header = HeaderName::try_from(name.as_str())
            .map_err(|_| format!("{name:?} is no header name"))?;
        headers.insert(header, value(&name, text)?);
    }
    Ok(headers)
}

/// Checks `Content-MD5`, when given, against `body`: `InvalidDigest` if it is malformed,
/// `BadDigest` if it differs.
pub fn check_content_md5(headers: &HeaderMap, body: &[u8]) -> S3Result<()> {
    match content_md5(headers)? {
        Some(expected) if Md5::digest(body).as_slice() != expected => Err(s3_error!(BadDigest)),
        _ => Ok(()),
    }
}

/// `Content-MD5`, decoded: 16 bytes of base64, or `InvalidDigest`.
pub fn content_md5(headers: &HeaderMap) -> S3Result<Option<[u8; 16]>> {
    let Some(value) = headers.get("content-md5") else {
        return Ok(None);
    };
    let bytes = value
        .to_str()
        .ok()
        .and_then(|v| BASE64.decode(v.trim()).ok())
        .ok_or_else(|| s3_error!(InvalidDigest))?;
    <[u8; 16]>::try_from(bytes.as_slice())
        .map(Some)
        .map_err(|_| s3_error!(InvalidDigest))
}

/// A byte range of a GET, resolved against the object's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// `bytes=a-b` (b inclusive) or `bytes=a-`.
    From {
        /// First byte.
        start: u64,
        /// Last byte, inclusive.
        end: Option<u64>,
    },
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

impl RangeRequest {
    /// Parses `Range`. A header that is not a single well-formed byte range is ignored, as S3
    /// and HTTP (RFC 9110 §14.2) do: the whole object is returned.
    pub fn parse(headers: &HeaderMap) -> Option<Self> {
        let spec = text(headers, "range")?.trim().strip_prefix("bytes=")?;
        if spec.contains(',') {
            return None;
        }
        let (start, end) = spec.split_once('-')?;
        let (start, end) = (start.trim(), end.trim());
        match (start.is_empty(), end.is_empty()) {
            (true, false) => end.parse().ok().map(Self::Suffix),
            (false, true) => start
                .parse()
                .ok()
                .map(|start| Self::From { start, end: None }),
            (false, false) => {
                let (start, end) = (start.parse().ok()?, end.parse::<u64>().ok()?);
                (end >= start).then_some(Self::From {
                    start,
                    end: Some(end),
                })
            }
            (true, true) => None,
        }
    }

    /// The half-open byte range to send, or `InvalidRange` when it lies outside the object.
    pub fn resolve(self, size: u64) -> S3Result<std::ops::Range<u64>> {
        let invalid = || s3_error!(InvalidRange).detail("ActualObjectSize", size.to_string());
        match self {
            Self::From { start, .. } if start >= size => Err(invalid()),
            Self::From { start, end } => {
                Ok(start..end.map_or(size, |e| e.saturating_add(1).min(size)))
            }
            Self::Suffix(0) => Err(invalid()),
            Self::Suffix(_) if size == 0 => Err(invalid()),
            Self::Suffix(n) => Ok(size.saturating_sub(n)..size),
        }
    }
}

/// An HTTP date (`Last-Modified`, `If-Modified-Since`, …): IMF-fixdate, RFC 850 or asctime.
pub fn http_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc2822(text)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%A, %d-%b-%y %H:%M:%S GMT")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%a %b %e %H:%M:%S %Y"))
                .ok()
                .map(|n| n.and_utc())
        })
}

/// Formats an instant as IMF-fixdate, the form of `Last-Modified`.
pub fn format_http_date(time: DateTime<Utc>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Formats an instant as S3's XML timestamps do: `2006-02-03T16:45:09.000Z`.
pub fn format_iso8601(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// What the conditional headers of a GET or HEAD decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Serve the object.
    Proceed,
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Compares an entity tag from a header with the object's (bare hex) ETag; `*` matches any.
fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',').map(str::trim).any(|candidate| {
        let candidate = candidate.strip_prefix("W/").unwrap_or(candidate);
        candidate == "*" || candidate.trim_matches('"') == etag
    })
}

/// Evaluates `If-Match`, `If-None-Match`, `If-Modified-Since` and `If-Unmodified-Since` (with
/// the given header prefix: empty, or `x-amz-copy-source-` for copies) in the order RFC 9110
/// §13.2.2 and S3 apply them.
pub fn evaluate_preconditions(
    headers: &HeaderMap,
    prefix: &str,
    etag: &str,
    last_modified: DateTime<Utc>,
) -> Precondition {
    let header = |name: &str| text(headers, &format!("{prefix}{name}"));
    // HTTP dates have whole seconds.
    let modified = last_modified.timestamp();
    let if_match = header("if-match");
    if let Some(list) = if_match {
        if !etag_matches(list, etag) {
            return Precondition::Failed;
        }
    } else if let Some(since) = header("if-unmodified-since").and_then(http_date)
        && modified > since.timestamp()
    {
        return Precondition::Failed;
    }
    if let Some(list) = header("if-none-match") {
        if etag_matches(list, etag) {
            return Precondition::NotModified;
        }
    } else if let Some(since) = header("if-modified-since").and_then(http_date)
        && modified <= since.timestamp()
    {
        return Precondition::NotModified;
    }
    Precondition::Proceed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn ranges_resolve_as_s3_does() {
        let r = |spec: &str| RangeRequest::parse(&map(&[("range", spec)]));
        assert_eq!(r("bytes=0-9").unwrap().resolve(100).unwrap(), 0..10);
        assert_eq!(r("bytes=90-200").unwrap().resolve(100).unwrap(), 90..100);
        assert_eq!(r("bytes=10-").unwrap().resolve(100).unwrap(), 10..100);
        assert_eq!(r("bytes=-10").unwrap().resolve(100).unwrap(), 90..100);
        assert_eq!(r("bytes=-200").unwrap().resolve(100).unwrap(), 0..100);
        assert_eq!(
            r("bytes=100-").unwrap().resolve(100).unwrap_err().code,
            crate::S3ErrorCode::InvalidRange
        );
        assert_eq!(
            r("bytes=-0").unwrap().resolve(100).unwrap_err().code,
            crate::S3ErrorCode::InvalidRange
        );
        assert!(r("bytes=0-1,5-6").is_none());
        assert!(r("bytes=5-1").is_none());
        assert!(r("items=0-1").is_none());
    }

    #[test]
    fn metadata_is_limited_to_two_kilobytes() {
        let ok = map(&[
            ("x-amz-meta-a", "1"),
            ("x-amz-meta-a", "2"),
            ("content-type", "x"),
        ]);
        assert_eq!(user_metadata(&ok).unwrap().get("a").unwrap(), "1,2");
        let big = "v".repeat(2048);
        let too_big = map(&[("x-amz-meta-a", &big)]);
        assert_eq!(
            user_metadata(&too_big).unwrap_err().code,
            crate::S3ErrorCode::MetadataTooLarge
        );
    }

    #[test]
    fn preconditions_follow_rfc_9110_order() {
        let t = DateTime::parse_from_rfc3339("2024-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let eval = |pairs: &[(&str, &str)]| evaluate_preconditions(&map(pairs), "", "abc", t);
        assert_eq!(eval(&[]), Precondition::Proceed);
        assert_eq!(eval(&[("if-match", "\"abc\"")]), Precondition::Proceed);
        assert_eq!(eval(&[("if-match", "\"x\"")]), Precondition::Failed);
        assert_eq!(
            eval(&[("if-none-match", "\"abc\"")]),
            Precondition::NotModified
        );
        assert_eq!(eval(&[("if-none-match", "*")]), Precondition::NotModified);
        assert_eq!(
            eval(&[("if-modified-since", "Tue, 02 Jan 2024 03:04:05 GMT")]),
            Precondition::NotModified
        );
        assert_eq!(
            eval(&[("if-modified-since", "Tue, 02 Jan 2024 03:04:04 GMT")]),
            Precondition::Proceed
        );
        assert_eq!(
            eval(&[("if-unmodified-since", "Tue, 02 Jan 2024 03:04:04 GMT")]),
            Precondition::Failed
        );
        // If-Match that holds overrides If-Unmodified-Since (RFC 9110 §13.2.2).
        assert_eq!(
            eval(&[
                ("if-match", "abc"),
                ("if-unmodified-since", "Tue, 02 Jan 2024 03:04:04 GMT")
            ]),
            Precondition::Proceed
        );
        assert_eq!(format_http_date(t), "Tue, 02 Jan 2024 03:04:05 GMT");
        assert_eq!(format_iso8601(t), "2024-01-02T03:04:05.000Z");
    }
}
