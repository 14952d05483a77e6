//! Bucket replication: the settings of a bucket, and the durable queue a replication worker
//! drains (the worker itself, which talks to the destination, lives above the engine).
//!
//! Every object write or delete in a replicated bucket that an enabled rule covers queues its
//! key in the same transaction that records it, so nothing written is missed by a crash; the
//! object row carries `PENDING` until a worker reports the copy done.

use std::time::Duration;

use depot_domain::{
    BucketName, ObjectKey, RemoteEndpoint, ReplicationConfiguration, ReplicationSettings,
    ReplicationStatus,
};
use sea_orm::DatabaseTransaction;
use sea_orm::sea_query::LockType;

use crate::db::write_txn;
use crate::engine::{Engine, to_completion};
use crate::error::EngineError;
use crate::repo::replication::{self as queue, StoredSettings};
use crate::repo::{buckets, corrupt, now, parse_bucket_name, parse_key};
use crate::types::{BucketInfo, ReplicationOperation, ReplicationOutcome, ReplicationTask};

/// The associated data a bucket's remote secret is sealed with: the secret cannot be moved to
/// another bucket's row and still open.
fn seal_context(bucket_id: i64) -> String {
    format!("replication:{bucket_id}")
}

impl Engine {
    /// Stores the replication settings of `bucket`, replacing any. Only keys written from now
    /// on are replicated; entries already queued are retried at once with the new settings.
    ///
    /// Errors: [`EngineError::NoSuchBucket`].
    pub async fn set_replication(
        &self,
        bucket: &BucketName,
        settings: &ReplicationSettings,
    ) -> Result<(), EngineError> {
        let (engine, bucket, settings) = (self.clone(), bucket.clone(), settings.clone());
        to_completion(async move {
            write_txn!(engine, |txn| async {
                let info = buckets::get(&txn, &bucket, Some(LockType::KeyShare)).await?;
                let stored = StoredSettings {
                    config: settings.config.clone(),
                    endpoint: settings.remote.as_ref().map(|r| r.endpoint.clone()),
                    access_key: settings.remote.as_ref().map(|r| r.access_key.clone()),
                    sealed_secret: settings
                        .remote
                        .as_ref()
                        .map(|r| engine.inner.sealer.seal(&seal_context(info.id), &r.secret))
                        .transpose()?,
                };
                queue::store(&txn, info.id, &stored, now()).await
            }
            .await)?;
            engine.wake_replication();
            Ok(())
        })
        .await
    }

    /// The replication settings of `bucket`, the remote secret unsealed.
    ///
    /// Errors: [`EngineError::NoSuchBucket`], [`EngineError::NoSuchReplicationConfiguration`].
    pub async fn replication(
        &self,
        bucket: &BucketName,
    ) -> Result<ReplicationSettings, EngineError> {
        let info = self.bucket_identity(bucket).await?;
        let stored = queue::settings(self.db(), info.id)
            .await?
            .ok_or(EngineError::NoSuchReplicationConfiguration)?;
        let remote = match (stored.endpoint, stored.access_key, stored.sealed_secret) {
            (Some(endpoint), Some(access_key), Some(sealed)) => Some(RemoteEndpoint {
                endpoint,
                access_key,
                secret: self.inner.sealer.open(&seal_context(info.id), &sealed)?,
            }),
            (None, None, None) => None,
            _ => {
                return Err(corrupt(format!(
                    "replication settings of bucket {bucket}: a partial remote endpoint"
                )));
            }
        };
        Ok(ReplicationSettings {
            config: stored.config,
            remote,
        })
    }

    /// Removes the replication settings of `bucket` and what is still queued for it; objects
    /// still `PENDING` become `FAILED`.
    ///
    /// Errors: [`EngineError::NoSuchBucket`], [`EngineError::NoSuchReplicationConfiguration`].
    pub async fn delete_replication(&self, bucket: &BucketName) -> Result<(), EngineError> {
        let (engine, bucket) = (self.clone(), bucket.clone());
        to_completion(async move {
            let removed = write_txn!(engine, |txn| async {
                let info = buckets::get(&txn, &bucket, Some(LockType::KeyShare)).await?;
                queue::remove(&txn, info.id).await
            }
            .await)?;
            if !removed {
                return Err(EngineError::NoSuchReplicationConfiguration);
            }
            // The statuses changed under any cached object of the bucket; forgotten on the
            // spawned task, so a client's disconnect cannot leave them stale.
            if let Some(cache) = &engine.inner.cache {
                cache.objects.forget_all();
            }
            Ok(())
        })
        .await
    }

    /// Leases up to `limit` due replications for `lease`; the caller reports each back with
    /// [`Engine::finish_replication`]. Entries leased by another worker (of this node or
    /// another sharing the database) are not returned until their lease runs out.
    pub async fn claim_replications(
        &self,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ReplicationTask>, EngineError> {
        let now = now();
        let until = now
            + chrono::Duration::from_std(lease)
                .map_err(|_| EngineError::InvalidArgument("lease too long".to_owned()))?;
        let rows = queue::due(self.db(), now, u64::try_from(limit).unwrap_or(u64::MAX)).await?;
        let mut tasks = Vec::with_capacity(rows.len());
        for row in rows {
            let leased = write_txn!(self, |txn| queue::lease(&txn, row.id, now, until).await)?;
            if !leased {
                continue;
            }
            // A bucket deleted meanwhile took its queue with it.
            let Some(name) = queue::bucket_name(self.db(), row.bucket_id).await? else {
                continue;
            };
            tasks.push(ReplicationTask {
                id: row.id,
                bucket_id: row.bucket_id,
                generation: row.generation,
                bucket: parse_bucket_name(name)?,
                key: parse_key(row.key)?,
                operation: row.operation,
                attempts: row.attempts,
            });
        }
        Ok(tasks)
    }

    /// Records how `task` went: takes it off the queue, or puts it back for later, and sets
    /// the replication status of the object it concerned.
    pub async fn finish_replication(
        &self,
        task: &ReplicationTask,
        outcome: &ReplicationOutcome,
    ) -> Result<(), EngineError> {
        let (engine, task, outcome) = (self.clone(), task.clone(), outcome.clone());
        to_completion(async move {
            write_txn!(engine, |txn| async {
                match &outcome {
                    ReplicationOutcome::Completed { copied } => {
                        queue::complete(&txn, task.id, task.generation).await?;
                        if let Some((etag, modified)) = copied {
                            mark(&txn, &task, etag, *modified, ReplicationStatus::Completed)
                                .await?;
                        }
                    }
                    ReplicationOutcome::Dropped => {
                        // An object no rule covers any more will not be copied: say so.
                        if queue::complete(&txn, task.id, task.generation).await? {
                            queue::fail_pending(&txn, task.bucket_id, &task.key).await?;
                        }
                    }
                    ReplicationOutcome::Retry {
                        retry_at,
                        error,
                        refused,
                        object,
                    } => {
                        queue::retry(&txn, task.id, task.generation, *retry_at, error).await?;
                        if let (true, Some((etag, modified))) = (refused, object) {
                            mark(&txn, &task, etag, *modified, ReplicationStatus::Failed).await?;
                        }
                    }
                }
                Ok(())
            }
            .await)?;
            engine.forget_object(task.bucket_id, &task.key);
            Ok(())
        })
        .await
    }

    /// Gives `task` back without an attempt (the worker is stopping): it is due again at once.
    pub async fn release_replication(&self, task: &ReplicationTask) -> Result<(), EngineError> {
        write_txn!(self, |txn| queue::release(&txn, task.id).await)
    }

    /// Ends every lease, when this engine is the database's only user (SQLite): a previous
    /// process that stopped mid-copy cannot come back for them. Returns how many were held.
    pub async fn release_stale_replications(&self) -> Result<u64, EngineError> {
        if self.inner.cache.is_none() {
            return Ok(0);
        }
        write_txn!(self, |txn| queue::release_all(&txn).await)
    }

    /// How many keys wait for replication, on every bucket.
    pub async fn replication_backlog(&self) -> Result<u64, EngineError> {
        queue::backlog(self.db()).await
    }

    /// Resolves when a write on this node queued a replication (or after the settings of a
    /// bucket changed). Writes on other nodes sharing the database do not wake it: workers
    /// poll too.
    pub async fn replication_queued(&self) {
        self.inner.replication_wakeup.notified().await;
    }

    /// Wakes the workers waiting in [`Engine::replication_queued`].
    pub(crate) fn wake_replication(&self) {
        // A permit is stored when no worker waits, so a wake-up between two waits is kept.
        self.inner.replication_wakeup.notify_one();
    }
}

async fn mark(
    txn: &DatabaseTransaction,
    task: &ReplicationTask,
    etag: &str,
    modified: chrono::DateTime<chrono::Utc>,
    status: ReplicationStatus,
) -> Result<(), EngineError> {
    queue::mark_object(txn, task.bucket_id, &task.key, etag, modified, status).await
}

/// The rule covering `key` in a bucket whose row the caller has locked, if the bucket
/// replicates and an enabled rule covers it.
async fn covering_config(
    txn: &DatabaseTransaction,
    bucket: &BucketInfo,
) -> Result<Option<ReplicationConfiguration>, EngineError> {
    if !bucket.replicated {
        return Ok(None);
    }
    Ok(queue::settings(txn, bucket.id)
        .await?
        .map(|stored| stored.config))
}

/// Queues the key of an object being written, in the write's transaction, if a rule covers
/// it; the status the new object row starts with.
pub(crate) async fn queue_put(
    txn: &DatabaseTransaction,
    bucket: &BucketInfo,
    key: &ObjectKey,
) -> Result<Option<ReplicationStatus>, EngineError> {
    let Some(config) = covering_config(txn, bucket).await? else {
        return Ok(None);
    };
    if config.rule_for(key.as_str()).is_none() {
        return Ok(None);
    }
    queue::enqueue(txn, bucket.id, key, ReplicationOperation::Put, now()).await?;
    Ok(Some(ReplicationStatus::Pending))
}

/// Queues the delete of `key`, in the delete's transaction, if a rule covers it and
/// replicates deletes; `true` if queued.
pub(crate) async fn queue_delete(
    txn: &DatabaseTransaction,
    bucket: &BucketInfo,
    key: &ObjectKey,
) -> Result<bool, EngineError> {
    let Some(config) = covering_config(txn, bucket).await? else {
        return Ok(false);
    };
    match config.rule_for(key.as_str()) {
        Some(rule) if rule.delete_marker_replication => {
            queue::enqueue(txn, bucket.id, key, ReplicationOperation::Delete, now()).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}
