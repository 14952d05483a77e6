//! The ostor admin API as a remote caller meets it: `OstorClient` and `OstorProvider` against
//! the real `depot-api` binary — every call of the reference, and every status it names (200,
//! 204, 400, 403, 404), with the codes Depot adds where the reference is silent (409 for
//! conflicts).
#![cfg(unix)]

use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use chrono::{TimeDelta, Utc};
use depot_domain::{
    AccountName, BucketFilter, BucketName, Email, KeyOwner, LimitKind, LimitScope, Limits,
    LocationCode, Period, ProviderError, Quota, QuotaScope, RateLimit, Resource, StorageProvider,
    UserState,
};
use depot_ostor::client::{
    LimitTarget, OpsLimits, QuotaTarget, RemoteEndpoint, ReplicationSettings, UserRef,
};
use depot_ostor::replication::{ReplicationConfiguration, ReplicationRule};
use depot_ostor::{ClientError, OstorClient, OstorProvider};
use depot_sigv4::{Credentials, SignableBody, SigningParams, sign_request};
use http::Method;
use http::header::HOST;

mod common;

use common::{LogAfterStart, Server};

const ROOT_KEY: &str = "ROOTACCESSKEY0000000";
const ROOT_SECRET: &str = "rootsecretrootsecretrootsecretrootsecret";
/// The email `depot-api` gives the root user it creates from its configured keys.
const ROOT_EMAIL: &str = "root@depot.invalid";
const REGION: &str = "us-east-1";

/// A running `depot-api` with a root (system) user and one-second usage periods.
struct Depot {
    server: Server,
    http: reqwest::Client,
}

impl Depot {
    fn start() -> anyhow::Result<Depot> {
        let server = Server::start_with(
            LogAfterStart::Drain,
            &[
                ("DEPOT_ROOT_ACCESS_KEY", ROOT_KEY),
                ("DEPOT_ROOT_SECRET_KEY", ROOT_SECRET),
                ("DEPOT_S3_REGION", REGION),
                ("DEPOT_USAGE_PERIOD_SECS", "1"),
            ],
        )?;
        Ok(Depot {
            server,
            http: reqwest::Client::new(),
        })
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.server.s3)
    }

    fn client(&self, key: &str, secret: &str) -> OstorClient {
        OstorClient::new(&self.endpoint(), key, secret).expect("client")
    }

    fn root(&self) -> OstorClient {
        self.client(ROOT_KEY, ROOT_SECRET)
    }

    /// One request for `target` (path and query, as sent), signed by `credentials` unless
    /// `None` (anonymous): the status and the S3 error code, if any.
    async fn raw(
        &self,
        method: Method,
        target: &str,
        body: &[u8],
        credentials: Option<&Credentials>,
    ) -> anyhow::Result<(u16, String)> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{}{target}", self.endpoint()))
            .header(HOST, self.server.s3.to_string())
            .body(())?;
        if let Some(credentials) = credentials {
            let signing = SigningParams::s3(credentials, REGION, SystemTime::now());
            sign_request(&mut request, SignableBody::Bytes(body), &signing)?;
        }
        let request = reqwest::Request::try_from(request.map(|()| body.to_vec()))?;
        let response = self.http.execute(request).await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let code = text
            .split_once("<Code>")
            .and_then(|(_, rest)| rest.split_once("</Code>"))
            .map(|(code, _)| code.to_owned())
            .unwrap_or_default();
        Ok((status, code))
    }
}

fn status(error: ClientError) -> (u16, String) {
    (
        error.status().unwrap_or(0),
        error.code().unwrap_or("").to_owned(),
    )
}

fn email(text: &str) -> UserRef {
    UserRef::Email(text.to_owned())
}

fn credentials(pair: &depot_ostor::wire::KeyPair) -> Credentials {
    Credentials::new(&pair.access_key_id, &pair.secret_access_key)
}

/// How long a test waits for a usage period to be written.
const USAGE_WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn users_are_created_listed_keyed_disabled_and_deleted() -> anyhow::Result<()> {
    let depot = Depot::start()?;
    let root = depot.root();

    let created = root.create_user("alice@example.com").await?;
    assert_eq!(created.email, "alice@example.com");
    let keys = created.keys.clone().context("first key pair")?;
    assert_eq!(keys.len(), 1);
    assert!(keys[0].access_key_id.starts_with(&created.id));
    assert_eq!(
        status(root.create_user("alice@example.com").await.unwrap_err()),
        (409, "UserAlreadyExists".into())
    );
    assert_eq!(
        status(root.create_user("not an email").await.unwrap_err()),
        (400, "InvalidArgument".into())
    );

    let listed = root.list_users().await?;
    let alice = listed
        .iter()
        .find(|user| user.email == "alice@example.com")
        .context("alice listed")?;
    assert_eq!(alice.state.as_deref(), Some("enabled"));
    assert_eq!(alice.owner_id.as_deref(), Some("0000000000000000"));
    assert!(alice.keys.is_none(), "listing all users shows no keys");
    let root_entry = listed
        .iter()
        .find(|user| user.email == ROOT_EMAIL)
        .context("root listed")?;
    assert_eq!(root_entry.flags, Some(vec!["system".to_owned()]));

    // By email and by id: the same user, with keys and accounts; an unknown one is 404.
    let by_email = root.get_user(&email("alice@example.com")).await?;
    let by_id = root.get_user(&UserRef::Id(created.id.clone())).await?;
    assert_eq!(by_email, by_id);
    assert_eq!(by_email.account_count.as_deref(), Some("0"));
    assert_eq!(by_email.keys, Some(keys.clone()));
    assert_eq!(
        status(
            root.get_user(&UserRef::Id("0123456789abcdef".into()))
                .await
                .unwrap_err()
        ),
        (404, "NoSuchUser".into())
    );

    // A second pair, then no third.
    let second = root.generate_key(&email("alice@example.com"), None).await?;
    assert_eq!(second.keys.as_ref().map(Vec::len), Some(2));
    assert_eq!(
        status(
            root.generate_key(&email("alice@example.com"), None)
                .await
                .unwrap_err()
        ),
        (409, "KeyLimitReached".into())
    );
    assert_eq!(
        status(
            root.generate_key(&email("nobody@example.com"), None)
                .await
                .unwrap_err()
        ),
        (404, "NoSuchUser".into())
    );

    // A user's key works on S3 but not on the admin API, which is for system users.
    let alice_key = &keys[0];
    let alice_s3 = depot.client(&alice_key.access_key_id, &alice_key.secret_access_key);
    let alice_credentials = credentials(alice_key);
    alice_s3
        .create_bucket_as("alice-photos", &alice_credentials)
        .await?;
    assert_eq!(
        status(alice_s3.list_users().await.unwrap_err()),
        (403, "AccessDenied".into())
    );

    // Disabled: her keys get 403 on S3; enabled again, they work.
    root.set_user_enabled(&email("alice@example.com"), false)
        .await?;
    let disabled = root.get_user(&email("alice@example.com")).await?;
    assert_eq!(disabled.state.as_deref(), Some("disabled"));
    assert_eq!(disabled.flags, Some(vec!["disabled".to_owned()]));
    assert_eq!(
        status(
            alice_s3
                .create_bucket_as("alice-other", &alice_credentials)
                .await
                .unwrap_err()
        )
        .0,
        403
    );
    root.set_user_enabled(&email("alice@example.com"), true)
        .await?;
    alice_s3
        .create_bucket_as("alice-other", &alice_credentials)
        .await?;

    // Revoked, a key stops at once; revoking it again is 404.
    root.revoke_key(&email("alice@example.com"), None, &alice_key.access_key_id)
        .await?;
    assert_eq!(
        status(
            alice_s3
                .create_bucket_as("alice-third", &alice_credentials)
                .await
                .unwrap_err()
        ),
        (403, "InvalidAccessKeyId".into())
    );
    assert_eq!(
        status(
            root.revoke_key(&email("alice@example.com"), None, &alice_key.access_key_id)
                .await
                .unwrap_err()
        ),
        (404, "NoSuchAccessKey".into())
    );

    // A user with buckets cannot be deleted; without, it goes, and is then 404.
    assert_eq!(
        status(
            root.delete_user(&email("alice@example.com"))
                .await
                .unwrap_err()
        ),
        (409, "UserHasBuckets".into())
    );
    let remaining = &second.keys.context("pairs")?[1];
    for bucket in ["alice-photos", "alice-other"] {
        root.delete_bucket_as(bucket, &credentials(remaining))
            .await?;
    }
    root.delete_user(&email("alice@example.com")).await?;
    assert_eq!(
        status(
            root.get_user(&email("alice@example.com"))
                .await
                .unwrap_err()
        ),
        (404, "NoSuchUser".into())
    );
    assert_eq!(
        status(
            root.delete_user(&email("alice@example.com"))
                .await
                .unwrap_err()
        ),
        (404, "NoSuchUser".into())
    );
    Ok(())
}

#[tokio::test]
async fn accounts_hold_their_own_keys_and_only_their_buckets() -> anyhow::Result<()> {
    let depot = Depot::start()?;
    let root = depot.root();
    let bob = root.create_user("bob@example.com").await?;
    let bob_credentials = credentials(&bob.keys.context("keys")?[0]);

    let account = root
        .create_account(&email("bob@example.com"), "backup")
        .await?;
    assert_eq!(account.name, "backup");
    assert_eq!(
        status(
            root.create_account(&email("bob@example.com"), "backup")
                .await
                .unwrap_err()
        ),
        (409, "AccountAlreadyExists".into())
    );
    assert_eq!(
        status(
            root.create_account(&email("nobody@example.com"), "backup")
                .await
                .unwrap_err()
        ),
        (404, "NoSuchUser".into())
    );
    let account_credentials = credentials(&account.keys[0]);

    // The account's bucket, and the user's own: the account's key cannot touch the user's
    // bucket; the user's key touches both.
    root.create_bucket_as("bob-backup", &account_credentials)
        .await?;
    root.create_bucket_as("bob-own", &bob_credentials).await?;
    assert_eq!(
        status(
            root.delete_bucket_as("bob-own", &account_credentials)
                .await
                .unwrap_err()
        ),
        (403, "AccessDenied".into())
    );

    // An account of a system user is not a system user: the admin API refuses its key.
    let root_account = root.create_account(&email(ROOT_EMAIL), "tools").await?;
    let tools = depot.client(
        &root_account.keys[0].access_key_id,
        &root_account.keys[0].secret_access_key,
    );
    assert_eq!(
        status(tools.list_users().await.unwrap_err()),
        (403, "AccessDenied".into())
    );

    let detail = root.get_user(&email("bob@example.com")).await?;
    assert_eq!(detail.account_count.as_deref(), Some("1"));
    let accounts = detail.accounts.context("accounts")?;
    assert_eq!(accounts[0].name, "backup");
    assert_eq!(accounts[0].keys.len(), 1);

    // Account keys: a second, no third; an unknown account is 404.
    let with_two = root
        .generate_key(&email("bob@example.com"), Some("backup"))
        .await?;
    assert_eq!(with_two.keys.as_ref().map(Vec::len), Some(2));
    assert_eq!(
        status(
            root.generate_key(&email("bob@example.com"), Some("backup"))
                .await
                .unwrap_err()
        ),
        (409, "KeyLimitReached".into())
    );
    assert_eq!(
        status(
            root.generate_key(&email("bob@example.com"), Some("nope"))
                .await
                .unwrap_err()
        ),
        (404, "NoSuchAccount".into())
    );
    root.revoke_key(
        &email("bob@example.com"),
        Some("backup"),
        &account.keys[0].access_key_id,
    )
    .await?;
    assert_eq!(
        status(
            root.create_bucket_as("bob-revoked", &account_credentials)
                .await
                .unwrap_err()
        ),
        (403, "InvalidAccessKeyId".into())
    );

    assert_eq!(
        status(
            root.delete_account(&email("bob@example.com"), "backup")
                .await
                .unwrap_err()
        ),
        (409, "AccountHasBuckets".into())
    );
    root.delete_bucket_as("bob-backup", &bob_credentials)
        .await?;
    root.delete_account(&email("bob@example.com"), "backup")
        .await?;
    assert_eq!(
        status(
            root.delete_account(&email("bob@example.com"), "backup")
                .await
                .unwrap_err()
        ),
        (404, "NoSuchAccount".into())
    );
    // The deleted account's second key went with it.
    let second = &with_two.keys.context("pairs")?[1];
    assert_eq!(
        status(
            root.create_bucket_as("bob-again", &credentials(second))
                .await
                .unwrap_err()
        ),
        (403, "InvalidAccessKeyId".into())
    );
    Ok(())
}

#[tokio::test]
async fn buckets_report_owner_epoch_and_size() -> anyhow::Result<()> {
    let depot = Depot::start()?;
    let root = depot.root();
    let carol = root.create_user("carol@example.com").await?;
    let carol_credentials = credentials(&carol.keys.clone().context("keys")?[0]);
    root.create_bucket_as("carol-data", &carol_credentials)
        .await?;
    let put = depot
        .raw(
            Method::PUT,
            "/carol-data/k",
            &[1u8; 12_288],
            Some(&carol_credentials),
        )
        .await?;
    assert_eq!(put, (200, String::new()));

    let all = root.list_buckets(None).await?;
    let listed = all
        .iter()
        .find(|b| b.name == "carol-data")
        .context("listed")?;
    assert_eq!(listed.owner_id, carol.id);
    assert_eq!(listed.size.current, 12_288);
    assert_eq!(listed.size.hmax, 12_288);
    assert!(listed.epoch > 0);
    assert!(listed.creation_date.ends_with('Z'));
    let hours_now = (Utc::now().timestamp() / 3600) as u64;
    assert!(listed.size.last_ts.abs_diff(hours_now) <= 1);

    let carols = root
        .list_buckets(Some(&UserRef::Id(carol.id.clone())))
        .await?;
    assert_eq!(carols.len(), 1);
    assert_eq!(
        status(
            root.list_buckets(Some(&email("nobody@example.com")))
                .await
                .unwrap_err()
        ),
        (404, "NoSuchUser".into())
    );
    Ok(())
}

#[tokio::test]
async fn limits_are_set_read_and_reset() -> anyhow::Result<()> {
    let depot = Depot::start()?;
    let root = depot.root();
    let dave_info = root.create_user("dave@example.com").await?;
    let dave = LimitTarget::User(email("dave@example.com"));

    assert_eq!(
        status(root.get_limits(&dave).await.unwrap_err()),
        (404, "NoSuchLimits".into())
    );
    root.set_ops_limits(
        &dave,
        &OpsLimits {
            default: Some(60),
            put: Some(3600),
            list: Some(30),
            ..OpsLimits::default()
        },
    )
    .await?;
    root.set_bandwidth_limit(&dave, 50).await?;
    let limits = root.get_limits(&dave).await?;
    assert_eq!(limits.ops_default, "1.00");
    assert_eq!(limits.ops_get, "1.00");
    assert_eq!(limits.ops_delete, "1.00");
    assert_eq!(limits.ops_put, "60.00");
    assert_eq!(limits.ops_list, "0.50");
    assert_eq!(limits.bandwidth_out, "50.00");

    // The same user by id.
    let by_id = root
        .get_limits(&LimitTarget::User(UserRef::Id(dave_info.id.clone())))
        .await?;
    assert_eq!(by_id, limits);

    root.delete_limits(&dave, LimitKind::Ops).await?;
    let limits = root.get_limits(&dave).await?;
    assert_eq!(limits.ops_put, "0");
    assert_eq!(limits.bandwidth_out, "50.00", "bandwidth kept");
    root.delete_limits(&dave, LimitKind::Bandwidth).await?;
    assert_eq!(root.get_limits(&dave).await?.bandwidth_out, "0");

    // A bucket's limits.
    let dave_credentials = credentials(&dave_info.keys.context("keys")?[0]);
    root.create_bucket_as("dave-media", &dave_credentials)
        .await?;
    let media = LimitTarget::Bucket("dave-media".into());
    root.set_bandwidth_limit(&media, 100).await?;
    assert_eq!(root.get_limits(&media).await?.bandwidth_out, "100.00");

    assert_eq!(
        status(
            root.get_limits(&LimitTarget::Bucket("no-such-bucket".into()))
                .await
                .unwrap_err()
        ),
        (404, "NoSuchBucket".into())
    );
    assert_eq!(
        status(
            root.set_bandwidth_limit(&LimitTarget::User(email("nobody@example.com")), 5)
                .await
                .unwrap_err()
        ),
        (404, "NoSuchUser".into())
    );
    Ok(())
}

#[tokio::test]
async fn quotas_have_defaults_and_overrides() -> anyhow::Result<()> {
    let depot = Depot::start()?;
    let root = depot.root();
    let erin_info = root.create_user("erin@example.com").await?;
    let erin = QuotaTarget::User(email("erin@example.com"));

    let unset = root.get_quota(&erin).await?;
    assert_eq!((unset.kind.as_str(), unset.size.as_str()), ("0", "0"));
    root.set_quota(&QuotaTarget::DefaultUser, 1024).await?;
    assert_eq!(root.get_quota(&erin).await?.size, "1024");
    root.set_quota(&erin, 5).await?;
    assert_eq!(root.get_quota(&erin).await?.size, "5");
    root.delete_quota(&erin).await?;
    assert_eq!(root.get_quota(&erin).await?.size, "1024");
    root.delete_quota(&QuotaTarget::DefaultUser).await?;
    assert_eq!(root.get_quota(&erin).await?.size, "0");

    // A bucket's quota, over the default for buckets.
    let erin_credentials = credentials(&erin_info.keys.context("keys")?[0]);
    root.create_bucket_as("erin-logs", &erin_credentials)
        .await?;
    let logs = QuotaTarget::Bucket("erin-logs".into());
    root.set_quota(&QuotaTarget::DefaultBucket, 10).await?;
    let bucket_default = root.get_quota(&QuotaTarget::DefaultBucket).await?;
    assert_eq!(
        (bucket_default.kind.as_str(), bucket_default.size.as_str()),
        ("1", "10")
    );
    assert_eq!(root.get_quota(&logs).await?.size, "10");
    root.set_quota(&logs, 2).await?;
    assert_eq!(root.get_quota(&logs).await?.size, "2");
    root.delete_quota(&logs).await?;
    assert_eq!(root.get_quota(&logs).await?.size, "10");

    assert_eq!(
        status(
            root.get_quota(&QuotaTarget::Bucket("no-such-bucket".into()))
                .await
                .unwrap_err()
        ),
        (404, "NoSuchBucket".into())
    );
    assert_eq!(
        status(
            root.set_quota(&QuotaTarget::User(email("nobody@example.com")), 1)
                .await
                .unwrap_err()
        ),
        (404, "NoSuchUser".into())
    );
    Ok(())
}

#[tokio::test]
async fn replication_settings_are_set_read_and_removed() -> anyhow::Result<()> {
    let depot = Depot::start()?;
    let root = depot.root();
    let frank = root.create_user("frank@example.com").await?;
    let frank_credentials = credentials(&frank.keys.context("keys")?[0]);
    root.create_bucket_as("frank-docs", &frank_credentials)
        .await?;
    let settings = ReplicationSettings {
        config: ReplicationConfiguration {
            role: "arn:aws:iam::0123456789abcdef:role/s3-replication-role".to_owned(),
            rules: vec![ReplicationRule {
                id: Some("docs".to_owned()),
                enabled: true,
                priority: Some(1),
                delete_marker_replication: true,
                prefix: "docs/".to_owned(),
                destination_bucket: "frank-copy".to_owned(),
            }],
        },
        remote: Some(RemoteEndpoint {
            // Never reached: nothing is written under docs/.
            endpoint: "http://127.0.0.1:9".to_owned(),
            access_key: "REMOTEKEY".to_owned(),
            secret: "remote-secret".to_owned(),
        }),
    };

    assert_eq!(
        status(root.get_replication("frank-docs").await.unwrap_err()),
        (404, "ReplicationConfigurationNotFoundError".into())
    );
    root.put_replication("frank-docs", &settings).await?;
    assert_eq!(root.get_replication("frank-docs").await?, settings);
    let frank_client = depot.client(
        frank_credentials.access_key_id(),
        frank_credentials.secret_access_key(),
    );
    assert_eq!(
        status(
            frank_client
                .get_replication("frank-docs")
                .await
                .unwrap_err()
        ),
        (403, "AccessDenied".into())
    );
    let mut no_remote = settings.clone();
    no_remote.remote = None;
    assert_eq!(
        status(
            root.put_replication("frank-docs", &no_remote)
                .await
                .unwrap_err()
        ),
        (400, "InvalidRequest".into())
    );
    assert_eq!(
        status(
            root.put_replication("no-such-bucket", &settings)
                .await
                .unwrap_err()
        ),
        (404, "NoSuchBucket".into())
    );
    root.delete_replication("frank-docs").await?;
    assert_eq!(
        status(root.get_replication("frank-docs").await.unwrap_err()),
        (404, "ReplicationConfigurationNotFoundError".into())
    );
    Ok(())
}

#[tokio::test]
async fn usage_objects_are_listed_read_and_deleted() -> anyhow::Result<()> {
    let depot = Depot::start()?;
    let root = depot.root();
    let grace = root.create_user("grace@example.com").await?;
    let grace_credentials = credentials(&grace.keys.context("keys")?[0]);
    root.create_bucket_as("grace-data", &grace_credentials)
        .await?;
    let put = depot
        .raw(
            Method::PUT,
            "/grace-data/note",
            b"twelve bytes",
            Some(&grace_credentials),
        )
        .await?;
    assert_eq!(put.0, 200);

    // Within a few one-second periods, objects hold her two requests — the object's PUT and
    // the bucket's creation, which counts as "other" — and the object's twelve bytes.
    let deadline = Instant::now() + USAGE_WAIT;
    loop {
        let (mut puts, mut others, mut uploaded) = (0, 0, 0);
        for name in root.list_usage().await?.items {
            let Ok(report) = root.get_usage(&name).await else {
                continue;
            };
            for item in report
                .items
                .iter()
                .filter(|item| item.key.user_id == grace.id)
            {
                puts += item.counters.ops.put;
                others += item.counters.ops.other;
                uploaded += item.counters.net_io.uploaded;
            }
        }
        if (puts, others, uploaded) == (1, 1, 12) {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "usage objects count {puts} writes, {others} others, {uploaded} bytes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let list = root.list_usage().await?;
    assert_eq!(list.nr_items as usize, list.items.len());
    assert!(!list.truncated);
    let first = list.items[0].clone();
    let report = root.get_usage(&first).await?;
    assert_eq!(report.fmt_version, 1);
    assert_eq!(report.period, 1);
    assert!(first.ends_with("-1"), "{first}");
    root.delete_usage(&first).await?;
    assert_eq!(
        status(root.get_usage(&first).await.unwrap_err()),
        (404, "NoSuchUsageObject".into())
    );
    assert_eq!(
        status(root.delete_usage(&first).await.unwrap_err()),
        (404, "NoSuchUsageObject".into())
    );
    assert!(!root.list_usage().await?.items.contains(&first));
    Ok(())
}

/// The statuses as the reference writes them, seen on the wire: 200 and 204 for success,
/// 400 for parameters missing, malformed or more than one of a set that allows one, 403 for
/// anyone but a system user, 404 for what does not exist, 405 for a method a resource lacks.
#[tokio::test]
async fn statuses_the_reference_names() -> anyhow::Result<()> {
    let depot = Depot::start()?;
    let root = Credentials::new(ROOT_KEY, ROOT_SECRET);
    let henry = depot.root().create_user("henry@example.com").await?;
    let henry_credentials = credentials(&henry.keys.context("keys")?[0]);
    let henry_email = "emailAddress=henry%40example.com";
    let henry_id = format!("id={}", henry.id);

    let cases: Vec<(Method, String, u16, &str)> = vec![
        (Method::GET, "/?ostor-users".into(), 200, ""),
        (Method::GET, format!("/?ostor-users&{henry_email}"), 200, ""),
        // More than one of a set that allows one.
        (
            Method::GET,
            format!("/?ostor-users&{henry_email}&{henry_id}"),
            400,
            "InvalidArgument",
        ),
        (
            Method::DELETE,
            format!("/?ostor-users&{henry_email}&{henry_id}"),
            400,
            "InvalidArgument",
        ),
        (
            Method::POST,
            format!("/?ostor-users&{henry_email}&genKey&revokeKey=x"),
            400,
            "InvalidArgument",
        ),
        (
            Method::GET,
            format!("/?ostor-buckets&{henry_email}&{henry_id}"),
            400,
            "InvalidArgument",
        ),
        (
            Method::PUT,
            format!("/?ostor-limits&{henry_email}&ops&bandwidth&out=5"),
            400,
            "InvalidArgument",
        ),
        (
            Method::GET,
            "/?ostor-quotas&bucket=b&default=user".into(),
            400,
            "InvalidArgument",
        ),
        // A required parameter missing.
        (
            Method::PUT,
            "/?ostor-quotas&default=bucket".into(),
            400,
            "InvalidArgument",
        ),
        (
            Method::POST,
            format!("/?ostor-accounts&{henry_email}"),
            400,
            "InvalidArgument",
        ),
        (
            Method::GET,
            "/?ostor-limits&bucket=Not_A_Bucket".into(),
            400,
            "InvalidBucketName",
        ),
        // A method the resource does not have.
        (
            Method::PUT,
            "/?ostor-buckets".into(),
            405,
            "MethodNotAllowed",
        ),
        // What does not exist.
        (
            Method::GET,
            "/?ostor-users&emailAddress=nobody%40example.com".into(),
            404,
            "NoSuchUser",
        ),
        (
            Method::GET,
            "/?ostor-usage&obj=s3-usage-0000000000000001-2020-01-01T00:00:00.000Z-1".into(),
            404,
            "NoSuchUsageObject",
        ),
        // Deleting answers 204.
        (
            Method::DELETE,
            format!("/?ostor-users&{henry_email}"),
            204,
            "",
        ),
    ];
    for (method, target, expected, code) in cases {
        let answer = depot.raw(method.clone(), &target, b"", Some(&root)).await?;
        assert_eq!(answer, (expected, code.to_owned()), "{method} {target}");
    }

    // Only system users: anonymous and ordinary users are refused before anything is read.
    for credentials in [None, Some(&henry_credentials)] {
        for (method, target) in [
            (Method::GET, "/?ostor-users"),
            (Method::PUT, "/?ostor-users&emailAddress=x%40example.com"),
            (Method::GET, "/?ostor-buckets"),
            (Method::GET, "/?ostor-limits&bucket=b"),
            (Method::GET, "/?ostor-quotas&default=user"),
            (Method::GET, "/?ostor-usage"),
        ] {
            let answer = depot.raw(method.clone(), target, b"", credentials).await?;
            assert_eq!(answer.0, 403, "{method} {target} as {credentials:?}");
        }
    }
    Ok(())
}

/// `OstorProvider` drives a running Depot through the domain's `StorageProvider`, as the
/// control plane drives any ostor cluster: every call, and the errors its rules name.
#[tokio::test]
async fn the_provider_drives_depot_as_any_ostor_cluster() -> anyhow::Result<()> {
    let depot = Depot::start()?;
    let provider = OstorProvider::new(depot.root(), "NL".parse::<LocationCode>()?);
    let ivy_email: Email = "ivy@example.com".parse()?;

    // Users.
    let ivy = provider.create_user(&ivy_email).await?;
    assert_eq!(ivy.user.email, ivy_email);
    assert_eq!(ivy.keys.len(), 1);
    let ivy_id = ivy.user.id;
    assert_eq!(
        provider.create_user(&ivy_email).await.unwrap_err(),
        ProviderError::AlreadyExists(Resource::UserEmail(ivy_email.clone()))
    );
    assert_eq!(provider.get_user(&ivy_id).await?.user, ivy.user);
    assert_eq!(provider.get_user_by_email(&ivy_email).await?.user, ivy.user);
    let stranger: Email = "nobody@example.com".parse()?;
    assert!(matches!(
        provider.get_user_by_email(&stranger).await,
        Err(ProviderError::NotFound(_))
    ));
    let users = provider.list_users().await?;
    assert!(users.iter().any(|user| user.id == ivy_id));
    assert!(
        users
            .iter()
            .any(|user| user.flags.system && user.email.as_str() == ROOT_EMAIL)
    );
    provider
        .set_user_state(&ivy_id, UserState::Disabled)
        .await?;
    assert_eq!(
        provider.get_user(&ivy_id).await?.user.state,
        UserState::Disabled
    );
    provider.set_user_state(&ivy_id, UserState::Enabled).await?;

    // Keys.
    let owner = KeyOwner::User(ivy_id);
    let second = provider.generate_key(&owner).await?;
    assert_eq!(
        provider.generate_key(&owner).await.unwrap_err(),
        ProviderError::KeyLimitReached(owner.clone())
    );
    provider.revoke_key(&owner, &second.access_key_id).await?;
    assert!(matches!(
        provider.revoke_key(&owner, &second.access_key_id).await,
        Err(ProviderError::NotFound(Resource::AccessKey(_)))
    ));
    assert_eq!(provider.get_user(&ivy_id).await?.keys.len(), 1);

    // Accounts.
    let archive: AccountName = "archive".parse()?;
    let account = provider.create_account(&ivy_id, &archive).await?;
    assert_eq!(account.keys.len(), 1);
    let accounts = provider.list_accounts(&ivy_id).await?;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].name, archive);
    let account_owner = KeyOwner::Account {
        owner: ivy_id,
        name: archive.clone(),
    };
    provider.generate_key(&account_owner).await?;
    assert_eq!(
        provider.generate_key(&account_owner).await.unwrap_err(),
        ProviderError::KeyLimitReached(account_owner.clone())
    );
    provider.delete_account(&ivy_id, &archive).await?;
    assert!(matches!(
        provider.delete_account(&ivy_id, &archive).await,
        Err(ProviderError::NotFound(Resource::Account { .. }))
    ));

    // Buckets, signed with the owner's key the admin API hands out.
    let media: BucketName = "ivy-media".parse()?;
    let bucket = provider.create_bucket(&ivy_id, &media).await?;
    assert_eq!(bucket.name, media);
    assert_eq!(bucket.owner, ivy_id);
    assert!(matches!(
        provider.create_bucket(&ivy_id, &media).await,
        Err(ProviderError::AlreadyExists(Resource::Bucket(_)))
    ));
    let owned = provider
        .list_buckets(&BucketFilter::OwnedBy(ivy_id))
        .await?;
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0].bucket.name, media);
    assert_eq!(owned[0].size.current_bytes(), 0);
    assert!(
        provider
            .list_buckets(&BucketFilter::All)
            .await?
            .iter()
            .any(|stats| stats.bucket.name == media)
    );
    assert!(matches!(
        provider.delete_user(&ivy_id).await,
        Err(ProviderError::NotEmpty(_))
    ));

    // Quotas.
    let user_quota = Quota {
        scope: QuotaScope::User(ivy_id),
        size_gb: 3,
    };
    provider.set_quota(&user_quota).await?;
    assert_eq!(provider.get_quota(&user_quota.scope).await?, user_quota);
    provider.delete_quota(&user_quota.scope).await?;
    assert!(provider.get_quota(&user_quota.scope).await?.is_unlimited());
    let bucket_default = Quota {
        scope: QuotaScope::DefaultBucket,
        size_gb: 7,
    };
    provider.set_quota(&bucket_default).await?;
    assert_eq!(
        provider
            .get_quota(&QuotaScope::Bucket(media.clone()))
            .await?
            .size_gb,
        7
    );

    // Limits.
    let scope = LimitScope::Bucket(media.clone());
    assert_eq!(provider.get_limits(&scope).await?, Limits::UNLIMITED);
    let limits = Limits {
        ops_put: RateLimit::new("2".parse()?)?,
        bandwidth_out_kb: RateLimit::new("64".parse()?)?,
        ..Limits::UNLIMITED
    };
    provider.set_limits(&scope, &limits).await?;
    assert_eq!(provider.get_limits(&scope).await?, limits);
    provider.delete_limits(&scope, LimitKind::Ops).await?;
    assert_eq!(
        provider.get_limits(&scope).await?,
        Limits {
            bandwidth_out_kb: limits.bandwidth_out_kb,
            ..Limits::UNLIMITED
        }
    );
    let nowhere = LimitScope::Bucket("no-such-bucket".parse()?);
    assert!(matches!(
        provider.get_limits(&nowhere).await,
        Err(ProviderError::NotFound(_))
    ));

    // Usage: the bucket's creation, counted under ivy in a one-second period.
    let since = Utc::now() - TimeDelta::minutes(1);
    let deadline = Instant::now() + USAGE_WAIT;
    let records = loop {
        let period = Period::new(since, Utc::now() + TimeDelta::minutes(1))?;
        let records = provider.usage(&period).await?;
        if records.iter().any(|record| record.key.user == ivy_id) {
            break records;
        }
        anyhow::ensure!(Instant::now() < deadline, "no usage record of ivy's");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        records
            .iter()
            .all(|record| record.period.end() - record.period.start() == TimeDelta::seconds(1))
    );

    // Deleting: the bucket, then the user; both are gone.
    provider.delete_bucket(&media).await?;
    assert!(matches!(
        provider.delete_bucket(&media).await,
        Err(ProviderError::NotFound(Resource::Bucket(_)))
    ));
    provider.delete_user(&ivy_id).await?;
    assert!(matches!(
        provider.get_user(&ivy_id).await,
        Err(ProviderError::NotFound(Resource::User(_)))
    ));
    Ok(())
}
