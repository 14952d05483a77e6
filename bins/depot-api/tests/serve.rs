//! Starts the real `depot-api` binary and checks it from outside, as an operator or an S3 client
//! sees it: health check, the placeholder S3 error, graceful exit on SIGTERM, bad configuration.
#![cfg(unix)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

mod common;

use common::{LogAfterStart, Server, depot_api};

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// One HTTP/1.1 request on a fresh connection.
async fn send(addr: SocketAddr, method: Method, path: &str) -> anyhow::Result<Reply> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, addr.to_string())
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn header<'a>(reply: &'a Reply, name: &str) -> anyhow::Result<&'a str> {
    Ok(reply
        .headers
        .get(name)
        .with_context(|| format!("no {name} header"))?
        .to_str()?)
}

fn is_dir(path: &Path) -> bool {
    path.metadata().map(|m| m.is_dir()).unwrap_or(false)
}

#[tokio::test]
async fn serves_both_listeners_and_stops_on_sigterm() -> anyhow::Result<()> {
    let mut server = Server::start()?;
    assert!(is_dir(&server.data_dir), "data directory created");

    // Control plane.
    let health = send(server.control, Method::GET, "/healthz").await?;
    assert_eq!(health.status, StatusCode::OK);
    assert!(header(&health, CONTENT_TYPE.as_str())?.starts_with("text/plain"));
    assert_eq!(health.body, "ok");
    let missing = send(server.control, Method::GET, "/nope").await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let ready = send(server.control, Method::GET, "/readyz").await?;
    assert_eq!(ready.status, StatusCode::OK);

    // S3: an anonymous request is refused with the S3 error document.
    let get = send(server.s3, Method::GET, "/bucket/a&b?list-type=2").await?;
    assert_eq!(get.status, StatusCode::FORBIDDEN);
    assert_eq!(header(&get, CONTENT_TYPE.as_str())?, "application/xml");
    let request_id = header(&get, "x-amz-request-id")?;
    assert_eq!(request_id.len(), 16);
    assert!(
        request_id
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
        "{request_id}"
    );
    assert!(!header(&get, "x-amz-id-2")?.is_empty());
    let body = std::str::from_utf8(&get.body)?;
    assert!(
        body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"),
        "{body}"
    );
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    assert!(
        body.contains("<Resource>/bucket/a&amp;b</Resource>"),
        "{body}"
    );
    assert!(
        body.contains(&format!("<RequestId>{request_id}</RequestId>")),
        "{body}"
    );

    let head = send(server.s3, Method::HEAD, "/bucket/key").await?;
    assert_eq!(head.status, StatusCode::FORBIDDEN);
    assert!(head.body.is_empty());
    assert_ne!(header(&head, "x-amz-request-id")?, request_id);

    let put = send(server.s3, Method::PUT, "/bucket").await?;
    assert_eq!(put.status, StatusCode::FORBIDDEN);
    let invalid = send(server.s3, Method::PUT, "/Not_A_Bucket").await?;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert!(std::str::from_utf8(&invalid.body)?.contains("<Code>InvalidBucketName</Code>"));

    // Every S3 request above is counted, by operation and status.
    let metrics = send(server.control, Method::GET, "/metrics").await?;
    assert_eq!(metrics.status, StatusCode::OK);
    let metrics = std::str::from_utf8(&metrics.body)?;
    assert!(
        metrics.contains(r#"depot_s3_requests_total{operation="CreateBucket",status="403"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("depot_s3_request_duration_seconds_bucket"),
        "{metrics}"
    );

    // An idle keep-alive connection must not hold shutdown up until the timeout (5 s here):
    // graceful shutdown closes connections that have no request in flight.
    let stream = TcpStream::connect(server.control).await?;
    let (mut idle, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = Request::get("/healthz")
        .header(HOST, server.control.to_string())
        .body(Empty::<Bytes>::new())?;
    assert_eq!(idle.send_request(request).await?.status(), StatusCode::OK);

    let stopping = Instant::now();
    server.sigterm()?;
    let status = server.wait()?;
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(
        stopping.elapsed() < Duration::from_secs(4),
        "shutdown waited {:?} on an idle connection",
        stopping.elapsed()
    );
    drop(idle);
    Ok(())
}

#[tokio::test]
async fn survives_losing_its_log() -> anyhow::Result<()> {
    let mut server = Server::start_with(LogAfterStart::Close, &[])?;
    let health = send(server.control, Method::GET, "/healthz").await?;
    assert_eq!(health.status, StatusCode::OK);
    // Shutting down logs two lines into the closed pipe.
    server.sigterm()?;
    let status = server.wait()?;
    assert_eq!(status.code(), Some(0), "{status}");
    Ok(())
}

#[test]
fn bad_environment_value_is_reported_by_name() -> anyhow::Result<()> {
    let output = depot_api()
        .env("DEPOT_S3_ADDR", "not-an-address")
        .stdin(Stdio::null())
        .output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DEPOT_S3_ADDR"), "{stderr}");
    Ok(())
}

#[test]
fn help_lists_variables_but_not_secrets() -> anyhow::Result<()> {
    let output = depot_api()
        .arg("--help")
        .env("DEPOT_ROOT_SECRET_KEY", "do-not-print-me")
        .output()?;
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for var in [
        "DEPOT_CONFIG",
        "DEPOT_DATA_DIR",
        "DEPOT_S3_ADDR",
        "DEPOT_CONTROL_ADDR",
        "DEPOT_ROOT_ACCESS_KEY",
        "DEPOT_ROOT_SECRET_KEY",
        "DEPOT_DATABASE_URL",
        "DEPOT_S3_REGION",
        "DEPOT_LOG",
        "DEPOT_LOG_FORMAT",
        "DEPOT_SHUTDOWN_TIMEOUT_SECS",
    ] {
        assert!(help.contains(var), "{var} missing from --help");
    }
    assert!(!help.contains("do-not-print-me"), "{help}");
    Ok(())
}
