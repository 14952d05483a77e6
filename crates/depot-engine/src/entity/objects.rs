//! Entity of the `objects` table.
//! @generated in the style of `sea-orm-cli generate entity`, mirroring `depot-migration`.
//! Regenerate (or edit together with a new migration); never change one without the other.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "objects")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub bucket_id: i64,
    #[sea_orm(column_type = "Blob")]
    pub key: Vec<u8>,
    pub size: i64,
    pub etag: String,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    pub expires: Option<String>,
    pub user_metadata: String,
    pub checksum_algorithm: Option<String>,
    pub checksum_value: Option<String>,
    pub storage_class: Option<String>,
    pub last_modified: DateTimeUtc,
    pub part_count: Option<i32>,
    pub version_id: String,
    pub replication_status: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::object_segments::Entity")]
    Segments,
}

impl Related<super::object_segments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Segments.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
