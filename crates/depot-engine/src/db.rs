//! The metadata database: connecting to SQLite or PostgreSQL, and write transactions that
//! retry when the database says a conflicting writer won.
//!
//! # Why retry instead of lock
//!
//! Writes that race on one key (two PUTs, a PUT and a DELETE) are serialised by the database
//! itself. SQLite takes its single write lock at `BEGIN IMMEDIATE`. PostgreSQL writers of
//! one key queue on a transaction-scoped advisory lock named after the key
//! ([`lock_name`]) — a row lock would not do, because an overwrite replaces the row and a
//! waiter on the old row would wake to find nothing — and once through, each sees the
//! previous writer's committed row. The unique index on `(bucket_id, key)` stays the last
//! word: should two inserts ever meet, the loser's unique violation aborts its transaction
//! and the whole transaction runs again, now seeing the winner's row (and answering
//! `PreconditionFailed` for `If-None-Match: *`). Deadlocks, serialisation failures and
//! SQLite's "database is busy" are retried the same way. Nothing is decided from a read made
//! outside the transaction that writes.

use std::time::Duration;

use md5::{Digest, Md5};
use rand::Rng;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, RuntimeErr, SqlErr, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};

use crate::error::EngineError;

/// How many times a write transaction runs before its conflict is reported.
pub(crate) const MAX_TXN_ATTEMPTS: u32 = 10;

/// Opens a pool for `url`, with SQLite tuned for one writer and many readers.
pub(crate) async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
    if url.starts_with("sqlite:") {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        // Each connection to `sqlite::memory:` would be a database of its own, so an
        // in-memory database gets exactly one; a file gets a few readers beside the writer.
        options.max_connections(if in_memory { 1 } else { 8 });
        options.map_sqlx_sqlite_opts(move |sqlite| {
            let sqlite = sqlite
                // Writers queue on SQLite's lock instead of failing at once.
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true);
            if in_memory {
                sqlite
            } else {
                // WAL lets readers (GET, LIST) proceed while one transaction writes;
                // synchronous=FULL keeps every acknowledged commit across a power cut.
                sqlite
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
            }
        });
    } else {
        options.max_connections(32);
    }
    Database::connect(options).await
}

/// The file of a SQLite connection's main database, as SQLite resolved it; `None` for an
/// in-memory database.
pub(crate) async fn sqlite_main_file(
    db: &DatabaseConnection,
) -> Result<Option<std::path::PathBuf>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA database_list",
        ))
        .await?;
    for row in rows {
        let name: String = row.try_get("", "name")?;
        let file: String = row.try_get("", "file")?;
        if name == "main" {
            return Ok(Some(file).filter(|file| !file.is_empty()).map(Into::into));
        }
    }
    Ok(None)
}

/// Starts a write transaction. On SQLite it takes the write lock at `BEGIN`: a deferred
/// transaction that reads first and writes later can fail to upgrade its lock, however long
/// it waits.
pub(crate) async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Whether running the transaction again may succeed.
pub(crate) fn is_transient(error: &EngineError) -> bool {
    let EngineError::Db(db_error) = error else {
        return false;
    };
    if matches!(
        db_error.sql_err(),
        Some(SqlErr::UniqueConstraintViolation(_))
    ) {
        return true;
    }
    let (DbErr::Exec(RuntimeErr::SqlxError(sqlx_error))
    | DbErr::Query(RuntimeErr::SqlxError(sqlx_error))
    | DbErr::Conn(RuntimeErr::SqlxError(sqlx_error))) = db_error
    else {
        return false;
    };
    let sea_orm::sqlx::Error::Database(database_error) = sqlx_error.as_ref() else {
        return false;
    };
    matches!(
        database_error.code().as_deref(),
        // PostgreSQL: serialization_failure, deadlock_detected.
        Some("40001" | "40P01")
        // SQLite: SQLITE_BUSY, SQLITE_LOCKED, SQLITE_BUSY_SNAPSHOT.
        | Some("5" | "6" | "517")
    )
}

/// A short, jittered pause before another attempt, growing with the attempt number, so
/// writers that collided do not collide again in lockstep.
pub(crate) async fn backoff(attempt: u32) {
    let ceiling_ms = 2u64.saturating_pow(attempt.min(8));
    let pause = rand::thread_rng().gen_range(1..=ceiling_ms.max(2));
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

/// Holds, until the transaction ends, a PostgreSQL advisory lock named by `parts` (a
/// namespace, then identifying values), so transactions writing the same thing queue
/// instead of colliding. A no-op on SQLite, whose write transactions are serial already.
///
/// The name is the first 64 bits of an MD5 over the length-prefixed parts: stable across
/// nodes and releases (unlike `std`'s hasher); two names that collide only make unrelated
/// writes wait for each other.
pub(crate) async fn lock_name(
    connection: &impl ConnectionTrait,
    parts: &[&[u8]],
) -> Result<(), DbErr> {
    if !is_postgres(connection) {
        return Ok(());
    }
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut name = [0u8; 8];
    name.copy_from_slice(&digest[..8]);
    connection
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [i64::from_be_bytes(name).into()],
        ))
        .await?;
    Ok(())
}

/// Whether `connection` is PostgreSQL, where row locks are worth asking for.
pub(crate) fn is_postgres(connection: &impl ConnectionTrait) -> bool {
    connection.get_database_backend() == DbBackend::Postgres
}

/// Runs `$body` — an expression using the transaction bound to `$txn` and evaluating to
/// `Result<T, EngineError>` — in a write transaction of the engine `$engine`: commits on
/// `Ok`, rolls back on `Err`, and runs the body again (up to [`MAX_TXN_ATTEMPTS`] times) when
/// the error is [transient](is_transient). The body must therefore be safe to repeat: it may
/// only touch the database through `$txn`.
///
/// On SQLite each attempt first queues on the engine's write gate (`Engine::write_gate`), so
/// the database's single write lock passes from one writer to the next in arrival order
/// instead of through SQLite's busy handler, which sleeps between retries and leaves the lock
/// idle meanwhile.
macro_rules! write_txn {
    ($engine:expr, |$txn:ident| $body:expr) => {{
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let gate = $engine.write_gate().await;
            let outcome: Result<_, $crate::error::EngineError> =
                match $crate::db::begin_write($engine.db()).await {
                    Err(error) => Err(error.into()),
                    Ok($txn) => match $body {
                        Ok(value) => $txn.commit().await.map(|()| value).map_err(Into::into),
                        Err(error) => {
                            // Rolling back is best effort: dropping the transaction rolls
                            // back too, and the body's error is the one worth reporting.
                            let _ = $txn.rollback().await;
                            Err(error)
                        }
                    },
                };
            drop(gate);
            match outcome {
                Err(error)
                    if $crate::db::is_transient(&error)
                        && attempt < $crate::db::MAX_TXN_ATTEMPTS =>
                {
                    tracing::debug!(attempt, %error, "write transaction conflicted; retrying");
                    $crate::db::backoff(attempt).await;
                }
                outcome => break outcome,
            }
        }
    }};
}
pub(crate) use write_txn;
