//! Storage quotas and request/bandwidth rate limits, in the shape ostor defines them.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::bucket_name::BucketName;
use crate::identity::UserId;
use crate::string_form::{parse_plain_decimal, serde_via_string};

/// Bytes in one "GB" of quota, plan and billing figures: 2^30.
///
/// Storage systems, ostor included, size quotas in binary units while calling them GB. Every
/// crate converts through this one constant so that a quota, a plan's included storage and an
/// overage charge can never disagree about what a gigabyte is.
pub const BYTES_PER_GB: u64 = 1 << 30;

/// Bytes in one "KB" of a bandwidth limit: 1024, for the same reason as [`BYTES_PER_GB`].
pub const BYTES_PER_KB: u64 = 1 << 10;

/// What a storage quota applies to (ostor `?ostor-quotas&emailAddress=…|bucket=…|default=…`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaScope {
    /// One user's total storage, across all their buckets.
    User(UserId),
    /// One bucket's storage.
    Bucket(BucketName),
    /// The quota of every user that has none of their own.
    DefaultUser,
    /// The quota of every bucket that has none of its own.
    DefaultBucket,
}

impl fmt::Display for QuotaScope {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuotaScope::User(id) => write!(formatter, "quota of user {id}"),
            QuotaScope::Bucket(name) => write!(formatter, "quota of bucket {name}"),
            QuotaScope::DefaultUser => formatter.write_str("default user quota"),
            QuotaScope::DefaultBucket => formatter.write_str("default bucket quota"),
        }
    }
}

/// A storage quota: how many GB a user or bucket may store, where 0 means unlimited.
///
/// Zero-as-unlimited is ostor's convention (`DELETE ?ostor-quotas` "sets a quota value to 0
/// (unlimited)"); it is kept in the field so the type matches the wire, and the helpers turn
/// it into an `Option` so no caller compares with zero by hand.
///
/// ```
/// use depot_domain::{BYTES_PER_GB, Quota, QuotaScope};
///
/// let quota = Quota { scope: QuotaScope::DefaultBucket, size_gb: 256 };
/// assert_eq!(quota.limit_bytes(), Some(256 * BYTES_PER_GB));
/// assert!(quota.allows(256 * BYTES_PER_GB));
/// assert!(!quota.allows(256 * BYTES_PER_GB + 1));
///
/// assert_eq!(Quota::unlimited(QuotaScope::DefaultUser).limit_bytes(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quota {
    /// What the quota applies to.
    pub scope: QuotaScope,
    /// The limit in GB of [`BYTES_PER_GB`] bytes; 0 means unlimited.
    pub size_gb: u64,
}

impl Quota {
    /// No limit for `scope`.
    pub fn unlimited(scope: QuotaScope) -> Self {
        Self { scope, size_gb: 0 }
    }

    /// Whether the quota imposes no limit.
    pub fn is_unlimited(&self) -> bool {
        self.size_gb == 0
    }

    /// The limit in bytes, or `None` when unlimited.
    ///
    /// A limit too large for a `u64` of bytes (over 17 billion GB) saturates to `u64::MAX`,
    /// which no store can reach, so it behaves exactly as written.
    pub fn limit_bytes(&self) -> Option<u64> {
        (!self.is_unlimited()).then(|| self.size_gb.saturating_mul(BYTES_PER_GB))
    }

    /// Whether storing `total_bytes` in all stays within the quota.
    pub fn allows(&self, total_bytes: u64) -> bool {
        self.limit_bytes().is_none_or(|limit| total_bytes <= limit)
    }
}

/// A non-negative rate (operations or KB per second) where 0 means unlimited.
///
/// Ostor reports limits as decimal strings (`"ops:get": "0.50"`, `"bandwidth:out": "3.33"`),
/// so the value is a [`Decimal`] — fractional rates are real, floats are not welcome — and the
/// text and serde form is that string.
///
/// ```
/// use depot_domain::{Decimal, RateLimit, RateLimitError};
///
/// let half: RateLimit = "0.50".parse()?;
/// assert_eq!(half.per_second(), Some(Decimal::new(5, 1)));
/// assert_eq!(RateLimit::UNLIMITED.per_second(), None);
/// assert_eq!("-1".parse::<RateLimit>(), Err(RateLimitError::Negative));
/// # Ok::<(), RateLimitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RateLimit(Decimal);

/// Why a value is not a valid [`RateLimit`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitError {
    /// The rate is below zero.
    #[error("a rate limit must not be negative")]
    Negative,
    /// The text is not a plain decimal number.
    #[error("invalid rate limit {0:?}; expected a plain decimal such as 0.50")]
    NotADecimal(String),
}

impl RateLimit {
    /// No limit.
    pub const UNLIMITED: RateLimit = RateLimit(Decimal::ZERO);

    /// A limit of `per_second` units per second; zero means unlimited.
    pub fn new(per_second: Decimal) -> Result<Self, RateLimitError> {
        if per_second.is_sign_negative() && !per_second.is_zero() {
            return Err(RateLimitError::Negative);
        }
        // Normalise -0 to 0 so that equal limits compare and print equal.
        Ok(Self(per_second.abs()))
    }

    /// The limit in units per second, or `None` when unlimited.
    pub fn per_second(self) -> Option<Decimal> {
        (!self.is_unlimited()).then_some(self.0)
    }

    /// Whether this is no limit.
    pub fn is_unlimited(self) -> bool {
        self.0.is_zero()
    }

    /// The raw value as ostor writes it, 0 for unlimited.
    pub fn value(self) -> Decimal {
        self.0
    }
}

impl FromStr for RateLimit {
    type Err = RateLimitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let value = parse_plain_decimal(text)
            .ok_or_else(|| RateLimitError::NotADecimal(text.to_owned()))?;
        Self::new(value)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, formatter)
    }
}

serde_via_string!(RateLimit, "a non-negative decimal rate such as 0.50");

/// The class of an S3 operation, for rate limits and usage counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpClass {
    /// Reads of object data or metadata: `GetObject`, `HeadObject`.
    Get,
    /// Writes: `PutObject`, `CopyObject`, multipart uploads.
    Put,
    /// Listings: `ListObjects(V2)`, `ListBuckets`, `ListParts`.
    List,
    /// Deletions: `DeleteObject`, `DeleteObjects`, `DeleteBucket`.
    Delete,
    /// Everything else (bucket configuration, ACLs, …), limited by the default rate.
    Other,
}

/// Request and bandwidth limits of a user or bucket (ostor `?ostor-limits`); 0 means unlimited.
///
/// Operation limits are in operations per second per [`OpClass`]; the outgoing bandwidth
/// limit is in KB ([`BYTES_PER_KB`]) per second. Ostor's `default` applies to operations with
/// no class of their own, and setting it also sets every class not given explicitly — see
/// [`Limits::with_uniform_ops`].
///
/// ```
/// use depot_domain::{Decimal, Limits, OpClass, RateLimit};
///
/// let limits = Limits {
///     ops_list: "0.5".parse()?,
///     ..Limits::with_uniform_ops(Limits::UNLIMITED, "60".parse()?)
/// };
/// assert_eq!(limits.ops_per_second(OpClass::Put), Some(Decimal::from(60)));
/// assert_eq!(limits.ops_per_second(OpClass::List), Some(Decimal::new(5, 1)));
/// assert_eq!(limits.bandwidth_out_bytes_per_second(), None);
/// # Ok::<(), depot_domain::RateLimitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Limits {
    /// Operations per second for [`OpClass::Other`] (ostor `ops:default`).
    pub ops_default: RateLimit,
    /// Operations per second for [`OpClass::Get`] (ostor `ops:get`).
    pub ops_get: RateLimit,
    /// Operations per second for [`OpClass::Put`] (ostor `ops:put`).
    pub ops_put: RateLimit,
    /// Operations per second for [`OpClass::List`] (ostor `ops:list`).
    pub ops_list: RateLimit,
    /// Operations per second for [`OpClass::Delete`] (ostor `ops:delete`).
    pub ops_delete: RateLimit,
    /// Outgoing bandwidth in KB per second (ostor `bandwidth:out`).
    pub bandwidth_out_kb: RateLimit,
}

impl Limits {
    /// No limits at all.
    pub const UNLIMITED: Limits = Limits {
        ops_default: RateLimit::UNLIMITED,
        ops_get: RateLimit::UNLIMITED,
        ops_put: RateLimit::UNLIMITED,
        ops_list: RateLimit::UNLIMITED,
        ops_delete: RateLimit::UNLIMITED,
        bandwidth_out_kb: RateLimit::UNLIMITED,
    };

    /// `base` with every operation class limited to `per_second`: ostor's `ops&default=…`
    /// with no per-class values.
    pub fn with_uniform_ops(base: Limits, per_second: RateLimit) -> Limits {
        Limits {
            ops_default: per_second,
            ops_get: per_second,
            ops_put: per_second,
            ops_list: per_second,
            ops_delete: per_second,
            ..base
        }
    }

    /// The limit for operations of `class`.
    pub fn ops_limit(&self, class: OpClass) -> RateLimit {
        match class {
            OpClass::Get => self.ops_get,
            OpClass::Put => self.ops_put,
            OpClass::List => self.ops_list,
            OpClass::Delete => self.ops_delete,
            OpClass::Other => self.ops_default,
        }
    }

    /// Operations per second allowed for `class`, or `None` when unlimited.
    pub fn ops_per_second(&self, class: OpClass) -> Option<Decimal> {
        self.ops_limit(class).per_second()
    }

    /// Outgoing bytes per second allowed, or `None` when unlimited.
    ///
    /// A limit so large that its value in bytes does not fit a `Decimal` (over 10^25 KB/s)
    /// is reported as unlimited, which is what it is in practice.
    pub fn bandwidth_out_bytes_per_second(&self) -> Option<Decimal> {
        // KB/s × 1024 cannot overflow for any rate a `Decimal` from ostor's text can hold in
        // practice; if it ever did, the limit would be beyond any link, i.e. unlimited.
        self.bandwidth_out_kb
            .per_second()
            .and_then(|kb| kb.checked_mul(Decimal::from(BYTES_PER_KB)))
    }

    /// Whether nothing is limited.
    pub fn is_unlimited(&self) -> bool {
        *self == Limits::UNLIMITED
    }
}

/// What a set of [`Limits`] applies to (ostor `?ostor-limits&emailAddress=…|id=…|bucket=…`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitScope {
    /// All requests of one user.
    User(UserId),
    /// All requests to one bucket.
    Bucket(BucketName),
}

impl fmt::Display for LimitScope {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitScope::User(id) => write!(formatter, "limits of user {id}"),
            LimitScope::Bucket(name) => write!(formatter, "limits of bucket {name}"),
        }
    }
}

/// Which half of [`Limits`] a removal resets to unlimited (ostor `DELETE …&ops|&bandwidth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// All operation limits.
    Ops,
    /// The bandwidth limit.
    Bandwidth,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_quota_saturates_instead_of_wrapping() {
        let quota = Quota {
            scope: QuotaScope::DefaultUser,
            size_gb: u64::MAX,
        };
        assert_eq!(quota.limit_bytes(), Some(u64::MAX));
        assert!(quota.allows(u64::MAX));
    }

    #[test]
    fn negative_zero_rate_is_unlimited_zero() {
        let limit: RateLimit = "-0".parse().expect("-0 is zero");
        assert_eq!(limit, RateLimit::UNLIMITED);
        assert_eq!(limit.to_string(), "0");
    }

    #[test]
    fn bandwidth_converts_kb_to_bytes() {
        let limits = Limits {
            bandwidth_out_kb: "50".parse().expect("valid rate"),
            ..Limits::UNLIMITED
        };
        assert_eq!(
            limits.bandwidth_out_bytes_per_second(),
            Some(Decimal::from(51_200))
        );
        assert!(!limits.is_unlimited());
    }
}
