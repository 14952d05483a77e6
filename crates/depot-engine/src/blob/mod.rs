//! Where object bytes live: the `BlobStore` seam and the ids the engine gives blobs.
//!
//! A blob is an immutable run of bytes under a name the engine chose — 128 random bits in
//! hex — so nothing a client sends ever becomes part of a path (see `depot_domain::ObjectKey`).
//! Bytes arrive in a *staging* area first and are *committed* under a blob id only once they
//! are complete and durable; the metadata row that references the blob is written after that.
//! So a crash leaves at worst a staging file or an unreferenced blob, which the sweep removes,
//! never a row pointing at missing bytes.

mod local;

use std::fmt;
use std::io;
use std::ops::Range;
use std::str::FromStr;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use rand::RngCore;
use rand::rngs::OsRng;

pub use local::LocalBlobStore;

/// The name of a committed blob: 128 random bits, written as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobId(u128);

impl BlobId {
    /// A fresh id from the operating system's CSPRNG; collisions are as likely as guessing a
    /// 128-bit key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        OsRng.fill_bytes(&mut bytes);
        Self(u128::from_be_bytes(bytes))
    }

    /// The id's 16 bytes, most significant first (the order of the hex form).
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:032x}", self.0)
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "BlobId({self})")
    }
}

/// The text is not 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a blob id is exactly 32 lowercase hex digits")]
pub struct InvalidBlobId;

impl FromStr for BlobId {
    type Err = InvalidBlobId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // `from_str_radix` alone would accept a sign and uppercase digits; the id must have one
        // spelling so that the name on disk and the value in the database always agree.
        if text.len() != 32 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(InvalidBlobId);
        }
        u128::from_str_radix(text, 16)
            .map(Self)
            .map_err(|_| InvalidBlobId)
    }
}

/// The name of a staging file: opaque to the engine, chosen by the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StagingId(pub String);

/// Storage for blobs: a staging area for bytes on their way in, and committed blobs.
///
/// Implementations must make [`BlobStore::commit`] durable before returning (the engine
/// writes the referencing row next, and an acknowledged write must survive a crash), and must
/// keep an opened [`BlobHandle`] readable after [`BlobStore::remove`] (an overwrite must not
/// break a download in flight — POSIX gives this for open files).
#[async_trait]
pub trait BlobStore: Send + Sync + fmt::Debug + 'static {
    /// Starts a staging file for an incoming body.
    async fn create_staging(&self) -> io::Result<Box<dyn StagingWriter>>;

    /// Moves a finished staging file to the committed blob `blob`, durably.
    async fn commit(&self, staging: &StagingId, blob: BlobId) -> io::Result<()>;

    /// Removes a staging file that will not be committed. Synchronous because it runs from
    /// `Drop` of an abandoned [`StagedBlob`](crate::StagedBlob); it must be quick and must not
    /// fail loudly (a leftover is swept later).
    fn discard_staging(&self, staging: &StagingId);

    /// Opens a committed blob for reading. A missing blob is `io::ErrorKind::NotFound`.
    async fn open(&self, blob: BlobId) -> io::Result<Arc<dyn BlobHandle>>;

    /// Reads all `len` bytes of a committed blob at once — for small blobs, where opening,
    /// reading and closing in one step saves trips to the blocking pool. A missing blob is
    /// `io::ErrorKind::NotFound`, a shorter one `io::ErrorKind::UnexpectedEof`.
    async fn read_whole(&self, blob: BlobId, len: u64) -> io::Result<Bytes> {
        self.open(blob).await?.read(0..len).await
    }

    /// Removes a committed blob; removing one that does not exist is not an error.
    async fn remove(&self, blob: BlobId) -> io::Result<()>;

    /// Removes staging files last written before `cutoff`; returns how many.
    async fn sweep_staging(&self, cutoff: SystemTime) -> io::Result<u64>;

    /// The number of shards [`BlobStore::list_shard`] splits the blobs into, so a sweep holds
    /// one shard's ids in memory at a time.
    fn shard_count(&self) -> u32;

    /// The committed blobs of one shard last written before `cutoff`.
    async fn list_shard(&self, shard: u32, cutoff: SystemTime) -> io::Result<Vec<BlobId>>;

    /// Checks that the store can take writes (for readiness probes).
    async fn check_writable(&self) -> io::Result<()>;
}

/// Receives an incoming body in a staging file.
#[async_trait]
pub trait StagingWriter: Send {
    /// The staging file's name, for [`BlobStore::commit`] and [`BlobStore::discard_staging`].
    fn id(&self) -> &StagingId;

    /// Appends `chunks`, in order.
    async fn write(&mut self, chunks: Vec<Bytes>) -> io::Result<()>;

    /// Makes everything written durable and closes the file.
    async fn finish(self: Box<Self>) -> io::Result<()>;
}

/// An open committed blob.
#[async_trait]
pub trait BlobHandle: Send + Sync {
    /// Reads exactly `range` of the blob; a blob shorter than `range.end` is
    /// `io::ErrorKind::UnexpectedEof`.
    async fn read(&self, range: Range<u64>) -> io::Result<Bytes>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_have_one_spelling() {
        let id = BlobId::generate();
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(text.parse::<BlobId>(), Ok(id));
        assert_eq!(
            "0000000000000000000000000000002a"
                .parse::<BlobId>()
                .map(|id| id.to_string()),
            Ok("0000000000000000000000000000002a".to_owned())
        );
        for bad in [
            "",
            "+000000000000000000000000000002a",
            "0000000000000000000000000000002A",
            "../../../../../../../etc/passwd0",
            "0000000000000000000000000000002a0",
        ] {
            assert_eq!(bad.parse::<BlobId>(), Err(InvalidBlobId), "{bad:?}");
        }
    }
}
