//! Object operations: PutObject, GetObject and HeadObject, DeleteObject, DeleteObjects,
//! CopyObject.

use depot_domain::{BucketName, ObjectKey};
use depot_engine::{ObjectAttributes, ObjectInfo, WriteCondition};
use depot_sigv4::{BoxError, ChecksumAlgorithm, Checksummer, VerifiedBody};
use futures_util::TryStreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, StreamBody};
use serde::Deserialize;

use crate::body::{ResponseBody, TrailerSlot, empty, payload_stream, read_limited};
use crate::headers::{
    Precondition, RangeRequest, attribute_headers, check_content_md5, content_md5,
    evaluate_preconditions, format_http_date, format_iso8601, text, user_metadata,
};
use crate::service::{Ctx, MAX_PUT_SIZE, status_response, xml_response};
use crate::xml::{XmlWriter, parse};
use crate::{S3Error, S3Result, s3_error};

/// Storage classes S3 defines; all are stored alike, the name is kept and reported.
const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
    "OUTPOSTS",
    "SNOW",
    "EXPRESS_ONEZONE",
];

/// The object attributes a PUT, a copy with REPLACE or a multipart upload sets from headers.
pub(crate) fn attributes_from_headers(headers: &HeaderMap) -> S3Result<ObjectAttributes> {
    let storage_class = match text(headers, "x-amz-storage-class") {
        Some(class) if STORAGE_CLASSES.contains(&class) => Some(class.to_owned()),
        Some(_) => return Err(s3_error!(InvalidStorageClass)),
        None => None,
    };
    let owned = |name: &str| text(headers, name).map(str::to_owned);
    Ok(ObjectAttributes {
        content_type: owned("content-type"),
        content_encoding: owned("content-encoding")
            // aws-chunked is transfer framing, not a property of the object.
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|e| !e.eq_ignore_ascii_case("aws-chunked"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .filter(|v| !v.is_empty()),
        content_disposition: owned("content-disposition"),
        content_language: owned("content-language"),
        cache_control: owned("cache-control"),
        expires: owned("expires"),
        user_metadata: user_metadata(headers)?,
        checksum: None,
        storage_class,
    })
}

/// The declared size of the payload: `x-amz-decoded-content-length` for aws-chunked bodies,
/// else `Content-Length`.
fn declared_size(headers: &HeaderMap) -> Option<u64> {
    text(headers, "x-amz-decoded-content-length")
        .or_else(|| text(headers, "content-length"))
        .and_then(|v| v.parse().ok())
}

/// The write condition of `If-None-Match: *` or `If-Match`.
pub(crate) fn write_condition(headers: &HeaderMap) -> S3Result<WriteCondition> {
    match (text(headers, "if-none-match"), text(headers, "if-match")) {
        (Some(v), _) if v.trim() == "*" => Ok(WriteCondition::IfNoneMatchAny),
        (Some(_), _) => Err(s3_error!(
            NotImplemented,
            "If-None-Match supports only `*` on writes"
        )),
        (None, Some(etag)) => Ok(WriteCondition::IfMatch(
            etag.trim().trim_matches('"').to_owned(),
        )),
        (None, None) => Ok(WriteCondition::None),
    }
}

/// The checksum the body's verification reported, for storing with the object.
fn verified_checksum(slot: &TrailerSlot) -> Option<(String, String)> {
    let trailers = slot.lock().unwrap_or_else(|e| e.into_inner());
    let trailers = trailers.as_ref()?;
    ChecksumAlgorithm::ALL.into_iter().find_map(|algorithm| {
        let value = trailers.get(algorithm.header_name())?.to_str().ok()?;
        Some((algorithm.name().to_owned(), value.to_owned()))
    })
}

/// Streams a verified body into a staged blob, checking size and Content-MD5.
pub(crate) async fn stage_body<B>(
    ctx: &Ctx<'_>,
    body: VerifiedBody<B>,
    max_size: u64,
) -> S3Result<(depot_engine::StagedBlob, Option<(String, String)>)>
where
    B: Body + Send + Unpin + 'static,
    B::Data: bytes::Buf + Send,
    B::Error: Into<BoxError>,
{
    stage_body_computing(ctx, body, max_size, None).await
}

/// As [`stage_body`]; when the client sent no checksum, `compute` names an algorithm whose
/// checksum of the body is computed and returned instead (S3 does so for the parts of a
/// `FULL_OBJECT` multipart upload).
pub(crate) async fn stage_body_computing<B>(
    ctx: &Ctx<'_>,
    body: VerifiedBody<B>,
    max_size: u64,
    compute: Option<ChecksumAlgorithm>,
) -> S3Result<(depot_engine::StagedBlob, Option<(String, String)>)>
where
    B: Body + Send + Unpin + 'static,
    B::Data: bytes::Buf + Send,
    B::Error: Into<BoxError>,
{
    if declared_size(&ctx.headers).is_some_and(|size| size > max_size) {
        return Err(s3_error!(EntityTooLarge).detail("MaxSizeAllowed", max_size.to_string()));
    }
    let expected_md5 = content_md5(&ctx.headers)?;
    let (stream, trailers) = payload_stream(body);
    let mut computed = compute.map(Checksummer::new);
    let stream = stream.inspect_ok(|chunk| {
        if let Some(checksummer) = computed.as_mut() {
            checksummer.update(chunk);
        }
    });
    let staged = ctx.engine.stage(stream, max_size).await?;
    if let Some(declared) = declared_size(&ctx.headers)
        && staged.size < declared
    {
        return Err(s3_error!(IncompleteBody));
    }
    if expected_md5.is_some_and(|md5| md5 != staged.md5) {
        return Err(s3_error!(BadDigest));
    }
    let checksum = verified_checksum(&trailers).or_else(|| {
        computed.map(|checksummer| {
            (
                checksummer.algorithm().name().to_owned(),
                checksummer.finalize_base64(),
            )
        })
    });
    Ok((staged, checksum))
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

pub(crate) async fn put_object<B>(
    ctx: &Ctx<'_>,
    body: VerifiedBody<B>,
) -> S3Result<Response<ResponseBody>>
where
    B: Body + Send + Unpin + 'static,
    B::Data: bytes::Buf + Send,
    B::Error: Into<BoxError>,
{
    ctx.owned_bucket().await?;
    let mut attrs = attributes_from_headers(&ctx.headers)?;
    let condition = write_condition(&ctx.headers)?;
    let (staged, checksum) = stage_body(ctx, body, MAX_PUT_SIZE).await?;
    attrs.checksum = checksum.clone();
    let info = ctx
        .engine
        .put_object(ctx.bucket()?, ctx.key()?, staged, attrs, condition)
        .await?;
    let mut response = status_response(StatusCode::OK);
    let headers = response.headers_mut();
    insert(headers, "etag", &quoted(&info.etag));
    if let Some((algorithm, value)) = checksum
        && let Some(algorithm) = ChecksumAlgorithm::from_name(&algorithm)
    {
        insert(headers, algorithm.header_name(), &value);
    }
    Ok(response)
}

/// The response headers that describe an object.
fn object_headers(headers: &mut HeaderMap, info: &ObjectInfo) -> S3Result<()> {
    insert(headers, "etag", &quoted(&info.etag));
    insert(
        headers,
        "last-modified",
        &format_http_date(info.last_modified),
    );
    insert(headers, "accept-ranges", "bytes");
    let attrs = &info.attrs;
    if attrs.content_type.is_none() {
        insert(headers, "content-type", "binary/octet-stream");
    }
    headers.extend(
        attribute_headers(attrs)
            .map_err(|why| s3_error!(InternalError, "stored attributes cannot be sent: {why}"))?,
    );
    if let Some(class) = attrs.storage_class.as_deref().filter(|c| *c != "STANDARD") {
        insert(headers, "x-amz-storage-class", class);
    }
    if let Some(status) = info.replication_status {
        insert(headers, "x-amz-replication-status", status.as_str());
    }
    Ok(())
}

/// The `x-amz-checksum-type` of a stored checksum value: a multipart object's `COMPOSITE`
/// checksum ends in `-<parts>` (base64 has no `-`); every other is `FULL_OBJECT`.
pub(crate) fn checksum_type_of(value: &str) -> &'static str {
    match value.rsplit_once('-') {
        Some((_, parts)) if !parts.is_empty() && parts.bytes().all(|b| b.is_ascii_digit()) => {
            "COMPOSITE"
        }
        _ => "FULL_OBJECT",
    }
}

/// `response-*` query parameters override response headers of a GET.
const RESPONSE_OVERRIDES: &[(&str, &str)] = &[
    ("response-content-type", "content-type"),
    ("response-content-language", "content-language"),
    ("response-expires", "expires"),
    ("response-cache-control", "cache-control"),
    ("response-content-disposition", "content-disposition"),
    ("response-content-encoding", "content-encoding"),
];

pub(crate) async fn get_object(ctx: &Ctx<'_>, head: bool) -> S3Result<Response<ResponseBody>> {
    ctx.owned_bucket().await?;
    let (bucket, key) = (ctx.bucket()?, ctx.key()?);
    let (info, reader) = if head {
        (ctx.engine.head_object(bucket, key).await?, None)
    } else {
        let (info, reader) = ctx.engine.open_object(bucket, key).await?;
        (info, Some(reader))
    };
    match evaluate_preconditions(&ctx.headers, "", &info.etag, info.last_modified) {
        Precondition::Proceed => {}
        Precondition::NotModified => {
            let mut response = status_response(StatusCode::NOT_MODIFIED);
            insert(response.headers_mut(), "etag", &quoted(&info.etag));
            insert(
                response.headers_mut(),
                "last-modified",
                &format_http_date(info.last_modified),
            );
            return Ok(response);
        }
        Precondition::Failed => {
            return Err(s3_error!(PreconditionFailed).detail("Condition", "If-Match"));
        }
    }
    let range = RangeRequest::parse(&ctx.headers)
        .map(|r| r.resolve(info.size))
        .transpose()?;
    let span = range.clone().unwrap_or(0..info.size);
    let mut response = Response::new(empty());
    let headers = response.headers_mut();
    object_headers(headers, &info)?;
    insert(
        headers,
        "content-length",
        &(span.end - span.start).to_string(),
    );
    if range.is_some() {
        insert(
            headers,
            "content-range",
            &format!(
                "bytes {}-{}/{}",
                span.start,
                span.end.saturating_sub(1),
                info.size
            ),
        );
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    let headers = response.headers_mut();
    let checksum_mode = text(&ctx.headers, "x-amz-checksum-mode")
        .is_some_and(|m| m.eq_ignore_ascii_case("ENABLED"));
    // A range gets no checksum: the stored one describes the whole object.
    if checksum_mode
        && range.is_none()
        && let Some((algorithm, value)) = &info.attrs.checksum
        && let Some(algorithm) = ChecksumAlgorithm::from_name(algorithm)
    {
        insert(headers, algorithm.header_name(), value);
        insert(headers, "x-amz-checksum-type", checksum_type_of(value));
    }
    if !head {
        for (param, header) in RESPONSE_OVERRIDES {
            if let Some(value) = ctx.params.get(param) {
                insert(headers, header, value);
            }
        }
    }
    if let Some(reader) = reader {
        let stream = reader
            .into_stream(span)
            .map_ok(Frame::data)
            .map_err(BoxError::from);
        *response.body_mut() = StreamBody::new(stream).boxed_unsync();
    }
    Ok(response)
}

pub(crate) async fn delete_object(ctx: &Ctx<'_>) -> S3Result<Response<ResponseBody>> {
    ctx.owned_bucket().await?;
    ctx.engine.delete_object(ctx.bucket()?, ctx.key()?).await?;
    Ok(status_response(StatusCode::NO_CONTENT))
}

/// The most keys one DeleteObjects request may name.
const MAX_DELETE_KEYS: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Delete {
    #[serde(default)]
    quiet: bool,
    #[serde(default, rename = "Object")]
    objects: Vec<DeleteEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteEntry {
    key: String,
    version_id: Option<String>,
}

pub(crate) async fn delete_objects<B>(
    ctx: &Ctx<'_>,
    body: VerifiedBody<B>,
) -> S3Result<Response<ResponseBody>>
where
    B: Body + Send + Unpin + 'static,
    B::Data: bytes::Buf + Send,
    B::Error: Into<BoxError>,
{
    ctx.owned_bucket().await?;
    let has_checksum = ctx.headers.contains_key("content-md5")
        || ctx.headers.contains_key("x-amz-trailer")
        || ChecksumAlgorithm::ALL
            .iter()
            .any(|a| ctx.headers.contains_key(a.header_name()));
    if !has_checksum {
        return Err(s3_error!(
            InvalidRequest,
            "Missing required header for this request: Content-MD5"
        ));
    }
    // 1000 keys of up to 1024 bytes, escaped, fit in 8 MiB.
    let document = read_limited(body, 8 << 20).await?;
    check_content_md5(&ctx.headers, &document)?;
    let delete: Delete = parse(&document)?;
    if delete.objects.is_empty() || delete.objects.len() > MAX_DELETE_KEYS {
        return Err(s3_error!(MalformedXML));
    }
    let bucket = ctx.bucket()?;
    let mut xml = XmlWriter::new("DeleteResult");
    for entry in delete.objects {
        let outcome = match entry.key.parse::<ObjectKey>() {
            Ok(key) if entry.version_id.as_deref().is_none_or(|v| v == "null") => ctx
                .engine
                .delete_object(bucket, &key)
                .await
                .map(|_| ())
                .map_err(S3Error::from),
            Ok(_) => Err(s3_error!(NoSuchVersion)),
            Err(_) => Err(s3_error!(KeyTooLongError)),
        };
        match outcome {
            Ok(()) if delete.quiet => {}
            Ok(()) => {
                xml.open("Deleted")
                    .element("Key", &entry.key)
                    .optional("VersionId", entry.version_id.as_deref())
                    .close("Deleted");
            }
            Err(error) => {
                xml.open("Error")
                    .element("Key", &entry.key)
                    .optional("VersionId", entry.version_id.as_deref())
                    .element("Code", error.code.as_str())
                    .element("Message", &error.message)
                    .close("Error");
            }
        }
    }
    Ok(xml_response(xml.finish("DeleteResult")))
}

/// The source of a copy: `x-amz-copy-source` decoded (`/bucket/key` or `bucket/key`, with an
/// optional `?versionId=`).
pub(crate) fn copy_source(headers: &HeaderMap) -> S3Result<(BucketName, ObjectKey)> {
    let raw = text(headers, "x-amz-copy-source").ok_or_else(|| {
        s3_error!(
            InvalidArgument,
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"
        )
    })?;
    let (path, version) = match raw.split_once('?') {
        Some((path, query)) => (path, query.strip_prefix("versionId=")),
        None => (raw, None),
    };
    if version.is_some_and(|v| v != "null") {
        return Err(s3_error!(NoSuchVersion));
    }
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| s3_error!(InvalidArgument, "Invalid copy source encoding"))?;
    let decoded = decoded.strip_prefix('/').unwrap_or(&decoded);
    let (bucket, key) = decoded
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"
            )
        })?;
    let bucket = bucket
        .parse::<BucketName>()
        .map_err(|_| s3_error!(InvalidBucketName))?;
    let key = key
        .parse::<ObjectKey>()
        .map_err(|_| s3_error!(KeyTooLongError))?;
    Ok((bucket, key))
}

/// Checks the source of a copy: owned by the caller, and its `x-amz-copy-source-if-*` hold.
pub(crate) async fn check_copy_source(
    ctx: &Ctx<'_>,
    bucket: &BucketName,
    key: &ObjectKey,
) -> S3Result<ObjectInfo> {
    let source_bucket = ctx.engine.bucket_identity(bucket).await?;
    if !ctx.principal.may_use(&source_bucket) {
        return Err(s3_error!(AccessDenied));
    }
    let info = ctx.engine.head_object(bucket, key).await?;
    // For copies, both a failed match and "not modified" are 412 (S3 CopyObject documentation).
    if evaluate_preconditions(
        &ctx.headers,
        "x-amz-copy-source-",
        &info.etag,
        info.last_modified,
    ) != Precondition::Proceed
    {
        return Err(s3_error!(PreconditionFailed).detail("Condition", "x-amz-copy-source-If-Match"));
    }
    Ok(info)
}

pub(crate) async fn copy_object(ctx: &Ctx<'_>) -> S3Result<Response<ResponseBody>> {
    ctx.owned_bucket().await?;
    let (source_bucket, source_key) = copy_source(&ctx.headers)?;
    let source = check_copy_source(ctx, &source_bucket, &source_key).await?;
    let replace = match text(&ctx.headers, "x-amz-metadata-directive") {
        None | Some("COPY") => false,
        Some("REPLACE") => true,
        Some(_) => return Err(s3_error!(InvalidArgument, "Unknown metadata directive.")),
    };
    let (bucket, key) = (ctx.bucket()?, ctx.key()?);
    let onto_itself = source_bucket == *bucket && source_key == *key;
    if onto_itself && !replace && !ctx.headers.contains_key("x-amz-storage-class") {
        return Err(s3_error!(
            InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
        ));
    }
    let attrs = if replace {
        let mut attrs = attributes_from_headers(&ctx.headers)?;
        attrs.checksum = source.attrs.checksum.clone();
        Some(attrs)
    } else if let Some(class) = text(&ctx.headers, "x-amz-storage-class") {
        let mut attrs = source.attrs.clone();
        attrs.storage_class = attributes_from_headers(&ctx.headers)?
            .storage_class
            .or(Some(class.to_owned()));
        Some(attrs)
    } else {
        None
    };
    let condition = write_condition(&ctx.headers)?;
    let info = ctx
        .engine
        .copy_object(&source_bucket, &source_key, bucket, key, attrs, condition)
        .await?;
    let mut xml = XmlWriter::new("CopyObjectResult");
    xml.element("LastModified", &format_iso8601(info.last_modified))
        .element("ETag", &quoted(&info.etag));
    Ok(xml_response(xml.finish("CopyObjectResult")))
}
