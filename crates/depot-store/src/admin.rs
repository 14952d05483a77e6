//! The seam where an admin API mounts beside S3: `?ostor-…` requests to the service and
//! `?replication` of a bucket are authenticated here like any S3 request, then handed to an
//! [`AdminApi`] implemented outside this crate (`depot-ostor`), which decides who may call it.

use async_trait::async_trait;
use bytes::Bytes;
use depot_domain::BucketName;
use http::{HeaderMap, Method, Response};

use crate::S3Result;
use crate::router::Params;
use crate::service::Principal;

/// The most an admin request body may weigh (a replication configuration).
pub const MAX_ADMIN_BODY: usize = 1024 * 1024;

/// An authenticated request for the admin API.
#[derive(Debug)]
pub struct AdminRequest {
    /// The HTTP method.
    pub method: Method,
    /// The sub-resource: `ostor-users`, …, or `replication`.
    pub resource: String,
    /// The query parameters.
    pub params: Params,
    /// The request headers.
    pub headers: HeaderMap,
    /// Who signed the request.
    pub principal: Principal,
    /// The bucket addressed, for bucket sub-resources.
    pub bucket: Option<BucketName>,
    /// The body, read whole (at most [`MAX_ADMIN_BODY`] bytes).
    pub body: Bytes,
}

/// An admin API served on the S3 listener.
#[async_trait]
pub trait AdminApi: Send + Sync {
    /// Answers one request; an error is rendered as an S3 error document with its status.
    async fn handle(&self, request: AdminRequest) -> S3Result<Response<Bytes>>;
}
