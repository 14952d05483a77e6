//! HTTP bodies both sides of the benchmark use: a request or response body that is one
//! preallocated buffer (sliced, never copied), and draining a received body while counting it.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};

/// A body that is empty or one buffer. `Bytes` is reference-counted, so a 64 MiB object body
/// shared by every request costs one allocation for the whole run.
#[derive(Debug, Default)]
pub struct Payload(Option<Bytes>);

impl Payload {
    /// No body.
    pub fn empty() -> Self {
        Self(None)
    }

    /// `bytes` as the whole body.
    pub fn full(bytes: Bytes) -> Self {
        if bytes.is_empty() {
            Self(None)
        } else {
            Self(Some(bytes))
        }
    }

    /// The body's length in bytes (before it is sent).
    pub fn len(&self) -> u64 {
        self.0.as_ref().map_or(0, |b| b.len() as u64)
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Body for Payload {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|bytes| Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len())
    }
}

/// Reads a received body to its end, keeping nothing; returns how many bytes it had.
pub async fn drain(mut body: Incoming) -> Result<u64, hyper::Error> {
    let mut total = 0u64;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(data) = frame?.into_data() {
            total += data.len() as u64;
        }
    }
    Ok(total)
}

/// Reads a received body whole, up to `limit` bytes kept (the rest is read and dropped), and
/// returns the kept bytes with the total length. For probes and error messages, never objects.
pub async fn collect(mut body: Incoming, limit: usize) -> Result<(Vec<u8>, u64), hyper::Error> {
    let mut kept = Vec::new();
    let mut total = 0u64;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(data) = frame?.into_data() {
            total += data.len() as u64;
            let room = limit.saturating_sub(kept.len());
            kept.extend_from_slice(&data[..room.min(data.len())]);
        }
    }
    Ok((kept, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll_once(payload: &mut Payload) -> Option<Bytes> {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        match Pin::new(payload).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => frame.into_data().ok(),
            Poll::Ready(None) => None,
            Poll::Ready(Some(Err(never))) => match never {},
            Poll::Pending => panic!("a payload is never pending"),
        }
    }

    #[test]
    fn payload_yields_its_buffer_once_with_an_exact_size() {
        let mut payload = Payload::full(Bytes::from_static(b"hello"));
        assert_eq!(payload.size_hint().exact(), Some(5));
        assert!(!payload.is_end_stream());
        assert_eq!(poll_once(&mut payload).as_deref(), Some(&b"hello"[..]));
        assert!(payload.is_end_stream());
        assert_eq!(poll_once(&mut payload), None);

        let empty = Payload::full(Bytes::new());
        assert!(empty.is_end_stream());
        assert_eq!(empty.size_hint().exact(), Some(0));
        assert!(Payload::empty().is_empty());
    }
}
