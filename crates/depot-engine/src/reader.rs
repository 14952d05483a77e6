//! `ObjectReader`: an object's bytes, from files opened before the first byte is sent.
//!
//! Every segment's blob is opened when the object is opened. An overwrite or delete that
//! commits while a download is in flight removes the blob files, but open files stay
//! readable (POSIX), so the download completes with the bytes it started with — never half
//! of one version and half of another, never an error halfway.
//!
//! Bytes are read in [`READ_BLOCK`] blocks on the blocking pool, one block in flight per
//! stream: memory per download is one block, whatever the object's size.

use std::io;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_core::Stream;

use crate::blob::BlobHandle;

/// How many bytes one read fetches: large enough that per-read overhead vanishes beside the
/// copy, small enough that many concurrent downloads fit in memory.
pub const READ_BLOCK: u64 = 256 * 1024;

/// One open segment of an object.
pub(crate) struct OpenSegment {
    pub(crate) handle: Arc<dyn BlobHandle>,
    pub(crate) size: u64,
}

/// An opened object's data: its segments, in order.
pub struct ObjectReader {
    segments: Arc<[OpenSegment]>,
    size: u64,
}

impl std::fmt::Debug for ObjectReader {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ObjectReader")
            .field("segments", &self.segments.len())
            .field("size", &self.size)
            .finish()
    }
}

impl ObjectReader {
    pub(crate) fn new(segments: Vec<OpenSegment>) -> Self {
        let size = segments.iter().map(|segment| segment.size).sum();
        Self {
            segments: segments.into(),
            size,
        }
    }

    /// The object's length in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The bytes of `range`, in blocks of at most [`READ_BLOCK`], across segment boundaries.
    ///
    /// The range is clamped to the object (`0..u64::MAX` is the whole object); an empty
    /// range is an empty stream. Validating a client's `Range` header — and answering 416 —
    /// is the protocol layer's job. After an error the stream ends.
    pub fn into_stream(
        self,
        range: Range<u64>,
    ) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
        let end = range.end.min(self.size);
        let start = range.start.min(end);
        let cursor = Cursor {
            segments: self.segments,
            index: 0,
            segment_start: 0,
            position: start,
            end,
        };
        futures_util::stream::unfold(cursor, |mut cursor| async move {
            let block = cursor.next_block().await?;
            Some((block, cursor))
        })
    }
}

/// Where a stream is within the object.
struct Cursor {
    segments: Arc<[OpenSegment]>,
    /// The segment that holds `position`, once skipped to.
    index: usize,
    /// The object offset of segment `index`'s first byte.
    segment_start: u64,
    position: u64,
    end: u64,
}

impl Cursor {
    async fn next_block(&mut self) -> Option<io::Result<Bytes>> {
        while self.position < self.end {
            let Some(segment) = self.segments.get(self.index) else {
                // The segments are shorter than their recorded sizes add up to; say so
                // instead of ending early and leaving a client with a short body.
                self.position = self.end;
                return Some(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "object data ends before its recorded size",
                )));
            };
            let segment_end = self.segment_start + segment.size;
            if self.position >= segment_end {
                self.index += 1;
                self.segment_start = segment_end;
                continue;
            }
            let offset = self.position - self.segment_start;
            let len = READ_BLOCK
                .min(segment_end - self.position)
                .min(self.end - self.position);
            let handle = Arc::clone(&segment.handle);
            return match handle.read(offset..offset + len).await {
                Ok(block) => {
                    self.position += len;
                    Some(Ok(block))
                }
                Err(error) => {
                    self.position = self.end;
                    Some(Err(error))
                }
            };
        }
        None
    }
}
