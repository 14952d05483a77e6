//! Administration: users, accounts and their key pairs, quotas and limits — what the ostor
//! admin API and `depot-admin` drive.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use depot_domain::{
    AccessKeyPair, AccountName, BucketName, Email, LimitScope, Limits, Quota, QuotaScope, S3User,
    UserId, UserState,
};
use sea_orm::sea_query::LockType;
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use crate::crypto::SecretSealer;
use crate::db::write_txn;
use crate::engine::{Engine, to_completion};
use crate::error::EngineError;
use crate::repo::buckets;
use crate::repo::settings::{self, Subject};
use crate::repo::users::{self, StoredKey};
use crate::types::{AccountRecord, KeyPairInfo, UserRecord};

/// How long the limits of a user or bucket are served from memory before being read again.
/// A change made on this node is seen at once; one made on another node sharing the database
/// within this time.
const LIMITS_TTL: Duration = Duration::from_secs(2);

/// Limits cached for enforcement, keyed by scope; bounded by clearing when full.
const LIMITS_CACHE_ENTRIES: usize = 100_000;

/// Limits as last read, by scope (`None` where none are set), and a generation every forget
/// advances, so a read that raced a change is not stored.
#[derive(Default)]
pub(crate) struct LimitsCache {
    entries: std::sync::Mutex<std::collections::HashMap<LimitScope, (Instant, Option<Limits>)>>,
    generation: AtomicU64,
}

impl Engine {
    /// Every user, by email.
    pub async fn list_users(&self) -> Result<Vec<S3User>, EngineError> {
        users::list_all(self.db()).await
    }

    /// The user with `email`.
    ///
    /// Errors: [`EngineError::NoSuchUser`].
    pub async fn user_by_email(&self, email: &Email) -> Result<S3User, EngineError> {
        users::find_by_email(self.db(), email)
            .await?
            .ok_or(EngineError::NoSuchUser)
    }

    /// The user `id` with its key pairs and accounts, secrets decrypted.
    ///
    /// Errors: [`EngineError::NoSuchUser`].
    pub async fn user_record(&self, id: UserId) -> Result<UserRecord, EngineError> {
        let user = self.user(id).await?;
        let keys = users::keys_of(self.db(), id).await?;
        let names = users::accounts_of(self.db(), id).await?;
        let sealer = &self.inner.sealer;
        let opened: Vec<KeyPairInfo> = keys
            .into_iter()
            .map(|key| open_key(sealer, key))
            .collect::<Result<_, _>>()?;
        let accounts = names
            .into_iter()
            .map(|name| AccountRecord {
                keys: opened
                    .iter()
                    .filter(|key| key.account.as_deref() == Some(name.as_str()))
                    .cloned()
                    .collect(),
                name,
            })
            .collect();
        Ok(UserRecord {
            user,
            keys: opened
                .into_iter()
                .filter(|key| key.account.is_none())
                .collect(),
            accounts,
        })
    }

    /// Creates an enabled user with a fresh id and one key pair, in one transaction.
    ///
    /// Errors: [`EngineError::UserAlreadyExists`] if the email is taken.
    pub async fn create_user_with_key(
        &self,
        email: &Email,
        system: bool,
    ) -> Result<(S3User, AccessKeyPair), EngineError> {
        let (engine, email) = (self.clone(), email.clone());
        to_completion(async move {
            let sealer = &engine.inner.sealer;
            write_txn!(engine, |txn| async {
                let user = super::auth::create_user_in(&txn, &email, system).await?;
                let pair = insert_generated_key(&txn, sealer, user.id, None).await?;
                Ok((user, pair))
            }
            .await)
        })
        .await
    }

    /// Enables or disables a user. A disabled user's keys stop working at once; nothing of
    /// theirs is removed.
    ///
    /// Errors: [`EngineError::NoSuchUser`].
    pub async fn set_user_state(&self, id: UserId, state: UserState) -> Result<(), EngineError> {
        let engine = self.clone();
        to_completion(async move {
            let outcome = write_txn!(engine, |txn| async {
                if users::set_state(&txn, id, state).await? {
                    Ok(())
                } else {
                    Err(EngineError::NoSuchUser)
                }
            }
            .await);
            engine.forget_keys();
            outcome
        })
        .await
    }

    /// Deletes a user with its keys, accounts, quotas and limits.
    ///
    /// Errors: [`EngineError::NoSuchUser`]; [`EngineError::UserHasBuckets`] while it owns a
    /// bucket.
    pub async fn delete_user(&self, id: UserId) -> Result<(), EngineError> {
        let engine = self.clone();
        to_completion(async move {
            let outcome = write_txn!(engine, |txn| async {
                users::get(&txn, id, true).await?;
                if buckets::owns_any(&txn, id, None).await? {
                    return Err(EngineError::UserHasBuckets);
                }
                settings::forget_subject(&txn, Subject::User(id)).await?;
                users::delete(&txn, id).await
            }
            .await);
            engine.forget_keys();
            engine.forget_limits();
            outcome
        })
        .await
    }

    /// Creates the account `name` of user `owner`, with one key pair.
    ///
    /// Errors: [`EngineError::NoSuchUser`]; [`EngineError::AccountAlreadyExists`].
    pub async fn create_account(
        &self,
        owner: UserId,
        name: &AccountName,
    ) -> Result<AccessKeyPair, EngineError> {
        let (engine, name) = (self.clone(), name.clone());
        to_completion(async move {
            let sealer = &engine.inner.sealer;
            let outcome = write_txn!(engine, |txn| async {
                users::get(&txn, owner, true).await?;
                if users::has_account(&txn, owner, name.as_str()).await? {
                    return Err(EngineError::AccountAlreadyExists);
                }
                users::insert_account(&txn, owner, name.as_str()).await?;
                insert_generated_key(&txn, sealer, owner, Some(name.as_str())).await
            }
            .await);
            engine.forget_keys();
            outcome
        })
        .await
    }

    /// Deletes the account `name` of `owner` with its keys.
    ///
    /// Errors: [`EngineError::NoSuchUser`]; [`EngineError::NoSuchAccount`];
    /// [`EngineError::AccountHasBuckets`] while a bucket belongs to it.
    pub async fn delete_account(
        &self,
        owner: UserId,
        name: &AccountName,
    ) -> Result<(), EngineError> {
        let (engine, name) = (self.clone(), name.clone());
        to_completion(async move {
            let outcome = write_txn!(engine, |txn| async {
                users::get(&txn, owner, true).await?;
                if !users::has_account(&txn, owner, name.as_str()).await? {
                    return Err(EngineError::NoSuchAccount);
                }
                if buckets::owns_any(&txn, owner, Some(name.as_str())).await? {
                    return Err(EngineError::AccountHasBuckets);
                }
                users::delete_account(&txn, owner, name.as_str()).await?;
                Ok(())
            }
            .await);
            engine.forget_keys();
            outcome
        })
        .await
    }

    /// Revokes the key pair `access_key_id` of `owner` (or of its account `account`); it stops
    /// working at once.
    ///
    /// Errors: [`EngineError::NoSuchUser`]; [`EngineError::NoSuchAccount`];
    /// [`EngineError::NoSuchAccessKey`] if the key is not the user's (or the account's).
    pub async fn revoke_access_key(
        &self,
        owner: UserId,
        account: Option<&AccountName>,
        access_key_id: &str,
    ) -> Result<(), EngineError> {
        let engine = self.clone();
        let account = account.cloned();
        let access_key_id = access_key_id.to_owned();
        to_completion(async move {
            let outcome = write_txn!(engine, |txn| async {
                users::get(&txn, owner, true).await?;
                let account = account.as_ref().map(AccountName::as_str);
                if let Some(account) = account
                    && !users::has_account(&txn, owner, account).await?
                {
                    return Err(EngineError::NoSuchAccount);
                }
                if users::delete_key(&txn, owner, account, &access_key_id).await? {
                    Ok(())
                } else {
                    Err(EngineError::NoSuchAccessKey)
                }
            }
            .await);
            engine.forget_keys();
            outcome
        })
        .await
    }

    /// The quota that applies to `scope`: its own if set, else the default for its kind, else
    /// unlimited.
    ///
    /// Errors: [`EngineError::NoSuchUser`], [`EngineError::NoSuchBucket`].
    pub async fn quota(&self, scope: &QuotaScope) -> Result<Quota, EngineError> {
        subject_exists(self.db(), &Subject::of_quota(scope), None).await?;
        Ok(Quota {
            scope: scope.clone(),
            size_gb: settings::effective_quota(self.db(), scope).await?,
        })
    }

    /// Sets a quota (0: unlimited, whatever the default).
    ///
    /// Errors: [`EngineError::NoSuchUser`], [`EngineError::NoSuchBucket`].
    pub async fn set_quota(&self, quota: &Quota) -> Result<(), EngineError> {
        let (engine, quota) = (self.clone(), quota.clone());
        to_completion(async move {
            write_txn!(engine, |txn| async {
                // Checked and written in one transaction, the subject's row locked, so a
                // quota cannot outlive a user or bucket deleted meanwhile.
                subject_exists(
                    &txn,
                    &Subject::of_quota(&quota.scope),
                    Some(LockType::KeyShare),
                )
                .await?;
                settings::set_quota(&txn, &quota.scope, quota.size_gb).await
            }
            .await)
        })
        .await
    }

    /// Removes the quota of `scope`: the default for its kind applies again (a default
    /// removed is unlimited).
    ///
    /// Errors: [`EngineError::NoSuchUser`], [`EngineError::NoSuchBucket`].
    pub async fn delete_quota(&self, scope: &QuotaScope) -> Result<(), EngineError> {
        subject_exists(self.db(), &Subject::of_quota(scope), None).await?;
        write_txn!(self, |txn| settings::delete_quota(&txn, scope).await)
    }

    /// The limits set for `scope`; `None` if none ever were.
    ///
    /// Errors: [`EngineError::NoSuchUser`], [`EngineError::NoSuchBucket`].
    pub async fn limits(&self, scope: &LimitScope) -> Result<Option<Limits>, EngineError> {
        subject_exists(self.db(), &Subject::of_limits(scope), None).await?;
        settings::limits(self.db(), scope).await
    }

    /// Stores `limits` for `scope`, replacing every value. Enforcement on this node sees
    /// them at once.
    ///
    /// Errors: [`EngineError::NoSuchUser`], [`EngineError::NoSuchBucket`].
    pub async fn set_limits(&self, scope: &LimitScope, limits: &Limits) -> Result<(), EngineError> {
        let limits = *limits;
        self.update_limits(scope, move |_| Some(limits)).await
    }

    /// Changes the limits of `scope` in one transaction (`change` runs again if it does):
    /// `change` gets what is stored (`None` if limits were never set) and returns what to
    /// store, or `None` to leave it as it is.
    /// Two concurrent changes of different kinds (operations, bandwidth) both hold.
    ///
    /// Errors: [`EngineError::NoSuchUser`], [`EngineError::NoSuchBucket`].
    pub async fn update_limits(
        &self,
        scope: &LimitScope,
        change: impl Fn(Option<Limits>) -> Option<Limits> + Send + Sync + 'static,
    ) -> Result<(), EngineError> {
        let (engine, scope) = (self.clone(), scope.clone());
        to_completion(async move {
            let outcome = write_txn!(engine, |txn| async {
                // The subject's row locked: settings cannot outlive a user or bucket deleted
                // meanwhile. The limits row is read and written in the same transaction.
                subject_exists(&txn, &Subject::of_limits(&scope), Some(LockType::KeyShare)).await?;
                let stored = settings::limits(&txn, &scope).await?;
                match change(stored) {
                    Some(limits) => settings::set_limits(&txn, &scope, &limits).await,
                    None => Ok(()),
                }
            }
            .await);
            engine.forget_limits();
            outcome
        })
        .await
    }

    /// The limits a request by `user` to `bucket` counts against: (the user's, the bucket's),
    /// `None` where none are set. Served from memory for up to [`LIMITS_TTL`].
    pub async fn request_limits(
        &self,
        user: UserId,
        bucket: Option<&BucketName>,
    ) -> Result<(Option<Limits>, Option<Limits>), EngineError> {
        let user_limits = self.cached_limits(LimitScope::User(user)).await?;
        let bucket_limits = match bucket {
            Some(name) => self.cached_limits(LimitScope::Bucket(name.clone())).await?,
            None => None,
        };
        Ok((user_limits, bucket_limits))
    }

    async fn cached_limits(&self, scope: LimitScope) -> Result<Option<Limits>, EngineError> {
        let cache = &self.inner.limits;
        if let Ok(entries) = cache.entries.lock()
            && let Some((read_at, limits)) = entries.get(&scope)
            && read_at.elapsed() < LIMITS_TTL
        {
            return Ok(*limits);
        }
        // A forget between this read and the insert below must win: the generation tells.
        let generation = cache.generation.load(Ordering::Acquire);
        let read_at = Instant::now();
        let limits = settings::limits(self.db(), &scope).await?;
        if let Ok(mut entries) = cache.entries.lock()
            && cache.generation.load(Ordering::Acquire) == generation
        {
            if entries.len() >= LIMITS_CACHE_ENTRIES {
                entries.clear();
            }
            entries.insert(scope, (read_at, limits));
        }
        Ok(limits)
    }

    /// Drops every cached limit; call after any change of limits has committed.
    pub(crate) fn forget_limits(&self) {
        let cache = &self.inner.limits;
        if let Ok(mut entries) = cache.entries.lock() {
            cache.generation.fetch_add(1, Ordering::AcqRel);
            entries.clear();
        }
    }
}

/// Fails with [`EngineError::NoSuchUser`] or [`EngineError::NoSuchBucket`] unless `subject`
/// exists; with `lock`, its row stays locked until the transaction ends (PostgreSQL).
async fn subject_exists(
    connection: &impl ConnectionTrait,
    subject: &Subject<'_>,
    lock: Option<LockType>,
) -> Result<(), EngineError> {
    match subject {
        Subject::User(id) => {
            users::get(connection, *id, lock.is_some()).await?;
        }
        Subject::Bucket(name) => {
            buckets::get(connection, name, lock).await?;
        }
        Subject::Defaults => {}
    }
    Ok(())
}

/// Generates a key pair for `user` (or its account) and stores it sealed; the caller has
/// checked the owner exists and may hold another pair.
pub(crate) async fn insert_generated_key(
    txn: &DatabaseTransaction,
    sealer: &SecretSealer,
    user: UserId,
    account: Option<&str>,
) -> Result<AccessKeyPair, EngineError> {
    let pair = AccessKeyPair::generate_for(user);
    let access_key_id = pair.access_key_id.as_str();
    let sealed = sealer.seal(access_key_id, pair.secret_access_key.expose_secret())?;
    users::insert_key(txn, access_key_id, user, account, sealed).await?;
    Ok(pair)
}

fn open_key(sealer: &SecretSealer, key: StoredKey) -> Result<KeyPairInfo, EngineError> {
    let secret = sealer.open(&key.access_key_id, &key.sealed_secret)?;
    Ok(KeyPairInfo {
        access_key_id: key.access_key_id,
        secret,
        account: key.account,
    })
}
