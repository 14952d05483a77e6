//! `OstorProvider`: the domain's `StorageProvider` over [`OstorClient`], so the control plane
//! drives any ostor-compatible cluster — Virtuozzo's or another Depot — through one trait.
//!
//! # Choices
//!
//! - **Buckets.** The admin API creates and deletes no buckets, so `create_bucket` and
//!   `delete_bucket` are plain S3 `PUT /<bucket>` and `DELETE /<bucket>` signed with the
//!   owner's first key pair, read from the admin API. The owner needs at least one key pair of
//!   its own.
//! - **New keys.** `generate_key` reads the owner's key ids first, then returns the pair of the
//!   `genKey` answer that was not there before (the last such one). Two concurrent `genKey`s
//!   for the same owner may therefore each see the other's key; the control plane serialises
//!   key operations per owner.
//! - **Rates.** The domain's limits are per second (decimals), the `PUT` is per minute
//!   (integers): × 60, rounded half away from zero. A non-zero rate that would round to 0 is
//!   sent as 1, because 0 means *unlimited* and a tiny limit must not become none. Bandwidth
//!   (KB/s) is rounded the same way.
//! - **Listings are lenient, single reads are strict.** A user, bucket or usage counter in a
//!   listing that does not parse into the domain's types (a legacy `root@localhost`, a bucket
//!   named in capitals) is skipped with a warning so that one odd record does not stop billing
//!   for everyone; the same record read on its own is [`ProviderError::Backend`].
//! - **Peaks.** A bucket whose `hmax` is below its `current` is read with the peak raised to
//!   the current size, which is what a peak is.
//! - **Usage.** Objects are listed once (the API has no paging; a `truncated` list is logged)
//!   and those whose name's start lies in the period are fetched, a few at a time. An object
//!   deleted between the listing and the fetch is skipped.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use depot_domain::{
    AccessKeyId, AccessKeyPair, Account, AccountName, Bucket, BucketFilter, BucketName, BucketRef,
    BucketStats, Decimal, Email, KeyOwner, LimitKind, LimitScope, Limits, LocationCode, Period,
    ProviderError, Quota, QuotaScope, RateLimit, Resource, RoundingStrategy, S3User,
    SecretAccessKey, StorageProvider, StorageSize, UsageCounters, UsageKey, UsageObjectName,
    UsageRecord, UserDetails, UserFlags, UserId, UserState,
};
use depot_sigv4::Credentials;
use futures_util::StreamExt as _;

use crate::client::{ClientError, LimitTarget, OpsLimits, OstorClient, QuotaTarget, UserRef};
use crate::wire::{AccountInfo, BucketInfo, KeyPair, LimitsInfo, UsageReport, UserInfo};

/// How many usage objects are fetched at once.
const USAGE_FETCH_CONCURRENCY: usize = 8;

/// A storage cluster reached through the ostor admin API.
#[derive(Debug, Clone)]
pub struct OstorProvider {
    client: OstorClient,
    location: LocationCode,
}

impl OstorProvider {
    /// A provider for the cluster behind `client`, serving `location`: every bucket it lists
    /// is reported in that location.
    pub fn new(client: OstorClient, location: LocationCode) -> Self {
        Self { client, location }
    }

    /// The client, for calls the trait does not cover (replication, usage objects).
    pub fn client(&self) -> &OstorClient {
        &self.client
    }

    /// The location this provider serves.
    pub fn location(&self) -> &LocationCode {
        &self.location
    }

    /// The user's first own key pair, as signing credentials.
    async fn owner_credentials(&self, owner: UserId) -> Result<Credentials, ProviderError> {
        let info = self
            .client
            .get_user(&UserRef::from(owner))
            .await
            .map_err(|e| map_error(e, Some(Resource::User(owner)), None))?;
        let key = info
            .keys
            .as_deref()
            .and_then(|keys| keys.first())
            .ok_or_else(|| {
                ProviderError::InvalidArgument(format!(
                    "user {owner} holds no key pair of its own to manage buckets with"
                ))
            })?;
        Ok(Credentials::new(
            key.access_key_id.as_str(),
            key.secret_access_key.as_str(),
        ))
    }
}

#[async_trait]
impl StorageProvider for OstorProvider {
    // ---- Users ----

    async fn create_user(&self, email: &Email) -> Result<UserDetails, ProviderError> {
        let info = self
            .client
            .create_user(email.as_str())
            .await
            .map_err(|e| map_error(e, Some(Resource::UserEmail(email.clone())), None))?;
        details_from_wire(&info)
    }

    async fn get_user(&self, id: &UserId) -> Result<UserDetails, ProviderError> {
        let info = self
            .client
            .get_user(&UserRef::from(*id))
            .await
            .map_err(|e| map_error(e, Some(Resource::User(*id)), None))?;
        details_from_wire(&info)
    }

    async fn get_user_by_email(&self, email: &Email) -> Result<UserDetails, ProviderError> {
        let info = self
            .client
            .get_user(&UserRef::from(email))
            .await
            .map_err(|e| map_error(e, Some(Resource::UserEmail(email.clone())), None))?;
        details_from_wire(&info)
    }

    async fn list_users(&self) -> Result<Vec<S3User>, ProviderError> {
        let users = self
            .client
            .list_users()
            .await
            .map_err(|e| map_error(e, None, None))?;
        Ok(users
            .iter()
            .filter_map(|info| match user_from_wire(info) {
                Ok(user) => Some(user),
                Err(error) => {
                    tracing::warn!(user = %info.id, %error, "skipping a user the domain cannot represent");
                    None
                }
            })
            .collect())
    }

    async fn set_user_state(&self, id: &UserId, state: UserState) -> Result<(), ProviderError> {
        self.client
            .set_user_enabled(&UserRef::from(*id), state == UserState::Enabled)
            .await
            .map_err(|e| map_error(e, Some(Resource::User(*id)), None))
    }

    async fn delete_user(&self, id: &UserId) -> Result<(), ProviderError> {
        self.client
            .delete_user(&UserRef::from(*id))
            .await
            .map_err(|e| map_error(e, Some(Resource::User(*id)), None))
    }

    // ---- Accounts ----

    async fn create_account(
        &self,
        owner: &UserId,
        name: &AccountName,
    ) -> Result<Account, ProviderError> {
        let named = Resource::Account {
            owner: *owner,
            name: name.clone(),
        };
        let info = self
            .client
            .create_account(&UserRef::from(*owner), name.as_str())
            .await
            .map_err(|e| map_error(e, Some(named), None))?;
        Ok(Account {
            name: name.clone(),
            owner: *owner,
            keys: keys_from_wire(&info.keys)?,
        })
    }

    async fn list_accounts(&self, owner: &UserId) -> Result<Vec<Account>, ProviderError> {
        Ok(self.get_user(owner).await?.accounts)
    }

    async fn delete_account(
        &self,
        owner: &UserId,
        name: &AccountName,
    ) -> Result<(), ProviderError> {
        let named = Resource::Account {
            owner: *owner,
            name: name.clone(),
        };
        self.client
            .delete_account(&UserRef::from(*owner), name.as_str())
            .await
            .map_err(|e| map_error(e, Some(named), None))
    }

    // ---- Key pairs ----

    async fn generate_key(&self, owner: &KeyOwner) -> Result<AccessKeyPair, ProviderError> {
        let user = UserRef::from(owner.user());
        let (account, named) = match owner {
            KeyOwner::User(id) => (None, Resource::User(*id)),
            KeyOwner::Account { owner, name } => (
                Some(name.as_str()),
                Resource::Account {
                    owner: *owner,
                    name: name.clone(),
                },
            ),
        };
        let current = self
            .client
            .get_user(&user)
            .await
            .map_err(|e| map_error(e, Some(named.clone()), Some(owner)))?;
        let before: Vec<String> = match account {
            None => current.keys.unwrap_or_default(),
            Some(name) => {
                current
                    .accounts
                    .unwrap_or_default()
                    .into_iter()
                    .find(|a| a.name == name)
                    .ok_or_else(|| ProviderError::NotFound(named.clone()))?
                    .keys
            }
        }
        .into_iter()
        .map(|key| key.access_key_id)
        .collect();
        let answer = self
            .client
            .generate_key(&user, account)
            .await
            .map_err(|e| map_error(e, Some(named), Some(owner)))?;
        new_key(answer.keys.as_deref().unwrap_or_default(), &before)
    }

    async fn revoke_key(&self, owner: &KeyOwner, key: &AccessKeyId) -> Result<(), ProviderError> {
        let account = match owner {
            KeyOwner::User(_) => None,
            KeyOwner::Account { name, .. } => Some(name.as_str()),
        };
        self.client
            .revoke_key(&UserRef::from(owner.user()), account, key.as_str())
            .await
            .map_err(|e| map_error(e, Some(Resource::AccessKey(key.clone())), Some(owner)))
    }

    // ---- Buckets ----

    async fn create_bucket(
        &self,
        owner: &UserId,
        name: &BucketName,
    ) -> Result<Bucket, ProviderError> {
        let credentials = self.owner_credentials(*owner).await?;
        self.client
            .create_bucket_as(name.as_str(), &credentials)
            .await
            .map_err(|e| map_error(e, Some(Resource::Bucket(name.clone())), None))?;
        let buckets = self
            .client
            .list_buckets(Some(&UserRef::from(*owner)))
            .await
            .map_err(|e| map_error(e, Some(Resource::User(*owner)), None))?;
        let info = buckets
            .iter()
            .find(|b| b.name == name.as_str())
            .ok_or_else(|| {
                ProviderError::Backend(format!(
                    "bucket {name} was created but is not listed among the buckets of user {owner}"
                ))
            })?;
        Ok(bucket_stats_from_wire(info, &self.location)?.bucket)
    }

    async fn delete_bucket(&self, name: &BucketName) -> Result<(), ProviderError> {
        let named = || Some(Resource::Bucket(name.clone()));
        let buckets = self
            .client
            .list_buckets(None)
            .await
            .map_err(|e| map_error(e, named(), None))?;
        let info = buckets
            .iter()
            .find(|b| b.name == name.as_str())
            .ok_or_else(|| ProviderError::NotFound(Resource::Bucket(name.clone())))?;
        let owner = parse_user_id(&info.owner_id)?;
        let credentials = self.owner_credentials(owner).await?;
        self.client
            .delete_bucket_as(name.as_str(), &credentials)
            .await
            .map_err(|e| map_error(e, named(), None))
    }

    async fn list_buckets(&self, filter: &BucketFilter) -> Result<Vec<BucketStats>, ProviderError> {
        let (owner, named) = match filter {
            BucketFilter::All => (None, None),
            BucketFilter::OwnedBy(id) => (Some(UserRef::from(*id)), Some(Resource::User(*id))),
        };
        let buckets = self
            .client
            .list_buckets(owner.as_ref())
            .await
            .map_err(|e| map_error(e, named, None))?;
        Ok(buckets
            .iter()
            .filter_map(|info| match bucket_stats_from_wire(info, &self.location) {
                Ok(stats) => Some(stats),
                Err(error) => {
                    tracing::warn!(bucket = %info.name, %error, "skipping a bucket the domain cannot represent");
                    None
                }
            })
            .collect())
    }

    // ---- Quotas ----

    async fn get_quota(&self, scope: &QuotaScope) -> Result<Quota, ProviderError> {
        let info = self
            .client
            .get_quota(&quota_target(scope))
            .await
            .map_err(|e| map_error(e, Some(Resource::Quota(scope.clone())), None))?;
        let size_gb = info.size.trim().parse::<u64>().map_err(|_| {
            ProviderError::Backend(format!(
                "the {scope} is {:?}, not a whole number of GB",
                info.size
            ))
        })?;
        Ok(Quota {
            scope: scope.clone(),
            size_gb,
        })
    }

    async fn set_quota(&self, quota: &Quota) -> Result<(), ProviderError> {
        self.client
            .set_quota(&quota_target(&quota.scope), quota.size_gb)
            .await
            .map_err(|e| map_error(e, Some(Resource::Quota(quota.scope.clone())), None))
    }

    async fn delete_quota(&self, scope: &QuotaScope) -> Result<(), ProviderError> {
        // The trait resets to unlimited. On Depot, DELETE of a user's or bucket's quota lets
        // the default apply again, so those are set to 0; a default is deleted.
        let target = quota_target(scope);
        let outcome = match scope {
            QuotaScope::User(_) | QuotaScope::Bucket(_) => self.client.set_quota(&target, 0).await,
            QuotaScope::DefaultUser | QuotaScope::DefaultBucket => {
                self.client.delete_quota(&target).await
            }
        };
        outcome.map_err(|e| map_error(e, Some(Resource::Quota(scope.clone())), None))
    }

    // ---- Limits ----

    async fn get_limits(&self, scope: &LimitScope) -> Result<Limits, ProviderError> {
        match self.client.get_limits(&limit_target(scope)).await {
            Ok(info) => limits_from_wire(&info),
            // Limits never set: the reference answers with an error, the domain with none.
            Err(error) if error.status() == Some(404) && error.code() == Some("NoSuchLimits") => {
                Ok(Limits::UNLIMITED)
            }
            Err(error) => Err(map_error(
                error,
                Some(Resource::Limits(scope.clone())),
                None,
            )),
        }
    }

    async fn set_limits(&self, scope: &LimitScope, limits: &Limits) -> Result<(), ProviderError> {
        let target = limit_target(scope);
        let named = || Some(Resource::Limits(scope.clone()));
        let ops = ops_per_minute(limits)?;
        let bandwidth = whole_units(limits.bandwidth_out_kb.value(), "bandwidth limit")?;
        self.client
            .set_ops_limits(&target, &ops)
            .await
            .map_err(|e| map_error(e, named(), None))?;
        self.client
            .set_bandwidth_limit(&target, bandwidth)
            .await
            .map_err(|e| map_error(e, named(), None))
    }

    async fn delete_limits(
        &self,
        scope: &LimitScope,
        kind: LimitKind,
    ) -> Result<(), ProviderError> {
        self.client
            .delete_limits(&limit_target(scope), kind)
            .await
            .map_err(|e| map_error(e, Some(Resource::Limits(scope.clone())), None))
    }

    // ---- Usage ----

    async fn usage(&self, period: &Period) -> Result<Vec<UsageRecord>, ProviderError> {
        let list = self
            .client
            .list_usage()
            .await
            .map_err(|e| map_error(e, None, None))?;
        if list.truncated {
            tracing::warn!(
                listed = list.items.len(),
                "the cluster's usage object list is truncated; usage beyond it is not reported"
            );
        }
        let wanted: Vec<String> = list
            .items
            .into_iter()
            .filter(|name| {
                UsageObjectName::parse(name).is_some_and(|parsed| period.contains(parsed.start))
            })
            .collect();
        // Owned names and a cloned client keep the futures free of borrowed lifetimes, which
        // the `Send` check of an async-trait future cannot see through.
        let client = self.client.clone();
        let mut fetched = futures_util::stream::iter(wanted)
            .map(move |name| {
                let client = client.clone();
                async move {
                    let result = client.get_usage(&name).await;
                    (name, result)
                }
            })
            .buffered(USAGE_FETCH_CONCURRENCY);
        let mut records = Vec::new();
        while let Some((name, result)) = fetched.next().await {
            match result {
                Ok(report) => records.extend(records_from_report(&report)?),
                // Deleted since it was listed: nothing left to report.
                Err(error) if error.status() == Some(404) => {
                    tracing::debug!(object = %name, "usage object vanished before it was read");
                }
                Err(error) => return Err(map_error(error, None, None)),
            }
        }
        Ok(records)
    }
}

// ---- Error mapping ----

/// Turns a client error into the domain's, `named` being what the call was about (`None`
/// for listings) and `key_owner` the owner of the keys a key call touched.
fn map_error(
    error: ClientError,
    named: Option<Resource>,
    key_owner: Option<&KeyOwner>,
) -> ProviderError {
    let (status, code, message) = match error {
        ClientError::Status {
            status,
            code,
            message,
        } => (status, code, message),
        ClientError::Transport(error) if error.is_builder() => {
            return ProviderError::Backend(error.to_string());
        }
        ClientError::Transport(error) => return ProviderError::Unavailable(error.to_string()),
        other => return ProviderError::Backend(other.to_string()),
    };
    let detail = || describe(status, code.as_deref(), message.as_deref());
    match (status, code.as_deref()) {
        (_, Some("KeyLimitReached")) => match key_owner {
            Some(owner) => ProviderError::KeyLimitReached(owner.clone()),
            None => ProviderError::Backend(detail()),
        },
        (_, Some("UserHasBuckets" | "AccountHasBuckets" | "BucketNotEmpty")) => match named {
            Some(resource) => ProviderError::NotEmpty(resource),
            None => ProviderError::Backend(detail()),
        },
        (
            409,
            Some(
                "UserAlreadyExists"
                | "AccountAlreadyExists"
                | "BucketAlreadyExists"
                | "BucketAlreadyOwnedByYou",
            ),
        ) => match named {
            Some(resource) => ProviderError::AlreadyExists(resource),
            None => ProviderError::Backend(detail()),
        },
        (404, code) => match not_found(code, named, key_owner) {
            Some(resource) => ProviderError::NotFound(resource),
            None => ProviderError::Backend(detail()),
        },
        (400, _) => ProviderError::InvalidArgument(
            message
                .clone()
                .or_else(|| code.clone())
                .unwrap_or_else(|| "the cluster refused the request as invalid".to_owned()),
        ),
        (403, _) => ProviderError::Forbidden(detail()),
        (502..=504, _) => ProviderError::Unavailable(detail()),
        _ => ProviderError::Backend(detail()),
    }
}

/// What a 404 is about: the thing its code names when the call named several, else the
/// thing the call named.
fn not_found(
    code: Option<&str>,
    named: Option<Resource>,
    key_owner: Option<&KeyOwner>,
) -> Option<Resource> {
    match (code, named, key_owner) {
        (Some("NoSuchUser"), _, Some(owner)) => Some(Resource::User(owner.user())),
        (Some("NoSuchAccount"), _, Some(KeyOwner::Account { owner, name })) => {
            Some(Resource::Account {
                owner: *owner,
                name: name.clone(),
            })
        }
        (Some("NoSuchUser"), Some(Resource::Account { owner, .. }), _) => {
            Some(Resource::User(owner))
        }
        (
            Some("NoSuchUser"),
            Some(Resource::Quota(QuotaScope::User(id)) | Resource::Limits(LimitScope::User(id))),
            _,
        ) => Some(Resource::User(id)),
        (
            Some("NoSuchBucket"),
            Some(
                Resource::Quota(QuotaScope::Bucket(name))
                | Resource::Limits(LimitScope::Bucket(name)),
            ),
            _,
        ) => Some(Resource::Bucket(name)),
        (_, named, _) => named,
    }
}

fn describe(status: u16, code: Option<&str>, message: Option<&str>) -> String {
    match (code, message) {
        (Some(code), Some(message)) => format!("{status} {code}: {message}"),
        (Some(code), None) => format!("{status} {code}"),
        (None, Some(message)) => format!("{status}: {message}"),
        (None, None) => format!("status {status}"),
    }
}

// ---- Wire to domain ----

fn backend(what: impl fmt::Display) -> ProviderError {
    ProviderError::Backend(what.to_string())
}

fn parse_user_id(text: &str) -> Result<UserId, ProviderError> {
    text.parse()
        .map_err(|e| backend(format_args!("user id {text:?} from the cluster: {e}")))
}

fn user_from_wire(info: &UserInfo) -> Result<S3User, ProviderError> {
    let id = parse_user_id(&info.id)?;
    let email: Email = info
        .email
        .parse()
        .map_err(|e| backend(format_args!("email {:?} of user {id}: {e}", info.email)))?;
    let flags = info.flags.as_deref().unwrap_or_default();
    let has_flag = |flag: &str| flags.iter().any(|f| f.eq_ignore_ascii_case(flag));
    let state = match &info.state {
        Some(state) => state
            .parse()
            .map_err(|e| backend(format_args!("state of user {id}: {e}")))?,
        None if has_flag("disabled") => UserState::Disabled,
        None => UserState::Enabled,
    };
    let owner_id = match info.owner_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(parse_user_id(text)?).filter(|owner| !owner.is_nil()),
    };
    Ok(S3User {
        id,
        email,
        state,
        flags: UserFlags {
            system: has_flag("system"),
        },
        owner_id,
        created_at: None,
    })
}

fn key_pair_from_wire(pair: &KeyPair) -> Result<AccessKeyPair, ProviderError> {
    let access_key_id: AccessKeyId = pair.access_key_id.parse().map_err(|e| {
        backend(format_args!(
            "access key id {:?} from the cluster: {e}",
            pair.access_key_id
        ))
    })?;
    // The error names the key id and the broken rule, never the secret or a part of it.
    let secret_access_key: SecretAccessKey = pair.secret_access_key.parse().map_err(|e| {
        backend(format_args!(
            "the secret of access key {access_key_id}: {e}"
        ))
    })?;
    Ok(AccessKeyPair {
        access_key_id,
        secret_access_key,
    })
}

fn keys_from_wire(keys: &[KeyPair]) -> Result<Vec<AccessKeyPair>, ProviderError> {
    keys.iter().map(key_pair_from_wire).collect()
}

fn account_from_wire(owner: UserId, info: &AccountInfo) -> Result<Account, ProviderError> {
    let name: AccountName = info
        .name
        .parse()
        .map_err(|e| backend(format_args!("account {:?} of user {owner}: {e}", info.name)))?;
    Ok(Account {
        name,
        owner,
        keys: keys_from_wire(&info.keys)?,
    })
}

fn details_from_wire(info: &UserInfo) -> Result<UserDetails, ProviderError> {
    let user = user_from_wire(info)?;
    let keys = keys_from_wire(info.keys.as_deref().unwrap_or_default())?;
    let accounts = info
        .accounts
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|account| account_from_wire(user.id, account))
        .collect::<Result<_, _>>()?;
    Ok(UserDetails {
        user,
        keys,
        accounts,
    })
}

/// The pair of a `genKey` answer whose id was not among `before` (the last such one).
fn new_key(answer: &[KeyPair], before: &[String]) -> Result<AccessKeyPair, ProviderError> {
    let pair = answer
        .iter()
        .rev()
        .find(|pair| !before.contains(&pair.access_key_id))
        .ok_or_else(|| backend("the answer to genKey holds no new key pair"))?;
    key_pair_from_wire(pair)
}

fn bucket_stats_from_wire(
    info: &BucketInfo,
    location: &LocationCode,
) -> Result<BucketStats, ProviderError> {
    let name: BucketName = info.name.parse().map_err(|e| {
        backend(format_args!(
            "bucket name {:?} from the cluster: {e}",
            info.name
        ))
    })?;
    let owner = parse_user_id(&info.owner_id)?;
    let created_at = DateTime::parse_from_rfc3339(&info.creation_date)
        .map_err(|e| {
            backend(format_args!(
                "creation date {:?} of bucket {name}: {e}",
                info.creation_date
            ))
        })?
        .with_timezone(&Utc);
    let last_ts = i64::try_from(info.size.last_ts)
        .ok()
        .and_then(|hours| hours.checked_mul(3_600))
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .ok_or_else(|| {
            backend(format_args!(
                "last_ts {} of bucket {name} is out of range",
                info.size.last_ts
            ))
        })?;
    let size = StorageSize::from_parts(
        info.size.current,
        info.size.hmax.max(info.size.current),
        Decimal::from(info.size.h_integral),
        last_ts,
    )
    .map_err(|e| backend(format_args!("size of bucket {name}: {e}")))?;
    Ok(BucketStats {
        bucket: Bucket {
            name,
            owner,
            location: location.clone(),
            created_at,
            epoch: info.epoch,
        },
        size,
    })
}

fn quota_target(scope: &QuotaScope) -> QuotaTarget {
    match scope {
        QuotaScope::User(id) => QuotaTarget::User(UserRef::from(*id)),
        QuotaScope::Bucket(name) => QuotaTarget::Bucket(name.as_str().to_owned()),
        QuotaScope::DefaultUser => QuotaTarget::DefaultUser,
        QuotaScope::DefaultBucket => QuotaTarget::DefaultBucket,
    }
}

fn limit_target(scope: &LimitScope) -> LimitTarget {
    match scope {
        LimitScope::User(id) => LimitTarget::User(UserRef::from(*id)),
        LimitScope::Bucket(name) => LimitTarget::Bucket(name.as_str().to_owned()),
    }
}

fn limits_from_wire(info: &LimitsInfo) -> Result<Limits, ProviderError> {
    let rate = |name: &str, text: &str| -> Result<RateLimit, ProviderError> {
        text.trim()
            .parse()
            .map_err(|e| backend(format_args!("limit {name} from the cluster: {e}")))
    };
    Ok(Limits {
        ops_default: rate("ops:default", &info.ops_default)?,
        ops_get: rate("ops:get", &info.ops_get)?,
        ops_put: rate("ops:put", &info.ops_put)?,
        ops_list: rate("ops:list", &info.ops_list)?,
        ops_delete: rate("ops:delete", &info.ops_delete)?,
        bandwidth_out_kb: rate("bandwidth:out", &info.bandwidth_out)?,
    })
}

/// Every operation class of `limits` per minute, all five given explicitly.
fn ops_per_minute(limits: &Limits) -> Result<OpsLimits, ProviderError> {
    let per_minute = |rate: RateLimit, what: &str| {
        let value = rate
            .value()
            .checked_mul(Decimal::from(60))
            .ok_or_else(|| ProviderError::InvalidArgument(format!("the {what} is too large")))?;
        whole_units(value, what).map(Some)
    };
    Ok(OpsLimits {
        default: per_minute(limits.ops_default, "default operation limit")?,
        get: per_minute(limits.ops_get, "GET operation limit")?,
        put: per_minute(limits.ops_put, "PUT operation limit")?,
        list: per_minute(limits.ops_list, "LIST operation limit")?,
        delete: per_minute(limits.ops_delete, "DELETE operation limit")?,
    })
}

/// A non-negative rate as a whole number: rounded half away from zero, but never from a
/// non-zero rate to 0, which would mean unlimited.
fn whole_units(value: Decimal, what: &str) -> Result<u64, ProviderError> {
    if value.is_zero() {
        return Ok(0);
    }
    let rounded = value.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let whole = u64::try_from(rounded).map_err(|_| {
        ProviderError::InvalidArgument(format!("the {what} {value} is out of range"))
    })?;
    Ok(whole.max(1))
}

/// The records of one usage object; counters the domain cannot represent are skipped.
fn records_from_report(report: &UsageReport) -> Result<Vec<UsageRecord>, ProviderError> {
    let start = DateTime::from_timestamp(report.start_ts, 0).ok_or_else(|| {
        backend(format_args!(
            "usage start_ts {} is out of range",
            report.start_ts
        ))
    })?;
    let end = i64::try_from(report.period)
        .ok()
        .and_then(TimeDelta::try_seconds)
        .and_then(|length| start.checked_add_signed(length))
        .ok_or_else(|| {
            backend(format_args!(
                "usage period {} is out of range",
                report.period
            ))
        })?;
    let period = Period::new(start, end).map_err(|e| backend(format_args!("usage object: {e}")))?;
    let mut records = Vec::with_capacity(report.items.len());
    for item in &report.items {
        match usage_key_from_wire(&item.key.user_id, &item.key.bucket, item.key.epoch) {
            Ok(key) => {
                let counters = &item.counters;
                records.push(UsageRecord {
                    key,
                    period,
                    counters: UsageCounters {
                        ops_put: counters.ops.put,
                        ops_get: counters.ops.get,
                        ops_list: counters.ops.list,
                        ops_other: counters.ops.other,
                        bytes_uploaded: counters.net_io.uploaded,
                        bytes_downloaded: counters.net_io.downloaded,
                    },
                });
            }
            Err(error) => {
                tracing::warn!(%error, "skipping a usage counter the domain cannot represent");
            }
        }
    }
    Ok(records)
}

fn usage_key_from_wire(user: &str, bucket: &str, epoch: u64) -> Result<UsageKey, ProviderError> {
    let user = parse_user_id(user)?;
    let bucket = if bucket.is_empty() {
        None
    } else {
        let name: BucketName = bucket
            .parse()
            .map_err(|e| backend(format_args!("bucket {bucket:?} in usage: {e}")))?;
        Some(BucketRef { name, epoch })
    };
    Ok(UsageKey { user, bucket })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::BucketSize;

    fn user_sample() -> UserInfo {
        serde_json::from_str(
            r#"{
              "UserEmail": "user@email.com", "UserId": "b09693b73b3c7686", "State": "disabled",
              "OwnerId": "0000000000000000", "Flags": ["disabled"],
              "AWSAccessKeys": [{"AWSAccessKeyId": "b09693b73b3c7686FIGH",
                                 "AWSSecretAccessKey": "jO2p4JBN1tWc4FEGxwZ8qW2jPCJBYp8RJ4KgBcZP"}],
              "AccountCount": "2",
              "Accounts": [
                {"Name": "account1", "AWSAccessKeys": [
                  {"AWSAccessKeyId": "b09693b73b3c768613NV",
                   "AWSSecretAccessKey": "CBUpFmnpUGlXskTivgDQu4qjYksWpceGZeH6Qyct"}]},
                {"Name": "account2", "AWSAccessKeys": [
                  {"AWSAccessKeyId": "b09693b73b3c7686LCZ5",
                   "AWSSecretAccessKey": "xLpUDFJMFM05rR9acAbUDp1rPqIO6fneKNFjEB5c"},
                  {"AWSAccessKeyId": "b09693b73b3c76866NI2",
                   "AWSSecretAccessKey": "ajowU8pWSGW5ZJhA7AR9OjTrt11HmHPCJsMd247W"}]}]
            }"#,
        )
        .expect("the reference's sample parses")
    }

    fn id(text: &str) -> UserId {
        text.parse().expect("valid user id")
    }

    fn pair(key: &str, secret: &str) -> KeyPair {
        KeyPair {
            access_key_id: key.into(),
            secret_access_key: secret.into(),
        }
    }

    #[test]
    fn converts_the_reference_user() {
        let details = details_from_wire(&user_sample()).expect("converts");
        assert_eq!(details.user.id, id("b09693b73b3c7686"));
        assert_eq!(details.user.email.as_str(), "user@email.com");
        assert_eq!(details.user.state, UserState::Disabled);
        assert_eq!(details.user.owner_id, None);
        assert!(!details.user.flags.system);
        assert_eq!(details.keys.len(), 1);
        assert_eq!(
            details.keys[0].access_key_id.as_str(),
            "b09693b73b3c7686FIGH"
        );
        assert_eq!(
            details.keys[0].secret_access_key.expose_secret(),
            "jO2p4JBN1tWc4FEGxwZ8qW2jPCJBYp8RJ4KgBcZP"
        );
        let names: Vec<&str> = details.accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["account1", "account2"]);
        assert_eq!(details.accounts[1].keys.len(), 2);
        assert!(details.accounts.iter().all(|a| a.owner == details.user.id));
    }

    #[test]
    fn listed_users_take_state_and_flags() {
        let listed: UserInfo = serde_json::from_str(
            r#"{"UserEmail": "user@example.com", "UserId": "f373d5175d1f3b63",
                "OwnerId": "bc6265392b818465", "Flags": ["system"]}"#,
        )
        .expect("parses");
        let user = user_from_wire(&listed).expect("converts");
        assert_eq!(user.state, UserState::Enabled);
        assert!(user.flags.system);
        assert_eq!(user.owner_id, Some(id("bc6265392b818465")));

        let disabled: UserInfo = serde_json::from_str(
            r#"{"UserEmail": "a@example.com", "UserId": "f373d5175d1f3b63", "Flags": ["disabled"]}"#,
        )
        .expect("parses");
        assert_eq!(
            user_from_wire(&disabled).expect("converts").state,
            UserState::Disabled
        );
    }

    #[test]
    fn malformed_keys_are_backend_errors_without_the_secret() {
        let mut info = user_sample();
        info.keys = Some(vec![pair(
            "not-a-key",
            "jO2p4JBN1tWc4FEGxwZ8qW2jPCJBYp8RJ4KgBcZP",
        )]);
        assert!(matches!(
            details_from_wire(&info),
            Err(ProviderError::Backend(message)) if message.contains("not-a-key")
        ));

        let secret = "short-secret-value";
        info.keys = Some(vec![pair("b09693b73b3c7686FIGH", secret)]);
        let error = details_from_wire(&info).expect_err("a short secret is refused");
        assert!(matches!(error, ProviderError::Backend(_)));
        assert!(!error.to_string().contains(secret));
        assert!(error.to_string().contains("b09693b73b3c7686FIGH"));
    }

    #[test]
    fn new_key_is_the_one_not_there_before() {
        let first = pair(
            "8eaa6ab4749a29b4034G",
            "7spuMfShCI12tX6dFtS17TEP7ZQbIG11GgE0Emdy",
        );
        let second = pair(
            "8eaa6ab4749a29b4EJUY",
            "ELzQ8CTMfcYQCGSP5lnGvmJxFC9xXrEJ4CjBAA2k",
        );
        let before = vec![first.access_key_id.clone()];
        let answer = [first.clone(), second.clone()];
        assert_eq!(
            new_key(&answer, &before)
                .expect("one is new")
                .access_key_id
                .as_str(),
            "8eaa6ab4749a29b4EJUY"
        );
        // An account's answer holds only the new pair.
        assert_eq!(
            new_key(std::slice::from_ref(&second), &[])
                .expect("new")
                .access_key_id
                .as_str(),
            "8eaa6ab4749a29b4EJUY"
        );
        assert!(matches!(
            new_key(&[first], &before),
            Err(ProviderError::Backend(_))
        ));
    }

    #[test]
    fn converts_the_reference_bucket() {
        let info = BucketInfo {
            name: "bucket1".into(),
            epoch: 0,
            creation_date: "2018-05-25T17:12:00.000Z".into(),
            owner_id: "ba7eba06129464c5".into(),
            size: BucketSize {
                current: 12_288,
                hmax: 12_288,
                h_integral: 7_360_512,
                last_ts: 424_241,
            },
        };
        let location: LocationCode = "NL".parse().expect("valid location");
        let stats = bucket_stats_from_wire(&info, &location).expect("converts");
        assert_eq!(stats.bucket.name.as_str(), "bucket1");
        assert_eq!(stats.bucket.owner, id("ba7eba06129464c5"));
        assert_eq!(stats.bucket.location, location);
        assert_eq!(stats.bucket.epoch, 0);
        assert_eq!(
            stats.bucket.created_at,
            "2018-05-25T17:12:00Z"
                .parse::<DateTime<Utc>>()
                .expect("valid")
        );
        assert_eq!(stats.size.current_bytes(), 12_288);
        assert_eq!(stats.size.hmax_bytes(), 12_288);
        assert_eq!(stats.size.h_integral(), Decimal::from(7_360_512));
        // Hour 424241 since the epoch is 2018-05-25T17:00:00Z.
        assert_eq!(
            stats.size.last_ts(),
            "2018-05-25T17:00:00Z"
                .parse::<DateTime<Utc>>()
                .expect("valid")
        );

        let low_peak = BucketInfo {
            size: BucketSize {
                hmax: 1,
                ..info.size
            },
            ..info.clone()
        };
        let stats = bucket_stats_from_wire(&low_peak, &location).expect("peak raised");
        assert_eq!(stats.size.hmax_bytes(), 12_288);

        let capitals = BucketInfo {
            name: "AWSDOC-EXAMPLE".into(),
            ..info
        };
        assert!(matches!(
            bucket_stats_from_wire(&capitals, &location),
            Err(ProviderError::Backend(_))
        ));
    }

    #[test]
    fn limits_convert_both_ways() {
        let info: LimitsInfo = serde_json::from_str(
            r#"{"ops:default":"0.50","ops:get":"0.50","ops:put":"60","ops:list":"0",
                "ops:delete":"0.50","bandwidth:out":"3.33"}"#,
        )
        .expect("parses");
        let limits = limits_from_wire(&info).expect("converts");
        assert_eq!(limits.ops_default.value(), Decimal::new(5, 1));
        assert!(limits.ops_list.is_unlimited());
        assert_eq!(limits.bandwidth_out_kb.value(), Decimal::new(333, 2));

        let ops = ops_per_minute(&limits).expect("in range");
        assert_eq!(
            ops,
            OpsLimits {
                default: Some(30),
                get: Some(30),
                put: Some(3_600),
                list: Some(0),
                delete: Some(30),
            }
        );
        assert_eq!(
            whole_units(limits.bandwidth_out_kb.value(), "bandwidth").expect("in range"),
            3
        );
    }

    #[test]
    fn rates_round_half_away_from_zero_and_never_to_unlimited() {
        let per_minute = |text: &str| {
            let rate: RateLimit = text.parse().expect("valid rate");
            let limits = Limits {
                ops_get: rate,
                ..Limits::UNLIMITED
            };
            ops_per_minute(&limits).expect("in range").get
        };
        assert_eq!(per_minute("0"), Some(0));
        assert_eq!(per_minute("1"), Some(60));
        assert_eq!(per_minute("0.025"), Some(2)); // 1.5 per minute
        assert_eq!(per_minute("0.0125"), Some(1)); // 0.75 per minute
        assert_eq!(per_minute("0.0001"), Some(1)); // 0.006 per minute: still a limit
        assert_eq!(per_minute("0.0249"), Some(1)); // 1.494 per minute
        assert_eq!(whole_units(Decimal::new(25, 1), "x").expect("in range"), 3);
        assert!(matches!(
            whole_units(Decimal::MAX, "x"),
            Err(ProviderError::InvalidArgument(_))
        ));
    }

    #[test]
    fn converts_the_reference_usage_report() {
        let report: UsageReport = serde_json::from_str(
            r#"{ "fmt_version": 1, "service_id":8000000000000003,
              "start_ts":1460380373, "period": 30, "nr_items":3,
              "items": [
                { "key": { "bucket": "bucket", "epoch":16394, "user_id": "f82c23f7823589eb", "tag": "" },
                  "counters": { "ops": { "put":15, "get":0, "list":1, "other":0 },
                                "net_io": { "uploaded":99785, "downloaded":0 } } },
                { "key": { "bucket": "", "epoch":0, "user_id": "f82c23f7823589eb", "tag": "" },
                  "counters": { "ops": { "put":0, "get":2, "list":0, "other":0 },
                                "net_io": { "uploaded":0, "downloaded":0 } } },
                { "key": { "bucket": "", "epoch":0, "user_id": "not-a-user", "tag": "" },
                  "counters": { "ops": { "put":0, "get":2, "list":0, "other":0 },
                                "net_io": { "uploaded":0, "downloaded":0 } } }
              ] }"#,
        )
        .expect("parses");
        let records = records_from_report(&report).expect("converts");
        assert_eq!(records.len(), 2, "the malformed counter is skipped");
        let start: DateTime<Utc> = "2016-04-11T13:12:53Z".parse().expect("valid");
        assert_eq!(records[0].period.start(), start);
        assert_eq!(records[0].period.end(), start + TimeDelta::seconds(30));
        assert_eq!(records[0].key.user, id("f82c23f7823589eb"));
        let bucket = records[0].key.bucket.as_ref().expect("has a bucket");
        assert_eq!((bucket.name.as_str(), bucket.epoch), ("bucket", 16_394));
        assert_eq!(records[0].counters.ops_put, 15);
        assert_eq!(records[0].counters.bytes_uploaded, 99_785);
        assert_eq!(records[1].key.bucket, None);
        assert_eq!(records[1].counters.ops_get, 2);

        let empty = UsageReport {
            period: 0,
            ..report
        };
        assert!(matches!(
            records_from_report(&empty),
            Err(ProviderError::Backend(_))
        ));
    }

    fn status(status: u16, code: Option<&str>) -> ClientError {
        ClientError::Status {
            status,
            code: code.map(str::to_owned),
            message: Some("told".to_owned()),
        }
    }

    #[test]
    fn maps_statuses_onto_meanings() {
        let user = id("b09693b73b3c7686");
        let account: AccountName = "account1".parse().expect("valid name");
        let as_user = || Some(Resource::User(user));
        assert_eq!(
            map_error(status(404, Some("NoSuchUser")), as_user(), None),
            ProviderError::NotFound(Resource::User(user))
        );
        assert_eq!(
            map_error(status(404, None), as_user(), None),
            ProviderError::NotFound(Resource::User(user))
        );
        assert!(matches!(
            map_error(status(404, None), None, None),
            ProviderError::Backend(_)
        ));
        let email: Email = "a@example.com".parse().expect("valid email");
        assert_eq!(
            map_error(
                status(409, Some("UserAlreadyExists")),
                Some(Resource::UserEmail(email.clone())),
                None
            ),
            ProviderError::AlreadyExists(Resource::UserEmail(email))
        );
        let owner = KeyOwner::Account {
            owner: user,
            name: account.clone(),
        };
        assert_eq!(
            map_error(
                status(409, Some("KeyLimitReached")),
                as_user(),
                Some(&owner)
            ),
            ProviderError::KeyLimitReached(owner.clone())
        );
        assert_eq!(
            map_error(status(409, Some("UserHasBuckets")), as_user(), None),
            ProviderError::NotEmpty(Resource::User(user))
        );
        let named_account = Resource::Account {
            owner: user,
            name: account.clone(),
        };
        assert_eq!(
            map_error(
                status(409, Some("AccountHasBuckets")),
                Some(named_account.clone()),
                None
            ),
            ProviderError::NotEmpty(named_account.clone())
        );
        assert_eq!(
            map_error(
                status(404, Some("NoSuchUser")),
                Some(named_account.clone()),
                None
            ),
            ProviderError::NotFound(Resource::User(user))
        );
        let key: AccessKeyId = "b09693b73b3c7686FIGH".parse().expect("valid key id");
        assert_eq!(
            map_error(
                status(404, Some("NoSuchAccessKey")),
                Some(Resource::AccessKey(key.clone())),
                Some(&owner)
            ),
            ProviderError::NotFound(Resource::AccessKey(key.clone()))
        );
        assert_eq!(
            map_error(
                status(404, Some("NoSuchAccount")),
                Some(Resource::AccessKey(key)),
                Some(&owner)
            ),
            ProviderError::NotFound(named_account)
        );
        let bucket: BucketName = "bucket1".parse().expect("valid bucket");
        assert_eq!(
            map_error(
                status(404, Some("NoSuchBucket")),
                Some(Resource::Limits(LimitScope::Bucket(bucket.clone()))),
                None
            ),
            ProviderError::NotFound(Resource::Bucket(bucket.clone()))
        );
        assert_eq!(
            map_error(
                status(409, Some("BucketNotEmpty")),
                Some(Resource::Bucket(bucket.clone())),
                None
            ),
            ProviderError::NotEmpty(Resource::Bucket(bucket))
        );
        assert_eq!(
            map_error(status(400, Some("InvalidArgument")), None, None),
            ProviderError::InvalidArgument("told".into())
        );
        assert!(matches!(
            map_error(status(403, Some("AccessDenied")), None, None),
            ProviderError::Forbidden(_)
        ));
        for unavailable in [502, 503, 504] {
            assert!(map_error(status(unavailable, Some("SlowDown")), None, None).is_retryable());
        }
        assert!(matches!(
            map_error(status(500, Some("InternalError")), None, None),
            ProviderError::Backend(_)
        ));
        assert!(matches!(
            map_error(status(409, Some("OperationAborted")), as_user(), None),
            ProviderError::Backend(_)
        ));
        assert!(matches!(
            map_error(ClientError::Decode("bad".into()), None, None),
            ProviderError::Backend(_)
        ));
    }

    #[test]
    fn scopes_become_targets() {
        let user = id("b09693b73b3c7686");
        assert_eq!(
            quota_target(&QuotaScope::User(user)),
            QuotaTarget::User(UserRef::Id("b09693b73b3c7686".into()))
        );
        assert_eq!(
            quota_target(&QuotaScope::DefaultBucket),
            QuotaTarget::DefaultBucket
        );
        let bucket: BucketName = "bucket1".parse().expect("valid bucket");
        assert_eq!(
            limit_target(&LimitScope::Bucket(bucket)),
            LimitTarget::Bucket("bucket1".into())
        );
    }
}
