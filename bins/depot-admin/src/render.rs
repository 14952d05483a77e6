//! What each command prints: aligned tables for people, JSON for scripts. The JSON keeps the
//! admin API's objects (the reference's field names), so a script written against
//! `depot-admin --json` reads the fields a script against the API reads; lists are printed as
//! a bare array of them, and `replication show` as its own view of the document and headers.

use chrono::DateTime;
use depot_domain::RateLimit;
use depot_ostor::client::ReplicationSettings;
use depot_ostor::wire::{
    AccountInfo, BucketInfo, KeyPair, LimitsInfo, QuotaInfo, UsageList, UsageReport, UserInfo,
};
use serde::Serialize;

use crate::table::Table;

/// What a masked secret shows.
pub(crate) const MASK: &str = "****";

/// Whether secrets are printed or masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Secrets {
    Show,
    Mask,
}

/// `value` as indented JSON, with a final newline.
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> String {
    // Serialising these plain data types cannot fail: no maps with non-string keys, no
    // failing `Serialize` impls.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned());
    text.push('\n');
    text
}

/// The user with its secrets masked (for JSON output of a user asked about, not created).
pub(crate) fn masked(user: &UserInfo) -> UserInfo {
    let mask = |keys: &[KeyPair]| -> Vec<KeyPair> {
        keys.iter()
            .map(|key| KeyPair {
                access_key_id: key.access_key_id.clone(),
                secret_access_key: MASK.to_owned(),
            })
            .collect()
    };
    UserInfo {
        keys: user.keys.as_deref().map(mask),
        accounts: user.accounts.as_ref().map(|accounts| {
            accounts
                .iter()
                .map(|account| AccountInfo {
                    name: account.name.clone(),
                    keys: mask(&account.keys),
                })
                .collect()
        }),
        ..user.clone()
    }
}

/// `user list`.
pub(crate) fn users(users: &[UserInfo]) -> String {
    let mut table = Table::with_header(["EMAIL", "ID", "STATE", "FLAGS"]);
    for user in users {
        table.row([
            user.email.clone(),
            user.id.clone(),
            user.state.clone().unwrap_or_default(),
            flags(user),
        ]);
    }
    table.render()
}

fn flags(user: &UserInfo) -> String {
    user.flags.as_deref().unwrap_or_default().join(",")
}

/// `user show`, `user create`, `user gen-key`, `create-user`: the user's fields the answer
/// has, then its key pairs (the user's own, then each account's). For a `gen-key` of an
/// account, `account` names it: the answer's pairs are that account's.
pub(crate) fn user(user: &UserInfo, account: Option<&str>, secrets: Secrets) -> String {
    let mut fields = Table::plain();
    fields.row(["email", user.email.as_str()]);
    fields.row(["id", user.id.as_str()]);
    if let Some(state) = &user.state {
        fields.row(["state", state.as_str()]);
    }
    if let Some(owner) = &user.owner_id {
        fields.row(["owner", owner.as_str()]);
    }
    if user.flags.is_some() {
        fields.row(["flags".to_owned(), flags(user)]);
    }
    if let Some(count) = &user.account_count {
        fields.row(["accounts", count.as_str()]);
    }
    let mut keys = Table::with_header(["ACCOUNT", "ACCESS KEY", "SECRET KEY"]);
    let owner = account.unwrap_or("-");
    for key in user.keys.as_deref().unwrap_or_default() {
        keys.row(key_row(owner, key, secrets));
    }
    for each in user.accounts.as_deref().unwrap_or_default() {
        for key in &each.keys {
            keys.row(key_row(&each.name, key, secrets));
        }
        if each.keys.is_empty() {
            keys.row([each.name.as_str(), "", ""]);
        }
    }
    let mut out = fields.render();
    if !keys.is_empty() {
        out.push('\n');
        out.push_str(&keys.render());
    }
    out
}

fn key_row(owner: &str, key: &KeyPair, secrets: Secrets) -> [String; 3] {
    [
        owner.to_owned(),
        key.access_key_id.clone(),
        match secrets {
            Secrets::Show => key.secret_access_key.clone(),
            Secrets::Mask => MASK.to_owned(),
        },
    ]
}

/// `account create`.
pub(crate) fn account(account: &AccountInfo) -> String {
    let mut keys = Table::with_header(["ACCOUNT", "ACCESS KEY", "SECRET KEY"]);
    for key in &account.keys {
        keys.row(key_row(&account.name, key, Secrets::Show));
    }
    keys.render()
}

/// `bucket list`: sizes in bytes, the integral in byte-hours (see `docs/ostor.md`).
pub(crate) fn buckets(buckets: &[BucketInfo]) -> String {
    let mut table = Table::with_header([
        "NAME",
        "OWNER",
        "CREATED",
        "BYTES",
        "MAX BYTES",
        "BYTE-HOURS",
    ]);
    for bucket in buckets {
        table.row([
            bucket.name.clone(),
            bucket.owner_id.clone(),
            bucket.creation_date.clone(),
            bucket.size.current.to_string(),
            bucket.size.hmax.to_string(),
            bucket.size.h_integral.to_string(),
        ]);
    }
    table.render()
}

/// `limits show`: the API's rates, with their units; 0 is unlimited.
pub(crate) fn limits(limits: &LimitsInfo) -> String {
    let mut table = Table::with_header(["LIMIT", "VALUE"]);
    for (name, value) in [
        ("ops:default", &limits.ops_default),
        ("ops:get", &limits.ops_get),
        ("ops:put", &limits.ops_put),
        ("ops:list", &limits.ops_list),
        ("ops:delete", &limits.ops_delete),
    ] {
        table.row([name.to_owned(), rate(value, "ops/s")]);
    }
    table.row([
        "bandwidth:out".to_owned(),
        rate(&limits.bandwidth_out, "KB/s"),
    ]);
    table.render()
}

fn rate(value: &str, unit: &str) -> String {
    // `"0"`, `"0.00"`: how the API writes "no limit".
    if value
        .trim()
        .parse::<RateLimit>()
        .is_ok_and(RateLimit::is_unlimited)
    {
        "unlimited".to_owned()
    } else {
        format!("{value} {unit}")
    }
}

/// `quota show`.
pub(crate) fn quota(quota: &QuotaInfo) -> String {
    let kind = match quota.kind.as_str() {
        "0" => "user",
        "1" => "bucket",
        other => other,
    };
    let size = if quota.size.trim().parse::<u64>() == Ok(0) {
        "unlimited".to_owned()
    } else {
        format!("{} GB", quota.size)
    };
    let mut table = Table::plain();
    table.row(["type", kind]);
    table.row(["size".to_owned(), size]);
    table.render()
}

/// `replication show` as JSON: the configuration's fields, and the remote region with its
/// secret masked unless asked for.
#[derive(Serialize)]
struct ReplicationView<'a> {
    role: &'a str,
    rules: Vec<RuleView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote: Option<RemoteView<'a>>,
}

#[derive(Serialize)]
struct RuleView<'a> {
    id: Option<&'a str>,
    enabled: bool,
    priority: Option<u32>,
    delete_marker_replication: bool,
    prefix: &'a str,
    destination_bucket: &'a str,
}

#[derive(Serialize)]
struct RemoteView<'a> {
    endpoint: &'a str,
    access_key: &'a str,
    secret: &'a str,
}

fn replication_view(settings: &ReplicationSettings, secrets: Secrets) -> ReplicationView<'_> {
    ReplicationView {
        role: &settings.config.role,
        rules: settings
            .config
            .rules
            .iter()
            .map(|rule| RuleView {
                id: rule.id.as_deref(),
                enabled: rule.enabled,
                priority: rule.priority,
                delete_marker_replication: rule.delete_marker_replication,
                prefix: &rule.prefix,
                destination_bucket: &rule.destination_bucket,
            })
            .collect(),
        remote: settings.remote.as_ref().map(|remote| RemoteView {
            endpoint: &remote.endpoint,
            access_key: &remote.access_key,
            secret: match secrets {
                Secrets::Show => &remote.secret,
                Secrets::Mask => MASK,
            },
        }),
    }
}

/// `replication show --json`.
pub(crate) fn replication_json(settings: &ReplicationSettings, secrets: Secrets) -> String {
    json(&replication_view(settings, secrets))
}

/// `replication show`.
pub(crate) fn replication(settings: &ReplicationSettings, secrets: Secrets) -> String {
    let view = replication_view(settings, secrets);
    let mut fields = Table::plain();
    fields.row(["role", view.role]);
    match &view.remote {
        Some(remote) => {
            fields.row(["remote endpoint", remote.endpoint]);
            fields.row(["remote access key", remote.access_key]);
            fields.row(["remote secret key", remote.secret]);
        }
        None => {
            fields.row(["remote endpoint", "- (this cluster)"]);
        }
    }
    let mut rules = Table::with_header([
        "ID",
        "STATUS",
        "PRIORITY",
        "PREFIX",
        "DESTINATION",
        "DELETES",
    ]);
    for rule in &view.rules {
        rules.row([
            rule.id.unwrap_or("-").to_owned(),
            if rule.enabled { "Enabled" } else { "Disabled" }.to_owned(),
            rule.priority
                .map_or_else(|| "-".to_owned(), |p| p.to_string()),
            if rule.prefix.is_empty() {
                "(every key)".to_owned()
            } else {
                rule.prefix.to_owned()
            },
            rule.destination_bucket.to_owned(),
            if rule.delete_marker_replication {
                "yes"
            } else {
                "no"
            }
            .to_owned(),
        ]);
    }
    let mut out = fields.render();
    out.push('\n');
    out.push_str(&rules.render());
    out
}

/// `usage list`.
pub(crate) fn usage_list(list: &UsageList) -> String {
    let mut table = Table::with_header(["OBJECT"]);
    for item in &list.items {
        table.row([item.as_str()]);
    }
    let mut out = table.render();
    if list.truncated {
        out.push_str("(truncated: more objects exist)\n");
    }
    out
}

/// `usage show`: the period, then one line per counter.
pub(crate) fn usage_report(report: &UsageReport) -> String {
    let start = DateTime::from_timestamp(report.start_ts, 0).map_or_else(
        || report.start_ts.to_string(),
        |time| time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    let mut fields = Table::plain();
    fields.row(["service id".to_owned(), report.service_id.to_string()]);
    fields.row(["start".to_owned(), start]);
    fields.row(["period".to_owned(), format!("{} s", report.period)]);
    let mut items = Table::with_header([
        "BUCKET",
        "EPOCH",
        "USER",
        "TAG",
        "PUT",
        "GET",
        "LIST",
        "OTHER",
        "UPLOADED",
        "DOWNLOADED",
    ]);
    for item in &report.items {
        let (key, counters) = (&item.key, &item.counters);
        items.row([
            if key.bucket.is_empty() {
                "-".to_owned()
            } else {
                key.bucket.clone()
            },
            key.epoch.to_string(),
            key.user_id.clone(),
            key.tag.clone(),
            counters.ops.put.to_string(),
            counters.ops.get.to_string(),
            counters.ops.list.to_string(),
            counters.ops.other.to_string(),
            counters.net_io.uploaded.to_string(),
            counters.net_io.downloaded.to_string(),
        ]);
    }
    let mut out = fields.render();
    out.push('\n');
    out.push_str(&items.render());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use depot_ostor::client::RemoteEndpoint;
    use depot_ostor::replication::{ReplicationConfiguration, ReplicationRule};

    /// The reference's sample of `GET ?ostor-users&id=…`.
    fn sample_user() -> UserInfo {
        serde_json::from_str(
            r#"{
              "UserEmail": "user@email.com", "UserId": "b09693b73b3c7686", "State": "disabled",
              "OwnerId": "0000000000000000", "Flags": ["disabled"],
              "AWSAccessKeys": [{"AWSAccessKeyId": "b09693b73b3c7686FIGH",
                                 "AWSSecretAccessKey": "jO2p4JBN1tWc4FEGxwZ8qW2jPCJBYp8RJ4KgBcZP"}],
              "AccountCount": "1",
              "Accounts": [{"Name": "account1", "AWSAccessKeys": [
                  {"AWSAccessKeyId": "b09693b73b3c768613NV",
                   "AWSSecretAccessKey": "CBUpFmnpUGlXskTivgDQu4qjYksWpceGZeH6Qyct"}]}]
            }"#,
        )
        .expect("sample parses")
    }

    #[test]
    fn user_list_table() {
        let users: Vec<UserInfo> = serde_json::from_str(
            r#"[{"UserEmail":"root@depot.invalid","UserId":"0a1b2c3d4e5f6071","State":"enabled",
                 "OwnerId":"0000000000000000","Flags":["system"]},
                {"UserEmail":"a@example.com","UserId":"b09693b73b3c7686","State":"disabled",
                 "OwnerId":"0000000000000000","Flags":["disabled"]}]"#,
        )
        .expect("parses");
        assert_eq!(
            super::users(&users),
            "EMAIL               ID                STATE     FLAGS\n\
             root@depot.invalid  0a1b2c3d4e5f6071  enabled   system\n\
             a@example.com       b09693b73b3c7686  disabled  disabled\n"
        );
    }

    #[test]
    fn user_details_mask_secrets_unless_asked() {
        let shown = user(&sample_user(), None, Secrets::Mask);
        assert_eq!(
            shown,
            "email     user@email.com\n\
             id        b09693b73b3c7686\n\
             state     disabled\n\
             owner     0000000000000000\n\
             flags     disabled\n\
             accounts  1\n\
             \n\
             ACCOUNT   ACCESS KEY            SECRET KEY\n\
             -         b09693b73b3c7686FIGH  ****\n\
             account1  b09693b73b3c768613NV  ****\n"
        );
        let revealed = user(&sample_user(), None, Secrets::Show);
        assert!(revealed.contains("jO2p4JBN1tWc4FEGxwZ8qW2jPCJBYp8RJ4KgBcZP"));
        assert!(revealed.contains("CBUpFmnpUGlXskTivgDQu4qjYksWpceGZeH6Qyct"));

        let json = json(&masked(&sample_user()));
        assert!(!json.contains("jO2p4JBN"), "{json}");
        assert!(!json.contains("CBUpFmnp"), "{json}");
        assert!(json.contains("\"AWSAccessKeyId\": \"b09693b73b3c768613NV\""));
        assert!(json.contains("\"AWSSecretAccessKey\": \"****\""));
    }

    #[test]
    fn a_new_key_pair_is_shown_whole() {
        // What `PUT ?ostor-users` answers: email, id and the pair, nothing else.
        let created: UserInfo = serde_json::from_str(
            r#"{"UserEmail":"a@example.com","UserId":"b09693b73b3c7686",
                "AWSAccessKeys":[{"AWSAccessKeyId":"AKID","AWSSecretAccessKey":"SECRET"}]}"#,
        )
        .expect("parses");
        assert_eq!(
            user(&created, None, Secrets::Show),
            "email  a@example.com\n\
             id     b09693b73b3c7686\n\
             \n\
             ACCOUNT  ACCESS KEY  SECRET KEY\n\
             -        AKID        SECRET\n"
        );
        assert!(user(&created, Some("app"), Secrets::Show).contains("app      AKID"));
    }

    #[test]
    fn bucket_table() {
        let buckets: Vec<BucketInfo> = serde_json::from_str(
            r#"[{"name":"testbucket","epoch":0,"creation_date":"2018-05-25T17:12:00.000Z",
                 "owner_id":"ba7eba06129464c5","size":{"current":12288,"hmax":12288,
                 "h_integral":7360512,"last_ts":424241}}]"#,
        )
        .expect("parses");
        assert_eq!(
            super::buckets(&buckets),
            "NAME        OWNER             CREATED                   BYTES  MAX BYTES  BYTE-HOURS\n\
             testbucket  ba7eba06129464c5  2018-05-25T17:12:00.000Z  12288  12288      7360512\n"
        );
    }

    #[test]
    fn limits_with_units_and_unlimited() {
        let limits: LimitsInfo = serde_json::from_str(
            r#"{"ops:default":"0.50","ops:get":"1.00","ops:put":"0","ops:list":"0.00",
                "ops:delete":"0.50","bandwidth:out":"50"}"#,
        )
        .expect("parses");
        assert_eq!(
            super::limits(&limits),
            "LIMIT          VALUE\n\
             ops:default    0.50 ops/s\n\
             ops:get        1.00 ops/s\n\
             ops:put        unlimited\n\
             ops:list       unlimited\n\
             ops:delete     0.50 ops/s\n\
             bandwidth:out  50 KB/s\n"
        );
    }

    #[test]
    fn quotas() {
        let user_quota = QuotaInfo {
            version: "1".into(),
            kind: "0".into(),
            size: "10".into(),
        };
        assert_eq!(quota(&user_quota), "type  user\nsize  10 GB\n");
        let unlimited = QuotaInfo {
            version: "1".into(),
            kind: "1".into(),
            size: "0".into(),
        };
        assert_eq!(quota(&unlimited), "type  bucket\nsize  unlimited\n");
    }

    #[test]
    fn usage() {
        let list = UsageList {
            nr_items: 1,
            truncated: true,
            items: vec!["s3-usage-8000000000000003-2016-04-11T13:10:29.000Z-1800".into()],
        };
        assert_eq!(
            usage_list(&list),
            "OBJECT\ns3-usage-8000000000000003-2016-04-11T13:10:29.000Z-1800\n\
             (truncated: more objects exist)\n"
        );
        let report: UsageReport = serde_json::from_str(
            r#"{ "fmt_version": 1, "service_id":8000000000000003,
              "start_ts":1460380373, "period": 30, "nr_items":1,
              "items": [{ "key": { "bucket": "bucket", "epoch":16394,
                                   "user_id": "f82c23f7823589eb", "tag": "" },
                          "counters": { "ops": { "put":15, "get":0, "list":1, "other":0 },
                                        "net_io": { "uploaded":99785, "downloaded":0 } } }] }"#,
        )
        .expect("parses");
        assert_eq!(
            usage_report(&report),
            "service id  8000000000000003\n\
             start       2016-04-11T13:12:53Z\n\
             period      30 s\n\
             \n\
             BUCKET  EPOCH  USER              TAG  PUT  GET  LIST  OTHER  UPLOADED  DOWNLOADED\n\
             bucket  16394  f82c23f7823589eb       15   0    1     0      99785     0\n"
        );
    }

    fn settings() -> ReplicationSettings {
        ReplicationSettings {
            config: ReplicationConfiguration {
                role: "arn:aws:iam::850b4943d62191a5:role/s3-replication-role".into(),
                rules: vec![ReplicationRule {
                    id: Some("r1".into()),
                    enabled: true,
                    priority: Some(1),
                    delete_marker_replication: false,
                    prefix: String::new(),
                    destination_bucket: "target".into(),
                }],
            },
            remote: Some(RemoteEndpoint {
                endpoint: "https://s3.remote.example".into(),
                access_key: "AKIDREMOTE".into(),
                secret: "remote-secret".into(),
            }),
        }
    }

    #[test]
    fn replication_masks_the_remote_secret() {
        assert_eq!(
            replication(&settings(), Secrets::Mask),
            "role               arn:aws:iam::850b4943d62191a5:role/s3-replication-role\n\
             remote endpoint    https://s3.remote.example\n\
             remote access key  AKIDREMOTE\n\
             remote secret key  ****\n\
             \n\
             ID  STATUS   PRIORITY  PREFIX       DESTINATION  DELETES\n\
             r1  Enabled  1         (every key)  target       no\n"
        );
        let json = replication_json(&settings(), Secrets::Mask);
        assert!(!json.contains("remote-secret"), "{json}");
        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(value["rules"][0]["destination_bucket"], "target");
        assert_eq!(value["remote"]["secret"], "****");
        let shown = replication_json(&settings(), Secrets::Show);
        assert!(shown.contains("remote-secret"));
    }
}
