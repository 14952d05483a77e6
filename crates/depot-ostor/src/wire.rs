//! The ostor admin API's JSON bodies, field for field as the Virtuozzo reference spells them.
//!
//! Both sides use these structs: the server serialises them, the client parses them. They are
//! wire types only (STYLE.md §3); conversions to and from the domain's records live beside
//! the code that needs them. Counts and rates are strings where ostor prints strings
//! (`"AccountCount": "3"`, `"ops:get": "0.50"`) and numbers where it prints numbers.

use depot_domain::{S3User, UserState};
use serde::{Deserialize, Serialize};

/// `"AWSAccessKeys": [{…}]`: one key pair, secret included (ostor shows secrets to system
/// users, who need them to hand keys to customers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPair {
    /// The access key id.
    #[serde(rename = "AWSAccessKeyId")]
    pub access_key_id: String,
    /// The secret access key.
    #[serde(rename = "AWSSecretAccessKey")]
    pub secret_access_key: String,
}

/// An account inside a user's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The account's name.
    #[serde(rename = "Name")]
    pub name: String,
    /// The account's key pairs.
    #[serde(rename = "AWSAccessKeys", default)]
    pub keys: Vec<KeyPair>,
}

/// A user as `GET ?ostor-users` shows it. Listing all users leaves out keys and accounts;
/// creating a user or generating a key shows only the email, id and keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The user's email.
    #[serde(rename = "UserEmail")]
    pub email: String,
    /// The user's id (16 hex digits).
    #[serde(rename = "UserId")]
    pub id: String,
    /// `enabled` or `disabled`.
    #[serde(rename = "State", default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The owning user; `0000000000000000` for none.
    #[serde(rename = "OwnerId", default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// `system`, `disabled`.
    #[serde(rename = "Flags", default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<String>>,
    /// The user's own key pairs.
    #[serde(
        rename = "AWSAccessKeys",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub keys: Option<Vec<KeyPair>>,
    /// How many accounts the user has, as a decimal string.
    #[serde(
        rename = "AccountCount",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub account_count: Option<String>,
    /// The user's accounts with their keys.
    #[serde(rename = "Accounts", default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<AccountInfo>>,
}

/// The `OwnerId` of a user no one owns.
pub const NO_OWNER: &str = "0000000000000000";

impl UserInfo {
    /// `user` as listings show it: email, id, state, owner and flags, without keys or
    /// accounts (callers that show them fill them in).
    pub fn summary(user: &S3User) -> UserInfo {
        let mut flags = Vec::new();
        if user.state == UserState::Disabled {
            flags.push("disabled".to_owned());
        }
        if user.flags.system {
            flags.push("system".to_owned());
        }
        UserInfo {
            email: user.email.to_string(),
            id: user.id.to_string(),
            state: Some(user.state.as_str().to_owned()),
            owner_id: Some(
                user.owner_id
                    .map_or_else(|| NO_OWNER.to_owned(), |id| id.to_string()),
            ),
            flags: Some(flags),
            keys: None,
            account_count: None,
            accounts: None,
        }
    }
}

/// `GET ?ostor-users` without a user: `{"Users": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    /// Every user, without keys.
    #[serde(rename = "Users", default)]
    pub users: Vec<UserInfo>,
}

/// `"size"` of a bucket in `GET ?ostor-buckets`.
///
/// Units (ostor's, which its sample figures bear out): `current` and `hmax` in bytes,
/// `h_integral` in byte-hours, `last_ts` in whole hours since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketSize {
    /// Bytes stored now.
    pub current: u64,
    /// The most bytes ever stored.
    pub hmax: u64,
    /// The integral of the size over time, in byte-hours.
    pub h_integral: u64,
    /// The hour (since the Unix epoch) the figures are brought up to.
    pub last_ts: u64,
}

/// One bucket of `GET ?ostor-buckets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketInfo {
    /// The bucket's name.
    pub name: String,
    /// Tells the bucket apart from earlier buckets of the same name.
    pub epoch: u64,
    /// When it was created, as `2018-05-25T17:12:00.000Z`.
    pub creation_date: String,
    /// The owning user's id.
    pub owner_id: String,
    /// Its storage figures.
    pub size: BucketSize,
}

/// `GET ?ostor-buckets`: `{"Buckets": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketList {
    /// The buckets.
    #[serde(rename = "Buckets", default)]
    pub buckets: Vec<BucketInfo>,
}

/// `GET ?ostor-limits`: every rate as a decimal string; operations per second, bandwidth in
/// KB (1024 bytes) per second; `"0"` is unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitsInfo {
    /// The rate of operations of no other class.
    #[serde(rename = "ops:default")]
    pub ops_default: String,
    /// GET and HEAD of objects.
    #[serde(rename = "ops:get")]
    pub ops_get: String,
    /// Writes: PUT, POST, copies, parts, completions.
    #[serde(rename = "ops:put")]
    pub ops_put: String,
    /// Listings.
    #[serde(rename = "ops:list")]
    pub ops_list: String,
    /// Deletions.
    #[serde(rename = "ops:delete")]
    pub ops_delete: String,
    /// Outgoing bandwidth, KB/s.
    #[serde(rename = "bandwidth:out")]
    pub bandwidth_out: String,
}

/// `GET ?ostor-quotas`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaInfo {
    /// The quota record's format version.
    pub version: String,
    /// `"0"` for a user quota, `"1"` for a bucket quota.
    #[serde(rename = "type")]
    pub kind: String,
    /// The quota in GB (2^30 bytes); `"0"` is unlimited.
    pub size: String,
}

/// `GET ?ostor-usage` without `obj`: the names of the usage objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageList {
    /// How many names follow.
    pub nr_items: u64,
    /// Whether more objects exist than were listed.
    pub truncated: bool,
    /// Names such as `s3-usage-8000000000000003-2016-04-11T13:10:29.000Z-1800`.
    pub items: Vec<String>,
}

/// The key of one usage counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageItemKey {
    /// The bucket, empty for operations outside any bucket.
    pub bucket: String,
    /// The bucket's epoch, 0 with no bucket.
    pub epoch: u64,
    /// The user who made the requests.
    pub user_id: String,
    /// A free tag; Depot writes it empty.
    pub tag: String,
}

/// Operation counters of a usage item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageOps {
    /// Writes.
    pub put: u64,
    /// Reads.
    pub get: u64,
    /// Listings.
    pub list: u64,
    /// Everything else, deletions included.
    pub other: u64,
}

/// Traffic counters of a usage item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageNetIo {
    /// Request body bytes received.
    pub uploaded: u64,
    /// Response body bytes sent.
    pub downloaded: u64,
}

/// The counters of one usage item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageItemCounters {
    /// Operations.
    pub ops: UsageOps,
    /// Traffic.
    pub net_io: UsageNetIo,
}

/// One counter of a usage object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageItem {
    /// Whose usage.
    pub key: UsageItemKey,
    /// What was used.
    pub counters: UsageItemCounters,
}

/// `GET ?ostor-usage&obj=…`: one usage object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageReport {
    /// The format's version: 1.
    pub fmt_version: u32,
    /// The service (node) that collected the counters; printed as a JSON number, its 16
    /// digits are those of the object's name.
    pub service_id: u64,
    /// The start of the period, in seconds since the Unix epoch.
    pub start_ts: i64,
    /// The period's length in seconds.
    pub period: u64,
    /// How many items follow.
    pub nr_items: u64,
    /// The counters.
    pub items: Vec<UsageItem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's own sample of `GET ?ostor-users&id=…` parses and keeps every field.
    #[test]
    fn parses_the_reference_user_sample() {
        let sample = r#"{
          "UserEmail": "user@email.com", "UserId": "b09693b73b3c7686", "State": "disabled",
          "OwnerId": "0000000000000000", "Flags": ["disabled"],
          "AWSAccessKeys": [{"AWSAccessKeyId": "b09693b73b3c7686FIGH",
                             "AWSSecretAccessKey": "jO2p4JBN1tWc4FEGxwZ8qW2jPCJBYp8RJ4KgBcZP"}],
          "AccountCount": "1",
          "Accounts": [{"Name": "account1", "AWSAccessKeys": [
              {"AWSAccessKeyId": "b09693b73b3c768613NV",
               "AWSSecretAccessKey": "CBUpFmnpUGlXskTivgDQu4qjYksWpceGZeH6Qyct"}]}]
        }"#;
        let user: UserInfo = serde_json::from_str(sample).expect("sample parses");
        assert_eq!(user.state.as_deref(), Some("disabled"));
        assert_eq!(user.flags, Some(vec!["disabled".to_owned()]));
        assert_eq!(user.account_count.as_deref(), Some("1"));
        let accounts = user.accounts.expect("accounts");
        assert_eq!(accounts[0].keys[0].access_key_id, "b09693b73b3c768613NV");
    }

    /// Listing users leaves out the fields it does not know, rather than printing nulls.
    #[test]
    fn absent_fields_are_left_out() {
        let user = UserInfo {
            email: "a@example.com".into(),
            id: "b09693b73b3c7686".into(),
            state: None,
            owner_id: None,
            flags: None,
            keys: None,
            account_count: None,
            accounts: None,
        };
        assert_eq!(
            serde_json::to_string(&user).expect("serialises"),
            r#"{"UserEmail":"a@example.com","UserId":"b09693b73b3c7686"}"#
        );
    }

    #[test]
    fn parses_the_reference_usage_sample() {
        let sample = r#"{ "fmt_version": 1, "service_id":8000000000000003,
          "start_ts":1460380373, "period": 30, "nr_items":1,
          "items": [{ "key": { "bucket": "bucket", "epoch":16394,
                               "user_id": "f82c23f7823589eb", "tag": "" },
                      "counters": { "ops": { "put":15, "get":0, "list":1, "other":0 },
                                    "net_io": { "uploaded":99785, "downloaded":0 } } }] }"#;
        let report: UsageReport = serde_json::from_str(sample).expect("sample parses");
        assert_eq!(report.service_id, 8_000_000_000_000_003);
        assert_eq!(report.items[0].counters.ops.put, 15);
        assert_eq!(report.items[0].counters.net_io.uploaded, 99_785);
    }

    #[test]
    fn limits_use_the_colon_names() {
        let limits: LimitsInfo = serde_json::from_str(
            r#"{"ops:default":"0.50","ops:get":"0.50","ops:put":"0.50","ops:list":"0.50",
                "ops:delete":"0.50","bandwidth:out":"0"}"#,
        )
        .expect("sample parses");
        assert_eq!(limits.ops_get, "0.50");
        assert_eq!(limits.bandwidth_out, "0");
    }
}
