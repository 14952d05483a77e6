//! SQL for the rate limiter's shared state (`limiter_tokens`, `limiter_clocks`).
//!
//! Each decision is one `INSERT … ON CONFLICT DO UPDATE … RETURNING` statement: the database
//! locks the row, computes from the committed state and answers, so nodes sharing the
//! database never decide from a stale read, and the time is the database's own, so their
//! clocks need not agree. Arithmetic is in integers — millionths of a token, microseconds —
//! so SQLite and PostgreSQL give the same answer.

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::error::EngineError;

/// One token, in the millionths the table counts in.
pub(crate) const MICRO: i64 = 1_000_000;

/// The database's clock, in microseconds since the Unix epoch, the same for the whole
/// statement.
fn now_us(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            "CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000000 AS BIGINT)"
        }
        // SQLite's 'now' is fixed for one statement, at millisecond precision.
        _ => "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)",
    }
}

/// `sql` for `backend`: PostgreSQL's `LEAST`/`GREATEST` are SQLite's two-argument `MIN`/`MAX`,
/// its `$n` placeholders SQLite's `?n`.
fn dialect(backend: DbBackend, sql: &str) -> String {
    let sql = sql.replace("{now}", now_us(backend));
    match backend {
        DbBackend::Postgres => sql,
        _ => sql
            .replace("LEAST(", "MIN(")
            .replace("GREATEST(", "MAX(")
            .replace('$', "?"),
    }
}

/// A token bucket's refill rule, as parameters of [`take_token`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenBucket {
    /// The most it holds, in millionths of a token (at least one token).
    pub(crate) capacity: i64,
    /// Millionths of a token added per second.
    pub(crate) refill_per_second: i64,
    /// The idle time, in microseconds, after which it is full: elapsed time is capped to it so
    /// the refill's product cannot overflow.
    pub(crate) fill_us: i64,
}

/// Takes one token from bucket `key` (full if new); whether there was one.
pub(crate) async fn take_token(
    connection: &impl ConnectionTrait,
    key: &str,
    bucket: TokenBucket,
) -> Result<bool, EngineError> {
    // Time since the last take, at most the time to fill up.
    const ELAPSED: &str = "LEAST(GREATEST(excluded.at_us - limiter_tokens.at_us, 0), $4)";
    let refilled = format!("LEAST($2, limiter_tokens.micro_tokens + {ELAPSED} * $3 / 1000000)");
    // The clock moves to now less the time whose refill rounded away, so a bucket taken from
    // more often than it gains a millionth still fills; and never back, as it would when a
    // statement that read the time earlier waited for the row behind one that read it later.
    let advanced =
        format!("GREATEST(limiter_tokens.at_us, excluded.at_us - {ELAPSED} * $3 % 1000000 / $3)");
    let sql = format!(
        "INSERT INTO limiter_tokens (\"key\", micro_tokens, at_us, admitted) \
         VALUES ($1, $2 - 1000000, {{now}}, TRUE) \
         ON CONFLICT (\"key\") DO UPDATE SET \
           micro_tokens = CASE WHEN {refilled} >= 1000000 \
                          THEN {refilled} - 1000000 ELSE {refilled} END, \
           at_us = {advanced}, \
           admitted = {refilled} >= 1000000 \
         RETURNING admitted"
    );
    let backend = connection.get_database_backend();
    let row = connection
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            dialect(backend, &sql),
            [
                key.into(),
                bucket.capacity.into(),
                bucket.refill_per_second.into(),
                bucket.fill_us.into(),
            ],
        ))
        .await?
        .ok_or_else(|| super::corrupt("the token bucket's statement returned no row"))?;
    Ok(row.try_get("", "admitted")?)
}

/// Reserves `cost_us` microseconds of sending on the bandwidth clock `key`, after every
/// earlier reservation but never more than `max_wait_us` ahead of now (so the clock cannot
/// run off to overflow); returns how many microseconds from now the reserved bytes may go.
pub(crate) async fn reserve_time(
    connection: &impl ConnectionTrait,
    key: &str,
    cost_us: i64,
    max_wait_us: i64,
) -> Result<i64, EngineError> {
    let sql = "INSERT INTO limiter_clocks (\"key\", free_at_us, reserved_at_us) \
               VALUES ($1, {now} + LEAST($2, $3), {now}) \
               ON CONFLICT (\"key\") DO UPDATE SET \
                 free_at_us = LEAST( \
                   GREATEST(limiter_clocks.free_at_us, excluded.reserved_at_us) + $2, \
                   excluded.reserved_at_us + $3), \
                 reserved_at_us = excluded.reserved_at_us \
               RETURNING free_at_us - reserved_at_us AS wait_us";
    let backend = connection.get_database_backend();
    let row = connection
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            dialect(backend, sql),
            [key.into(), cost_us.into(), max_wait_us.into()],
        ))
        .await?
        .ok_or_else(|| super::corrupt("the bandwidth clock's statement returned no row"))?;
    Ok(row.try_get("", "wait_us")?)
}
