//! Bucket replication between two in-process servers: settings over `?replication`, then the
//! `Replicator` copying writes (and, when enabled, deletes) of the source bucket to the
//! destination bucket over signed S3 requests, retrying until the destination takes them.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use depot_domain::{
    BucketName, Email, ObjectKey, RemoteEndpoint, ReplicationConfiguration, ReplicationRule,
    ReplicationSettings, ReplicationStatus,
};
use depot_engine::{Engine, EngineError, ObjectAttributes, WriteCondition};
use depot_ostor::{ClientError, Replicator, ReplicatorConfig};

mod common;

use common::*;

/// How long a copy may take to show up before a test fails.
const PATIENCE: Duration = Duration::from_secs(20);

fn bucket(name: &str) -> BucketName {
    name.parse().expect("bucket name")
}

fn key(text: &str) -> ObjectKey {
    ObjectKey::new(text).expect("key")
}

fn status(error: ClientError) -> (u16, String) {
    (
        error.status().unwrap_or(0),
        error.code().unwrap_or("").to_owned(),
    )
}

/// A user of `server` with a key pair and a bucket `name`.
async fn owner_of(server: &Server, email: &str, name: &str) -> (String, String) {
    let (user, pair) = server
        .engine
        .create_user_with_key(&email.parse::<Email>().expect("email"), false)
        .await
        .expect("user");
    server
        .engine
        .create_bucket(user.id, &bucket(name), "us-east-1")
        .await
        .expect("bucket");
    (
        pair.access_key_id.as_str().to_owned(),
        pair.secret_access_key.expose_secret().to_owned(),
    )
}

fn settings(deletes: bool, remote: RemoteEndpoint) -> ReplicationSettings {
    ReplicationSettings {
        config: ReplicationConfiguration {
            role: "arn:aws:iam::0123456789abcdef:role/s3-replication-role".to_owned(),
            rules: vec![ReplicationRule {
                id: None,
                enabled: true,
                priority: Some(1),
                delete_marker_replication: deletes,
                prefix: "docs/".to_owned(),
                destination_bucket: "target".to_owned(),
            }],
        },
        remote: Some(remote),
    }
}

async fn put(engine: &Engine, bucket_name: &str, key_text: &str, data: &'static [u8]) {
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(data))]);
    let blob = engine.stage(stream, u64::MAX).await.expect("staged");
    let attrs = ObjectAttributes {
        content_type: Some("text/plain".to_owned()),
        user_metadata: BTreeMap::from([("colour".to_owned(), "blue".to_owned())]),
        ..ObjectAttributes::default()
    };
    engine
        .put_object(
            &bucket(bucket_name),
            &key(key_text),
            blob,
            attrs,
            WriteCondition::None,
        )
        .await
        .expect("put");
}

async fn read(engine: &Engine, bucket_name: &str, key_text: &str) -> Option<Vec<u8>> {
    match engine
        .open_object(&bucket(bucket_name), &key(key_text))
        .await
    {
        Ok((_, reader)) => {
            use futures_util::StreamExt as _;
            let mut stream = Box::pin(reader.into_stream(0..u64::MAX));
            let mut data = Vec::new();
            while let Some(chunk) = stream.next().await {
                data.extend_from_slice(&chunk.expect("chunk"));
            }
            Some(data)
        }
        Err(EngineError::NoSuchKey) => None,
        Err(error) => panic!("reading {key_text}: {error}"),
    }
}

/// Waits until `check` holds, failing the test after [`PATIENCE`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn replication_status(engine: &Engine, key_text: &str) -> Option<ReplicationStatus> {
    engine
        .head_object(&bucket("source"), &key(key_text))
        .await
        .expect("head")
        .replication_status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_and_deletes_reach_the_destination_and_failures_are_retried() {
    let source = Server::start().await;
    let destination = Server::start().await;
    let (owner_key, owner_secret) = owner_of(&source, "src@example.com", "source").await;
    let (dest_key, dest_secret) = owner_of(&destination, "dst@example.com", "target").await;
    let (other_key, other_secret) = owner_of(&source, "other@example.com", "elsewhere").await;
    let owner = source.client(&owner_key, &owner_secret);
    let admin = source.root();
    let good_remote = RemoteEndpoint {
        endpoint: destination.endpoint(),
        access_key: dest_key.clone(),
        secret: dest_secret.clone(),
    };

    // The settings: only system users may touch them, not even the bucket's owner; the
    // remote region is required.
    assert_eq!(
        status(
            owner
                .put_replication("source", &settings(false, good_remote.clone()))
                .await
                .unwrap_err()
        ),
        (403, "AccessDenied".into())
    );
    assert_eq!(
        status(admin.get_replication("source").await.unwrap_err()),
        (404, "ReplicationConfigurationNotFoundError".into())
    );
    assert_eq!(
        status(
            source
                .client(&other_key, &other_secret)
                .put_replication("source", &settings(false, good_remote.clone()))
                .await
                .unwrap_err()
        ),
        (403, "AccessDenied".into())
    );
    let mut no_remote = settings(false, good_remote.clone());
    no_remote.remote = None;
    assert_eq!(
        status(
            admin
                .put_replication("source", &no_remote)
                .await
                .unwrap_err()
        ),
        (400, "InvalidRequest".into())
    );
    assert_eq!(
        status(
            admin
                .put_replication("no-such-bucket", &settings(false, good_remote.clone()))
                .await
                .unwrap_err()
        ),
        (404, "NoSuchBucket".into())
    );

    // First the destination refuses (a wrong secret): the object is marked FAILED.
    let wrong_secret = RemoteEndpoint {
        secret: "not-the-secret".to_owned(),
        ..good_remote.clone()
    };
    admin
        .put_replication("source", &settings(false, wrong_secret.clone()))
        .await
        .expect("settings stored");
    assert_eq!(
        admin.get_replication("source").await.expect("read back"),
        settings(false, wrong_secret)
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let replicator = Replicator::new(
        source.engine.clone(),
        ReplicatorConfig {
            poll_interval: Duration::from_millis(100),
            first_retry: Duration::from_millis(100),
            max_retry: Duration::from_millis(400),
            ..ReplicatorConfig::default()
        },
    )
    .expect("replicator");
    let worker = tokio::spawn(replicator.run(async {
        let _ = stopped.await;
    }));

    put(&source.engine, "source", "docs/a.txt", b"alpha").await;
    put(&source.engine, "source", "photos/skip.jpg", b"not covered").await;
    eventually("the refused copy is marked FAILED", || async {
        replication_status(&source.engine, "docs/a.txt").await == Some(ReplicationStatus::Failed)
    })
    .await;
    assert_eq!(
        read(&destination.engine, "target", "docs/a.txt").await,
        None
    );

    // Fixed credentials heal it.
    admin
        .put_replication("source", &settings(false, good_remote.clone()))
        .await
        .expect("settings replaced");
    eventually("the copy arrives", || async {
        read(&destination.engine, "target", "docs/a.txt")
            .await
            .is_some()
    })
    .await;
    assert_eq!(
        read(&destination.engine, "target", "docs/a.txt")
            .await
            .as_deref(),
        Some(&b"alpha"[..])
    );
    let copied = destination
        .engine
        .head_object(&bucket("target"), &key("docs/a.txt"))
        .await
        .expect("head");
    assert_eq!(copied.attrs.content_type.as_deref(), Some("text/plain"));
    assert_eq!(copied.attrs.user_metadata["colour"], "blue");
    eventually("the source shows COMPLETED", || async {
        replication_status(&source.engine, "docs/a.txt").await == Some(ReplicationStatus::Completed)
    })
    .await;
    assert_eq!(
        replication_status(&source.engine, "photos/skip.jpg").await,
        None
    );
    assert_eq!(
        read(&destination.engine, "target", "photos/skip.jpg").await,
        None
    );

    // Deletes stay put while delete replication is off, travel once it is on.
    source
        .engine
        .delete_object(&bucket("source"), &key("docs/a.txt"))
        .await
        .expect("deleted");
    put(&source.engine, "source", "docs/b.txt", b"bravo").await;
    eventually("the next copy arrives", || async {
        read(&destination.engine, "target", "docs/b.txt")
            .await
            .is_some()
    })
    .await;
    // Nothing left in flight, and the delete still on B. (That the engine queues no delete
    // while delete replication is off is the engine's test; this one sees the end to end.)
    eventually("the queue is empty", || async {
        source.engine.replication_backlog().await.expect("backlog") == 0
    })
    .await;
    assert!(
        read(&destination.engine, "target", "docs/a.txt")
            .await
            .is_some()
    );
    admin
        .put_replication("source", &settings(true, good_remote.clone()))
        .await
        .expect("deletes on");
    source
        .engine
        .delete_object(&bucket("source"), &key("docs/b.txt"))
        .await
        .expect("deleted");
    eventually("the delete arrives", || async {
        read(&destination.engine, "target", "docs/b.txt")
            .await
            .is_none()
    })
    .await;

    // An unreachable destination: writes wait, nothing is lost, and they go out when it is
    // reachable again.
    let unreachable = RemoteEndpoint {
        endpoint: "http://127.0.0.1:9".to_owned(),
        ..good_remote.clone()
    };
    admin
        .put_replication("source", &settings(true, unreachable))
        .await
        .expect("unreachable destination");
    for name in ["docs/c1", "docs/c2", "docs/c3"] {
        put(&source.engine, "source", name, b"charlie").await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        replication_status(&source.engine, "docs/c1").await,
        Some(ReplicationStatus::Pending)
    );
    assert_eq!(
        source.engine.replication_backlog().await.expect("backlog"),
        3
    );
    admin
        .put_replication("source", &settings(true, good_remote))
        .await
        .expect("reachable again");
    eventually("the backlog drains", || async {
        source.engine.replication_backlog().await.expect("backlog") == 0
    })
    .await;
    for name in ["docs/c1", "docs/c2", "docs/c3"] {
        assert_eq!(
            read(&destination.engine, "target", name).await.as_deref(),
            Some(&b"charlie"[..])
        );
    }

    // Removing the settings: 200, then 404.
    admin.delete_replication("source").await.expect("deleted");
    assert_eq!(
        status(admin.get_replication("source").await.unwrap_err()),
        (404, "ReplicationConfigurationNotFoundError".into())
    );
    let _ = stop.send(());
    worker.await.expect("the worker stops");
}
