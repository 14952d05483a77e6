//! The engine's public records: what callers pass in and get back. Plain data, not `Serialize`:
//! each protocol layer converts them to its own wire types by hand.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use depot_domain::{
    AccessKeyPair, BucketName, ObjectKey, ReplicationStatus, S3User, ServiceId, UsageCounters,
    UsageKey, UsageObjectName, UserId,
};

/// A bucket with its running counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketInfo {
    /// The engine's id of the bucket.
    pub id: i64,
    /// The bucket's name.
    pub name: BucketName,
    /// The user that owns it.
    pub owner: UserId,
    /// The location (region) given at creation.
    pub location: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Tells this bucket apart from earlier buckets of the same name (ostor `epoch`): the
    /// creation time in milliseconds since the Unix epoch.
    pub epoch: i64,
    /// How many objects it holds.
    pub object_count: u64,
    /// The sum of its objects' sizes, in bytes (in-progress multipart parts not included).
    pub bytes_used: u64,
    /// The ostor account of the owner the bucket belongs to, if it was created with an
    /// account's key.
    pub account: Option<String>,
    /// The peak and time integral of [`BucketInfo::bytes_used`].
    pub history: SizeHistory,
    /// Whether the bucket has replication settings.
    pub replicated: bool,
}

/// A bucket's storage over time, kept at hour granularity as ostor reports it.
///
/// Each time the size changes, the old size is added to the integral once for every hour
/// boundary passed since the last change, so the integral is the sum, over the hours since the
/// bucket was created, of the size at the start of each hour — in byte-hours, exact in
/// integers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SizeHistory {
    /// The most bytes the bucket ever stored.
    pub hmax_bytes: u64,
    /// The integral up to [`SizeHistory::last_hour`], in byte-hours.
    pub integral_byte_hours: u64,
    /// The hour (since the Unix epoch) of the last change.
    pub last_hour: u64,
}

impl SizeHistory {
    /// The figures brought up to `hour`, for a bucket that holds `current` bytes since its last
    /// change: (integral in byte-hours, the hour they are brought up to).
    pub fn integral_at(&self, current: u64, hour: u64) -> (u64, u64) {
        let hour = hour.max(self.last_hour);
        let elapsed = hour - self.last_hour;
        (
            self.integral_byte_hours
                .saturating_add(current.saturating_mul(elapsed)),
            hour,
        )
    }
}

/// Who a bucket belongs to: a user, and the user's ostor account if it was created with an
/// account's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketOwner {
    /// The owning user.
    pub user: UserId,
    /// The account, if any.
    pub account: Option<String>,
}

impl From<UserId> for BucketOwner {
    fn from(user: UserId) -> Self {
        Self {
            user,
            account: None,
        }
    }
}

/// A bucket's identity and settings, without its counters: what authorising and routing a
/// request needs, and what the engine may serve from its cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketIdentity {
    /// The engine's id of the bucket.
    pub id: i64,
    /// The bucket's name.
    pub name: BucketName,
    /// The user that owns it.
    pub owner: UserId,
    /// The location (region) given at creation.
    pub location: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// See [`BucketInfo::epoch`].
    pub epoch: i64,
    /// See [`BucketInfo::account`].
    pub account: Option<String>,
}

impl From<BucketInfo> for BucketIdentity {
    fn from(info: BucketInfo) -> Self {
        Self {
            id: info.id,
            name: info.name,
            owner: info.owner,
            location: info.location,
            created_at: info.created_at,
            epoch: info.epoch,
            account: info.account,
        }
    }
}

/// What the whole store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageTotals {
    /// Buckets.
    pub buckets: u64,
    /// Objects in all buckets.
    pub objects: u64,
    /// Bytes of those objects.
    pub bytes: u64,
}

/// The attributes an object is stored with, besides its bytes.
///
/// `None` means "not given": the protocol layer decides what to answer then (S3 says
/// `binary/octet-stream` for a missing `Content-Type`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectAttributes {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Expires`, verbatim as the client sent it.
    pub expires: Option<String>,
    /// `x-amz-meta-*` headers: names lowercase with the prefix removed.
    pub user_metadata: BTreeMap<String, String>,
    /// A flexible checksum: (algorithm such as `CRC32C`, value as S3 prints it; a multipart
    /// object's `COMPOSITE` value ends in `-<parts>`). For a multipart upload in progress (at
    /// creation and in [`UploadInfo::attrs`]) the second element is the checksum type instead,
    /// `COMPOSITE` or `FULL_OBJECT`, empty if none was recorded: the values are per part.
    pub checksum: Option<(String, String)>,
    /// `x-amz-storage-class`.
    pub storage_class: Option<String>,
}

/// An object's metadata, as HEAD returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The bucket holding the object.
    pub bucket: BucketName,
    /// The object's key.
    pub key: ObjectKey,
    /// The length of its data, in bytes.
    pub size: u64,
    /// The bare ETag, without quotes: lowercase hex MD5, or `<hex>-<parts>` for an object
    /// made by a multipart upload.
    pub etag: String,
    /// When it was written (microsecond precision).
    pub last_modified: DateTime<Utc>,
    /// Its attributes.
    pub attrs: ObjectAttributes,
    /// How many parts it was uploaded in, for an object made by a multipart upload.
    pub part_count: Option<u32>,
    /// Its version; `None` in an unversioned bucket (S3's `null` version).
    pub version_id: Option<String>,
    /// Where its replication stands, if a replication rule covered it when it was written.
    pub replication_status: Option<ReplicationStatus>,
}

/// When a write may replace what is stored under a key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WriteCondition {
    /// Always.
    #[default]
    None,
    /// Only if nothing is stored under the key (`If-None-Match: *`).
    IfNoneMatchAny,
    /// Only if an object is stored under the key and its ETag is this one (`If-Match`);
    /// quotes are optional, and `*` means "any object".
    IfMatch(String),
}

/// What ListObjects / ListObjectsV2 asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Only keys that start with this.
    pub prefix: String,
    /// Roll keys up to the first occurrence of this after the prefix (an empty delimiter is
    /// no delimiter, as in S3).
    pub delimiter: Option<String>,
    /// Only keys (and common prefixes) after this one, exclusive: the store maps `marker`,
    /// `continuation-token` and `start-after` onto it.
    pub start_after: Option<String>,
    /// At most this many keys and common prefixes together; values above 1000 count as 1000,
    /// and 0 gives an empty, untruncated page (as S3 does).
    pub max_keys: usize,
}

/// An object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// The object's key.
    pub key: ObjectKey,
    /// Its length in bytes.
    pub size: u64,
    /// Its bare ETag.
    pub etag: String,
    /// When it was written.
    pub last_modified: DateTime<Utc>,
    /// Its storage class, if one was given.
    pub storage_class: Option<String>,
    /// Its checksum algorithm, if it has one.
    pub checksum_algorithm: Option<String>,
    /// Its owner: the bucket's owner (objects do not yet record their uploader).
    pub owner: UserId,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// The objects, in UTF-8 binary key order.
    pub objects: Vec<ListedObject>,
    /// The common prefixes, in the same order (each ends with the delimiter).
    pub common_prefixes: Vec<String>,
    /// Whether more keys or prefixes follow.
    pub is_truncated: bool,
    /// When truncated, the greatest key or common prefix of this page: pass it back as
    /// [`ListQuery::start_after`] to continue.
    pub next_start_after: Option<String>,
}

/// A multipart upload's part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    /// 1 to 10000.
    pub part_number: u16,
    /// The part's bare ETag (its MD5 in hex).
    pub etag: String,
    /// Its length in bytes.
    pub size: u64,
    /// When it was uploaded.
    pub last_modified: DateTime<Utc>,
    /// The checksum value the client gave with it, if any.
    pub checksum: Option<String>,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadInfo {
    /// The upload id: time-ordered, so within one key ids sort in initiation order.
    pub upload_id: String,
    /// The key the object will be stored under.
    pub key: ObjectKey,
    /// When the upload was created.
    pub initiated: DateTime<Utc>,
    /// Who created it.
    pub owner: UserId,
    /// The attributes the object will get (`checksum` holds the algorithm and the checksum
    /// type; see [`ObjectAttributes::checksum`]).
    pub attrs: ObjectAttributes,
}

/// One page of ListParts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartsPage {
    /// The upload the parts belong to.
    pub upload: UploadInfo,
    /// Parts in ascending part-number order.
    pub parts: Vec<PartInfo>,
    /// Whether more parts follow.
    pub is_truncated: bool,
    /// When truncated, the last part number of this page: pass it back as the marker.
    pub next_part_number_marker: Option<u16>,
}

/// What ListMultipartUploads asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadsQuery {
    /// Only keys that start with this.
    pub prefix: String,
    /// Roll keys up to the first occurrence of this after the prefix.
    pub delimiter: Option<String>,
    /// Only uploads of keys after this one — or, with [`UploadsQuery::upload_id_marker`],
    /// uploads of this key with a greater upload id, then keys after it.
    pub key_marker: Option<String>,
    /// See [`UploadsQuery::key_marker`]; ignored without it, as in S3.
    pub upload_id_marker: Option<String>,
    /// At most this many uploads and common prefixes together (capped at 1000).
    pub max_uploads: usize,
}

/// One page of ListMultipartUploads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadsPage {
    /// Uploads in (key, initiation) order.
    pub uploads: Vec<UploadInfo>,
    /// Common prefixes, each ending with the delimiter.
    pub common_prefixes: Vec<String>,
    /// Whether more follow.
    pub is_truncated: bool,
    /// When truncated: the key (or common prefix) to pass back as the key marker.
    pub next_key_marker: Option<String>,
    /// When truncated after an upload: its id, to pass back as the upload id marker.
    pub next_upload_id_marker: Option<String>,
}

/// A usage statistics object: what one service counted over one period (see
/// [`UsageMeter`](crate::UsageMeter)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReport {
    /// The service (node) that counted.
    pub service: ServiceId,
    /// The start of the period, at a whole second.
    pub start: DateTime<Utc>,
    /// The length of the period in seconds.
    pub period_seconds: u64,
    /// The counters, one per user and bucket, sorted by user, then bucket.
    pub items: Vec<(UsageKey, UsageCounters)>,
}

impl UsageReport {
    /// The object's name, `s3-usage-<service id>-<start>-<period>`.
    pub fn name(&self) -> UsageObjectName {
        UsageObjectName::new(self.service, self.start, self.period_seconds)
    }
}

/// What [`Engine::sweep`](crate::Engine::sweep) removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Staging files left by interrupted uploads.
    pub staging_files_removed: u64,
    /// Blob files no row referenced.
    pub orphan_blobs_removed: u64,
    /// Multipart uploads older than the abandoned-upload age.
    pub uploads_aborted: u64,
}

/// What [`Engine::ensure_root_user`](crate::Engine::ensure_root_user) found or made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootUser {
    /// The root user.
    pub user: S3User,
    /// Whether this call created the user.
    pub created: bool,
    /// A key pair generated by this call because none was configured and the user had no
    /// key: show it to the operator once, it is not printed again. `Debug` hides the secret.
    pub generated_keys: Option<AccessKeyPair>,
}

/// A key pair as the admin API shows it to system users, secret decrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPairInfo {
    /// The access key id.
    pub access_key_id: String,
    /// The secret. `Debug` prints `****`.
    pub secret: String,
    /// The account the key belongs to, or `None` for the user's own keys.
    pub account: Option<String>,
}

impl fmt::Debug for KeyPairInfo {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("KeyPairInfo")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &"****")
            .field("account", &self.account)
            .finish()
    }
}

/// An ostor account with its key pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// The account's name.
    pub name: String,
    /// Its key pairs, oldest first.
    pub keys: Vec<KeyPairInfo>,
}

/// A user with its key pairs and accounts: what the admin API shows of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The user.
    pub user: S3User,
    /// The user's own key pairs, oldest first.
    pub keys: Vec<KeyPairInfo>,
    /// The user's accounts, by name.
    pub accounts: Vec<AccountRecord>,
}

/// What signature verification needs to know about an access key.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The access key id.
    pub access_key_id: String,
    /// The secret, decrypted. `Debug` prints `****`.
    pub secret: String,
    /// The user the key belongs to.
    pub user_id: UserId,
    /// Whether the user may make requests.
    pub user_enabled: bool,
    /// Whether this is a system user's own key (may call the ostor admin API); an account's
    /// key never is.
    pub system: bool,
    /// The ostor account the key belongs to, if it is an account's key.
    pub account: Option<String>,
}

impl fmt::Debug for KeyRecord {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("KeyRecord")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &"****")
            .field("user_id", &self.user_id)
            .field("user_enabled", &self.user_enabled)
            .field("system", &self.system)
            .field("account", &self.account)
            .finish()
    }
}

/// What the destination of a replication must do with a queued key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicationOperation {
    /// Store the source's current object under the key.
    Put,
    /// Delete the key.
    Delete,
}

/// One queued replication, leased to the caller of [`crate::Engine::claim_replications`]
/// until it reports back with [`crate::Engine::finish_replication`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationTask {
    pub(crate) id: i64,
    pub(crate) bucket_id: i64,
    pub(crate) generation: i64,
    /// The source bucket.
    pub bucket: BucketName,
    /// The key to copy or delete.
    pub key: ObjectKey,
    /// What to do at the destination.
    pub operation: ReplicationOperation,
    /// How many attempts failed before this one.
    pub attempts: u32,
}

/// How a replication attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicationOutcome {
    /// Done: the destination holds the object (identified by `copied`, for a put) or no
    /// longer holds the key (a delete).
    Completed {
        /// The ETag and modification time of the object copied.
        copied: Option<(String, DateTime<Utc>)>,
    },
    /// Nothing to do any more: the object is gone, or no enabled rule covers the key now.
    Dropped,
    /// Failed; try again at `retry_at`. `refused` when the destination answered with a
    /// client error (credentials, a missing bucket): the object is then marked `FAILED`
    /// rather than left `PENDING`.
    Retry {
        /// When to try again.
        retry_at: DateTime<Utc>,
        /// What went wrong, kept with the entry.
        error: String,
        /// The destination refused the request.
        refused: bool,
        /// The ETag and modification time of the object the attempt tried to copy.
        object: Option<(String, DateTime<Utc>)>,
    },
}
