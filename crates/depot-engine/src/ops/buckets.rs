//! Buckets: create, look up, list, delete.

use std::sync::Arc;

use depot_domain::{BucketName, UserId};
use sea_orm::SqlErr;
use sea_orm::sea_query::LockType;

use crate::cache::GuardedCache;
use crate::db::write_txn;
use crate::engine::{Engine, to_completion};
use crate::error::EngineError;
use crate::repo::settings::{self, Subject};
use crate::repo::{buckets, uploads};
use crate::types::{BucketIdentity, BucketInfo, BucketOwner, StorageTotals};

impl Engine {
    /// Creates the bucket `name` for `owner` in `location`.
    ///
    /// Errors: [`EngineError::BucketAlreadyOwnedByYou`] if `owner` has it already,
    /// [`EngineError::BucketAlreadyExists`] if someone else does. (Whether an existing bucket
    /// of the same owner is a success, as in `us-east-1`, is the protocol layer's choice.)
    pub async fn create_bucket(
        &self,
        owner: impl Into<BucketOwner>,
        name: &BucketName,
        location: &str,
    ) -> Result<BucketInfo, EngineError> {
        let BucketOwner {
            user: owner,
            account,
        } = owner.into();
        // One INSERT: the unique index on the name decides races; only the loser looks up
        // who won, to say which error applies. It takes its turn at the write gate like every
        // write, so it never sends a gated writer into SQLite's sleeping busy handler.
        let gate = self.write_gate().await;
        let inserted = buckets::insert(self.db(), owner, account.as_deref(), name, location).await;
        drop(gate);
        match inserted {
            Err(EngineError::Db(error))
                if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) =>
            {
                match buckets::find(self.db(), name, None).await? {
                    Some(existing) if existing.owner == owner => {
                        Err(EngineError::BucketAlreadyOwnedByYou)
                    }
                    Some(_) => Err(EngineError::BucketAlreadyExists),
                    // Deleted again in between: report the original conflict.
                    None => Err(EngineError::Db(error)),
                }
            }
            other => other,
        }
    }

    /// The bucket `name`, with its counters.
    ///
    /// Errors: [`EngineError::NoSuchBucket`].
    pub async fn bucket(&self, name: &BucketName) -> Result<BucketInfo, EngineError> {
        buckets::get(self.db(), name, None).await
    }

    /// The bucket `name`, without its counters: what authorising a request needs, from the
    /// cache when the engine has one.
    ///
    /// Errors: [`EngineError::NoSuchBucket`].
    pub async fn bucket_identity(
        &self,
        name: &BucketName,
    ) -> Result<Arc<BucketIdentity>, EngineError> {
        let cache = self.inner.cache.as_ref().map(|cache| &cache.buckets);
        GuardedCache::get_or_load(cache, name.clone(), async {
            let found = buckets::find(self.db(), name, None).await?;
            Ok(found.map(|bucket| Arc::new(BucketIdentity::from(bucket))))
        })
        .await?
        .ok_or(EngineError::NoSuchBucket)
    }

    /// What the whole store holds: buckets, objects and their bytes (the buckets' counters,
    /// kept in the same transactions as the objects).
    pub async fn storage_totals(&self) -> Result<StorageTotals, EngineError> {
        let (buckets, objects, bytes) = buckets::totals(self.db()).await?;
        Ok(StorageTotals {
            buckets,
            objects,
            bytes,
        })
    }

    /// `owner`'s buckets, by name: all of a user's (its accounts' included), or only an
    /// account's.
    pub async fn list_buckets(
        &self,
        owner: impl Into<BucketOwner>,
    ) -> Result<Vec<BucketInfo>, EngineError> {
        let BucketOwner { user, account } = owner.into();
        buckets::list_by_owner(self.db(), user, account.as_deref()).await
    }

    /// Every bucket, or `owner`'s, by name.
    pub async fn list_all_buckets(
        &self,
        owner: Option<UserId>,
    ) -> Result<Vec<BucketInfo>, EngineError> {
        match owner {
            Some(user) => self.list_buckets(user).await,
            None => buckets::list_all(self.db()).await,
        }
    }

    /// Deletes an empty bucket, aborting its multipart uploads in progress (S3 counts only
    /// objects as content).
    ///
    /// Errors: [`EngineError::NoSuchBucket`], [`EngineError::BucketNotEmpty`].
    pub async fn delete_bucket(&self, name: &BucketName) -> Result<(), EngineError> {
        let (engine, name) = (self.clone(), name.clone());
        to_completion(async move { engine.delete_bucket_now(&name).await }).await
    }

    /// [`Engine::delete_bucket`], on the caller's task.
    async fn delete_bucket_now(&self, name: &BucketName) -> Result<(), EngineError> {
        let part_blobs = write_txn!(self, |txn| async {
            // `Update` waits for every write in flight in the bucket (they hold `KeyShare`)
            // and keeps new ones out until this transaction ends.
            let bucket = buckets::get(&txn, name, Some(LockType::Update)).await?;
            if buckets::has_objects(&txn, bucket.id).await? {
                return Err(EngineError::BucketNotEmpty);
            }
            let part_blobs = uploads::delete_parts_of_bucket(&txn, bucket.id).await?;
            buckets::delete(&txn, bucket.id).await?;
            settings::forget_subject(&txn, Subject::Bucket(name)).await?;
            Ok(part_blobs)
        }
        .await);
        self.forget_bucket(name);
        self.forget_limits();
        self.remove_blobs(part_blobs?).await;
        Ok(())
    }

    /// Drops the cached bucket `name`; call after a transaction that created or deleted it
    /// has ended.
    pub(crate) fn forget_bucket(&self, name: &BucketName) {
        if let Some(cache) = &self.inner.cache {
            cache.buckets.forget(name);
        }
    }
}
