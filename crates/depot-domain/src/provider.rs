//! `StorageProvider`: everything the control plane asks of a storage cluster.
//!
//! The control plane never touches storage itself. Each location in the configuration names
//! one provider — the embedded data plane in the same process, or a remote cluster reached
//! through the ostor admin API — and the control plane drives it only through this trait.

use std::fmt;

use async_trait::async_trait;

use crate::bucket_name::BucketName;
use crate::credentials::{AccessKeyId, AccessKeyPair, MAX_KEY_PAIRS_PER_OWNER};
use crate::email::Email;
use crate::entities::{Account, Bucket, BucketStats, S3User, UserDetails, UserState};
use crate::identity::{AccountName, UserId};
use crate::limits::{LimitKind, LimitScope, Limits, Quota, QuotaScope};
use crate::usage::{Period, UsageRecord};

/// Who holds a key pair: a user directly, or one of the user's accounts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyOwner {
    /// The user's own keys.
    User(UserId),
    /// The keys of the user's account `name`.
    Account {
        /// The user owning the account.
        owner: UserId,
        /// The account.
        name: AccountName,
    },
}

impl KeyOwner {
    /// The user the keys ultimately belong to (the prefix of their access key ids).
    pub fn user(&self) -> UserId {
        match self {
            KeyOwner::User(id) | KeyOwner::Account { owner: id, .. } => *id,
        }
    }
}

impl fmt::Display for KeyOwner {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyOwner::User(id) => write!(formatter, "user {id}"),
            KeyOwner::Account { owner, name } => {
                write!(formatter, "account {name} of user {owner}")
            }
        }
    }
}

/// Which buckets a listing covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BucketFilter {
    /// Every bucket on the cluster.
    All,
    /// The buckets of one user.
    OwnedBy(UserId),
}

/// The thing a [`ProviderError`] is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// A user, by id.
    User(UserId),
    /// A user, by email.
    UserEmail(Email),
    /// An account of a user.
    Account {
        /// The user owning the account.
        owner: UserId,
        /// The account.
        name: AccountName,
    },
    /// A key pair, by its access key id.
    AccessKey(AccessKeyId),
    /// A bucket.
    Bucket(BucketName),
    /// A quota.
    Quota(QuotaScope),
    /// A set of limits.
    Limits(LimitScope),
}

impl fmt::Display for Resource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::User(id) => write!(formatter, "user {id}"),
            Resource::UserEmail(email) => write!(formatter, "user {email}"),
            Resource::Account { owner, name } => {
                write!(formatter, "account {name} of user {owner}")
            }
            Resource::AccessKey(id) => write!(formatter, "access key {id}"),
            Resource::Bucket(name) => write!(formatter, "bucket {name}"),
            Resource::Quota(scope) => fmt::Display::fmt(scope, formatter),
            Resource::Limits(scope) => fmt::Display::fmt(scope, formatter),
        }
    }
}

/// Why a [`StorageProvider`] call failed.
///
/// The variants carry meaning, not transport: an ostor provider maps HTTP statuses onto them,
/// the embedded provider maps engine errors, and each front door renders them in its own
/// protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The resource does not exist.
    #[error("{0} not found")]
    NotFound(Resource),
    /// A resource with that identity already exists (a user with that email, a bucket with
    /// that name — buckets are unique across the whole cluster).
    #[error("{0} already exists")]
    AlreadyExists(Resource),
    /// The owner already holds [`MAX_KEY_PAIRS_PER_OWNER`] key pairs.
    #[error("{0} already has the maximum of {max} key pairs", max = MAX_KEY_PAIRS_PER_OWNER)]
    KeyLimitReached(KeyOwner),
    /// The resource still holds something that must be removed first (objects in a bucket,
    /// buckets of a user).
    #[error("{0} is not empty")]
    NotEmpty(Resource),
    /// The request itself is wrong; the message says how.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The provider refused: the credentials Depot uses lack the right (not a system user).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The provider cannot be reached or is overloaded; the same call may succeed later.
    #[error("storage provider unavailable: {0}")]
    Unavailable(String),
    /// The provider failed in a way the caller cannot fix; the message is for logs only.
    #[error("storage provider failed: {0}")]
    Backend(String),
}

impl ProviderError {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ProviderError::Unavailable(_))
    }
}

/// What the control plane needs of a storage cluster, one implementation per kind of cluster.
///
/// Implementations: the embedded data plane (`depot-engine`) and a remote ostor-compatible
/// cluster (`depot-ostor`). Tests of the control plane use `MockStorageProvider`, generated
/// by mockall when this crate's `mock` feature is on.
///
/// # Rules every implementation follows
///
/// - **Key pairs.** A user, and each account, holds at most [`MAX_KEY_PAIRS_PER_OWNER`] (two)
///   key pairs — ostor's rule, which allows rotation without downtime. A third
///   [`generate_key`](StorageProvider::generate_key) fails with
///   [`ProviderError::KeyLimitReached`] and changes nothing.
/// - **Not found.** Every call naming a user, account, key or bucket that does not exist
///   fails with [`ProviderError::NotFound`] naming it.
/// - **Idempotence is not assumed.** Creating something that exists is
///   [`ProviderError::AlreadyExists`]; callers that retry decide what that means.
/// - **Zero means unlimited** for quotas and limits; "deleting" one sets it to unlimited.
/// - **No secrets in errors.** Error messages never include a secret key.
///
/// ```
/// use depot_domain::{BucketFilter, BucketStats, ProviderError, StorageProvider, UserId};
///
/// /// The bytes a user stores across all buckets.
/// async fn stored_bytes(
///     provider: &dyn StorageProvider,
///     user: UserId,
/// ) -> Result<u64, ProviderError> {
///     let buckets: Vec<BucketStats> = provider.list_buckets(&BucketFilter::OwnedBy(user)).await?;
///     Ok(buckets.iter().map(|b| b.size.current_bytes()).fold(0, u64::saturating_add))
/// }
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait StorageProvider: Send + Sync {
    // ---- Users ----

    /// Creates an enabled user with one fresh key pair.
    ///
    /// Fails with [`ProviderError::AlreadyExists`] if a user with `email` exists.
    async fn create_user(&self, email: &Email) -> Result<UserDetails, ProviderError>;

    /// The user with id `id`, with keys and accounts.
    async fn get_user(&self, id: &UserId) -> Result<UserDetails, ProviderError>;

    /// The user with email `email`, with keys and accounts.
    async fn get_user_by_email(&self, email: &Email) -> Result<UserDetails, ProviderError>;

    /// Every user on the cluster, without keys.
    async fn list_users(&self) -> Result<Vec<S3User>, ProviderError>;

    /// Enables or disables a user; a disabled user's requests are refused, data is kept.
    async fn set_user_state(&self, id: &UserId, state: UserState) -> Result<(), ProviderError>;

    /// Deletes a user with their accounts and keys.
    ///
    /// Fails with [`ProviderError::NotEmpty`] if the user still owns buckets.
    async fn delete_user(&self, id: &UserId) -> Result<(), ProviderError>;

    // ---- Accounts ----

    /// Creates account `name` for `owner`, with one fresh key pair.
    async fn create_account(
        &self,
        owner: &UserId,
        name: &AccountName,
    ) -> Result<Account, ProviderError>;

    /// The accounts of `owner`, with their keys.
    async fn list_accounts(&self, owner: &UserId) -> Result<Vec<Account>, ProviderError>;

    /// Deletes account `name` of `owner` with its keys.
    async fn delete_account(&self, owner: &UserId, name: &AccountName)
    -> Result<(), ProviderError>;

    // ---- Key pairs ----

    /// Generates a key pair for a user or an account.
    ///
    /// Fails with [`ProviderError::KeyLimitReached`] if the owner already holds
    /// [`MAX_KEY_PAIRS_PER_OWNER`] pairs.
    async fn generate_key(&self, owner: &KeyOwner) -> Result<AccessKeyPair, ProviderError>;

    /// Revokes the key pair `key` of a user or an account; requests signed with it fail.
    async fn revoke_key(&self, owner: &KeyOwner, key: &AccessKeyId) -> Result<(), ProviderError>;

    // ---- Buckets ----

    /// Creates an empty bucket owned by `owner` in the provider's location.
    ///
    /// Fails with [`ProviderError::AlreadyExists`] if the name is taken by anyone.
    async fn create_bucket(
        &self,
        owner: &UserId,
        name: &BucketName,
    ) -> Result<Bucket, ProviderError>;

    /// Deletes an empty bucket.
    ///
    /// Fails with [`ProviderError::NotEmpty`] if it holds objects or unfinished uploads.
    async fn delete_bucket(&self, name: &BucketName) -> Result<(), ProviderError>;

    /// The buckets `filter` selects, with their storage figures.
    async fn list_buckets(&self, filter: &BucketFilter) -> Result<Vec<BucketStats>, ProviderError>;

    // ---- Quotas ----

    /// The quota for `scope`; unlimited (0) when none was set.
    async fn get_quota(&self, scope: &QuotaScope) -> Result<Quota, ProviderError>;

    /// Sets a quota, replacing any previous one for the same scope.
    async fn set_quota(&self, quota: &Quota) -> Result<(), ProviderError>;

    /// Resets the quota for `scope` to unlimited.
    async fn delete_quota(&self, scope: &QuotaScope) -> Result<(), ProviderError>;

    // ---- Limits ----

    /// The limits for `scope`; all unlimited when none were set.
    async fn get_limits(&self, scope: &LimitScope) -> Result<Limits, ProviderError>;

    /// Sets every limit for `scope` to the values in `limits`.
    async fn set_limits(&self, scope: &LimitScope, limits: &Limits) -> Result<(), ProviderError>;

    /// Resets the operation or the bandwidth limits for `scope` to unlimited.
    async fn delete_limits(&self, scope: &LimitScope, kind: LimitKind)
    -> Result<(), ProviderError>;

    // ---- Usage ----

    /// The usage records whose period lies within `period`, one per user, bucket and
    /// collection interval; callers sum them.
    ///
    /// A record whose interval straddles a boundary of `period` belongs to the period its
    /// start falls in, so consecutive calls never count a record twice.
    async fn usage(&self, period: &Period) -> Result<Vec<UsageRecord>, ProviderError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BucketRef, UsageCounters, UsageKey};
    use chrono::{DateTime, Utc};
    use mockall::predicate::eq;

    fn user() -> UserId {
        "bf0b3b15eb7c9019".parse().expect("valid user id")
    }

    #[tokio::test]
    async fn mock_refuses_a_third_key_pair() {
        let mut provider = MockStorageProvider::new();
        let owner = KeyOwner::User(user());
        let mut issued = 0;
        provider
            .expect_generate_key()
            .with(eq(owner.clone()))
            .times(3)
            .returning(move |owner| {
                issued += 1;
                if issued > MAX_KEY_PAIRS_PER_OWNER {
                    Err(ProviderError::KeyLimitReached(owner.clone()))
                } else {
                    Ok(AccessKeyPair::generate_for(owner.user()))
                }
            });

        let provider: &dyn StorageProvider = &provider;
        for _ in 0..MAX_KEY_PAIRS_PER_OWNER {
            let pair = provider
                .generate_key(&owner)
                .await
                .expect("within the limit");
            assert_eq!(pair.access_key_id.owner(), user());
        }
        assert_eq!(
            provider.generate_key(&owner).await,
            Err(ProviderError::KeyLimitReached(owner))
        );
    }

    #[tokio::test]
    async fn mock_reports_usage_and_missing_buckets() {
        let bucket: BucketName = "invoices".parse().expect("valid bucket name");
        let start: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().expect("valid instant");
        let end: DateTime<Utc> = "2024-02-01T00:00:00Z".parse().expect("valid instant");
        let january = Period::new(start, end).expect("end after start");
        let record = UsageRecord {
            key: UsageKey {
                user: user(),
                bucket: Some(BucketRef {
                    name: bucket.clone(),
                    epoch: 16394,
                }),
            },
            period: january,
            counters: UsageCounters {
                ops_put: 15,
                ops_list: 1,
                bytes_uploaded: 99_785,
                ..UsageCounters::ZERO
            },
        };

        let mut provider = MockStorageProvider::new();
        let expected = vec![record.clone()];
        provider
            .expect_usage()
            .with(eq(january))
            .return_once(move |_| Ok(expected));
        let missing = bucket.clone();
        provider
            .expect_delete_bucket()
            .with(eq(bucket.clone()))
            .return_once(move |_| Err(ProviderError::NotFound(Resource::Bucket(missing))));

        assert_eq!(provider.usage(&january).await, Ok(vec![record]));
        let error = provider.delete_bucket(&bucket).await.err();
        assert_eq!(
            error.as_ref().map(ToString::to_string).as_deref(),
            Some("bucket invoices not found")
        );
        assert_eq!(
            error,
            Some(ProviderError::NotFound(Resource::Bucket(bucket)))
        );
        assert!(!error.is_some_and(|error| error.is_retryable()));
    }

    #[tokio::test]
    async fn usage_sink_mock_receives_records() {
        let mut sink = crate::MockUsageSink::new();
        let key = UsageKey {
            user: user(),
            bucket: None,
        };
        let counters = UsageCounters {
            ops_list: 1,
            ..UsageCounters::ZERO
        };
        let at: DateTime<Utc> = "2024-01-01T12:00:00Z".parse().expect("valid instant");
        sink.expect_record()
            .with(eq(key.clone()), eq(at), eq(counters))
            .times(1)
            .returning(|_, _, _| Ok(()));
        let sink: &dyn crate::UsageSink = &sink;
        assert_eq!(sink.record(&key, at, &counters).await, Ok(()));
    }
}
