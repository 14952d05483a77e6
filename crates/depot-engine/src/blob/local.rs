//! `LocalBlobStore`: blobs as files under the data directory, the embedded default.
//!
//! Layout: `tmp/<32 hex>` for staging files, `blobs/<2 hex>/<2 hex>/<32 hex>` for committed
//! blobs. The two levels of 256 directories keep any one directory small (a million blobs
//! put about 15 files in each leaf). Every name is one the engine generated, so no client
//! input reaches a path. All file I/O runs on tokio's blocking pool, never on the async
//! threads.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use rand::RngCore;
use rand::rngs::OsRng;

use super::{BlobHandle, BlobId, BlobStore, StagingId, StagingWriter};
use crate::crypto::sync_parent;

/// Blobs up to this size are read on the calling thread when the kernel can serve the whole
/// read from its caches (see [`cached`]): for a small object the hand-off to the blocking pool
/// and back costs more than the read.
const CACHED_READ_LIMIT: u64 = 64 * 1024;

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
            file: Arc::new(Mutex::new(file)),
        }))
    }

    async fn read_whole(&self, blob: BlobId, len: u64) -> io::Result<Bytes> {
        let path = self.blob_path(blob);
        if len <= CACHED_READ_LIMIT
            && let Some(read) = cached::read_whole(&path, len)
        {
            return read;
        }
        blocking(move || read_exactly(&mut File::open(path)?, len)).await
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
///
/// The lock makes each read's seek and read one step: a handle belongs to one download, so
/// it is never contended, but the trait allows reads from several tasks.
struct LocalBlobHandle {
    file: Arc<Mutex<File>>,
}

#[async_trait]
impl BlobHandle for LocalBlobHandle {
    async fn read(&self, range: Range<u64>) -> io::Result<Bytes> {
        let file = Arc::clone(&self.file);
        blocking(move || {
            let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            file.seek(SeekFrom::Start(range.start))?;
            read_exactly(&mut file, range.end.saturating_sub(range.start))
        })
        .await
    }
}

/// Reads exactly `len` bytes into a fresh buffer, without zero-filling it first (`read_to_end`
/// reads into the vector's spare capacity); fewer bytes is `UnexpectedEof`.
fn read_exactly(file: &mut File, len: u64) -> io::Result<Bytes> {
    let capacity =
        usize::try_from(len).map_err(|_| io::Error::other("read range does not fit in memory"))?;
    let mut buffer = Vec::with_capacity(capacity);
    file.take(len).read_to_end(&mut buffer)?;
    if buffer.len() != capacity {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "blob is shorter than the range read",
        ));
    }
    Ok(Bytes::from(buffer))
}

/// Reads that never wait for the disk: `openat2(RESOLVE_CACHED)` resolves the path only from
/// the dentry cache and `preadv2(RWF_NOWAIT)` reads only from the page cache, each failing
/// with `EAGAIN` instead of blocking. So a small, recently used blob is read on the async
/// thread in a few microseconds, and anything else — a cold blob, an older kernel, another
/// system — goes to the blocking pool as before (`None`).
#[cfg(target_os = "linux")]
mod cached {
    use std::io;
    use std::path::Path;

    use bytes::Bytes;
    use rustix::fs::{CWD, Mode, OFlags, ResolveFlags, openat2};
    use rustix::io::{Errno, IoSliceMut, ReadWriteFlags, preadv2};

    /// Whether the blocking path should try again after `errno`: for anything but a file that
    /// is not there. EAGAIN means "not cached"; ENOSYS, EINVAL, EOPNOTSUPP a kernel or file
    /// system without openat2, RESOLVE_CACHED or RWF_NOWAIT; EPERM a sandbox that forbids
    /// them — none of which a GET should fail for.
    fn must_block(errno: Errno) -> bool {
        errno != Errno::NOENT
    }

    pub(super) fn read_whole(path: &Path, len: u64) -> Option<io::Result<Bytes>> {
        let len = usize::try_from(len).ok()?;
        let file = match openat2(
            CWD,
            path,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::CACHED,
        ) {
            Ok(file) => file,
            Err(errno) if must_block(errno) => return None,
            Err(errno) => return Some(Err(errno.into())),
        };
        let mut buffer = vec![0u8; len];
        let mut filled = 0;
        while filled < len {
            let mut slices = [IoSliceMut::new(&mut buffer[filled..])];
            match preadv2(&file, &mut slices, filled as u64, ReadWriteFlags::NOWAIT) {
                Ok(0) => {
                    return Some(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "blob is shorter than the range read",
                    )));
                }
                Ok(read) => filled += read,
                Err(Errno::INTR) => {}
                Err(errno) if must_block(errno) => return None,
                Err(errno) => return Some(Err(errno.into())),
            }
        }
        Some(Ok(Bytes::from(buffer)))
    }
}

/// Elsewhere every read goes to the blocking pool.
#[cfg(not(target_os = "linux"))]
mod cached {
    use std::io;
    use std::path::Path;

    use bytes::Bytes;

    pub(super) fn read_whole(_path: &Path, _len: u64) -> Option<io::Result<Bytes>> {
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn cached_reads_serve_hot_files_and_report_missing_and_short_ones() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("blob");
        fs::write(&path, b"hot bytes").expect("write");
        // Just written, so in the page cache: served without the blocking pool.
        let read = cached::read_whole(&path, 9).expect("a cached file is read in place");
        assert_eq!(read.expect("read"), Bytes::from_static(b"hot bytes"));
        let short = cached::read_whole(&path, 10).expect("cached");
        assert_eq!(
            short.expect_err("too short").kind(),
            io::ErrorKind::UnexpectedEof
        );
        // A name never looked up is not in the dentry cache: the slow path decides.
        if let Some(missing) = cached::read_whole(&dir.path().join("missing"), 1) {
            assert_eq!(
                missing.expect_err("missing").kind(),
                io::ErrorKind::NotFound
            );
        }
    }
}
