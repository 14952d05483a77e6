//! The `buckets` table: names, owners and the running object and byte counters.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Buckets {
    Table,
    Id,
    Name,
    OwnerId,
    Location,
    CreatedAt,
    Epoch,
    ObjectCount,
    BytesUsed,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Buckets::Table)
                    .col(
                        ColumnDef::new(Buckets::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Buckets::Name).string_len(63).not_null())
                    // No foreign key to `users`: a bucket outlives questions about its
                    // owner's account (ostor deletes users only once they own nothing).
                    .col(ColumnDef::new(Buckets::OwnerId).string_len(16).not_null())
                    // Text, not a bounded string: PostgreSQL would reject what SQLite accepts.
                    .col(ColumnDef::new(Buckets::Location).text().not_null())
                    .col(
                        ColumnDef::new(Buckets::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Buckets::Epoch).big_integer().not_null())
                    // Kept up to date by every write in the same transaction, so bucket
                    // statistics and quotas never scan the objects table.
                    .col(
                        ColumnDef::new(Buckets::ObjectCount)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Buckets::BytesUsed)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("buckets_name_key")
                    .table(Buckets::Table)
                    .col(Buckets::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // ListBuckets: one owner's buckets in name order.
        manager
            .create_index(
                Index::create()
                    .name("buckets_owner_idx")
                    .table(Buckets::Table)
                    .col(Buckets::OwnerId)
                    .col(Buckets::Name)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Buckets::Table).to_owned())
            .await
    }
}
