//! One keep-alive HTTP/1.1 connection per worker, with `TCP_NODELAY` like the server's side.
//!
//! hyper's connection-level client rather than a pooled one: the benchmark's concurrency is
//! then exactly its number of connections, each reused for every request, and no pool logic
//! runs between a worker and its socket.

use std::net::SocketAddr;

use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::Error;
use crate::body::Payload;

/// An open connection; dropping it closes the socket.
#[derive(Debug)]
pub struct Connection {
    sender: SendRequest<Payload>,
    driver: JoinHandle<()>,
}

impl Connection {
    /// Connects to `addr` and completes the HTTP/1.1 handshake.
    pub async fn open(addr: SocketAddr) -> Result<Self, Error> {
        let stream = TcpStream::connect(addr).await.map_err(Error::Connect)?;
        // Without it, a small request written in two segments (headers, then body) waits for
        // the peer's delayed ACK: 40 ms on Linux, which would swamp every small-object figure.
        stream.set_nodelay(true).map_err(Error::Connect)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        // The connection future moves the bytes; it ends when the sender is dropped or the
        // server hangs up, and its error then surfaces through the next `send`.
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self { sender, driver })
    }

    /// Sends `request` and waits for the response head; the body is the caller's to read.
    pub async fn send(&mut self, request: Request<Payload>) -> Result<Response<Incoming>, Error> {
        self.sender.ready().await?;
        Ok(self.sender.send_request(request).await?)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}
