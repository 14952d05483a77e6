//! SQL for the `quotas` and `limits` tables: per-user, per-bucket and default settings of the
//! ostor admin API.

use depot_domain::{BucketName, LimitScope, Limits, QuotaScope, RateLimit, UserId};
use sea_orm::sea_query::ExprTrait;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::{corrupt, to_i64, to_u64};
use crate::entity::{limits, quotas};
use crate::error::EngineError;

const USER: &str = "user";
const BUCKET: &str = "bucket";
const DEFAULT_USER: &str = "default_user";
const DEFAULT_BUCKET: &str = "default_bucket";

/// The row key of a quota: (kind, subject).
fn quota_key(scope: &QuotaScope) -> (&'static str, String) {
    match scope {
        QuotaScope::User(id) => (USER, id.to_string()),
        QuotaScope::Bucket(name) => (BUCKET, name.to_string()),
        QuotaScope::DefaultUser => (DEFAULT_USER, String::new()),
        QuotaScope::DefaultBucket => (DEFAULT_BUCKET, String::new()),
    }
}

/// The row key of a set of limits: (kind, subject).
fn limits_key(scope: &LimitScope) -> (&'static str, String) {
    match scope {
        LimitScope::User(id) => (USER, id.to_string()),
        LimitScope::Bucket(name) => (BUCKET, name.to_string()),
    }
}

/// The quota set for exactly `scope`, in GB; `None` if none was.
pub(crate) async fn quota(
    connection: &impl ConnectionTrait,
    scope: &QuotaScope,
) -> Result<Option<u64>, EngineError> {
    let (kind, subject) = quota_key(scope);
    quotas::Entity::find_by_id((kind.to_owned(), subject))
        .one(connection)
        .await?
        .map(|row| to_u64(row.size_gb, "quota size"))
        .transpose()
}

/// Sets the quota of `scope` to `size_gb`, replacing any earlier one.
pub(crate) async fn set_quota(
    connection: &impl ConnectionTrait,
    scope: &QuotaScope,
    size_gb: u64,
) -> Result<(), EngineError> {
    let (kind, subject) = quota_key(scope);
    let row = quotas::ActiveModel {
        kind: Set(kind.to_owned()),
        subject: Set(subject),
        size_gb: Set(to_i64(size_gb)?),
    };
    quotas::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([quotas::Column::Kind, quotas::Column::Subject])
                .update_column(quotas::Column::SizeGb)
                .to_owned(),
        )
        .exec_without_returning(connection)
        .await?;
    Ok(())
}

/// Removes the quota of `scope` (the default applies again).
pub(crate) async fn delete_quota(
    connection: &impl ConnectionTrait,
    scope: &QuotaScope,
) -> Result<(), EngineError> {
    let (kind, subject) = quota_key(scope);
    quotas::Entity::delete_by_id((kind.to_owned(), subject))
        .exec(connection)
        .await?;
    Ok(())
}

/// The quotas a write to `bucket` of `user` must keep, in bytes: (the user's, the bucket's),
/// each its own if set, else the default, `None` where unlimited.
pub(crate) async fn applicable(
    connection: &impl ConnectionTrait,
    user: UserId,
    bucket: &BucketName,
) -> Result<(Option<u64>, Option<u64>), EngineError> {
    let (user_subject, bucket_subject) = (user.to_string(), bucket.to_string());
    let rows = quotas::Entity::find()
        .filter(
            (quotas::Column::Kind
                .eq(USER)
                .and(quotas::Column::Subject.eq(&user_subject)))
            .or(quotas::Column::Kind
                .eq(BUCKET)
                .and(quotas::Column::Subject.eq(&bucket_subject)))
            .or(quotas::Column::Kind.is_in([DEFAULT_USER, DEFAULT_BUCKET])),
        )
        .all(connection)
        .await?;
    let find = |kind: &str| -> Result<Option<u64>, EngineError> {
        rows.iter()
            .find(|row| row.kind == kind)
            .map(|row| to_u64(row.size_gb, "quota size"))
            .transpose()
    };
    let pick = |own: Option<u64>, default: Option<u64>| {
        own.or(default)
            .filter(|gb| *gb > 0)
            .map(|gb| gb.saturating_mul(depot_domain::BYTES_PER_GB))
    };
    Ok((
        pick(find(USER)?, find(DEFAULT_USER)?),
        pick(find(BUCKET)?, find(DEFAULT_BUCKET)?),
    ))
}

/// The limits set for `scope`; `None` if none ever were.
pub(crate) async fn limits(
    connection: &impl ConnectionTrait,
    scope: &LimitScope,
) -> Result<Option<Limits>, EngineError> {
    let (kind, subject) = limits_key(scope);
    let Some(row) = limits::Entity::find_by_id((kind.to_owned(), subject))
        .one(connection)
        .await?
    else {
        return Ok(None);
    };
    let rate = |text: &str| {
        text.parse::<RateLimit>()
            .map_err(|error| corrupt(format!("limit {text:?}: {error}")))
    };
    Ok(Some(Limits {
        ops_default: rate(&row.ops_default)?,
        ops_get: rate(&row.ops_get)?,
        ops_put: rate(&row.ops_put)?,
        ops_list: rate(&row.ops_list)?,
        ops_delete: rate(&row.ops_delete)?,
        bandwidth_out_kb: rate(&row.bandwidth_out)?,
    }))
}

/// Stores `limits` for `scope`, replacing what was there.
pub(crate) async fn set_limits(
    connection: &impl ConnectionTrait,
    scope: &LimitScope,
    limits: &Limits,
) -> Result<(), EngineError> {
    let (kind, subject) = limits_key(scope);
    let row = limits::ActiveModel {
        kind: Set(kind.to_owned()),
        subject: Set(subject),
        ops_default: Set(limits.ops_default.to_string()),
        ops_get: Set(limits.ops_get.to_string()),
        ops_put: Set(limits.ops_put.to_string()),
        ops_list: Set(limits.ops_list.to_string()),
        ops_delete: Set(limits.ops_delete.to_string()),
        bandwidth_out: Set(limits.bandwidth_out_kb.to_string()),
    };
    limits::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([limits::Column::Kind, limits::Column::Subject])
                .update_columns([
                    limits::Column::OpsDefault,
                    limits::Column::OpsGet,
                    limits::Column::OpsPut,
                    limits::Column::OpsList,
                    limits::Column::OpsDelete,
                    limits::Column::BandwidthOut,
                ])
                .to_owned(),
        )
        .exec_without_returning(connection)
        .await?;
    Ok(())
}

/// Removes every quota and limit of a user or a bucket that is going away.
pub(crate) async fn forget_subject(
    connection: &impl ConnectionTrait,
    subject: Subject<'_>,
) -> Result<(), EngineError> {
    let (kind, subject) = match subject {
        Subject::User(id) => (USER, id.to_string()),
        Subject::Bucket(name) => (BUCKET, name.to_string()),
        Subject::Defaults => return Ok(()),
    };
    quotas::Entity::delete_many()
        .filter(quotas::Column::Kind.eq(kind))
        .filter(quotas::Column::Subject.eq(&subject))
        .exec(connection)
        .await?;
    limits::Entity::delete_many()
        .filter(limits::Column::Kind.eq(kind))
        .filter(limits::Column::Subject.eq(&subject))
        .exec(connection)
        .await?;
    Ok(())
}

/// What quotas and limits are set for: a user, a bucket, or the defaults of every user or
/// bucket.
pub(crate) enum Subject<'a> {
    User(UserId),
    Bucket(&'a BucketName),
    Defaults,
}

impl<'a> Subject<'a> {
    pub(crate) fn of_quota(scope: &'a QuotaScope) -> Self {
        match scope {
            QuotaScope::User(id) => Subject::User(*id),
            QuotaScope::Bucket(name) => Subject::Bucket(name),
            QuotaScope::DefaultUser | QuotaScope::DefaultBucket => Subject::Defaults,
        }
    }

    pub(crate) fn of_limits(scope: &'a LimitScope) -> Self {
        match scope {
            LimitScope::User(id) => Subject::User(*id),
            LimitScope::Bucket(name) => Subject::Bucket(name),
        }
    }
}

/// The quota that applies to `scope`, in GB: its own, else the default of its kind, else 0
/// (unlimited).
pub(crate) async fn effective_quota(
    connection: &impl ConnectionTrait,
    scope: &QuotaScope,
) -> Result<u64, EngineError> {
    if let Some(own) = quota(connection, scope).await? {
        return Ok(own);
    }
    let default = match scope {
        QuotaScope::User(_) => QuotaScope::DefaultUser,
        QuotaScope::Bucket(_) => QuotaScope::DefaultBucket,
        QuotaScope::DefaultUser | QuotaScope::DefaultBucket => return Ok(0),
    };
    Ok(quota(connection, &default).await?.unwrap_or(0))
}
