//! Bucket replication: settings stored with the secret sealed, writes and deletes queued in
//! their own transactions, leases, generations, and object statuses.

use std::time::Duration;

use chrono::Utc;
use depot_domain::{
    RemoteEndpoint, ReplicationConfiguration, ReplicationRule, ReplicationSettings,
    ReplicationStatus,
};
use depot_engine::{EngineError, ReplicationOperation, ReplicationOutcome};

use crate::common::*;

const LEASE: Duration = Duration::from_secs(600);

fn settings(prefix: &str, deletes: bool) -> ReplicationSettings {
    ReplicationSettings {
        config: ReplicationConfiguration {
            role: "arn:aws:iam::0123456789abcdef:role/s3-replication-role".to_owned(),
            rules: vec![ReplicationRule {
                id: Some("r1".to_owned()),
                enabled: true,
                priority: Some(1),
                delete_marker_replication: deletes,
                prefix: prefix.to_owned(),
                destination_bucket: "target".to_owned(),
            }],
        },
        remote: Some(RemoteEndpoint {
            endpoint: "http://127.0.0.1:1".to_owned(),
            access_key: "AKREMOTE".to_owned(),
            secret: "remote-secret".to_owned(),
        }),
    }
}

engine_tests! {
    async fn settings_round_trip_and_delete(harness) {
        let engine = &harness.engine;
        let (_, source) = user_and_bucket(engine, "repl-settings").await;
        assert!(matches!(
            engine.replication(&source).await,
            Err(EngineError::NoSuchReplicationConfiguration)
        ));
        assert!(matches!(
            engine.set_replication(&bucket("no-such-bucket"), &settings("", false)).await,
            Err(EngineError::NoSuchBucket)
        ));
        engine.set_replication(&source, &settings("", false)).await.expect("stored");
        assert_eq!(engine.replication(&source).await.expect("read"), settings("", false));
        // Replaced whole.
        engine.set_replication(&source, &settings("logs/", true)).await.expect("replaced");
        assert_eq!(engine.replication(&source).await.expect("read"), settings("logs/", true));
        engine.delete_replication(&source).await.expect("deleted");
        assert!(matches!(
            engine.delete_replication(&source).await,
            Err(EngineError::NoSuchReplicationConfiguration)
        ));
        // Without settings, writes queue nothing.
        let info = put(engine, &source, "a", b"x").await;
        assert_eq!(info.replication_status, None);
        assert_eq!(engine.replication_backlog().await.expect("backlog"), 0);
    }

    async fn covered_writes_queue_and_complete(harness) {
        let engine = &harness.engine;
        let (_, source) = user_and_bucket(engine, "repl-queue").await;
        engine.set_replication(&source, &settings("logs/", true)).await.expect("stored");

        let covered = put(engine, &source, "logs/1", b"one").await;
        assert_eq!(covered.replication_status, Some(ReplicationStatus::Pending));
        let other = put(engine, &source, "img/1", b"two").await;
        assert_eq!(other.replication_status, None);
        assert_eq!(engine.replication_backlog().await.expect("backlog"), 1);
        let head = engine.head_object(&source, &key("logs/1")).await.expect("head");
        assert_eq!(head.replication_status, Some(ReplicationStatus::Pending));

        let tasks = engine.claim_replications(10, LEASE).await.expect("claimed");
        assert_eq!(tasks.len(), 1);
        let task = &tasks[0];
        assert_eq!((task.bucket.as_str(), task.key.as_str()), ("repl-queue", "logs/1"));
        assert_eq!(task.operation, ReplicationOperation::Put);
        assert_eq!(task.attempts, 0);
        // Leased: nobody else gets it meanwhile.
        assert!(engine.claim_replications(10, LEASE).await.expect("claimed").is_empty());

        engine
            .finish_replication(task, &ReplicationOutcome::Completed {
                copied: Some((covered.etag.clone(), covered.last_modified)),
            })
            .await
            .expect("finished");
        assert_eq!(engine.replication_backlog().await.expect("backlog"), 0);
        let head = engine.head_object(&source, &key("logs/1")).await.expect("head");
        assert_eq!(head.replication_status, Some(ReplicationStatus::Completed));
    }

    async fn a_write_during_a_copy_keeps_the_key_queued(harness) {
        let engine = &harness.engine;
        let (_, source) = user_and_bucket(engine, "repl-generation").await;
        engine.set_replication(&source, &settings("", true)).await.expect("stored");
        let first = put(engine, &source, "k", b"first").await;
        let tasks = engine.claim_replications(10, LEASE).await.expect("claimed");
        assert_eq!(tasks.len(), 1);

        // Written again while the first state is being copied: the entry stays leased (no
        // second copy travels at once) but is not taken off the queue by the older copy.
        let second = put(engine, &source, "k", b"second").await;
        assert!(engine.claim_replications(10, LEASE).await.expect("claimed").is_empty());
        engine
            .finish_replication(&tasks[0], &ReplicationOutcome::Completed {
                copied: Some((first.etag.clone(), first.last_modified)),
            })
            .await
            .expect("finished");
        // The newer object is still pending, and its entry is due at once.
        let head = engine.head_object(&source, &key("k")).await.expect("head");
        assert_eq!(head.replication_status, Some(ReplicationStatus::Pending));
        let again = engine.claim_replications(10, LEASE).await.expect("claimed");
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].operation, ReplicationOperation::Put);
        engine
            .finish_replication(&again[0], &ReplicationOutcome::Completed {
                copied: Some((second.etag.clone(), second.last_modified)),
            })
            .await
            .expect("finished");
        assert_eq!(engine.replication_backlog().await.expect("backlog"), 0);
        let head = engine.head_object(&source, &key("k")).await.expect("head");
        assert_eq!(head.replication_status, Some(ReplicationStatus::Completed));
    }

    async fn deletes_queue_only_when_replicated(harness) {
        let engine = &harness.engine;
        let (_, source) = user_and_bucket(engine, "repl-deletes").await;
        engine.set_replication(&source, &settings("", false)).await.expect("stored");
        put(engine, &source, "kept", b"x").await;
        let tasks = engine.claim_replications(10, LEASE).await.expect("claimed");
        engine.finish_replication(&tasks[0], &ReplicationOutcome::Dropped).await.expect("done");
        // Dropped (no rule covers it any more, say): it will not be copied, and says so.
        let head = engine.head_object(&source, &key("kept")).await.expect("head");
        assert_eq!(head.replication_status, Some(ReplicationStatus::Failed));
        assert!(engine.delete_object(&source, &key("kept")).await.expect("deleted"));
        assert_eq!(engine.replication_backlog().await.expect("backlog"), 0);

        engine.set_replication(&source, &settings("", true)).await.expect("stored");
        put(engine, &source, "gone", b"x").await;
        assert!(engine.delete_object(&source, &key("gone")).await.expect("deleted"));
        // One entry per key: the delete replaced the put.
        let tasks = engine.claim_replications(10, LEASE).await.expect("claimed");
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].operation, ReplicationOperation::Delete);
        // Deleting a key that does not exist queues nothing.
        engine.delete_object(&source, &key("never")).await.expect("deleted");
        assert_eq!(engine.replication_backlog().await.expect("backlog"), 1);
    }

    async fn retries_wait_and_refusals_mark_failed(harness) {
        let engine = &harness.engine;
        let (_, source) = user_and_bucket(engine, "repl-retry").await;
        engine.set_replication(&source, &settings("", false)).await.expect("stored");
        let object = put(engine, &source, "k", b"x").await;
        let tasks = engine.claim_replications(10, LEASE).await.expect("claimed");
        engine
            .finish_replication(&tasks[0], &ReplicationOutcome::Retry {
                retry_at: Utc::now() + chrono::Duration::hours(1),
                error: "AccessDenied: no".to_owned(),
                refused: true,
                object: Some((object.etag.clone(), object.last_modified)),
            })
            .await
            .expect("finished");
        let head = engine.head_object(&source, &key("k")).await.expect("head");
        assert_eq!(head.replication_status, Some(ReplicationStatus::Failed));
        // Not due for an hour.
        assert!(engine.claim_replications(10, LEASE).await.expect("claimed").is_empty());
        // New settings (fixed credentials, say) make it due again, its attempts reset.
        engine.set_replication(&source, &settings("", false)).await.expect("stored");
        let tasks = engine.claim_replications(10, LEASE).await.expect("claimed");
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].attempts, 0);
        // A passing failure counts an attempt and leaves the status alone.
        engine
            .finish_replication(&tasks[0], &ReplicationOutcome::Retry {
                retry_at: Utc::now() - chrono::Duration::seconds(1),
                error: "connection refused".to_owned(),
                refused: false,
                object: Some((object.etag.clone(), object.last_modified)),
            })
            .await
            .expect("finished");
        let tasks = engine.claim_replications(10, LEASE).await.expect("claimed");
        assert_eq!(tasks[0].attempts, 1);
        // Handed back without an attempt: due again at once, attempts unchanged.
        engine.release_replication(&tasks[0]).await.expect("released");
        let tasks = engine.claim_replications(10, LEASE).await.expect("claimed");
        assert_eq!(tasks[0].attempts, 1);

        // Removing the settings drops the queue; what waited is FAILED, also where the
        // engine had the object cached (just read) as PENDING.
        let waiting = put(engine, &source, "waiting", b"x").await;
        assert_eq!(waiting.replication_status, Some(ReplicationStatus::Pending));
        let head = engine.head_object(&source, &key("waiting")).await.expect("head");
        assert_eq!(head.replication_status, Some(ReplicationStatus::Pending));
        engine.delete_replication(&source).await.expect("deleted");
        assert_eq!(engine.replication_backlog().await.expect("backlog"), 0);
        let head = engine.head_object(&source, &key("waiting")).await.expect("head");
        assert_eq!(head.replication_status, Some(ReplicationStatus::Failed));
        let pending = put(engine, &source, "after", b"x").await;
        assert_eq!(pending.replication_status, None);
    }

    async fn the_queue_survives_a_restart(harness) {
        let (_, source) = user_and_bucket(&harness.engine, "repl-restart").await;
        harness.engine.set_replication(&source, &settings("", false)).await.expect("stored");
        put(&harness.engine, &source, "a", b"x").await;
        put(&harness.engine, &source, "b", b"y").await;
        // One is being copied when the process stops.
        assert_eq!(harness.engine.claim_replications(1, LEASE).await.expect("claimed").len(), 1);
        let harness = harness.restart(|_| {}).await;
        let engine = &harness.engine;
        assert_eq!(engine.replication_backlog().await.expect("backlog"), 2);
        // This engine is the SQLite database's only user: the earlier lease ends at once.
        // On PostgreSQL other nodes may hold leases; it runs out instead.
        let released = engine.release_stale_replications().await.expect("released");
        let claimable = engine.claim_replications(10, LEASE).await.expect("claimed").len();
        let expected = if harness.is_postgres() { (0, 1) } else { (1, 2) };
        assert_eq!((released, claimable), expected);
        assert_eq!(engine.replication(&source).await.expect("read"), settings("", false));
    }

    async fn deleting_the_bucket_drops_its_queue(harness) {
        let engine = &harness.engine;
        let (_, source) = user_and_bucket(engine, "repl-bucket-gone").await;
        engine.set_replication(&source, &settings("", true)).await.expect("stored");
        put(engine, &source, "k", b"x").await;
        engine.delete_object(&source, &key("k")).await.expect("deleted");
        engine.delete_bucket(&source).await.expect("bucket deleted");
        assert_eq!(engine.replication_backlog().await.expect("backlog"), 0);
        assert!(engine.claim_replications(10, LEASE).await.expect("claimed").is_empty());
    }
}
