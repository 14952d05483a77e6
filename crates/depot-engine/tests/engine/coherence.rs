//! Reads see every committed write at once, however busy other readers keep the engine's
//! metadata cache (SQLite) — and the same assertions hold without one (PostgreSQL).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use depot_engine::{EngineError, ObjectAttributes, WriteCondition};

use crate::common::*;

engine_tests! {
    async fn reads_never_lag_writes_under_concurrent_readers(harness) {
        let engine = &harness.engine;
        let (owner, b) = user_and_bucket(engine, "coherent").await;
        put(engine, &b, "hot", b"v-initial").await;

        // Readers keep re-reading the key, so at any moment one of them may hold a row that a
        // write is about to replace.
        let stop = Arc::new(AtomicBool::new(false));
        let mut readers = Vec::new();
        for _ in 0..3 {
            let (engine, b, stop) = (engine.clone(), b.clone(), Arc::clone(&stop));
            readers.push(tokio::spawn(async move {
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    match engine.open_object(&b, &key("hot")).await {
                        Ok(_) | Err(EngineError::NoSuchKey) => reads += 1,
                        Err(error) => panic!("a read failed: {error}"),
                    }
                    // A cached read may complete without ever waiting; let the writer run.
                    tokio::task::yield_now().await;
                }
                reads
            }));
        }

        for round in 0..60 {
            let data = format!("v-{round}").into_bytes();
            put(engine, &b, "hot", &data).await;
            let head = engine.head_object(&b, &key("hot")).await.expect("head");
            assert_eq!(head.etag, md5_hex(&data), "round {round}: HEAD after PUT");
            assert_eq!(get(engine, &b, "hot").await, data, "round {round}: GET after PUT");
            if round % 10 == 9 {
                assert!(engine.delete_object(&b, &key("hot")).await.expect("delete"));
                assert!(
                    matches!(engine.head_object(&b, &key("hot")).await, Err(EngineError::NoSuchKey)),
                    "round {round}: HEAD after DELETE"
                );
            }
        }

        // A copy onto the key and a multipart completion onto it are writes too.
        put(engine, &b, "source", b"copied bytes").await;
        engine
            .copy_object(&b, &key("source"), &b, &key("hot"), None, WriteCondition::None)
            .await
            .expect("copy");
        assert_eq!(get(engine, &b, "hot").await, b"copied bytes");
        let upload = engine
            .create_multipart_upload(&b, &key("hot"), owner, ObjectAttributes::default())
            .await
            .expect("upload");
        let part = engine
            .upload_part(&b, &key("hot"), &upload, 1, stage(engine, b"assembled").await, None)
            .await
            .expect("part");
        engine
            .complete_multipart_upload(&b, &key("hot"), &upload, &[(1, part.etag.clone())], WriteCondition::None)
            .await
            .expect("complete");
        assert_eq!(get(engine, &b, "hot").await, b"assembled");
        assert_eq!(engine.head_object(&b, &key("hot")).await.expect("head").part_count, Some(1));

        stop.store(true, Ordering::Relaxed);
        for reader in readers {
            assert!(reader.await.expect("reader") > 0);
        }
    }

    async fn a_recreated_bucket_is_seen_with_its_new_owner(harness) {
        let engine = &harness.engine;
        let (first_owner, b) = user_and_bucket(engine, "reborn").await;
        assert_eq!(engine.bucket_identity(&b).await.expect("bucket").owner, first_owner);
        engine.delete_bucket(&b).await.expect("delete");
        assert!(matches!(engine.bucket_identity(&b).await, Err(EngineError::NoSuchBucket)));
        let second_owner = engine.create_user(&email("second@example.com"), false).await.expect("user").id;
        engine.create_bucket(second_owner, &b, "us-east-1").await.expect("recreate");
        assert_eq!(engine.bucket_identity(&b).await.expect("bucket").owner, second_owner);
    }

    async fn a_changed_root_secret_is_used_at_once(harness) {
        let engine = &harness.engine;
        let root = email("root@example.com");
        engine.ensure_root_user(&root, Some(("ROOTKEY", "first-secret"))).await.expect("root");
        let record = engine.access_key("ROOTKEY").await.expect("lookup").expect("exists");
        assert_eq!(record.secret, "first-secret");
        engine.ensure_root_user(&root, Some(("ROOTKEY", "second-secret"))).await.expect("root");
        let record = engine.access_key("ROOTKEY").await.expect("lookup").expect("exists");
        assert_eq!(record.secret, "second-secret");
    }
}
