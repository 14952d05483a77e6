//! `LocalBlobStore`: blobs as files under the data directory, the embedded default.
//!
//! Layout: `tmp/<32 hex>` for staging files, `blobs/<2 hex>/<2 hex>/<32 hex>` for committed
//! blobs. The two levels of 256 directories keep any one directory small (a million blobs
//! put about 15 files in each leaf). Every name is one the engine generated, so no client
//! input reaches a path. All file I/O runs on tokio's blocking pool, never on the async
//! threads.

use std::fs::{self, File};
use std::io::{self, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use rand::RngCore;
use rand::rngs::OsRng;

use super::{BlobHandle, BlobId, BlobStore, StagingId, StagingWriter};
use crate::crypto::sync_parent;

/// Blobs as files under a data directory.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    blobs: PathBuf,
    staging: PathBuf,
}

impl LocalBlobStore {
    /// Opens (creating if needed) `data_dir/blobs` and `data_dir/tmp`.
    ///
    /// `tmp/` must be on the same file system as `blobs/`: commit is a rename.
    pub async fn open(data_dir: &Path) -> io::Result<Self> {
        let store = Self {
            blobs: data_dir.join("blobs"),
            staging: data_dir.join("tmp"),
        };
        let dirs = store.clone();
        blocking(move || {
            fs::create_dir_all(&dirs.blobs)?;
            fs::create_dir_all(&dirs.staging)
        })
        .await?;
        Ok(store)
    }

    fn blob_path(&self, blob: BlobId) -> PathBuf {
        let name = blob.to_string();
        self.blobs.join(&name[0..2]).join(&name[2..4]).join(name)
    }

    fn staging_path(&self, staging: &StagingId) -> PathBuf {
        self.staging.join(&staging.0)
    }
}

/// Runs blocking file-system work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|join_error| io::Error::other(format!("blob I/O task failed: {join_error}")))?
}

fn random_name() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    format!("{:032x}", u128::from_be_bytes(bytes))
}

/// When the file was last written, for the sweep's age test.
fn modified(path: &Path) -> io::Result<SystemTime> {
    fs::metadata(path)?.modified()
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn create_staging(&self) -> io::Result<Box<dyn StagingWriter>> {
        let id = StagingId(random_name());
        let path = self.staging_path(&id);
        let file =
            blocking(move || File::options().write(true).create_new(true).open(path)).await?;
        Ok(Box::new(LocalStagingWriter {
            id,
            file: Some(file),
        }))
    }

    async fn commit(&self, staging: &StagingId, blob: BlobId) -> io::Result<()> {
        let from = self.staging_path(staging);
        let to = self.blob_path(blob);
        let blobs_root = self.blobs.clone();
        blocking(move || {
            let leaf = to
                .parent()
                .ok_or_else(|| io::Error::other("blob path has no parent"))?;
            let created_dirs = !leaf.exists();
            fs::create_dir_all(leaf)?;
            fs::rename(&from, &to)?;
            // The rename is durable once the directory that gained the entry is synced; new
            // shard directories need their own parents synced for the same reason.
            sync_parent(&to)?;
            if created_dirs {
                sync_parent(leaf)?;
                if let Some(middle) = leaf.parent() {
                    sync_parent(middle)?;
                }
                File::open(&blobs_root)?.sync_all()?;
            }
            Ok(())
        })
        .await
    }

    fn discard_staging(&self, staging: &StagingId) {
        if let Err(error) = fs::remove_file(self.staging_path(staging))
            && error.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(staging = %staging.0, %error, "could not remove a staging file; the sweep will");
        }
    }

    async fn open(&self, blob: BlobId) -> io::Result<Arc<dyn BlobHandle>> {
        let path = self.blob_path(blob);
        let file = blocking(move || File::open(path)).await?;
        Ok(Arc::new(LocalBlobHandle {
            file: Arc::new(file),
        }))
    }

    async fn remove(&self, blob: BlobId) -> io::Result<()> {
        let path = self.blob_path(blob);
        blocking(move || match fs::remove_file(path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        })
        .await
    }

    async fn sweep_staging(&self, cutoff: SystemTime) -> io::Result<u64> {
        let staging = self.staging.clone();
        blocking(move || {
            let mut removed = 0;
            for entry in fs::read_dir(&staging)? {
                let path = entry?.path();
                // A file may vanish between listing and looking (a commit renames it away);
                // that is not an error, just not ours to sweep.
                match modified(&path) {
                    Ok(written) if written < cutoff => {}
                    _ => continue,
                }
                match fs::remove_file(&path) {
                    Ok(()) => removed += 1,
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                    Err(error) => return Err(error),
                }
            }
            Ok(removed)
        })
        .await
    }

    fn shard_count(&self) -> u32 {
        256
    }

    async fn list_shard(&self, shard: u32, cutoff: SystemTime) -> io::Result<Vec<BlobId>> {
        let shard_dir = self.blobs.join(format!("{:02x}", shard & 0xff));
        blocking(move || {
            let mut found = Vec::new();
            let leaves = match fs::read_dir(&shard_dir) {
                Ok(leaves) => leaves,
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(found),
                Err(error) => return Err(error),
            };
            for leaf in leaves {
                let leaf = leaf?.path();
                if !leaf.is_dir() {
                    continue;
                }
                for entry in fs::read_dir(&leaf)? {
                    let path = entry?.path();
                    // Only names the store itself could have written count as blobs; anything
                    // else in the tree is left alone rather than guessed at.
                    let Some(blob) = path
                        .file_name()
                        .and_then(|name| name.to_str())
                        .and_then(|name| name.parse::<BlobId>().ok())
                    else {
                        continue;
                    };
                    if matches!(modified(&path), Ok(written) if written < cutoff) {
                        found.push(blob);
                    }
                }
            }
            Ok(found)
        })
        .await
    }

    async fn check_writable(&self) -> io::Result<()> {
        let probe = self.staging.join(format!("probe-{}", random_name()));
        blocking(move || {
            let written = File::options()
                .write(true)
                .create_new(true)
                .open(&probe)
                .and_then(|mut file| file.write_all(b"depot readiness probe"));
            let removed = fs::remove_file(&probe);
            written.and(removed)
        })
        .await
    }
}

/// A staging file being written.
struct LocalStagingWriter {
    id: StagingId,
    /// Taken while a blocking write owns it, and for good by `finish`.
    file: Option<File>,
}

#[async_trait]
impl StagingWriter for LocalStagingWriter {
    fn id(&self) -> &StagingId {
        &self.id
    }

    async fn write(&mut self, chunks: Vec<Bytes>) -> io::Result<()> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("staging file used after a failed write"))?;
        let file = blocking(move || {
            for chunk in &chunks {
                file.write_all(chunk)?;
            }
            Ok(file)
        })
        .await?;
        self.file = Some(file);
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> io::Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("staging file used after a failed write"))?;
        // `sync_data` flushes the bytes and the length; the name becomes durable at commit.
        blocking(move || file.sync_data()).await
    }
}

/// An open blob file. Kept open, it stays readable even after the blob is removed.
struct LocalBlobHandle {
    file: Arc<File>,
}

#[async_trait]
impl BlobHandle for LocalBlobHandle {
    async fn read(&self, range: Range<u64>) -> io::Result<Bytes> {
        let len = usize::try_from(range.end.saturating_sub(range.start))
            .map_err(|_| io::Error::other("read range does not fit in memory"))?;
        let file = Arc::clone(&self.file);
        blocking(move || {
            let mut buffer = vec![0u8; len];
            // Positioned reads share the file descriptor without a seek position, so several
            // downloads of one blob never disturb each other.
            file.read_exact_at(&mut buffer, range.start)?;
            Ok(Bytes::from(buffer))
        })
        .await
    }
}
