//! Users and access keys: what signature verification and the admin APIs need.

use std::sync::Arc;

use depot_domain::{AccessKeyPair, AccountName, Email, MAX_KEY_PAIRS_PER_OWNER, S3User, UserId};
use sea_orm::DatabaseTransaction;

use crate::cache::GuardedCache;
use crate::crypto::SecretSealer;
use crate::db::write_txn;
use crate::engine::{Engine, to_completion};
use crate::error::EngineError;
use crate::repo::users;
use crate::types::{KeyRecord, RootUser};

/// The longest access key id or secret an operator may configure for the root user.
const MAX_CONFIGURED_CREDENTIAL_LEN: usize = 128;

impl Engine {
    /// Makes sure the system user `email` exists, with `keys` if given; idempotent, for
    /// start-up.
    ///
    /// - A missing user is created as a system user; an existing user of that email must
    ///   already be a system user ([`EngineError::InvalidArgument`] otherwise: a
    ///   configuration must not promote a customer).
    /// - `keys` (access key id, secret) are the operator's configured credentials. Any
    ///   printable ASCII of 1 to 128 characters is accepted — operators bring keys like
    ///   `minioadmin` — and the configured secret replaces a stored one, so configuration
    ///   stays the source of truth. The two-pair limit does not apply to them. A key id
    ///   that belongs to another user is [`EngineError::InvalidArgument`].
    /// - Without `keys`, a user with no key pair gets a generated one, returned once in
    ///   [`RootUser::generated_keys`].
    pub async fn ensure_root_user(
        &self,
        email: &Email,
        keys: Option<(&str, &str)>,
    ) -> Result<RootUser, EngineError> {
        if let Some((access_key_id, secret)) = keys {
            check_configured_credential("access key id", access_key_id)?;
            check_configured_credential("secret access key", secret)?;
        }
        let engine = self.clone();
        let email = email.clone();
        let keys = keys.map(|(id, secret)| (id.to_owned(), secret.to_owned()));
        to_completion(async move {
            let keys = keys
                .as_ref()
                .map(|(id, secret)| (id.as_str(), secret.as_str()));
            let sealer = &engine.inner.sealer;
            let outcome = write_txn!(engine, |txn| ensure_root_in(&txn, sealer, &email, keys)
                .await);
            engine.forget_keys();
            outcome
        })
        .await
    }

    /// Creates an enabled user with a fresh id.
    ///
    /// Errors: [`EngineError::UserAlreadyExists`] if the email is taken.
    pub async fn create_user(&self, email: &Email, system: bool) -> Result<S3User, EngineError> {
        write_txn!(self, |txn| create_user_in(&txn, email, system).await)
    }

    /// The user `id`.
    ///
    /// Errors: [`EngineError::NoSuchUser`].
    pub async fn user(&self, id: UserId) -> Result<S3User, EngineError> {
        users::get(self.db(), id, false).await
    }

    /// Generates a key pair for `user`, or for the user's ostor account `account`.
    ///
    /// Errors: [`EngineError::NoSuchUser`]; [`EngineError::KeyLimitReached`] when the user
    /// (or the account) already holds [`MAX_KEY_PAIRS_PER_OWNER`] pairs;
    /// [`EngineError::InvalidArgument`] for an invalid account name;
    /// [`EngineError::NoSuchAccount`] for an account the user does not have.
    pub async fn create_access_key(
        &self,
        user: UserId,
        account: Option<&str>,
    ) -> Result<AccessKeyPair, EngineError> {
        if let Some(account) = account {
            account
                .parse::<AccountName>()
                .map_err(|error| EngineError::InvalidArgument(error.to_string()))?;
        }
        let (engine, account) = (self.clone(), account.map(str::to_owned));
        to_completion(async move { engine.create_access_key_now(user, account.as_deref()).await })
            .await
    }

    /// [`Engine::create_access_key`], on the caller's task, the account name checked.
    async fn create_access_key_now(
        &self,
        user: UserId,
        account: Option<&str>,
    ) -> Result<AccessKeyPair, EngineError> {
        let sealer = &self.inner.sealer;
        let outcome = write_txn!(self, |txn| async {
            // Locking the user serialises key creation for them, so two concurrent calls
            // cannot both see one free slot.
            users::get(&txn, user, true).await?;
            if let Some(account) = account
                && !users::has_account(&txn, user, account).await?
            {
                return Err(EngineError::NoSuchAccount);
            }
            let held = users::count_keys(&txn, user, account).await?;
            if held >= MAX_KEY_PAIRS_PER_OWNER as u64 {
                return Err(EngineError::KeyLimitReached);
            }
            // A generated id clashes with an existing one about once in 1.7 million (four
            // random characters after the user id); the unique violation makes the
            // transaction run again with a fresh pair.
            super::admin::insert_generated_key(&txn, sealer, user, account).await
        }
        .await);
        self.forget_keys();
        outcome
    }

    /// What verifying a signature made with `access_key_id` needs, the secret decrypted.
    /// `None` for an unknown or disabled key (both are S3 `InvalidAccessKeyId`).
    ///
    /// Errors: [`EngineError::Crypto`] if the secret does not decrypt (a different master
    /// key than the one it was stored with).
    pub async fn access_key(&self, access_key_id: &str) -> Result<Option<KeyRecord>, EngineError> {
        let cache = self.inner.cache.as_ref().map(|cache| &cache.keys);
        let record = GuardedCache::get_or_load(cache, access_key_id.to_owned(), async {
            let Some((key, user)) = users::find_key(self.db(), access_key_id).await? else {
                return Ok(None);
            };
            if !key.enabled {
                return Ok(None);
            }
            let secret = self
                .inner
                .sealer
                .open(&key.access_key_id, &key.sealed_secret)?;
            Ok(Some(Arc::new(KeyRecord {
                access_key_id: key.access_key_id,
                secret,
                user_id: key.user_id,
                user_enabled: user.state == depot_domain::UserState::Enabled,
                // An account is a container of its user's buckets, never the user's admin
                // rights: only a system user's own keys are system keys.
                system: user.flags.system && key.account.is_none(),
                account: key.account,
            })))
        })
        .await?;
        Ok(record.map(Arc::unwrap_or_clone))
    }

    /// Drops every cached access key; call after any transaction that changes users or keys
    /// has ended (a revoked or disabled key must stop working at once).
    pub(crate) fn forget_keys(&self) {
        if let Some(cache) = &self.inner.cache {
            cache.keys.forget_all();
        }
    }
}

/// Inserts an enabled user with a fresh id, unless the email is taken
/// ([`EngineError::UserAlreadyExists`]).
pub(crate) async fn create_user_in(
    txn: &DatabaseTransaction,
    email: &Email,
    system: bool,
) -> Result<S3User, EngineError> {
    if users::find_by_email(txn, email).await?.is_some() {
        return Err(EngineError::UserAlreadyExists);
    }
    users::insert(txn, UserId::generate(), email, system).await
}

fn check_configured_credential(what: &str, value: &str) -> Result<(), EngineError> {
    if value.is_empty() || value.len() > MAX_CONFIGURED_CREDENTIAL_LEN {
        return Err(EngineError::InvalidArgument(format!(
            "the configured {what} must be 1 to {MAX_CONFIGURED_CREDENTIAL_LEN} characters long"
        )));
    }
    // Checked by position, never quoting the value: it may be a secret.
    if !value.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(EngineError::InvalidArgument(format!(
            "the configured {what} must be printable ASCII without spaces"
        )));
    }
    Ok(())
}

async fn ensure_root_in(
    txn: &DatabaseTransaction,
    sealer: &SecretSealer,
    email: &Email,
    keys: Option<(&str, &str)>,
) -> Result<RootUser, EngineError> {
    let (user, created) = match users::find_by_email(txn, email).await? {
        Some(user) if user.flags.system => (user, false),
        Some(_) => {
            return Err(EngineError::InvalidArgument(format!(
                "{email} is a user that is not a system user; choose another root email"
            )));
        }
        None => (
            users::insert(txn, UserId::generate(), email, true).await?,
            true,
        ),
    };
    let generated_keys = match keys {
        Some((access_key_id, secret)) => {
            let sealed = sealer.seal(access_key_id, secret)?;
            match users::find_key(txn, access_key_id).await? {
                Some((key, _)) if key.user_id == user.id => {
                    users::reset_key(txn, access_key_id, sealed).await?;
                }
                Some(_) => {
                    return Err(EngineError::InvalidArgument(
                        "the configured access key id belongs to another user".to_owned(),
                    ));
                }
                None => users::insert_key(txn, access_key_id, user.id, None, sealed).await?,
            }
            None
        }
        None if users::count_keys(txn, user.id, None).await? == 0 => {
            Some(super::admin::insert_generated_key(txn, sealer, user.id, None).await?)
        }
        None => None,
    };
    Ok(RootUser {
        user,
        created,
        generated_keys,
    })
}
