//! Request and response bodies: streaming request payloads into the engine with their trailing
//! checksum captured, reading small XML bodies within a bound, and the response body type.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use depot_sigv4::{BoxError, SigV4Error, VerifiedBody};
use http::HeaderMap;
use http_body::Body;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};

use crate::{S3Error, S3ErrorCode, S3Result, s3_error};

/// The body of every response: empty, a document, or an object streamed from disk.
pub type ResponseBody = UnsyncBoxBody<Bytes, BoxError>;

/// An empty response body.
pub(crate) fn empty() -> ResponseBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A response body holding `bytes`.
pub(crate) fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Turns an error from a request body into the S3 error for it: a failed signature or checksum
/// check keeps its own code; anything else means the body did not arrive whole.
pub(crate) fn body_error(error: BoxError) -> S3Error {
    match error.downcast::<SigV4Error>() {
        Ok(sigv4) => S3Error::from(*sigv4),
        Err(other) => match other.downcast::<S3Error>() {
            Ok(s3) => *s3,
            Err(other) => s3_error!(
                IncompleteBody,
                "The request body could not be read: {other}"
            ),
        },
    }
}

/// Reads a whole (small) body, refusing more than `limit` bytes. XML bodies only: objects are
/// never read this way.
pub(crate) async fn read_limited<B>(body: VerifiedBody<B>, limit: usize) -> S3Result<Bytes>
where
    B: Body + Unpin,
    B::Data: bytes::Buf,
    B::Error: Into<BoxError>,
{
    let mut body = body;
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(body_error)?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Err(S3Error::new(S3ErrorCode::MaxMessageLengthExceeded));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
}

/// The verified checksum a payload stream reported in its trailers, once the stream ended.
pub(crate) type TrailerSlot = Arc<Mutex<Option<HeaderMap>>>;

/// A verified request body as a stream of payload bytes for the engine; the trailers frame (the
/// checksum that was verified) lands in the returned slot.
pub(crate) fn payload_stream<B>(body: VerifiedBody<B>) -> (PayloadStream<B>, TrailerSlot)
where
    B: Body + Unpin,
{
    let slot = TrailerSlot::default();
    (
        PayloadStream {
            body,
            trailers: slot.clone(),
        },
        slot,
    )
}

/// See [`payload_stream`].
#[derive(Debug)]
pub(crate) struct PayloadStream<B> {
    body: VerifiedBody<B>,
    trailers: TrailerSlot,
}

impl<B> futures_core::Stream for PayloadStream<B>
where
    B: Body + Unpin,
    B::Data: bytes::Buf,
    B::Error: Into<BoxError>,
{
    type Item = Result<Bytes, BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let this = &mut *self;
            match Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => return Poll::Ready(Some(Ok(data))),
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            *this.trailers.lock().unwrap_or_else(|e| e.into_inner()) =
                                Some(trailers);
                        }
                    }
                },
            }
        }
    }
}
