//! SQL for bucket replication: the `bucket_replication` settings, the `replication_queue`, and
//! the replication status of object rows.
//!
//! The queue holds one entry per (bucket, key): a write of the key replaces the entry's
//! operation and its *generation* (a fresh random number), so a worker that copied an older
//! state of the key sees, when it reports back, that the entry changed under it and leaves it
//! queued. An entry being worked on is *leased* until a deadline; a write of its key does not
//! touch the lease, so two copies of one key never travel at once (the older could land last).

use chrono::{DateTime, Utc};
use depot_domain::{ObjectKey, ReplicationConfiguration, ReplicationStatus};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::corrupt;
use crate::entity::{bucket_replication, buckets, objects, replication_queue};
use crate::error::EngineError;
use crate::types::ReplicationOperation;

/// A bucket's stored replication settings, the secret still sealed.
#[derive(Debug, Clone)]
pub(crate) struct StoredSettings {
    pub(crate) config: ReplicationConfiguration,
    pub(crate) endpoint: Option<String>,
    pub(crate) access_key: Option<String>,
    pub(crate) sealed_secret: Option<Vec<u8>>,
}

/// A queue entry as read back.
#[derive(Debug, Clone)]
pub(crate) struct QueuedRow {
    pub(crate) id: i64,
    pub(crate) bucket_id: i64,
    pub(crate) key: Vec<u8>,
    pub(crate) operation: ReplicationOperation,
    pub(crate) generation: i64,
    pub(crate) attempts: u32,
}

fn operation_text(operation: ReplicationOperation) -> &'static str {
    match operation {
        ReplicationOperation::Put => "put",
        ReplicationOperation::Delete => "delete",
    }
}

fn parse_operation(text: &str) -> Result<ReplicationOperation, EngineError> {
    match text {
        "put" => Ok(ReplicationOperation::Put),
        "delete" => Ok(ReplicationOperation::Delete),
        other => Err(corrupt(format!("replication operation {other:?}"))),
    }
}

fn config_to_json(config: &ReplicationConfiguration) -> Result<String, EngineError> {
    serde_json::to_string(config).map_err(|error| {
        EngineError::InvalidArgument(format!("replication configuration: {error}"))
    })
}

fn config_from_json(text: &str) -> Result<ReplicationConfiguration, EngineError> {
    serde_json::from_str(text)
        .map_err(|error| corrupt(format!("replication configuration: {error}")))
}

/// The settings of the bucket with id `bucket_id`, if it has any.
pub(crate) async fn settings(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
) -> Result<Option<StoredSettings>, EngineError> {
    let Some(row) = bucket_replication::Entity::find_by_id(bucket_id)
        .one(connection)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(StoredSettings {
        config: config_from_json(&row.configuration)?,
        endpoint: row.endpoint,
        access_key: row.access_key,
        sealed_secret: row.secret_ciphertext,
    }))
}

/// Stores the settings of a bucket, replacing any, and marks the bucket replicated.
pub(crate) async fn store(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
    settings: &StoredSettings,
    now: DateTime<Utc>,
) -> Result<(), EngineError> {
    let row = bucket_replication::ActiveModel {
        bucket_id: Set(bucket_id),
        configuration: Set(config_to_json(&settings.config)?),
        endpoint: Set(settings.endpoint.clone()),
        access_key: Set(settings.access_key.clone()),
        secret_ciphertext: Set(settings.sealed_secret.clone()),
        updated_at: Set(now),
    };
    bucket_replication::Entity::insert(row)
        .on_conflict(
            OnConflict::column(bucket_replication::Column::BucketId)
                .update_columns([
                    bucket_replication::Column::Configuration,
                    bucket_replication::Column::Endpoint,
                    bucket_replication::Column::AccessKey,
                    bucket_replication::Column::SecretCiphertext,
                    bucket_replication::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(connection)
        .await?;
    set_replicated(connection, bucket_id, true).await?;
    // New credentials or rules may be what the waiting entries needed: try them now.
    replication_queue::Entity::update_many()
        .col_expr(replication_queue::Column::NextAttemptAt, Expr::value(now))
        .col_expr(replication_queue::Column::Attempts, Expr::value(0))
        .filter(replication_queue::Column::BucketId.eq(bucket_id))
        .exec(connection)
        .await?;
    Ok(())
}

/// Removes a bucket's settings and its queue; objects still waiting are marked `FAILED`
/// (they will not be replicated). `false` if the bucket had no settings.
pub(crate) async fn remove(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
) -> Result<bool, EngineError> {
    let deleted = bucket_replication::Entity::delete_by_id(bucket_id)
        .exec(connection)
        .await?
        .rows_affected;
    set_replicated(connection, bucket_id, false).await?;
    replication_queue::Entity::delete_many()
        .filter(replication_queue::Column::BucketId.eq(bucket_id))
        .exec(connection)
        .await?;
    objects::Entity::update_many()
        .col_expr(
            objects::Column::ReplicationStatus,
            Expr::value(ReplicationStatus::Failed.as_str()),
        )
        .filter(objects::Column::BucketId.eq(bucket_id))
        .filter(objects::Column::ReplicationStatus.eq(ReplicationStatus::Pending.as_str()))
        .exec(connection)
        .await?;
    Ok(deleted > 0)
}

async fn set_replicated(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
    replicated: bool,
) -> Result<(), EngineError> {
    buckets::Entity::update_many()
        .col_expr(buckets::Column::Replicated, Expr::value(replicated))
        .filter(buckets::Column::Id.eq(bucket_id))
        .exec(connection)
        .await?;
    Ok(())
}

/// Queues `operation` for `key`, replacing whatever was queued for it, due at `now`.
pub(crate) async fn enqueue(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
    key: &ObjectKey,
    operation: ReplicationOperation,
    now: DateTime<Utc>,
) -> Result<(), EngineError> {
    let row = replication_queue::ActiveModel {
        id: NotSet,
        bucket_id: Set(bucket_id),
        key: Set(key.as_str().as_bytes().to_vec()),
        operation: Set(operation_text(operation).to_owned()),
        generation: Set(rand::random::<i64>()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        leased_until: Set(None),
        last_error: Set(None),
    };
    replication_queue::Entity::insert(row)
        .on_conflict(
            // Not the lease: see the module documentation.
            OnConflict::columns([
                replication_queue::Column::BucketId,
                replication_queue::Column::Key,
            ])
            .update_columns([
                replication_queue::Column::Operation,
                replication_queue::Column::Generation,
                replication_queue::Column::Attempts,
                replication_queue::Column::NextAttemptAt,
                replication_queue::Column::LastError,
            ])
            .to_owned(),
        )
        .exec_without_returning(connection)
        .await?;
    Ok(())
}

/// Up to `limit` entries due at `now` and not leased, soonest first.
pub(crate) async fn due(
    connection: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<QueuedRow>, EngineError> {
    replication_queue::Entity::find()
        .filter(replication_queue::Column::NextAttemptAt.lte(now))
        .filter(
            replication_queue::Column::LeasedUntil
                .is_null()
                .or(replication_queue::Column::LeasedUntil.lt(now)),
        )
        .order_by_asc(replication_queue::Column::NextAttemptAt)
        .limit(limit)
        .all(connection)
        .await?
        .into_iter()
        .map(|row| {
            Ok(QueuedRow {
                id: row.id,
                bucket_id: row.bucket_id,
                key: row.key,
                operation: parse_operation(&row.operation)?,
                generation: row.generation,
                attempts: u32::try_from(row.attempts).unwrap_or(0),
            })
        })
        .collect()
}

/// Leases the entry `id` until `until` if nobody else holds it: `true` if this caller now does.
/// The condition is re-checked by the UPDATE itself, so of several nodes racing for one entry
/// exactly one wins.
pub(crate) async fn lease(
    connection: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, EngineError> {
    let leased = replication_queue::Entity::update_many()
        .col_expr(replication_queue::Column::LeasedUntil, Expr::value(until))
        .filter(replication_queue::Column::Id.eq(id))
        .filter(
            replication_queue::Column::LeasedUntil
                .is_null()
                .or(replication_queue::Column::LeasedUntil.lt(now)),
        )
        .exec(connection)
        .await?
        .rows_affected;
    Ok(leased == 1)
}

/// Ends the lease of every entry: for a process that is the database's only user, at start,
/// since nobody else can be working on them.
pub(crate) async fn release_all(connection: &impl ConnectionTrait) -> Result<u64, EngineError> {
    Ok(replication_queue::Entity::update_many()
        .col_expr(
            replication_queue::Column::LeasedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(replication_queue::Column::LeasedUntil.is_not_null())
        .exec(connection)
        .await?
        .rows_affected)
}

/// Takes the entry off the queue if it is still at `generation`; otherwise (written again
/// meanwhile) only ends the lease, so the newer state goes out next. `true` if removed.
pub(crate) async fn complete(
    connection: &impl ConnectionTrait,
    id: i64,
    generation: i64,
) -> Result<bool, EngineError> {
    let removed = replication_queue::Entity::delete_many()
        .filter(replication_queue::Column::Id.eq(id))
        .filter(replication_queue::Column::Generation.eq(generation))
        .exec(connection)
        .await?
        .rows_affected;
    if removed == 0 {
        release(connection, id).await?;
    }
    Ok(removed > 0)
}

/// Puts the entry back, due at `retry_at`, recording the error, if it is still at
/// `generation`; otherwise only ends the lease.
pub(crate) async fn retry(
    connection: &impl ConnectionTrait,
    id: i64,
    generation: i64,
    retry_at: DateTime<Utc>,
    error: &str,
) -> Result<(), EngineError> {
    let updated = replication_queue::Entity::update_many()
        .col_expr(
            replication_queue::Column::NextAttemptAt,
            Expr::value(retry_at),
        )
        .col_expr(
            replication_queue::Column::Attempts,
            Expr::col(replication_queue::Column::Attempts).add(1),
        )
        .col_expr(
            replication_queue::Column::LeasedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(replication_queue::Column::LastError, Expr::value(error))
        .filter(replication_queue::Column::Id.eq(id))
        .filter(replication_queue::Column::Generation.eq(generation))
        .exec(connection)
        .await?
        .rows_affected;
    if updated == 0 {
        release(connection, id).await?;
    }
    Ok(())
}

/// Ends the lease of the entry `id`.
pub(crate) async fn release(connection: &impl ConnectionTrait, id: i64) -> Result<(), EngineError> {
    replication_queue::Entity::update_many()
        .col_expr(
            replication_queue::Column::LeasedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(replication_queue::Column::Id.eq(id))
        .exec(connection)
        .await?;
    Ok(())
}

/// How many entries are queued.
pub(crate) async fn backlog(connection: &impl ConnectionTrait) -> Result<u64, EngineError> {
    use sea_orm::PaginatorTrait;
    Ok(replication_queue::Entity::find().count(connection).await?)
}

/// Sets the replication status of the object `key` if it is still the one identified by
/// `etag` and `last_modified` (a newer write has its own status).
pub(crate) async fn mark_object(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
    key: &ObjectKey,
    etag: &str,
    last_modified: DateTime<Utc>,
    status: ReplicationStatus,
) -> Result<(), EngineError> {
    objects::Entity::update_many()
        .col_expr(
            objects::Column::ReplicationStatus,
            Expr::value(status.as_str()),
        )
        .filter(objects::Column::BucketId.eq(bucket_id))
        .filter(objects::Column::Key.eq(key.as_str().as_bytes().to_vec()))
        .filter(objects::Column::Etag.eq(etag))
        .filter(objects::Column::LastModified.eq(last_modified))
        .exec(connection)
        .await?;
    Ok(())
}

/// Marks the object `key` `FAILED` if it is `PENDING`.
pub(crate) async fn fail_pending(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
    key: &ObjectKey,
) -> Result<(), EngineError> {
    objects::Entity::update_many()
        .col_expr(
            objects::Column::ReplicationStatus,
            Expr::value(ReplicationStatus::Failed.as_str()),
        )
        .filter(objects::Column::BucketId.eq(bucket_id))
        .filter(objects::Column::Key.eq(key.as_str().as_bytes().to_vec()))
        .filter(objects::Column::ReplicationStatus.eq(ReplicationStatus::Pending.as_str()))
        .exec(connection)
        .await?;
    Ok(())
}

/// The name of the bucket with id `bucket_id`, if it still exists.
pub(crate) async fn bucket_name(
    connection: &impl ConnectionTrait,
    bucket_id: i64,
) -> Result<Option<String>, EngineError> {
    Ok(buckets::Entity::find_by_id(bucket_id)
        .select_only()
        .column(buckets::Column::Name)
        .into_tuple::<String>()
        .one(connection)
        .await?)
}
