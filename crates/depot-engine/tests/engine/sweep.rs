//! The sweep after a simulated crash: staging files, unreferenced blobs, abandoned uploads.

use std::time::Duration;

use depot_engine::{ObjectAttributes, SweepReport};

use crate::common::*;

engine_tests! {
    async fn leftovers_of_a_crash_are_swept(harness) {
        let engine = &harness.engine;
        let (owner, b) = user_and_bucket(engine, "crashy").await;
        put(engine, &b, "kept", b"live data").await;
        let upload = engine.create_multipart_upload(&b, &key("pending"), owner, ObjectAttributes::default()).await.expect("upload");
        engine.upload_part(&b, &key("pending"), &upload, 1, stage(engine, b"live part").await, None).await.expect("part");

        // What a crash leaves: a half-written staging file, and a blob committed to disk
        // whose row was never written.
        let data_dir = harness.data_dir();
        std::fs::write(data_dir.join("tmp").join("0123456789abcdef0123456789abcdef"), b"half a body").expect("staging file");
        let orphan_dir = data_dir.join("blobs").join("ab").join("cd");
        std::fs::create_dir_all(&orphan_dir).expect("shard");
        std::fs::write(orphan_dir.join("abcd0000000000000000000000000000"), b"never referenced").expect("orphan blob");
        // Not a name the store writes: left alone.
        std::fs::write(orphan_dir.join("README"), b"operator notes").expect("foreign file");
        assert_eq!(blob_count(&harness), 4);

        // Within the grace period nothing is touched: it could be a write in flight.
        assert_eq!(engine.sweep().await.expect("sweep"), SweepReport::default());
        assert_eq!((blob_count(&harness), staging_count(&harness)), (4, 1));

        let harness = harness.restart(|config| config.orphan_grace = Duration::ZERO).await;
        let restarted = &harness.engine;
        assert_eq!((blob_count(&harness), staging_count(&harness)), (3, 0), "opening sweeps");
        assert_eq!(restarted.sweep().await.expect("sweep"), SweepReport::default(), "nothing more to do");
        assert!(orphan_dir.join("README").exists());
        assert_eq!(get(restarted, &b, "kept").await, b"live data");
        let parts = restarted.list_parts(&b, &key("pending"), &upload, 0, 10).await.expect("the upload survives");
        assert_eq!(parts.parts.len(), 1);
    }

    async fn abandoned_uploads_are_aborted(harness) {
        let engine = &harness.engine;
        let (owner, b) = user_and_bucket(engine, "abandoned").await;
        let upload = engine.create_multipart_upload(&b, &key("old"), owner, ObjectAttributes::default()).await.expect("upload");
        engine.upload_part(&b, &key("old"), &upload, 1, stage(engine, b"forgotten").await, None).await.expect("part");
        assert_eq!(engine.sweep().await.expect("sweep").uploads_aborted, 0, "seven days have not passed");

        tokio::time::sleep(Duration::from_millis(5)).await;
        let harness = harness.restart(|config| config.abandoned_upload_age = Duration::from_millis(1)).await;
        let restarted = &harness.engine;
        assert_eq!(blob_count(&harness), 0, "the abandoned upload's parts are gone");
        assert!(matches!(restarted.list_parts(&b, &key("old"), &upload, 0, 10).await, Err(depot_engine::EngineError::NoSuchUpload)));
    }
}
