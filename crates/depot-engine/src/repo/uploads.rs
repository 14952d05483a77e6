//! SQL for the `multipart_uploads` and `multipart_parts` tables.

use chrono::{DateTime, Utc};
use depot_domain::{ObjectKey, UserId};
use sea_orm::sea_query::{Expr, ExprTrait, LockType, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::objects::{metadata_from_json, metadata_to_json};
use super::{locked, parse_blob_id, parse_key, parse_user_id, to_i64, to_u64};
use crate::blob::BlobId;
use crate::entity::{multipart_parts, multipart_uploads};
use crate::error::EngineError;
use crate::listing::{Keyed, Lower};
use crate::types::{ObjectAttributes, PartInfo, UploadInfo};

/// Rows per multi-row DELETE … IN (…), well below every database's parameter limit.
const IN_CHUNK: usize = 500;

/// An upload with the bucket it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct StoredUpload {
    pub(crate) bucket_id: i64,
    pub(crate) info: UploadInfo,
}

impl Keyed for StoredUpload {
    fn key_bytes(&self) -> &[u8] {
        self.info.key.as_str().as_bytes()
    }

    fn cursor(&self) -> Lower {
        Lower::After {
            key: self.key_bytes().to_vec(),
            tiebreak: Some(self.info.upload_id.clone()),
        }
    }
}

/// A part with the blob holding it.
#[derive(Debug, Clone)]
pub(crate) struct StoredPart {
    pub(crate) info: PartInfo,
    pub(crate) blob: BlobId,
}

fn upload_from_model(model: multipart_uploads::Model) -> Result<StoredUpload, EngineError> {
    Ok(StoredUpload {
        bucket_id: model.bucket_id,
        info: UploadInfo {
            upload_id: model.upload_id,
            key: parse_key(model.key)?,
            initiated: model.initiated,
            owner: parse_user_id(&model.owner_id)?,
            attrs: ObjectAttributes {
                content_type: model.content_type,
                content_encoding: model.content_encoding,
                content_disposition: model.content_disposition,
                content_language: model.content_language,
                cache_control: model.cache_control,
                expires: model.expires,
                user_metadata: metadata_from_json(&model.user_metadata)?,
                // An upload keeps the algorithm and the checksum type; the values are per part.
                checksum: model
                    .checksum_algorithm
                    .map(|algorithm| (algorithm, model.checksum_type.unwrap_or_default())),
                storage_class: model.storage_class,
            },
        },
    })
}

fn part_from_model(model: multipart_parts::Model) -> Result<StoredPart, EngineError> {
    Ok(StoredPart {
        blob: parse_blob_id(&model.blob_id)?,
        info: PartInfo {
            part_number: u16::try_from(model.part_number)
                .map_err(|_| super::corrupt("part number out of range"))?,
            etag: model.etag,
            size: to_u64(model.size, "part size")?,
            last_modified: model.last_modified,
            checksum: model.checksum_value,
        },
    })
}

/// Records a new upload.
pub(crate) async fn insert(
    connection: &impl ConnectionTrait,
    upload_id: &str,
    bucket_id: i64,
    key: &ObjectKey,
    owner: UserId,
    attrs: &ObjectAttributes,
    initiated: DateTime<Utc>,
) -> Result<(), EngineError> {
    let row = multipart_uploads::ActiveModel {
        upload_id: Set(upload_id.to_owned()),
        bucket_id: Set(bucket_id),
        key: Set(key.as_str().as_bytes().to_vec()),
        initiated: Set(initiated),
        owner_id: Set(owner.to_string()),
        content_type: Set(attrs.content_type.clone()),
        content_encoding: Set(attrs.content_encoding.clone()),
        content_disposition: Set(attrs.content_disposition.clone()),
        content_language: Set(attrs.content_language.clone()),
        cache_control: Set(attrs.cache_control.clone()),
        expires: Set(attrs.expires.clone()),
        user_metadata: Set(metadata_to_json(&attrs.user_metadata)?),
        checksum_algorithm: Set(attrs
            .checksum
            .as_ref()
            .map(|(algorithm, _)| algorithm.clone())),
        storage_class: Set(attrs.storage_class.clone()),
        checksum_type: Set(attrs
            .checksum
            .as_ref()
            .map(|(_, checksum_type)| checksum_type.clone())
            .filter(|checksum_type| !checksum_type.is_empty())),
    };
    multipart_uploads::Entity::insert(row)
        .exec_without_returning(connection)
        .await?;
    Ok(())
}

/// The upload `upload_id`, optionally locking its row (PostgreSQL): part uploads take
/// `Share`, completion and abort take `Update`, so a part cannot slip in while an upload is
/// being completed or aborted.
pub(crate) async fn find(
    connection: &impl ConnectionTrait,
    upload_id: &str,
    lock: Option<LockType>,
) -> Result<Option<StoredUpload>, EngineError> {
    let select =
        multipart_uploads::Entity::find().filter(multipart_uploads::Column::UploadId.eq(upload_id));
    let select = match lock {
        Some(lock) => locked(connection, select, lock),
        None => select,
    };
    select
        .one(connection)
        .await?
        .map(upload_from_model)
        .transpose()
}

/// Every part of an upload, by part number.
pub(crate) async fn parts(
    connection: &impl ConnectionTrait,
    upload_id: &str,
) -> Result<Vec<StoredPart>, EngineError> {
    parts_after(connection, upload_id, 0, None).await
}

/// The bytes of the upload's parts so far, summed by the database.
pub(crate) async fn parts_bytes(
    connection: &impl ConnectionTrait,
    upload_id: &str,
) -> Result<u64, EngineError> {
    // Cast: PostgreSQL's SUM of a BIGINT is a NUMERIC.
    let total: Option<i64> = multipart_parts::Entity::find()
        .select_only()
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(size), 0) AS BIGINT)"),
            "total",
        )
        .filter(multipart_parts::Column::UploadId.eq(upload_id))
        .into_tuple()
        .one(connection)
        .await?;
    to_u64(total.unwrap_or(0), "upload part bytes")
}

/// Parts numbered above `after`, at most `limit` of them.
pub(crate) async fn parts_after(
    connection: &impl ConnectionTrait,
    upload_id: &str,
    after: u16,
    limit: Option<u64>,
) -> Result<Vec<StoredPart>, EngineError> {
    let mut select = multipart_parts::Entity::find()
        .filter(multipart_parts::Column::UploadId.eq(upload_id))
        .filter(multipart_parts::Column::PartNumber.gt(i32::from(after)))
        .order_by_asc(multipart_parts::Column::PartNumber);
    if let Some(limit) = limit {
        select = select.limit(limit);
    }
    select
        .all(connection)
        .await?
        .into_iter()
        .map(part_from_model)
        .collect()
}

/// The part numbered `part_number`, its row locked (PostgreSQL) for replacement.
pub(crate) async fn find_part_for_update(
    connection: &impl ConnectionTrait,
    upload_id: &str,
    part_number: u16,
) -> Result<Option<StoredPart>, EngineError> {
    let select = multipart_parts::Entity::find()
        .filter(multipart_parts::Column::UploadId.eq(upload_id))
        .filter(multipart_parts::Column::PartNumber.eq(i32::from(part_number)));
    locked(connection, select, LockType::Update)
        .one(connection)
        .await?
        .map(part_from_model)
        .transpose()
}

/// Records a part.
pub(crate) async fn insert_part(
    connection: &impl ConnectionTrait,
    upload_id: &str,
    part: &PartInfo,
    blob: BlobId,
) -> Result<(), EngineError> {
    let row = multipart_parts::ActiveModel {
        upload_id: Set(upload_id.to_owned()),
        part_number: Set(i32::from(part.part_number)),
        blob_id: Set(blob.to_string()),
        size: Set(to_i64(part.size)?),
        etag: Set(part.etag.clone()),
        checksum_value: Set(part.checksum.clone()),
        last_modified: Set(part.last_modified),
    };
    multipart_parts::Entity::insert(row)
        .exec_without_returning(connection)
        .await?;
    Ok(())
}

/// Removes one part's row.
pub(crate) async fn delete_part(
    connection: &impl ConnectionTrait,
    upload_id: &str,
    part_number: u16,
) -> Result<(), EngineError> {
    multipart_parts::Entity::delete_many()
        .filter(multipart_parts::Column::UploadId.eq(upload_id))
        .filter(multipart_parts::Column::PartNumber.eq(i32::from(part_number)))
        .exec(connection)
        .await?;
    Ok(())
}

/// Removes an upload and all its part rows; returns the parts' blobs, for the caller to
/// remove (or keep, on completion) once the transaction has committed.
pub(crate) async fn delete(
    connection: &impl ConnectionTrait,
    upload_id: &str,
) -> Result<Vec<BlobId>, EngineError> {
    let blobs = parts(connection, upload_id)
        .await?
        .into_iter()
        .map(|part| part.blob)
        .collect();
    multipart_parts::Entity::delete_many()
        .filter(multipart_parts::Column::UploadId.eq(upload_id))
        .exec(connection)
        .await?;
    multipart_uploads::Entity::delete_many()
        .filter(multipart_uploads::Column::UploadId.eq(upload_id))
        .exec(connection)
        .await?;
    Ok(blobs)
}

/// Removes the part rows of every upload in a bucket; returns their blobs.
pub(crate) async fn delete_parts_of_bucket(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
) -> Result<Vec<BlobId>, EngineError> {
    let uploads_of_bucket = Query::select()
        .column(multipart_uploads::Column::UploadId)
        .from(multipart_uploads::Entity)
        .and_where(Expr::col(multipart_uploads::Column::BucketId).eq(bucket_id))
        .to_owned();
    let blob_ids: Vec<String> = multipart_parts::Entity::find()
        .select_only()
        .column(multipart_parts::Column::BlobId)
        .filter(multipart_parts::Column::UploadId.in_subquery(uploads_of_bucket.clone()))
        .into_tuple()
        .all(connection)
        .await?;
    multipart_parts::Entity::delete_many()
        .filter(multipart_parts::Column::UploadId.in_subquery(uploads_of_bucket))
        .exec(connection)
        .await?;
    blob_ids.iter().map(|id| parse_blob_id(id)).collect()
}

/// Up to `limit` uploads of the bucket from `lower` (below `upper`), in (key, upload id)
/// order: one range scan of the `(bucket_id, key, upload_id)` index.
pub(crate) async fn list_range(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
    lower: &Lower,
    upper: Option<&[u8]>,
    limit: u64,
) -> Result<Vec<StoredUpload>, EngineError> {
    let mut select =
        multipart_uploads::Entity::find().filter(multipart_uploads::Column::BucketId.eq(bucket_id));
    select = match lower {
        Lower::AtOrAfter(key) => select.filter(multipart_uploads::Column::Key.gte(key.clone())),
        Lower::After {
            key,
            tiebreak: None,
        } => select.filter(multipart_uploads::Column::Key.gt(key.clone())),
        // Row-value comparison, which both databases answer from the index.
        Lower::After {
            key,
            tiebreak: Some(upload_id),
        } => select.filter(
            Expr::tuple([
                Expr::col(multipart_uploads::Column::Key),
                Expr::col(multipart_uploads::Column::UploadId),
            ])
            .gt(Expr::tuple([
                Expr::val(key.clone()),
                Expr::val(upload_id.clone()),
            ])),
        ),
    };
    if let Some(upper) = upper {
        select = select.filter(multipart_uploads::Column::Key.lt(upper.to_vec()));
    }
    select
        .order_by_asc(multipart_uploads::Column::Key)
        .order_by_asc(multipart_uploads::Column::UploadId)
        .limit(limit)
        .all(connection)
        .await?
        .into_iter()
        .map(upload_from_model)
        .collect()
}

/// Up to `limit` ids of uploads initiated before `cutoff`.
pub(crate) async fn initiated_before(
    connection: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<String>, EngineError> {
    Ok(multipart_uploads::Entity::find()
        .select_only()
        .column(multipart_uploads::Column::UploadId)
        .filter(multipart_uploads::Column::Initiated.lt(cutoff))
        .order_by_asc(multipart_uploads::Column::Initiated)
        .limit(limit)
        .into_tuple()
        .all(connection)
        .await?)
}

/// Of `blobs`, those some part references.
pub(crate) async fn referenced_blobs(
    connection: &impl ConnectionTrait,
    blobs: &[String],
) -> Result<Vec<String>, EngineError> {
    let mut referenced = Vec::new();
    for chunk in blobs.chunks(IN_CHUNK) {
        let found: Vec<String> = multipart_parts::Entity::find()
            .select_only()
            .column(multipart_parts::Column::BlobId)
            .filter(multipart_parts::Column::BlobId.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(connection)
            .await?;
        referenced.extend(found);
    }
    Ok(referenced)
}
