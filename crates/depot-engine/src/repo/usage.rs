//! SQL for usage statistics: `usage_reports` (one row per usage object) and `usage_counters`
//! (its counters per user and bucket).
//!
//! Writing a report adds its counters to any already stored under the same name and key, so
//! two nodes configured with one service id merge into one object instead of failing or
//! overwriting each other.

use depot_domain::{BucketRef, ServiceId, UsageCounters, UsageKey};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{corrupt, parse_bucket_name, parse_user_id, to_i64, to_u64};
use crate::entity::{usage_counters, usage_reports};
use crate::error::EngineError;
use crate::types::UsageReport;

/// Rows per `INSERT`: 10 values each, well inside SQLite's limit on bound parameters.
const ROWS_PER_INSERT: usize = 500;

/// A counter for a `BIGINT` column. 2^63 operations or bytes in one period are out of reach;
/// saturating keeps an impossible value from making the period unwritable, which would hold
/// every later period back behind it.
fn saturated(counter: u64) -> i64 {
    i64::try_from(counter).unwrap_or(i64::MAX)
}

/// Stores `report`'s header unless an object of its name exists.
pub(crate) async fn insert_report(
    connection: &impl ConnectionTrait,
    report: &UsageReport,
) -> Result<(), EngineError> {
    let row = usage_reports::ActiveModel {
        name: Set(report.name().to_string()),
        service_id: Set(to_i64(report.service.get())?),
        start_at: Set(report.start),
        period_seconds: Set(to_i64(report.period_seconds)?),
    };
    usage_reports::Entity::insert(row)
        .on_conflict(
            OnConflict::column(usage_reports::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(connection)
        .await?;
    Ok(())
}

/// Adds `items` to the counters of report `name`.
pub(crate) async fn add_counters(
    connection: &impl ConnectionTrait,
    name: &str,
    items: &[(UsageKey, UsageCounters)],
) -> Result<(), EngineError> {
    use usage_counters::Column as C;
    const COUNTERS: [C; 6] = [
        C::OpsPut,
        C::OpsGet,
        C::OpsList,
        C::OpsOther,
        C::BytesUploaded,
        C::BytesDownloaded,
    ];
    let mut rows = Vec::with_capacity(items.len());
    for (key, counters) in items {
        let (bucket, epoch) = match &key.bucket {
            Some(bucket) => (bucket.name.to_string(), to_i64(bucket.epoch)?),
            None => (String::new(), 0),
        };
        rows.push(usage_counters::ActiveModel {
            report: Set(name.to_owned()),
            bucket: Set(bucket),
            epoch: Set(epoch),
            user_id: Set(key.user.to_string()),
            ops_put: Set(saturated(counters.ops_put)),
            ops_get: Set(saturated(counters.ops_get)),
            ops_list: Set(saturated(counters.ops_list)),
            ops_other: Set(saturated(counters.ops_other)),
            bytes_uploaded: Set(saturated(counters.bytes_uploaded)),
            bytes_downloaded: Set(saturated(counters.bytes_downloaded)),
        });
    }
    let mut on_conflict =
        OnConflict::columns([C::Report, C::Bucket, C::Epoch, C::UserId]).to_owned();
    for column in COUNTERS {
        // `usage_counters.x = usage_counters.x + excluded.x`, in both databases' syntax.
        on_conflict.value(
            column,
            Expr::col((usage_counters::Entity, column))
                .add(Expr::col((Alias::new("excluded"), column))),
        );
    }
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        usage_counters::Entity::insert_many(chunk)
            .on_conflict(on_conflict.clone())
            .exec_without_returning(connection)
            .await?;
    }
    Ok(())
}

/// Up to `limit` report names, oldest first, and whether more exist.
pub(crate) async fn names(
    connection: &impl ConnectionTrait,
    limit: u64,
) -> Result<(Vec<String>, bool), EngineError> {
    let mut names: Vec<String> = usage_reports::Entity::find()
        .select_only()
        .column(usage_reports::Column::Name)
        .order_by_asc(usage_reports::Column::StartAt)
        .order_by_asc(usage_reports::Column::Name)
        .limit(limit.saturating_add(1))
        .into_tuple()
        .all(connection)
        .await?;
    let truncated = names.len() as u64 > limit;
    names.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok((names, truncated))
}

/// The report named `name`, if it exists.
pub(crate) async fn get(
    connection: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<UsageReport>, EngineError> {
    let Some(report) = usage_reports::Entity::find_by_id(name.to_owned())
        .one(connection)
        .await?
    else {
        return Ok(None);
    };
    let rows = usage_counters::Entity::find()
        .filter(usage_counters::Column::Report.eq(name))
        .all(connection)
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let bucket = if row.bucket.is_empty() {
            None
        } else {
            Some(BucketRef {
                name: parse_bucket_name(row.bucket)?,
                epoch: to_u64(row.epoch, "usage epoch")?,
            })
        };
        let key = UsageKey {
            user: parse_user_id(&row.user_id)?,
            bucket,
        };
        let counters = UsageCounters {
            ops_put: to_u64(row.ops_put, "usage counter")?,
            ops_get: to_u64(row.ops_get, "usage counter")?,
            ops_list: to_u64(row.ops_list, "usage counter")?,
            ops_other: to_u64(row.ops_other, "usage counter")?,
            bytes_uploaded: to_u64(row.bytes_uploaded, "usage counter")?,
            bytes_downloaded: to_u64(row.bytes_downloaded, "usage counter")?,
        };
        items.push((key, counters));
    }
    // Sorted here rather than by SQL, whose text order is PostgreSQL's collation.
    items.sort_by(|(a, _), (b, _)| a.cmp(b));
    let service_id = to_u64(report.service_id, "usage service id")?;
    let service = ServiceId::new(service_id)
        .map_err(|error| corrupt(format!("usage object {name}: {error}")))?;
    Ok(Some(UsageReport {
        service,
        start: report.start_at,
        period_seconds: to_u64(report.period_seconds, "usage period")?,
        items,
    }))
}

/// Removes report `name` and its counters; `false` if there was none.
pub(crate) async fn delete(
    connection: &impl ConnectionTrait,
    name: &str,
) -> Result<bool, EngineError> {
    // The counters go by the foreign key's cascade too; deleted here first so that does not
    // have to be relied on.
    usage_counters::Entity::delete_many()
        .filter(usage_counters::Column::Report.eq(name))
        .exec(connection)
        .await?;
    let deleted = usage_reports::Entity::delete_by_id(name.to_owned())
        .exec(connection)
        .await?
        .rows_affected;
    Ok(deleted > 0)
}
