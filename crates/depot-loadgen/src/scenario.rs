//! The benchmark's scenarios (which operation, how large, how many at once), how each is set
//! up on the S3 server (buckets, objects to read, large buckets to list), and the suite that
//! runs each against the server and then, unchanged, against the ceiling.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use depot_sigv4::EMPTY_SHA256;
use http::Method;
use rand::Rng;
use tokio::task::JoinSet;
use tokio::time::timeout;

use crate::Error;
use crate::body::{Payload, collect};
use crate::conn::Connection;
use crate::procfs::Process;
use crate::request::{Call, PayloadSigning, PutBody, Target, list_query, object_path};
use crate::run::{Generator, Prepared, Workload, exchange, run};
use crate::stats::Summary;

/// One KiB, one MiB.
pub const KIB: u64 = 1024;
/// See [`KIB`].
pub const MIB: u64 = 1024 * KIB;

/// The entries a listing page asks for (S3's maximum).
pub const PAGE: u32 = 1000;

/// What a scenario does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PutObject of fresh keys.
    Put,
    /// GetObject of objects written during setup.
    Get,
    /// ListObjectsV2 pages of [`PAGE`] keys from the middle of a bucket of `objects` keys.
    List {
        /// Objects in the bucket listed.
        objects: u64,
    },
}

/// One line of the benchmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Short name (`get-4k`), also used in bucket names.
    pub name: String,
    /// The operation.
    pub kind: Kind,
    /// Object size in bytes (0 for listings).
    pub size: u64,
    /// Workers, each with its own connection.
    pub concurrency: usize,
}

impl Scenario {
    fn new(kind: Kind, size: u64, concurrency: usize) -> Self {
        let name = match kind {
            Kind::Put => format!("put-{}", short_size(size)),
            Kind::Get => format!("get-{}", short_size(size)),
            Kind::List { objects } => format!("list-{}", short_count(objects)),
        };
        Self {
            name,
            kind,
            size,
            concurrency,
        }
    }

    /// Whether objects are large enough that memory per request matters (≥ 1 MiB): the runs
    /// where a server that buffers bodies would show it.
    pub fn is_large_object(&self) -> bool {
        !matches!(self.kind, Kind::List { .. }) && self.size >= MIB
    }

    /// The S3 bucket the scenario uses.
    pub fn bucket(&self) -> String {
        format!("bench-{}", self.name)
    }
}

/// The benchmark's scenarios: 4 KiB PUT and GET at 32, 1 MiB at 8, 64 MiB GET at 2, then one
/// listing per bucket size in `list_objects`, at `list_concurrency`.
pub fn catalogue(list_objects: &[u64], list_concurrency: usize) -> Vec<Scenario> {
    let mut scenarios = vec![
        Scenario::new(Kind::Put, 4 * KIB, 32),
        Scenario::new(Kind::Get, 4 * KIB, 32),
        Scenario::new(Kind::Put, MIB, 8),
        Scenario::new(Kind::Get, MIB, 8),
        Scenario::new(Kind::Get, 64 * MIB, 2),
    ];
    for &objects in list_objects {
        scenarios.push(Scenario::new(Kind::List { objects }, 0, list_concurrency));
    }
    scenarios
}

/// `4k`, `1m`, `64m`, or the byte count when not a whole number of KiB.
pub fn short_size(size: u64) -> String {
    if size >= MIB && size.is_multiple_of(MIB) {
        format!("{}m", size / MIB)
    } else if size >= KIB && size.is_multiple_of(KIB) {
        format!("{}k", size / KIB)
    } else {
        size.to_string()
    }
}

/// `10k`, `1m`, or the count when not a whole number of thousands.
pub fn short_count(count: u64) -> String {
    if count >= 1_000_000 && count.is_multiple_of(1_000_000) {
        format!("{}m", count / 1_000_000)
    } else if count >= 1000 && count.is_multiple_of(1000) {
        format!("{}k", count / 1000)
    } else {
        count.to_string()
    }
}

/// The key of the `index`-th object of a listing bucket: zero-padded, so key order is index
/// order and "the middle of the key space" is an index.
pub fn list_key(index: u64) -> String {
    format!("obj-{index:08}")
}

/// How many objects a GET scenario reads: enough that workers do not all hit one object
/// (about 64 MiB of them, between 2 and 1024).
pub fn get_object_count(size: u64) -> u64 {
    (64 * MIB / size.max(1)).clamp(2, 1024)
}

fn get_key(index: u64) -> String {
    format!("obj-{index:06}")
}

// ---- Generators ----

/// PUTs of one body under fresh keys (`NNN-SEQ` per worker), as an uploader does; the setup
/// never has to guess how many.
struct PutGenerator {
    bucket: String,
    body: PutBody,
}

impl Generator for PutGenerator {
    fn prepare(
        &self,
        target: &Target,
        worker: usize,
        seq: u64,
        now: SystemTime,
    ) -> Result<Prepared, Error> {
        let path = object_path(&self.bucket, &format!("w{worker:03}/{seq:09}"));
        let call = Call {
            method: Method::PUT,
            path: &path,
            query: "",
            payload_hash: &self.body.payload_hash,
            size: None,
        };
        Ok(Prepared {
            request: target.signed(&call, Payload::full(self.body.bytes.clone()), now)?,
            sent: self.body.bytes.len() as u64,
            expect_len: None,
        })
    }
}

/// GETs cycling over the setup's objects, each worker from its own offset.
struct GetGenerator {
    paths: Vec<String>,
    size: u64,
}

impl Generator for GetGenerator {
    fn prepare(
        &self,
        target: &Target,
        worker: usize,
        seq: u64,
        now: SystemTime,
    ) -> Result<Prepared, Error> {
        let count = self.paths.len().max(1) as u64;
        let index = (worker as u64 * 7 + seq) % count;
        let path = self
            .paths
            .get(usize::try_from(index).unwrap_or(0))
            .ok_or_else(|| Error::Invalid("no objects to read".to_owned()))?;
        let call = Call {
            method: Method::GET,
            path,
            query: "",
            payload_hash: EMPTY_SHA256,
            size: Some(self.size),
        };
        Ok(Prepared {
            request: target.signed(&call, Payload::empty(), now)?,
            sent: 0,
            expect_len: Some(self.size),
        })
    }
}

/// ListObjectsV2 pages starting after a random key of the middle half of the bucket, so every
/// page is full and none is always the same (the server cannot answer from a one-page cache).
struct ListGenerator {
    path: String,
    objects: u64,
    /// The response size the ceiling should send: that of a real page.
    page_size: Option<u64>,
}

impl ListGenerator {
    fn start_after(&self) -> String {
        let (low, high) = middle_half(self.objects);
        list_key(rand::thread_rng().gen_range(low..high))
    }
}

/// The range of indices `[n/4, 3n/4)` (never empty) that pages start after.
pub fn middle_half(objects: u64) -> (u64, u64) {
    let low = objects / 4;
    let high = (objects * 3 / 4).max(low + 1);
    (low, high)
}

impl Generator for ListGenerator {
    fn prepare(
        &self,
        target: &Target,
        _worker: usize,
        _seq: u64,
        now: SystemTime,
    ) -> Result<Prepared, Error> {
        let query = list_query(PAGE, &self.start_after());
        let call = Call {
            method: Method::GET,
            path: &self.path,
            query: &query,
            payload_hash: EMPTY_SHA256,
            size: self.page_size,
        };
        Ok(Prepared {
            request: target.signed(&call, Payload::empty(), now)?,
            sent: 0,
            expect_len: None,
        })
    }
}

// ---- Setup ----

/// How filling a bucket went.
#[derive(Debug, Clone, PartialEq)]
pub struct Populated {
    /// The bucket.
    pub bucket: String,
    /// Objects asked for.
    pub wanted: u64,
    /// Objects written (the first `created` indices, less `errors`).
    pub created: u64,
    /// Failed PUTs.
    pub errors: u64,
    /// How long it took.
    pub elapsed: Duration,
    /// Object size.
    pub size: u64,
}

impl Populated {
    /// Objects written per second.
    pub fn rate(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.created as f64 / seconds
        } else {
            0.0
        }
    }
}

/// Sends one request on a fresh connection and returns the status and up to 64 KiB of the
/// body with the body's full length. For setup steps, never timed.
async fn once(
    target: &Target,
    call: &Call<'_>,
    body: Payload,
    limit: Duration,
) -> Result<(http::StatusCode, Vec<u8>, u64), Error> {
    let request = target.signed(call, body, SystemTime::now())?;
    let exchange = async {
        let mut connection = Connection::open(target.addr).await?;
        let response = connection.send(request).await?;
        let status = response.status();
        let (kept, total) = collect(response.into_body(), 64 * 1024).await?;
        Ok::<_, Error>((status, kept, total))
    };
    timeout(limit, exchange).await.map_err(|_| Error::Timeout)?
}

/// Creates `bucket`, or accepts that it exists and is ours (a kept data directory).
pub async fn create_bucket(target: &Target, bucket: &str) -> Result<(), Error> {
    let path = format!("/{bucket}");
    let call = Call {
        method: Method::PUT,
        path: &path,
        query: "",
        payload_hash: EMPTY_SHA256,
        size: None,
    };
    let (status, body, _) = once(target, &call, Payload::empty(), Duration::from_secs(30)).await?;
    let text = String::from_utf8_lossy(&body);
    if status.is_success() || text.contains("BucketAlreadyOwnedByYou") {
        Ok(())
    } else {
        Err(Error::Status {
            status,
            body: text.into_owned(),
        })
    }
}

/// What to write into a bucket, and how hard.
#[derive(Debug, Clone)]
pub struct Fill<'a> {
    /// The bucket, which must exist.
    pub bucket: &'a str,
    /// The key of the `i`-th object.
    pub key: fn(u64) -> String,
    /// How many objects.
    pub wanted: u64,
    /// The body of every object.
    pub body: &'a PutBody,
    /// Parallel PUTs.
    pub concurrency: usize,
    /// When to stop, full or not.
    pub time_limit: Duration,
}

/// How often a long fill reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// Writes objects `key(0) .. key(wanted - 1)` as `fill` says, stopping early at its time
/// limit, with a line to `progress` every 30 s. Indices are claimed in order, so the objects
/// written are always a prefix of the key space.
pub async fn populate(
    target: &Target,
    fill: &Fill<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<Populated, Error> {
    let started = Instant::now();
    let deadline = started + fill.time_limit;
    let wanted = fill.wanted;
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..fill.concurrency.max(1) {
        let (target, bucket, body, key) = (
            target.clone(),
            fill.bucket.to_owned(),
            fill.body.clone(),
            fill.key,
        );
        let (next, done) = (next.clone(), done.clone());
        workers.spawn(async move {
            let mut written = 0u64;
            let mut errors = 0u64;
            let mut first_error = None;
            let mut connection: Option<Connection> = None;
            while Instant::now() < deadline {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= wanted {
                    break;
                }
                let result = put_once(&target, &bucket, &key(index), &body, &mut connection).await;
                match result {
                    Ok(()) => {
                        written += 1;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        errors += 1;
                        first_error.get_or_insert(error);
                        connection = None;
                    }
                }
            }
            (written, errors, first_error)
        });
    }
    let mut created = 0;
    let mut errors = 0;
    let mut first_error = None;
    let mut ticker =
        tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    loop {
        let joined = tokio::select! {
            joined = workers.join_next() => joined,
            _ = ticker.tick() => {
                let so_far = done.load(Ordering::Relaxed);
                let seconds = started.elapsed().as_secs_f64();
                progress(&format!(
                    "{}: {so_far} of {wanted} objects after {seconds:.0} s ({:.0} PUT/s)",
                    fill.bucket,
                    so_far as f64 / seconds.max(f64::EPSILON)
                ));
                continue;
            }
        };
        let Some(joined) = joined else { break };
        let (written, failed, error) =
            joined.map_err(|e| Error::Invalid(format!("a populate worker failed: {e}")))?;
        created += written;
        errors += failed;
        if first_error.is_none() {
            first_error = error;
        }
    }
    // Every PUT failing means the setup is broken (wrong key, server down): say why.
    if created == 0
        && wanted > 0
        && let Some(error) = first_error
    {
        return Err(error);
    }
    Ok(Populated {
        bucket: fill.bucket.to_owned(),
        wanted,
        created,
        errors,
        elapsed: started.elapsed(),
        size: fill.body.bytes.len() as u64,
    })
}

async fn put_once(
    target: &Target,
    bucket: &str,
    key: &str,
    body: &PutBody,
    connection: &mut Option<Connection>,
) -> Result<(), Error> {
    let limit = Duration::from_secs(60);
    let open = match connection {
        Some(open) => open,
        None => connection.insert(
            timeout(limit, Connection::open(target.addr))
                .await
                .map_err(|_| Error::Timeout)??,
        ),
    };
    let path = object_path(bucket, key);
    let call = Call {
        method: Method::PUT,
        path: &path,
        query: "",
        payload_hash: &body.payload_hash,
        size: None,
    };
    let prepared = Prepared {
        request: target.signed(&call, Payload::full(body.bytes.clone()), SystemTime::now())?,
        sent: body.bytes.len() as u64,
        expect_len: None,
    };
    timeout(limit, exchange(open, prepared))
        .await
        .map_err(|_| Error::Timeout)??;
    Ok(())
}

/// Checks a listing page the way the benchmark needs it: full, and returns its body length.
async fn probe_listing(target: &Target, generator: &ListGenerator) -> Result<u64, Error> {
    let query = list_query(PAGE, &generator.start_after());
    let call = Call {
        method: Method::GET,
        path: &generator.path,
        query: &query,
        payload_hash: EMPTY_SHA256,
        size: None,
    };
    let (status, body, total) =
        once(target, &call, Payload::empty(), Duration::from_secs(60)).await?;
    let text = String::from_utf8_lossy(&body);
    if !status.is_success() {
        return Err(Error::Status {
            status,
            body: text.into_owned(),
        });
    }
    // S3 (and Depot) write KeyCount before the keys, well inside the 64 KiB kept.
    if !text.contains(&format!("<KeyCount>{PAGE}</KeyCount>")) {
        return Err(Error::Response(format!(
            "a listing page in the middle of {} does not hold {PAGE} keys",
            generator.path
        )));
    }
    Ok(total)
}

// ---- The suite ----

/// How to run the suite.
#[derive(Debug, Clone)]
pub struct SuiteConfig {
    /// The S3 server under test.
    pub server: Target,
    /// The ceiling server, if measured.
    pub ceiling: Option<Target>,
    /// The S3 server's process, for memory and CPU figures.
    pub server_process: Option<Process>,
    /// The ceiling's process, likewise.
    pub ceiling_process: Option<Process>,
    /// Warm-up, window, request timeout and request bound of every scenario.
    pub workload: Workload,
    /// How PUT bodies are signed.
    pub payload: PayloadSigning,
    /// Parallel PUTs when filling listing buckets.
    pub populate_concurrency: usize,
    /// Time allowed to fill one listing bucket; a bucket not full by then is listed as it is.
    pub populate_time_limit: Duration,
}

/// One side's figures for a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Throughput and latency.
    pub summary: Summary,
    /// The server's peak RSS over the run, in KiB.
    pub peak_rss_kib: Option<u64>,
    /// Whether that peak was reset before the run (otherwise it is the peak since start).
    pub peak_is_per_run: bool,
    /// The server's CPU use over warm-up and window, in cores.
    pub server_cores: Option<f64>,
    /// The load generator's own CPU use, in cores: near the machine's size, the client is the
    /// limit and a ceiling figure is a client figure.
    pub client_cores: Option<f64>,
}

/// A scenario's outcome on both servers.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The scenario.
    pub scenario: Scenario,
    /// The S3 server.
    pub server: Measured,
    /// The ceiling, if measured.
    pub ceiling: Option<Measured>,
    /// How its bucket was filled, for listings and reads.
    pub populated: Option<Populated>,
}

impl Outcome {
    /// The server's throughput as a share of the ceiling's (ops/s; for equal request sizes the
    /// same ratio as MiB/s).
    pub fn share_of_ceiling(&self) -> Option<f64> {
        let ceiling = self.ceiling.as_ref()?.summary.ops_per_sec();
        (ceiling > 0.0).then(|| self.server.summary.ops_per_sec() / ceiling)
    }
}

/// Runs `scenarios` in order: each is set up on the server, measured there, then measured on
/// the ceiling with the same generator. `progress` receives a line per step.
pub async fn run_suite(
    config: &SuiteConfig,
    scenarios: &[Scenario],
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Outcome>, Error> {
    let mut outcomes = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        let bucket = scenario.bucket();
        create_bucket(&config.server, &bucket).await?;
        let (generator, populated): (Arc<dyn Generator>, Option<Populated>) = match scenario.kind {
            Kind::Put => {
                let body = PutBody::random(to_usize(scenario.size)?, config.payload);
                (Arc::new(PutGenerator { bucket, body }), None)
            }
            Kind::Get => {
                let count = get_object_count(scenario.size);
                let body = PutBody::random(to_usize(scenario.size)?, config.payload);
                progress(&format!(
                    "{}: writing {count} objects of {} to read",
                    scenario.name,
                    short_size(scenario.size)
                ));
                let fill = Fill {
                    bucket: &bucket,
                    key: get_key,
                    wanted: count,
                    body: &body,
                    concurrency: scenario.concurrency,
                    time_limit: config.populate_time_limit,
                };
                let populated = populate(&config.server, &fill, progress).await?;
                let paths = (0..populated.created)
                    .map(|i| object_path(&bucket, &get_key(i)))
                    .collect();
                let generator = GetGenerator {
                    paths,
                    size: scenario.size,
                };
                (Arc::new(generator), Some(populated))
            }
            Kind::List { objects } => {
                progress(&format!(
                    "{}: writing {objects} empty objects ({} parallel PUTs, at most {:?})",
                    scenario.name, config.populate_concurrency, config.populate_time_limit
                ));
                let empty = PutBody::new(Bytes::new(), PayloadSigning::Sha256);
                let fill = Fill {
                    bucket: &bucket,
                    key: list_key,
                    wanted: objects,
                    body: &empty,
                    concurrency: config.populate_concurrency,
                    time_limit: config.populate_time_limit,
                };
                let populated = populate(&config.server, &fill, progress).await?;
                progress(&format!(
                    "{}: {} objects in {:.1} s ({:.0} PUT/s, {} errors)",
                    scenario.name,
                    populated.created,
                    populated.elapsed.as_secs_f64(),
                    populated.rate(),
                    populated.errors
                ));
                let mut generator = ListGenerator {
                    path: format!("/{bucket}"),
                    objects: populated.created,
                    page_size: None,
                };
                generator.page_size = Some(probe_listing(&config.server, &generator).await?);
                (Arc::new(generator), Some(populated))
            }
        };

        let workload = Workload {
            concurrency: scenario.concurrency,
            ..config.workload.clone()
        };
        progress(&format!(
            "{}: {} at concurrency {}",
            scenario.name, config.server.name, scenario.concurrency
        ));
        let server = measure(
            &config.server,
            config.server_process,
            &workload,
            generator.clone(),
        )
        .await?;
        let ceiling = match &config.ceiling {
            Some(ceiling) => {
                progress(&format!(
                    "{}: {} at concurrency {}",
                    scenario.name, ceiling.name, scenario.concurrency
                ));
                Some(measure(ceiling, config.ceiling_process, &workload, generator).await?)
            }
            None => None,
        };
        outcomes.push(Outcome {
            scenario: scenario.clone(),
            server,
            ceiling,
            populated,
        });
    }
    Ok(outcomes)
}

async fn measure(
    target: &Target,
    process: Option<Process>,
    workload: &Workload,
    generator: Arc<dyn Generator>,
) -> Result<Measured, Error> {
    let me = Process {
        pid: std::process::id(),
    };
    let peak_is_per_run = process.is_some_and(|p| p.reset_peak());
    let server_cpu = process.and_then(|p| p.cpu_time());
    let client_cpu = me.cpu_time();
    let started = Instant::now();
    let summary = run(target, workload, generator).await?;
    let wall = started.elapsed().as_secs_f64();
    let cores = |before: Option<Duration>, after: Option<Duration>| {
        let used = after?.checked_sub(before?)?;
        (wall > 0.0).then(|| used.as_secs_f64() / wall)
    };
    Ok(Measured {
        summary,
        peak_rss_kib: process.and_then(|p| p.peak_rss_kib()),
        peak_is_per_run,
        server_cores: cores(server_cpu, process.and_then(|p| p.cpu_time())),
        client_cores: cores(client_cpu, me.cpu_time()),
    })
}

fn to_usize(size: u64) -> Result<usize, Error> {
    usize::try_from(size).map_err(|_| Error::Invalid(format!("size {size} too large")))
}

/// Scenario names, comma-separated, for messages.
pub fn names(scenarios: &[Scenario]) -> String {
    let mut out = String::new();
    for (i, s) in scenarios.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{}", s.name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_the_issue_s_list() {
        let scenarios = catalogue(&[10_000, 1_000_000], 4);
        let summary: Vec<(&str, u64, usize)> = scenarios
            .iter()
            .map(|s| (s.name.as_str(), s.size, s.concurrency))
            .collect();
        assert_eq!(
            summary,
            [
                ("put-4k", 4096, 32),
                ("get-4k", 4096, 32),
                ("put-1m", 1 << 20, 8),
                ("get-1m", 1 << 20, 8),
                ("get-64m", 64 << 20, 2),
                ("list-10k", 0, 4),
                ("list-1m", 0, 4),
            ]
        );
        let large: Vec<&str> = scenarios
            .iter()
            .filter(|s| s.is_large_object())
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(large, ["put-1m", "get-1m", "get-64m"]);
        assert_eq!(scenarios[1].bucket(), "bench-get-4k");
        assert_eq!(names(&scenarios[..2]), "put-4k, get-4k");
    }

    #[test]
    fn short_names() {
        assert_eq!(short_size(4096), "4k");
        assert_eq!(short_size(1 << 20), "1m");
        assert_eq!(short_size(1000), "1000");
        assert_eq!(short_size(1536 * 1024), "1536k");
        assert_eq!(short_count(10_000), "10k");
        assert_eq!(short_count(1_000_000), "1m");
        assert_eq!(short_count(250_500), "250500");
        assert_eq!(short_count(2_500_000), "2500k");
    }

    #[test]
    fn list_keys_sort_like_their_indices() {
        let keys: Vec<String> = [0, 9, 10, 999_999, 1_000_000, 12_345_678]
            .iter()
            .map(|&i| list_key(i))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(list_key(42), "obj-00000042");
    }

    #[test]
    fn pages_start_in_the_middle_half_with_a_full_page_after_them() {
        assert_eq!(middle_half(10_000), (2_500, 7_500));
        assert_eq!(middle_half(1_000_000), (250_000, 750_000));
        // Never an empty range, even for tiny buckets.
        assert_eq!(middle_half(0), (0, 1));
        assert_eq!(middle_half(1), (0, 1));
        // From anywhere in the middle half of a 10k bucket, 1000 keys follow.
        let (_, high) = middle_half(10_000);
        assert!(10_000 - high >= u64::from(PAGE));

        let generator = ListGenerator {
            path: "/b".to_owned(),
            objects: 10_000,
            page_size: None,
        };
        for _ in 0..200 {
            let key = generator.start_after();
            assert!(
                key.as_str() >= list_key(2_500).as_str() && key < list_key(7_500),
                "{key}"
            );
        }
    }

    #[test]
    fn get_object_counts_stay_bounded() {
        assert_eq!(get_object_count(4 * KIB), 1024);
        assert_eq!(get_object_count(MIB), 64);
        assert_eq!(get_object_count(64 * MIB), 2);
        assert_eq!(get_object_count(0), 1024);
    }

    /// A ceiling server on a free port, as a target.
    async fn ceiling() -> Result<(Target, tokio::task::JoinHandle<std::io::Result<()>>), Error> {
        let (addr, server) = crate::ceiling::bind(([127, 0, 0, 1], 0).into(), 1 << 20)
            .await
            .map_err(Error::Connect)?;
        let target = Target::new(
            "ceiling",
            &format!("http://{addr}"),
            depot_sigv4::Credentials::new("AK", "SK"),
            "us-east-1",
        )?;
        Ok((target, tokio::spawn(server)))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn populate_writes_every_index_once_or_stops_at_its_limit() -> Result<(), Error> {
        let (target, server) = ceiling().await?;
        let body = PutBody::new(Bytes::from_static(b"x"), PayloadSigning::Sha256);
        let mut fill = Fill {
            bucket: "b",
            key: list_key,
            wanted: 300,
            body: &body,
            concurrency: 7,
            time_limit: Duration::from_secs(30),
        };
        let mut lines = Vec::new();
        let full = populate(&target, &fill, &mut |l| lines.push(l.to_owned())).await?;
        assert_eq!((full.created, full.errors, full.size), (300, 0, 1));
        fill.time_limit = Duration::ZERO;
        let none = populate(&target, &fill, &mut |_| {}).await?;
        assert_eq!(none.created, 0);
        server.abort();
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_are_bounded_by_time_and_by_request_count() -> Result<(), Error> {
        let (target, server) = ceiling().await?;
        let generator: Arc<dyn Generator> = Arc::new(GetGenerator {
            paths: vec!["/b/k".to_owned()],
            size: 1000,
        });
        let mut workload = Workload {
            concurrency: 3,
            warmup: Duration::from_millis(50),
            duration: Duration::from_millis(300),
            max_requests: None,
            request_timeout: Duration::from_secs(5),
        };
        let started = Instant::now();
        let timed = run(&target, &workload, generator.clone()).await?;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(timed.ops > 0 && timed.errors == 0, "{timed:?}");
        assert_eq!(timed.bytes, timed.ops * 1000);
        assert_eq!(timed.window, Duration::from_millis(300));
        assert!(timed.p50 <= timed.p99 && timed.p99 <= timed.max);

        // 20 requests in all, warm-up included: the window ends with the last of them.
        workload.max_requests = Some(20);
        workload.warmup = Duration::ZERO;
        workload.duration = Duration::from_secs(60);
        let counted = run(&target, &workload, generator).await?;
        assert!(counted.ops <= 20 && counted.ops > 0, "{counted:?}");
        assert!(counted.window < Duration::from_secs(5), "{counted:?}");
        server.abort();
        Ok(())
    }

    #[test]
    fn generators_sign_what_the_scenario_says() -> Result<(), Error> {
        let target = Target::new(
            "t",
            "http://127.0.0.1:1",
            depot_sigv4::Credentials::new("AK", "SK"),
            "us-east-1",
        )?;
        let now = SystemTime::now();
        let put = PutGenerator {
            bucket: "bench-put-4k".to_owned(),
            body: PutBody::random(4096, PayloadSigning::Unsigned),
        };
        let a = put.prepare(&target, 3, 7, now)?;
        let b = put.prepare(&target, 3, 8, now)?;
        assert_eq!(a.request.method(), Method::PUT);
        assert_eq!(a.request.uri(), "/bench-put-4k/w003/000000007");
        assert_ne!(a.request.uri(), b.request.uri(), "fresh keys");
        assert_eq!(a.sent, 4096);

        let get = GetGenerator {
            paths: vec!["/b/obj-000000".to_owned(), "/b/obj-000001".to_owned()],
            size: 4096,
        };
        let first = get.prepare(&target, 0, 0, now)?;
        let second = get.prepare(&target, 0, 1, now)?;
        assert_eq!(first.request.uri(), "/b/obj-000000");
        assert_eq!(second.request.uri(), "/b/obj-000001");
        assert_eq!(first.expect_len, Some(4096));
        assert_eq!(first.request.headers()["x-loadgen-size"], "4096");

        let list = ListGenerator {
            path: "/bench-list-10k".to_owned(),
            objects: 10_000,
            page_size: Some(123_456),
        };
        let page = list.prepare(&target, 0, 0, now)?;
        let query = page.request.uri().query().unwrap_or_default().to_owned();
        assert!(
            query.starts_with("list-type=2&max-keys=1000&start-after=obj-0000"),
            "{query}"
        );
        assert_eq!(page.request.headers()["x-loadgen-size"], "123456");
        Ok(())
    }
}
