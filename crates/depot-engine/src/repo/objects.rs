//! SQL for the `objects` and `object_segments` tables.
//!
//! An object's segments never change after insertion: an overwrite deletes the old row (and
//! its segments) and inserts a new row with a new id. So segments read by object id always
//! belong to the metadata read with that id, without a read transaction; if the object was
//! replaced in between, the segments are simply gone and the reader looks again.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use depot_domain::{BucketName, ObjectKey, ReplicationStatus};
use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{corrupt, locked, parse_blob_id, parse_key, to_i64, to_u64};
use crate::blob::BlobId;
use crate::entity::{object_segments, objects};
use crate::error::EngineError;
use crate::listing::{Keyed, Lower};
use crate::types::{ObjectAttributes, ObjectInfo};

/// Rows per multi-row INSERT: 500 segments of four values stay far below SQLite's limit of
/// 32 766 bound parameters, even for a 10 000-part object.
const INSERT_CHUNK: usize = 500;

/// An object's row id with its metadata.
#[derive(Debug, Clone)]
pub(crate) struct StoredObject {
    pub(crate) id: i64,
    pub(crate) info: ObjectInfo,
}

/// One blob of an object's data, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) blob: BlobId,
    pub(crate) size: u64,
}

/// What a new object row holds besides its key.
#[derive(Debug, Clone)]
pub(crate) struct NewObject<'a> {
    pub(crate) size: u64,
    pub(crate) etag: &'a str,
    pub(crate) attrs: &'a ObjectAttributes,
    pub(crate) part_count: Option<u32>,
    pub(crate) last_modified: DateTime<Utc>,
}

/// The columns [`list_range`] selects, in order.
type ListedColumns = (
    Vec<u8>,
    i64,
    String,
    DateTime<Utc>,
    Option<String>,
    Option<String>,
);

/// An object as a listing row: just the columns a listing shows.
#[derive(Debug, Clone)]
pub(crate) struct ListedRow {
    pub(crate) key: Vec<u8>,
    pub(crate) size: i64,
    pub(crate) etag: String,
    pub(crate) last_modified: DateTime<Utc>,
    pub(crate) storage_class: Option<String>,
    pub(crate) checksum_algorithm: Option<String>,
}

impl Keyed for ListedRow {
    fn key_bytes(&self) -> &[u8] {
        &self.key
    }

    fn cursor(&self) -> Lower {
        Lower::After {
            key: self.key.clone(),
            tiebreak: None,
        }
    }
}

/// `x-amz-meta-*` pairs as the JSON text stored in `user_metadata` columns.
pub(crate) fn metadata_to_json(metadata: &BTreeMap<String, String>) -> Result<String, EngineError> {
    serde_json::to_string(metadata)
        .map_err(|error| EngineError::InvalidArgument(format!("user metadata: {error}")))
}

pub(crate) fn metadata_from_json(text: &str) -> Result<BTreeMap<String, String>, EngineError> {
    serde_json::from_str(text).map_err(|error| corrupt(format!("user metadata: {error}")))
}

fn from_model(bucket: &BucketName, model: objects::Model) -> Result<StoredObject, EngineError> {
    let checksum = match (model.checksum_algorithm, model.checksum_value) {
        (Some(algorithm), Some(value)) => Some((algorithm, value)),
        _ => None,
    };
    let part_count = model
        .part_count
        .map(|count| u32::try_from(count).map_err(|_| corrupt("negative part count")))
        .transpose()?;
    Ok(StoredObject {
        id: model.id,
        info: ObjectInfo {
            bucket: bucket.clone(),
            key: parse_key(model.key)?,
            size: to_u64(model.size, "object size")?,
            etag: model.etag,
            last_modified: model.last_modified,
            attrs: ObjectAttributes {
                content_type: model.content_type,
                content_encoding: model.content_encoding,
                content_disposition: model.content_disposition,
                content_language: model.content_language,
                cache_control: model.cache_control,
                expires: model.expires,
                user_metadata: metadata_from_json(&model.user_metadata)?,
                checksum,
                storage_class: model.storage_class,
            },
            part_count,
            // S3 calls the version of an object in an unversioned bucket "null".
            version_id: Some(model.version_id).filter(|version| version != "null"),
            replication_status: model
                .replication_status
                .as_deref()
                .map(|text| {
                    ReplicationStatus::parse(text)
                        .ok_or_else(|| corrupt(format!("replication status {text:?}")))
                })
                .transpose()?,
        },
    })
}

/// The object under `key`; with `lock_for_update`, its row is also locked until the
/// transaction ends (PostgreSQL). Writers of one key are queued by the per-key advisory lock
/// first (see `db`): the row lock alone cannot, since an overwrite replaces the row.
pub(crate) async fn find(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
    bucket: &BucketName,
    key: &ObjectKey,
    lock_for_update: bool,
) -> Result<Option<StoredObject>, EngineError> {
    let select = objects::Entity::find()
        .filter(objects::Column::BucketId.eq(bucket_id))
        .filter(objects::Column::Key.eq(key.as_str().as_bytes().to_vec()));
    let select = if lock_for_update {
        locked(connection, select, LockType::Update)
    } else {
        select
    };
    select
        .one(connection)
        .await?
        .map(|model| from_model(bucket, model))
        .transpose()
}

/// The object under `key` with its segments in order, in one query (a join).
pub(crate) async fn find_with_segments(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
    bucket: &BucketName,
    key: &ObjectKey,
) -> Result<Option<(StoredObject, Vec<Segment>)>, EngineError> {
    let found = objects::Entity::find()
        .filter(objects::Column::BucketId.eq(bucket_id))
        .filter(objects::Column::Key.eq(key.as_str().as_bytes().to_vec()))
        .find_with_related(object_segments::Entity)
        .all(connection)
        .await?;
    let Some((model, mut segments)) = found.into_iter().next() else {
        return Ok(None);
    };
    segments.sort_by_key(|segment| segment.seq);
    let segments = segments
        .into_iter()
        .map(segment_from_model)
        .collect::<Result<_, _>>()?;
    Ok(Some((from_model(bucket, model)?, segments)))
}

fn segment_from_model(segment: object_segments::Model) -> Result<Segment, EngineError> {
    Ok(Segment {
        blob: parse_blob_id(&segment.blob_id)?,
        size: to_u64(segment.size, "segment size")?,
    })
}

/// The object's segments in order.
pub(crate) async fn segments(
    connection: &impl ConnectionTrait,
    object_id: i64,
) -> Result<Vec<Segment>, EngineError> {
    object_segments::Entity::find()
        .filter(object_segments::Column::ObjectId.eq(object_id))
        .order_by_asc(object_segments::Column::Seq)
        .all(connection)
        .await?
        .into_iter()
        .map(segment_from_model)
        .collect()
}

/// Inserts an object row and its segments; returns the row id.
pub(crate) async fn insert(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
    key: &ObjectKey,
    object: NewObject<'_>,
    segments: &[Segment],
    replication_status: Option<ReplicationStatus>,
) -> Result<i64, EngineError> {
    let attrs = object.attrs;
    let (checksum_algorithm, checksum_value) = match &attrs.checksum {
        Some((algorithm, value)) => (Some(algorithm.clone()), Some(value.clone())),
        None => (None, None),
    };
    let part_count = object
        .part_count
        .map(|count| {
            i32::try_from(count)
                .map_err(|_| EngineError::InvalidArgument("too many parts".to_owned()))
        })
        .transpose()?;
    let row = objects::ActiveModel {
        id: NotSet,
        bucket_id: Set(bucket_id),
        key: Set(key.as_str().as_bytes().to_vec()),
        size: Set(to_i64(object.size)?),
        etag: Set(object.etag.to_owned()),
        content_type: Set(attrs.content_type.clone()),
        content_encoding: Set(attrs.content_encoding.clone()),
        content_disposition: Set(attrs.content_disposition.clone()),
        content_language: Set(attrs.content_language.clone()),
        cache_control: Set(attrs.cache_control.clone()),
        expires: Set(attrs.expires.clone()),
        user_metadata: Set(metadata_to_json(&attrs.user_metadata)?),
        checksum_algorithm: Set(checksum_algorithm),
        checksum_value: Set(checksum_value),
        storage_class: Set(attrs.storage_class.clone()),
        last_modified: Set(object.last_modified),
        part_count: Set(part_count),
        version_id: Set("null".to_owned()),
        replication_status: Set(replication_status.map(|status| status.as_str().to_owned())),
    };
    let object_id = objects::Entity::insert(row)
        .exec(connection)
        .await?
        .last_insert_id;
    let mut rows = Vec::with_capacity(segments.len());
    for (seq, segment) in segments.iter().enumerate() {
        rows.push(object_segments::ActiveModel {
            object_id: Set(object_id),
            seq: Set(i32::try_from(seq)
                .map_err(|_| EngineError::InvalidArgument("too many segments".to_owned()))?),
            blob_id: Set(segment.blob.to_string()),
            size: Set(to_i64(segment.size)?),
        });
    }
    for chunk in rows.chunks(INSERT_CHUNK) {
        object_segments::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(connection)
            .await?;
    }
    Ok(object_id)
}

/// Deletes an object row and its segments; returns the blobs that held its data, for the
/// caller to remove once the transaction has committed.
pub(crate) async fn delete(
    connection: &impl ConnectionTrait,
    object_id: i64,
) -> Result<Vec<BlobId>, EngineError> {
    let blobs = segments(connection, object_id)
        .await?
        .into_iter()
        .map(|segment| segment.blob)
        .collect();
    object_segments::Entity::delete_many()
        .filter(object_segments::Column::ObjectId.eq(object_id))
        .exec(connection)
        .await?;
    objects::Entity::delete_many()
        .filter(objects::Column::Id.eq(object_id))
        .exec(connection)
        .await?;
    Ok(blobs)
}

/// Up to `limit` objects of the bucket from `lower` (and below `upper`), in key order: one
/// range scan of the `(bucket_id, key)` index.
pub(crate) async fn list_range(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
    lower: &Lower,
    upper: Option<&[u8]>,
    limit: u64,
) -> Result<Vec<ListedRow>, EngineError> {
    let mut select = objects::Entity::find()
        .select_only()
        .column(objects::Column::Key)
        .column(objects::Column::Size)
        .column(objects::Column::Etag)
        .column(objects::Column::LastModified)
        .column(objects::Column::StorageClass)
        .column(objects::Column::ChecksumAlgorithm)
        .filter(objects::Column::BucketId.eq(bucket_id));
    select = match lower {
        Lower::AtOrAfter(key) => select.filter(objects::Column::Key.gte(key.clone())),
        Lower::After { key, .. } => select.filter(objects::Column::Key.gt(key.clone())),
    };
    if let Some(upper) = upper {
        select = select.filter(objects::Column::Key.lt(upper.to_vec()));
    }
    let rows: Vec<ListedColumns> = select
        .order_by_asc(objects::Column::Key)
        .limit(limit)
        .into_tuple()
        .all(connection)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(key, size, etag, last_modified, storage_class, checksum_algorithm)| ListedRow {
                key,
                size,
                etag,
                last_modified,
                storage_class,
                checksum_algorithm,
            },
        )
        .collect())
}

/// Of `blobs`, those some object segment references.
pub(crate) async fn referenced_blobs(
    connection: &impl ConnectionTrait,
    blobs: &[String],
) -> Result<Vec<String>, EngineError> {
    Ok(object_segments::Entity::find()
        .select_only()
        .column(object_segments::Column::BlobId)
        .filter(object_segments::Column::BlobId.is_in(blobs.iter().cloned()))
        .into_tuple()
        .all(connection)
        .await?)
}
