//! Service and bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
//! GetBucketLocation, GetBucketVersioning.

use depot_sigv4::{BoxError, VerifiedBody};
use http::{HeaderValue, Response, StatusCode};
use http_body::Body;
use serde::Deserialize;

use crate::body::{ResponseBody, read_limited};
use crate::headers::format_iso8601;
use crate::service::{Ctx, status_response, xml_response};
use crate::xml::{XmlWriter, parse};
use crate::{S3Result, s3_error};

/// The most a CreateBucketConfiguration document may weigh.
const MAX_CONFIGURATION: usize = 64 * 1024;

pub(crate) async fn list_buckets(ctx: &Ctx<'_>) -> S3Result<Response<ResponseBody>> {
    let buckets = ctx
        .engine
        .list_buckets(ctx.principal.bucket_owner())
        .await?;
    let owner = ctx.principal.user_id.to_string();
    let mut xml = XmlWriter::new("ListAllMyBucketsResult");
    xml.user("Owner", &owner);
    xml.open("Buckets");
    for bucket in &buckets {
        xml.open("Bucket")
            .element("Name", bucket.name.as_str())
            .element("CreationDate", &format_iso8601(bucket.created_at))
            .element("BucketRegion", &bucket.location)
            .close("Bucket");
    }
    xml.close("Buckets");
    Ok(xml_response(xml.finish("ListAllMyBucketsResult")))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateBucketConfiguration {
    location_constraint: Option<String>,
}

pub(crate) async fn create_bucket<B>(
    ctx: &Ctx<'_>,
    body: VerifiedBody<B>,
) -> S3Result<Response<ResponseBody>>
where
    B: Body + Send + Unpin + 'static,
    B::Data: bytes::Buf + Send,
    B::Error: Into<BoxError>,
{
    let bucket = ctx.bucket()?;
    let document = read_limited(body, MAX_CONFIGURATION).await?;
    let location = if document.iter().all(u8::is_ascii_whitespace) {
        ctx.config.region.clone()
    } else {
        let configuration: CreateBucketConfiguration = parse(&document)?;
        match configuration.location_constraint.filter(|l| !l.is_empty()) {
            // S3 accepts the constraint that names the region it runs in; Depot runs in one.
            Some(location) if location == ctx.config.region => location,
            Some(location) => {
                return Err(s3_error!(
                    InvalidLocationConstraint,
                    "The specified location-constraint is not valid: {location}"
                )
                .detail("LocationConstraint", location));
            }
            None => ctx.config.region.clone(),
        }
    };
    let created = ctx
        .engine
        .create_bucket(ctx.principal.bucket_owner(), bucket, &location)
        .await?;
    // Usage counts the creation under the incarnation it made.
    let _ = ctx.seen.created.set(created.into());
    let mut response = status_response(StatusCode::OK);
    if let Ok(value) = HeaderValue::from_str(&format!("/{bucket}")) {
        response.headers_mut().insert(http::header::LOCATION, value);
    }
    Ok(response)
}

pub(crate) async fn head_bucket(ctx: &Ctx<'_>) -> S3Result<Response<ResponseBody>> {
    let bucket = ctx.owned_bucket().await?;
    let mut response = status_response(StatusCode::OK);
    if let Ok(value) = HeaderValue::from_str(&bucket.location) {
        response.headers_mut().insert("x-amz-bucket-region", value);
    }
    Ok(response)
}

pub(crate) async fn delete_bucket(ctx: &Ctx<'_>) -> S3Result<Response<ResponseBody>> {
    ctx.owned_bucket().await?;
    ctx.engine.delete_bucket(ctx.bucket()?).await?;
    Ok(status_response(StatusCode::NO_CONTENT))
}

pub(crate) async fn get_bucket_location(ctx: &Ctx<'_>) -> S3Result<Response<ResponseBody>> {
    let bucket = ctx.owned_bucket().await?;
    // S3 reports us-east-1 as an empty constraint.
    let location = if bucket.location == "us-east-1" {
        ""
    } else {
        bucket.location.as_str()
    };
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"{}\">{}</LocationConstraint>",
        crate::xml::S3_NAMESPACE,
        {
            let mut escaped = String::new();
            crate::xml::escape_into(&mut escaped, location);
            escaped
        }
    );
    Ok(xml_response(xml))
}

pub(crate) async fn get_bucket_versioning(ctx: &Ctx<'_>) -> S3Result<Response<ResponseBody>> {
    ctx.owned_bucket().await?;
    // A bucket whose versioning was never enabled has an empty configuration.
    let xml = XmlWriter::new("VersioningConfiguration");
    Ok(xml_response(xml.finish("VersioningConfiguration")))
}
