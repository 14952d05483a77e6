//! Listing: byte order, prefixes and delimiters, markers, and pagination checked against a
//! model on both databases.

use std::collections::BTreeSet;

use depot_domain::BucketName;
use depot_engine::{Engine, EngineError, ListPage, ListQuery, ObjectAttributes, UploadsQuery};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::common::*;

fn query(
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<&str>,
    max_keys: usize,
) -> ListQuery {
    ListQuery {
        prefix: prefix.to_owned(),
        delimiter: delimiter.map(str::to_owned),
        start_after: start_after.map(str::to_owned),
        max_keys,
    }
}

/// Keys and common prefixes of a page, in one list, prefixes marked with a trailing `*`.
fn shown(page: &ListPage) -> Vec<String> {
    let mut entries: Vec<String> = page
        .objects
        .iter()
        .map(|object| object.key.as_str().to_owned())
        .chain(
            page.common_prefixes
                .iter()
                .map(|prefix| format!("{prefix}*")),
        )
        .collect();
    entries.sort_by(|a, b| a.trim_end_matches('*').cmp(b.trim_end_matches('*')));
    entries
}

/// Every entry of a listing, page by page, following `next_start_after`.
async fn list_all(
    engine: &Engine,
    bucket: &BucketName,
    prefix: &str,
    delimiter: Option<&str>,
    page: usize,
) -> Vec<String> {
    let mut all = Vec::new();
    let mut start_after: Option<String> = None;
    for _ in 0..10_000 {
        let listed = engine
            .list_objects(
                bucket,
                &query(prefix, delimiter, start_after.as_deref(), page),
            )
            .await
            .expect("listed");
        assert!(shown(&listed).len() <= page);
        all.extend(shown(&listed));
        if !listed.is_truncated {
            assert_eq!(listed.next_start_after, None);
            return all;
        }
        start_after = Some(
            listed
                .next_start_after
                .clone()
                .expect("a truncated page says where to go on"),
        );
    }
    panic!("pagination did not end");
}

/// The listing S3 defines, computed the obvious way.
fn model(keys: &BTreeSet<String>, prefix: &str, delimiter: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in keys.iter().filter(|key| key.starts_with(prefix)) {
        let rolled = delimiter.filter(|d| !d.is_empty()).and_then(|d| {
            key[prefix.len()..]
                .find(d)
                .map(|at| format!("{}*", &key[..prefix.len() + at + d.len()]))
        });
        match rolled {
            Some(common) if out.last() == Some(&common) => {}
            Some(common) => out.push(common),
            None => out.push(key.clone()),
        }
    }
    out
}

engine_tests! {
    async fn utf8_binary_order_with_and_without_delimiter(harness) {
        let engine = &harness.engine;
        let (_, b) = user_and_bucket(engine, "order").await;
        // Bytewise: "A" < "a" < "a/b" < "a0" < "z" < "é" (0xC3 0xA9) < "中". A collation would
        // put "é" next to "e" and might put "a0" before "a/b".
        for key_text in ["z", "a0", "é", "a/b", "a", "中", "A", "a/c/d", "e"] {
            put(engine, &b, key_text, key_text.as_bytes()).await;
        }
        let flat = engine.list_objects(&b, &query("", None, None, 1000)).await.expect("listed");
        let keys: Vec<&str> = flat.objects.iter().map(|object| object.key.as_str()).collect();
        assert_eq!(keys, ["A", "a", "a/b", "a/c/d", "a0", "e", "z", "é", "中"]);
        assert!(!flat.is_truncated);

        let rolled = engine.list_objects(&b, &query("", Some("/"), None, 1000)).await.expect("listed");
        assert_eq!(shown(&rolled), ["A", "a", "a/*", "a0", "e", "z", "é", "中"]);
        let inside = engine.list_objects(&b, &query("a/", Some("/"), None, 1000)).await.expect("listed");
        assert_eq!(shown(&inside), ["a/b", "a/c/*"]);
        let after = engine.list_objects(&b, &query("", None, Some("a0"), 1000)).await.expect("listed");
        assert_eq!(shown(&after), ["e", "z", "é", "中"]);
        let listed = &flat.objects[1];
        assert_eq!((listed.size, listed.etag.as_str()), (1, md5_hex(b"a").as_str()));
    }

    async fn max_keys_and_markers(harness) {
        let engine = &harness.engine;
        let (_, b) = user_and_bucket(engine, "pages").await;
        for key_text in ["a", "b/1", "b/2", "c"] {
            put(engine, &b, key_text, b"x").await;
        }
        let none = engine.list_objects(&b, &query("", None, None, 0)).await.expect("listed");
        assert_eq!((shown(&none).len(), none.is_truncated, none.next_start_after), (0, false, None));

        let first = engine.list_objects(&b, &query("", Some("/"), None, 2)).await.expect("listed");
        assert_eq!(shown(&first), ["a", "b/*"]);
        assert!(first.is_truncated);
        assert_eq!(first.next_start_after.as_deref(), Some("b/"));
        // Continuing after a common prefix skips everything under it.
        let second = engine.list_objects(&b, &query("", Some("/"), Some("b/"), 2)).await.expect("listed");
        assert_eq!((shown(&second), second.is_truncated), (vec!["c".to_owned()], false));
        // A marker inside a prefix does not bring the prefix back.
        let inside = engine.list_objects(&b, &query("", Some("/"), Some("b/1"), 5)).await.expect("listed");
        assert_eq!(shown(&inside), ["c"]);
        // Exactly max-keys entries left: not truncated.
        let exact = engine.list_objects(&b, &query("", Some("/"), None, 3)).await.expect("listed");
        assert_eq!((shown(&exact).len(), exact.is_truncated), (3, false));
        // Over 1000 counts as 1000; a prefix past every key is empty.
        assert_eq!(engine.list_objects(&b, &query("", None, None, 5000)).await.expect("listed").objects.len(), 4);
        assert!(shown(&engine.list_objects(&b, &query("zzz", None, None, 10)).await.expect("listed")).is_empty());
        assert!(matches!(engine.list_objects(&bucket("missing"), &query("", None, None, 10)).await, Err(EngineError::NoSuchBucket)));
    }

    async fn pagination_over_many_prefixes(harness) {
        let engine = &harness.engine;
        let (_, b) = user_and_bucket(engine, "many").await;
        let mut keys = BTreeSet::new();
        for dir in 0..7 {
            for file in 0..(dir * 3) {
                keys.insert(format!("d{dir}/f{file:02}"));
            }
            keys.insert(format!("d{dir}"));
        }
        keys.insert("top".to_owned());
        for key_text in &keys {
            put(engine, &b, key_text, b"").await;
        }
        for page in [1, 2, 3, 7, 1000] {
            assert_eq!(list_all(engine, &b, "", Some("/"), page).await, model(&keys, "", Some("/")), "page {page}");
            assert_eq!(list_all(engine, &b, "", None, page).await, model(&keys, "", None), "page {page}");
            assert_eq!(list_all(engine, &b, "d4/", Some("/"), page).await, model(&keys, "d4/", Some("/")), "page {page}");
        }
    }

    async fn multipart_upload_listing(harness) {
        let engine = &harness.engine;
        let (owner, b) = user_and_bucket(engine, "uploads").await;
        let mut ids = Vec::new();
        for key_text in ["a", "b/1", "b/2", "a", "c"] {
            let id = engine
                .create_multipart_upload(&b, &key(key_text), owner, ObjectAttributes::default())
                .await
                .expect("upload");
            ids.push((key_text, id));
        }
        let all = engine.list_multipart_uploads(&b, &UploadsQuery { max_uploads: 1000, ..UploadsQuery::default() }).await.expect("listed");
        let listed: Vec<(&str, &str)> = all.uploads.iter().map(|upload| (upload.key.as_str(), upload.upload_id.as_str())).collect();
        // By key, then by initiation (the two uploads of "a" in creation order).
        assert_eq!(listed, [("a", ids[0].1.as_str()), ("a", ids[3].1.as_str()), ("b/1", ids[1].1.as_str()), ("b/2", ids[2].1.as_str()), ("c", ids[4].1.as_str())]);

        let first = engine
            .list_multipart_uploads(&b, &UploadsQuery { max_uploads: 1, ..UploadsQuery::default() })
            .await
            .expect("listed");
        assert!(first.is_truncated);
        assert_eq!((first.next_key_marker.as_deref(), first.next_upload_id_marker.as_deref()), (Some("a"), Some(ids[0].1.as_str())));
        let second = engine
            .list_multipart_uploads(&b, &UploadsQuery {
                delimiter: Some("/".into()),
                key_marker: first.next_key_marker.clone(),
                upload_id_marker: first.next_upload_id_marker.clone(),
                max_uploads: 2,
                ..UploadsQuery::default()
            })
            .await
            .expect("listed");
        assert_eq!(second.uploads.iter().map(|upload| upload.upload_id.as_str()).collect::<Vec<_>>(), [ids[3].1.as_str()]);
        assert_eq!(second.common_prefixes, ["b/"]);
        assert!(second.is_truncated);
        assert_eq!((second.next_key_marker.as_deref(), second.next_upload_id_marker.as_deref()), (Some("b/"), None));
        let third = engine
            .list_multipart_uploads(&b, &UploadsQuery {
                delimiter: Some("/".into()),
                key_marker: second.next_key_marker.clone(),
                max_uploads: 2,
                ..UploadsQuery::default()
            })
            .await
            .expect("listed");
        assert_eq!(third.uploads.iter().map(|upload| upload.key.as_str()).collect::<Vec<_>>(), ["c"]);
        assert!(!third.is_truncated);
    }
}

/// Random key sets, prefixes, delimiters and page sizes: paginating never repeats or skips
/// an entry, and the result is the model's. One engine per backend, a bucket per case.
fn pagination_property(backend: Backend, cases: u32) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let Some(harness) = runtime.block_on(Harness::start(backend)) else {
        return;
    };
    let owner = runtime
        .block_on(
            harness
                .engine
                .create_user(&email("prop@example.com"), false),
        )
        .expect("user")
        .id;
    let alphabet = prop_oneof![
        Just('a'),
        Just('b'),
        Just('/'),
        Just('é'),
        Just('0'),
        Just('-')
    ];
    let key_strategy = proptest::collection::vec(alphabet, 1..6)
        .prop_map(|chars| chars.into_iter().collect::<String>());
    let strategy = (
        proptest::collection::btree_set(key_strategy, 0..40),
        prop_oneof![Just(""), Just("a"), Just("a/"), Just("é")],
        prop_oneof![
            Just(None),
            Just(Some("/")),
            Just(Some("é")),
            Just(Some("b/"))
        ],
        1usize..6,
    );
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicU32::new(0);
    let outcome = runner.run(&strategy, |(keys, prefix, delimiter, page)| {
        let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let engine = harness.engine.clone();
        let listed = runtime.block_on(async {
            let b = bucket(&format!("prop-{case}"));
            engine
                .create_bucket(owner, &b, "us-east-1")
                .await
                .expect("bucket");
            for key_text in &keys {
                put(&engine, &b, key_text, b"").await;
            }
            list_all(&engine, &b, prefix, delimiter, page).await
        });
        prop_assert_eq!(listed, model(&keys, prefix, delimiter));
        Ok(())
    });
    // The pool is closed inside the runtime that owns it.
    runtime.block_on(async move { drop(harness) });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

#[test]
fn pagination_matches_the_model_sqlite() {
    pagination_property(Backend::Sqlite, 48);
}

#[test]
fn pagination_matches_the_model_postgres() {
    pagination_property(Backend::Postgres, 24);
}
