//! Listings: ListObjects (v1 and v2), ListObjectVersions, ListMultipartUploads.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN;
use depot_engine::{ListQuery, UploadsQuery};
use depot_sigv4::uri_encode_path;
use http::Response;

use crate::body::ResponseBody;
use crate::headers::format_iso8601;
use crate::service::{Ctx, xml_response};
use crate::xml::XmlWriter;
use crate::{S3Result, s3_error};

/// The most entries one listing page returns, whatever `max-keys` asks.
const MAX_PAGE: usize = 1000;

/// `max-keys` (or `max-uploads`): a non-negative integer, capped at 1000; 1000 when absent.
fn max_keys(ctx: &Ctx<'_>, name: &str) -> S3Result<usize> {
    match ctx.params.get(name) {
        None => Ok(MAX_PAGE),
        Some(value) => value
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE))
            .ok_or_else(|| {
                s3_error!(
                    InvalidArgument,
                    "Provided {name} not an integer or within integer range"
                )
            }),
    }
}

/// With `encoding-type=url`, names in the response are percent-encoded (slashes kept), so keys
/// with characters XML 1.0 cannot carry survive the trip.
struct Encoding {
    url: bool,
}

impl Encoding {
    fn from(ctx: &Ctx<'_>) -> S3Result<Self> {
        match ctx.params.get("encoding-type") {
            None => Ok(Self { url: false }),
            Some(v) if v.eq_ignore_ascii_case("url") => Ok(Self { url: true }),
            Some(_) => Err(s3_error!(
                InvalidArgument,
                "Invalid Encoding Method specified in Request"
            )),
        }
    }

    fn apply(&self, text: &str) -> String {
        if self.url {
            uri_encode_path(text)
        } else {
            text.to_owned()
        }
    }
}

/// The parameters every listing shares.
struct Listing {
    encoding: Encoding,
    prefix: String,
    delimiter: Option<String>,
    max_keys: usize,
}

impl Listing {
    fn from(ctx: &Ctx<'_>, max_name: &str) -> S3Result<Self> {
        Ok(Self {
            encoding: Encoding::from(ctx)?,
            prefix: ctx.params.get("prefix").unwrap_or("").to_owned(),
            delimiter: ctx
                .params
                .get("delimiter")
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            max_keys: max_keys(ctx, max_name)?,
        })
    }

    /// `<CommonPrefixes>` for each prefix, then `<EncodingType>` when names were encoded.
    fn finish(&self, xml: &mut XmlWriter, common_prefixes: &[String]) {
        for common in common_prefixes {
            xml.open("CommonPrefixes")
                .element("Prefix", &self.encoding.apply(common))
                .close("CommonPrefixes");
        }
        if self.encoding.url {
            xml.element("EncodingType", "url");
        }
    }
}

pub(crate) async fn list_objects(ctx: &Ctx<'_>, v2: bool) -> S3Result<Response<ResponseBody>> {
    let bucket = ctx.owned_bucket().await?;
    let listing = Listing::from(ctx, "max-keys")?;
    let (encoding, prefix, delimiter, max_keys) = (
        &listing.encoding,
        listing.prefix.clone(),
        listing.delimiter.clone(),
        listing.max_keys,
    );
    let continuation = ctx.params.get("continuation-token");
    let start_after = if v2 {
        match continuation {
            Some(token) => Some(
                TOKEN
                    .decode(token)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| {
                        s3_error!(
                            InvalidArgument,
                            "The continuation token provided is incorrect"
                        )
                    })?,
            ),
            None => ctx
                .params
                .get("start-after")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        }
    } else {
        ctx.params
            .get("marker")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let query = ListQuery {
        prefix: prefix.clone(),
        delimiter: delimiter.clone(),
        start_after,
        max_keys,
    };
    let page = ctx.engine.list_objects(ctx.bucket()?, &query).await?;

    let root = "ListBucketResult";
    let mut xml = XmlWriter::new(root);
    xml.element("Name", bucket.name.as_str())
        .element("Prefix", &encoding.apply(&prefix));
    if v2 {
        if let Some(start_after) = ctx.params.get("start-after") {
            xml.element("StartAfter", &encoding.apply(start_after));
        }
        xml.optional("ContinuationToken", continuation);
        if page.is_truncated
            && let Some(next) = &page.next_start_after
        {
            xml.element("NextContinuationToken", &TOKEN.encode(next));
        }
        xml.element(
            "KeyCount",
            &(page.objects.len() + page.common_prefixes.len()).to_string(),
        );
    } else {
        xml.element(
            "Marker",
            &encoding.apply(ctx.params.get("marker").unwrap_or("")),
        );
        // S3 sends NextMarker only with a delimiter; without one the last key is the marker.
        if page.is_truncated
            && delimiter.is_some()
            && let Some(next) = &page.next_start_after
        {
            xml.element("NextMarker", &encoding.apply(next));
        }
    }
    xml.element("MaxKeys", &max_keys.to_string());
    if let Some(delimiter) = &delimiter {
        xml.element("Delimiter", &encoding.apply(delimiter));
    }
    xml.element(
        "IsTruncated",
        if page.is_truncated { "true" } else { "false" },
    );
    let show_owner = !v2 || ctx.params.get("fetch-owner") == Some("true");
    let owner = bucket.owner.to_string();
    for object in &page.objects {
        xml.open("Contents")
            .element("Key", &encoding.apply(object.key.as_str()))
            .element("LastModified", &format_iso8601(object.last_modified))
            .element("ETag", &format!("\"{}\"", object.etag))
            .element("Size", &object.size.to_string());
        if show_owner {
            xml.user("Owner", &owner);
        }
        xml.element(
            "StorageClass",
            object.storage_class.as_deref().unwrap_or("STANDARD"),
        )
        .close("Contents");
    }
    listing.finish(&mut xml, &page.common_prefixes);
    Ok(xml_response(xml.finish(root)))
}

pub(crate) async fn list_object_versions(ctx: &Ctx<'_>) -> S3Result<Response<ResponseBody>> {
    let bucket = ctx.owned_bucket().await?;
    let listing = Listing::from(ctx, "max-keys")?;
    let (encoding, prefix, delimiter, max_keys) = (
        &listing.encoding,
        listing.prefix.clone(),
        listing.delimiter.clone(),
        listing.max_keys,
    );
    let key_marker = ctx
        .params
        .get("key-marker")
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    // Until versioning exists every object is its single `null` version, so a listing by
    // versions is a listing by keys.
    let query = ListQuery {
        prefix: prefix.clone(),
        delimiter: delimiter.clone(),
        start_after: key_marker.clone(),
        max_keys,
    };
    let page = ctx.engine.list_objects(ctx.bucket()?, &query).await?;
    let root = "ListVersionsResult";
    let mut xml = XmlWriter::new(root);
    xml.element("Name", bucket.name.as_str())
        .element("Prefix", &encoding.apply(&prefix))
        .element(
            "KeyMarker",
            &encoding.apply(key_marker.as_deref().unwrap_or("")),
        )
        .element(
            "VersionIdMarker",
            ctx.params.get("version-id-marker").unwrap_or(""),
        );
    if page.is_truncated
        && let Some(next) = &page.next_start_after
    {
        xml.element("NextKeyMarker", &encoding.apply(next))
            .element("NextVersionIdMarker", "null");
    }
    xml.element("MaxKeys", &max_keys.to_string());
    if let Some(delimiter) = &delimiter {
        xml.element("Delimiter", &encoding.apply(delimiter));
    }
    xml.element(
        "IsTruncated",
        if page.is_truncated { "true" } else { "false" },
    );
    let owner = bucket.owner.to_string();
    for object in &page.objects {
        xml.open("Version")
            .element("Key", &encoding.apply(object.key.as_str()))
            .element("VersionId", "null")
            .element("IsLatest", "true")
            .element("LastModified", &format_iso8601(object.last_modified))
            .element("ETag", &format!("\"{}\"", object.etag))
            .element("Size", &object.size.to_string())
            .user("Owner", &owner)
            .element(
                "StorageClass",
                object.storage_class.as_deref().unwrap_or("STANDARD"),
            )
            .close("Version");
    }
    listing.finish(&mut xml, &page.common_prefixes);
    Ok(xml_response(xml.finish(root)))
}

pub(crate) async fn list_multipart_uploads(ctx: &Ctx<'_>) -> S3Result<Response<ResponseBody>> {
    let bucket = ctx.owned_bucket().await?;
    let listing = Listing::from(ctx, "max-uploads")?;
    let (encoding, prefix, delimiter, max_uploads) = (
        &listing.encoding,
        listing.prefix.clone(),
        listing.delimiter.clone(),
        listing.max_keys,
    );
    let key_marker = ctx
        .params
        .get("key-marker")
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let upload_id_marker = ctx
        .params
        .get("upload-id-marker")
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let query = UploadsQuery {
        prefix: prefix.clone(),
        delimiter: delimiter.clone(),
        key_marker: key_marker.clone(),
        upload_id_marker: upload_id_marker.clone(),
        max_uploads,
    };
    let page = ctx
        .engine
        .list_multipart_uploads(ctx.bucket()?, &query)
        .await?;
    let root = "ListMultipartUploadsResult";
    let mut xml = XmlWriter::new(root);
    xml.element("Bucket", bucket.name.as_str())
        .element(
            "KeyMarker",
            &encoding.apply(key_marker.as_deref().unwrap_or("")),
        )
        .element("UploadIdMarker", upload_id_marker.as_deref().unwrap_or(""));
    if page.is_truncated {
        xml.optional(
            "NextKeyMarker",
            page.next_key_marker
                .as_deref()
                .map(|k| encoding.apply(k))
                .as_deref(),
        )
        .optional("NextUploadIdMarker", page.next_upload_id_marker.as_deref());
    }
    xml.element("Prefix", &encoding.apply(&prefix));
    if let Some(delimiter) = &delimiter {
        xml.element("Delimiter", &encoding.apply(delimiter));
    }
    xml.element("MaxUploads", &max_uploads.to_string()).element(
        "IsTruncated",
        if page.is_truncated { "true" } else { "false" },
    );
    let owner = bucket.owner.to_string();
    for upload in &page.uploads {
        xml.open("Upload")
            .element("Key", &encoding.apply(upload.key.as_str()))
            .element("UploadId", &upload.upload_id)
            .user("Initiator", &owner)
            .user("Owner", &owner)
            .element(
                "StorageClass",
                upload.attrs.storage_class.as_deref().unwrap_or("STANDARD"),
            )
            .element("Initiated", &format_iso8601(upload.initiated))
            .close("Upload");
    }
    listing.finish(&mut xml, &page.common_prefixes);
    Ok(xml_response(xml.finish(root)))
}
