//! Usage statistics: the objects each node writes at the end of every usage period
//! (`s3-usage-<service id>-<start>-<period>`), and their counters per user and bucket.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum UsageReports {
    Table,
    Name,
    ServiceId,
    StartAt,
    PeriodSeconds,
}

#[derive(DeriveIden)]
enum UsageCounters {
    Table,
    Report,
    Bucket,
    Epoch,
    UserId,
    OpsPut,
    OpsGet,
    OpsList,
    OpsOther,
    BytesUploaded,
    BytesDownloaded,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UsageReports::Table)
                    .col(
                        ColumnDef::new(UsageReports::Name)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(UsageReports::ServiceId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UsageReports::StartAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UsageReports::PeriodSeconds)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Listed oldest first.
        manager
            .create_index(
                Index::create()
                    .name("usage_reports_start_at_name_idx")
                    .table(UsageReports::Table)
                    .col(UsageReports::StartAt)
                    .col(UsageReports::Name)
                    .to_owned(),
            )
            .await?;
        let counter = |column: UsageCounters| {
            ColumnDef::new(column)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(UsageCounters::Table)
                    .col(ColumnDef::new(UsageCounters::Report).text().not_null())
                    // The bucket's name, empty for requests outside any bucket.
                    .col(ColumnDef::new(UsageCounters::Bucket).text().not_null())
                    .col(
                        ColumnDef::new(UsageCounters::Epoch)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(UsageCounters::UserId).text().not_null())
                    .col(counter(UsageCounters::OpsPut))
                    .col(counter(UsageCounters::OpsGet))
                    .col(counter(UsageCounters::OpsList))
                    .col(counter(UsageCounters::OpsOther))
                    .col(counter(UsageCounters::BytesUploaded))
                    .col(counter(UsageCounters::BytesDownloaded))
                    .primary_key(
                        Index::create()
                            .col(UsageCounters::Report)
                            .col(UsageCounters::Bucket)
                            .col(UsageCounters::Epoch)
                            .col(UsageCounters::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("usage_counters_report_fkey")
                            .from(UsageCounters::Table, UsageCounters::Report)
                            .to(UsageReports::Table, UsageReports::Name)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UsageCounters::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(UsageReports::Table).to_owned())
            .await
    }
}
