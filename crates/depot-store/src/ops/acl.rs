//! Access control lists: GetBucketAcl, PutBucketAcl, GetObjectAcl, PutObjectAcl.
//!
//! Depot's buckets behave as S3 buckets with Object Ownership `BucketOwnerEnforced`, the S3
//! default since 2023: ACLs are disabled, the bucket owner owns every object and has full
//! control, and access is decided by ownership alone. So a GET answers the one grant that
//! holds (the owner, `FULL_CONTROL`), and a PUT succeeds only if it asks for exactly that —
//! the canned `private` or `bucket-owner-full-control`, or a document granting the owner
//! `FULL_CONTROL` and no one else — and is otherwise refused with
//! `AccessControlListNotSupported`, as S3 refuses it.

use depot_domain::UserId;
use depot_sigv4::{BoxError, VerifiedBody};
use http::{HeaderMap, Response, StatusCode};
use http_body::Body;
use serde::Deserialize;

use crate::body::{ResponseBody, read_limited};
use crate::headers::text;
use crate::service::{Ctx, status_response, xml_response};
use crate::xml::{XmlWriter, parse};
use crate::{S3Result, s3_error};

/// The largest ACL document read.
const MAX_ACL_DOCUMENT: usize = 64 * 1024;

/// Canned ACLs that mean "the owner has full control, no one else has anything".
const OWNER_ONLY_CANNED: &[&str] = &["private", "bucket-owner-full-control"];

/// Canned ACLs S3 defines that grant someone besides the owner.
const OTHER_CANNED: &[&str] = &[
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "log-delivery-write",
];

/// GetBucketAcl and GetObjectAcl: the owner's policy, once the bucket (and the object, if
/// one is addressed) is found.
pub(crate) async fn get_acl(ctx: &Ctx<'_>) -> S3Result<Response<ResponseBody>> {
    let owner = owner_of_target(ctx).await?;
    Ok(owner_policy(owner))
}

/// PutBucketAcl and PutObjectAcl: accepted only when they keep the owner's policy.
pub(crate) async fn put_acl<B>(
    ctx: &Ctx<'_>,
    body: VerifiedBody<B>,
) -> S3Result<Response<ResponseBody>>
where
    B: Body + Send + Unpin + 'static,
    B::Data: bytes::Buf + Send,
    B::Error: Into<BoxError>,
{
    let owner = owner_of_target(ctx).await?;
    check_owner_only(&ctx.headers, body, owner).await?;
    Ok(status_response(StatusCode::OK))
}

/// The owner of the addressed bucket, checking the caller's access and, for an object's ACL,
/// that the object exists.
async fn owner_of_target(ctx: &Ctx<'_>) -> S3Result<UserId> {
    let bucket = ctx.owned_bucket().await?;
    if let Some(key) = &ctx.key {
        ctx.engine.head_object(ctx.bucket()?, key).await?;
    }
    Ok(bucket.owner)
}

/// The policy every bucket and object has: the owner, with `FULL_CONTROL`.
fn owner_policy(owner: UserId) -> Response<ResponseBody> {
    let owner = owner.to_string();
    let mut xml = XmlWriter::new("AccessControlPolicy");
    xml.user("Owner", &owner)
        .open("AccessControlList")
        .open("Grant")
        .open_with(
            "Grantee",
            &[
                ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
                ("xsi:type", "CanonicalUser"),
            ],
        )
        .element("ID", &owner)
        .element("DisplayName", &owner)
        .close("Grantee")
        .element("Permission", "FULL_CONTROL")
        .close("Grant")
        .close("AccessControlList");
    xml_response(xml.finish("AccessControlPolicy"))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AccessControlPolicy {
    access_control_list: Option<AccessControlList>,
}

#[derive(Debug, Deserialize)]
struct AccessControlList {
    #[serde(rename = "Grant", default)]
    grants: Vec<Grant>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Grant {
    grantee: Option<Grantee>,
    permission: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Grantee {
    #[serde(rename = "ID")]
    id: Option<String>,
    #[serde(rename = "URI")]
    uri: Option<String>,
    email_address: Option<String>,
}

/// Accepts an ACL request that grants the owner full control and no one else anything.
async fn check_owner_only<B>(
    headers: &HeaderMap,
    body: VerifiedBody<B>,
    owner: UserId,
) -> S3Result<()>
where
    B: Body + Send + Unpin + 'static,
    B::Data: bytes::Buf + Send,
    B::Error: Into<BoxError>,
{
    let not_supported = || s3_error!(AccessControlListNotSupported);
    let canned = text(headers, "x-amz-acl");
    let header_grants = headers
        .keys()
        .any(|name| name.as_str().starts_with("x-amz-grant-"));
    let document = read_limited(body, MAX_ACL_DOCUMENT).await?;
    let has_document = !document.iter().all(u8::is_ascii_whitespace);
    if usize::from(canned.is_some()) + usize::from(header_grants) + usize::from(has_document) > 1 {
        return Err(s3_error!(
            InvalidRequest,
            "Specifying more than one of a canned ACL, grant headers and an ACL document is not allowed"
        ));
    }
    if header_grants {
        // A grant header names its grantees in its own syntax; granting anyone anything but
        // the owner's implicit full control is what an ACL-less bucket refuses.
        return Err(not_supported());
    }
    if let Some(canned) = canned {
        return if OWNER_ONLY_CANNED.contains(&canned) {
            Ok(())
        } else if OTHER_CANNED.contains(&canned) {
            Err(not_supported())
        } else {
            Err(s3_error!(InvalidArgument).detail("ArgumentName", "x-amz-acl"))
        };
    }
    if !has_document {
        return Err(s3_error!(
            MalformedACLError,
            "An ACL must be given as x-amz-acl, x-amz-grant-* headers or an AccessControlPolicy document"
        ));
    }
    let policy: AccessControlPolicy = parse(&document).map_err(|_| s3_error!(MalformedACLError))?;
    let grants = policy
        .access_control_list
        .map(|list| list.grants)
        .unwrap_or_default();
    let owner = owner.to_string();
    let owner_only = !grants.is_empty()
        && grants.iter().all(|grant| {
            grant.permission.as_deref() == Some("FULL_CONTROL")
                && grant.grantee.as_ref().is_some_and(|grantee| {
                    grantee.id.as_deref() == Some(owner.as_str())
                        && grantee.uri.is_none()
                        && grantee.email_address.is_none()
                })
        });
    if owner_only {
        Ok(())
    } else {
        Err(not_supported())
    }
}
