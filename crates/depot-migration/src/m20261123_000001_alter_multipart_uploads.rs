//! `multipart_uploads.checksum_type`: how the object's checksum is made from the parts'
//! (S3's `x-amz-checksum-type`, `COMPOSITE` or `FULL_OBJECT`), recorded at creation.
//!
//! Nullable: uploads without a checksum algorithm have no type, and rows written before this
//! column existed read as the algorithm's default.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum MultipartUploads {
    Table,
    ChecksumType,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(MultipartUploads::Table)
                    .add_column(ColumnDef::new(MultipartUploads::ChecksumType).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(MultipartUploads::Table)
                    .drop_column(MultipartUploads::ChecksumType)
                    .to_owned(),
            )
            .await
    }
}
