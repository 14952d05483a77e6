//! `ObjectReader`: an object's bytes, from files opened before the first byte is sent.
//!
//! Every segment's blob is opened when the object is opened. An overwrite or delete that
//! commits while a download is in flight removes the blob files, but open files stay
//! readable (POSIX), so the download completes with the bytes it started with — never half
//! of one version and half of another, never an error halfway. An object of at most
//! [`READ_BLOCK`] bytes in one blob is read whole when it is opened instead — one trip to the
//! blocking pool for open, read and close — and is then served from memory.
//!
//! Larger objects are read in [`READ_BLOCK`] blocks on the blocking pool, the next block
//! read while the current one is being sent: memory per download is at most
//! [`READ_BLOCK`] × 3 (the block the connection is writing, the one ready, the one being
//! read), whatever the object's size.

use std::io;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_core::Stream;
use tokio::task::JoinHandle;

use crate::blob::BlobHandle;

/// How many bytes one read fetches: large enough that the per-read hand-off to the blocking
/// pool vanishes beside the copy, small enough that many concurrent downloads fit in memory.
pub const READ_BLOCK: u64 = 1024 * 1024;

/// One open segment of an object.
pub(crate) struct OpenSegment {
    pub(crate) handle: Arc<dyn BlobHandle>,
    pub(crate) size: u64,
}

/// Where an opened object's bytes are.
enum Source {
    /// A small object, read whole when it was opened.
    Loaded(Bytes),
    /// Open segments, in order.
    Segments(Arc<[OpenSegment]>),
}

/// An opened object's data.
pub struct ObjectReader {
    source: Source,
    size: u64,
}

impl std::fmt::Debug for ObjectReader {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let segments = match &self.source {
            Source::Loaded(_) => 0,
            Source::Segments(segments) => segments.len(),
        };
        formatter
            .debug_struct("ObjectReader")
            .field("segments", &segments)
            .field("size", &self.size)
            .finish()
    }
}

impl ObjectReader {
    pub(crate) fn new(segments: Vec<OpenSegment>) -> Self {
        let size = segments.iter().map(|segment| segment.size).sum();
        Self {
            source: Source::Segments(segments.into()),
            size,
        }
    }

    /// A reader over bytes already in memory.
    pub(crate) fn loaded(bytes: Bytes) -> Self {
        Self {
            size: bytes.len() as u64,
            source: Source::Loaded(bytes),
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
        let cursor = match self.source {
            Source::Loaded(bytes) => Cursor::Loaded(
                // Both bounds are within `bytes`, whose length is `self.size`.
                Some(bytes.slice(start as usize..end as usize)).filter(|bytes| !bytes.is_empty()),
            ),
            Source::Segments(segments) => Cursor::Blocks(BlockCursor {
                segments,
                index: 0,
                segment_start: 0,
                position: start,
                end,
                ahead: None,
            }),
        };
        futures_util::stream::unfold(cursor, |mut cursor| async move {
            let block = match &mut cursor {
                Cursor::Loaded(bytes) => bytes.take().map(Ok),
                Cursor::Blocks(blocks) => blocks.next_block().await,
            }?;
            Some((block, cursor))
        })
    }
}

enum Cursor {
    Loaded(Option<Bytes>),
    Blocks(BlockCursor),
}

/// A block being read on a task of its own, aborted if the download is dropped first. (A read
/// already running on the blocking pool finishes and is thrown away: at most one block per
/// abandoned download.)
struct ReadAhead(JoinHandle<io::Result<Bytes>>);

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Where a stream over open segments is.
struct BlockCursor {
    segments: Arc<[OpenSegment]>,
    /// The segment that holds `position`, once skipped to.
    index: usize,
    /// The object offset of segment `index`'s first byte.
    segment_start: u64,
    /// The first byte not yet asked for.
    position: u64,
    end: u64,
    /// The next block, already being read (or the error that stopped it from starting).
    ahead: Option<io::Result<ReadAhead>>,
}

impl BlockCursor {
    async fn next_block(&mut self) -> Option<io::Result<Bytes>> {
        let mut current = match self.ahead.take().or_else(|| self.start_read())? {
            Ok(current) => current,
            Err(error) => {
                self.position = self.end;
                return Some(Err(error));
            }
        };
        // Read the following block while this one is sent (an error waits its turn).
        self.ahead = self.start_read();
        let block = match (&mut current.0).await {
            Ok(block) => block,
            Err(join_error) => Err(io::Error::other(format!(
                "reading a block failed: {join_error}"
            ))),
        };
        if block.is_err() {
            self.position = self.end;
            self.ahead = None;
        }
        Some(block)
    }

    /// Starts reading the block at `position`, advancing past it; `None` at the end.
    fn start_read(&mut self) -> Option<io::Result<ReadAhead>> {
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
            self.position += len;
            let handle = Arc::clone(&segment.handle);
            return Some(Ok(ReadAhead(tokio::spawn(async move {
                handle.read(offset..offset + len).await
            }))));
        }
        None
    }
}
