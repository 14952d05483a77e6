//! Entity of the `usage_counters` table.
//! @generated in the style of `sea-orm-cli generate entity`, mirroring `depot-migration`.
//! Regenerate (or edit together with a new migration); never change one without the other.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_counters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub report: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub bucket: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub epoch: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    pub ops_put: i64,
    pub ops_get: i64,
    pub ops_list: i64,
    pub ops_other: i64,
    pub bytes_uploaded: i64,
    pub bytes_downloaded: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
