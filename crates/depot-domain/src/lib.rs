//! Depot's names and rules, with no I/O: the vocabulary every other crate speaks.
//!
//! # Parse, don't validate
//!
//! Every value that crosses a boundary — a bucket name in a URL, a user id in an ostor reply,
//! a price in a plan — is turned into a type that cannot hold an invalid value:
//! [`BucketName`], [`ObjectKey`], [`Email`], [`UserId`], [`S3Uid`], [`AccessKeyId`],
//! [`SecretAccessKey`], [`LocationCode`], [`Currency`], [`Money`], [`RateLimit`]. Each has
//! one constructor path (`FromStr`), and serde goes through that same path, so deserializing
//! an invalid value fails instead of smuggling it past the check. Each type has its own error
//! enum, with one variant per broken rule, so the data plane can answer `InvalidBucketName`,
//! the RPC can say *why*, and tests can assert the exact reason.
//!
//! # Exact numbers only
//!
//! Money is a [`Decimal`] tagged with its [`Currency`]; arithmetic refuses mixed currencies
//! and overflow with an error rather than a panic, and rounding happens only where a caller
//! names a [`RoundingStrategy`] (billing uses [`BILLING_ROUNDING`], half away from zero).
//! Rates are decimals, sizes are integers, and the storage integral is computed in `u128`
//! byte-nanoseconds before it becomes byte-hours. There is no floating point in this crate.
//!
//! # Keys are data, never paths
//!
//! S3 allows `../../etc/passwd` as an object key, so [`ObjectKey`] keeps keys verbatim and
//! the storage layout never derives a file name from one: blobs live under server-chosen ids
//! and keys live only in the metadata database. See [`ObjectKey`] for the rule.
//!
//! # Secrets stay secret by default
//!
//! [`SecretAccessKey`] prints as `****` in `Debug` and `Display`; the value is reached only
//! through [`SecretAccessKey::expose_secret`] or serde (which must write the real value for
//! storage). Identifiers and secrets are generated from the operating system's CSPRNG, and
//! the `generate_with` variants accept only `CryptoRng` generators.
//!
//! # Seams, not implementations
//!
//! [`StorageProvider`] is everything the control plane needs of a storage cluster, and
//! [`UsageSink`] is how the data plane hands usage to billing. Both are async traits defined
//! here so that implementations (`depot-engine`, `depot-ostor`, `depot-billing`) and callers
//! (`depot-rpc`, `depot-store`) meet without depending on each other. The `mock` feature
//! generates `MockStorageProvider` and `MockUsageSink` with mockall for other crates' tests.
//!
//! This crate performs no I/O and knows nothing of HTTP, databases or runtimes.

#![warn(missing_docs)]

mod string_form;

mod bucket_name;
mod credentials;
mod email;
mod entities;
mod identity;
mod limits;
mod location;
mod metering;
mod money;
mod object_key;
mod provider;
mod random;
mod replication;
mod storage_size;
mod usage;

pub use rust_decimal::{Decimal, RoundingStrategy};

pub use bucket_name::{
    BucketName, BucketNameError, RESERVED_BUCKET_PREFIXES, RESERVED_BUCKET_SUFFIXES,
};
pub use credentials::{
    AccessKeyId, AccessKeyIdError, AccessKeyPair, MAX_KEY_PAIRS_PER_OWNER, Secret, SecretAccessKey,
    SecretAccessKeyError,
};
pub use email::{Email, EmailError};
pub use entities::{
    Account, Bucket, BucketStats, Customer, ObjectMeta, Plan, S3User, StorageType,
    StorageTypeError, UserDetails, UserFlags, UserState, UserStateError,
};
pub use identity::{
    AccountName, AccountNameError, CustomerId, PlanId, S3Uid, S3UidError, UserId, UserIdError,
};
pub use limits::{
    BYTES_PER_GB, BYTES_PER_KB, LimitKind, LimitScope, Limits, OpClass, Quota, QuotaScope,
    RateLimit, RateLimitError,
};
pub use location::{LocationCode, LocationCodeError};
#[cfg(any(test, feature = "mock"))]
pub use metering::MockUsageSink;
pub use metering::{UsageSink, UsageSinkError};
pub use money::{
    BILLING_ROUNDING, Currency, CurrencyError, Money, MoneyError, ParseMoneyError, PriceList,
};
pub use object_key::{ObjectKey, ObjectKeyError};
#[cfg(any(test, feature = "mock"))]
pub use provider::MockStorageProvider;
pub use provider::{BucketFilter, KeyOwner, ProviderError, Resource, StorageProvider};
pub use replication::{
    RemoteEndpoint, ReplicationConfiguration, ReplicationRule, ReplicationSettings,
    ReplicationStatus,
};
pub use storage_size::{StorageSize, StorageSizeError};
pub use usage::{
    BucketRef, Period, PeriodError, ServiceId, ServiceIdError, UsageCounters, UsageKey,
    UsageObjectName, UsageRecord,
};
