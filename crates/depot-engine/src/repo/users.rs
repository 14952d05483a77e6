//! SQL for the `users` and `access_keys` tables.

use depot_domain::{Email, S3User, UserFlags, UserId, UserState};
use sea_orm::sea_query::{Expr, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};

use super::{corrupt, locked, now, parse_user_id};
use crate::entity::{access_keys, accounts, users};
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

/// The user `id`, its row locked for update when `lock_for_update` (on PostgreSQL).
///
/// Errors: [`EngineError::NoSuchUser`].
pub(crate) async fn get(
    connection: &impl ConnectionTrait,
    id: UserId,
    lock_for_update: bool,
) -> Result<S3User, EngineError> {
    find(connection, id, lock_for_update)
        .await?
        .ok_or(EngineError::NoSuchUser)
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

/// Every user, by email.
pub(crate) async fn list_all(
    connection: &impl ConnectionTrait,
) -> Result<Vec<S3User>, EngineError> {
    users::Entity::find()
        .order_by_asc(users::Column::Email)
        .all(connection)
        .await?
        .into_iter()
        .map(user_from_model)
        .collect()
}

/// Sets a user's state; `false` if there is no such user.
pub(crate) async fn set_state(
    connection: &impl ConnectionTrait,
    id: UserId,
    state: UserState,
) -> Result<bool, EngineError> {
    let result = users::Entity::update_many()
        .col_expr(users::Column::State, Expr::val(state.as_str()))
        .filter(users::Column::Id.eq(id.to_string()))
        .exec(connection)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Deletes the user row; its keys and accounts go with it (`ON DELETE CASCADE`).
pub(crate) async fn delete(
    connection: &impl ConnectionTrait,
    id: UserId,
) -> Result<(), EngineError> {
    users::Entity::delete_by_id(id.to_string())
        .exec(connection)
        .await?;
    Ok(())
}

/// Every key of the user, its accounts' included, oldest first.
pub(crate) async fn keys_of(
    connection: &impl ConnectionTrait,
    user: UserId,
) -> Result<Vec<StoredKey>, EngineError> {
    access_keys::Entity::find()
        .filter(access_keys::Column::UserId.eq(user.to_string()))
        .order_by_asc(access_keys::Column::CreatedAt)
        .order_by_asc(access_keys::Column::AccessKeyId)
        .all(connection)
        .await?
        .into_iter()
        .map(key_from_model)
        .collect()
}

/// Deletes the key `access_key_id` if it belongs to the user (or the user's account
/// `account`); `false` if it does not.
pub(crate) async fn delete_key(
    connection: &impl ConnectionTrait,
    user: UserId,
    account: Option<&str>,
    access_key_id: &str,
) -> Result<bool, EngineError> {
    let delete = access_keys::Entity::delete_many()
        .filter(access_keys::Column::AccessKeyId.eq(access_key_id))
        .filter(access_keys::Column::UserId.eq(user.to_string()));
    let delete = match account {
        Some(account) => delete.filter(access_keys::Column::AccountName.eq(account)),
        None => delete.filter(access_keys::Column::AccountName.is_null()),
    };
    Ok(delete.exec(connection).await?.rows_affected > 0)
}

/// The names of the user's accounts, by name.
pub(crate) async fn accounts_of(
    connection: &impl ConnectionTrait,
    user: UserId,
) -> Result<Vec<String>, EngineError> {
    Ok(accounts::Entity::find()
        .filter(accounts::Column::UserId.eq(user.to_string()))
        .order_by_asc(accounts::Column::Name)
        .all(connection)
        .await?
        .into_iter()
        .map(|account| account.name)
        .collect())
}

/// Whether the user has the account `name`.
pub(crate) async fn has_account(
    connection: &impl ConnectionTrait,
    user: UserId,
    name: &str,
) -> Result<bool, EngineError> {
    Ok(
        accounts::Entity::find_by_id((user.to_string(), name.to_owned()))
            .one(connection)
            .await?
            .is_some(),
    )
}

/// Inserts an account; a taken name is the database's unique violation.
pub(crate) async fn insert_account(
    connection: &impl ConnectionTrait,
    user: UserId,
    name: &str,
) -> Result<(), EngineError> {
    let row = accounts::ActiveModel {
        user_id: Set(user.to_string()),
        name: Set(name.to_owned()),
        created_at: Set(now()),
    };
    accounts::Entity::insert(row)
        .exec_without_returning(connection)
        .await?;
    Ok(())
}

/// Deletes an account with its keys; `false` if there was no such account.
pub(crate) async fn delete_account(
    connection: &impl ConnectionTrait,
    user: UserId,
    name: &str,
) -> Result<bool, EngineError> {
    access_keys::Entity::delete_many()
        .filter(access_keys::Column::UserId.eq(user.to_string()))
        .filter(access_keys::Column::AccountName.eq(name))
        .exec(connection)
        .await?;
    let result = accounts::Entity::delete_by_id((user.to_string(), name.to_owned()))
        .exec(connection)
        .await?;
    Ok(result.rows_affected > 0)
}
