//! The machine's ceiling: an HTTP server that does the least a server can, so what the same
//! client reaches against it is what this machine, this kernel and this client allow.
//!
//! It answers GET (and HEAD) with a slice of one preallocated buffer, as long as the request's
//! [`SIZE_HEADER`](crate::request::SIZE_HEADER) asks, and any other method by reading the body
//! to its end and answering `200 OK`. No parsing, no signature check, no disk: everything
//! Depot does beyond this is the price of being an S3 server.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::body::{Payload, drain};
use crate::request::SIZE_HEADER;

/// The ceiling server's state: the buffer every GET answer is a slice of.
#[derive(Debug, Clone)]
pub struct Ceiling {
    body: Bytes,
}

impl Ceiling {
    /// A server whose largest answer is `max_size` bytes, allocated (and touched) now.
    pub fn new(max_size: usize) -> Self {
        // Non-zero bytes, so the pages are really allocated rather than shared zero pages.
        Self {
            body: Bytes::from(vec![0x5a; max_size]),
        }
    }

    /// Accepts connections on `listener` until the task is dropped, each on its own task,
    /// with `TCP_NODELAY` as Depot sets it.
    pub async fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                // Out of descriptors, most likely: wait rather than spin.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let ceiling = self.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let ceiling = ceiling.clone();
                    async move { Ok::<_, Infallible>(ceiling.answer(request).await) }
                });
                // A client hanging up is the normal end of a benchmark connection.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    /// The answer to one request.
    pub async fn answer(&self, request: Request<Incoming>) -> Response<Payload> {
        let method = request.method().clone();
        let asked = request
            .headers()
            .get(SIZE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if method == Method::GET || method == Method::HEAD {
            let size = asked.unwrap_or(0);
            let Some(slice) = self.slice(size) else {
                return status(StatusCode::RANGE_NOT_SATISFIABLE);
            };
            let mut response = Response::new(if method == Method::HEAD {
                Payload::empty()
            } else {
                Payload::full(slice)
            });
            response
                .headers_mut()
                .insert(http::header::CONTENT_LENGTH, size.into());
            return response;
        }
        match drain(request.into_body()).await {
            Ok(_) => status(StatusCode::OK),
            Err(_) => status(StatusCode::BAD_REQUEST),
        }
    }

    /// The first `size` bytes of the buffer, if it is that large.
    fn slice(&self, size: usize) -> Option<Bytes> {
        (size <= self.body.len()).then(|| self.body.slice(..size))
    }
}

fn status(status: StatusCode) -> Response<Payload> {
    let mut response = Response::new(Payload::empty());
    *response.status_mut() = status;
    response
}

/// Binds `addr` and serves a [`Ceiling`] of `max_size` on it; returns the bound address and the
/// server's future.
pub async fn bind(
    addr: SocketAddr,
    max_size: usize,
) -> std::io::Result<(
    SocketAddr,
    impl std::future::Future<Output = std::io::Result<()>>,
)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    Ok((bound, Ceiling::new(max_size).serve(listener)))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use depot_sigv4::{Credentials, UNSIGNED_PAYLOAD};

    use super::*;
    use crate::conn::Connection;
    use crate::request::{Call, Target};
    use crate::run::{Prepared, exchange};

    #[test]
    fn slices_are_bounded_by_the_buffer() {
        let ceiling = Ceiling::new(1024);
        assert_eq!(ceiling.slice(0).map(|b| b.len()), Some(0));
        assert_eq!(ceiling.slice(1024).map(|b| b.len()), Some(1024));
        assert!(ceiling.slice(1025).is_none());
    }

    #[tokio::test]
    async fn answers_gets_with_the_size_asked_and_drains_puts() -> Result<(), crate::Error> {
        let (addr, server) = bind("127.0.0.1:0".parse().expect("literal"), 1 << 20)
            .await
            .map_err(crate::Error::Connect)?;
        let server = tokio::spawn(server);
        let target = Target::new(
            "ceiling",
            &format!("http://{addr}"),
            Credentials::new("AK", "SK"),
            "us-east-1",
        )?;
        let mut connection = Connection::open(addr).await?;
        let get = |size| {
            let call = Call {
                method: Method::GET,
                path: "/b/k",
                query: "",
                payload_hash: depot_sigv4::EMPTY_SHA256,
                size: Some(size),
            };
            target.signed(&call, Payload::empty(), SystemTime::now())
        };
        // Several requests over the one keep-alive connection.
        for size in [4096, 0, 1 << 20] {
            let prepared = Prepared {
                request: get(size)?,
                sent: 0,
                expect_len: Some(size),
            };
            assert_eq!(exchange(&mut connection, prepared).await?, size);
        }
        let too_big = Prepared {
            request: get((1 << 20) + 1)?,
            sent: 0,
            expect_len: None,
        };
        assert!(matches!(
            exchange(&mut connection, too_big).await,
            Err(crate::Error::Status { status, .. }) if status == StatusCode::RANGE_NOT_SATISFIABLE
        ));
        let mut connection = Connection::open(addr).await?;
        let body = Bytes::from(vec![1u8; 300_000]);
        let put = Call {
            method: Method::PUT,
            path: "/b/k",
            query: "",
            payload_hash: UNSIGNED_PAYLOAD,
            size: None,
        };
        let prepared = Prepared {
            request: target.signed(&put, Payload::full(body), SystemTime::now())?,
            sent: 300_000,
            expect_len: Some(0),
        };
        let received =
            tokio::time::timeout(Duration::from_secs(10), exchange(&mut connection, prepared))
                .await
                .map_err(|_| crate::Error::Timeout)??;
        assert_eq!(received, 0);
        server.abort();
        Ok(())
    }
}
