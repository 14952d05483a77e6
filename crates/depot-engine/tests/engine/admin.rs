//! Administration: users, accounts and key pairs; quotas enforced exactly; bucket size history.

use depot_domain::{AccountName, BYTES_PER_GB, LimitScope, Limits, Quota, QuotaScope, UserState};
use depot_engine::{BucketOwner, EngineError, ObjectAttributes, WriteCondition};

use crate::common::*;

/// Stages `size` bytes without holding them in memory.
async fn stage_zeros(engine: &depot_engine::Engine, size: usize) -> depot_engine::StagedBlob {
    const CHUNK: usize = 1024 * 1024;
    let chunks = (0..size.div_ceil(CHUNK)).map(move |index| {
        let len = CHUNK.min(size - index * CHUNK);
        Ok::<_, std::io::Error>(bytes::Bytes::from(vec![0u8; len]))
    });
    engine
        .stage(futures_util::stream::iter(chunks), u64::MAX)
        .await
        .expect("staged")
}

engine_tests! {
    async fn users_accounts_and_keys(harness) {
        let engine = &harness.engine;
        let (user, pair) = engine
            .create_user_with_key(&email("gina@example.com"), false)
            .await
            .expect("created");
        assert!(matches!(
            engine.create_user_with_key(&email("gina@example.com"), false).await,
            Err(EngineError::UserAlreadyExists)
        ));
        assert_eq!(engine.user_by_email(&email("gina@example.com")).await.expect("found").id, user.id);
        assert!(engine.list_users().await.expect("listed").iter().any(|u| u.id == user.id));

        let account: AccountName = "robot".parse().expect("name");
        let account_pair = engine.create_account(user.id, &account).await.expect("account");
        assert!(matches!(
            engine.create_account(user.id, &account).await,
            Err(EngineError::AccountAlreadyExists)
        ));
        let record = engine.user_record(user.id).await.expect("record");
        assert_eq!(record.keys.len(), 1);
        assert_eq!(record.keys[0].access_key_id, pair.access_key_id.as_str());
        assert_eq!(record.keys[0].secret, pair.secret_access_key.expose_secret());
        assert_eq!(record.accounts.len(), 1);
        assert_eq!(record.accounts[0].keys[0].access_key_id, account_pair.access_key_id.as_str());

        // The account's key names the account; disabling the user disables it.
        let key = engine.access_key(account_pair.access_key_id.as_str()).await.expect("read").expect("key");
        assert_eq!(key.account.as_deref(), Some("robot"));
        engine.set_user_state(user.id, UserState::Disabled).await.expect("disabled");
        let key = engine.access_key(account_pair.access_key_id.as_str()).await.expect("read").expect("key");
        assert!(!key.user_enabled);
        engine.set_user_state(user.id, UserState::Enabled).await.expect("enabled");

        // Revoking: only the owner's own key, and at once (the key was just read, so a cache
        // holds it).
        assert!(engine.access_key(account_pair.access_key_id.as_str()).await.expect("read").is_some());
        assert!(matches!(
            engine.revoke_access_key(user.id, None, account_pair.access_key_id.as_str()).await,
            Err(EngineError::NoSuchAccessKey)
        ));
        engine
            .revoke_access_key(user.id, Some(&account), account_pair.access_key_id.as_str())
            .await
            .expect("revoked");
        assert!(engine.access_key(account_pair.access_key_id.as_str()).await.expect("read").is_none());

        // An account's bucket blocks deleting the account and the user.
        let owner = BucketOwner { user: user.id, account: Some("robot".into()) };
        let b = bucket("robot-bucket");
        engine.create_bucket(owner.clone(), &b, "us-east-1").await.expect("bucket");
        assert_eq!(engine.list_buckets(owner).await.expect("listed").len(), 1);
        assert_eq!(engine.bucket(&b).await.expect("bucket").account.as_deref(), Some("robot"));
        assert!(matches!(engine.delete_account(user.id, &account).await, Err(EngineError::AccountHasBuckets)));
        assert!(matches!(engine.delete_user(user.id).await, Err(EngineError::UserHasBuckets)));
        engine.delete_bucket(&b).await.expect("bucket deleted");
        engine.delete_account(user.id, &account).await.expect("account deleted");
        assert!(engine.access_key(pair.access_key_id.as_str()).await.expect("read").is_some());
        engine.delete_user(user.id).await.expect("user deleted");
        assert!(matches!(engine.user(user.id).await, Err(EngineError::NoSuchUser)));
        assert!(engine.access_key(pair.access_key_id.as_str()).await.expect("read").is_none());
    }

    async fn quotas_and_limits_are_kept_per_scope(harness) {
        let engine = &harness.engine;
        let (user, b) = user_and_bucket(engine, "settings").await;
        let scope = QuotaScope::Bucket(b.clone());
        assert_eq!(engine.quota(&scope).await.expect("quota").size_gb, 0);
        engine.set_quota(&Quota { scope: QuotaScope::DefaultBucket, size_gb: 7 }).await.expect("default");
        assert_eq!(engine.quota(&scope).await.expect("quota").size_gb, 7);
        engine.set_quota(&Quota { scope: scope.clone(), size_gb: 3 }).await.expect("own");
        engine.set_quota(&Quota { scope: scope.clone(), size_gb: 4 }).await.expect("replaced");
        assert_eq!(engine.quota(&scope).await.expect("quota").size_gb, 4);
        engine.delete_quota(&scope).await.expect("deleted");
        assert_eq!(engine.quota(&scope).await.expect("quota").size_gb, 7);
        assert!(matches!(
            engine.quota(&QuotaScope::Bucket(bucket("missing"))).await,
            Err(EngineError::NoSuchBucket)
        ));

        let limits_scope = LimitScope::User(user);
        assert_eq!(engine.limits(&limits_scope).await.expect("limits"), None);
        // Read for enforcement first, so a cache holds "none": setting must replace it at once.
        assert_eq!(engine.request_limits(user, Some(&b)).await.expect("applied"), (None, None));
        let limits = Limits { ops_get: "2".parse().expect("rate"), ..Limits::UNLIMITED };
        engine.set_limits(&limits_scope, &limits).await.expect("set");
        assert_eq!(engine.limits(&limits_scope).await.expect("limits"), Some(limits));
        assert_eq!(engine.request_limits(user, Some(&b)).await.expect("applied"), (Some(limits), None));
        // A change of one kind keeps the other.
        engine
            .update_limits(&limits_scope, |stored| {
                stored.map(|limits| Limits { bandwidth_out_kb: "50".parse().expect("rate"), ..limits })
            })
            .await
            .expect("updated");
        let both = engine.limits(&limits_scope).await.expect("limits").expect("set");
        assert_eq!((both.ops_get, both.bandwidth_out_kb), (limits.ops_get, "50".parse().expect("rate")));
        // Settings go with their bucket: a new bucket of the same name has none.
        engine.set_quota(&Quota { scope: scope.clone(), size_gb: 3 }).await.expect("own");
        engine.delete_bucket(&b).await.expect("bucket deleted");
        engine.create_bucket(user, &b, "us-east-1").await.expect("recreated");
        assert_eq!(engine.quota(&scope).await.expect("quota").size_gb, 7, "only the default");
    }

    async fn quotas_hold_exactly_against_concurrent_writers(harness) {
        let engine = &harness.engine;
        const PIECE: usize = 400 * 1024 * 1024;
        let (user, first) = user_and_bucket(engine, "quota-a").await;
        let others = [bucket("quota-b"), bucket("quota-c")];
        for other in &others {
            engine.create_bucket(user, other, "us-east-1").await.expect("bucket");
        }
        engine
            .set_quota(&Quota { scope: QuotaScope::User(user), size_gb: 1 })
            .await
            .expect("user quota");
        // Three writers of 400 MiB against a 1 GiB user quota: exactly two fit.
        let mut staged = Vec::new();
        for _ in 0..3 {
            staged.push(stage_zeros(engine, PIECE).await);
        }
        let targets = [first.clone(), others[0].clone(), others[1].clone()];
        let writes = staged.into_iter().zip(targets.iter()).map(|(blob, target)| {
            let engine = engine.clone();
            let target = target.clone();
            tokio::spawn(async move {
                engine
                    .put_object(&target, &key("big"), blob, ObjectAttributes::default(), WriteCondition::None)
                    .await
            })
        });
        let outcomes: Vec<_> = futures_util::future::join_all(writes).await;
        let mut refused = 0;
        for outcome in outcomes {
            match outcome.expect("joined") {
                Ok(_) => {}
                Err(EngineError::QuotaExceeded(message)) => {
                    assert!(message.contains("user quota of 1 GB"), "{message}");
                    refused += 1;
                }
                Err(other) => panic!("unexpected: {other}"),
            }
        }
        assert_eq!(refused, 1);
        let totals = engine.storage_totals().await.expect("totals");
        assert_eq!((totals.objects, totals.bytes), (2, 2 * PIECE as u64), "nothing of the refused write stays");

        // The bucket quota: 1 GiB in `quota-a` (400 MiB there at most); a write that would
        // pass it is refused, an overwrite counts only its growth.
        engine.delete_quota(&QuotaScope::User(user)).await.expect("user quota removed");
        engine
            .set_quota(&Quota { scope: QuotaScope::Bucket(first.clone()), size_gb: 1 })
            .await
            .expect("bucket quota");
        let stored_in_first = engine.bucket(&first).await.expect("bucket").bytes_used;
        let big = stage_zeros(engine, (BYTES_PER_GB - stored_in_first) as usize + 1).await;
        assert!(matches!(
            engine.put_object(&first, &key("more"), big, ObjectAttributes::default(), WriteCondition::None).await,
            Err(EngineError::QuotaExceeded(message)) if message.contains("bucket quota of 1 GB")
        ));
        assert_eq!(engine.bucket(&first).await.expect("bucket").bytes_used, stored_in_first);

        // An upload's parts count before they are stored bytes: with 10 MiB left, a 6 MiB
        // part fits and a second one does not.
        const MIB: u64 = 1024 * 1024;
        let fill = stage_zeros(engine, (BYTES_PER_GB - stored_in_first - 10 * MIB) as usize).await;
        engine.put_object(&first, &key("fill"), fill, ObjectAttributes::default(), WriteCondition::None).await.expect("fits");
        let upload = engine.create_multipart_upload(&first, &key("parts"), user, ObjectAttributes::default()).await.expect("upload");
        let part = stage_zeros(engine, 6 * MIB as usize).await;
        engine.upload_part(&first, &key("parts"), &upload, 1, part, None).await.expect("the first part fits");
        let part = stage_zeros(engine, 6 * MIB as usize).await;
        assert!(matches!(
            engine.upload_part(&first, &key("parts"), &upload, 2, part, None).await,
            Err(EngineError::QuotaExceeded(message)) if message.contains("bucket quota of 1 GB")
        ));
    }

    async fn bucket_size_history_keeps_the_peak(harness) {
        let engine = &harness.engine;
        let (_, b) = user_and_bucket(engine, "history").await;
        for (name, size) in [("a", 5000usize), ("b", 3000)] {
            let blob = stage(engine, &vec![1u8; size]).await;
            engine.put_object(&b, &key(name), blob, ObjectAttributes::default(), WriteCondition::None).await.expect("put");
        }
        engine.delete_object(&b, &key("a")).await.expect("deleted");
        let info = engine.bucket(&b).await.expect("bucket");
        assert_eq!((info.bytes_used, info.history.hmax_bytes), (3000, 8000));
        let hour_now = (chrono::Utc::now().timestamp() / 3600) as u64;
        assert!(info.history.last_hour.abs_diff(hour_now) <= 1);
        // Nothing is integrated within the hour of the writes; two hours on, 2 × 3000.
        let (integral, at) = info.history.integral_at(info.bytes_used, info.history.last_hour + 2);
        assert_eq!((integral, at), (info.history.integral_byte_hours + 6000, info.history.last_hour + 2));
    }
}
