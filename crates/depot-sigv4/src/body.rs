//! A request body that checks, as it streams, what the signature promised about it.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use http::{HeaderMap, HeaderValue};
use http_body::{Body, Frame, SizeHint};
use sha2::{Digest, Sha256};

use crate::{
    ChecksumAlgorithm, Checksummer, ChunkedDecoder, PayloadMode, SigV4Error, VerifiedRequest,
};

/// The error type of [`VerifiedBody`]: the inner body's error or a [`SigV4Error`], boxed as
/// tower and hyper expect. Downcast to [`SigV4Error`] to tell a bad payload from a broken
/// connection.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the body must satisfy, read from the request's headers.
#[derive(Debug, Clone)]
pub struct PayloadCheck {
    mode: PayloadMode,
    decoder: Option<ChunkedDecoder>,
    checksum: Option<(Checksummer, ExpectedChecksum)>,
}

#[derive(Debug, Clone)]
enum ExpectedChecksum {
    /// Given in a header before the body.
    Value(Vec<u8>),
    /// Announced by `x-amz-trailer`, arriving after the body.
    Trailer,
}

impl PayloadCheck {
    /// The checks of a verified request: its payload hash or chunk signatures, its
    /// `x-amz-decoded-content-length`, and a checksum from an `x-amz-checksum-*` header or
    /// announced by `x-amz-trailer`.
    pub fn new(verified: &VerifiedRequest, headers: &HeaderMap) -> Result<Self, SigV4Error> {
        Self::build(verified.payload, Some(verified), headers)
    }

    /// The checks for an unauthenticated or otherwise trusted body: no signature, but chunked
    /// framing and checksums still apply.
    pub fn unsigned(mode: PayloadMode, headers: &HeaderMap) -> Result<Self, SigV4Error> {
        if mode.has_chunk_signatures() {
            return Err(SigV4Error::MalformedChunk(
                "signed chunks need a verified request".into(),
            ));
        }
        Self::build(mode, None, headers)
    }

    fn build(
        mode: PayloadMode,
        verified: Option<&VerifiedRequest>,
        headers: &HeaderMap,
    ) -> Result<Self, SigV4Error> {
        let mut checksum = None;
        for algorithm in ChecksumAlgorithm::ALL {
            if let Some(value) = headers.get(algorithm.header_name()) {
                let value = value.to_str().map_err(|_| {
                    SigV4Error::InvalidChecksum(format!("{} is not ASCII", algorithm.header_name()))
                })?;
                if checksum.is_some() {
                    return Err(SigV4Error::InvalidChecksum(
                        "more than one checksum header".into(),
                    ));
                }
                let expected = ExpectedChecksum::Value(algorithm.decode(value)?);
                checksum = Some((Checksummer::new(algorithm), expected));
            }
        }
        let mut trailer = None;
        if let Some(announced) = headers.get("x-amz-trailer") {
            if !mode.has_trailer() {
                return Err(SigV4Error::InvalidChecksum(
                    "x-amz-trailer needs a trailer payload mode".into(),
                ));
            }
            let name = announced.to_str().unwrap_or_default().trim();
            let algorithm = ChecksumAlgorithm::from_header_name(name).ok_or_else(|| {
                SigV4Error::InvalidChecksum(format!("unsupported trailer `{name}`"))
            })?;
            if checksum.is_some() {
                return Err(SigV4Error::InvalidChecksum(
                    "a checksum both in a header and a trailer".into(),
                ));
            }
            checksum = Some((Checksummer::new(algorithm), ExpectedChecksum::Trailer));
            trailer = Some(algorithm);
        }
        let decoder = if mode.is_chunked() {
            let mut decoder = ChunkedDecoder::new(mode, verified.map(|v| &v.seed))?;
            if let Some(algorithm) = trailer {
                decoder = decoder.expect_trailer(algorithm.header_name());
            }
            if let Some(value) = headers.get("x-amz-decoded-content-length") {
                let len = value
                    .to_str()
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| {
                        SigV4Error::MalformedChunk("invalid x-amz-decoded-content-length".into())
                    })?;
                decoder = decoder.with_decoded_length(len);
            }
            Some(decoder)
        } else {
            None
        };
        Ok(Self {
            mode,
            decoder,
            checksum,
        })
    }
}

/// Wraps a request body so that the bytes it yields are the decoded payload and its end is an
/// error unless everything the signature and the headers promised holds: the SHA-256, every
/// chunk signature, the decoded length, the checksum.
///
/// The body never buffers more than the inner body's frame; see [`ChunkedDecoder`] for why a
/// failure may come after some bytes were yielded. When a checksum was checked, the body ends
/// with a trailers frame holding `x-amz-checksum-<algorithm>` with the verified value, so the
/// consumer can store it. Nothing else a client sent as a trailer is passed on: the decoder
/// accepts only the trailer announced in `x-amz-trailer`, and that one is checked.
#[derive(Debug)]
pub struct VerifiedBody<B> {
    inner: B,
    check: PayloadCheck,
    sha256: Option<Sha256>,
    pending: Bytes,
    finished: bool,
    delivered: Option<Arc<AtomicU64>>,
}

impl<B> VerifiedBody<B> {
    /// Applies `check` to `inner`.
    pub fn new(inner: B, check: PayloadCheck) -> Self {
        let sha256 = matches!(check.mode, PayloadMode::Sha256(_)).then(Sha256::new);
        Self {
            inner,
            check,
            sha256,
            pending: Bytes::new(),
            finished: false,
            delivered: None,
        }
    }

    /// Adds the length of every payload byte the body yields to `delivered`, so whoever
    /// handed the body on can learn how much of it was read (usage counters, logs).
    #[must_use]
    pub fn counting_into(mut self, delivered: Arc<AtomicU64>) -> Self {
        self.delivered = Some(delivered);
        self
    }

    /// The checked payload mode.
    pub fn mode(&self) -> PayloadMode {
        self.check.mode
    }

    fn on_payload(&mut self, data: &[u8]) {
        if let Some(delivered) = &self.delivered {
            delivered.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        if let Some(hasher) = self.sha256.as_mut() {
            hasher.update(data);
        }
        if let Some((checksummer, _)) = self.check.checksum.as_mut() {
            checksummer.update(data);
        }
    }

    /// Runs the end-of-body checks and builds the trailers frame to yield, if any.
    fn on_end(&mut self) -> Result<Option<HeaderMap>, SigV4Error> {
        if let (Some(hasher), PayloadMode::Sha256(expected)) = (self.sha256.take(), self.check.mode)
            && hasher.finalize().as_slice() != expected
        {
            return Err(SigV4Error::PayloadHashMismatch);
        }
        let mut client_trailers: &[(String, String)] = &[];
        if let Some(decoder) = &self.check.decoder {
            decoder.finish()?;
            client_trailers = decoder.trailers();
        }
        let mut trailers = HeaderMap::new();
        if let Some((checksummer, expected)) = &self.check.checksum {
            let algorithm = checksummer.algorithm();
            let expected = match expected {
                ExpectedChecksum::Value(bytes) => bytes.clone(),
                ExpectedChecksum::Trailer => {
                    let value = client_trailers
                        .iter()
                        .find(|(name, _)| name == algorithm.header_name())
                        .map(|(_, value)| value.as_str())
                        .ok_or_else(|| {
                            SigV4Error::InvalidChecksum(format!(
                                "the trailer {} is missing",
                                algorithm.header_name()
                            ))
                        })?;
                    algorithm.decode(value)?
                }
            };
            if checksummer.finalize() != expected {
                return Err(SigV4Error::ChecksumMismatch(algorithm.name()));
            }
            if let Ok(value) = HeaderValue::try_from(checksummer.finalize_base64()) {
                trailers.insert(algorithm.header_name(), value);
            }
        }
        Ok((!trailers.is_empty()).then_some(trailers))
    }
}

impl<B> Body for VerifiedBody<B>
where
    B: Body + Unpin,
    B::Data: Buf,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if this.finished {
                return Poll::Ready(None);
            }
            // Decode what is left of the last frame before reading another.
            if !this.pending.is_empty() {
                let Some(decoder) = this.check.decoder.as_mut() else {
                    let data = std::mem::take(&mut this.pending);
                    this.on_payload(&data);
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                };
                match decoder.decode(&this.pending) {
                    Ok((consumed, data)) => {
                        let start = consumed - data.len();
                        let out = this.pending.slice(start..consumed);
                        this.pending.advance(consumed);
                        if !out.is_empty() {
                            this.on_payload(&out);
                            return Poll::Ready(Some(Ok(Frame::data(out))));
                        }
                        continue;
                    }
                    Err(e) => {
                        this.finished = true;
                        return Poll::Ready(Some(Err(e.into())));
                    }
                }
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(mut data) = frame.into_data() {
                        this.pending = data.copy_to_bytes(data.remaining());
                    }
                    // Transport-level trailers of the inner body are not part of the payload.
                }
                Some(Err(e)) => {
                    this.finished = true;
                    return Poll::Ready(Some(Err(e.into())));
                }
                None => {
                    this.finished = true;
                    return Poll::Ready(match this.on_end() {
                        Ok(Some(trailers)) => Some(Ok(Frame::trailers(trailers))),
                        Ok(None) => None,
                        Err(e) => Some(Err(e.into())),
                    });
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finished
    }

    fn size_hint(&self) -> SizeHint {
        match &self.check.decoder {
            Some(_) => SizeHint::default(),
            None => self.inner.size_hint(),
        }
    }
}
