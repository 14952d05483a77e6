//! Entity of the `object_segments` table.
//! @generated in the style of `sea-orm-cli generate entity`, mirroring `depot-migration`.
//! Regenerate (or edit together with a new migration); never change one without the other.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "object_segments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub object_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i32,
    pub blob_id: String,
    pub size: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::objects::Entity",
        from = "Column::ObjectId",
        to = "super::objects::Column::Id",
        on_delete = "Cascade"
    )]
    Object,
}

impl Related<super::objects::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Object.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
