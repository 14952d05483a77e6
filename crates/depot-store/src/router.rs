//! Which S3 operation a request is: addressing (path-style or virtual-hosted), then method and
//! sub-resources, into one documented [`Endpoint`].

use depot_domain::{BucketName, BucketNameError, ObjectKey, ObjectKeyError};
use depot_sigv4::query_pairs;
use http::{HeaderMap, Method};

use crate::{S3Error, S3ErrorCode, S3Result, s3_error};

/// Every operation the S3 listener tells apart. AWS names, verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    // ---- service ----
    /// `GET /`
    ListBuckets,
    // ---- buckets ----
    /// `PUT /bucket`
    CreateBucket,
    /// `HEAD /bucket`
    HeadBucket,
    /// `DELETE /bucket`
    DeleteBucket,
    /// `GET /bucket?location`
    GetBucketLocation,
    /// `GET /bucket?versioning`
    GetBucketVersioning,
    /// `GET /bucket?acl`
    GetBucketAcl,
    /// `PUT /bucket?acl`
    PutBucketAcl,
    /// `GET /bucket` (version 1 listing)
    ListObjects,
    /// `GET /bucket?list-type=2`
    ListObjectsV2,
    /// `GET /bucket?versions`
    ListObjectVersions,
    /// `GET /bucket?uploads`
    ListMultipartUploads,
    /// `POST /bucket?delete`
    DeleteObjects,
    /// `POST /bucket` with a multipart/form-data body (browser uploads)
    PostObject,
    // ---- objects ----
    /// `PUT /bucket/key`
    PutObject,
    /// `PUT /bucket/key` with `x-amz-copy-source`
    CopyObject,
    /// `GET /bucket/key`
    GetObject,
    /// `HEAD /bucket/key`
    HeadObject,
    /// `DELETE /bucket/key`
    DeleteObject,
    /// `GET /bucket/key?acl`
    GetObjectAcl,
    /// `PUT /bucket/key?acl`
    PutObjectAcl,
    // ---- multipart ----
    /// `POST /bucket/key?uploads`
    CreateMultipartUpload,
    /// `PUT /bucket/key?partNumber=N&uploadId=U`
    UploadPart {
        /// 1..=10000.
        part_number: u16,
        /// The upload.
        upload_id: String,
    },
    /// `PUT /bucket/key?partNumber=N&uploadId=U` with `x-amz-copy-source`
    UploadPartCopy {
        /// 1..=10000.
        part_number: u16,
        /// The upload.
        upload_id: String,
    },
    /// `POST /bucket/key?uploadId=U`
    CompleteMultipartUpload {
        /// The upload.
        upload_id: String,
    },
    /// `DELETE /bucket/key?uploadId=U`
    AbortMultipartUpload {
        /// The upload.
        upload_id: String,
    },
    /// `GET /bucket/key?uploadId=U`
    ListParts {
        /// The upload.
        upload_id: String,
    },
    /// A request for the admin API mounted beside S3: an `ostor-…` sub-resource of the
    /// service, or `replication` of a bucket.
    Ostor {
        /// The sub-resource, such as `ostor-users` or `replication`.
        resource: String,
    },
    /// An S3 operation Depot does not implement (yet): answered with `NotImplemented`.
    Unsupported {
        /// The operation's verb: `Get`, `Put`, `Delete`, `Post`, or empty for an operation
        /// whose name has none (`RestoreObject`).
        verb: &'static str,
        /// What it acts on, such as `BucketCors`: with the verb, the AWS operation name.
        resource: &'static str,
    },
}

impl Endpoint {
    /// The AWS name of the operation, also for one Depot does not implement (`PutBucketCors`).
    pub fn describe(&self) -> std::borrow::Cow<'static, str> {
        match self {
            Self::Unsupported { verb, resource } => format!("{verb}{resource}").into(),
            other => other.name().into(),
        }
    }

    /// The AWS name of the operation, for logs and metrics (`Unsupported` for every
    /// operation Depot does not implement).
    pub fn name(&self) -> &'static str {
        match self {
            Self::ListBuckets => "ListBuckets",
            Self::CreateBucket => "CreateBucket",
            Self::HeadBucket => "HeadBucket",
            Self::DeleteBucket => "DeleteBucket",
            Self::GetBucketLocation => "GetBucketLocation",
            Self::GetBucketVersioning => "GetBucketVersioning",
            Self::GetBucketAcl => "GetBucketAcl",
            Self::PutBucketAcl => "PutBucketAcl",
            Self::GetObjectAcl => "GetObjectAcl",
            Self::PutObjectAcl => "PutObjectAcl",
            Self::ListObjects => "ListObjects",
            Self::ListObjectsV2 => "ListObjectsV2",
            Self::ListObjectVersions => "ListObjectVersions",
            Self::ListMultipartUploads => "ListMultipartUploads",
            Self::DeleteObjects => "DeleteObjects",
            Self::PostObject => "PostObject",
            Self::PutObject => "PutObject",
            Self::CopyObject => "CopyObject",
            Self::GetObject => "GetObject",
            Self::HeadObject => "HeadObject",
            Self::DeleteObject => "DeleteObject",
            Self::CreateMultipartUpload => "CreateMultipartUpload",
            Self::UploadPart { .. } => "UploadPart",
            Self::UploadPartCopy { .. } => "UploadPartCopy",
            Self::CompleteMultipartUpload { .. } => "CompleteMultipartUpload",
            Self::AbortMultipartUpload { .. } => "AbortMultipartUpload",
            Self::ListParts { .. } => "ListParts",
            Self::Ostor { .. } => "Ostor",
            // One label for all of them keeps the metrics' label set bounded; the error
            // message names the operation (`Endpoint::describe`).
            Self::Unsupported { .. } => "Unsupported",
        }
    }
}

/// A routed request: the operation, and the bucket and key it addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The operation.
    pub endpoint: Endpoint,
    /// The bucket, for bucket and object operations.
    pub bucket: Option<BucketName>,
    /// The key, for object operations.
    pub key: Option<ObjectKey>,
}

/// How requests address buckets.
#[derive(Debug, Clone, Default)]
pub struct Addressing {
    /// Base domains for virtual-hosted-style requests (`bucket.s3.example.com`), lowercase,
    /// without port. Requests to any other host are path-style.
    pub domains: Vec<String>,
}

impl Addressing {
    /// Whether `host` is a bucket's virtual host under one of the domains.
    pub fn is_virtual_host(&self, host: &str) -> bool {
        self.bucket_from_host(&host.to_ascii_lowercase()).is_some()
    }

    /// The bucket named by the `Host` header, for a virtual-hosted-style request.
    fn bucket_from_host<'a>(&self, host: &'a str) -> Option<&'a str> {
        let host = host
            .rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(h, _)| h);
        self.domains.iter().find_map(|domain| {
            let bucket = host.strip_suffix(domain.as_str())?.strip_suffix('.')?;
            (!bucket.is_empty()).then_some(bucket)
        })
    }
}

/// Sub-resources of buckets that S3 defines and Depot does not serve yet: (query parameter,
/// the operation name after its verb).
const UNSUPPORTED_BUCKET_SUBRESOURCES: &[(&str, &str)] = &[
    ("accelerate", "BucketAccelerateConfiguration"),
    ("analytics", "BucketAnalyticsConfiguration"),
    ("cors", "BucketCors"),
    ("encryption", "BucketEncryption"),
    (
        "intelligent-tiering",
        "BucketIntelligentTieringConfiguration",
    ),
    ("inventory", "BucketInventoryConfiguration"),
    ("lifecycle", "BucketLifecycleConfiguration"),
    ("logging", "BucketLogging"),
    ("metrics", "BucketMetricsConfiguration"),
    ("notification", "BucketNotificationConfiguration"),
    ("object-lock", "ObjectLockConfiguration"),
    ("ownershipControls", "BucketOwnershipControls"),
    ("policy", "BucketPolicy"),
    ("policyStatus", "BucketPolicyStatus"),
    ("publicAccessBlock", "PublicAccessBlock"),
    ("requestPayment", "BucketRequestPayment"),
    ("tagging", "BucketTagging"),
    ("website", "BucketWebsite"),
];

/// Sub-resources of objects that Depot does not serve yet, the same way.
const UNSUPPORTED_OBJECT_SUBRESOURCES: &[(&str, &str)] = &[
    ("attributes", "ObjectAttributes"),
    ("legal-hold", "ObjectLegalHold"),
    ("retention", "ObjectRetention"),
    ("tagging", "ObjectTagging"),
    ("torrent", "ObjectTorrent"),
];

/// Object operations Depot does not serve yet whose AWS names carry no verb: (query
/// parameter, operation name).
const UNSUPPORTED_OBJECT_OPERATIONS: &[(&str, &str)] = &[
    ("restore", "RestoreObject"),
    ("select", "SelectObjectContent"),
];

fn unsupported(method: &Method, resource: &'static str) -> Endpoint {
    let verb = match *method {
        Method::GET | Method::HEAD => "Get",
        Method::PUT => "Put",
        Method::DELETE => "Delete",
        _ => "Post",
    };
    Endpoint::Unsupported { verb, resource }
}

/// Routes a request. `path` is the raw (percent-encoded) path, `query` the raw query.
pub fn route(
    addressing: &Addressing,
    method: &Method,
    host: Option<&str>,
    path: &str,
    query: &str,
    headers: &HeaderMap,
) -> S3Result<Route> {
    let params = Params::parse(query);

    let decoded = percent_decode_path(path)?;
    let virtual_bucket = host
        .map(str::to_ascii_lowercase)
        .and_then(|h| addressing.bucket_from_host(&h).map(str::to_owned));
    let (bucket, key) = match virtual_bucket {
        Some(bucket) => (
            Some(bucket),
            decoded.strip_prefix('/').unwrap_or(&decoded).to_owned(),
        ),
        None => {
            let rest = decoded.strip_prefix('/').unwrap_or(&decoded);
            match rest.split_once('/') {
                Some((bucket, key)) => (Some(bucket.to_owned()), key.to_owned()),
                None if rest.is_empty() => (None, String::new()),
                None => (Some(rest.to_owned()), String::new()),
            }
        }
    };

    let Some(bucket) = bucket else {
        if let Some(resource) = params.names().find(|k| k.starts_with("ostor-")) {
            return Ok(Route {
                endpoint: Endpoint::Ostor {
                    resource: resource.to_owned(),
                },
                bucket: None,
                key: None,
            });
        }
        return match *method {
            Method::GET | Method::HEAD => Ok(Route {
                endpoint: Endpoint::ListBuckets,
                bucket: None,
                key: None,
            }),
            _ => Err(s3_error!(MethodNotAllowed)),
        };
    };
    let bucket_name = parse_bucket(&bucket)?;

    if key.is_empty() {
        let endpoint = bucket_endpoint(method, &params, headers)?;
        return Ok(Route {
            endpoint,
            bucket: Some(bucket_name),
            key: None,
        });
    }
    let key = ObjectKey::from_str_checked(&key)?;
    let endpoint = object_endpoint(method, &params, headers)?;
    Ok(Route {
        endpoint,
        bucket: Some(bucket_name),
        key: Some(key),
    })
}

/// The decoded query parameters of a request, in order.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes a raw query string.
    pub fn parse(query: &str) -> Self {
        Self(
            query_pairs(query)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Whether the parameter is present, with or without a value.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// The first value of the parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The parameter names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
}

fn bucket_endpoint(method: &Method, params: &Params, headers: &HeaderMap) -> S3Result<Endpoint> {
    // Replication settings belong to the ostor admin API (they carry the remote endpoint's
    // credentials in `x-amz-geo-*` headers), served beside S3 like the `ostor-…` resources.
    if params.has("replication") {
        return Ok(Endpoint::Ostor {
            resource: "replication".to_owned(),
        });
    }
    if params.has("acl") {
        return match *method {
            Method::GET => Ok(Endpoint::GetBucketAcl),
            Method::PUT => Ok(Endpoint::PutBucketAcl),
            _ => Err(s3_error!(MethodNotAllowed)),
        };
    }
    if let Some(&(_, resource)) = UNSUPPORTED_BUCKET_SUBRESOURCES
        .iter()
        .find(|(parameter, _)| params.has(parameter))
    {
        return Ok(unsupported(method, resource));
    }
    Ok(match *method {
        Method::GET if params.has("location") => Endpoint::GetBucketLocation,
        Method::GET if params.has("versioning") => Endpoint::GetBucketVersioning,
        Method::GET if params.has("uploads") => Endpoint::ListMultipartUploads,
        Method::GET if params.has("versions") => Endpoint::ListObjectVersions,
        Method::GET if params.get("list-type") == Some("2") => Endpoint::ListObjectsV2,
        Method::GET if params.get("list-type").is_some() => {
            return Err(s3_error!(InvalidArgument, "Invalid list type"));
        }
        Method::GET => Endpoint::ListObjects,
        Method::HEAD => Endpoint::HeadBucket,
        Method::PUT if params.has("versioning") => unsupported(method, "BucketVersioning"),
        Method::PUT => Endpoint::CreateBucket,
        Method::DELETE => Endpoint::DeleteBucket,
        Method::POST if params.has("delete") => Endpoint::DeleteObjects,
        Method::POST
            if headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data")) =>
        {
            Endpoint::PostObject
        }
        _ => return Err(s3_error!(MethodNotAllowed)),
    })
}

fn object_endpoint(method: &Method, params: &Params, headers: &HeaderMap) -> S3Result<Endpoint> {
    if params.has("acl") {
        return match *method {
            Method::GET => Ok(Endpoint::GetObjectAcl),
            Method::PUT => Ok(Endpoint::PutObjectAcl),
            _ => Err(s3_error!(MethodNotAllowed)),
        };
    }
    if let Some(&(_, resource)) = UNSUPPORTED_OBJECT_SUBRESOURCES
        .iter()
        .find(|(parameter, _)| params.has(parameter))
    {
        return Ok(unsupported(method, resource));
    }
    if let Some(&(_, operation)) = UNSUPPORTED_OBJECT_OPERATIONS
        .iter()
        .find(|(parameter, _)| params.has(parameter))
    {
        return Ok(Endpoint::Unsupported {
            verb: "",
            resource: operation,
        });
    }
    let upload_id = params.get("uploadId").map(str::to_owned);
    let copy = headers.contains_key("x-amz-copy-source");
    Ok(match (method.clone(), upload_id) {
        (Method::GET, Some(upload_id)) => Endpoint::ListParts { upload_id },
        (Method::GET, None) => Endpoint::GetObject,
        (Method::HEAD, _) => Endpoint::HeadObject,
        (Method::PUT, Some(upload_id)) => {
            let part_number = part_number(params.get("partNumber"))?;
            if copy {
                Endpoint::UploadPartCopy {
                    part_number,
                    upload_id,
                }
            } else {
                Endpoint::UploadPart {
                    part_number,
                    upload_id,
                }
            }
        }
        (Method::PUT, None) if copy => Endpoint::CopyObject,
        (Method::PUT, None) => Endpoint::PutObject,
        (Method::POST, None) if params.has("uploads") => Endpoint::CreateMultipartUpload,
        (Method::POST, Some(upload_id)) => Endpoint::CompleteMultipartUpload { upload_id },
        (Method::DELETE, Some(upload_id)) => Endpoint::AbortMultipartUpload { upload_id },
        (Method::DELETE, None) => Endpoint::DeleteObject,
        _ => return Err(s3_error!(MethodNotAllowed)),
    })
}

fn part_number(value: Option<&str>) -> S3Result<u16> {
    value
        .and_then(|v| v.parse::<u16>().ok())
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive"
            )
        })
}

fn parse_bucket(name: &str) -> S3Result<BucketName> {
    name.parse::<BucketName>().map_err(|e: BucketNameError| {
        S3Error::with_message(
            S3ErrorCode::InvalidBucketName,
            format!("The specified bucket is not valid: {e}"),
        )
        .detail("BucketName", name)
    })
}

trait ObjectKeyExt: Sized {
    fn from_str_checked(key: &str) -> S3Result<Self>;
}

impl ObjectKeyExt for ObjectKey {
    fn from_str_checked(key: &str) -> S3Result<Self> {
        key.parse::<ObjectKey>()
            .map_err(|e: ObjectKeyError| match e {
                ObjectKeyError::TooLong { .. } => s3_error!(KeyTooLongError),
                other => s3_error!(InvalidArgument, "Invalid object key: {other}"),
            })
    }
}

/// Decodes `%XX` in a path (a `+` stays a `+`: only queries use it for spaces). The result must
/// be UTF-8, as S3 keys are.
fn percent_decode_path(path: &str) -> S3Result<String> {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| s3_error!(InvalidArgument, "The URI is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(method: Method, host: &str, target: &str, headers: &[(&str, &str)]) -> S3Result<Route> {
        let addressing = Addressing {
            domains: vec!["s3.example.com".into()],
        };
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        route(&addressing, &method, Some(host), path, query, &map)
    }

    #[test]
    fn path_and_virtual_hosted_addressing_agree() {
        let path = go(Method::GET, "127.0.0.1:9000", "/bucket/dir/a%20b+c", &[]).unwrap();
        let virtual_hosted = go(
            Method::GET,
            "bucket.s3.example.com:9000",
            "/dir/a%20b+c",
            &[],
        )
        .unwrap();
        assert_eq!(path, virtual_hosted);
        assert_eq!(path.endpoint, Endpoint::GetObject);
        assert_eq!(path.key.unwrap().as_str(), "dir/a b+c");
        assert_eq!(
            go(Method::GET, "s3.example.com", "/", &[])
                .unwrap()
                .endpoint,
            Endpoint::ListBuckets
        );
        assert_eq!(
            go(Method::GET, "bucket.s3.example.com", "/", &[])
                .unwrap()
                .endpoint,
            Endpoint::ListObjects
        );
    }

    #[test]
    fn operations_are_told_apart() {
        let cases = [
            (Method::PUT, "/bkt", vec![], Endpoint::CreateBucket),
            (
                Method::GET,
                "/bkt?list-type=2&prefix=a",
                vec![],
                Endpoint::ListObjectsV2,
            ),
            (
                Method::GET,
                "/bkt?location",
                vec![],
                Endpoint::GetBucketLocation,
            ),
            (
                Method::GET,
                "/bkt?uploads",
                vec![],
                Endpoint::ListMultipartUploads,
            ),
            (
                Method::GET,
                "/bkt?versions",
                vec![],
                Endpoint::ListObjectVersions,
            ),
            (Method::POST, "/bkt?delete", vec![], Endpoint::DeleteObjects),
            (
                Method::POST,
                "/bkt/k?uploads",
                vec![],
                Endpoint::CreateMultipartUpload,
            ),
            (
                Method::PUT,
                "/bkt/k?partNumber=3&uploadId=u",
                vec![],
                Endpoint::UploadPart {
                    part_number: 3,
                    upload_id: "u".into(),
                },
            ),
            (
                Method::PUT,
                "/bkt/k?partNumber=3&uploadId=u",
                vec![("x-amz-copy-source", "/s/k")],
                Endpoint::UploadPartCopy {
                    part_number: 3,
                    upload_id: "u".into(),
                },
            ),
            (
                Method::PUT,
                "/bkt/k",
                vec![("x-amz-copy-source", "/s/k")],
                Endpoint::CopyObject,
            ),
            (
                Method::POST,
                "/bkt/k?uploadId=u",
                vec![],
                Endpoint::CompleteMultipartUpload {
                    upload_id: "u".into(),
                },
            ),
            (
                Method::DELETE,
                "/bkt/k?uploadId=u",
                vec![],
                Endpoint::AbortMultipartUpload {
                    upload_id: "u".into(),
                },
            ),
            (
                Method::GET,
                "/bkt/k?uploadId=u",
                vec![],
                Endpoint::ListParts {
                    upload_id: "u".into(),
                },
            ),
            (
                Method::POST,
                "/bkt",
                vec![("content-type", "multipart/form-data; boundary=x")],
                Endpoint::PostObject,
            ),
            (
                Method::GET,
                "/?ostor-users",
                vec![],
                Endpoint::Ostor {
                    resource: "ostor-users".into(),
                },
            ),
        ];
        for (method, target, headers, expected) in cases {
            assert_eq!(
                go(method, "localhost", target, &headers).unwrap().endpoint,
                expected,
                "{target}"
            );
        }
    }

    #[test]
    fn bad_addresses_get_their_s3_errors() {
        let code = |r: S3Result<Route>| r.unwrap_err().code;
        assert_eq!(
            code(go(Method::GET, "h", "/Bad_Bucket/k", &[])),
            S3ErrorCode::InvalidBucketName
        );
        assert_eq!(
            code(go(
                Method::GET,
                "h",
                &format!("/bkt/{}", "k".repeat(1025)),
                &[]
            )),
            S3ErrorCode::KeyTooLongError
        );
        assert_eq!(
            code(go(Method::PUT, "h", "/bkt/k?partNumber=0&uploadId=u", &[])),
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(go(
                Method::PUT,
                "h",
                "/bkt/k?partNumber=10001&uploadId=u",
                &[]
            )),
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(go(Method::GET, "h", "/bkt/%FF", &[])),
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(go(Method::POST, "h", "/", &[])),
            S3ErrorCode::MethodNotAllowed
        );
        assert_eq!(
            go(Method::PUT, "h", "/bkt?cors", &[]).unwrap().endpoint,
            Endpoint::Unsupported {
                verb: "Put",
                resource: "BucketCors"
            }
        );
        assert_eq!(
            go(Method::DELETE, "h", "/bkt/key?tagging", &[])
                .unwrap()
                .endpoint
                .describe(),
            "DeleteObjectTagging"
        );
        assert_eq!(
            go(Method::POST, "h", "/bkt/key?restore", &[])
                .unwrap()
                .endpoint
                .describe(),
            "RestoreObject"
        );
        // A key that looks like a path escape is just a key.
        assert_eq!(
            go(Method::GET, "h", "/bkt/../../etc/passwd", &[])
                .unwrap()
                .key
                .unwrap()
                .as_str(),
            "../../etc/passwd"
        );
    }
}
