//! The accept loop both listeners share, so TCP options, protocol detection, timeouts and
//! graceful shutdown are decided once.

use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, Instant};

use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tracing::{debug, warn};

/// How long a client may take to send request headers: bounds what a slow or idle peer can
/// hold, so a stalled client cannot pin a connection forever.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Pause after a failed `accept`. The usual cause is running out of file descriptors; retrying
/// at once would spin a core while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `service` on every connection `listener` accepts, HTTP/1.1 or HTTP/2 as the client
/// speaks, each connection on its own task and watched by `graceful`.
///
/// Never returns: the caller stops accepting by dropping this future (which drops the
/// listener), then drains the watched connections with [`GracefulShutdown::shutdown`].
pub(crate) async fn accept<S, B>(
    name: &'static str,
    listener: TcpListener,
    service: S,
    graceful: &GracefulShutdown,
) where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());

    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                warn!(listener = name, %error, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // S3 traffic is many small request/response exchanges; Nagle's algorithm would
        // delay each small response waiting for an ACK.
        if let Err(error) = stream.set_nodelay(true) {
            debug!(listener = name, %peer, %error, "could not set TCP_NODELAY");
        }
        let connection = builder
            .serve_connection(
                TokioIo::new(stream),
                Logged {
                    listener: name,
                    peer,
                    inner: service.clone(),
                },
            )
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // Clients hanging up mid-request is routine, not an operator's concern.
                debug!(listener = name, %peer, %error, "connection ended with an error");
            }
        });
    }
}

/// A service wrapper that gives every request one log line: listener, peer, method, path,
/// status, duration and, where the response carries one, the S3 request id a client would
/// quote.
///
/// The query string is left out on purpose: presigned URLs carry credentials and signatures
/// there (`X-Amz-Credential`, `X-Amz-Signature`), and secrets never reach logs.
#[derive(Clone)]
struct Logged<S> {
    listener: &'static str,
    peer: SocketAddr,
    inner: S,
}

impl<S, B> Service<Request<Incoming>> for Logged<S>
where
    S: Service<Request<Incoming>, Response = Response<B>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<B>, S::Error>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let (listener, peer) = (self.listener, self.peer);
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let started = Instant::now();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            match &response {
                Ok(response) => {
                    // Absent from control-plane responses, and then left out of the line.
                    let request_id = response
                        .headers()
                        .get("x-amz-request-id")
                        .and_then(|v| v.to_str().ok());
                    // The S3 service logs each request in full (operation, bucket, bytes) when its
                    // body ends; this line is for tracing connections.
                    debug!(
                        listener,
                        %peer,
                        %method,
                        path,
                        status = response.status().as_u16(),
                        micros,
                        request_id,
                        "request"
                    );
                }
                Err(_) => warn!(listener, %peer, %method, path, micros, "request failed"),
            }
            response
        })
    }
}
