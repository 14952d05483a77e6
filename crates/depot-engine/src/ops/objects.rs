//! Objects: put, head, open, delete, copy — and the transaction every object write shares.

use std::io;
use std::ops::Range;
use std::sync::Arc;

use depot_domain::{BucketName, ObjectKey};
use sea_orm::DatabaseTransaction;
use sea_orm::sea_query::LockType;

use crate::blob::BlobId;
use crate::cache::{GuardedCache, ObjectEntry};
use crate::db::{lock_name, write_txn};
use crate::engine::{Engine, to_completion};
use crate::error::EngineError;
use crate::reader::{ObjectReader, READ_BLOCK};
use crate::repo::objects::{NewObject, Segment};
use crate::repo::{buckets, now, objects};
use crate::stage::StagedBlob;
use crate::types::{BucketInfo, ObjectAttributes, ObjectInfo, WriteCondition};

/// How often opening an object looks again after finding its blobs gone (an overwrite or
/// delete committed between reading the row and opening the files).
const OPEN_ATTEMPTS: u32 = 5;

/// The largest object a copy produces: S3's single-PUT and CopyObject limit, 5 GiB.
pub const MAX_COPY_SIZE: u64 = 5 * 1024 * 1024 * 1024;

impl Engine {
    /// Stores `blob` as the object `key`, replacing any object there if `condition` allows.
    ///
    /// The ETag is the blob's MD5 in bare lowercase hex. The check of `condition` and the
    /// write happen in one transaction, decided by the database's unique index and row
    /// locks: of racing conditional writers exactly one can win. The replaced object's
    /// blobs are removed after the commit; if anything fails, the new blob is removed.
    ///
    /// Errors: [`EngineError::NoSuchBucket`], [`EngineError::PreconditionFailed`].
    pub async fn put_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        blob: StagedBlob,
        attrs: ObjectAttributes,
        condition: WriteCondition,
    ) -> Result<ObjectInfo, EngineError> {
        let (engine, bucket, key) = (self.clone(), bucket.clone(), key.clone());
        to_completion(async move {
            engine
                .put_object_now(&bucket, &key, blob, attrs, condition)
                .await
        })
        .await
    }

    /// [`Engine::put_object`], on the caller's task.
    async fn put_object_now(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        blob: StagedBlob,
        attrs: ObjectAttributes,
        condition: WriteCondition,
    ) -> Result<ObjectInfo, EngineError> {
        let size = blob.size;
        let etag = blob.md5_hex();
        let blob = blob.commit().await?;
        let object = NewObject {
            size,
            etag: &etag,
            attrs: &attrs,
            part_count: None,
            last_modified: now(),
        };
        let segments = [Segment { blob, size }];
        let written = write_txn!(self, |txn| async {
            let bucket_info = buckets::get(&txn, bucket, Some(LockType::KeyShare)).await?;
            write_object_in(&txn, &bucket_info, key, &object, &segments, &condition)
                .await
                .map(|written| (bucket_info.id, written))
        }
        .await);
        match written {
            Ok((bucket_id, (info, replaced))) => {
                self.forget_object(bucket_id, key);
                if info.replication_status.is_some() {
                    self.wake_replication();
                }
                self.remove_blobs(replaced).await;
                Ok(info)
            }
            Err(error) => {
                self.remove_blobs([blob]).await;
                Err(error)
            }
        }
    }

    /// The metadata of `key`.
    ///
    /// Errors: [`EngineError::NoSuchBucket`], [`EngineError::NoSuchKey`].
    pub async fn head_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<ObjectInfo, EngineError> {
        Ok(self.find_object(bucket, key).await?.info.clone())
    }

    /// The metadata of `key` and a reader over its bytes, its blob files already open (so a
    /// concurrent overwrite or delete cannot break the download).
    ///
    /// Errors: [`EngineError::NoSuchBucket`], [`EngineError::NoSuchKey`].
    pub async fn open_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<(ObjectInfo, ObjectReader), EngineError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let object = self.find_object(bucket, key).await?;
            // Segments are immutable per object id (an overwrite makes a new id), so missing
            // or short segments mean the object was replaced after its row was read.
            let recorded: u64 = object.segments.iter().map(|segment| segment.size).sum();
            let consistent = !object.segments.is_empty() && recorded == object.info.size;
            if consistent {
                let opened = match object.segments.as_slice() {
                    [only] if only.size <= READ_BLOCK => self
                        .inner
                        .blobs
                        .read_whole(only.blob, only.size)
                        .await
                        .map(ObjectReader::loaded),
                    segments => self.open_segments(segments).await.map(ObjectReader::new),
                };
                match opened {
                    Ok(reader) => return Ok((object.info.clone(), reader)),
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                    Err(error) => return Err(error.into()),
                }
            }
            // Whatever was cached is gone: read the database again.
            self.forget_object(object.bucket_id, key);
            if attempt >= OPEN_ATTEMPTS {
                return Err(EngineError::Io(io::Error::other(format!(
                    "object {key} kept changing while it was being opened"
                ))));
            }
        }
    }

    /// Deletes `key`; `Ok(false)` if there was nothing to delete (S3 answers 204 either way).
    ///
    /// Errors: [`EngineError::NoSuchBucket`].
    pub async fn delete_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<bool, EngineError> {
        let (engine, bucket, key) = (self.clone(), bucket.clone(), key.clone());
        to_completion(async move { engine.delete_object_now(&bucket, &key).await }).await
    }

    /// [`Engine::delete_object`], on the caller's task.
    async fn delete_object_now(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<bool, EngineError> {
        let removed = write_txn!(self, |txn| async {
            let bucket_info = buckets::get(&txn, bucket, Some(LockType::KeyShare)).await?;
            lock_key(&txn, bucket_info.id, key).await?;
            let Some(existing) = objects::find(&txn, bucket_info.id, bucket, key, true).await?
            else {
                return Ok(None);
            };
            let blobs = objects::delete(&txn, existing.id).await?;
            let queued = crate::ops::replication::queue_delete(&txn, &bucket_info, key).await?;
            buckets::add_usage(
                &txn,
                bucket_info.id,
                -1,
                -crate::repo::to_i64(existing.info.size)?,
            )
            .await?;
            Ok(Some((bucket_info.id, blobs, queued)))
        }
        .await)?;
        match removed {
            Some((bucket_id, blobs, queued)) => {
                self.forget_object(bucket_id, key);
                if queued {
                    self.wake_replication();
                }
                self.remove_blobs(blobs).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Copies `src_key` to `dst_key` (possibly the same key, to change its attributes).
    ///
    /// The bytes are copied into a new blob, so the two objects never share storage and
    /// deleting either is simple. `attrs: None` keeps the source's attributes (S3's
    /// `MetadataDirective: COPY`). The copy's ETag is the MD5 of its content: equal to the
    /// source's for a single-part source, a fresh plain MD5 for a multipart one (as AWS
    /// gives). `condition` applies to the destination.
    ///
    /// Errors: [`EngineError::NoSuchBucket`] (either bucket), [`EngineError::NoSuchKey`],
    /// [`EngineError::PreconditionFailed`], [`EngineError::EntityTooLarge`] above 5 GiB.
    pub async fn copy_object(
        &self,
        src_bucket: &BucketName,
        src_key: &ObjectKey,
        dst_bucket: &BucketName,
        dst_key: &ObjectKey,
        attrs: Option<ObjectAttributes>,
        condition: WriteCondition,
    ) -> Result<ObjectInfo, EngineError> {
        // Fail before copying any bytes if the destination cannot take them.
        self.bucket_identity(dst_bucket).await?;
        let (source, reader) = self.open_object(src_bucket, src_key).await?;
        let attrs = attrs.unwrap_or(source.attrs);
        let staged = self.stage_copy(reader, 0..u64::MAX).await?;
        self.put_object(dst_bucket, dst_key, staged, attrs, condition)
            .await
    }

    /// The object `key` with its segments: from the cache when the engine has one, else in
    /// one query (no transaction: segments are immutable per object id).
    pub(crate) async fn find_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<Arc<ObjectEntry>, EngineError> {
        let bucket_id = self.bucket_identity(bucket).await?.id;
        let cache = self.inner.cache.as_ref().map(|cache| &cache.objects);
        GuardedCache::get_or_load(cache, (bucket_id, key.clone()), async {
            let found = objects::find_with_segments(self.db(), bucket_id, bucket, key).await?;
            Ok(found.map(|(object, segments)| {
                Arc::new(ObjectEntry {
                    bucket_id,
                    info: object.info,
                    segments,
                })
            }))
        })
        .await?
        .ok_or(EngineError::NoSuchKey)
    }

    /// Drops the cached object `key` of the bucket with id `bucket_id`; every write of an
    /// object row calls it after its transaction has committed, on a task that a client's
    /// disconnect cannot stop ([`to_completion`]).
    pub(crate) fn forget_object(&self, bucket_id: i64, key: &ObjectKey) {
        if let Some(cache) = &self.inner.cache {
            cache.objects.forget(&(bucket_id, key.clone()));
        }
    }

    /// Stages `range` of an open object as a new blob. A read failure is the server's
    /// ([`EngineError::Io`]), not a client body error.
    pub(crate) async fn stage_copy(
        &self,
        reader: ObjectReader,
        range: Range<u64>,
    ) -> Result<StagedBlob, EngineError> {
        let stream = Box::pin(reader.into_stream(range));
        match self.stage(stream, MAX_COPY_SIZE).await {
            Err(EngineError::Body(source)) => {
                Err(EngineError::Io(match source.downcast::<io::Error>() {
                    Ok(io_error) => *io_error,
                    Err(other) => io::Error::other(other),
                }))
            }
            other => other,
        }
    }
}

/// Writes `object` under `key` in a bucket whose row the caller has locked with `KeyShare`,
/// if `condition` holds; returns the new object's metadata and the blobs of the object it
/// replaced (to remove after the commit). Once the transaction has committed, the caller
/// must call [`Engine::forget_object`]: the engine may have the replaced object cached.
pub(crate) async fn write_object_in(
    txn: &DatabaseTransaction,
    bucket: &BucketInfo,
    key: &ObjectKey,
    object: &NewObject<'_>,
    segments: &[Segment],
    condition: &WriteCondition,
) -> Result<(ObjectInfo, Vec<BlobId>), EngineError> {
    lock_key(txn, bucket.id, key).await?;
    let existing = objects::find(txn, bucket.id, &bucket.name, key, true).await?;
    check_condition(
        existing.as_ref().map(|found| found.info.etag.as_str()),
        condition,
    )?;
    let new_size = crate::repo::to_i64(object.size)?;
    let (replaced, objects_delta, bytes_delta) = match existing {
        Some(old) => {
            let old_size = crate::repo::to_i64(old.info.size)?;
            (objects::delete(txn, old.id).await?, 0, new_size - old_size)
        }
        None => (Vec::new(), 1, new_size),
    };
    // Read before the bucket row's update below, so its lock is not held over this read.
    let quotas = if bytes_delta > 0 {
        Some(crate::repo::settings::applicable(txn, bucket.owner, &bucket.name).await?)
    } else {
        None
    };
    let replication_status = crate::ops::replication::queue_put(txn, bucket, key).await?;
    objects::insert(
        txn,
        bucket.id,
        key,
        object.clone(),
        segments,
        replication_status,
    )
    .await?;
    // Last, so the bucket row's update lock is held for as short a time as possible.
    buckets::add_usage(txn, bucket.id, objects_delta, bytes_delta).await?;
    if let Some(quotas) = quotas {
        check_quotas(txn, bucket, None, quotas).await?;
    }
    let info = ObjectInfo {
        bucket: bucket.name.clone(),
        key: key.clone(),
        size: object.size,
        etag: object.etag.to_owned(),
        last_modified: object.last_modified,
        attrs: object.attrs.clone(),
        part_count: object.part_count,
        version_id: None,
        replication_status,
    };
    Ok((info, replaced))
}

/// Fails with [`EngineError::QuotaExceeded`] if the bucket's stored bytes, or its owner's,
/// plus the parts of `upload` (not stored bytes yet), exceed `quotas` (the user's and the
/// bucket's that apply, as `settings::applicable` reads them); sums the parts only when a
/// quota applies. Called after the
/// transaction has added its growth to the bucket's counter: that update holds the bucket's
/// row, and the user's row is locked before the owner's buckets are summed, so concurrent
/// writers are checked one after another and cannot overshoot together.
pub(crate) async fn check_quotas(
    txn: &DatabaseTransaction,
    bucket: &BucketInfo,
    upload: Option<&str>,
    (user_quota, bucket_quota): (Option<u64>, Option<u64>),
) -> Result<(), EngineError> {
    if user_quota.is_none() && bucket_quota.is_none() {
        return Ok(());
    }
    let pending = match upload {
        Some(upload_id) => crate::repo::uploads::parts_bytes(txn, upload_id).await?,
        None => 0,
    };
    if let Some(limit) = bucket_quota {
        let used = buckets::bytes_used(txn, bucket.id).await?;
        if used.saturating_add(pending) > limit {
            return Err(EngineError::QuotaExceeded(format!(
                "The bucket quota of {} GB of bucket {} would be exceeded.",
                limit / depot_domain::BYTES_PER_GB,
                bucket.name
            )));
        }
    }
    if let Some(limit) = user_quota {
        // Completing writes queue on the user's row so their sum is exact. The check of a part
        // is advisory (completion checks again) and takes no lock, so parallel parts of one
        // user do not queue.
        if upload.is_none() {
            crate::repo::users::find(txn, bucket.owner, true).await?;
        }
        let used = buckets::owner_bytes(txn, bucket.owner).await?;
        if used.saturating_add(pending) > limit {
            return Err(EngineError::QuotaExceeded(format!(
                "The user quota of {} GB of user {} would be exceeded.",
                limit / depot_domain::BYTES_PER_GB,
                bucket.owner
            )));
        }
    }
    Ok(())
}

/// Queues this transaction behind any other writing `key` (PostgreSQL; see `db`). An
/// overwrite deletes the old row and inserts a new one, so a lock on the row itself would
/// let a waiter wake to "no such row" while the new one exists.
async fn lock_key(
    txn: &DatabaseTransaction,
    bucket_id: i64,
    key: &ObjectKey,
) -> Result<(), EngineError> {
    lock_name(
        txn,
        &[b"object", &bucket_id.to_be_bytes(), key.as_str().as_bytes()],
    )
    .await?;
    Ok(())
}

/// Whether a write may proceed, given the ETag of the object it would replace.
fn check_condition(
    existing_etag: Option<&str>,
    condition: &WriteCondition,
) -> Result<(), EngineError> {
    let holds = match condition {
        WriteCondition::None => true,
        WriteCondition::IfNoneMatchAny => existing_etag.is_none(),
        // If-Match never creates: on a missing key S3 answers 404 NoSuchKey, not 412.
        WriteCondition::IfMatch(_) if existing_etag.is_none() => {
            return Err(EngineError::NoSuchKey);
        }
        WriteCondition::IfMatch(expected) => match existing_etag {
            None => false,
            Some(current) => {
                let expected = bare_etag(expected);
                expected == "*" || expected.eq_ignore_ascii_case(current)
            }
        },
    };
    if holds {
        Ok(())
    } else {
        Err(EngineError::PreconditionFailed)
    }
}

/// An ETag as a client may send it (`"abc"`, `W/"abc"`, `abc`) without the decoration.
pub(crate) fn bare_etag(etag: &str) -> &str {
    let etag = etag.trim();
    let etag = etag.strip_prefix("W/").unwrap_or(etag);
    etag.strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_compare_without_quotes() {
        assert_eq!(bare_etag("\"abc\""), "abc");
        assert_eq!(bare_etag("W/\"abc\""), "abc");
        assert_eq!(bare_etag(" abc "), "abc");
        assert!(check_condition(Some("abc"), &WriteCondition::IfMatch("\"ABC\"".into())).is_ok());
        assert!(check_condition(Some("abc"), &WriteCondition::IfMatch("*".into())).is_ok());
        assert!(matches!(
            check_condition(None, &WriteCondition::IfMatch("*".into())),
            Err(EngineError::NoSuchKey)
        ));
        assert!(check_condition(Some("abc"), &WriteCondition::IfMatch("abd".into())).is_err());
        assert!(check_condition(Some("abc"), &WriteCondition::IfNoneMatchAny).is_err());
        assert!(check_condition(None, &WriteCondition::IfNoneMatchAny).is_ok());
    }
}
