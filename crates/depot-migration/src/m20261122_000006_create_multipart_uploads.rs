//! The `multipart_uploads` table: uploads in progress and the attributes their object will get.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum MultipartUploads {
    Table,
    UploadId,
    BucketId,
    Key,
    Initiated,
    OwnerId,
    ContentType,
    ContentEncoding,
    ContentDisposition,
    ContentLanguage,
    CacheControl,
    Expires,
    UserMetadata,
    ChecksumAlgorithm,
    StorageClass,
}

#[derive(DeriveIden)]
enum Buckets {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MultipartUploads::Table)
                    .col(
                        // Time-ordered (initiation time, then random digits), so ordering by
                        // upload id within a key is ordering by initiation, as S3 lists them.
                        ColumnDef::new(MultipartUploads::UploadId)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(MultipartUploads::BucketId)
                            .big_integer()
                            .not_null(),
                    )
                    // Bytes for the same reason as `objects.key`.
                    .col(ColumnDef::new(MultipartUploads::Key).blob().not_null())
                    .col(
                        ColumnDef::new(MultipartUploads::Initiated)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MultipartUploads::OwnerId)
                            .string_len(16)
                            .not_null(),
                    )
                    // What CreateMultipartUpload was told, applied at completion.
                    .col(ColumnDef::new(MultipartUploads::ContentType).text().null())
                    .col(
                        ColumnDef::new(MultipartUploads::ContentEncoding)
                            .text()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(MultipartUploads::ContentDisposition)
                            .text()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(MultipartUploads::ContentLanguage)
                            .text()
                            .null(),
                    )
                    .col(ColumnDef::new(MultipartUploads::CacheControl).text().null())
                    .col(ColumnDef::new(MultipartUploads::Expires).text().null())
                    .col(
                        ColumnDef::new(MultipartUploads::UserMetadata)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MultipartUploads::ChecksumAlgorithm)
                            .text()
                            .null(),
                    )
                    .col(ColumnDef::new(MultipartUploads::StorageClass).text().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("multipart_uploads_bucket_id_fkey")
                            .from(MultipartUploads::Table, MultipartUploads::BucketId)
                            .to(Buckets::Table, Buckets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // ListMultipartUploads range-scans this, in (key, upload id) order.
        manager
            .create_index(
                Index::create()
                    .name("multipart_uploads_listing_key")
                    .table(MultipartUploads::Table)
                    .col(MultipartUploads::BucketId)
                    .col(MultipartUploads::Key)
                    .col(MultipartUploads::UploadId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The sweep finds abandoned uploads by age.
        manager
            .create_index(
                Index::create()
                    .name("multipart_uploads_initiated_idx")
                    .table(MultipartUploads::Table)
                    .col(MultipartUploads::Initiated)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MultipartUploads::Table).to_owned())
            .await
    }
}
