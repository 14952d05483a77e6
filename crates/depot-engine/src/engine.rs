//! `Engine`: the handle every caller holds — opening, health, staging, and the plumbing the
//! operations share (blob cleanup, opening an object's segments).

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use depot_migration::{Migrator, MigratorTrait};
use futures_core::Stream;
use sea_orm::DatabaseConnection;

use crate::blob::{BlobId, BlobStore, LocalBlobStore};
use crate::cache::MetadataCache;
use crate::config::{EngineConfig, redact_url_password};
use crate::crypto::{SecretSealer, load_or_create_master_key};
use crate::db;
use crate::error::{BoxError, EngineError};
use crate::reader::OpenSegment;
use crate::repo::objects::Segment;
use crate::stage::{self, StagedBlob};

/// The storage engine: metadata in SQLite or PostgreSQL, bytes on a [`BlobStore`].
///
/// Cheap to clone (an `Arc` inside); every clone is the same engine.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) db: DatabaseConnection,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) sealer: SecretSealer,
    pub(crate) orphan_grace: Duration,
    pub(crate) abandoned_upload_age: Duration,
    /// Present while this process is the database's only writer (see `cache`).
    pub(crate) cache: Option<MetadataCache>,
    /// Limits read for enforcement (see `ops::admin`).
    pub(crate) limits: crate::ops::LimitsCache,
    /// Wakes the replication worker when a write queued a key (see `ops::replication`).
    pub(crate) replication_wakeup: tokio::sync::Notify,
    /// On SQLite, the queue write transactions take turns through (see `db::write_txn`).
    write_gate: Option<tokio::sync::Mutex<()>>,
    /// Held open for the engine's lifetime: the lock that makes it the SQLite database's
    /// only user.
    _exclusive: Option<std::fs::File>,
    /// For `Debug` only, password redacted.
    database: String,
}

impl fmt::Debug for Engine {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Engine")
            .field("database", &self.inner.database)
            .field("blobs", &self.inner.blobs)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the engine: creates `data_dir/{blobs,tmp}`, loads or creates the master key,
    /// connects to the database and migrates it, then sweeps what a previous run may have
    /// left behind (see [`Engine::sweep`]).
    pub async fn open(config: EngineConfig) -> Result<Engine, EngineError> {
        tokio::fs::create_dir_all(&config.data_dir).await?;
        let blobs = LocalBlobStore::open(&config.data_dir).await?;
        Self::open_with_blob_store(config, Arc::new(blobs)).await
    }

    /// Like [`Engine::open`], with the bytes on `blobs` instead of the data directory.
    pub async fn open_with_blob_store(
        config: EngineConfig,
        blobs: Arc<dyn BlobStore>,
    ) -> Result<Engine, EngineError> {
        let master_key = match config.master_key {
            Some(key) => key,
            None => {
                tokio::fs::create_dir_all(&config.data_dir).await?;
                let path = config.data_dir.join("master.key");
                tokio::task::spawn_blocking(move || load_or_create_master_key(&path))
                    .await
                    .map_err(|join_error| {
                        EngineError::Io(io::Error::other(format!(
                            "loading the master key failed: {join_error}"
                        )))
                    })??
            }
        };
        let db = db::connect(&config.database_url).await?;
        // A SQLite file is locked before anything is written to it, under the name SQLite
        // itself resolved (so two spellings of one path meet at one lock); PostgreSQL may be
        // shared by several nodes.
        let (exclusive, cache) = if db::is_postgres(&db) {
            (None, None)
        } else {
            match db::sqlite_main_file(&db).await? {
                Some(path) => (
                    Some(lock_exclusively(path).await?),
                    Some(MetadataCache::new()),
                ),
                // A private in-memory database is this engine's alone; a named, shared one
                // may have other users in the process.
                None if config.database_url.contains("cache=shared") => (None, None),
                None => (None, Some(MetadataCache::new())),
            }
        };
        Migrator::up(&db, None).await?;
        let engine = Engine {
            inner: Arc::new(Inner {
                db,
                blobs,
                sealer: SecretSealer::new(&master_key),
                orphan_grace: config.orphan_grace,
                abandoned_upload_age: config.abandoned_upload_age,
                limits: Default::default(),
                replication_wakeup: tokio::sync::Notify::new(),
                write_gate: cache.is_some().then(|| tokio::sync::Mutex::new(())),
                cache,
                _exclusive: exclusive,
                database: redact_url_password(&config.database_url),
            }),
        };
        let report = engine.sweep().await?;
        tracing::info!(
            staging_files_removed = report.staging_files_removed,
            orphan_blobs_removed = report.orphan_blobs_removed,
            uploads_aborted = report.uploads_aborted,
            "storage engine open"
        );
        Ok(engine)
    }

    /// Readiness: the database answers and the blob store takes writes.
    pub async fn ping(&self) -> Result<(), EngineError> {
        self.inner.db.ping().await?;
        self.inner.blobs.check_writable().await?;
        Ok(())
    }

    /// Streams `body` to a staging file, counting its size and MD5, in bounded memory (one
    /// [`WRITE_BATCH`](crate::WRITE_BATCH) plus the chunk just received).
    ///
    /// Errors: [`EngineError::EntityTooLarge`] once more than `max_size` bytes arrive;
    /// [`EngineError::Body`] with the stream's own error, unchanged, if the stream fails.
    /// The staging file is removed on every error, and when the returned blob is dropped
    /// without being stored.
    pub async fn stage<S, E>(&self, body: S, max_size: u64) -> Result<StagedBlob, EngineError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: Into<BoxError>,
    {
        stage::stage(&self.inner.blobs, body, max_size).await
    }

    /// Whether other engines — other `depot-api` nodes — may write the same database
    /// (PostgreSQL, a shared in-memory SQLite database), rather than this one alone (a SQLite
    /// file, which the engine locks).
    pub fn is_shared(&self) -> bool {
        self.inner.cache.is_none()
    }

    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// A turn to write, on SQLite (first come, first served: tokio's mutex is fair); nothing
    /// to wait for on PostgreSQL, whose writers of one key queue on advisory locks instead.
    pub(crate) async fn write_gate(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.inner.write_gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        }
    }

    /// Removes blobs no row references any more. Best effort: a failure is logged, and the
    /// sweep removes the leftover later.
    pub(crate) async fn remove_blobs(&self, blobs: impl IntoIterator<Item = BlobId>) {
        for blob in blobs {
            if let Err(error) = self.inner.blobs.remove(blob).await {
                tracing::warn!(%blob, %error, "could not remove a blob; the sweep will");
            }
        }
    }

    /// Opens every segment's blob.
    pub(crate) async fn open_segments(&self, segments: &[Segment]) -> io::Result<Vec<OpenSegment>> {
        let mut opened = Vec::with_capacity(segments.len());
        for segment in segments {
            opened.push(OpenSegment {
                handle: self.inner.blobs.open(segment.blob).await?,
                size: segment.size,
            });
        }
        Ok(opened)
    }
}

/// Runs `work` on a task of its own and waits for it.
///
/// A write must not stop between its commit and what has to follow the commit — forgetting
/// the cache entries it changed, removing the blobs it replaced — but a request's future is
/// dropped when its client disconnects, possibly while the commit is already on its way to
/// the database. A spawned task runs to its end either way.
pub(crate) async fn to_completion<T, F>(work: F) -> Result<T, EngineError>
where
    F: std::future::Future<Output = Result<T, EngineError>> + Send + 'static,
    T: Send + 'static,
{
    match tokio::spawn(work).await {
        Ok(outcome) => outcome,
        Err(join_error) if join_error.is_panic() => {
            std::panic::resume_unwind(join_error.into_panic())
        }
        Err(join_error) => Err(EngineError::Io(io::Error::other(format!(
            "a write was cancelled: {join_error}"
        )))),
    }
}

/// Locks `<database>.lock` beside a SQLite database file, so that a second process opening
/// the same database fails at start-up instead of silently sharing it: the engine caches
/// metadata on the strength of being its only writer.
async fn lock_exclusively(database: std::path::PathBuf) -> Result<std::fs::File, EngineError> {
    let locked = tokio::task::spawn_blocking(move || {
        // Symbolic links resolved too, so every way of naming the file finds the same lock.
        let database = std::fs::canonicalize(&database)?;
        let mut name = database.clone().into_os_string();
        name.push(".lock");
        let path = std::path::PathBuf::from(name);
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{} is in use by another process (locked: {})",
                    database.display(),
                    path.display()
                ),
            )),
            Err(std::fs::TryLockError::Error(error)) => Err(error),
        }
    })
    .await
    .map_err(|join_error| {
        EngineError::Io(io::Error::other(format!(
            "locking the database failed: {join_error}"
        )))
    })?;
    Ok(locked?)
}
