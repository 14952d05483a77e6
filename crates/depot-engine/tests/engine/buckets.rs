//! Buckets: creation races and ownership, listing, deletion rules and counters.

use depot_engine::{EngineError, ObjectAttributes, WriteCondition};

use crate::common::*;

engine_tests! {
    async fn storage_totals_follow_every_write(harness) {
        let engine = &harness.engine;
        let (_, photos) = user_and_bucket(engine, "photos").await;
        assert_eq!(engine.storage_totals().await.expect("totals").objects, 0);
        for (name, data) in [("a", &b"12345"[..]), ("b", b"123"), ("a", b"1")] {
            let blob = stage(engine, data).await;
            engine
                .put_object(&photos, &key(name), blob, ObjectAttributes::default(), WriteCondition::None)
                .await
                .expect("put");
        }
        let totals = engine.storage_totals().await.expect("totals");
        assert_eq!((totals.buckets, totals.objects, totals.bytes), (1, 2, 4));
        engine.delete_object(&photos, &key("b")).await.expect("deleted");
        let totals = engine.storage_totals().await.expect("totals");
        assert_eq!((totals.objects, totals.bytes), (1, 1));
    }

    async fn create_exists_owned_list_delete(harness) {
        let engine = &harness.engine;
        let (alice, photos) = user_and_bucket(engine, "photos").await;
        let bob = engine.create_user(&email("bob@example.com"), false).await.expect("bob");

        let info = engine.bucket(&photos).await.expect("exists");
        assert_eq!((info.owner, info.location.as_str(), info.object_count, info.bytes_used), (alice, "us-east-1", 0, 0));
        assert!(matches!(
            engine.create_bucket(alice, &photos, "us-east-1").await,
            Err(EngineError::BucketAlreadyOwnedByYou)
        ));
        assert!(matches!(
            engine.create_bucket(bob.id, &photos, "us-east-1").await,
            Err(EngineError::BucketAlreadyExists)
        ));
        assert!(matches!(engine.bucket(&bucket("nothing-here")).await, Err(EngineError::NoSuchBucket)));

        engine.create_bucket(alice, &bucket("archive"), "eu").await.expect("second bucket");
        let names: Vec<String> = engine
            .list_buckets(alice)
            .await
            .expect("listed")
            .into_iter()
            .map(|bucket| bucket.name.to_string())
            .collect();
        assert_eq!(names, ["archive", "photos"]);
        assert!(engine.list_buckets(bob.id).await.expect("listed").is_empty());

        engine.delete_bucket(&photos).await.expect("deleted");
        assert!(matches!(engine.bucket(&photos).await, Err(EngineError::NoSuchBucket)));
        assert!(matches!(engine.delete_bucket(&photos).await, Err(EngineError::NoSuchBucket)));
        // The name is free again, for anyone.
        engine.create_bucket(bob.id, &photos, "us-east-1").await.expect("recreated");
    }

    async fn racing_creators_one_wins(harness) {
        let engine = &harness.engine;
        let mut tasks = Vec::new();
        for index in 0..8 {
            let engine = engine.clone();
            tasks.push(tokio::spawn(async move {
                let user = engine
                    .create_user(&email(&format!("racer{index}@example.com")), false)
                    .await
                    .expect("user");
                engine.create_bucket(user.id, &bucket("contested"), "us-east-1").await
            }));
        }
        let mut won = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(_) => won += 1,
                Err(EngineError::BucketAlreadyExists) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(won, 1);
    }

    async fn not_empty_until_the_last_object_goes(harness) {
        let engine = &harness.engine;
        let (owner, logs) = user_and_bucket(engine, "logs").await;
        put(engine, &logs, "one", b"1").await;
        assert!(matches!(engine.delete_bucket(&logs).await, Err(EngineError::BucketNotEmpty)));
        assert!(engine.delete_object(&logs, &key("one")).await.expect("deleted"));

        // An upload in progress does not keep a bucket alive: it is aborted with it.
        let upload = engine
            .create_multipart_upload(&logs, &key("big"), owner, ObjectAttributes::default())
            .await
            .expect("upload");
        let part = stage(engine, b"part data").await;
        engine.upload_part(&logs, &key("big"), &upload, 1, part, None).await.expect("part");
        assert_eq!(blob_count(&harness), 1);
        engine.delete_bucket(&logs).await.expect("deleted with its upload");
        assert_eq!(blob_count(&harness), 0, "the part's blob goes with the bucket");
    }

    async fn counters_follow_every_write(harness) {
        let engine = &harness.engine;
        let (_, data) = user_and_bucket(engine, "data").await;
        put(engine, &data, "a", &[1; 100]).await;
        put(engine, &data, "b", &[2; 50]).await;
        put(engine, &data, "a", &[3; 10]).await;
        let info = engine.bucket(&data).await.expect("bucket");
        assert_eq!((info.object_count, info.bytes_used), (2, 60));
        engine
            .copy_object(&data, &key("b"), &data, &key("c"), None, WriteCondition::None)
            .await
            .expect("copied");
        engine.delete_object(&data, &key("a")).await.expect("deleted");
        assert!(!engine.delete_object(&data, &key("a")).await.expect("absent is fine"));
        let info = engine.bucket(&data).await.expect("bucket");
        assert_eq!((info.object_count, info.bytes_used), (2, 100));
    }
}
