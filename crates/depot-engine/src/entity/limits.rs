//! Entity of the `limits` table.
//! @generated in the style of `sea-orm-cli generate entity`, mirroring `depot-migration`.
//! Regenerate (or edit together with a new migration); never change one without the other.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "limits")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub subject: String,
    pub ops_default: String,
    pub ops_get: String,
    pub ops_put: String,
    pub ops_list: String,
    pub ops_delete: String,
    pub bandwidth_out: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
