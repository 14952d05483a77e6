//! Depot's storage engine: object metadata in SQLite or PostgreSQL through sea-orm, object
//! bytes on a [`BlobStore`], multipart uploads, users and encrypted access keys. It knows
//! nothing of HTTP; `depot-store` speaks S3 on top of it.
//!
//! # Bytes first, then one transaction, then cleanup
//!
//! Every write has the same three steps. The body is streamed to a staging file
//! ([`Engine::stage`]) and, once complete and synced, renamed to a blob under a random
//! 128-bit id. Then **one** database transaction checks everything (the bucket exists, the
//! write condition holds, the upload belongs to this key) and records the result. Only after
//! it commits are the blobs it stopped referencing removed. A failure removes the new blob;
//! a crash between steps leaves only files no row references, which [`Engine::sweep`]
//! removes after a grace period. So an acknowledged write survives a crash and a failed one
//! leaves nothing visible.
//!
//! # The database decides races
//!
//! Conditional writes are decided inside the writing transaction, never by a read made
//! beforehand. On SQLite, `BEGIN IMMEDIATE` makes write transactions serial. On PostgreSQL,
//! writers of one key queue on an advisory lock named after it, object writers hold
//! `FOR KEY SHARE` on their bucket's row (so a bucket cannot be deleted under them), and the
//! unique index on `(bucket_id, key)` is the backstop: a transaction that loses a race
//! anyway is run again and sees the winner. Sixteen `If-None-Match: *` writers of one key
//! produce exactly one object. Bucket counters are updated in the same transaction with
//! `SET n = n + delta`, so they are exact.
//!
//! # Keys are bytes, listings are range scans
//!
//! Keys are stored as bytes, so both databases order them as S3 does (UTF-8 binary), and
//! every listing page is a few range scans of the unique index — with a delimiter, a rolled
//! up common prefix is skipped with one jump past it rather than walked. A page costs the
//! same in a bucket of ten thousand keys or a billion.
//!
//! # Multipart without copying
//!
//! Each part is its own blob; an object is a list of segments. Completing an upload points
//! the object's segments at the parts' blobs in the completing transaction: no byte moves.
//!
//! # Bounded memory by construction
//!
//! Uploads pass through [`WRITE_BATCH`] bytes at a time (plus the chunk just received);
//! downloads read [`READ_BLOCK`] bytes at a time, reading one block ahead of the one being
//! sent (at most three blocks per download). Nothing ever holds a whole object larger than a
//! block. Listings hold one page; the sweep one shard of blob ids.
//!
//! # Metadata cached where it is safe
//!
//! On SQLite — one process's database, locked at open — access keys, buckets and object
//! metadata are cached in memory and forgotten by every write that changes them, so a GET
//! usually makes no database query. On PostgreSQL, which several nodes may share, every
//! request reads the database (see `cache`) — except the limits read for enforcement, kept for
//! two seconds on every backend.
//!
//! # Keys never become paths; secrets never rest in clear
//!
//! Blob files are named by the engine (`blobs/ab/cd/<32 hex>`), so `../../etc/passwd` is
//! just a key in a row. Secret access keys are sealed with XChaCha20-Poly1305 under a master
//! key (configuration or `data_dir/master.key`), bound to their access key id.

mod blob;
mod cache;
mod config;
mod crypto;
mod db;
mod engine;
mod entity;
mod error;
mod listing;
mod ops;
mod reader;
mod repo;
mod stage;
mod types;
mod usage;

pub use blob::{
    BlobHandle, BlobId, BlobStore, InvalidBlobId, LocalBlobStore, StagingId, StagingWriter,
};
pub use config::{
    DEFAULT_DATA_DIR, EngineConfig, InvalidMasterKey, parse_master_key, redact_url_password,
};
pub use engine::Engine;
pub use error::{BoxError, EngineError};
pub use ops::{MAX_COPY_SIZE, MAX_PART_NUMBER, MIN_PART_SIZE};
pub use reader::{ObjectReader, READ_BLOCK};
pub use stage::{StagedBlob, WRITE_BATCH};
pub use types::{
    AccountRecord, BucketIdentity, BucketInfo, BucketOwner, KeyPairInfo, KeyRecord, ListPage,
    ListQuery, ListedObject, ObjectAttributes, ObjectInfo, PartInfo, PartsPage,
    ReplicationOperation, ReplicationOutcome, ReplicationTask, RootUser, SizeHistory,
    StorageTotals, SweepReport, UploadInfo, UploadsPage, UploadsQuery, UsageReport, UserRecord,
    WriteCondition,
};
pub use usage::{UsageMeter, UsageMeterConfig};
