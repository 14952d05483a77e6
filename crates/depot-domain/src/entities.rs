//! The platform's records: customers, S3 users and accounts, buckets, objects and plans.
//!
//! These are plain data: every field is already a validated type, so the structs themselves
//! have no invariants to guard and their fields are public. They derive serde for storage and
//! internal messaging; public protocols keep their own wire structs (STYLE.md §3).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bucket_name::BucketName;
use crate::credentials::{AccessKeyPair, MAX_KEY_PAIRS_PER_OWNER};
use crate::email::Email;
use crate::identity::{AccountName, CustomerId, PlanId, UserId};
use crate::location::LocationCode;
use crate::money::PriceList;
use crate::object_key::ObjectKey;
use crate::storage_size::StorageSize;
use crate::string_form::serde_via_string;

/// A customer of the hosting provider: who orders and pays for S3 services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// The control plane's id of the customer.
    pub id: CustomerId,
    /// Where the provider reaches the customer.
    pub email: Email,
    /// The customer's display name (a person or a company), free text.
    pub name: String,
    /// When the customer was registered.
    pub created_at: DateTime<Utc>,
}

/// Whether an S3 user may make requests (ostor `"State": "enabled" | "disabled"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UserState {
    /// Requests are served.
    #[default]
    Enabled,
    /// Every request is refused; data is kept.
    Disabled,
}

/// Why a string is not a [`UserState`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserStateError {
    /// Neither `enabled` nor `disabled`.
    #[error("unknown user state {0:?}; expected \"enabled\" or \"disabled\"")]
    Unknown(String),
}

impl UserState {
    /// The ostor spelling: `enabled` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            UserState::Enabled => "enabled",
            UserState::Disabled => "disabled",
        }
    }
}

impl FromStr for UserState {
    type Err = UserStateError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("enabled") {
            Ok(UserState::Enabled)
        } else if text.eq_ignore_ascii_case("disabled") {
            Ok(UserState::Disabled)
        } else {
            Err(UserStateError::Unknown(text.to_owned()))
        }
    }
}

impl fmt::Display for UserState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

serde_via_string!(UserState, "\"enabled\" or \"disabled\"");

/// Special properties of an S3 user (ostor `"Flags"`).
///
/// Ostor also lists `disabled` among the flags; Depot keeps that in [`S3User::state`] only,
/// so the two can never disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UserFlags {
    /// A system user may call the ostor admin API (`?ostor-…` requests) and is never a
    /// customer's user.
    pub system: bool,
}

/// A user on a storage cluster: the owner of buckets and of access keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3User {
    /// The cluster's id of the user.
    pub id: UserId,
    /// The user's email, unique on the cluster; ostor addresses users by it.
    pub email: Email,
    /// Whether the user's requests are served.
    pub state: UserState,
    /// Special properties.
    pub flags: UserFlags,
    /// The user that owns this one, if any (ostor `OwnerId`; its `0000000000000000` is `None`).
    pub owner_id: Option<UserId>,
    /// When the user was created, if the provider reports it (ostor does not).
    pub created_at: Option<DateTime<Utc>>,
}

/// An S3 user with their credentials and accounts: what "get user" returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetails {
    /// The user.
    pub user: S3User,
    /// The user's own key pairs, at most [`MAX_KEY_PAIRS_PER_OWNER`].
    pub keys: Vec<AccessKeyPair>,
    /// The user's accounts.
    pub accounts: Vec<Account>,
}

/// An ostor account: a named sub-identity of a user, with its own key pairs, acting on the
/// user's buckets — for example one per application, so each can be revoked alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The account's name, unique among its owner's accounts.
    pub name: AccountName,
    /// The user the account belongs to.
    pub owner: UserId,
    /// The account's key pairs, at most [`MAX_KEY_PAIRS_PER_OWNER`].
    pub keys: Vec<AccessKeyPair>,
}

impl Account {
    /// Whether another key pair may be generated for the account.
    pub fn can_add_key(&self) -> bool {
        self.keys.len() < MAX_KEY_PAIRS_PER_OWNER
    }
}

/// A bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// The bucket's name, unique on its cluster.
    pub name: BucketName,
    /// The user that owns the bucket.
    pub owner: UserId,
    /// Where the bucket's data is stored.
    pub location: LocationCode,
    /// When the bucket was created.
    pub created_at: DateTime<Utc>,
    /// Tells this bucket apart from earlier buckets of the same name (ostor `"epoch"`).
    pub epoch: u64,
}

/// A bucket with its storage figures: an entry of a provider's bucket listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketStats {
    /// The bucket.
    pub bucket: Bucket,
    /// How much it stores, at peak and over time.
    pub size: StorageSize,
}

/// The kind of storage a plan sells and an object is stored on.
///
/// Parsing is case-insensitive, because the RPC spells it `standard` in one place and
/// `Standard` in another; display and serde use `Standard` and `Cold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StorageType {
    /// Replicated storage for data read often.
    #[default]
    Standard,
    /// Cheaper storage for data read rarely.
    Cold,
}

/// Why a string is not a [`StorageType`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageTypeError {
    /// Neither `Standard` nor `Cold`.
    #[error("unknown storage type {0:?}; expected \"Standard\" or \"Cold\"")]
    Unknown(String),
}

impl StorageType {
    /// The display spelling: `Standard` or `Cold`.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageType::Standard => "Standard",
            StorageType::Cold => "Cold",
        }
    }
}

impl FromStr for StorageType {
    type Err = StorageTypeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [StorageType::Standard, StorageType::Cold]
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| StorageTypeError::Unknown(text.to_owned()))
    }
}

impl fmt::Display for StorageType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

serde_via_string!(StorageType, "\"Standard\" or \"Cold\"");

/// An object's metadata, as stored next to its data and returned by `HEAD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// The bucket holding the object.
    pub bucket: BucketName,
    /// The object's key, verbatim (see [`ObjectKey`] for why keys are never paths).
    pub key: ObjectKey,
    /// The size of the object's data, in bytes.
    pub size: u64,
    /// The entity tag as S3 returns it, quotes included: the MD5 of the data in hex for a
    /// single upload, or `<md5 of part md5s>-<part count>` for a multipart upload.
    pub etag: String,
    /// The `Content-Type` given at upload (`binary/octet-stream` when none was, as S3 does).
    pub content_type: String,
    /// When the object was last written.
    pub last_modified: DateTime<Utc>,
    /// `x-amz-meta-*` headers, with the prefix removed and names in lowercase.
    pub user_metadata: BTreeMap<String, String>,
    /// The storage the object's data is on.
    pub storage_class: StorageType,
}

/// A pricing plan: what a customer buys when they order S3.
///
/// All prices are [`PriceList`]s — one amount per currency — because a customer is billed
/// in their own currency and a plan is sold in several (`monthly_rub`, `monthly_eur`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The control plane's id of the plan.
    pub id: PlanId,
    /// The plan's display name, such as `Standard S3`.
    pub name: String,
    /// Storage included, in GB of [`BYTES_PER_GB`](crate::BYTES_PER_GB) bytes; it also
    /// becomes the user's [`Quota`](crate::Quota), where 0 means unlimited.
    pub quota_gb: u64,
    /// The kind of storage sold.
    pub storage_type: StorageType,
    /// Where the plan can be ordered (the RPC's `"locations": "NL,DE"`).
    pub locations: Vec<LocationCode>,
    /// The fee per monthly period.
    pub monthly_price: PriceList,
    /// The price of each GB of outgoing traffic beyond [`Plan::bandwidth_limit_gb`].
    pub traffic_overage_price_per_gb: PriceList,
    /// The price of each GB stored beyond [`Plan::quota_gb`].
    pub storage_overage_price_per_gb: PriceList,
    /// Outgoing traffic included per period, in GB (the RPC's `bandwidth_limit`, shown as
    /// `billing.limits.traffic_gb`); traffic beyond it is charged at
    /// [`Plan::traffic_overage_price_per_gb`].
    pub bandwidth_limit_gb: u64,
    /// Free-form labels; for example `s3_test` makes an inactive plan visible to testers.
    pub tags: Vec<String>,
    /// Whether customers can order the plan; inactive plans are shown only to operators.
    pub active: bool,
}

impl Plan {
    /// Whether the plan is sold in `location`.
    pub fn is_offered_in(&self, location: &LocationCode) -> bool {
        self.locations.contains(location)
    }

    /// Whether the plan carries `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|candidate| candidate == tag)
    }
}
