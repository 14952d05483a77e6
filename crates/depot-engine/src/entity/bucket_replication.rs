//! Entity of the `bucket_replication` table.
//! @generated in the style of `sea-orm-cli generate entity`, mirroring `depot-migration`.
//! Regenerate (or edit together with a new migration); never change one without the other.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bucket_replication")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub bucket_id: i64,
    pub configuration: String,
    pub endpoint: Option<String>,
    pub access_key: Option<String>,
    pub secret_ciphertext: Option<Vec<u8>>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
