//! The S3 service in process: signed requests in, S3 responses out, on SQLite and a temporary
//! data directory. Real clients are exercised end to end by `cargo xtask e2e`.

use std::time::SystemTime;

use bytes::Bytes;
use depot_domain::Email;
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
        put.headers["etag"],
        "\"d7b6a5ad2a1cc0d1d9b6a61a5f5e1de6\""
            .replace("d7b6a5ad2a1cc0d1d9b6a61a5f5e1de6", &hex_md5(b"meow meow"))
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
        truncated.status,
        StatusCode::BAD_REQUEST,
        "{}",
        truncated.text()
    );
    assert_eq!(
        app.root("HEAD", "/hostile/short", &[], b"").await.status,
        StatusCode::NOT_FOUND
    );

    // A client that disconnects mid-upload.
    let mut request = Request::builder()
        .method("PUT")
        .uri("http://127.0.0.1:9000/hostile/cut")
        .header("host", "127.0.0.1:9000")
        .body(())
        .unwrap();
    let params = SigningParams::s3(&app.root, "us-east-1", SystemTime::now());
    sign_request(
        &mut request,
        SignableBody::Mode(PayloadMode::Unsigned),
        &params,
    )
    .unwrap();
    let (parts, ()) = request.into_parts();
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
    for path in files_under(app._dir.path()) {
        assert!(path.starts_with(app._dir.path()));
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
