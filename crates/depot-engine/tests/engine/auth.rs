//! Users and access keys: the root user at start-up, key limits, decryption.

use depot_domain::{MAX_KEY_PAIRS_PER_OWNER, UserId};
use depot_engine::EngineError;

use crate::common::*;

engine_tests! {
    async fn root_user_is_idempotent(harness) {
        let engine = &harness.engine;
        let root = email("root@depot.example");
        let first = engine.ensure_root_user(&root, None).await.expect("created");
        assert!(first.created && first.user.flags.system);
        let pair = first.generated_keys.clone().expect("a first start generates a key pair");
        assert_eq!(pair.access_key_id.owner(), first.user.id);
        assert!(!format!("{first:?}").contains(pair.secret_access_key.expose_secret()), "Debug hides the secret");

        let second = engine.ensure_root_user(&root, None).await.expect("found");
        assert!(!second.created);
        assert_eq!((second.user.id, second.generated_keys), (first.user.id, None));

        let record = engine.access_key(pair.access_key_id.as_str()).await.expect("lookup").expect("exists");
        assert_eq!(record.secret, pair.secret_access_key.expose_secret());
        assert!(record.system && record.user_enabled);
        assert_eq!((record.user_id, record.account.as_deref()), (first.user.id, None));
        assert!(!format!("{record:?}").contains(&record.secret));

        // Configured credentials, in any printable form, win over what is stored.
        let configured = engine.ensure_root_user(&root, Some(("minioadmin", "minioadmin-secret"))).await.expect("configured");
        assert_eq!(configured.generated_keys, None);
        let record = engine.access_key("minioadmin").await.expect("lookup").expect("exists");
        assert_eq!(record.secret, "minioadmin-secret");
        engine.ensure_root_user(&root, Some(("minioadmin", "rotated-secret"))).await.expect("rotated");
        assert_eq!(engine.access_key("minioadmin").await.expect("lookup").expect("exists").secret, "rotated-secret");

        assert!(matches!(
            engine.ensure_root_user(&root, Some(("bad id", "secret"))).await,
            Err(EngineError::InvalidArgument(_))
        ));
        let customer = engine.create_user(&email("customer@example.com"), false).await.expect("user");
        assert!(matches!(
            engine.ensure_root_user(&customer.email, None).await,
            Err(EngineError::InvalidArgument(_))
        ), "configuration never promotes a customer");
        let other_root = email("other-root@depot.example");
        assert!(matches!(
            engine.ensure_root_user(&other_root, Some(("minioadmin", "x"))).await,
            Err(EngineError::InvalidArgument(_))
        ), "a key id belongs to one user");
    }

    async fn users_and_key_limits(harness) {
        let engine = &harness.engine;
        let ann = engine.create_user(&email("ann@example.com"), false).await.expect("ann");
        assert!(!ann.flags.system);
        assert_eq!(engine.user(ann.id).await.expect("found"), ann);
        assert!(matches!(engine.create_user(&email("ann@EXAMPLE.com"), true).await, Err(EngineError::UserAlreadyExists)));
        assert!(matches!(engine.user(UserId::generate()).await, Err(EngineError::NoSuchUser)));

        let mut keys = Vec::new();
        for _ in 0..MAX_KEY_PAIRS_PER_OWNER {
            keys.push(engine.create_access_key(ann.id, None).await.expect("key"));
        }
        assert!(matches!(engine.create_access_key(ann.id, None).await, Err(EngineError::KeyLimitReached)));
        // An account has two pairs of its own (the first made with the account).
        assert!(matches!(
            engine.create_access_key(ann.id, Some("backup-robot")).await,
            Err(EngineError::NoSuchAccount)
        ));
        let robot = engine
            .create_account(ann.id, &"backup-robot".parse().expect("account name"))
            .await
            .expect("account with its key");
        engine.create_access_key(ann.id, Some("backup-robot")).await.expect("second account key");
        assert!(matches!(engine.create_access_key(ann.id, Some("backup-robot")).await, Err(EngineError::KeyLimitReached)));
        assert!(matches!(engine.create_access_key(ann.id, Some("two words")).await, Err(EngineError::InvalidArgument(_))));
        assert!(matches!(engine.create_access_key(UserId::generate(), None).await, Err(EngineError::NoSuchUser)));

        for pair in &keys {
            let record = engine.access_key(pair.access_key_id.as_str()).await.expect("lookup").expect("exists");
            assert_eq!(record.secret, pair.secret_access_key.expose_secret());
            assert_eq!((record.user_id, record.system, record.account), (ann.id, false, None));
        }
        let record = engine.access_key(robot.access_key_id.as_str()).await.expect("lookup").expect("exists");
        assert_eq!(record.account.as_deref(), Some("backup-robot"));
        assert_eq!(engine.access_key("AKIDONTEXIST").await.expect("lookup"), None);
    }

    async fn racing_key_creation_respects_the_limit(harness) {
        let engine = &harness.engine;
        let user = engine.create_user(&email("racer@example.com"), false).await.expect("user");
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let engine = engine.clone();
            tasks.push(tokio::spawn(async move { engine.create_access_key(user.id, None).await }));
        }
        let mut created = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(_) => created += 1,
                Err(EngineError::KeyLimitReached) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(created, MAX_KEY_PAIRS_PER_OWNER);
    }

    async fn secrets_need_the_master_key(harness) {
        let engine = &harness.engine;
        let user = engine.create_user(&email("sealed@example.com"), false).await.expect("user");
        let pair = engine.create_access_key(user.id, None).await.expect("key");
        let master_key = std::fs::read(harness.data_dir().join("master.key")).expect("the generated master key");
        assert_eq!(master_key.len(), 32);

        // The same key from configuration opens the same secrets.
        let same: [u8; 32] = master_key.as_slice().try_into().expect("32 bytes");
        let harness = harness.restart(|config| config.master_key = Some(same)).await;
        let record = harness.engine.access_key(pair.access_key_id.as_str()).await.expect("lookup").expect("exists");
        assert_eq!(record.secret, pair.secret_access_key.expose_secret());

        let harness = harness.restart(|config| config.master_key = Some([0x5a; 32])).await;
        assert!(matches!(harness.engine.access_key(pair.access_key_id.as_str()).await, Err(EngineError::Crypto(_))));
    }
}
