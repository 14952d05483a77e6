//! The `objects` table: one row per object, keyed by bytes so listing is a range scan.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Objects {
    Table,
    Id,
    BucketId,
    Key,
    Size,
    Etag,
    ContentType,
    ContentEncoding,
    ContentDisposition,
    ContentLanguage,
    CacheControl,
    Expires,
    UserMetadata,
    ChecksumAlgorithm,
    ChecksumValue,
    StorageClass,
    LastModified,
    PartCount,
    VersionId,
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
                    .table(Objects::Table)
                    .col(
                        ColumnDef::new(Objects::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Objects::BucketId).big_integer().not_null())
                    // Bytes, not text: see the crate documentation ("Object keys are bytes").
                    .col(ColumnDef::new(Objects::Key).blob().not_null())
                    .col(ColumnDef::new(Objects::Size).big_integer().not_null())
                    // Bare lowercase hex MD5, or `<hex>-<parts>` for multipart objects;
                    // the protocol layer adds the quotes.
                    .col(ColumnDef::new(Objects::Etag).string_len(64).not_null())
                    .col(ColumnDef::new(Objects::ContentType).text().null())
                    .col(ColumnDef::new(Objects::ContentEncoding).text().null())
                    .col(ColumnDef::new(Objects::ContentDisposition).text().null())
                    .col(ColumnDef::new(Objects::ContentLanguage).text().null())
                    .col(ColumnDef::new(Objects::CacheControl).text().null())
                    // Kept as the client sent it: S3 echoes `Expires` verbatim.
                    .col(ColumnDef::new(Objects::Expires).text().null())
                    // A JSON object of `x-amz-meta-*` names (lowercase, prefix removed) to
                    // values; text rather than a JSON type so both databases agree.
                    .col(ColumnDef::new(Objects::UserMetadata).text().not_null())
                    .col(ColumnDef::new(Objects::ChecksumAlgorithm).text().null())
                    .col(ColumnDef::new(Objects::ChecksumValue).text().null())
                    .col(ColumnDef::new(Objects::StorageClass).text().null())
                    .col(
                        ColumnDef::new(Objects::LastModified)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Objects::PartCount).integer().null())
                    // S3's literal "null" version of an unversioned bucket; versioning will
                    // widen the unique key below when it arrives.
                    .col(
                        ColumnDef::new(Objects::VersionId)
                            .string_len(64)
                            .not_null()
                            .default("null"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("objects_bucket_id_fkey")
                            .from(Objects::Table, Objects::BucketId)
                            .to(Buckets::Table, Buckets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The one index listing range-scans (`bucket_id = ? AND key > ? … ORDER BY key`),
        // and what makes two racing creators of one key collide instead of both winning.
        manager
            .create_index(
                Index::create()
                    .name("objects_bucket_id_key_key")
                    .table(Objects::Table)
                    .col(Objects::BucketId)
                    .col(Objects::Key)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Objects::Table).to_owned())
            .await
    }
}
