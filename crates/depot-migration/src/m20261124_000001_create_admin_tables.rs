//! What the ostor admin API keeps: accounts, quotas, limits, and each bucket's account and
//! storage history (peak and time integral of its size).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    UserId,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Buckets {
    Table,
    AccountName,
    SizeHmax,
    SizeIntegral,
    SizeLastHour,
}

#[derive(DeriveIden)]
enum Quotas {
    Table,
    Kind,
    Subject,
    SizeGb,
}

#[derive(DeriveIden)]
enum Limits {
    Table,
    Kind,
    Subject,
    OpsDefault,
    OpsGet,
    OpsPut,
    OpsList,
    OpsDelete,
    BandwidthOut,
}

/// The hour (since the Unix epoch) the migration runs in: the start of the size history of
/// buckets that existed before it.
fn current_hour() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| (elapsed.as_secs() / 3600) as i64)
        .unwrap_or(0)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(ColumnDef::new(Accounts::UserId).string_len(16).not_null())
                    .col(ColumnDef::new(Accounts::Name).string_len(64).not_null())
                    .col(
                        ColumnDef::new(Accounts::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col(Accounts::UserId).col(Accounts::Name))
                    .foreign_key(
                        ForeignKey::create()
                            .name("accounts_user_id_fkey")
                            .from(Accounts::Table, Accounts::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Account keys made before accounts had rows of their own name their account.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO accounts (user_id, name, created_at) \
                 SELECT user_id, account_name, MIN(created_at) FROM access_keys \
                 WHERE account_name IS NOT NULL GROUP BY user_id, account_name",
            )
            .await?;
        // SQLite alters one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Buckets::Table)
                    .add_column(ColumnDef::new(Buckets::AccountName).string_len(64).null())
                    .to_owned(),
            )
            .await?;
        for column in [
            Buckets::SizeHmax,
            Buckets::SizeIntegral,
            Buckets::SizeLastHour,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Buckets::Table)
                        .add_column(ColumnDef::new(column).big_integer().not_null().default(0))
                        .to_owned(),
                )
                .await?;
        }
        // Buckets that existed before: their peak is what they hold, their history starts now.
        manager
            .exec_stmt(
                Query::update()
                    .table(Buckets::Table)
                    .value(Buckets::SizeHmax, Expr::col(Alias::new("bytes_used")))
                    .value(Buckets::SizeLastHour, current_hour())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Quotas::Table)
                    .col(ColumnDef::new(Quotas::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(Quotas::Subject).string_len(254).not_null())
                    .col(ColumnDef::new(Quotas::SizeGb).big_integer().not_null())
                    .primary_key(Index::create().col(Quotas::Kind).col(Quotas::Subject))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Limits::Table)
                    .col(ColumnDef::new(Limits::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(Limits::Subject).string_len(254).not_null())
                    .col(ColumnDef::new(Limits::OpsDefault).text().not_null())
                    .col(ColumnDef::new(Limits::OpsGet).text().not_null())
                    .col(ColumnDef::new(Limits::OpsPut).text().not_null())
                    .col(ColumnDef::new(Limits::OpsList).text().not_null())
                    .col(ColumnDef::new(Limits::OpsDelete).text().not_null())
                    .col(ColumnDef::new(Limits::BandwidthOut).text().not_null())
                    .primary_key(Index::create().col(Limits::Kind).col(Limits::Subject))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Limits::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Quotas::Table).to_owned())
            .await?;
        for column in [
            Buckets::SizeLastHour,
            Buckets::SizeIntegral,
            Buckets::SizeHmax,
            Buckets::AccountName,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Buckets::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Accounts::Table).to_owned())
            .await
    }
}
