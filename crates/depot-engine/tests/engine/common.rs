//! The test harness: an engine on SQLite in a temporary directory, or on a PostgreSQL
//! database of its own, and the `engine_tests!` macro that runs each test on both.
//!
//! PostgreSQL is reached at `DEPOT_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test creates `depot_test_<random>` there
//! and drops it afterwards, so tests run in parallel. `DEPOT_TEST_POSTGRES_URL=off` skips
//! the PostgreSQL variants (they print that they did).

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use depot_domain::{BucketName, Email, ObjectKey, UserId};
use depot_engine::{
    Engine, EngineConfig, ObjectAttributes, ObjectInfo, StagedBlob, WriteCondition,
};
use futures_util::StreamExt;
use rand::RngCore;
use sea_orm::{ConnectionTrait, Database};

pub(crate) const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// A running engine with its data directory and database, torn down on drop.
pub(crate) struct Harness {
    pub(crate) engine: Engine,
    database_url: String,
    /// Held for its `Drop`, which removes the database. Declared after `engine`, so the
    /// engine's pool closes first.
    _postgres: Option<PostgresDatabase>,
    pub(crate) dir: tempfile::TempDir,
}

impl Harness {
    /// `None` when the backend is switched off.
    pub(crate) async fn start(backend: Backend) -> Option<Harness> {
        Self::start_with(backend, |_| {}).await
    }

    pub(crate) async fn start_with(
        backend: Backend,
        configure: impl FnOnce(&mut EngineConfig),
    ) -> Option<Harness> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (database_url, postgres) = match backend {
            Backend::Sqlite => (
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("depot.sqlite3").display()
                ),
                None,
            ),
            Backend::Postgres => {
                let database = PostgresDatabase::create().await?;
                (database.url.clone(), Some(database))
            }
        };
        let mut config = EngineConfig::new(dir.path().join("data"), database_url.clone());
        configure(&mut config);
        let engine = Engine::open(config).await.expect("the engine opens");
        Some(Harness {
            engine,
            database_url,
            _postgres: postgres,
            dir,
        })
    }

    /// Whether the engine runs on PostgreSQL (else SQLite).
    pub(crate) fn is_postgres(&self) -> bool {
        self._postgres.is_some()
    }

    /// Runs `sql` on a connection of its own, beside the engine's (to break the database
    /// under it, for instance).
    pub(crate) async fn execute(&self, sql: &str) {
        let connection = Database::connect(self.database_url.as_str())
            .await
            .expect("a second connection");
        connection
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
        connection.close().await.expect("closing the connection");
    }

    /// Another engine on the same PostgreSQL database, with a data directory of its own, as a
    /// second `depot-api` node is (a SQLite database admits one engine).
    pub(crate) async fn second_node(&self) -> Engine {
        assert!(self.is_postgres(), "a second node needs PostgreSQL");
        let config = EngineConfig::new(
            self.dir.path().join("second-node"),
            self.database_url.clone(),
        );
        Engine::open(config).await.expect("a second engine opens")
    }

    pub(crate) fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Stops the engine and opens it again on the same data directory and database,
    /// configured by `configure`, as a process restart does (a SQLite database admits one
    /// engine at a time).
    pub(crate) async fn restart(self, configure: impl FnOnce(&mut EngineConfig)) -> Harness {
        let mut config = EngineConfig::new(self.data_dir(), self.database_url.clone());
        configure(&mut config);
        let Harness {
            engine,
            database_url,
            _postgres,
            dir,
        } = self;
        drop(engine);
        Harness {
            engine: Engine::open(config).await.expect("the engine reopens"),
            database_url,
            _postgres,
            dir,
        }
    }
}

/// A throwaway PostgreSQL database.
struct PostgresDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    async fn create() -> Option<PostgresDatabase> {
        let admin_url = std::env::var("DEPOT_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        if admin_url.is_empty() || admin_url == "off" {
            eprintln!("DEPOT_TEST_POSTGRES_URL=off: skipping the PostgreSQL variant");
            return None;
        }
        let name = format!("depot_test_{:016x}", rand::rngs::OsRng.next_u64());
        let admin = Database::connect(admin_url.as_str())
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "PostgreSQL at {admin_url} is unreachable ({error}); start it or set \
                     DEPOT_TEST_POSTGRES_URL=off"
                )
            });
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("CREATE DATABASE");
        admin.close().await.expect("closing the admin connection");
        let url = replace_database(&admin_url, &name);
        Some(PostgresDatabase {
            admin_url,
            name,
            url,
        })
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread with a
        // runtime of its own can.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let admin = Database::connect(admin_url.as_str()).await?;
                admin.execute_unprepared(&statement).await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// `postgres://u@h:p/old?x` → `postgres://u@h:p/<name>?x`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |at| at + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |at| authority_start + at);
    let mut replaced = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        replaced.push('?');
        replaced.push_str(query);
    }
    replaced
}

/// Runs each test body on SQLite and on PostgreSQL: `mod <name> { fn sqlite, fn postgres }`.
macro_rules! engine_tests {
    ($(async fn $name:ident($harness:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                use $crate::common::{Backend, Harness};

                async fn run($harness: Harness) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    if let Some(harness) = Harness::start(Backend::Sqlite).await {
                        run(harness).await;
                    }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(harness) = Harness::start(Backend::Postgres).await {
                        run(harness).await;
                    }
                }
            }
        )*
    };
}
pub(crate) use engine_tests;

// ---- Small helpers the tests share ----

pub(crate) fn bucket(name: &str) -> BucketName {
    BucketName::new(name).expect("a valid bucket name")
}

pub(crate) fn key(text: &str) -> ObjectKey {
    ObjectKey::new(text).expect("a valid key")
}

pub(crate) fn email(text: &str) -> Email {
    text.parse().expect("a valid email")
}

/// A user with a random email, and a bucket of theirs.
pub(crate) async fn user_and_bucket(engine: &Engine, name: &str) -> (UserId, BucketName) {
    let user = engine
        .create_user(
            &email(&format!(
                "u{:08x}@example.com",
                rand::rngs::OsRng.next_u32()
            )),
            false,
        )
        .await
        .expect("user created");
    let bucket = bucket(name);
    engine
        .create_bucket(user.id, &bucket, "us-east-1")
        .await
        .expect("bucket created");
    (user.id, bucket)
}

/// `data` as a body stream of `chunk`-sized pieces.
pub(crate) fn body(
    data: &[u8],
    chunk: usize,
) -> impl futures_core::Stream<Item = Result<Bytes, io::Error>> + Send + Unpin + use<> {
    let chunks: Vec<Result<Bytes, io::Error>> = data
        .chunks(chunk.max(1))
        .map(|piece| Ok(Bytes::copy_from_slice(piece)))
        .collect();
    futures_util::stream::iter(chunks)
}

pub(crate) async fn stage(engine: &Engine, data: &[u8]) -> StagedBlob {
    engine
        .stage(body(data, 64 * 1024), u64::MAX)
        .await
        .expect("staged")
}

pub(crate) async fn put(
    engine: &Engine,
    bucket: &BucketName,
    key_text: &str,
    data: &[u8],
) -> ObjectInfo {
    let blob = stage(engine, data).await;
    engine
        .put_object(
            bucket,
            &key(key_text),
            blob,
            ObjectAttributes::default(),
            WriteCondition::None,
        )
        .await
        .expect("put")
}

pub(crate) async fn get_range(
    engine: &Engine,
    bucket: &BucketName,
    key_text: &str,
    range: std::ops::Range<u64>,
) -> Vec<u8> {
    let (_, reader) = engine
        .open_object(bucket, &key(key_text))
        .await
        .expect("open");
    read_all(reader.into_stream(range)).await
}

pub(crate) async fn get(engine: &Engine, bucket: &BucketName, key_text: &str) -> Vec<u8> {
    get_range(engine, bucket, key_text, 0..u64::MAX).await
}

pub(crate) async fn read_all(
    stream: impl futures_core::Stream<Item = io::Result<Bytes>>,
) -> Vec<u8> {
    let mut stream = Box::pin(stream);
    let mut data = Vec::new();
    while let Some(block) = stream.next().await {
        data.extend_from_slice(&block.expect("a block"));
    }
    data
}

/// Deterministic bytes that differ at every offset of a part (a repeating 251-byte cycle).
pub(crate) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i % 251) as u8).wrapping_add(seed))
        .collect()
}

pub(crate) fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(data))
}

/// Every regular file under `dir`, relative to it.
pub(crate) fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                found.insert(relative.to_path_buf());
            }
        }
    }
    found
}

/// How many committed blob files the data directory holds.
pub(crate) fn blob_count(harness: &Harness) -> usize {
    files_under(&harness.data_dir().join("blobs")).len()
}

/// How many staging files the data directory holds.
pub(crate) fn staging_count(harness: &Harness) -> usize {
    files_under(&harness.data_dir().join("tmp")).len()
}

#[test]
fn database_names_are_replaced() {
    assert_eq!(
        replace_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        replace_database("postgres://u:p@h/test?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(replace_database("postgres://h", "x"), "postgres://h/x");
}
