//! The `object_segments` table: which blobs, in which order, hold an object's bytes.
//!
//! An object's data is the concatenation of its segments in `seq` order. A plain PUT makes one
//! segment; completing a multipart upload makes one per part, pointing at the parts' blobs, so
//! completion never copies bytes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum ObjectSegments {
    Table,
    ObjectId,
    Seq,
    BlobId,
    Size,
}

#[derive(DeriveIden)]
enum Objects {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ObjectSegments::Table)
                    .col(
                        ColumnDef::new(ObjectSegments::ObjectId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ObjectSegments::Seq).integer().not_null())
                    // 32 hex digits chosen by the engine; never derived from a key.
                    .col(
                        ColumnDef::new(ObjectSegments::BlobId)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ObjectSegments::Size)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ObjectSegments::ObjectId)
                            .col(ObjectSegments::Seq),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("object_segments_object_id_fkey")
                            .from(ObjectSegments::Table, ObjectSegments::ObjectId)
                            .to(Objects::Table, Objects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The orphan sweep asks "does any row still reference this blob file?".
        manager
            .create_index(
                Index::create()
                    .name("object_segments_blob_id_idx")
                    .table(ObjectSegments::Table)
                    .col(ObjectSegments::BlobId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ObjectSegments::Table).to_owned())
            .await
    }
}
