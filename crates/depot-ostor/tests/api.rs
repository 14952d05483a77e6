//! The ostor admin API end to end in one process: `OstorClient` against an S3 listener with
//! `OstorServer` mounted, over SQLite in a temporary directory — every call, and every error
//! status the reference names.

use depot_domain::LimitKind;
use depot_ostor::client::{LimitTarget, OpsLimits, QuotaTarget, UserRef};
use depot_ostor::{ClientError, OstorServer};
use depot_sigv4::Credentials;

mod common;

use common::*;

fn status(error: ClientError) -> (u16, String) {
    (
        error.status().unwrap_or(0),
        error.code().unwrap_or("").to_owned(),
    )
}

fn email(text: &str) -> UserRef {
    UserRef::Email(text.to_owned())
}

#[tokio::test]
async fn users_are_created_listed_keyed_disabled_and_deleted() {
    let server = Server::start().await;
    let root = server.root();

    let created = root.create_user("alice@example.com").await.expect("create");
    assert_eq!(created.email, "alice@example.com");
    let keys = created.keys.clone().expect("first key pair");
    assert_eq!(keys.len(), 1);
    assert!(keys[0].access_key_id.starts_with(&created.id));
    assert_eq!(
        status(root.create_user("alice@example.com").await.unwrap_err()),
        (409, "UserAlreadyExists".into())
    );

    let listed = root.list_users().await.expect("list");
    let alice = listed
        .iter()
        .find(|user| user.email == "alice@example.com")
        .expect("alice listed");
    assert_eq!(alice.state.as_deref(), Some("enabled"));
    assert_eq!(alice.owner_id.as_deref(), Some("0000000000000000"));
    assert!(alice.keys.is_none(), "listing all users shows no keys");
    let root_entry = listed
        .iter()
        .find(|user| user.email == "root@depot.test")
        .expect("root listed");
    assert_eq!(root_entry.flags, Some(vec!["system".to_owned()]));

    // By email and by id: the same user, with keys and accounts.
    let by_email = root
        .get_user(&email("alice@example.com"))
        .await
        .expect("by email");
    let by_id = root
        .get_user(&UserRef::Id(created.id.clone()))
        .await
        .expect("by id");
    assert_eq!(by_email, by_id);
    assert_eq!(by_email.account_count.as_deref(), Some("0"));
    assert_eq!(by_email.keys, Some(keys.clone()));

    // A second pair, then no third.
    let second = root
        .generate_key(&email("alice@example.com"), None)
        .await
        .expect("second pair");
    assert_eq!(second.keys.as_ref().map(Vec::len), Some(2));
    assert_eq!(
        status(
            root.generate_key(&email("alice@example.com"), None)
                .await
                .unwrap_err()
        ),
        (409, "KeyLimitReached".into())
    );

    // A user's key works on S3; revoked, it stops at once.
    let alice_key = &keys[0];
    let alice_s3 = server.client(&alice_key.access_key_id, &alice_key.secret_access_key);
    let alice_credentials =
        Credentials::new(&alice_key.access_key_id, &alice_key.secret_access_key);
    alice_s3
        .create_bucket_as("alice-photos", &alice_credentials)
        .await
        .expect("alice creates a bucket with her key");
    // Not a system user: the admin API refuses her.
    assert_eq!(status(alice_s3.list_users().await.unwrap_err()).0, 403);

    // Disabled: her keys get 403 on S3; enabled again, they work.
    root.set_user_enabled(&email("alice@example.com"), false)
        .await
        .expect("disable");
    let disabled = root
        .get_user(&email("alice@example.com"))
        .await
        .expect("get");
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
        .await
        .expect("enable");

    root.revoke_key(&email("alice@example.com"), None, &alice_key.access_key_id)
        .await
        .expect("revoke");
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

    // A user with a bucket cannot be deleted; without, 204 and gone.
    assert_eq!(
        status(
            root.delete_user(&email("alice@example.com"))
                .await
                .unwrap_err()
        ),
        (409, "UserHasBuckets".into())
    );
    let name = "alice-photos".parse().expect("bucket name");
    server.engine.delete_bucket(&name).await.expect("emptied");
    root.delete_user(&email("alice@example.com"))
        .await
        .expect("deleted");
    assert_eq!(
        status(
            root.get_user(&email("alice@example.com"))
                .await
                .unwrap_err()
        ),
        (404, "NoSuchUser".into())
    );
}

#[tokio::test]
async fn accounts_hold_their_own_keys_and_only_their_buckets() {
    let server = Server::start().await;
    let root = server.root();
    let bob = root.create_user("bob@example.com").await.expect("bob");
    let bob_pair = &bob.keys.expect("keys")[0];
    let bob_credentials = Credentials::new(&bob_pair.access_key_id, &bob_pair.secret_access_key);

    let account = root
        .create_account(&email("bob@example.com"), "backup")
        .await
        .expect("account");
    assert_eq!(account.name, "backup");
    assert_eq!(
        status(
            root.create_account(&email("bob@example.com"), "backup")
                .await
                .unwrap_err()
        ),
        (409, "AccountAlreadyExists".into())
    );
    let account_pair = &account.keys[0];
    let account_credentials =
        Credentials::new(&account_pair.access_key_id, &account_pair.secret_access_key);

    // The account's bucket, and the user's own.
    root.create_bucket_as("bob-backup", &account_credentials)
        .await
        .expect("account bucket");
    root.create_bucket_as("bob-own", &bob_credentials)
        .await
        .expect("user bucket");
    // The account's key cannot touch the user's bucket; the user's key touches both.
    assert_eq!(
        status(
            root.delete_bucket_as("bob-own", &account_credentials)
                .await
                .unwrap_err()
        ),
        (403, "AccessDenied".into())
    );

    // An account of a system user is not a system user: the admin API refuses its key.
    let root_account = root
        .create_account(&email("root@depot.test"), "tools")
        .await
        .expect("root's account");
    let tools = server.client(
        &root_account.keys[0].access_key_id,
        &root_account.keys[0].secret_access_key,
    );
    assert_eq!(
        status(tools.list_users().await.unwrap_err()),
        (403, "AccessDenied".into())
    );

    let detail = root.get_user(&email("bob@example.com")).await.expect("bob");
    assert_eq!(detail.account_count.as_deref(), Some("1"));
    let accounts = detail.accounts.expect("accounts");
    assert_eq!(accounts[0].name, "backup");
    assert_eq!(accounts[0].keys.len(), 1);

    // Account keys: a second, no third; revoking one of them.
    let with_two = root
        .generate_key(&email("bob@example.com"), Some("backup"))
        .await
        .expect("second account key");
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

    assert_eq!(
        status(
            root.delete_account(&email("bob@example.com"), "backup")
                .await
                .unwrap_err()
        ),
        (409, "AccountHasBuckets".into())
    );
    root.delete_bucket_as("bob-backup", &bob_credentials)
        .await
        .expect("the user's key deletes the account's bucket");
    root.delete_account(&email("bob@example.com"), "backup")
        .await
        .expect("deleted");
    assert_eq!(
        status(
            root.delete_account(&email("bob@example.com"), "backup")
                .await
                .unwrap_err()
        ),
        (404, "NoSuchAccount".into())
    );
    // The deleted account's key is gone with it.
    assert_eq!(
        status(
            root.create_bucket_as("bob-again", &account_credentials)
                .await
                .unwrap_err()
        ),
        (403, "InvalidAccessKeyId".into())
    );
}

#[tokio::test]
async fn buckets_report_owner_epoch_and_size() {
    let server = Server::start().await;
    let root = server.root();
    let carol = root.create_user("carol@example.com").await.expect("carol");
    let pair = &carol.keys.clone().expect("keys")[0];
    let credentials = Credentials::new(&pair.access_key_id, &pair.secret_access_key);
    root.create_bucket_as("carol-data", &credentials)
        .await
        .expect("bucket");
    let bucket = "carol-data".parse().expect("name");
    let key = "k".parse().expect("key");
    let blob = server
        .engine
        .stage(
            Box::pin(futures_util_stream(vec![bytes::Bytes::from(vec![
                1u8;
                12_288
            ])])),
            u64::MAX,
        )
        .await
        .expect("staged");
    server
        .engine
        .put_object(&bucket, &key, blob, Default::default(), Default::default())
        .await
        .expect("stored");

    let all = root.list_buckets(None).await.expect("all");
    let listed = all.iter().find(|b| b.name == "carol-data").expect("listed");
    assert_eq!(listed.owner_id, carol.id);
    assert_eq!(listed.size.current, 12_288);
    assert_eq!(listed.size.hmax, 12_288);
    assert!(listed.epoch > 0);
    assert!(listed.creation_date.ends_with('Z'));
    let hours_now = (chrono::Utc::now().timestamp() / 3600) as u64;
    assert!(listed.size.last_ts.abs_diff(hours_now) <= 1);

    let carols = root
        .list_buckets(Some(&UserRef::Id(carol.id.clone())))
        .await
        .expect("carol's");
    assert_eq!(carols.len(), 1);
    assert_eq!(
        status(
            root.list_buckets(Some(&email("nobody@example.com")))
                .await
                .unwrap_err()
        ),
        (404, "NoSuchUser".into())
    );
}

/// A one-item stream of body chunks, as the engine's `stage` takes.
fn futures_util_stream(
    chunks: Vec<bytes::Bytes>,
) -> impl futures_core::Stream<Item = Result<bytes::Bytes, depot_engine::BoxError>> + Send {
    futures_util::stream::iter(chunks.into_iter().map(Ok))
}

#[tokio::test]
async fn limits_are_set_read_and_reset() {
    let server = Server::start().await;
    let root = server.root();
    root.create_user("dave@example.com").await.expect("dave");
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
    .await
    .expect("ops");
    root.set_bandwidth_limit(&dave, 50)
        .await
        .expect("bandwidth");
    let limits = root.get_limits(&dave).await.expect("limits");
    assert_eq!(limits.ops_default, "1.00");
    assert_eq!(limits.ops_get, "1.00");
    assert_eq!(limits.ops_delete, "1.00");
    assert_eq!(limits.ops_put, "60.00");
    assert_eq!(limits.ops_list, "0.50");
    assert_eq!(limits.bandwidth_out, "50.00");

    root.delete_limits(&dave, LimitKind::Ops)
        .await
        .expect("reset ops");
    let limits = root.get_limits(&dave).await.expect("limits");
    assert_eq!(limits.ops_put, "0");
    assert_eq!(limits.bandwidth_out, "50.00", "bandwidth kept");

    let missing = LimitTarget::Bucket("no-such-bucket".into());
    assert_eq!(
        status(root.get_limits(&missing).await.unwrap_err()),
        (404, "NoSuchBucket".into())
    );
}

#[tokio::test]
async fn quotas_have_defaults_and_overrides() {
    let server = Server::start().await;
    let root = server.root();
    root.create_user("erin@example.com").await.expect("erin");
    let erin = QuotaTarget::User(email("erin@example.com"));

    let unset = root.get_quota(&erin).await.expect("unset");
    assert_eq!((unset.kind.as_str(), unset.size.as_str()), ("0", "0"));
    root.set_quota(&QuotaTarget::DefaultUser, 1024)
        .await
        .expect("default");
    assert_eq!(root.get_quota(&erin).await.expect("default").size, "1024");
    root.set_quota(&erin, 5).await.expect("own");
    assert_eq!(root.get_quota(&erin).await.expect("own").size, "5");
    root.delete_quota(&erin).await.expect("deleted");
    assert_eq!(
        root.get_quota(&erin).await.expect("default again").size,
        "1024"
    );
    let bucket_default = root
        .get_quota(&QuotaTarget::DefaultBucket)
        .await
        .expect("bucket default");
    assert_eq!(bucket_default.kind, "1");
}

/// The reference's parameter rules, seen at the handler: more than one of a set that allows
/// one is 400, and only system users get in.
#[tokio::test]
async fn parameter_rules_and_system_users() {
    use depot_store::router::Params;
    use depot_store::{AdminApi, AdminRequest, Principal};

    let server = Server::start().await;
    server
        .root()
        .create_user("frank@example.com")
        .await
        .expect("frank");
    let api = OstorServer::new(server.engine.clone());
    let root_id = server
        .engine
        .user_by_email(&"root@depot.test".parse().expect("email"))
        .await
        .expect("root")
        .id;
    let request = |method: http::Method, query: &str, system: bool| AdminRequest {
        method,
        resource: Params::parse(query)
            .names()
            .find(|name| name.starts_with("ostor-"))
            .unwrap_or("")
            .to_owned(),
        params: Params::parse(query),
        headers: http::HeaderMap::new(),
        principal: Principal {
            user_id: root_id,
            access_key_id: ROOT_KEY.into(),
            system,
            account: None,
        },
        bucket: None,
        body: bytes::Bytes::new(),
    };
    let code = |outcome: depot_store::S3Result<http::Response<bytes::Bytes>>| match outcome {
        Ok(response) => (response.status().as_u16(), String::new()),
        Err(error) => (error.code.status().as_u16(), error.code.as_str().to_owned()),
    };
    use http::Method;
    let frank = "emailAddress=frank%40example.com";
    let cases = [
        // More than one of a set that allows one.
        (
            Method::GET,
            format!("ostor-users&{frank}&id=0123456789abcdef"),
            true,
            400,
        ),
        (
            Method::DELETE,
            format!("ostor-users&{frank}&id=0123456789abcdef"),
            true,
            400,
        ),
        (
            Method::POST,
            format!("ostor-users&{frank}&genKey&revokeKey=x"),
            true,
            400,
        ),
        (
            Method::PUT,
            format!("ostor-limits&{frank}&ops&bandwidth&out=5"),
            true,
            400,
        ),
        (
            Method::GET,
            "ostor-quotas&bucket=b&default=user".to_owned(),
            true,
            400,
        ),
        // A required parameter missing.
        (
            Method::PUT,
            "ostor-quotas&default=bucket".to_owned(),
            true,
            400,
        ),
        (Method::POST, format!("ostor-accounts&{frank}"), true, 400),
        // Only system users.
        (Method::GET, "ostor-users".to_owned(), false, 403),
        (Method::GET, "ostor-users".to_owned(), true, 200),
    ];
    for (method, query, system, expected) in cases {
        let (status, error) = code(api.handle(request(method.clone(), &query, system)).await);
        assert_eq!(status, expected, "{method} ?{query}: {error}");
        let expected_code = match expected {
            400 => "InvalidArgument",
            403 => "AccessDenied",
            _ => "",
        };
        assert_eq!(error, expected_code, "{method} ?{query}");
    }
}
