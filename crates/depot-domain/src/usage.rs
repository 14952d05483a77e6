//! What was used, and when: request counters, billing periods and usage records.

use std::fmt;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::bucket_name::BucketName;
use crate::identity::UserId;
use crate::limits::OpClass;

/// Operation and traffic counters over some interval, as ostor's usage objects report them
/// (`"ops": {put, get, list, other}`, `"net_io": {uploaded, downloaded}`).
///
/// Adding counters saturates at `u64::MAX` instead of wrapping or failing: 2^64 operations or
/// bytes are out of reach of any real interval, and a metering report that cannot fail is
/// worth more than an error about an impossible total. [`UsageCounters::checked_add`] is
/// there for callers that want to know.
///
/// ```
/// use depot_domain::{OpClass, UsageCounters};
///
/// let mut bucket = UsageCounters::ZERO;
/// bucket.record_op(OpClass::Put);
/// bucket.bytes_uploaded += 99_785;
/// bucket.record_op(OpClass::Delete); // counted as "other", like ostor
///
/// let mut total = UsageCounters { ops_get: 2, ..UsageCounters::ZERO };
/// total.merge(&bucket);
/// assert_eq!((total.ops_put, total.ops_get, total.ops_other), (1, 2, 1));
/// assert_eq!(total.total_ops(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct UsageCounters {
    /// Write operations ([`OpClass::Put`]).
    pub ops_put: u64,
    /// Read operations ([`OpClass::Get`]).
    pub ops_get: u64,
    /// Listing operations ([`OpClass::List`]).
    pub ops_list: u64,
    /// Every other operation, deletions included ([`OpClass::Delete`], [`OpClass::Other`]).
    pub ops_other: u64,
    /// Bytes received from clients (request bodies).
    pub bytes_uploaded: u64,
    /// Bytes sent to clients (response bodies).
    pub bytes_downloaded: u64,
}

impl UsageCounters {
    /// All counters zero.
    pub const ZERO: UsageCounters = UsageCounters {
        ops_put: 0,
        ops_get: 0,
        ops_list: 0,
        ops_other: 0,
        bytes_uploaded: 0,
        bytes_downloaded: 0,
    };

    /// Counts one operation of `class`.
    ///
    /// Deletions are counted as "other" because ostor's usage format has no delete counter.
    pub fn record_op(&mut self, class: OpClass) {
        let counter = match class {
            OpClass::Put => &mut self.ops_put,
            OpClass::Get => &mut self.ops_get,
            OpClass::List => &mut self.ops_list,
            OpClass::Delete | OpClass::Other => &mut self.ops_other,
        };
        *counter = counter.saturating_add(1);
    }

    /// Adds `other` into `self`, saturating each counter.
    pub fn merge(&mut self, other: &UsageCounters) {
        *self = self.saturating_add(other);
    }

    /// The field-wise sum, saturating each counter.
    pub fn saturating_add(&self, other: &UsageCounters) -> UsageCounters {
        UsageCounters {
            ops_put: self.ops_put.saturating_add(other.ops_put),
            ops_get: self.ops_get.saturating_add(other.ops_get),
            ops_list: self.ops_list.saturating_add(other.ops_list),
            ops_other: self.ops_other.saturating_add(other.ops_other),
            bytes_uploaded: self.bytes_uploaded.saturating_add(other.bytes_uploaded),
            bytes_downloaded: self.bytes_downloaded.saturating_add(other.bytes_downloaded),
        }
    }

    /// The field-wise sum, or `None` if any counter would overflow.
    pub fn checked_add(&self, other: &UsageCounters) -> Option<UsageCounters> {
        Some(UsageCounters {
            ops_put: self.ops_put.checked_add(other.ops_put)?,
            ops_get: self.ops_get.checked_add(other.ops_get)?,
            ops_list: self.ops_list.checked_add(other.ops_list)?,
            ops_other: self.ops_other.checked_add(other.ops_other)?,
            bytes_uploaded: self.bytes_uploaded.checked_add(other.bytes_uploaded)?,
            bytes_downloaded: self.bytes_downloaded.checked_add(other.bytes_downloaded)?,
        })
    }

    /// All operations of every class, saturating.
    pub fn total_ops(&self) -> u64 {
        self.ops_put
            .saturating_add(self.ops_get)
            .saturating_add(self.ops_list)
            .saturating_add(self.ops_other)
    }

    /// Whether nothing was counted.
    pub fn is_zero(&self) -> bool {
        *self == UsageCounters::ZERO
    }
}

/// A half-open interval of time `[start, end)`, such as a billing month or a usage report.
///
/// Half-open so that consecutive periods (January, February) share a boundary without
/// counting the instant at it twice. A period is never empty: `end` is after `start`.
///
/// ```
/// use chrono::{DateTime, Utc};
/// use depot_domain::Period;
///
/// let january = Period::new("2024-01-01T00:00:00Z".parse()?, "2024-02-01T00:00:00Z".parse()?)?;
/// assert!(january.contains("2024-01-31T23:59:59Z".parse::<DateTime<Utc>>()?));
/// assert!(!january.contains(january.end()));
/// assert_eq!(january.duration().num_days(), 31);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Period {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

/// Why two instants do not make a [`Period`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// `end` is not after `start`.
    #[error("period ends at {end}, which is not after its start {start}")]
    EndNotAfterStart {
        /// The requested start.
        start: DateTime<Utc>,
        /// The requested end.
        end: DateTime<Utc>,
    },
}

impl Period {
    /// The period from `start` (included) to `end` (excluded).
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, PeriodError> {
        if end <= start {
            return Err(PeriodError::EndNotAfterStart { start, end });
        }
        Ok(Self { start, end })
    }

    /// The first instant of the period.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// The first instant after the period.
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// How long the period lasts.
    pub fn duration(&self) -> TimeDelta {
        self.end - self.start
    }

    /// Whether `instant` falls within `[start, end)`.
    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        self.start <= instant && instant < self.end
    }
}

impl fmt::Display for Period {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "[{}, {})",
            self.start.to_rfc3339(),
            self.end.to_rfc3339()
        )
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct PeriodWire {
            start: DateTime<Utc>,
            end: DateTime<Utc>,
        }
        let wire = PeriodWire::deserialize(deserializer)?;
        Period::new(wire.start, wire.end).map_err(serde::de::Error::custom)
    }
}

/// One incarnation of a bucket: its name plus the epoch that tells it apart from an earlier,
/// deleted bucket of the same name (ostor's `"epoch"`).
///
/// Usage is attributed to the incarnation, so a customer who deletes a bucket and someone who
/// later creates one with the same name are never billed for each other's traffic.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BucketRef {
    /// The bucket's name.
    pub name: BucketName,
    /// Distinguishes this bucket from earlier ones of the same name.
    pub epoch: u64,
}

/// Whose usage a set of counters is: a user, and the bucket if the operations concerned one.
///
/// Operations outside any bucket (such as `ListBuckets`) have no bucket; ostor writes them
/// with `"bucket": ""`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UsageKey {
    /// The user who made the requests.
    pub user: UserId,
    /// The bucket the requests were about, if any.
    pub bucket: Option<BucketRef>,
}

/// Counters for one [`UsageKey`] over one [`Period`], as a storage provider reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// Whose usage this is.
    pub key: UsageKey,
    /// The interval the counters cover.
    pub period: Period,
    /// What was used.
    pub counters: UsageCounters,
}

/// Which service (a `depot-api` node, an ostor gateway) wrote a usage object: up to 16
/// decimal digits, written zero-padded to 16 in object names (`s3-usage-0000000000000001-…`).
///
/// ```
/// use depot_domain::ServiceId;
///
/// let id: ServiceId = "8000000000000003".parse()?;
/// assert_eq!(id.get(), 8_000_000_000_000_003);
/// assert_eq!(ServiceId::new(7)?.to_string(), "0000000000000007");
/// assert!(ServiceId::new(10_000_000_000_000_000).is_err());
/// # Ok::<(), depot_domain::ServiceIdError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct ServiceId(u64);

/// Why a number is not a [`ServiceId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a service id is a number of at most 16 decimal digits, not {0:?}")]
pub struct ServiceIdError(String);

impl ServiceId {
    /// The largest service id: sixteen nines.
    pub const MAX: u64 = 9_999_999_999_999_999;

    /// `id`, if it has at most 16 digits.
    pub fn new(id: u64) -> Result<Self, ServiceIdError> {
        if id > Self::MAX {
            return Err(ServiceIdError(id.to_string()));
        }
        Ok(Self(id))
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:016}", self.0)
    }
}

impl std::str::FromStr for ServiceId {
    type Err = ServiceIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() || text.len() > 16 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ServiceIdError(text.to_owned()));
        }
        text.parse()
            .map_err(|_| ServiceIdError(text.to_owned()))
            .and_then(Self::new)
    }
}

impl TryFrom<u64> for ServiceId {
    type Error = ServiceIdError;

    fn try_from(id: u64) -> Result<Self, Self::Error> {
        Self::new(id)
    }
}

impl From<ServiceId> for u64 {
    fn from(id: ServiceId) -> u64 {
        id.0
    }
}

/// The name of a usage object: `s3-usage-<service id>-<ISO 8601 start>-<period seconds>`,
/// such as `s3-usage-8000000000000003-2016-04-11T13:10:29.000Z-1800`.
///
/// The start contains `-` and `:`, so the service id is read from the front and the period
/// from the back. Other clusters' service ids are kept as text (alphanumeric); Depot writes
/// [`ServiceId`]s.
///
/// ```
/// use depot_domain::{ServiceId, UsageObjectName};
///
/// let name = UsageObjectName::new(ServiceId::new(3)?, "2026-11-22T10:00:00Z".parse()?, 300);
/// assert_eq!(name.to_string(), "s3-usage-0000000000000003-2026-11-22T10:00:00.000Z-300");
/// assert_eq!(UsageObjectName::parse(&name.to_string()), Some(name));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageObjectName {
    /// The service (gateway) that wrote the object.
    pub service_id: String,
    /// The start of the period the object covers.
    pub start: DateTime<Utc>,
    /// The length of the period, in seconds.
    pub period_seconds: u64,
}

impl UsageObjectName {
    /// The prefix of every usage object's name.
    pub const PREFIX: &'static str = "s3-usage-";

    /// The name of the object `service` writes for the `period_seconds` from `start`.
    pub fn new(service: ServiceId, start: DateTime<Utc>, period_seconds: u64) -> Self {
        Self {
            service_id: service.to_string(),
            start,
            period_seconds,
        }
    }

    /// Reads a name; `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        let rest = name.strip_prefix(Self::PREFIX)?;
        let (service_id, rest) = rest.split_once('-')?;
        let (start, period) = rest.rsplit_once('-')?;
        if service_id.is_empty() || !service_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        if period.is_empty() || !period.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Self {
            service_id: service_id.to_owned(),
            start: DateTime::parse_from_rfc3339(start)
                .ok()?
                .with_timezone(&Utc),
            period_seconds: period.parse().ok()?,
        })
    }
}

impl fmt::Display for UsageObjectName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}{}-{}-{}",
            Self::PREFIX,
            self.service_id,
            self.start.to_rfc3339_opts(SecondsFormat::Millis, true),
            self.period_seconds
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturating_and_checked_addition_agree_until_overflow() {
        let nearly_full = UsageCounters {
            bytes_downloaded: u64::MAX - 1,
            ..UsageCounters::ZERO
        };
        let one = UsageCounters {
            bytes_downloaded: 1,
            ..UsageCounters::ZERO
        };
        let full = nearly_full.checked_add(&one);
        assert_eq!(full.map(|c| c.bytes_downloaded), Some(u64::MAX));
        assert_eq!(full.and_then(|c| c.checked_add(&one)), None);
        assert_eq!(
            nearly_full
                .saturating_add(&one)
                .saturating_add(&one)
                .bytes_downloaded,
            u64::MAX
        );
    }

    #[test]
    fn period_refuses_empty_and_reversed() {
        let noon: DateTime<Utc> = "2024-05-01T12:00:00Z".parse().expect("valid instant");
        assert!(matches!(
            Period::new(noon, noon),
            Err(PeriodError::EndNotAfterStart { .. })
        ));
        assert!(Period::new(noon, noon - TimeDelta::seconds(1)).is_err());
    }

    #[test]
    fn period_deserialization_validates() {
        let reversed = r#"{"start":"2024-02-01T00:00:00Z","end":"2024-01-01T00:00:00Z"}"#;
        assert!(serde_json::from_str::<Period>(reversed).is_err());
        let fine = r#"{"start":"2024-01-01T00:00:00Z","end":"2024-02-01T00:00:00Z"}"#;
        let period: Period = serde_json::from_str(fine).expect("valid period");
        assert_eq!(period.duration().num_days(), 31);
    }

    #[test]
    fn parses_usage_object_names_from_both_ends() {
        let name = "s3-usage-8000000000000003-2016-04-11T13:10:29.000Z-1800";
        let parsed = UsageObjectName::parse(name).expect("parses");
        assert_eq!(parsed.service_id, "8000000000000003");
        assert_eq!(
            parsed.start,
            "2016-04-11T13:10:29Z"
                .parse::<DateTime<Utc>>()
                .expect("valid")
        );
        assert_eq!(parsed.period_seconds, 1_800);
        assert_eq!(parsed.to_string(), name);
        for bad in [
            "s3-usage-8000000000000003-2016-04-11T13:10:29.000Z",
            "s3-usage-8000000000000003-2016-04-11T13:10:29.000Z-",
            "s3-usage-8000000000000003-2016-04-11T13:10:29.000Z-+30",
            "s3-usage--2016-04-11T13:10:29.000Z-30",
            "s3-usage-80-yesterday-30",
            "other-8000000000000003-2016-04-11T13:10:29.000Z-30",
        ] {
            assert_eq!(UsageObjectName::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn service_ids_have_at_most_sixteen_digits() {
        assert_eq!(
            "9999999999999999".parse::<ServiceId>().map(ServiceId::get),
            Ok(ServiceId::MAX)
        );
        for bad in ["", "10000000000000000", "-1", "+1", "1e3", " 1"] {
            assert!(bad.parse::<ServiceId>().is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<ServiceId>("10000000000000000").is_err());
        assert_eq!(
            serde_json::to_string(&ServiceId::new(3).expect("small")).expect("serialises"),
            "3"
        );
    }
}
