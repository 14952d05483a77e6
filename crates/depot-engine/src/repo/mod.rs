//! Repository functions: every SQL statement the engine runs, one module per table family.
//!
//! Each function takes `&impl ConnectionTrait` — the pool or an open transaction, the caller
//! decides — and returns the engine's own types, never a sea-orm `Model`, so what a row means
//! is decided here once. Values read back are parsed into their domain types; a value that
//! does not parse is [`EngineError::CorruptMetadata`], not a panic.

pub(crate) mod buckets;
pub(crate) mod limiter;
pub(crate) mod objects;
pub(crate) mod replication;
pub(crate) mod settings;
pub(crate) mod uploads;
pub(crate) mod usage;
pub(crate) mod users;

use chrono::{DateTime, Utc};
use depot_domain::{BucketName, ObjectKey, UserId};
use sea_orm::sea_query::LockType;
use sea_orm::{ConnectionTrait, QuerySelect, Select};

use crate::blob::BlobId;
use crate::db::is_postgres;
use crate::error::EngineError;

/// The current time at the database's precision (microseconds), so that a timestamp reads
/// back equal to the one written on SQLite and PostgreSQL alike.
pub(crate) fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

pub(crate) fn corrupt(what: impl Into<String>) -> EngineError {
    EngineError::CorruptMetadata(what.into())
}

pub(crate) fn parse_user_id(text: &str) -> Result<UserId, EngineError> {
    text.parse()
        .map_err(|error| corrupt(format!("user id {text:?}: {error}")))
}

pub(crate) fn parse_bucket_name(text: String) -> Result<BucketName, EngineError> {
    BucketName::new(text).map_err(|error| corrupt(format!("bucket name: {error}")))
}

pub(crate) fn parse_key(bytes: Vec<u8>) -> Result<ObjectKey, EngineError> {
    ObjectKey::from_utf8(bytes).map_err(|error| corrupt(format!("object key: {error}")))
}

pub(crate) fn parse_blob_id(text: &str) -> Result<BlobId, EngineError> {
    text.parse()
        .map_err(|_| corrupt(format!("blob id {text:?} is not 32 lowercase hex digits")))
}

/// A size or counter read from a `BIGINT` column.
pub(crate) fn to_u64(value: i64, what: &str) -> Result<u64, EngineError> {
    u64::try_from(value).map_err(|_| corrupt(format!("{what} is negative ({value})")))
}

/// A size about to be written to a `BIGINT` column.
pub(crate) fn to_i64(value: u64) -> Result<i64, EngineError> {
    i64::try_from(value)
        .map_err(|_| EngineError::InvalidArgument(format!("size {value} does not fit in 63 bits")))
}

/// Adds a row lock to `select` on PostgreSQL. SQLite has no row locks and needs none: its
/// write transactions hold the database's single write lock from `BEGIN IMMEDIATE`.
pub(crate) fn locked<E: sea_orm::EntityTrait>(
    connection: &impl ConnectionTrait,
    select: Select<E>,
    lock: LockType,
) -> Select<E> {
    if is_postgres(connection) {
        select.lock(lock)
    } else {
        select
    }
}
