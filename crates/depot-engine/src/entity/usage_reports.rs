//! Entity of the `usage_reports` table.
//! @generated in the style of `sea-orm-cli generate entity`, mirroring `depot-migration`.
//! Regenerate (or edit together with a new migration); never change one without the other.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub service_id: i64,
    pub start_at: DateTimeUtc,
    pub period_seconds: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
