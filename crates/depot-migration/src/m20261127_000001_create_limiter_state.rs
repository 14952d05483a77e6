//! The rate limiter's state, for nodes that share it through the database: one token bucket
//! per (user or bucket, operation class) and one bandwidth clock per (user or bucket).
//!
//! Integers only, so both databases compute the same answer: tokens in millionths, times in
//! microseconds since the Unix epoch.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum LimiterTokens {
    Table,
    Key,
    MicroTokens,
    AtUs,
    Admitted,
}

#[derive(DeriveIden)]
enum LimiterClocks {
    Table,
    Key,
    FreeAtUs,
    ReservedAtUs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LimiterTokens::Table)
                    .col(
                        ColumnDef::new(LimiterTokens::Key)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(LimiterTokens::MicroTokens)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(LimiterTokens::AtUs).big_integer().not_null())
                    // The last take's answer, which the statement that decides returns.
                    .col(ColumnDef::new(LimiterTokens::Admitted).boolean().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LimiterClocks::Table)
                    .col(
                        ColumnDef::new(LimiterClocks::Key)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(LimiterClocks::FreeAtUs)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LimiterClocks::ReservedAtUs)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LimiterClocks::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(LimiterTokens::Table).to_owned())
            .await
    }
}
