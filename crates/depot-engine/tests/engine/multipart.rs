//! Multipart uploads: completion without copying, the ETag, every error CompleteMultipartUpload
//! defines, aborts, part replacement, ListParts and UploadPartCopy.

use depot_engine::{EngineError, MIN_PART_SIZE, ObjectAttributes, WriteCondition};
use md5::{Digest, Md5};

use crate::common::*;

const FIVE_MIB: usize = 5 * 1024 * 1024;

/// The multipart ETag computed independently: MD5 of the concatenated binary part MD5s.
fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut outer = Md5::new();
    for part in parts {
        outer.update(Md5::digest(part));
    }
    format!("{}-{}", hex::encode(outer.finalize()), parts.len())
}

engine_tests! {
    async fn complete_joins_parts_without_copying(harness) {
        let engine = &harness.engine;
        let (owner, b) = user_and_bucket(engine, "mp-join").await;
        let attrs = ObjectAttributes { content_type: Some("video/mp4".into()), checksum: Some(("CRC32C".into(), String::new())), ..ObjectAttributes::default() };
        let upload = engine.create_multipart_upload(&b, &key("movie"), owner, attrs).await.expect("upload");
        assert_eq!(upload.len(), 32);
        let one = pattern(FIVE_MIB, 1);
        let two = pattern(FIVE_MIB + 17, 2);
        let three = pattern(12_345, 3);
        let stray = pattern(100, 4);
        let p1 = engine.upload_part(&b, &key("movie"), &upload, 1, stage(engine, &one).await, Some("c1==".into())).await.expect("p1");
        assert_eq!((p1.etag.as_str(), p1.size, p1.checksum.as_deref()), (md5_hex(&one).as_str(), MIN_PART_SIZE, Some("c1==")));
        let p3 = engine.upload_part(&b, &key("movie"), &upload, 3, stage(engine, &two).await, None).await.expect("p3");
        let p7 = engine.upload_part(&b, &key("movie"), &upload, 7, stage(engine, &three).await, None).await.expect("p7");
        engine.upload_part(&b, &key("movie"), &upload, 9, stage(engine, &stray).await, None).await.expect("p9");
        assert_eq!(blob_count(&harness), 4);

        let info = engine
            .complete_multipart_upload(
                &b,
                &key("movie"),
                &upload,
                &[(1, format!("\"{}\"", p1.etag)), (3, p3.etag.clone()), (7, p7.etag.to_uppercase())],
                WriteCondition::None,
            )
            .await
            .expect("completed");
        assert_eq!(info.etag, multipart_etag(&[&one, &two, &three]));
        assert_eq!((info.size, info.part_count), ((one.len() + two.len() + three.len()) as u64, Some(3)));
        assert_eq!(info.attrs.content_type.as_deref(), Some("video/mp4"));
        assert_eq!(blob_count(&harness), 3, "the unlisted part is removed, the listed ones are the object");
        assert_eq!(engine.head_object(&b, &key("movie")).await.expect("head"), info);

        let whole = [one.as_slice(), two.as_slice(), three.as_slice()].concat();
        assert_eq!(get(engine, &b, "movie").await, whole);
        // Ranges that cross segment boundaries.
        let boundary = FIVE_MIB as u64;
        for (start, end) in [(boundary - 10, boundary + 10), (boundary - 1, 2 * boundary + 30), (0, whole.len() as u64), (2 * boundary + 17, 2 * boundary + 18)] {
            assert_eq!(get_range(engine, &b, "movie", start..end).await, whole[start as usize..end as usize], "{start}..{end}");
        }
        assert!(matches!(
            engine.list_parts(&b, &key("movie"), &upload, 0, 10).await,
            Err(EngineError::NoSuchUpload)
        ), "a completed upload is gone");
        // A retried completion (the first response was lost) gets the same object back...
        let retried = engine
            .complete_multipart_upload(&b, &key("movie"), &upload, &[(1, p1.etag.clone()), (3, p3.etag.clone()), (7, p7.etag.clone())], WriteCondition::None)
            .await
            .expect("a retry of the completion succeeds");
        assert_eq!(retried, info);
        // ...but not for different parts.
        assert!(matches!(
            engine.complete_multipart_upload(&b, &key("movie"), &upload, &[(1, p1.etag.clone())], WriteCondition::None).await,
            Err(EngineError::NoSuchUpload)
        ));
        let counters = engine.bucket(&b).await.expect("bucket");
        assert_eq!((counters.object_count, counters.bytes_used), (1, whole.len() as u64));
    }

    async fn completion_errors(harness) {
        let engine = &harness.engine;
        let (owner, b) = user_and_bucket(engine, "mp-errors").await;
        let k = key("obj");
        let upload = engine.create_multipart_upload(&b, &k, owner, ObjectAttributes::default()).await.expect("upload");
        let small = pattern(1000, 1);
        let big = pattern(FIVE_MIB, 2);
        let p1 = engine.upload_part(&b, &k, &upload, 1, stage(engine, &small).await, None).await.expect("p1");
        let p2 = engine.upload_part(&b, &k, &upload, 2, stage(engine, &big).await, None).await.expect("p2");
        let complete = |parts: Vec<(u16, String)>| {
            let engine = engine.clone();
            let b = b.clone();
            let upload = upload.clone();
            async move { engine.complete_multipart_upload(&b, &key("obj"), &upload, &parts, WriteCondition::None).await }
        };
        assert!(matches!(complete(vec![]).await, Err(EngineError::InvalidArgument(_))));
        assert!(matches!(complete(vec![(2, p2.etag.clone()), (1, p1.etag.clone())]).await, Err(EngineError::InvalidPartOrder)));
        assert!(matches!(complete(vec![(1, p1.etag.clone()), (1, p1.etag.clone())]).await, Err(EngineError::InvalidPartOrder)));
        assert!(matches!(complete(vec![(1, p1.etag.clone()), (3, p2.etag.clone())]).await, Err(EngineError::InvalidPart)));
        assert!(matches!(complete(vec![(1, md5_hex(b"other"))]).await, Err(EngineError::InvalidPart)));
        assert!(matches!(complete(vec![(1, p1.etag.clone()), (2, p2.etag.clone())]).await, Err(EngineError::EntityTooSmall)));
        assert!(matches!(
            engine.complete_multipart_upload(&b, &key("other-key"), &upload, &[(2, p2.etag.clone())], WriteCondition::None).await,
            Err(EngineError::NoSuchUpload)
        ), "an upload id does not reach another key's upload");
        assert!(matches!(
            engine.complete_multipart_upload(&b, &k, "0000000000000000ffffffffffffffff", &[(2, p2.etag.clone())], WriteCondition::None).await,
            Err(EngineError::NoSuchUpload)
        ));
        assert!(matches!(
            engine.upload_part(&b, &k, &upload, 0, stage(engine, b"x").await, None).await,
            Err(EngineError::InvalidArgument(_))
        ));
        assert!(matches!(
            engine.upload_part(&b, &k, &upload, 10_001, stage(engine, b"x").await, None).await,
            Err(EngineError::InvalidArgument(_))
        ));
        // Nothing was consumed by the failures: a small last part alone is fine.
        put(engine, &b, "obj", b"exists").await;
        assert!(matches!(
            engine.complete_multipart_upload(&b, &k, &upload, &[(1, p1.etag.clone())], WriteCondition::IfNoneMatchAny).await,
            Err(EngineError::PreconditionFailed)
        ));
        let done = complete(vec![(1, p1.etag.clone())]).await.expect("one small part is a valid upload");
        assert_eq!(done.etag, multipart_etag(&[&small]));
        assert_eq!(get(engine, &b, "obj").await, small);
        assert_eq!(blob_count(&harness), 1);
        assert_eq!(staging_count(&harness), 0);
    }

    async fn abort_and_replace_parts(harness) {
        let engine = &harness.engine;
        let (owner, b) = user_and_bucket(engine, "mp-abort").await;
        let k = key("obj");
        let upload = engine.create_multipart_upload(&b, &k, owner, ObjectAttributes::default()).await.expect("upload");
        engine.upload_part(&b, &k, &upload, 1, stage(engine, b"first try").await, None).await.expect("p1");
        let again = engine.upload_part(&b, &k, &upload, 1, stage(engine, b"second try").await, None).await.expect("p1 again");
        assert_eq!(blob_count(&harness), 1, "re-uploading a part number replaces the part");
        let page = engine.list_parts(&b, &k, &upload, 0, 100).await.expect("parts");
        assert_eq!(page.parts, [again]);
        assert!(matches!(
            engine.upload_part(&b, &key("elsewhere"), &upload, 2, stage(engine, b"x").await, None).await,
            Err(EngineError::NoSuchUpload)
        ));
        assert!(matches!(engine.abort_multipart_upload(&b, &key("elsewhere"), &upload).await, Err(EngineError::NoSuchUpload)));
        engine.abort_multipart_upload(&b, &k, &upload).await.expect("aborted");
        assert_eq!((blob_count(&harness), staging_count(&harness)), (0, 0), "parts are removed at once");
        assert!(matches!(engine.abort_multipart_upload(&b, &k, &upload).await, Err(EngineError::NoSuchUpload)));
        assert!(matches!(
            engine.upload_part(&b, &k, &upload, 2, stage(engine, b"late").await, None).await,
            Err(EngineError::NoSuchUpload)
        ));
        assert_eq!(blob_count(&harness), 0, "a part for a gone upload leaves no blob");
    }

    async fn racing_uploads_of_one_part_number(harness) {
        let engine = &harness.engine;
        let (owner, b) = user_and_bucket(engine, "mp-race").await;
        let upload = engine.create_multipart_upload(&b, &key("obj"), owner, ObjectAttributes::default()).await.expect("upload");
        let mut tasks = Vec::new();
        for writer in 0u8..12 {
            let engine = engine.clone();
            let b = b.clone();
            let upload = upload.clone();
            tasks.push(tokio::spawn(async move {
                let blob = stage(&engine, &pattern(1000, writer)).await;
                engine.upload_part(&b, &key("obj"), &upload, 1, blob, None).await.expect("every upload of a part succeeds")
            }));
        }
        let mut etags = Vec::new();
        for task in tasks {
            etags.push(task.await.expect("task").etag);
        }
        let page = engine.list_parts(&b, &key("obj"), &upload, 0, 10).await.expect("parts");
        assert_eq!(page.parts.len(), 1);
        assert!(etags.contains(&page.parts[0].etag));
        assert_eq!(blob_count(&harness), 1, "the replaced parts' blobs are gone");
    }

    async fn list_parts_pages(harness) {
        let engine = &harness.engine;
        let (owner, b) = user_and_bucket(engine, "mp-list").await;
        let k = key("obj");
        let attrs = ObjectAttributes { storage_class: Some("STANDARD".into()), ..ObjectAttributes::default() };
        let upload = engine.create_multipart_upload(&b, &k, owner, attrs.clone()).await.expect("upload");
        for number in [1u16, 2, 5, 9, 10] {
            engine.upload_part(&b, &k, &upload, number, stage(engine, &[number as u8; 10]).await, None).await.expect("part");
        }
        let first = engine.list_parts(&b, &k, &upload, 0, 2).await.expect("page");
        assert_eq!(first.parts.iter().map(|part| part.part_number).collect::<Vec<_>>(), [1, 2]);
        assert_eq!((first.is_truncated, first.next_part_number_marker), (true, Some(2)));
        assert_eq!((first.upload.owner, first.upload.key.as_str(), &first.upload.attrs), (owner, "obj", &attrs));
        let rest = engine.list_parts(&b, &k, &upload, 2, 10).await.expect("page");
        assert_eq!(rest.parts.iter().map(|part| part.part_number).collect::<Vec<_>>(), [5, 9, 10]);
        assert_eq!((rest.is_truncated, rest.next_part_number_marker), (false, Some(10)));
        assert!(engine.list_parts(&b, &k, &upload, 0, 0).await.expect("page").parts.is_empty());
    }

    async fn upload_part_copy(harness) {
        let engine = &harness.engine;
        let (owner, b) = user_and_bucket(engine, "mp-copy").await;
        let source = pattern(FIVE_MIB + 500, 5);
        put(engine, &b, "source", &source).await;
        let k = key("assembled");
        let upload = engine.create_multipart_upload(&b, &k, owner, ObjectAttributes::default()).await.expect("upload");
        let p1 = engine
            .upload_part_copy(&b, &k, &upload, 1, &b, &key("source"), None)
            .await
            .expect("whole copy");
        assert_eq!(p1.etag, md5_hex(&source));
        let p2 = engine
            .upload_part_copy(&b, &k, &upload, 2, &b, &key("source"), Some(100..350))
            .await
            .expect("ranged copy");
        assert_eq!((p2.size, p2.etag.as_str()), (250, md5_hex(&source[100..350]).as_str()));
        assert!(matches!(
            engine.upload_part_copy(&b, &k, &upload, 3, &b, &key("source"), Some(0..(source.len() as u64 + 1))).await,
            Err(EngineError::InvalidRange)
        ));
        assert!(matches!(
            engine.upload_part_copy(&b, &k, &upload, 3, &b, &key("missing"), None).await,
            Err(EngineError::NoSuchKey)
        ));
        assert!(matches!(
            engine.upload_part_copy(&b, &k, "no-such-upload", 3, &b, &key("source"), None).await,
            Err(EngineError::NoSuchUpload)
        ));
        let done = engine
            .complete_multipart_upload(&b, &k, &upload, &[(1, p1.etag), (2, p2.etag)], WriteCondition::None)
            .await
            .expect("completed");
        assert_eq!(done.etag, multipart_etag(&[&source, &source[100..350]]));
        assert_eq!(get(engine, &b, "assembled").await, [source.as_slice(), &source[100..350]].concat());
        assert_eq!(staging_count(&harness), 0);
    }

    async fn checksums_are_kept_and_checked(harness) {
        let engine = &harness.engine;
        let (owner, b) = user_and_bucket(engine, "mp-sums").await;
        let k = key("summed");
        // The upload keeps (algorithm, checksum type) as given; the values come per part.
        let attrs = ObjectAttributes { checksum: Some(("SHA256".into(), "COMPOSITE".into())), ..ObjectAttributes::default() };
        let upload = engine.create_multipart_upload(&b, &k, owner, attrs.clone()).await.expect("upload");
        let info = engine.multipart_upload(&b, &k, &upload).await.expect("the upload");
        assert_eq!((info.upload_id.as_str(), &info.attrs), (upload.as_str(), &attrs));
        assert!(matches!(engine.multipart_upload(&b, &key("other"), &upload).await, Err(EngineError::NoSuchUpload)));
        assert!(matches!(engine.multipart_upload_parts(&b, &k, "no-such-upload").await, Err(EngineError::NoSuchUpload)));
        // An algorithm without a recorded type reads back with an empty one.
        let untyped = ObjectAttributes { checksum: Some(("CRC32".into(), String::new())), ..ObjectAttributes::default() };
        let other = engine.create_multipart_upload(&b, &key("untyped"), owner, untyped.clone()).await.expect("upload");
        assert_eq!(engine.multipart_upload(&b, &key("untyped"), &other).await.expect("the upload").attrs, untyped);

        let one = pattern(FIVE_MIB, 1);
        let two = pattern(10, 2);
        let p1 = engine.upload_part(&b, &k, &upload, 1, stage(engine, &one).await, Some("c1==".into())).await.expect("p1");
        let p2 = engine.upload_part(&b, &k, &upload, 2, stage(engine, &two).await, Some("c2==".into())).await.expect("p2");
        let parts = engine.multipart_upload_parts(&b, &k, &upload).await.expect("parts");
        assert_eq!(parts, [p1.clone(), p2.clone()]);
        assert_eq!(parts.iter().map(|part| part.size).collect::<Vec<_>>(), [FIVE_MIB as u64, 10]);

        let whole = Some(("SHA256".to_owned(), "d2hvbGU=-2".to_owned()));
        let complete = |second: Option<&str>| {
            let engine = engine.clone();
            let (b, k, upload) = (b.clone(), k.clone(), upload.clone());
            let parts = vec![(1, p1.etag.clone(), Some("c1==".to_owned())), (2, p2.etag.clone(), second.map(str::to_owned))];
            let whole = whole.clone();
            async move { engine.complete_multipart_upload_with_checksums(&b, &k, &upload, &parts, whole, WriteCondition::None).await }
        };
        // A listed checksum that is not the stored one is a part not uploaded as listed.
        assert!(matches!(complete(Some("c1==")).await, Err(EngineError::InvalidPart)));
        assert_eq!(engine.list_parts(&b, &k, &upload, 0, 10).await.expect("still in progress").parts.len(), 2);
        // A part the caller names no checksum for is not compared.
        let done = complete(None).await.expect("completed");
        assert_eq!(done.attrs.checksum, whole, "the object gets the caller's checksum");
        assert_eq!((done.part_count, done.size), (Some(2), FIVE_MIB as u64 + 10));
        assert_eq!(engine.head_object(&b, &k).await.expect("head"), done);
        // The retry of a completion whose answer was lost gets the object, checksum and all.
        assert_eq!(complete(Some("c2==")).await.expect("retried"), done);
        assert_eq!(get(engine, &b, "summed").await, [one.as_slice(), two.as_slice()].concat());

        // The plain completion stores no checksum, even for an upload with an algorithm.
        let p = engine.upload_part(&b, &key("untyped"), &other, 1, stage(engine, b"x").await, Some("AAAAAA==".into())).await.expect("part");
        let plain = engine
            .complete_multipart_upload(&b, &key("untyped"), &other, &[(1, p.etag)], WriteCondition::None)
            .await
            .expect("completed");
        assert_eq!(plain.attrs.checksum, None);
    }
}
