//! What only one setup needs: an in-memory SQLite database (the protocol layer's in-process
//! tests use it), the embedded defaults, and futures that can cross threads.

use std::time::Duration;

use depot_engine::{
    Engine, EngineConfig, ListQuery, ObjectAttributes, UploadsQuery, WriteCondition,
};

use crate::common::*;

/// `sqlite::memory:` has one connection; nothing may wait on a second one while holding
/// the first (a transaction that queried the pool would hang here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_sqlite_serves_everything() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(dir.path(), "sqlite::memory:"))
        .await
        .expect("opens");
    let work = async {
        engine.ping().await.expect("ready");
        let (owner, b) = user_and_bucket(&engine, "memory").await;
        let mut writers = Vec::new();
        for index in 0u8..8 {
            let engine = engine.clone();
            let b = b.clone();
            writers.push(tokio::spawn(async move {
                let blob = stage(&engine, &[index; 100]).await;
                engine
                    .put_object(
                        &b,
                        &key("k"),
                        blob,
                        ObjectAttributes::default(),
                        WriteCondition::IfNoneMatchAny,
                    )
                    .await
                    .is_ok()
            }));
        }
        let mut won = 0;
        for writer in writers {
            won += usize::from(writer.await.expect("task"));
        }
        assert_eq!(won, 1);
        engine
            .copy_object(&b, &key("k"), &b, &key("k2"), None, WriteCondition::None)
            .await
            .expect("copy");
        let upload = engine
            .create_multipart_upload(&b, &key("mp"), owner, ObjectAttributes::default())
            .await
            .expect("upload");
        let part = engine
            .upload_part(
                &b,
                &key("mp"),
                &upload,
                1,
                stage(&engine, b"part").await,
                None,
            )
            .await
            .expect("part");
        engine
            .list_multipart_uploads(
                &b,
                &UploadsQuery {
                    max_uploads: 10,
                    ..UploadsQuery::default()
                },
            )
            .await
            .expect("uploads");
        engine
            .complete_multipart_upload(
                &b,
                &key("mp"),
                &upload,
                &[(1, part.etag)],
                WriteCondition::None,
            )
            .await
            .expect("complete");
        let page = engine
            .list_objects(
                &b,
                &ListQuery {
                    max_keys: 10,
                    ..ListQuery::default()
                },
            )
            .await
            .expect("list");
        assert_eq!(page.objects.len(), 3);
        engine.sweep().await.expect("sweep");
        engine.delete_object(&b, &key("k")).await.expect("delete");
    };
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .expect("no operation waits for a second connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_defaults_put_everything_in_the_data_dir() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("depot");
    let engine = Engine::open(EngineConfig::embedded(&data_dir))
        .await
        .expect("opens");
    engine.ping().await.expect("ready");
    let (_, b) = user_and_bucket(&engine, "embedded").await;
    put(&engine, &b, "x", b"y").await;
    for expected in ["depot.db", "master.key", "blobs", "tmp"] {
        assert!(data_dir.join(expected).exists(), "{expected} is missing");
    }
    let debug = format!("{engine:?} {:?}", EngineConfig::embedded(&data_dir));
    assert!(debug.contains("depot.db"));
}

/// The protocol layer runs engine calls on a multi-threaded server: every future must be
/// `Send`, and the engine `Send + Sync`. Checked by the compiler; nothing here runs.
#[allow(
    dead_code,
    unreachable_code,
    unused_variables,
    clippy::diverging_sub_expression
)]
fn futures_are_send(engine: Engine) {
    fn send<T: Send>(_: T) {}
    fn send_sync<T: Send + Sync>(_: &T) {}
    send_sync(&engine);
    let b = bucket("b");
    let k = key("k");
    let blob: depot_engine::StagedBlob = unimplemented!();
    send(Engine::open(EngineConfig::embedded("x")));
    send(engine.ping());
    send(engine.stage(body(b"", 1), 1));
    send(engine.ensure_root_user(&email("a@b.c"), None));
    send(engine.create_user(&email("a@b.c"), false));
    send(engine.user(depot_domain::UserId::NIL));
    send(engine.create_access_key(depot_domain::UserId::NIL, None));
    send(engine.access_key(""));
    send(engine.create_bucket(depot_domain::UserId::NIL, &b, ""));
    send(engine.bucket(&b));
    send(engine.list_buckets(depot_domain::UserId::NIL));
    send(engine.delete_bucket(&b));
    send(engine.put_object(
        &b,
        &k,
        blob,
        ObjectAttributes::default(),
        WriteCondition::None,
    ));
    send(engine.head_object(&b, &k));
    send(engine.open_object(&b, &k));
    send(engine.delete_object(&b, &k));
    send(engine.copy_object(&b, &k, &b, &k, None, WriteCondition::None));
    send(engine.list_objects(&b, &ListQuery::default()));
    send(engine.create_multipart_upload(
        &b,
        &k,
        depot_domain::UserId::NIL,
        ObjectAttributes::default(),
    ));
    let blob: depot_engine::StagedBlob = unimplemented!();
    send(engine.upload_part(&b, &k, "", 1, blob, None));
    send(engine.upload_part_copy(&b, &k, "", 1, &b, &k, None));
    send(engine.complete_multipart_upload(&b, &k, "", &[], WriteCondition::None));
    send(engine.abort_multipart_upload(&b, &k, ""));
    send(engine.list_parts(&b, &k, "", 0, 0));
    send(engine.list_multipart_uploads(&b, &UploadsQuery::default()));
    send(engine.sweep());
}

/// The engine caches metadata because it is a SQLite database's only user: a second engine
/// on the same database is refused while the first is open, and admitted once it is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_admits_one_engine_at_a_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = Engine::open(EngineConfig::embedded(dir.path()))
        .await
        .expect("opens");
    let refused = Engine::open(EngineConfig::embedded(dir.path()))
        .await
        .expect_err("a second engine on the same database");
    match refused {
        depot_engine::EngineError::Io(error) => {
            assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
            assert!(
                error.to_string().contains("in use by another process"),
                "{error}"
            );
        }
        other => panic!("refused with {other:?}"),
    }
    // Other spellings of the same file meet the same lock: a `.` in the path, a symbolic link.
    let database = dir.path().join("depot.db");
    let alias = dir.path().join("alias.sqlite3");
    std::os::unix::fs::symlink(&database, &alias).expect("symlink");
    for url in [
        format!("sqlite://{}/./depot.db?mode=rwc", dir.path().display()),
        format!("sqlite://{}", alias.display()),
    ] {
        let other = tempfile::tempdir().expect("temp dir");
        let refused = Engine::open(EngineConfig::new(other.path(), url.clone())).await;
        assert!(
            matches!(&refused, Err(depot_engine::EngineError::Io(error)) if error.kind() == std::io::ErrorKind::WouldBlock),
            "{url}: {refused:?}"
        );
    }
    drop(first);
    Engine::open(EngineConfig::embedded(dir.path()))
        .await
        .expect("opens once the first engine is closed");
}
