//! Objects: round trips, ranges, conditional writes and their races, copies, staging
//! failures, and keys that look like paths.

use std::collections::BTreeMap;
use std::io;

use bytes::Bytes;
use depot_engine::{EngineError, ObjectAttributes, WriteCondition};

use crate::common::*;

/// A body stream that yields some bytes and then fails.
fn failing_body(
    message: &'static str,
) -> impl futures_core::Stream<Item = Result<Bytes, io::Error>> + Send + Unpin {
    futures_util::stream::iter(vec![
        Ok(Bytes::from_static(&[7; 3000])),
        Ok(Bytes::from(vec![8; 2 * 1024 * 1024])),
        Err(io::Error::new(io::ErrorKind::ConnectionReset, message)),
    ])
}

engine_tests! {
    async fn put_head_get_delete_overwrite(harness) {
        let engine = &harness.engine;
        let (_, docs) = user_and_bucket(engine, "docs").await;
        let data = pattern(700_000, 1);
        let attrs = ObjectAttributes {
            content_type: Some("text/plain".into()),
            content_encoding: Some("gzip".into()),
            content_disposition: Some("attachment".into()),
            content_language: Some("en".into()),
            cache_control: Some("no-cache".into()),
            expires: Some("Thu, 01 Dec 2094 16:00:00 GMT".into()),
            user_metadata: BTreeMap::from([("colour".into(), "blue".into()), ("x".into(), "ünïcode".into())]),
            checksum: Some(("CRC32".into(), "AAAAAA==".into())),
            storage_class: Some("STANDARD".into()),
        };
        let blob = stage(engine, &data).await;
        assert_eq!(blob.size, 700_000);
        assert_eq!(blob.md5_hex(), md5_hex(&data));
        let stored = engine
            .put_object(&docs, &key("notes.txt"), blob, attrs.clone(), WriteCondition::None)
            .await
            .expect("put");
        assert_eq!(stored.etag, md5_hex(&data));
        assert_eq!(stored.part_count, None);
        assert_eq!(stored.version_id, None);

        let head = engine.head_object(&docs, &key("notes.txt")).await.expect("head");
        assert_eq!(head, stored, "what HEAD reads back is what PUT wrote");
        assert_eq!(head.attrs, attrs);
        assert_eq!(get(engine, &docs, "notes.txt").await, data);

        let replacement = b"short now".to_vec();
        put(engine, &docs, "notes.txt", &replacement).await;
        let head = engine.head_object(&docs, &key("notes.txt")).await.expect("head");
        assert_eq!((head.size, head.etag.as_str()), (9, md5_hex(&replacement).as_str()));
        assert_eq!(head.attrs, ObjectAttributes::default(), "attributes are replaced too");
        assert_eq!(get(engine, &docs, "notes.txt").await, replacement);
        assert_eq!(blob_count(&harness), 1, "the replaced blob is removed");

        assert!(engine.delete_object(&docs, &key("notes.txt")).await.expect("delete"));
        assert!(matches!(engine.head_object(&docs, &key("notes.txt")).await, Err(EngineError::NoSuchKey)));
        assert!(matches!(engine.open_object(&docs, &key("notes.txt")).await, Err(EngineError::NoSuchKey)));
        assert!(matches!(engine.head_object(&bucket("missing"), &key("x")).await, Err(EngineError::NoSuchBucket)));
        assert!(matches!(engine.delete_object(&bucket("missing"), &key("x")).await, Err(EngineError::NoSuchBucket)));
        assert_eq!(blob_count(&harness), 0);
        assert_eq!(staging_count(&harness), 0);
    }

    async fn empty_objects_and_ranges(harness) {
        let engine = &harness.engine;
        let (_, b) = user_and_bucket(engine, "ranges").await;
        let empty = put(engine, &b, "empty", b"").await;
        assert_eq!((empty.size, empty.etag.as_str()), (0, "d41d8cd98f00b204e9800998ecf8427e"));
        assert!(get(engine, &b, "empty").await.is_empty());

        // Larger than a block, so read block by block; then small, so read whole at open.
        let block = depot_engine::READ_BLOCK as usize;
        for (name, len) in [("big", 2 * block + 500_000), ("small", block - 1)] {
            let data = pattern(len, 9);
            put(engine, &b, name, &data).await;
            let last = len as u64;
            let ranges = [(0, 1), (0, 262_144), (262_143, 262_145), (last - 1, last), (10, last - 10),
                (block as u64 - 1, block as u64 + 1), (0, last)];
            for (start, end) in ranges.into_iter().filter(|&(_, end)| end <= last) {
                assert_eq!(get_range(engine, &b, name, start..end).await, data[start as usize..end as usize], "{name} {start}..{end}");
            }
            // Clamped to the object; an empty range is an empty body.
            assert_eq!(get_range(engine, &b, name, last - 1000..u64::MAX).await, data[len - 1000..]);
            assert!(get_range(engine, &b, name, 5..5).await.is_empty());
            assert!(get_range(engine, &b, name, last..last + 10).await.is_empty());
        }
        // Blocks are large: two and a half megabytes arrive in three reads.
        let (_, reader) = engine.open_object(&b, &key("big")).await.expect("open");
        let mut blocks = Box::pin(reader.into_stream(0..u64::MAX));
        let mut sizes = Vec::new();
        while let Some(block) = futures_util::StreamExt::next(&mut blocks).await {
            sizes.push(block.expect("block").len());
        }
        assert_eq!(sizes, [block, block, 500_000]);
        // A small object is one block.
        let (_, reader) = engine.open_object(&b, &key("small")).await.expect("open");
        let blocks: Vec<_> = futures_util::StreamExt::collect(reader.into_stream(0..u64::MAX)).await;
        assert_eq!(blocks.len(), 1);
    }

    async fn sixteen_racing_creators_one_winner(harness) {
        let engine = &harness.engine;
        let (_, b) = user_and_bucket(engine, "race").await;
        let mut tasks = Vec::new();
        for writer in 0u8..16 {
            let engine = engine.clone();
            let b = b.clone();
            tasks.push(tokio::spawn(async move {
                let data = pattern(10_000 + usize::from(writer), writer);
                let blob = stage(&engine, &data).await;
                let outcome = engine
                    .put_object(&b, &key("lock"), blob, ObjectAttributes::default(), WriteCondition::IfNoneMatchAny)
                    .await;
                (data, outcome)
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            let (data, outcome) = task.await.expect("task");
            match outcome {
                Ok(info) => winners.push((data, info)),
                Err(EngineError::PreconditionFailed) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one conditional creator wins");
        let (data, info) = &winners[0];
        assert_eq!(&get(engine, &b, "lock").await, data);
        assert_eq!(info.etag, md5_hex(data));
        assert_eq!(blob_count(&harness), 1, "the losers' blobs are gone");
        assert_eq!(staging_count(&harness), 0);
        assert_eq!(engine.bucket(&b).await.expect("bucket").object_count, 1);
    }

    async fn sixteen_racing_overwriters_keep_counters_exact(harness) {
        let engine = &harness.engine;
        let (_, b) = user_and_bucket(engine, "overwrite-race").await;
        put(engine, &b, "hot", b"seed").await;
        let mut tasks = Vec::new();
        for writer in 0u8..16 {
            let engine = engine.clone();
            let b = b.clone();
            tasks.push(tokio::spawn(async move {
                let data = pattern(1000 * (usize::from(writer) + 1), writer);
                let blob = stage(&engine, &data).await;
                engine
                    .put_object(&b, &key("hot"), blob, ObjectAttributes::default(), WriteCondition::None)
                    .await
                    .expect("unconditional writes all succeed");
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
        let head = engine.head_object(&b, &key("hot")).await.expect("head");
        let info = engine.bucket(&b).await.expect("bucket");
        assert_eq!((info.object_count, info.bytes_used), (1, head.size));
        assert_eq!(blob_count(&harness), 1);
    }

    async fn if_match(harness) {
        let engine = &harness.engine;
        let (_, b) = user_and_bucket(engine, "if-match").await;
        let write = |data: &'static [u8], condition: WriteCondition| {
            let engine = engine.clone();
            let b = b.clone();
            async move {
                let blob = stage(&engine, data).await;
                engine.put_object(&b, &key("doc"), blob, ObjectAttributes::default(), condition).await
            }
        };
        assert!(matches!(
            write(b"v1", WriteCondition::IfMatch(md5_hex(b"v1"))).await,
            Err(EngineError::NoSuchKey)
        ), "If-Match on a missing key fails (AWS answers 404 NoSuchKey)");
        write(b"v1", WriteCondition::IfNoneMatchAny).await.expect("created");
        assert!(matches!(write(b"v2", WriteCondition::IfNoneMatchAny).await, Err(EngineError::PreconditionFailed)));
        assert!(matches!(
            write(b"v2", WriteCondition::IfMatch(md5_hex(b"other"))).await,
            Err(EngineError::PreconditionFailed)
        ));
        write(b"v2", WriteCondition::IfMatch(format!("\"{}\"", md5_hex(b"v1")))).await.expect("matching ETag, quoted");
        write(b"v3", WriteCondition::IfMatch("*".into())).await.expect("any ETag");
        assert_eq!(get(engine, &b, "doc").await, b"v3");
        assert_eq!(blob_count(&harness), 1);
    }

    async fn copies(harness) {
        let engine = &harness.engine;
        let (owner, b) = user_and_bucket(engine, "copies").await;
        let (_, other) = user_and_bucket(engine, "elsewhere").await;
        let attrs = ObjectAttributes { content_type: Some("image/png".into()), ..ObjectAttributes::default() };
        let blob = stage(engine, b"picture").await;
        let source = engine
            .put_object(&b, &key("a.png"), blob, attrs.clone(), WriteCondition::None)
            .await
            .expect("put");

        let copy = engine
            .copy_object(&b, &key("a.png"), &other, &key("b.png"), None, WriteCondition::None)
            .await
            .expect("copied");
        assert_eq!((copy.etag.as_str(), &copy.attrs), (source.etag.as_str(), &attrs), "a single-part copy keeps the MD5 ETag and attributes");
        assert_eq!(get(engine, &other, "b.png").await, b"picture");

        // Onto itself with new attributes: the way S3 clients change metadata.
        let new_attrs = ObjectAttributes { content_type: Some("text/plain".into()), ..ObjectAttributes::default() };
        let same = engine
            .copy_object(&b, &key("a.png"), &b, &key("a.png"), Some(new_attrs.clone()), WriteCondition::None)
            .await
            .expect("self copy");
        assert_eq!(same.attrs, new_attrs);
        assert_eq!(engine.head_object(&b, &key("a.png")).await.expect("head").attrs, new_attrs);
        assert_eq!(get(engine, &b, "a.png").await, b"picture");

        // A multipart source: the copy's ETag is the MD5 of the whole content.
        let upload = engine.create_multipart_upload(&b, &key("mp"), owner, ObjectAttributes::default()).await.expect("upload");
        let first = pattern(5 * 1024 * 1024, 1);
        let second = pattern(1000, 2);
        let p1 = engine.upload_part(&b, &key("mp"), &upload, 1, stage(engine, &first).await, None).await.expect("p1");
        let p2 = engine.upload_part(&b, &key("mp"), &upload, 2, stage(engine, &second).await, None).await.expect("p2");
        engine
            .complete_multipart_upload(&b, &key("mp"), &upload, &[(1, p1.etag), (2, p2.etag)], WriteCondition::None)
            .await
            .expect("completed");
        let flat = engine
            .copy_object(&b, &key("mp"), &b, &key("flat"), None, WriteCondition::None)
            .await
            .expect("copied");
        let whole = [first, second].concat();
        assert_eq!((flat.etag, flat.part_count), (md5_hex(&whole), None));
        assert_eq!(get(engine, &b, "flat").await, whole);

        assert!(matches!(
            engine.copy_object(&b, &key("nope"), &b, &key("x"), None, WriteCondition::None).await,
            Err(EngineError::NoSuchKey)
        ));
        assert!(matches!(
            engine.copy_object(&b, &key("a.png"), &bucket("missing"), &key("x"), None, WriteCondition::None).await,
            Err(EngineError::NoSuchBucket)
        ));
        assert!(matches!(
            engine.copy_object(&b, &key("a.png"), &other, &key("b.png"), None, WriteCondition::IfNoneMatchAny).await,
            Err(EngineError::PreconditionFailed)
        ));
        assert_eq!(staging_count(&harness), 0);
    }

    async fn failed_or_abandoned_staging_leaves_nothing(harness) {
        let engine = &harness.engine;
        let error = engine.stage(failing_body("client went away"), u64::MAX).await.expect_err("the body fails");
        let EngineError::Body(source) = error else { panic!("expected a body error, got {error:?}") };
        // The store's own error comes back unchanged, ready to be downcast.
        let io_error = source.downcast::<io::Error>().expect("the stream's own error type");
        assert_eq!((io_error.kind(), io_error.to_string().as_str()), (io::ErrorKind::ConnectionReset, "client went away"));
        assert_eq!(staging_count(&harness), 0);

        assert!(matches!(
            engine.stage(body(&[0; 5000], 1000), 4999).await,
            Err(EngineError::EntityTooLarge)
        ));
        let exact = engine.stage(body(&[0; 5000], 1000), 5000).await.expect("exactly the limit is fine");
        assert_eq!(staging_count(&harness), 1);
        drop(exact);
        assert_eq!(staging_count(&harness), 0, "dropping an unstored blob removes its file");

        // A put into a missing bucket removes the committed blob again.
        let blob = stage(engine, b"orphan-to-be").await;
        assert!(matches!(
            engine.put_object(&bucket("missing"), &key("k"), blob, ObjectAttributes::default(), WriteCondition::None).await,
            Err(EngineError::NoSuchBucket)
        ));
        assert_eq!((blob_count(&harness), staging_count(&harness)), (0, 0));
    }

    async fn a_download_survives_an_overwrite(harness) {
        let engine = &harness.engine;
        let (_, b) = user_and_bucket(engine, "in-flight").await;
        // Larger than a block, so read from the open file rather than whole at open.
        let old = pattern(2 * depot_engine::READ_BLOCK as usize + 1, 3);
        put(engine, &b, "file", &old).await;
        let (info, reader) = engine.open_object(&b, &key("file")).await.expect("open");
        put(engine, &b, "file", b"new").await;
        engine.delete_object(&b, &key("file")).await.expect("deleted");
        assert_eq!(blob_count(&harness), 0, "the old blob is unlinked");
        assert_eq!(info.size, old.len() as u64);
        assert_eq!(read_all(reader.into_stream(0..u64::MAX)).await, old, "but the open download completes");
    }

    async fn path_like_keys_stay_in_the_database(harness) {
        let engine = &harness.engine;
        let (_, b) = user_and_bucket(engine, "paths").await;
        let before_outside = files_under(harness.dir.path());
        let keys = ["../../etc/passwd", "/etc/shadow", "a//b/../c", "..", "nul\0byte", "%2e%2e/x"];
        for (index, text) in keys.iter().enumerate() {
            put(engine, &b, text, format!("content {index}").as_bytes()).await;
        }
        for (index, text) in keys.iter().enumerate() {
            assert_eq!(get(engine, &b, text).await, format!("content {index}").as_bytes());
            assert_eq!(engine.head_object(&b, &key(text)).await.expect("head").key.as_str(), *text);
        }
        let data_dir = harness.data_dir();
        for file in files_under(&data_dir) {
            let allowed = file.starts_with("blobs") || file.starts_with("tmp")
                || file == std::path::Path::new("master.key");
            assert!(allowed, "unexpected file {} in the data directory", file.display());
            if file.starts_with("blobs") {
                let name = file.file_name().and_then(|name| name.to_str()).unwrap_or_default();
                assert!(name.len() == 32 && name.bytes().all(|c| c.is_ascii_hexdigit()), "{}", file.display());
            }
        }
        let after_outside = files_under(harness.dir.path());
        let new_outside: Vec<_> = after_outside
            .difference(&before_outside)
            .filter(|path| !path.starts_with("data"))
            .filter(|path| !path.to_string_lossy().starts_with("depot.sqlite3"))
            .collect();
        assert!(new_outside.is_empty(), "files appeared outside the data directory: {new_outside:?}");
        assert_eq!(files_under(&data_dir.join("blobs")).len(), keys.len());
    }
}
