//! The S3 operations, one module per family, and the dispatch from [`Endpoint`] to them.

mod acl;
mod bucket;
mod list;
mod multipart;
mod object;
pub(crate) mod post;

use depot_sigv4::{BoxError, VerifiedBody};
use http::Response;
use http_body::Body;

use crate::body::ResponseBody;
use crate::router::Endpoint;
use crate::service::Ctx;
use crate::{S3Result, s3_error};

/// Runs the operation `endpoint` names.
pub(crate) async fn dispatch<B>(
    ctx: &Ctx<'_>,
    endpoint: Endpoint,
    body: VerifiedBody<B>,
) -> S3Result<Response<ResponseBody>>
where
    B: Body + Send + Unpin + 'static,
    B::Data: bytes::Buf + Send,
    B::Error: Into<BoxError>,
{
    match endpoint {
        Endpoint::ListBuckets => bucket::list_buckets(ctx).await,
        Endpoint::CreateBucket => bucket::create_bucket(ctx, body).await,
        Endpoint::HeadBucket => bucket::head_bucket(ctx).await,
        Endpoint::DeleteBucket => bucket::delete_bucket(ctx).await,
        Endpoint::GetBucketLocation => bucket::get_bucket_location(ctx).await,
        Endpoint::GetBucketVersioning => bucket::get_bucket_versioning(ctx).await,
        Endpoint::GetBucketAcl | Endpoint::GetObjectAcl => acl::get_acl(ctx).await,
        Endpoint::PutBucketAcl | Endpoint::PutObjectAcl => acl::put_acl(ctx, body).await,
        Endpoint::ListObjects => list::list_objects(ctx, false).await,
        Endpoint::ListObjectsV2 => list::list_objects(ctx, true).await,
        Endpoint::ListObjectVersions => list::list_object_versions(ctx).await,
        Endpoint::ListMultipartUploads => list::list_multipart_uploads(ctx).await,
        Endpoint::DeleteObjects => object::delete_objects(ctx, body).await,
        Endpoint::PutObject => object::put_object(ctx, body).await,
        Endpoint::CopyObject => object::copy_object(ctx).await,
        Endpoint::GetObject => object::get_object(ctx, false).await,
        Endpoint::HeadObject => object::get_object(ctx, true).await,
        Endpoint::DeleteObject => object::delete_object(ctx).await,
        Endpoint::CreateMultipartUpload => multipart::create_multipart_upload(ctx).await,
        Endpoint::UploadPart {
            part_number,
            upload_id,
        } => multipart::upload_part(ctx, part_number, &upload_id, body).await,
        Endpoint::UploadPartCopy {
            part_number,
            upload_id,
        } => multipart::upload_part_copy(ctx, part_number, &upload_id).await,
        Endpoint::CompleteMultipartUpload { upload_id } => {
            multipart::complete_multipart_upload(ctx, &upload_id, body).await
        }
        Endpoint::AbortMultipartUpload { upload_id } => {
            multipart::abort_multipart_upload(ctx, &upload_id).await
        }
        Endpoint::ListParts { upload_id } => multipart::list_parts(ctx, &upload_id).await,
        Endpoint::PostObject | Endpoint::Ostor { .. } | Endpoint::Unsupported { .. } => Err(
            s3_error!(NotImplemented, "{} is not implemented", endpoint.describe()),
        ),
    }
}
