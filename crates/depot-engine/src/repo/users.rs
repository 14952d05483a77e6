//! SQL for the `users` and `access_keys` tables.

use depot_domain::{Email, S3User, UserFlags, UserId, UserState};
use sea_orm::sea_query::{Expr, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
};

use super::{corrupt, locked, now, parse_user_id};
use crate::entity::{access_keys, users};
use crate::error::EngineError;

/// An access key row, its secret still sealed.
#[derive(Debug, Clone)]
pub(crate) struct StoredKey {
    pub(crate) access_key_id: String,
    pub(crate) user_id: UserId,
    pub(crate) account: Option<String>,
    pub(crate) sealed_secret: Vec<u8>,
    pub(crate) enabled: bool,
}

fn user_from_model(model: users::Model) -> Result<S3User, EngineError> {
    Ok(S3User {
        id: parse_user_id(&model.id)?,
        email: model
            .email
            .parse::<Email>()
            .map_err(|error| corrupt(format!("user email: {error}")))?,
        state: model
            .state
            .parse::<UserState>()
            .map_err(|error| corrupt(format!("user state: {error}")))?,
        flags: UserFlags {
            system: model.system,
        },
        owner_id: model.owner_id.as_deref().map(parse_user_id).transpose()?,
        created_at: Some(model.created_at),
    })
}

fn key_from_model(model: access_keys::Model) -> Result<StoredKey, EngineError> {
    Ok(StoredKey {
        user_id: parse_user_id(&model.user_id)?,
        access_key_id: model.access_key_id,
        account: model.account_name,
        sealed_secret: model.secret_ciphertext,
        enabled: model.enabled,
    })
}

/// The user `id`; with `lock_for_update`, its row stays locked until the transaction ends
/// (PostgreSQL), which serialises key creation for one user.
pub(crate) async fn find(
    connection: &impl ConnectionTrait,
    id: UserId,
    lock_for_update: bool,
) -> Result<Option<S3User>, EngineError> {
    let select = users::Entity::find_by_id(id.to_string());
    let select = if lock_for_update {
        locked(connection, select, LockType::Update)
    } else {
        select
    };
    select
        .one(connection)
        .await?
        .map(user_from_model)
        .transpose()
}

/// The user with this email.
pub(crate) async fn find_by_email(
    connection: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<S3User>, EngineError> {
    users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(connection)
        .await?
        .map(user_from_model)
        .transpose()
}

/// Inserts an enabled user. A taken email (or id) is the database's unique violation.
pub(crate) async fn insert(
    connection: &impl ConnectionTrait,
    id: UserId,
    email: &Email,
    system: bool,
) -> Result<S3User, EngineError> {
    let created_at = now();
    let row = users::ActiveModel {
        id: Set(id.to_string()),
        email: Set(email.as_str().to_owned()),
        // Shown as the owner's `DisplayName` by S3; the part before the `@` is what ostor
        // shows too, and it can be changed later.
        display_name: Set(email.local_part().to_owned()),
        state: Set(UserState::Enabled.as_str().to_owned()),
        system: Set(system),
        owner_id: Set(None),
        created_at: Set(created_at),
    };
    users::Entity::insert(row)
        .exec_without_returning(connection)
        .await?;
    Ok(S3User {
        id,
        email: email.clone(),
        state: UserState::Enabled,
        flags: UserFlags { system },
        owner_id: None,
        created_at: Some(created_at),
    })
}

/// How many key pairs the user (or the user's account `account`) holds.
pub(crate) async fn count_keys(
    connection: &impl ConnectionTrait,
    user: UserId,
    account: Option<&str>,
) -> Result<u64, EngineError> {
    let select =
        access_keys::Entity::find().filter(access_keys::Column::UserId.eq(user.to_string()));
    let select = match account {
        Some(account) => select.filter(access_keys::Column::AccountName.eq(account)),
        None => select.filter(access_keys::Column::AccountName.is_null()),
    };
    Ok(select.count(connection).await?)
}

/// Inserts an enabled key; a taken id is the database's unique violation.
pub(crate) async fn insert_key(
    connection: &impl ConnectionTrait,
    access_key_id: &str,
    user: UserId,
    account: Option<&str>,
    sealed_secret: Vec<u8>,
) -> Result<(), EngineError> {
    let row = access_keys::ActiveModel {
        access_key_id: Set(access_key_id.to_owned()),
        user_id: Set(user.to_string()),
        account_name: Set(account.map(str::to_owned)),
        secret_ciphertext: Set(sealed_secret),
        created_at: Set(now()),
        enabled: Set(true),
    };
    access_keys::Entity::insert(row)
        .exec_without_returning(connection)
        .await?;
    Ok(())
}

/// The key `access_key_id` with its user.
pub(crate) async fn find_key(
    connection: &impl ConnectionTrait,
    access_key_id: &str,
) -> Result<Option<(StoredKey, S3User)>, EngineError> {
    let found = access_keys::Entity::find_by_id(access_key_id.to_owned())
        .find_also_related(users::Entity)
        .one(connection)
        .await?;
    match found {
        None => Ok(None),
        Some((_, None)) => Err(corrupt(format!(
            "access key {access_key_id} belongs to a missing user"
        ))),
        Some((key, Some(user))) => Ok(Some((key_from_model(key)?, user_from_model(user)?))),
    }
}

/// Replaces a key's sealed secret and enables it.
pub(crate) async fn reset_key(
    connection: &impl ConnectionTrait,
    access_key_id: &str,
    sealed_secret: Vec<u8>,
) -> Result<(), EngineError> {
    access_keys::Entity::update_many()
        .col_expr(
            access_keys::Column::SecretCiphertext,
            Expr::val(sealed_secret),
        )
        .col_expr(access_keys::Column::Enabled, Expr::val(true))
        .filter(access_keys::Column::AccessKeyId.eq(access_key_id))
        .exec(connection)
        .await?;
    Ok(())
}
