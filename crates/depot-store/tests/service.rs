//! The S3 service in process: signed requests in, S3 responses out, on SQLite and a temporary
//! data directory. Real clients are exercised end to end by `cargo xtask e2e`.

use std::time::SystemTime;

use bytes::Bytes;
use depot_domain::{BucketRef, Email, UsageCounters, UsageKey};
use depot_engine::{Engine, EngineConfig};
use depot_sigv4::{
    ChunkSigner, Credentials, PayloadMode, SignableBody, SigningParams, sign_request,
};
use depot_store::{Addressing, S3Service, StoreConfig};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};

struct App {
    service: S3Service,
    engine: Engine,
    root: Credentials,
    _dir: tempfile::TempDir,
}

async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::embedded(dir.path());
    let engine = Engine::open(config).await.unwrap();
    let root = engine
        .ensure_root_user(
            &"root@depot.test".parse::<Email>().unwrap(),
            Some((
                "ROOTACCESSKEY0000000",
                "rootsecretrootsecretrootsecretrootsecret",
            )),
        )
        .await
        .unwrap();
    assert!(root.created);
    let service = S3Service::new(
        engine.clone(),
        StoreConfig {
            addressing: Addressing {
                domains: vec!["s3.depot.test".into()],
            },
            region: "us-east-1".into(),
        },
    );
    App {
        service,
        engine,
        root: Credentials::new(
            "ROOTACCESSKEY0000000",
            "rootsecretrootsecretrootsecretrootsecret",
        ),
        _dir: dir,
    }
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn error_code(&self) -> String {
        let text = self.text();
        text.split("<Code>")
            .nth(1)
            .and_then(|r| r.split("</Code>").next())
            .unwrap_or("")
            .to_owned()
    }
}

async fn reply(response: Response<depot_store::ResponseBody>) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

impl App {
    async fn send(
        &self,
        credentials: Option<&Credentials>,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://127.0.0.1:9000{target}"));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let mut request = request.header("host", "127.0.0.1:9000").body(()).unwrap();
        if let Some(credentials) = credentials {
            let params = SigningParams::s3(credentials, "us-east-1", SystemTime::now());
            sign_request(&mut request, SignableBody::Bytes(body), &params).unwrap();
        }
        let (parts, ()) = request.into_parts();
        let request = Request::from_parts(parts, Full::new(Bytes::copy_from_slice(body)));
        reply(self.service.handle(request).await).await
    }

    async fn root(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        self.send(Some(&self.root.clone()), method, target, headers, body)
            .await
    }
}

#[tokio::test]
async fn bucket_and_object_round_trip() {
    let app = app().await;
    assert_eq!(
        app.root("PUT", "/photos", &[], b"").await.status,
        StatusCode::OK
    );
    let again = app.root("PUT", "/photos", &[], b"").await;
    assert_eq!(
        (again.status, again.error_code().as_str()),
        (StatusCode::CONFLICT, "BucketAlreadyOwnedByYou")
    );
    assert_eq!(
        app.root("HEAD", "/photos", &[], b"").await.status,
        StatusCode::OK
    );
    let listed = app.root("GET", "/", &[], b"").await;
    assert!(
        listed.text().contains("<Name>photos</Name>"),
        "{}",
        listed.text()
    );

    let put = app
        .root(
            "PUT",
            "/photos/dir/cat%20one.jpg",
            &[
                ("content-type", "image/jpeg"),
                ("x-amz-meta-colour", "tabby"),
            ],
            b"meow meow",
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    assert_eq!(
        put.headers["etag"], "\"250774fb0ad3ac59de43e002d61e0fbe\"",
        "the quoted MD5 of the body"
    );

    let got = app.root("GET", "/photos/dir/cat%20one.jpg", &[], b"").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(&got.body[..], b"meow meow");
    assert_eq!(got.headers["content-type"], "image/jpeg");
    assert_eq!(got.headers["x-amz-meta-colour"], "tabby");
    assert!(got.headers.contains_key("x-amz-request-id"));

    let range = app
        .root(
            "GET",
            "/photos/dir/cat%20one.jpg",
            &[("range", "bytes=5-")],
            b"",
        )
        .await;
    assert_eq!(
        (range.status, &range.body[..]),
        (StatusCode::PARTIAL_CONTENT, &b"meow"[..])
    );
    assert_eq!(range.headers["content-range"], "bytes 5-8/9");
    let bad_range = app
        .root(
            "GET",
            "/photos/dir/cat%20one.jpg",
            &[("range", "bytes=9-")],
            b"",
        )
        .await;
    assert_eq!(
        (bad_range.status, bad_range.error_code().as_str()),
        (StatusCode::RANGE_NOT_SATISFIABLE, "InvalidRange")
    );

    let listing = app
        .root("GET", "/photos?list-type=2&delimiter=/", &[], b"")
        .await;
    assert!(
        listing
            .text()
            .contains("<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes>"),
        "{}",
        listing.text()
    );
    assert!(listing.text().contains("<KeyCount>1</KeyCount>"));

    let not_empty = app.root("DELETE", "/photos", &[], b"").await;
    assert_eq!(not_empty.error_code(), "BucketNotEmpty");
    assert_eq!(
        app.root("DELETE", "/photos/dir/cat%20one.jpg", &[], b"")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let missing = app.root("GET", "/photos/dir/cat%20one.jpg", &[], b"").await;
    assert_eq!(
        (missing.status, missing.error_code().as_str()),
        (StatusCode::NOT_FOUND, "NoSuchKey")
    );
    assert!(
        missing
            .text()
            .contains("<Resource>/photos/dir/cat one.jpg</Resource>"),
        "{}",
        missing.text()
    );
    assert_eq!(
        app.root("DELETE", "/photos", &[], b"").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.root("HEAD", "/photos", &[], b"").await.status,
        StatusCode::NOT_FOUND
    );
}

fn hex_md5(data: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(data))
}

#[tokio::test]
async fn who_may_ask() {
    let app = app().await;
    app.root("PUT", "/private", &[], b"").await;
    let anonymous = app.send(None, "GET", "/private", &[], b"").await;
    assert_eq!(
        (anonymous.status, anonymous.error_code().as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied")
    );
    let wrong = Credentials::new("ROOTACCESSKEY0000000", "not the secret");
    let reply = app.send(Some(&wrong), "GET", "/private", &[], b"").await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch")
    );
    let unknown = Credentials::new("NOSUCHKEY00000000000", "x");
    assert_eq!(
        app.send(Some(&unknown), "GET", "/private", &[], b"")
            .await
            .error_code(),
        "InvalidAccessKeyId"
    );

    // Another user's key cannot touch the bucket, and learns only AccessDenied.
    let user = app
        .engine
        .create_user(&"other@depot.test".parse().unwrap(), false)
        .await
        .unwrap();
    let keys = app.engine.create_access_key(user.id, None).await.unwrap();
    let other = Credentials::new(
        keys.access_key_id.to_string(),
        keys.secret_access_key.expose_secret(),
    );
    let denied = app
        .send(Some(&other), "GET", "/private?list-type=2", &[], b"")
        .await;
    assert_eq!(
        (denied.status, denied.error_code().as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied")
    );
    let put = app.send(Some(&other), "PUT", "/private/k", &[], b"x").await;
    assert_eq!(put.error_code(), "AccessDenied");
    assert_eq!(
        app.send(Some(&other), "PUT", "/theirs", &[], b"")
            .await
            .status,
        StatusCode::OK
    );
    let taken = app.root("PUT", "/theirs", &[], b"").await;
    assert_eq!(
        (taken.status, taken.error_code().as_str()),
        (StatusCode::CONFLICT, "BucketAlreadyExists")
    );
}

/// Counts the app's requests in a fresh meter (an hour per period).
fn count_usage(app: &mut App) -> std::sync::Arc<depot_engine::UsageMeter> {
    let meter = std::sync::Arc::new(
        depot_engine::UsageMeter::new(
            app.engine.clone(),
            depot_engine::UsageMeterConfig {
                service: depot_domain::ServiceId::new(1).unwrap(),
                period_seconds: 3600,
            },
        )
        .unwrap(),
    );
    app.service = app.service.clone().with_usage(meter.clone());
    meter
}

async fn root_user(app: &App) -> depot_domain::UserId {
    app.engine
        .access_key("ROOTACCESSKEY0000000")
        .await
        .unwrap()
        .unwrap()
        .user_id
}

/// Closes the meter and sums what it wrote, per key: the requests may straddle the end of a
/// period.
async fn usage_totals(
    app: &App,
    meter: &depot_engine::UsageMeter,
) -> std::collections::BTreeMap<UsageKey, UsageCounters> {
    assert!(meter.close().await.unwrap() >= 1);
    let mut totals = std::collections::BTreeMap::<UsageKey, UsageCounters>::new();
    for name in app.engine.usage_report_names(10).await.unwrap().0 {
        for (key, counters) in app.engine.usage_report(&name).await.unwrap().items {
            totals.entry(key).or_default().merge(&counters);
        }
    }
    totals
}

/// The head of a PUT to `target` signed by root with an `UNSIGNED-PAYLOAD` body.
fn unsigned_put(app: &App, target: &str, headers: &[(&str, &str)]) -> http::request::Parts {
    let mut request = Request::builder()
        .method("PUT")
        .uri(format!("http://127.0.0.1:9000{target}"))
        .header("host", "127.0.0.1:9000");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(()).unwrap();
    let params = SigningParams::s3(&app.root, "us-east-1", SystemTime::now());
    sign_request(
        &mut request,
        SignableBody::Mode(PayloadMode::Unsigned),
        &params,
    )
    .unwrap();
    request.into_parts().0
}

/// A body that sends `first` and then nothing more, as a client that stalls and goes away.
struct Stalling {
    first: Option<Bytes>,
}

impl http_body::Body for Stalling {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        match self.first.take() {
            Some(data) => std::task::Poll::Ready(Some(Ok(http_body::Frame::data(data)))),
            None => std::task::Poll::Pending,
        }
    }
}

/// A request dropped before it answers — the client went away mid-upload, or reset its
/// HTTP/2 stream — is still counted once, with the bytes it sent.
#[tokio::test]
async fn usage_counts_a_request_abandoned_mid_upload() {
    let mut app = app().await;
    let meter = count_usage(&mut app);
    let root_id = root_user(&app).await;
    assert_eq!(
        app.root("PUT", "/stalled", &[], b"").await.status,
        StatusCode::OK
    );
    let parts = unsigned_put(&app, "/stalled/k", &[("content-length", "5000")]);
    let body = Stalling {
        first: Some(Bytes::from(vec![b'x'; 1_000])),
    };
    let handled = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        app.service.handle(Request::from_parts(parts, body)),
    )
    .await;
    assert!(
        handled.is_err(),
        "the request waits for the rest of its body"
    );

    let epoch = app
        .engine
        .bucket_identity(&"stalled".parse().unwrap())
        .await
        .unwrap()
        .epoch;
    let key = UsageKey {
        user: root_id,
        bucket: Some(BucketRef {
            name: "stalled".parse().unwrap(),
            epoch: u64::try_from(epoch).unwrap(),
        }),
    };
    let counted = UsageCounters {
        ops_put: 1,
        ops_other: 1,
        bytes_uploaded: 1_000,
        ..UsageCounters::ZERO
    };
    assert_eq!(
        usage_totals(&app, &meter).await,
        std::collections::BTreeMap::from([(key, counted)])
    );
}

/// Every signed request is counted once, under its user and the bucket incarnation it
/// addressed, with the payload bytes it sent and the body bytes it got back; requests that
/// prove no identity are not counted.
#[tokio::test]
async fn usage_counts_every_signed_request_once() {
    let mut app = app().await;
    let meter = count_usage(&mut app);
    let root_id = root_user(&app).await;

    let mut in_bucket = UsageCounters::ZERO;
    let mut outside = UsageCounters::ZERO;
    assert_eq!(
        app.root("PUT", "/metered", &[], b"").await.status,
        StatusCode::OK
    );
    in_bucket.ops_other += 1;
    let data = vec![b'u'; 1_000];
    assert_eq!(
        app.root("PUT", "/metered/a", &[], &data).await.status,
        StatusCode::OK
    );
    in_bucket.ops_put += 1;
    in_bucket.bytes_uploaded += 1_000;
    let got = app.root("GET", "/metered/a", &[], b"").await;
    assert_eq!(got.body.len(), 1_000);
    in_bucket.ops_get += 1;
    in_bucket.bytes_downloaded += 1_000;
    let ranged = app
        .root("GET", "/metered/a", &[("range", "bytes=0-9")], b"")
        .await;
    assert_eq!(ranged.body.len(), 10);
    in_bucket.ops_get += 1;
    in_bucket.bytes_downloaded += 10;
    app.root("HEAD", "/metered/a", &[], b"").await;
    in_bucket.ops_get += 1;
    let listed = app.root("GET", "/metered?list-type=2", &[], b"").await;
    in_bucket.ops_list += 1;
    in_bucket.bytes_downloaded += listed.body.len() as u64;
    // An error is a request too, its document the bytes it sent.
    let missing = app.root("GET", "/metered/missing", &[], b"").await;
    assert_eq!(missing.error_code(), "NoSuchKey");
    in_bucket.ops_get += 1;
    in_bucket.bytes_downloaded += missing.body.len() as u64;
    assert_eq!(
        app.root("DELETE", "/metered/a", &[], b"").await.status,
        StatusCode::NO_CONTENT
    );
    in_bucket.ops_other += 1;
    let buckets = app.root("GET", "/", &[], b"").await;
    outside.ops_list += 1;
    outside.bytes_downloaded += buckets.body.len() as u64;
    // A bucket that does not exist is counted under its name with epoch 0, and so is a
    // request that ended before it looked the bucket up: creating one that exists.
    let nowhere = app.root("GET", "/nowhere/k", &[], b"").await;
    assert_eq!(nowhere.error_code(), "NoSuchBucket");
    let again = app.root("PUT", "/metered", &[], b"").await;
    assert_eq!(again.error_code(), "BucketAlreadyOwnedByYou");

    // Anonymous and badly signed requests name nobody to count them for.
    app.send(None, "GET", "/metered/a", &[], b"").await;
    let wrong = Credentials::new("ROOTACCESSKEY0000000", "not the secret");
    app.send(Some(&wrong), "PUT", "/metered/b", &[], b"xyz")
        .await;

    let totals = usage_totals(&app, &meter).await;
    let epoch = u64::try_from(
        app.engine
            .bucket_identity(&"metered".parse().unwrap())
            .await
            .unwrap()
            .epoch,
    )
    .unwrap();
    let key = |bucket: Option<(&str, u64)>| UsageKey {
        user: root_id,
        bucket: bucket.map(|(name, epoch)| BucketRef {
            name: name.parse().unwrap(),
            epoch,
        }),
    };
    let nowhere_counters = UsageCounters {
        ops_get: 1,
        bytes_downloaded: nowhere.body.len() as u64,
        ..UsageCounters::ZERO
    };
    let again_counters = UsageCounters {
        ops_other: 1,
        bytes_downloaded: again.body.len() as u64,
        ..UsageCounters::ZERO
    };
    let expected = std::collections::BTreeMap::from([
        (key(None), outside),
        (key(Some(("metered", epoch))), in_bucket),
        (key(Some(("metered", 0))), again_counters),
        (key(Some(("nowhere", 0))), nowhere_counters),
    ]);
    assert_eq!(totals, expected);
}

#[tokio::test]
async fn a_bad_digest_stores_nothing() {
    let app = app().await;
    app.root("PUT", "/digest-bucket", &[], b"").await;
    let bad = app
        .root(
            "PUT",
            "/digest-bucket/k",
            &[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")],
            b"not empty",
        )
        .await;
    assert_eq!(
        (bad.status, bad.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "BadDigest")
    );
    assert_eq!(
        app.root("HEAD", "/digest-bucket/k", &[], b"").await.status,
        StatusCode::NOT_FOUND
    );
    let invalid = app
        .root("PUT", "/digest-bucket/k", &[("content-md5", "nope")], b"x")
        .await;
    assert_eq!(invalid.error_code(), "InvalidDigest");
}

#[tokio::test]
async fn aws_chunked_uploads_are_decoded_and_verified() {
    let app = app().await;
    app.root("PUT", "/chunks", &[], b"").await;
    let payload = vec![b'z'; 100_000];
    let mut request = Request::builder()
        .method("PUT")
        .uri("http://127.0.0.1:9000/chunks/big")
        .header("host", "127.0.0.1:9000")
        .header("content-encoding", "aws-chunked")
        .header("x-amz-decoded-content-length", payload.len().to_string())
        .body(())
        .unwrap();
    let params = SigningParams::s3(&app.root, "us-east-1", SystemTime::now());
    let seed = sign_request(
        &mut request,
        SignableBody::Mode(PayloadMode::StreamingSigned),
        &params,
    )
    .unwrap();
    let mut signer = ChunkSigner::new(&seed);
    let mut body = Vec::new();
    for chunk in payload.chunks(65_536) {
        body.extend(signer.encode_chunk(chunk));
    }
    body.extend(signer.encode_chunk(&[]));
    let (parts, ()) = request.into_parts();
    let response = reply(
        app.service
            .handle(Request::from_parts(
                parts.clone(),
                Full::new(Bytes::from(body.clone())),
            ))
            .await,
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let got = app.root("GET", "/chunks/big", &[], b"").await;
    assert_eq!(got.body.len(), payload.len());
    assert!(!got.headers.contains_key("content-encoding"));

    // A flipped byte breaks a chunk signature, and nothing replaces the stored object.
    body[100] ^= 1;
    let tampered = reply(
        app.service
            .handle(Request::from_parts(parts, Full::new(Bytes::from(body))))
            .await,
    )
    .await;
    assert_eq!(tampered.error_code(), "SignatureDoesNotMatch");
    assert_eq!(
        app.root("GET", "/chunks/big", &[], b"").await.body.len(),
        payload.len()
    );
}

/// A request body that yields some bytes and then fails, as a client that disconnects.
struct Disconnecting {
    sent: bool,
}

impl http_body::Body for Disconnecting {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        if self.sent {
            return std::task::Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "client went away",
            ))));
        }
        self.sent = true;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(vec![
            b'x';
            64 * 1024
        ])))))
    }
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[tokio::test]
async fn bad_input_gets_its_s3_error_and_leaves_nothing_behind() {
    let app = app().await;
    app.root("PUT", "/hostile", &[], b"").await;
    let blobs_before = files_under(app._dir.path()).len();

    // Malformed and oversized XML.
    let md5 = |b: &[u8]| {
        use base64::Engine as _;
        use md5::Digest;
        base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(b))
    };
    for body in [
        &b"<Delete><Object><Key>a</Key>"[..],
        b"not xml",
        b"<Delete></Delete>",
    ] {
        let answer = app
            .root(
                "POST",
                "/hostile?delete",
                &[("content-md5", &md5(body))],
                body,
            )
            .await;
        assert_eq!(
            (answer.status, answer.error_code().as_str()),
            (StatusCode::BAD_REQUEST, "MalformedXML"),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    let missing_md5 = app
        .root(
            "POST",
            "/hostile?delete",
            &[],
            b"<Delete><Object><Key>a</Key></Object></Delete>",
        )
        .await;
    assert_eq!(missing_md5.error_code(), "InvalidRequest");
    let huge = vec![b' '; 9 << 20];
    let answer = app
        .root(
            "POST",
            "/hostile?delete",
            &[("content-md5", &md5(&huge))],
            &huge,
        )
        .await;
    assert_eq!(answer.error_code(), "MaxMessageLengthExceeded");
    let upload = app.root("POST", "/hostile/mp?uploads", &[], b"").await;
    let upload_id = upload
        .text()
        .split("<UploadId>")
        .nth(1)
        .unwrap()
        .split("</UploadId>")
        .next()
        .unwrap()
        .to_owned();
    let complete = app
        .root(
            "POST",
            &format!("/hostile/mp?uploadId={upload_id}"),
            &[],
            b"<CompleteMultipartUpload><Part>",
        )
        .await;
    assert_eq!(complete.error_code(), "MalformedXML");
    let bad_part = app
        .root("POST", &format!("/hostile/mp?uploadId={upload_id}"), &[], b"<CompleteMultipartUpload><Part><PartNumber>99999</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>")
        .await;
    assert_eq!(bad_part.error_code(), "InvalidArgument");
    let no_upload = app.root("GET", "/hostile/mp?uploadId=nope", &[], b"").await;
    assert_eq!(
        (no_upload.status, no_upload.error_code().as_str()),
        (StatusCode::NOT_FOUND, "NoSuchUpload")
    );
    assert_eq!(
        app.root(
            "DELETE",
            &format!("/hostile/mp?uploadId={upload_id}"),
            &[],
            b""
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );

    // A body shorter than its Content-Length.
    let truncated = app
        .root(
            "PUT",
            "/hostile/short",
            &[("x-amz-decoded-content-length", "100")],
            b"only ten b",
        )
        .await;
    assert_eq!(
        (truncated.status, truncated.error_code()),
        (StatusCode::BAD_REQUEST, "IncompleteBody".to_owned()),
        "{}",
        truncated.text()
    );
    assert_eq!(
        app.root("HEAD", "/hostile/short", &[], b"").await.status,
        StatusCode::NOT_FOUND
    );

    // A client that disconnects mid-upload.
    let parts = unsigned_put(&app, "/hostile/cut", &[]);
    let cut = reply(
        app.service
            .handle(Request::from_parts(parts, Disconnecting { sent: false }))
            .await,
    )
    .await;
    assert_eq!(cut.error_code(), "IncompleteBody", "{}", cut.text());
    assert_eq!(
        app.root("HEAD", "/hostile/cut", &[], b"").await.status,
        StatusCode::NOT_FOUND
    );

    // Keys that look like paths are keys; nothing lands outside the data directory.
    for key in [
        "../../etc/passwd",
        "..%2F..%2Fescape",
        "a/./b/../c",
        "%00nul",
    ] {
        let put = app
            .root("PUT", &format!("/hostile/{key}"), &[], b"contained")
            .await;
        assert_eq!(put.status, StatusCode::OK, "{key}: {}", put.text());
        assert_eq!(
            &app.root("GET", &format!("/hostile/{key}"), &[], b"")
                .await
                .body[..],
            b"contained",
            "{key}"
        );
        app.root("DELETE", &format!("/hostile/{key}"), &[], b"")
            .await;
    }
    // No part of any key became part of a path: every file is one the engine named.
    let escaped = app._dir.path().parent().map(|parent| parent.join("escape"));
    assert!(escaped.is_some_and(|escaped| !escaped.exists()));
    for path in files_under(app._dir.path()) {
        let relative = path
            .strip_prefix(app._dir.path())
            .expect("under the directory");
        let text = relative.to_string_lossy();
        assert!(
            !["passwd", "escape", "nul", ".."]
                .iter()
                .any(|part| text.contains(part)),
            "{text}"
        );
    }

    // Invalid names and ranges.
    assert_eq!(
        app.root("PUT", "/a", &[], b"").await.error_code(),
        "InvalidBucketName"
    );
    assert_eq!(
        app.root("PUT", &format!("/hostile/{}", "k".repeat(1025)), &[], b"x")
            .await
            .error_code(),
        "KeyTooLongError"
    );
    app.root("PUT", "/hostile/r", &[], b"0123456789").await;
    assert_eq!(
        app.root("GET", "/hostile/r", &[("range", "bytes=10-20")], b"")
            .await
            .error_code(),
        "InvalidRange"
    );
    // A Range S3 cannot parse is ignored: the whole object.
    assert_eq!(
        app.root("GET", "/hostile/r", &[("range", "bytes=5-1")], b"")
            .await
            .body
            .len(),
        10
    );
    app.root("DELETE", "/hostile/r", &[], b"").await;

    // Nothing was left behind: the data directory holds what it held before (database files
    // may have grown; no blob or staging file remains).
    let leftovers: Vec<_> = files_under(app._dir.path())
        .into_iter()
        .filter_map(|p| {
            p.strip_prefix(app._dir.path())
                .ok()
                .map(std::path::Path::to_path_buf)
        })
        .filter(|p| {
            p.components()
                .any(|c| c.as_os_str() == "blobs" || c.as_os_str() == "tmp")
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "left behind: {leftovers:?} (had {blobs_before} files)"
    );
}

// ---- multipart checksums ----

/// The checksum of `data` in base64, as S3 prints it.
fn checksum_of(algorithm: depot_sigv4::ChecksumAlgorithm, data: &[u8]) -> String {
    let mut checksummer = depot_sigv4::Checksummer::new(algorithm);
    checksummer.update(data);
    checksummer.finalize_base64()
}

fn element<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.split(&format!("<{name}>"))
        .nth(1)
        .and_then(|rest| rest.split(&format!("</{name}>")).next())
}

fn complete_document(parts: &[(u16, &str, &str)]) -> Vec<u8> {
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (number, etag, extra) in parts {
        xml.push_str(&format!(
            "<Part><PartNumber>{number}</PartNumber><ETag>\"{etag}\"</ETag>{extra}</Part>"
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    xml.into_bytes()
}

impl App {
    async fn create_upload(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.root("POST", &format!("{path}?uploads"), headers, b"")
            .await
    }

    async fn upload_id(&self, path: &str, headers: &[(&str, &str)]) -> String {
        let created = self.create_upload(path, headers).await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text());
        element(&created.text(), "UploadId").unwrap().to_owned()
    }
}

#[tokio::test]
async fn composite_checksums_of_a_multipart_upload() {
    use depot_sigv4::ChecksumAlgorithm::{Crc32, Sha256};
    let app = app().await;
    app.root("PUT", "/sums", &[], b"").await;
    let created = app
        .create_upload("/sums/obj", &[("x-amz-checksum-algorithm", "SHA256")])
        .await;
    assert_eq!(created.headers["x-amz-checksum-algorithm"], "SHA256");
    assert_eq!(created.headers["x-amz-checksum-type"], "COMPOSITE");
    let upload_id = element(&created.text(), "UploadId").unwrap().to_owned();
    let part = |number: u16| format!("/sums/obj?partNumber={number}&uploadId={upload_id}");

    // Every part of a composite upload comes with a checksum of the upload's algorithm.
    let one = vec![b'1'; 5 << 20];
    let two = b"the last part".to_vec();
    let bare = app.root("PUT", &part(1), &[], &one).await;
    assert_eq!(
        (bare.status, bare.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "InvalidRequest")
    );
    assert!(
        bare.text().contains(
            "Checksum Type mismatch occurred, expected checksum Type: sha256, actual checksum Type: null"
        ),
        "{}",
        bare.text()
    );
    let crc = checksum_of(Crc32, &one);
    let other = app
        .root("PUT", &part(1), &[("x-amz-checksum-crc32", &crc)], &one)
        .await;
    assert!(
        other.text().contains("actual checksum Type: crc32"),
        "{}",
        other.text()
    );
    let wrong = checksum_of(Sha256, b"something else");
    let bad = app
        .root("PUT", &part(1), &[("x-amz-checksum-sha256", &wrong)], &one)
        .await;
    assert_eq!(bad.error_code(), "BadDigest");
    let (sum1, sum2) = (checksum_of(Sha256, &one), checksum_of(Sha256, &two));
    let up1 = app
        .root("PUT", &part(1), &[("x-amz-checksum-sha256", &sum1)], &one)
        .await;
    assert_eq!(up1.status, StatusCode::OK, "{}", up1.text());
    assert_eq!(up1.headers["x-amz-checksum-sha256"], sum1.as_str());
    let up2 = app
        .root("PUT", &part(2), &[("x-amz-checksum-sha256", &sum2)], &two)
        .await;
    assert_eq!(up2.status, StatusCode::OK, "{}", up2.text());

    let listed = app
        .root("GET", &format!("/sums/obj?uploadId={upload_id}"), &[], b"")
        .await
        .text();
    assert_eq!(element(&listed, "ChecksumAlgorithm"), Some("SHA256"));
    assert_eq!(element(&listed, "ChecksumType"), Some("COMPOSITE"));
    assert!(
        listed.contains(&format!(
            "<Size>{}</Size><ChecksumSHA256>{sum1}</ChecksumSHA256></Part>",
            one.len()
        )),
        "{listed}"
    );

    let (e1, e2) = (hex_md5(&one), hex_md5(&two));
    let with = |sum: &str| format!("<ChecksumSHA256>{sum}</ChecksumSHA256>");
    let (c1, c2) = (with(&sum1), with(&sum2));
    let raw = |sum: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(sum)
            .unwrap()
    };
    let composite = format!(
        "{}-2",
        checksum_of(Sha256, &[raw(&sum1), raw(&sum2)].concat())
    );
    let target = format!("/sums/obj?uploadId={upload_id}");
    /// A completion document, its headers, and the error code and message it gets.
    type Refusal<'a> = (Vec<u8>, Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let refused: [Refusal<'_>; 9] = [
        (
            complete_document(&[(1, &e1, &c1), (2, &e2, "")]),
            vec![],
            "InvalidRequest",
            "The upload was created using a sha256 checksum. The complete request must include the checksum for each part. It was missing for part 2 in the request.",
        ),
        (
            complete_document(&[(1, &e1, &c1), (2, &e2, &c1)]),
            vec![],
            "InvalidPart",
            "One or more of the specified parts could not be found",
        ),
        (
            complete_document(&[
                (1, &e1, &c1),
                (2, &e2, "<ChecksumSHA256>not base64!</ChecksumSHA256>"),
            ]),
            vec![],
            "InvalidPart",
            "One or more of the specified parts could not be found",
        ),
        (
            complete_document(&[
                (1, &e1, &c1),
                (2, &e2, &format!("<ChecksumCRC32>{crc}</ChecksumCRC32>")),
            ]),
            vec![],
            "BadDigest",
            "The crc32 you specified for part 2 did not match what we received.",
        ),
        // With checksums, part numbers run 1, 2, 3… (CompletedPart, S3 API reference).
        (
            complete_document(&[(2, &e2, &c2)]),
            vec![],
            "InvalidPartOrder",
            "not in ascending order",
        ),
        (
            complete_document(&[(1, &e1, &c1), (2, &e2, &c2)]),
            vec![("x-amz-checksum-type", "FULL_OBJECT")],
            "BadDigest",
            "The upload was created using the COMPOSITE checksum mode. The complete request must use the same checksum mode.",
        ),
        (
            complete_document(&[(1, &e1, &c1), (2, &e2, &c2)]),
            vec![("x-amz-checksum-crc32", &crc)],
            "InvalidRequest",
            "Checksum Type mismatch occurred, expected checksum Type: sha256, actual checksum Type: crc32",
        ),
        // The object's checksum in the composite form, but not the right one.
        (
            complete_document(&[(1, &e1, &c1), (2, &e2, &c2)]),
            vec![("x-amz-checksum-sha256", "AAAA-2")],
            "BadDigest",
            "did not match the checksum calculated from the parts",
        ),
        (
            complete_document(&[(1, &e1, &c1), (2, &e2, &c2)]),
            vec![("x-amz-checksum-sha256", &sum1)],
            "BadDigest",
            // Seen by the completion, not taken for a checksum of the XML body.
            "did not match the checksum calculated from the parts",
        ),
    ];
    for (document, headers, code, message) in refused {
        let answer = app.root("POST", &target, &headers, &document).await;
        assert_eq!(
            answer.error_code(),
            code,
            "{}: {}",
            String::from_utf8_lossy(&document),
            answer.text()
        );
        assert!(answer.text().contains(message), "{}", answer.text());
    }

    let done = app
        .root(
            "POST",
            &target,
            &[
                ("x-amz-checksum-sha256", &composite),
                ("x-amz-checksum-type", "COMPOSITE"),
            ],
            &complete_document(&[(1, &e1, &c1), (2, &e2, &c2)]),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert_eq!(
        element(&done.text(), "ChecksumSHA256"),
        Some(composite.as_str())
    );
    assert_eq!(element(&done.text(), "ChecksumType"), Some("COMPOSITE"));

    let mode = [("x-amz-checksum-mode", "ENABLED")];
    for method in ["HEAD", "GET"] {
        let got = app.root(method, "/sums/obj", &mode, b"").await;
        assert_eq!(got.headers["x-amz-checksum-sha256"], composite.as_str());
        assert_eq!(got.headers["x-amz-checksum-type"], "COMPOSITE");
        let plain = app.root(method, "/sums/obj", &[], b"").await;
        assert!(!plain.headers.contains_key("x-amz-checksum-sha256"));
    }
    // A range is not the object the checksum describes.
    let range = app
        .root("GET", "/sums/obj", &[mode[0], ("range", "bytes=0-9")], b"")
        .await;
    assert_eq!(range.status, StatusCode::PARTIAL_CONTENT);
    assert!(!range.headers.contains_key("x-amz-checksum-sha256"));
    assert!(!range.headers.contains_key("x-amz-checksum-type"));

    // A retried completion (its answer lost) is answered with the object, checksum and all.
    let again = app
        .root(
            "POST",
            &target,
            &[],
            &complete_document(&[(1, &e1, &c1), (2, &e2, &c2)]),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(
        element(&again.text(), "ChecksumSHA256"),
        Some(composite.as_str())
    );
}

#[tokio::test]
async fn full_object_checksums_of_a_multipart_upload() {
    use depot_sigv4::ChecksumAlgorithm::{Crc32, Crc32c, Crc64Nvme, Sha256};
    let app = app().await;
    app.root("PUT", "/full", &[], b"").await;
    // What CreateMultipartUpload accepts.
    for (headers, message) in [
        (
            vec![
                ("x-amz-checksum-algorithm", "SHA256"),
                ("x-amz-checksum-type", "FULL_OBJECT"),
            ],
            "The FULL_OBJECT checksum type cannot be used with the sha256 checksum algorithm.",
        ),
        (
            vec![
                ("x-amz-checksum-algorithm", "CRC64NVME"),
                ("x-amz-checksum-type", "COMPOSITE"),
            ],
            "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.",
        ),
        (
            vec![("x-amz-checksum-type", "FULL_OBJECT")],
            "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
        ),
        (
            vec![
                ("x-amz-checksum-algorithm", "CRC32"),
                ("x-amz-checksum-type", "PARTS"),
            ],
            "Value for x-amz-checksum-type header is invalid.",
        ),
    ] {
        let refused = app.create_upload("/full/obj", &headers).await;
        assert_eq!(refused.error_code(), "InvalidRequest", "{headers:?}");
        assert!(refused.text().contains(message), "{}", refused.text());
    }
    let crc64 = app
        .create_upload("/full/obj", &[("x-amz-checksum-algorithm", "CRC64NVME")])
        .await;
    assert_eq!(
        crc64.headers["x-amz-checksum-type"], "FULL_OBJECT",
        "CRC64NVME's default"
    );

    let source = vec![b's'; 300];
    app.root("PUT", "/full/source", &[], &source).await;
    for algorithm in [Crc32, Crc32c, Crc64Nvme] {
        let path = format!("/full/{}", algorithm.name());
        let upload_id = app
            .upload_id(
                &path,
                &[
                    ("x-amz-checksum-algorithm", algorithm.name()),
                    ("x-amz-checksum-type", "FULL_OBJECT"),
                ],
            )
            .await;
        let part = |number: u16| format!("{path}?partNumber={number}&uploadId={upload_id}");
        let one: Vec<u8> = (0..5u32 << 20).map(|i| (i % 251) as u8).collect();
        // The second part is sent without a checksum.
        let two: Vec<u8> = (0..5u32 << 20).map(|i| (i % 253) as u8).collect();
        // Another algorithm is refused; no checksum at all is computed here, as S3 does.
        let other = app
            .root(
                "PUT",
                &part(2),
                &[("x-amz-checksum-sha256", &checksum_of(Sha256, &two))],
                &two,
            )
            .await;
        assert_eq!(other.error_code(), "InvalidRequest", "{}", other.text());
        let sum1 = checksum_of(algorithm, &one);
        let up1 = app
            .root("PUT", &part(1), &[(algorithm.header_name(), &sum1)], &one)
            .await;
        assert_eq!(up1.status, StatusCode::OK, "{}", up1.text());
        let up2 = app.root("PUT", &part(2), &[], &two).await;
        assert_eq!(up2.status, StatusCode::OK, "{}", up2.text());
        assert_eq!(
            up2.headers[algorithm.header_name()],
            checksum_of(algorithm, &two).as_str()
        );
        // A copied part gets its checksum too.
        let copied = app
            .root(
                "PUT",
                &part(3),
                &[
                    ("x-amz-copy-source", "/full/source"),
                    ("x-amz-copy-source-range", "bytes=10-109"),
                ],
                b"",
            )
            .await;
        assert_eq!(copied.status, StatusCode::OK, "{}", copied.text());
        let element_name = format!("Checksum{}", algorithm.name());
        assert_eq!(
            element(&copied.text(), &element_name),
            Some(checksum_of(algorithm, &source[10..110]).as_str())
        );
        let listed = app
            .root("GET", &format!("{path}?uploadId={upload_id}"), &[], b"")
            .await
            .text();
        assert_eq!(element(&listed, "ChecksumType"), Some("FULL_OBJECT"));

        // The object's checksum is the CRC of all its bytes, not of the part checksums.
        let whole = [one.as_slice(), &two, &source[10..110]].concat();
        let expected = checksum_of(algorithm, &whole);
        let target = format!("{path}?uploadId={upload_id}");
        let etags = [hex_md5(&one), hex_md5(&two), hex_md5(&source[10..110])];
        // Part checksums are optional, but must be right when given.
        let wrong_part = format!(
            "<{element_name}>{}</{element_name}>",
            checksum_of(algorithm, b"x")
        );
        let parts = [
            (1, etags[0].as_str(), ""),
            (2, &etags[1], wrong_part.as_str()),
            (3, &etags[2], ""),
        ];
        let refused = app
            .root("POST", &target, &[], &complete_document(&parts))
            .await;
        assert_eq!(refused.error_code(), "InvalidPart", "{}", refused.text());
        let wrong_whole = checksum_of(algorithm, b"not the object");
        let parts = [
            (1, etags[0].as_str(), ""),
            (2, &etags[1], ""),
            (3, &etags[2], ""),
        ];
        let refused = app
            .root(
                "POST",
                &target,
                &[(algorithm.header_name(), &wrong_whole)],
                &complete_document(&parts),
            )
            .await;
        assert_eq!(refused.error_code(), "BadDigest", "{}", refused.text());
        let good_part = format!("<{element_name}>{sum1}</{element_name}>");
        let parts = [
            (1, etags[0].as_str(), good_part.as_str()),
            (2, &etags[1], ""),
            (3, &etags[2], ""),
        ];
        let done = app
            .root(
                "POST",
                &target,
                &[
                    (algorithm.header_name(), &expected),
                    ("x-amz-checksum-type", "FULL_OBJECT"),
                ],
                &complete_document(&parts),
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text());
        assert_eq!(
            element(&done.text(), &element_name),
            Some(expected.as_str())
        );
        assert_eq!(element(&done.text(), "ChecksumType"), Some("FULL_OBJECT"));
        let head = app
            .root("HEAD", &path, &[("x-amz-checksum-mode", "ENABLED")], b"")
            .await;
        assert_eq!(head.headers[algorithm.header_name()], expected.as_str());
        assert_eq!(head.headers["x-amz-checksum-type"], "FULL_OBJECT");
        assert_eq!(app.root("GET", &path, &[], b"").await.body, whole);
    }
}

#[tokio::test]
async fn an_upload_without_an_algorithm_matches_no_part_checksum() {
    use depot_sigv4::ChecksumAlgorithm::Crc32;
    let app = app().await;
    app.root("PUT", "/plain", &[], b"").await;
    let upload_id = app.upload_id("/plain/obj", &[]).await;
    // A part may still carry a checksum (SDKs send one by default); it is checked and kept.
    let crc = checksum_of(Crc32, b"part");
    let up = app
        .root(
            "PUT",
            &format!("/plain/obj?partNumber=1&uploadId={upload_id}"),
            &[("x-amz-checksum-crc32", &crc)],
            b"part",
        )
        .await;
    assert_eq!(up.headers["x-amz-checksum-crc32"], crc.as_str());
    let target = format!("/plain/obj?uploadId={upload_id}");
    let etag = hex_md5(b"part");
    let listing = format!("<ChecksumCRC32>{crc}</ChecksumCRC32>");
    let refused = app
        .root(
            "POST",
            &target,
            &[],
            &complete_document(&[(1, &etag, &listing)]),
        )
        .await;
    assert_eq!(refused.error_code(), "InvalidPart", "{}", refused.text());
    let mode = app
        .root(
            "POST",
            &target,
            &[("x-amz-checksum-type", "COMPOSITE")],
            &complete_document(&[(1, &etag, "")]),
        )
        .await;
    assert_eq!(mode.error_code(), "BadDigest", "{}", mode.text());
    // Part numbers need not be consecutive without checksums.
    let done = app
        .root("POST", &target, &[], &complete_document(&[(1, &etag, "")]))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert!(!done.text().contains("Checksum"), "{}", done.text());
    let head = app
        .root(
            "HEAD",
            "/plain/obj",
            &[("x-amz-checksum-mode", "ENABLED")],
            b"",
        )
        .await;
    assert!(!head.headers.contains_key("x-amz-checksum-crc32"));
}

/// Two services over one engine, as two nodes behind a load balancer see one database. With
/// the limiter's counts in the database, a user allowed one listing gets it from one node and
/// `SlowDown` from the other; with each node counting in its own memory, both answer, as the
/// same two nodes show first. (That two engines on one PostgreSQL database share the counts is
/// the engine's test, `two_nodes_on_postgresql_share_one_state`.)
#[tokio::test]
async fn the_database_limiter_is_one_count_for_every_node() {
    use std::sync::Arc;

    use depot_domain::{Decimal, LimitScope, Limits, RateLimit};
    use depot_store::{DatabaseLimiter, LimiterState, MemoryLimiter};

    let mut app = app().await;
    let root = root_user(&app).await;
    // One listing, then none for a hundred seconds.
    let limits = Limits {
        ops_list: RateLimit::new(Decimal::new(1, 2)).unwrap(),
        ..Limits::UNLIMITED
    };
    app.engine
        .set_limits(&LimitScope::User(root), &limits)
        .await
        .unwrap();
    let service = app.service.clone();
    let nodes = |first: Arc<dyn LimiterState>, second: Arc<dyn LimiterState>| {
        [
            service.clone().with_limiter(first),
            service.clone().with_limiter(second),
        ]
    };

    let [first, second] = nodes(
        Arc::new(MemoryLimiter::default()),
        Arc::new(MemoryLimiter::default()),
    );
    for node in [first, second] {
        app.service = node;
        assert_eq!(app.root("GET", "/", &[], b"").await.status, StatusCode::OK);
    }

    let [first, second] = nodes(
        Arc::new(DatabaseLimiter::new(app.engine.clone())),
        Arc::new(DatabaseLimiter::new(app.engine.clone())),
    );
    app.service = first;
    assert_eq!(app.root("GET", "/", &[], b"").await.status, StatusCode::OK);
    app.service = second;
    let refused = app.root("GET", "/", &[], b"").await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.error_code(), "SlowDown");
}
