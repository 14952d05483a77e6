//! Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
//! CompleteMultipartUpload, AbortMultipartUpload, ListParts.

use depot_engine::WriteCondition;
use depot_sigv4::{BoxError, ChecksumAlgorithm, VerifiedBody};
use http::{HeaderValue, Response, StatusCode};
use http_body::Body;
use serde::Deserialize;

use super::object::{attributes_from_headers, check_copy_source, copy_source, stage_body};
use crate::body::{ResponseBody, read_limited};
use crate::headers::{format_iso8601, text};
use crate::service::{Ctx, MAX_PUT_SIZE, status_response, xml_response};
use crate::xml::{XmlWriter, parse};
use crate::{S3Result, s3_error};

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
    // The algorithm is remembered with the upload; the value is known only at completion.
    attrs.checksum = algorithm.map(|a| (a.name().to_owned(), String::new()));
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
    if let Some(algorithm) = algorithm {
        response.headers_mut().insert(
            "x-amz-checksum-algorithm",
            HeaderValue::from_static(algorithm.name()),
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
    let (staged, checksum) = stage_body(ctx, body, MAX_PUT_SIZE).await?;
    let (bucket, key) = (ctx.bucket()?, ctx.key()?);
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
    let part = ctx
        .engine
        .upload_part_copy(
            bucket,
            key,
            upload_id,
            part_number,
            &source_bucket,
            &source_key,
            range,
        )
        .await?;
    let mut xml = XmlWriter::new("CopyPartResult");
    xml.element("LastModified", &format_iso8601(part.last_modified))
        .element("ETag", &format!("\"{}\"", part.etag));
    Ok(xml_response(xml.finish("CopyPartResult")))
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
}

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
        parts.push((number, part.etag.trim().trim_matches('"').to_owned()));
    }
    let condition = match text(&ctx.headers, "if-none-match") {
        Some(v) if v.trim() == "*" => WriteCondition::IfNoneMatchAny,
        _ => WriteCondition::None,
    };
    let (bucket, key) = (ctx.bucket()?, ctx.key()?);
    let info = ctx
        .engine
        .complete_multipart_upload(bucket, key, upload_id, &parts, condition)
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
    Ok(xml_response(xml.finish("CompleteMultipartUploadResult")))
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
    let owner = bucket_info.owner.to_string();
    let mut xml = XmlWriter::new("ListPartsResult");
    xml.element("Bucket", bucket.as_str())
        .element("Key", key.as_str())
        .element("UploadId", upload_id)
        .open("Initiator")
        .element("ID", &owner)
        .element("DisplayName", &owner)
        .close("Initiator")
        .open("Owner")
        .element("ID", &owner)
        .element("DisplayName", &owner)
        .close("Owner")
        .element("StorageClass", "STANDARD")
        .element("PartNumberMarker", &marker.to_string());
    if let Some(next) = page.next_part_number_marker {
        xml.element("NextPartNumberMarker", &next.to_string());
    }
    xml.element("MaxParts", &max_parts.to_string()).element(
        "IsTruncated",
        if page.is_truncated { "true" } else { "false" },
    );
    for part in &page.parts {
        xml.open("Part")
            .element("PartNumber", &part.part_number.to_string())
            .element("LastModified", &format_iso8601(part.last_modified))
            .element("ETag", &format!("\"{}\"", part.etag))
            .element("Size", &part.size.to_string())
            .close("Part");
    }
    Ok(xml_response(xml.finish("ListPartsResult")))
}
