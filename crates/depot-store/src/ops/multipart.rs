//! Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
//! CompleteMultipartUpload, AbortMultipartUpload, ListParts.
//!
//! # Checksums
//!
//! As S3 does them ("Checking object integrity" in the S3 user guide; the `CompletedPart`,
//! `CreateMultipartUpload` and `CompleteMultipartUpload` API pages). An upload created with
//! `x-amz-checksum-algorithm` has a checksum type (`x-amz-checksum-type`):
//!
//! - `COMPOSITE` (the default but for CRC64NVME, which cannot be composite): every part
//!   must come with a checksum of that algorithm, CompleteMultipartUpload must list every
//!   part's checksum, and the object's checksum is the algorithm over the concatenated raw
//!   part checksums, in base64, then `-<number of parts>`.
//! - `FULL_OBJECT` (CRC32, CRC32C, CRC64NVME only; the default for CRC64NVME): the object's
//!   checksum is the CRC of its bytes, combined from the parts' CRCs and sizes without
//!   reading anything back. A part sent without a checksum gets one computed here, as S3
//!   adds it.
//!
//! Either way the part numbers of the completion must run 1, 2, 3…. The engine stores the
//! values and compares them as text; the arithmetic is done here, with `depot-sigv4`'s
//! [`Checksummer`] and `crc-fast`'s CRC combination.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use depot_domain::{BucketName, ObjectKey};
use depot_engine::{EngineError, MAX_COPY_SIZE, PartInfo, UploadInfo};
use depot_sigv4::{BoxError, ChecksumAlgorithm, Checksummer, VerifiedBody};
use futures_util::TryStreamExt;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body::Body;
use serde::Deserialize;

use super::object::{
    attributes_from_headers, check_copy_source, checksum_type_of, copy_source,
    stage_body_computing, write_condition,
};
use crate::body::{ResponseBody, read_limited};
use crate::headers::{format_iso8601, text};
use crate::service::{Ctx, MAX_PUT_SIZE, status_response, xml_response};
use crate::xml::{XmlWriter, parse};
use crate::{S3Error, S3Result, s3_error};

/// How an upload's object checksum is made from its parts' (`x-amz-checksum-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChecksumType {
    Composite,
    FullObject,
}

impl ChecksumType {
    fn name(self) -> &'static str {
        match self {
            Self::Composite => "COMPOSITE",
            Self::FullObject => "FULL_OBJECT",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Composite, Self::FullObject]
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The type of an upload that named its algorithm only: CRC64NVME is full-object only.
    fn default_for(algorithm: ChecksumAlgorithm) -> Self {
        if algorithm == ChecksumAlgorithm::Crc64Nvme {
            Self::FullObject
        } else {
            Self::Composite
        }
    }

    /// Whether S3 allows the pair: a full-object checksum is combined from CRCs, and a
    /// CRC64NVME cannot be composite.
    fn allows(self, algorithm: ChecksumAlgorithm) -> bool {
        match self {
            Self::Composite => algorithm != ChecksumAlgorithm::Crc64Nvme,
            Self::FullObject => matches!(
                algorithm,
                ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c | ChecksumAlgorithm::Crc64Nvme
            ),
        }
    }
}

/// The checksum an upload was created with.
#[derive(Debug, Clone, Copy)]
struct UploadChecksum {
    algorithm: ChecksumAlgorithm,
    checksum_type: ChecksumType,
}

/// The checksum of an upload as the engine keeps it: (algorithm, type), the type empty for
/// uploads from before it was recorded.
fn upload_checksum(upload: &UploadInfo) -> S3Result<Option<UploadChecksum>> {
    let Some((algorithm, checksum_type)) = &upload.attrs.checksum else {
        return Ok(None);
    };
    // Only this module writes these, from names it parsed: anything else is a corrupt row.
    let corrupt = || {
        tracing::error!(
            upload_id = %upload.upload_id,
            algorithm = %algorithm,
            checksum_type = %checksum_type,
            "an upload has an unknown checksum algorithm or type"
        );
        s3_error!(InternalError)
    };
    let algorithm = ChecksumAlgorithm::from_name(algorithm).ok_or_else(corrupt)?;
    let checksum_type = if checksum_type.is_empty() {
        ChecksumType::default_for(algorithm)
    } else {
        ChecksumType::from_name(checksum_type).ok_or_else(corrupt)?
    };
    Ok(Some(UploadChecksum {
        algorithm,
        checksum_type,
    }))
}

/// An algorithm as S3's checksum messages spell it.
fn lowercase(algorithm: ChecksumAlgorithm) -> String {
    algorithm.name().to_ascii_lowercase()
}

/// S3's answer to a checksum of another algorithm than the upload's (`actual` is `null` for
/// none at all).
fn type_mismatch(expected: ChecksumAlgorithm, actual: &str) -> S3Error {
    s3_error!(
        InvalidRequest,
        "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {actual}",
        lowercase(expected)
    )
}

/// The XML element that carries a checksum of `algorithm`, such as `ChecksumCRC32C`.
fn checksum_element(algorithm: ChecksumAlgorithm) -> String {
    format!("Checksum{}", algorithm.name())
}

/// The algorithm of the checksum a part's request announces before its body: an
/// `x-amz-checksum-*` header, or the trailer `x-amz-trailer` promises.
fn declared_checksum(headers: &HeaderMap) -> Option<ChecksumAlgorithm> {
    ChecksumAlgorithm::ALL
        .into_iter()
        .find(|algorithm| headers.contains_key(algorithm.header_name()))
        .or_else(|| {
            text(headers, "x-amz-trailer")?
                .split(',')
                .find_map(|name| ChecksumAlgorithm::from_header_name(name.trim()))
        })
}

pub(crate) async fn create_multipart_upload(ctx: &Ctx<'_>) -> S3Result<Response<ResponseBody>> {
    ctx.owned_bucket().await?;
    let mut attrs = attributes_from_headers(&ctx.headers)?;
    let algorithm = match text(&ctx.headers, "x-amz-checksum-algorithm") {
        Some(name) => Some(ChecksumAlgorithm::from_name(name).ok_or_else(|| {
            s3_error!(
                InvalidRequest,
                "Checksum algorithm provided is unsupported."
            )
        })?),
        None => None,
    };
    let requested_type = match text(&ctx.headers, "x-amz-checksum-type") {
        Some(name) => Some(ChecksumType::from_name(name).ok_or_else(|| {
            s3_error!(
                InvalidRequest,
                "Value for x-amz-checksum-type header is invalid."
            )
        })?),
        None => None,
    };
    let checksum = match (algorithm, requested_type) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(s3_error!(
                InvalidRequest,
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
            ));
        }
        (Some(algorithm), requested) => {
            let checksum_type = requested.unwrap_or_else(|| ChecksumType::default_for(algorithm));
            if !checksum_type.allows(algorithm) {
                return Err(s3_error!(
                    InvalidRequest,
                    "The {} checksum type cannot be used with the {} checksum algorithm.",
                    checksum_type.name(),
                    lowercase(algorithm)
                ));
            }
            Some(UploadChecksum {
                algorithm,
                checksum_type,
            })
        }
    };
    // The algorithm and type are remembered with the upload; the value is known only at
    // completion.
    attrs.checksum = checksum.map(|c| {
        (
            c.algorithm.name().to_owned(),
            c.checksum_type.name().to_owned(),
        )
    });
    let (bucket, key) = (ctx.bucket()?, ctx.key()?);
    let upload_id = ctx
        .engine
        .create_multipart_upload(bucket, key, ctx.principal.user_id, attrs)
        .await?;
    let mut xml = XmlWriter::new("InitiateMultipartUploadResult");
    xml.element("Bucket", bucket.as_str())
        .element("Key", key.as_str())
        .element("UploadId", &upload_id);
    let mut response = xml_response(xml.finish("InitiateMultipartUploadResult"));
    if let Some(checksum) = checksum {
        let headers = response.headers_mut();
        headers.insert(
            "x-amz-checksum-algorithm",
            HeaderValue::from_static(checksum.algorithm.name()),
        );
        headers.insert(
            "x-amz-checksum-type",
            HeaderValue::from_static(checksum.checksum_type.name()),
        );
    }
    Ok(response)
}

pub(crate) async fn upload_part<B>(
    ctx: &Ctx<'_>,
    part_number: u16,
    upload_id: &str,
    body: VerifiedBody<B>,
) -> S3Result<Response<ResponseBody>>
where
    B: Body + Send + Unpin + 'static,
    B::Data: bytes::Buf + Send,
    B::Error: Into<BoxError>,
{
    ctx.owned_bucket().await?;
    let (bucket, key) = (ctx.bucket()?, ctx.key()?);
    // The upload decides which checksum the part needs, so it is looked at before the body
    // is read: a part that cannot be taken is refused without receiving it.
    let upload = ctx.engine.multipart_upload(bucket, key, upload_id).await?;
    let compute = match upload_checksum(&upload)? {
        None => None,
        Some(expected) => match declared_checksum(&ctx.headers) {
            Some(actual) if actual != expected.algorithm => {
                return Err(type_mismatch(expected.algorithm, &lowercase(actual)));
            }
            Some(_) => None,
            // S3 computes the missing checksum of a full-object upload's part itself...
            None if expected.checksum_type == ChecksumType::FullObject => Some(expected.algorithm),
            // ...but a composite checksum is made of the client's own part checksums.
            None => return Err(type_mismatch(expected.algorithm, "null")),
        },
    };
    let (staged, checksum) = stage_body_computing(ctx, body, MAX_PUT_SIZE, compute).await?;
    let part = ctx
        .engine
        .upload_part(
            bucket,
            key,
            upload_id,
            part_number,
            staged,
            checksum.as_ref().map(|(_, v)| v.clone()),
        )
        .await?;
    let mut response = status_response(StatusCode::OK);
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", part.etag)) {
        response.headers_mut().insert(http::header::ETAG, value);
    }
    if let Some((algorithm, value)) = checksum
        && let (Some(algorithm), Ok(value)) = (
            ChecksumAlgorithm::from_name(&algorithm),
            HeaderValue::from_str(&value),
        )
    {
        response
            .headers_mut()
            .insert(algorithm.header_name(), value);
    }
    Ok(response)
}

/// `x-amz-copy-source-range: bytes=first-last`, inclusive, within the source.
fn copy_range(ctx: &Ctx<'_>, size: u64) -> S3Result<Option<std::ops::Range<u64>>> {
    let Some(spec) = text(&ctx.headers, "x-amz-copy-source-range") else {
        return Ok(None);
    };
    let invalid = || {
        s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
        )
    };
    let (first, last) = spec
        .trim()
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(invalid)?;
    let (first, last): (u64, u64) = (
        first.parse().map_err(|_| invalid())?,
        last.parse().map_err(|_| invalid())?,
    );
    if first > last {
        return Err(invalid());
    }
    if last >= size {
        // UploadPartCopy answers 400, not GetObject's 416, for a range beyond the source.
        return Err(s3_error!(
            InvalidArgument,
            "Range specified is not valid for source object of size: {size}"
        )
        .detail("ArgumentName", "x-amz-copy-source-range")
        .detail("ArgumentValue", spec));
    }
    Ok(Some(first..last + 1))
}

pub(crate) async fn upload_part_copy(
    ctx: &Ctx<'_>,
    part_number: u16,
    upload_id: &str,
) -> S3Result<Response<ResponseBody>> {
    ctx.owned_bucket().await?;
    let (source_bucket, source_key) = copy_source(&ctx.headers)?;
    let source = check_copy_source(ctx, &source_bucket, &source_key).await?;
    let range = copy_range(ctx, source.size)?;
    let (bucket, key) = (ctx.bucket()?, ctx.key()?);
    let upload = ctx.engine.multipart_upload(bucket, key, upload_id).await?;
    let checksum = upload_checksum(&upload)?;
    let part = match checksum {
        None => {
            ctx.engine
                .upload_part_copy(
                    bucket,
                    key,
                    upload_id,
                    part_number,
                    &source_bucket,
                    &source_key,
                    range,
                )
                .await?
        }
        // S3 computes the copied part's checksum with the upload's algorithm, so the part
        // counts in the object's checksum like an uploaded one.
        Some(checksum) => {
            let copy = PartCopy {
                bucket,
                key,
                upload_id,
                part_number,
            };
            copy.with_checksum(
                ctx,
                (&source_bucket, &source_key),
                range,
                checksum.algorithm,
            )
            .await?
        }
    };
    let mut xml = XmlWriter::new("CopyPartResult");
    xml.element("LastModified", &format_iso8601(part.last_modified))
        .element("ETag", &format!("\"{}\"", part.etag));
    if let (Some(checksum), Some(value)) = (checksum, &part.checksum) {
        xml.element(&checksum_element(checksum.algorithm), value);
    }
    Ok(xml_response(xml.finish("CopyPartResult")))
}

/// The part an UploadPartCopy writes.
struct PartCopy<'a> {
    bucket: &'a BucketName,
    key: &'a ObjectKey,
    upload_id: &'a str,
    part_number: u16,
}

impl PartCopy<'_> {
    /// Copies `range` of the source (all of it for `None`; end exclusive) into the part,
    /// computing its `algorithm` checksum as the bytes pass.
    async fn with_checksum(
        &self,
        ctx: &Ctx<'_>,
        (source_bucket, source_key): (&BucketName, &ObjectKey),
        range: Option<std::ops::Range<u64>>,
        algorithm: ChecksumAlgorithm,
    ) -> S3Result<PartInfo> {
        let (source, reader) = ctx.engine.open_object(source_bucket, source_key).await?;
        // The source may have changed since its range was checked against it.
        let range = match range {
            None => 0..source.size,
            Some(range) if range.end <= source.size => range,
            Some(_) => return Err(EngineError::InvalidRange.into()),
        };
        let mut checksummer = Checksummer::new(algorithm);
        let stream =
            Box::pin(reader.into_stream(range)).inspect_ok(|chunk| checksummer.update(chunk));
        let staged = match ctx.engine.stage(stream, MAX_COPY_SIZE).await {
            // The bytes come from our own blobs: failing to read them is our fault.
            Err(EngineError::Body(source)) => {
                return Err(EngineError::Io(std::io::Error::other(source)).into());
            }
            staged => staged?,
        };
        let value = checksummer.finalize_base64();
        Ok(ctx
            .engine
            .upload_part(
                self.bucket,
                self.key,
                self.upload_id,
                self.part_number,
                staged,
                Some(value),
            )
            .await?)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CompleteMultipartUpload {
    #[serde(default, rename = "Part")]
    parts: Vec<CompletedPart>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CompletedPart {
    part_number: i64,
    #[serde(rename = "ETag")]
    etag: String,
    #[serde(rename = "ChecksumCRC32")]
    checksum_crc32: Option<String>,
    #[serde(rename = "ChecksumCRC32C")]
    checksum_crc32c: Option<String>,
    #[serde(rename = "ChecksumCRC64NVME")]
    checksum_crc64nvme: Option<String>,
    #[serde(rename = "ChecksumSHA1")]
    checksum_sha1: Option<String>,
    #[serde(rename = "ChecksumSHA256")]
    checksum_sha256: Option<String>,
}

impl CompletedPart {
    /// The checksums the part lists, by algorithm.
    fn checksums(&self) -> Vec<(ChecksumAlgorithm, String)> {
        [
            (ChecksumAlgorithm::Crc32, &self.checksum_crc32),
            (ChecksumAlgorithm::Crc32c, &self.checksum_crc32c),
            (ChecksumAlgorithm::Crc64Nvme, &self.checksum_crc64nvme),
            (ChecksumAlgorithm::Sha1, &self.checksum_sha1),
            (ChecksumAlgorithm::Sha256, &self.checksum_sha256),
        ]
        .into_iter()
        .filter_map(|(algorithm, value)| Some((algorithm, value.as_ref()?.trim().to_owned())))
        .collect()
    }
}

/// A part of a CompleteMultipartUpload request, its number checked.
struct ListedPart {
    number: u16,
    /// Bare, without quotes.
    etag: String,
    checksums: Vec<(ChecksumAlgorithm, String)>,
}

/// What the engine completes: (part number, ETag, the checksum the part must have) for
/// each part, and the object's checksum.
type CheckedParts = (Vec<(u16, String, Option<String>)>, Option<(String, String)>);

pub(crate) async fn complete_multipart_upload<B>(
    ctx: &Ctx<'_>,
    upload_id: &str,
    body: VerifiedBody<B>,
) -> S3Result<Response<ResponseBody>>
where
    B: Body + Send + Unpin + 'static,
    B::Data: bytes::Buf + Send,
    B::Error: Into<BoxError>,
{
    ctx.owned_bucket().await?;
    // 10,000 parts of ~120 bytes each.
    let document = read_limited(body, 4 << 20).await?;
    let complete: CompleteMultipartUpload = parse(&document)?;
    if complete.parts.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "You must specify at least one part"
        ));
    }
    let mut parts = Vec::with_capacity(complete.parts.len());
    for part in complete.parts {
        let number = u16::try_from(part.part_number)
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| {
                s3_error!(
                    InvalidArgument,
                    "Part number must be an integer between 1 and 10000, inclusive"
                )
            })?;
        parts.push(ListedPart {
            number,
            etag: part.etag.trim().trim_matches('"').to_owned(),
            checksums: part.checksums(),
        });
    }
    let condition = write_condition(&ctx.headers)?;
    let (bucket, key) = (ctx.bucket()?, ctx.key()?);
    let (parts, checksum) = match ctx.engine.multipart_upload(bucket, key, upload_id).await {
        Ok(upload) => {
            let checked = CompletionChecks {
                ctx,
                bucket,
                key,
                upload_id,
            };
            checked.parts(&upload, &parts).await?
        }
        // Perhaps the retry of a completion whose answer was lost: the engine recognises the
        // object it made (with its checksum) from the part list alone.
        Err(EngineError::NoSuchUpload) => (
            parts
                .into_iter()
                .map(|part| (part.number, part.etag, None))
                .collect(),
            None,
        ),
        Err(error) => return Err(error.into()),
    };
    let info = ctx
        .engine
        .complete_multipart_upload_with_checksums(
            bucket, key, upload_id, &parts, checksum, condition,
        )
        .await?;
    let host = text(&ctx.headers, "host").unwrap_or("localhost");
    let mut xml = XmlWriter::new("CompleteMultipartUploadResult");
    xml.element(
        "Location",
        &format!(
            "http://{host}/{bucket}/{}",
            depot_sigv4::uri_encode_path(key.as_str())
        ),
    )
    .element("Bucket", bucket.as_str())
    .element("Key", key.as_str())
    .element("ETag", &format!("\"{}\"", info.etag));
    if let Some((algorithm, value)) = &info.attrs.checksum
        && let Some(algorithm) = ChecksumAlgorithm::from_name(algorithm)
    {
        xml.element(&checksum_element(algorithm), value)
            .element("ChecksumType", checksum_type_of(value));
    }
    Ok(xml_response(xml.finish("CompleteMultipartUploadResult")))
}

/// The checks of a CompleteMultipartUpload that depend on the upload's checksum, and the
/// object checksum they lead to.
struct CompletionChecks<'a> {
    ctx: &'a Ctx<'a>,
    bucket: &'a BucketName,
    key: &'a ObjectKey,
    upload_id: &'a str,
}

impl CompletionChecks<'_> {
    async fn parts(&self, upload: &UploadInfo, listed: &[ListedPart]) -> S3Result<CheckedParts> {
        let headers = &self.ctx.headers;
        let requested_type = text(headers, "x-amz-checksum-type");
        let Some(expected) = upload_checksum(upload)? else {
            if requested_type.is_some() {
                return Err(checksum_mode_mismatch("null"));
            }
            // Without an algorithm no part checksum was kept to match: S3 answers a listed
            // one with InvalidPart.
            if listed.iter().any(|part| !part.checksums.is_empty()) {
                return Err(s3_error!(InvalidPart));
            }
            let parts = listed
                .iter()
                .map(|part| (part.number, part.etag.clone(), None))
                .collect();
            return Ok((parts, None));
        };
        let algorithm = expected.algorithm;
        if let Some(requested) = requested_type
            && ChecksumType::from_name(requested) != Some(expected.checksum_type)
        {
            return Err(checksum_mode_mismatch(expected.checksum_type.name()));
        }
        // The object's checksum the client claims, checked once it is computed.
        let mut claimed = None;
        for other in ChecksumAlgorithm::ALL {
            if let Some(value) = text(headers, other.header_name()) {
                if other != algorithm {
                    return Err(type_mismatch(algorithm, &lowercase(other)));
                }
                claimed = Some(value.trim());
            }
        }
        // "When an additional checksum is applied to each part, the PartNumber must start at
        // 1 and the part numbers must be consecutive" (CompletedPart, S3 API reference).
        if listed
            .iter()
            .enumerate()
            .any(|(index, part)| usize::from(part.number) != index + 1)
        {
            return Err(s3_error!(InvalidPartOrder));
        }
        // The part checksums the client lists, decoded: a value that does not decode cannot
        // be the part's (InvalidPart).
        let mut given = Vec::with_capacity(listed.len());
        for part in listed {
            let raw = match part.checksums.iter().find(|(a, _)| *a == algorithm) {
                Some((_, value)) => Some(
                    algorithm
                        .decode(value)
                        .map_err(|_| s3_error!(InvalidPart))?,
                ),
                None if expected.checksum_type == ChecksumType::Composite => {
                    return Err(match part.checksums.first() {
                        Some((other, _)) => s3_error!(
                            BadDigest,
                            "The {} you specified for part {} did not match what we received.",
                            lowercase(*other),
                            part.number
                        ),
                        None => s3_error!(
                            InvalidRequest,
                            "The upload was created using a {} checksum. The complete request must include the checksum for each part. It was missing for part {} in the request.",
                            lowercase(algorithm),
                            part.number
                        ),
                    });
                }
                None => None,
            };
            given.push(raw);
        }
        let (expected_parts, value) = match expected.checksum_type {
            // Every part listed its checksum (checked above); the engine checks each is the
            // stored one, in canonical base64 as the engine stored it.
            ChecksumType::Composite => {
                let mut checksummer = Checksummer::new(algorithm);
                for raw in given.iter().flatten() {
                    checksummer.update(raw);
                }
                let value = format!("{}-{}", checksummer.finalize_base64(), listed.len());
                let expected = given
                    .into_iter()
                    .map(|raw| raw.map(|raw| BASE64.encode(raw)))
                    .collect();
                (expected, value)
            }
            ChecksumType::FullObject => self.full_object(algorithm, listed, given).await?,
        };
        if claimed.is_some_and(|claimed| claimed != value) {
            return Err(s3_error!(
                BadDigest,
                "The {} you specified did not match the checksum calculated from the parts.",
                algorithm.name()
            ));
        }
        let parts = listed
            .iter()
            .zip(expected_parts)
            .map(|(part, checksum)| (part.number, part.etag.clone(), checksum))
            .collect();
        Ok((parts, Some((algorithm.name().to_owned(), value))))
    }

    /// The full-object CRC, combined from the stored part CRCs and sizes; and the checksum
    /// each part must still have when the completion commits (its stored one).
    async fn full_object(
        &self,
        algorithm: ChecksumAlgorithm,
        listed: &[ListedPart],
        given: Vec<Option<Vec<u8>>>,
    ) -> S3Result<(Vec<Option<String>>, String)> {
        let stored: BTreeMap<u16, PartInfo> = self
            .ctx
            .engine
            .multipart_upload_parts(self.bucket, self.key, self.upload_id)
            .await?
            .into_iter()
            .map(|part| (part.part_number, part))
            .collect();
        let mut combined = CrcCombiner::new(algorithm).ok_or_else(|| s3_error!(InternalError))?;
        let mut expected = Vec::with_capacity(listed.len());
        for (part, given) in listed.iter().zip(given) {
            // A part not uploaded, or (uploaded before checksums were kept) without one.
            // The part must be the one listed: the combination below uses its size, which
            // the engine's completion (comparing ETag and checksum text) does not check again.
            let stored_part = stored
                .get(&part.number)
                .filter(|stored| stored.etag.eq_ignore_ascii_case(&part.etag))
                .ok_or_else(|| s3_error!(InvalidPart))?;
            let checksum = stored_part
                .checksum
                .clone()
                .ok_or_else(|| s3_error!(InvalidPart))?;
            let raw = algorithm
                .decode(&checksum)
                .map_err(|_| s3_error!(InvalidPart))?;
            if given.is_some_and(|given| given != raw) {
                return Err(s3_error!(InvalidPart));
            }
            combined.append(&raw, stored_part.size);
            expected.push(Some(checksum));
        }
        Ok((expected, BASE64.encode(combined.finish())))
    }
}

/// S3's answer to an `x-amz-checksum-type` of CompleteMultipartUpload that is not the
/// upload's ("BadDigest", says the CompleteMultipartUpload reference).
fn checksum_mode_mismatch(created: &str) -> S3Error {
    s3_error!(
        BadDigest,
        "The upload was created using the {created} checksum mode. The complete request must use the same checksum mode."
    )
}

/// A CRC of consecutive byte runs, made from the runs' CRCs and lengths alone.
struct CrcCombiner {
    algorithm: crc_fast::CrcAlgorithm,
    /// Bytes of the digest: 4 or 8.
    width: usize,
    crc: Option<u64>,
}

impl CrcCombiner {
    /// `None` for an algorithm that is not a CRC.
    fn new(algorithm: ChecksumAlgorithm) -> Option<Self> {
        let crc = match algorithm {
            ChecksumAlgorithm::Crc32 => crc_fast::CrcAlgorithm::Crc32IsoHdlc,
            ChecksumAlgorithm::Crc32c => crc_fast::CrcAlgorithm::Crc32Iscsi,
            ChecksumAlgorithm::Crc64Nvme => crc_fast::CrcAlgorithm::Crc64Nvme,
            ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256 => return None,
        };
        Some(Self {
            algorithm: crc,
            width: algorithm.digest_len(),
            crc: None,
        })
    }

    /// Appends a run of `len` bytes whose CRC is `raw` (big-endian, as S3 transmits it).
    fn append(&mut self, raw: &[u8], len: u64) {
        let value = raw
            .iter()
            .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
        self.crc = Some(match self.crc {
            None => value,
            // Appending nothing leaves the CRC as it is.
            Some(crc) if len == 0 => crc,
            Some(crc) => crc_fast::checksum_combine(self.algorithm, crc, value, len),
        });
    }

    /// The CRC of all runs, big-endian (of no runs: of no bytes, which is 0 for these).
    fn finish(&self) -> Vec<u8> {
        let crc = self.crc.unwrap_or(0).to_be_bytes();
        crc[crc.len() - self.width..].to_vec()
    }
}

pub(crate) async fn abort_multipart_upload(
    ctx: &Ctx<'_>,
    upload_id: &str,
) -> S3Result<Response<ResponseBody>> {
    ctx.owned_bucket().await?;
    ctx.engine
        .abort_multipart_upload(ctx.bucket()?, ctx.key()?, upload_id)
        .await?;
    Ok(status_response(StatusCode::NO_CONTENT))
}

pub(crate) async fn list_parts(ctx: &Ctx<'_>, upload_id: &str) -> S3Result<Response<ResponseBody>> {
    let bucket_info = ctx.owned_bucket().await?;
    let marker = match ctx.params.get("part-number-marker") {
        None => 0,
        Some(v) => v.parse::<u16>().map_err(|_| {
            s3_error!(
                InvalidArgument,
                "Provided part-number-marker not an integer or within integer range"
            )
        })?,
    };
    let max_parts = match ctx.params.get("max-parts") {
        None => 1000,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| usize::try_from(n).unwrap_or(1000).min(1000))
            .ok_or_else(|| {
                s3_error!(
                    InvalidArgument,
                    "Provided max-parts not an integer or within integer range"
                )
            })?,
    };
    let (bucket, key) = (ctx.bucket()?, ctx.key()?);
    let page = ctx
        .engine
        .list_parts(bucket, key, upload_id, marker, max_parts)
        .await?;
    let checksum = upload_checksum(&page.upload)?;
    let owner = bucket_info.owner.to_string();
    let mut xml = XmlWriter::new("ListPartsResult");
    xml.element("Bucket", bucket.as_str())
        .element("Key", key.as_str())
        .element("UploadId", upload_id)
        .user("Initiator", &owner)
        .user("Owner", &owner)
        .element("StorageClass", "STANDARD")
        .element("PartNumberMarker", &marker.to_string());
    if let Some(next) = page.next_part_number_marker {
        xml.element("NextPartNumberMarker", &next.to_string());
    }
    xml.element("MaxParts", &max_parts.to_string()).element(
        "IsTruncated",
        if page.is_truncated { "true" } else { "false" },
    );
    if let Some(checksum) = checksum {
        xml.element("ChecksumAlgorithm", checksum.algorithm.name())
            .element("ChecksumType", checksum.checksum_type.name());
    }
    for part in &page.parts {
        xml.open("Part")
            .element("PartNumber", &part.part_number.to_string())
            .element("LastModified", &format_iso8601(part.last_modified))
            .element("ETag", &format!("\"{}\"", part.etag))
            .element("Size", &part.size.to_string());
        // A part's checksum is of the upload's algorithm (UploadPart sees to it); an
        // upload without one kept no algorithm to name the element by.
        if let (Some(checksum), Some(value)) = (checksum, &part.checksum) {
            xml.element(&checksum_element(checksum.algorithm), value);
        }
        xml.close("Part");
    }
    Ok(xml_response(xml.finish("ListPartsResult")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crc(algorithm: ChecksumAlgorithm, data: &[u8]) -> Vec<u8> {
        let mut checksummer = Checksummer::new(algorithm);
        checksummer.update(data);
        checksummer.finalize()
    }

    #[test]
    fn combined_crcs_are_the_crcs_of_the_whole() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 256) as u8).collect();
        for algorithm in [
            ChecksumAlgorithm::Crc32,
            ChecksumAlgorithm::Crc32c,
            ChecksumAlgorithm::Crc64Nvme,
        ] {
            // Runs of every kind: empty ones first, between and last, one byte, the rest.
            for cuts in [
                vec![0, 0, 1, 1, 5000, 5000, 10_000, 10_000],
                vec![0, 10_000],
                vec![0, 1, 10_000],
                vec![0, 3333, 6666, 10_000],
            ] {
                let mut combiner = CrcCombiner::new(algorithm).unwrap();
                for run in cuts.windows(2) {
                    let run = &data[run[0]..run[1]];
                    combiner.append(&crc(algorithm, run), run.len() as u64);
                }
                assert_eq!(
                    combiner.finish(),
                    crc(algorithm, &data),
                    "{algorithm:?} {cuts:?}"
                );
            }
            let none = CrcCombiner::new(algorithm).unwrap();
            assert_eq!(none.finish(), crc(algorithm, b""), "{algorithm:?}");
        }
        assert!(CrcCombiner::new(ChecksumAlgorithm::Sha256).is_none());
    }

    #[test]
    fn checksum_types_and_algorithms_pair_as_s3_allows() {
        use ChecksumAlgorithm::*;
        assert_eq!(
            ChecksumType::default_for(Crc64Nvme),
            ChecksumType::FullObject
        );
        for algorithm in [Crc32, Crc32c, Sha1, Sha256] {
            assert_eq!(
                ChecksumType::default_for(algorithm),
                ChecksumType::Composite
            );
        }
        let full: Vec<_> = ChecksumAlgorithm::ALL
            .into_iter()
            .filter(|a| ChecksumType::FullObject.allows(*a))
            .collect();
        assert_eq!(full, [Crc32, Crc32c, Crc64Nvme]);
        let composite: Vec<_> = ChecksumAlgorithm::ALL
            .into_iter()
            .filter(|a| ChecksumType::Composite.allows(*a))
            .collect();
        assert_eq!(composite, [Crc32, Crc32c, Sha1, Sha256]);
        assert_eq!(
            ChecksumType::from_name("full_object"),
            Some(ChecksumType::FullObject)
        );
        assert_eq!(ChecksumType::from_name("PARTS"), None);
        assert_eq!(checksum_type_of("ar6UVw==-2"), "COMPOSITE");
        assert_eq!(checksum_type_of("gPNU7Q=="), "FULL_OBJECT");
        assert_eq!(checksum_type_of("abc-"), "FULL_OBJECT");
    }

    #[test]
    fn declared_checksums_come_from_a_header_or_the_trailer() {
        let mut headers = HeaderMap::new();
        assert_eq!(declared_checksum(&headers), None);
        headers.insert(
            "x-amz-trailer",
            HeaderValue::from_static("x-amz-checksum-crc32c"),
        );
        assert_eq!(declared_checksum(&headers), Some(ChecksumAlgorithm::Crc32c));
        headers.insert("x-amz-checksum-sha1", HeaderValue::from_static("x"));
        assert_eq!(declared_checksum(&headers), Some(ChecksumAlgorithm::Sha1));
    }
}
