//! Staging: an incoming body streamed to a staging file while its size and MD5 are counted.
//!
//! # Bounded memory
//!
//! A body of any size is held in memory at most [`WRITE_BATCH`] bytes at a time, plus the one
//! chunk the stream has just yielded (its size is the producer's: hyper yields frames of tens
//! of KiB): chunks are gathered until the batch is full, then written and hashed — on the
//! blocking pool, the write and the MD5 side by side — before the next chunk is pulled. The
//! stream is not polled while a batch is being written, so a fast client cannot run ahead of
//! the disk; that is the back-pressure.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use md5::{Digest, Md5};

use crate::blob::{BlobId, BlobStore, StagingId};
use crate::error::{BoxError, EngineError};

/// How many bytes of a body are gathered before one write to the staging file.
pub const WRITE_BATCH: usize = 1024 * 1024;

/// A body received in full and durably staged, not yet part of any object.
///
/// Give it to [`Engine::put_object`](crate::Engine::put_object) or
/// [`Engine::upload_part`](crate::Engine::upload_part); dropping it instead removes the
/// staging file.
pub struct StagedBlob {
    /// The body's length in bytes.
    pub size: u64,
    /// The MD5 of the body: the ETag of a single-part object, and what `Content-MD5` is
    /// checked against.
    pub md5: [u8; 16],
    /// `None` once committed (or handed to a commit that is under way).
    staging: Option<StagingId>,
    store: Arc<dyn BlobStore>,
}

impl StagedBlob {
    /// The MD5 as 32 lowercase hex digits: the bare ETag of a single-part object.
    pub fn md5_hex(&self) -> String {
        hex::encode(self.md5)
    }

    /// Moves the bytes to a fresh committed blob. On failure the staging file is removed.
    pub(crate) async fn commit(mut self) -> Result<BlobId, EngineError> {
        let Some(staging) = self.staging.take() else {
            return Err(EngineError::Io(std::io::Error::other(
                "a staged blob was committed twice",
            )));
        };
        let blob = BlobId::generate();
        match self.store.commit(&staging, blob).await {
            Ok(()) => Ok(blob),
            Err(error) => {
                self.store.discard_staging(&staging);
                Err(EngineError::Io(error))
            }
        }
    }
}

impl Drop for StagedBlob {
    fn drop(&mut self) {
        if let Some(staging) = self.staging.take() {
            self.store.discard_staging(&staging);
        }
    }
}

impl fmt::Debug for StagedBlob {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("StagedBlob")
            .field("size", &self.size)
            .field("md5", &self.md5_hex())
            .field("staging", &self.staging)
            .finish()
    }
}

/// Streams `body` into a new staging file of `store`; see the module documentation for the
/// memory bound. A body longer than `max_size` is [`EngineError::EntityTooLarge`] as soon as
/// the limit is passed; a stream error is [`EngineError::Body`] with the stream's error as is.
/// Whatever goes wrong, the staging file is removed.
pub(crate) async fn stage<S, E>(
    store: &Arc<dyn BlobStore>,
    mut body: S,
    max_size: u64,
) -> Result<StagedBlob, EngineError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: Into<BoxError>,
{
    let mut writer = store.create_staging().await?;
    // Owning the staging id from the start makes every early return below clean up.
    let mut staged = StagedBlob {
        size: 0,
        md5: [0; 16],
        staging: Some(writer.id().clone()),
        store: Arc::clone(store),
    };
    let mut md5 = Md5::new();
    let mut batch = Vec::new();
    let mut batch_len = 0usize;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|error| EngineError::Body(error.into()))?;
        staged.size = staged
            .size
            .checked_add(chunk.len() as u64)
            .filter(|size| *size <= max_size)
            .ok_or(EngineError::EntityTooLarge)?;
        batch_len += chunk.len();
        batch.push(chunk);
        if batch_len >= WRITE_BATCH {
            md5 = write_and_hash(writer.as_mut(), md5, std::mem::take(&mut batch)).await?;
            batch_len = 0;
        }
    }
    if !batch.is_empty() {
        md5 = write_and_hash(writer.as_mut(), md5, batch).await?;
    }
    writer.finish().await?;
    staged.md5 = md5.finalize().into();
    Ok(staged)
}

/// Writes `batch` and feeds it to `md5` at the same time, on two blocking threads.
async fn write_and_hash(
    writer: &mut dyn crate::blob::StagingWriter,
    mut md5: Md5,
    batch: Vec<Bytes>,
) -> Result<Md5, EngineError> {
    // `Bytes` clones share the buffers, so hashing needs no copy of the data.
    let to_hash = batch.clone();
    let hashing = tokio::task::spawn_blocking(move || {
        for chunk in &to_hash {
            md5.update(chunk);
        }
        md5
    });
    writer.write(batch).await?;
    hashing.await.map_err(|join_error| {
        EngineError::Io(std::io::Error::other(format!(
            "hashing task failed: {join_error}"
        )))
    })
}
