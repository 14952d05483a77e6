//! The `multipart_parts` table: the parts uploaded so far, each in its own blob.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum MultipartParts {
    Table,
    UploadId,
    PartNumber,
    BlobId,
    Size,
    Etag,
    ChecksumValue,
    LastModified,
}

#[derive(DeriveIden)]
enum MultipartUploads {
    Table,
    UploadId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MultipartParts::Table)
                    .col(
                        ColumnDef::new(MultipartParts::UploadId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MultipartParts::PartNumber)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MultipartParts::BlobId)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MultipartParts::Size)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MultipartParts::Etag)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(MultipartParts::ChecksumValue).text().null())
                    .col(
                        ColumnDef::new(MultipartParts::LastModified)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    // Uploading a part number again replaces the part.
                    .primary_key(
                        Index::create()
                            .col(MultipartParts::UploadId)
                            .col(MultipartParts::PartNumber),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("multipart_parts_upload_id_fkey")
                            .from(MultipartParts::Table, MultipartParts::UploadId)
                            .to(MultipartUploads::Table, MultipartUploads::UploadId)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The orphan sweep asks "does any row still reference this blob file?".
        manager
            .create_index(
                Index::create()
                    .name("multipart_parts_blob_id_idx")
                    .table(MultipartParts::Table)
                    .col(MultipartParts::BlobId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MultipartParts::Table).to_owned())
            .await
    }
}
