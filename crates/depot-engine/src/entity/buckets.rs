//! Entity of the `buckets` table.
//! @generated in the style of `sea-orm-cli generate entity`, mirroring `depot-migration`.
//! Regenerate (or edit together with a new migration); never change one without the other.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "buckets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    pub owner_id: String,
    pub location: String,
    pub created_at: DateTimeUtc,
    pub epoch: i64,
    pub object_count: i64,
    pub bytes_used: i64,
    pub account_name: Option<String>,
    pub size_hmax: i64,
    pub size_integral: i64,
    pub size_last_hour: i64,
    pub replicated: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
