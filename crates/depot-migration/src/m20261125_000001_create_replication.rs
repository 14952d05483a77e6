//! Bucket replication: each bucket's configuration and remote region, the durable queue of
//! keys waiting to be copied or deleted at the destination, and each object's replication
//! status.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Buckets {
    Table,
    Id,
    Replicated,
}

#[derive(DeriveIden)]
enum Objects {
    Table,
    ReplicationStatus,
}

#[derive(DeriveIden)]
enum BucketReplication {
    Table,
    BucketId,
    Configuration,
    Endpoint,
    AccessKey,
    SecretCiphertext,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReplicationQueue {
    Table,
    Id,
    BucketId,
    Key,
    Operation,
    Generation,
    Attempts,
    NextAttemptAt,
    LeasedUntil,
    LastError,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Read with the bucket row every write locks anyway, so a bucket without replication
        // costs its writes no extra query.
        manager
            .alter_table(
                Table::alter()
                    .table(Buckets::Table)
                    .add_column(
                        ColumnDef::new(Buckets::Replicated)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        // `PENDING`, `COMPLETED` or `FAILED`; NULL for objects no rule covered when written.
        manager
            .alter_table(
                Table::alter()
                    .table(Objects::Table)
                    .add_column(
                        ColumnDef::new(Objects::ReplicationStatus)
                            .string_len(16)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BucketReplication::Table)
                    .col(
                        ColumnDef::new(BucketReplication::BucketId)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    // The configuration as JSON (rules, destinations, role).
                    .col(
                        ColumnDef::new(BucketReplication::Configuration)
                            .text()
                            .not_null(),
                    )
                    .col(ColumnDef::new(BucketReplication::Endpoint).text().null())
                    .col(ColumnDef::new(BucketReplication::AccessKey).text().null())
                    // Sealed with the master key, like the secrets of access keys.
                    .col(
                        ColumnDef::new(BucketReplication::SecretCiphertext)
                            .blob()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(BucketReplication::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("bucket_replication_bucket_id_fkey")
                            .from(BucketReplication::Table, BucketReplication::BucketId)
                            .to(Buckets::Table, Buckets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReplicationQueue::Table)
                    .col(
                        ColumnDef::new(ReplicationQueue::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ReplicationQueue::BucketId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ReplicationQueue::Key).blob().not_null())
                    // `put` or `delete`: what the destination must do with the key.
                    .col(
                        ColumnDef::new(ReplicationQueue::Operation)
                            .string_len(8)
                            .not_null(),
                    )
                    // Changed by every write of the key, so a worker that copied an older
                    // state does not take the entry off the queue.
                    .col(
                        ColumnDef::new(ReplicationQueue::Generation)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ReplicationQueue::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(ReplicationQueue::NextAttemptAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ReplicationQueue::LeasedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(ReplicationQueue::LastError).text().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("replication_queue_bucket_id_fkey")
                            .from(ReplicationQueue::Table, ReplicationQueue::BucketId)
                            .to(Buckets::Table, Buckets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One entry per key: a newer write of the key replaces what an older one queued.
        manager
            .create_index(
                Index::create()
                    .name("replication_queue_bucket_id_key_key")
                    .table(ReplicationQueue::Table)
                    .col(ReplicationQueue::BucketId)
                    .col(ReplicationQueue::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("replication_queue_next_attempt_at_idx")
                    .table(ReplicationQueue::Table)
                    .col(ReplicationQueue::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReplicationQueue::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(BucketReplication::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Objects::Table)
                    .drop_column(Objects::ReplicationStatus)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Buckets::Table)
                    .drop_column(Buckets::Replicated)
                    .to_owned(),
            )
            .await
    }
}
