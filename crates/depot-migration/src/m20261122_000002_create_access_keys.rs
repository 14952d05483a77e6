//! The `access_keys` table: S3 key pairs, the secret half encrypted under the master key.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum AccessKeys {
    Table,
    AccessKeyId,
    UserId,
    AccountName,
    SecretCiphertext,
    CreatedAt,
    Enabled,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccessKeys::Table)
                    .col(
                        // Operators may configure a root key id of their own, so the column
                        // is wider than the 20 characters Depot generates.
                        ColumnDef::new(AccessKeys::AccessKeyId)
                            .string_len(128)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AccessKeys::UserId).string_len(16).not_null())
                    // Set for an ostor account's key; NULL for the user's own keys.
                    .col(
                        ColumnDef::new(AccessKeys::AccountName)
                            .string_len(64)
                            .null(),
                    )
                    // Version byte, random nonce and AEAD ciphertext with its tag: an S3
                    // server must know secrets to verify signatures, so they are stored
                    // encrypted rather than hashed.
                    .col(
                        ColumnDef::new(AccessKeys::SecretCiphertext)
                            .blob()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AccessKeys::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AccessKeys::Enabled).boolean().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("access_keys_user_id_fkey")
                            .from(AccessKeys::Table, AccessKeys::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Counting a user's (or an account's) pairs for the two-pair limit.
        manager
            .create_index(
                Index::create()
                    .name("access_keys_owner_idx")
                    .table(AccessKeys::Table)
                    .col(AccessKeys::UserId)
                    .col(AccessKeys::AccountName)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccessKeys::Table).to_owned())
            .await
    }
}
