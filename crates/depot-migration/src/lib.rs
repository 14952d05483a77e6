//! Depot's database schema: every table's migration, in one ordered list.
//!
//! # One list, frozen files
//!
//! [`Migrator::migrations`] is the only place that says which migrations exist and in what
//! order. Each `mYYYYMMDD_HHMMSS_<verb>_<table>.rs` file declares its own `Iden` enums and
//! never imports an entity: an entity describes the schema *today*, a migration describes one
//! step *then*, and the step must keep meaning the same thing after the entity changes. A
//! migration that has shipped is never edited; a change is a new file at the end of the list.
//!
//! # Portable on purpose
//!
//! Every migration runs unchanged on SQLite (the embedded default) and PostgreSQL (shared by
//! several nodes), so only column types both understand are used, with these choices:
//!
//! - **Object keys are bytes** (`BLOB` / `bytea`). S3 lists keys in UTF-8 binary order;
//!   a PostgreSQL `TEXT` column would sort by the database's collation, so `a/b` and `a0`
//!   could swap places. Bytes compare with `memcmp` on both databases, and the unique index
//!   on `(bucket_id, key)` is then exactly the order listing needs, range scans included.
//! - **Timestamps are UTC** (`timestamp with time zone`; SQLite stores RFC 3339 text).
//! - **Counters and sizes are `BIGINT`**: signed 64-bit is what both databases have, and
//!   63 bits of bytes is more than any bucket holds.
//! - **Ids the engine generates are text** (user ids, access key ids, upload ids, blob ids),
//!   so an id reads the same in a log, a URL and a `psql` session.
//!
//! `depot-engine` runs [`Migrator::up`] when it opens a database.

use sea_orm_migration::prelude::*;

/// Brings [`Migrator::up`] and friends into scope for callers.
pub use sea_orm_migration::MigratorTrait;

mod m20261122_000001_create_users;
mod m20261122_000002_create_access_keys;
mod m20261122_000003_create_buckets;
mod m20261122_000004_create_objects;
mod m20261122_000005_create_object_segments;
mod m20261122_000006_create_multipart_uploads;
mod m20261122_000007_create_multipart_parts;
mod m20261123_000001_alter_multipart_uploads;
mod m20261124_000001_create_admin_tables;
mod m20261125_000001_create_replication;
mod m20261126_000001_create_usage;
mod m20261127_000001_create_limiter_state;

/// Every migration of Depot's metadata database, oldest first.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_users::Migration),
            Box::new(m20261122_000002_create_access_keys::Migration),
            Box::new(m20261122_000003_create_buckets::Migration),
            Box::new(m20261122_000004_create_objects::Migration),
            Box::new(m20261122_000005_create_object_segments::Migration),
            Box::new(m20261122_000006_create_multipart_uploads::Migration),
            Box::new(m20261122_000007_create_multipart_parts::Migration),
            Box::new(m20261123_000001_alter_multipart_uploads::Migration),
            Box::new(m20261124_000001_create_admin_tables::Migration),
            Box::new(m20261125_000001_create_replication::Migration),
            Box::new(m20261126_000001_create_usage::Migration),
            Box::new(m20261127_000001_create_limiter_state::Migration),
        ]
    }
}

#[cfg(test)]
mod tests {
    use sea_orm_migration::sea_orm::{ConnectionTrait, Database};

    use super::*;

    /// Every migration applies, reverts and applies again, leaving the tables the engine uses.
    #[tokio::test]
    async fn migrations_apply_revert_and_reapply() {
        let db = Database::connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        Migrator::up(&db, None).await.expect("up");
        assert!(
            Migrator::get_pending_migrations(&db)
                .await
                .expect("status")
                .is_empty()
        );
        Migrator::down(&db, None).await.expect("down");
        Migrator::up(&db, None).await.expect("up again");
        for table in [
            "users",
            "access_keys",
            "buckets",
            "objects",
            "object_segments",
            "multipart_uploads",
            "multipart_parts",
            "accounts",
            "quotas",
            "limits",
            "bucket_replication",
            "replication_queue",
            "usage_reports",
            "usage_counters",
            "limiter_tokens",
            "limiter_clocks",
        ] {
            db.execute_unprepared(&format!("SELECT COUNT(*) FROM {table}"))
                .await
                .unwrap_or_else(|error| panic!("table {table}: {error}"));
        }
    }

    /// Account keys made before the `accounts` table existed get their account's row.
    #[tokio::test]
    async fn admin_tables_adopt_existing_account_keys() {
        let db = Database::connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        let before_admin_tables = Migrator::migrations()
            .iter()
            .position(|migration| migration.name() == "m20261124_000001_create_admin_tables")
            .expect("the admin tables' migration") as u32;
        Migrator::up(&db, Some(before_admin_tables))
            .await
            .expect("up to the admin tables");
        db.execute_unprepared(
            "INSERT INTO users (id, email, display_name, state, system, created_at) \
             VALUES ('0123456789abcdef', 'a@example.com', 'a', 'enabled', false, '2026-01-01T00:00:00Z'); \
             INSERT INTO access_keys (access_key_id, user_id, account_name, secret_ciphertext, created_at, enabled) \
             VALUES ('K1', '0123456789abcdef', 'robot', x'00', '2026-01-02T00:00:00Z', true), \
                    ('K2', '0123456789abcdef', 'robot', x'00', '2026-01-03T00:00:00Z', true), \
                    ('K3', '0123456789abcdef', NULL, x'00', '2026-01-03T00:00:00Z', true);",
        )
        .await
        .expect("rows of the earlier schema");
        Migrator::up(&db, None).await.expect("admin tables");
        let rows = db
            .query_all_raw(sea_orm_migration::sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT user_id, name FROM accounts",
            ))
            .await
            .expect("accounts");
        assert_eq!(rows.len(), 1);
        let name: String = rows[0].try_get("", "name").expect("name");
        assert_eq!(name, "robot");
    }
}
