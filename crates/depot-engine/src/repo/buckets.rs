//! SQL for the `buckets` table.

use depot_domain::{BucketName, UserId};
use sea_orm::sea_query::{Expr, ExprTrait, LockType};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{locked, now, parse_bucket_name, parse_user_id, to_u64};
use crate::entity::{buckets, multipart_uploads, objects};
use crate::error::EngineError;
use crate::types::{BucketInfo, SizeHistory};

fn from_model(model: buckets::Model) -> Result<BucketInfo, EngineError> {
    Ok(BucketInfo {
        id: model.id,
        owner: parse_user_id(&model.owner_id)?,
        name: parse_bucket_name(model.name)?,
        location: model.location,
        created_at: model.created_at,
        epoch: model.epoch,
        object_count: to_u64(model.object_count, "bucket object count")?,
        bytes_used: to_u64(model.bytes_used, "bucket bytes used")?,
        account: model.account_name,
        history: SizeHistory {
            hmax_bytes: to_u64(model.size_hmax, "bucket peak size")?,
            integral_byte_hours: to_u64(model.size_integral, "bucket size integral")?,
            last_hour: to_u64(model.size_last_hour, "bucket size timestamp")?,
        },
        replicated: model.replicated,
    })
}

/// The hour since the Unix epoch that `at` falls in.
pub(crate) fn hour_of(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}

/// The bucket named `name`, optionally locking its row (PostgreSQL).
///
/// Writers of objects take `KeyShare`: it does not conflict with other writers (nor with
/// their counter updates, which take `NoKeyUpdate`) but does conflict with the `Update` lock
/// `delete_bucket` takes, so a bucket cannot be deleted under a write in flight and a write
/// cannot land in a bucket being deleted.
pub(crate) async fn find(
    connection: &impl ConnectionTrait,
    name: &BucketName,
    lock: Option<LockType>,
) -> Result<Option<BucketInfo>, EngineError> {
    let select = buckets::Entity::find().filter(buckets::Column::Name.eq(name.as_str()));
    let select = match lock {
        Some(lock) => locked(connection, select, lock),
        None => select,
    };
    select.one(connection).await?.map(from_model).transpose()
}

/// Like [`find`], with a missing bucket as [`EngineError::NoSuchBucket`].
pub(crate) async fn get(
    connection: &impl ConnectionTrait,
    name: &BucketName,
    lock: Option<LockType>,
) -> Result<BucketInfo, EngineError> {
    find(connection, name, lock)
        .await?
        .ok_or(EngineError::NoSuchBucket)
}

/// Inserts a bucket; a taken name is the database's unique violation, for the caller to
/// interpret.
pub(crate) async fn insert(
    connection: &impl ConnectionTrait,
    owner: UserId,
    account: Option<&str>,
    name: &BucketName,
    location: &str,
) -> Result<BucketInfo, EngineError> {
    let created_at = now();
    let hour = hour_of(created_at);
    let row = buckets::ActiveModel {
        id: NotSet,
        name: Set(name.as_str().to_owned()),
        owner_id: Set(owner.to_string()),
        location: Set(location.to_owned()),
        created_at: Set(created_at),
        epoch: Set(created_at.timestamp_millis()),
        object_count: Set(0),
        bytes_used: Set(0),
        account_name: Set(account.map(str::to_owned)),
        size_hmax: Set(0),
        size_integral: Set(0),
        size_last_hour: Set(hour),
        replicated: Set(false),
    };
    let id = buckets::Entity::insert(row)
        .exec(connection)
        .await?
        .last_insert_id;
    Ok(BucketInfo {
        id,
        name: name.clone(),
        owner,
        location: location.to_owned(),
        created_at,
        epoch: created_at.timestamp_millis(),
        object_count: 0,
        bytes_used: 0,
        account: account.map(str::to_owned),
        history: SizeHistory {
            last_hour: to_u64(hour, "bucket size timestamp")?,
            ..SizeHistory::default()
        },
        replicated: false,
    })
}

/// `owner`'s buckets in name order; with `account`, only that account's.
pub(crate) async fn list_by_owner(
    connection: &impl ConnectionTrait,
    owner: UserId,
    account: Option<&str>,
) -> Result<Vec<BucketInfo>, EngineError> {
    let select = buckets::Entity::find().filter(buckets::Column::OwnerId.eq(owner.to_string()));
    let select = match account {
        Some(account) => select.filter(buckets::Column::AccountName.eq(account)),
        None => select,
    };
    select
        .order_by_asc(buckets::Column::Name)
        .all(connection)
        .await?
        .into_iter()
        .map(from_model)
        .collect()
}

/// Whether `owner` (or its `account`) owns any bucket.
pub(crate) async fn owns_any(
    connection: &impl ConnectionTrait,
    owner: UserId,
    account: Option<&str>,
) -> Result<bool, EngineError> {
    let select = buckets::Entity::find()
        .select_only()
        .column(buckets::Column::Id)
        .filter(buckets::Column::OwnerId.eq(owner.to_string()));
    let select = match account {
        Some(account) => select.filter(buckets::Column::AccountName.eq(account)),
        None => select,
    };
    let any: Option<i64> = select.limit(1).into_tuple().one(connection).await?;
    Ok(any.is_some())
}

/// The number of buckets and the sums of their counters, over all owners.
pub(crate) async fn totals(
    connection: &impl ConnectionTrait,
) -> Result<(u64, u64, u64), EngineError> {
    // Summed here rather than with SUM(): PostgreSQL's SUM of a BIGINT is a NUMERIC.
    let rows: Vec<(i64, i64)> = buckets::Entity::find()
        .select_only()
        .column(buckets::Column::ObjectCount)
        .column(buckets::Column::BytesUsed)
        .into_tuple()
        .all(connection)
        .await?;
    let mut totals = (0u64, 0u64, 0u64);
    for (objects, bytes) in rows {
        totals.0 += 1;
        totals.1 = totals
            .1
            .saturating_add(to_u64(objects, "bucket object count")?);
        totals.2 = totals.2.saturating_add(to_u64(bytes, "bucket bytes used")?);
    }
    Ok(totals)
}

/// Every bucket in name order.
pub(crate) async fn list_all(
    connection: &impl ConnectionTrait,
) -> Result<Vec<BucketInfo>, EngineError> {
    buckets::Entity::find()
        .order_by_asc(buckets::Column::Name)
        .all(connection)
        .await?
        .into_iter()
        .map(from_model)
        .collect()
}

/// The bytes stored in all of `owner`'s buckets, as this transaction sees them.
pub(crate) async fn owner_bytes(
    connection: &impl ConnectionTrait,
    owner: UserId,
) -> Result<u64, EngineError> {
    // Cast: PostgreSQL's SUM of a BIGINT is a NUMERIC.
    let total: Option<i64> = buckets::Entity::find()
        .select_only()
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(bytes_used), 0) AS BIGINT)"),
            "total",
        )
        .filter(buckets::Column::OwnerId.eq(owner.to_string()))
        .into_tuple()
        .one(connection)
        .await?;
    to_u64(total.unwrap_or(0), "bytes used by the owner's buckets")
}

/// The bytes stored in the bucket, as this transaction sees them.
pub(crate) async fn bytes_used(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
) -> Result<u64, EngineError> {
    let bytes: Option<i64> = buckets::Entity::find_by_id(bucket_id)
        .select_only()
        .column(buckets::Column::BytesUsed)
        .into_tuple()
        .one(connection)
        .await?;
    to_u64(bytes.unwrap_or(0), "bucket bytes used")
}

/// Adds to a bucket's counters in place (`SET n = n + delta`), so concurrent writers never
/// lose each other's updates; the size history (peak, integral) moves in the same statement.
pub(crate) async fn add_usage(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
    objects_delta: i64,
    bytes_delta: i64,
) -> Result<(), EngineError> {
    if objects_delta == 0 && bytes_delta == 0 {
        return Ok(());
    }
    let hour = hour_of(now());
    let bytes = || Expr::col(buckets::Column::BytesUsed);
    let last_hour = || Expr::col(buckets::Column::SizeLastHour);
    let new_bytes = || bytes().add(bytes_delta);
    // Every right-hand side sees the row as it was, on SQLite and PostgreSQL alike.
    buckets::Entity::update_many()
        .col_expr(
            buckets::Column::ObjectCount,
            Expr::col(buckets::Column::ObjectCount).add(objects_delta),
        )
        .col_expr(buckets::Column::BytesUsed, new_bytes())
        .col_expr(
            buckets::Column::SizeIntegral,
            Expr::col(buckets::Column::SizeIntegral).add(
                Expr::case(
                    last_hour().lt(hour),
                    bytes().mul(Expr::val(hour).sub(last_hour())),
                )
                .finally(0i64),
            ),
        )
        .col_expr(
            buckets::Column::SizeLastHour,
            Expr::case(last_hour().lt(hour), Expr::val(hour))
                .finally(last_hour())
                .into(),
        )
        .col_expr(
            buckets::Column::SizeHmax,
            Expr::case(
                new_bytes().gt(Expr::col(buckets::Column::SizeHmax)),
                new_bytes(),
            )
            .finally(Expr::col(buckets::Column::SizeHmax))
            .into(),
        )
        .filter(buckets::Column::Id.eq(bucket_id))
        .exec(connection)
        .await?;
    Ok(())
}

/// Whether any object is stored in the bucket.
pub(crate) async fn has_objects(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
) -> Result<bool, EngineError> {
    let any: Option<i64> = objects::Entity::find()
        .select_only()
        .column(objects::Column::Id)
        .filter(objects::Column::BucketId.eq(bucket_id))
        .limit(1)
        .into_tuple()
        .one(connection)
        .await?;
    Ok(any.is_some())
}

/// Deletes the bucket row and its (already emptied) uploads.
pub(crate) async fn delete(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
) -> Result<(), EngineError> {
    multipart_uploads::Entity::delete_many()
        .filter(multipart_uploads::Column::BucketId.eq(bucket_id))
        .exec(connection)
        .await?;
    buckets::Entity::delete_many()
        .filter(buckets::Column::Id.eq(bucket_id))
        .exec(connection)
        .await?;
    Ok(())
}
