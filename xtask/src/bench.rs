//! `cargo xtask bench`: the benchmarks, one command however many suites there are.
//!
//! 1. The criterion suites (`cargo bench -p depot-sigv4`): signing and verification per core.
//! 2. The S3 data plane under load: build release `depot-api` and `depot-loadgen`, start
//!    `depot-api` on `127.0.0.1:0` with a fresh data directory and a generated root key pair,
//!    start `depot-loadgen ceiling` (the in-memory HTTP server measured beside it), then run
//!    `depot-loadgen run` against both and print its table (or JSON with `--json`). Both servers
//!    are stopped at the end, whatever happened; the load generator runs under a time limit.
//!
//! The figures go to `docs/performance.md` by hand, with the machine and its load: a benchmark
//! on a shared 2-core machine is only as good as the note saying what else was running.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use xshell::{Shell, cmd};

use crate::process::{
    build_binaries, listening_addr, send_signal, tee_log_until_listening, wait_with_timeout,
};
use crate::project_root;
use rustix::process::Signal;

/// How long a server gets to print its `listening` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `depot-api` gets to exit after SIGTERM.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);
/// Objects in the small listing bucket (every run) and the large one (`--full`).
const SMALL_LISTING: u64 = 10_000;
const FULL_LISTING: u64 = 1_000_000;
/// The large listing bucket of a default run: the same shape as `--full` at a size that fills
/// in well under a minute.
const DEFAULT_LISTING: u64 = 100_000;
/// Time allowed to fill one listing bucket; the load generator lists what it has by then.
/// Depot writes about 600–950 empty objects a second on the 2-core development machine (one
/// SQLite writer), so 1,000,000 need 18–28 minutes: `--full` allows for it.
const POPULATE_LIMIT: Duration = Duration::from_secs(20 * 60);
const FULL_POPULATE_LIMIT: Duration = Duration::from_secs(45 * 60);
/// Scenarios besides the listings: 4 KiB PUT/GET, 1 MiB PUT/GET, 64 MiB GET.
const OBJECT_SCENARIOS: u32 = 5;

/// `cargo xtask bench` options (flattened into `flags.rs`).
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct Flags {
    /// S3 scenarios 1 s each and the 10,000-object listing only; criterion in its --quick mode.
    #[arg(long, conflicts_with = "full")]
    pub(crate) quick: bool,
    /// Also list a bucket of 1,000,000 objects (filling it takes minutes; see --objects).
    #[arg(long)]
    pub(crate) full: bool,
    /// Objects in the large listing bucket (default: 100,000; 1,000,000 with --full).
    #[arg(long, value_name = "N")]
    pub(crate) objects: Option<u64>,
    /// Measured seconds per scenario and server (default 5; 1 with --quick).
    #[arg(long, value_name = "SECS")]
    pub(crate) seconds: Option<f64>,
    /// Print the S3 results as JSON on stdout, for recording; everything else goes to stderr.
    #[arg(long)]
    pub(crate) json: bool,
    /// Only the S3 load benchmark, not the criterion suites.
    #[arg(long)]
    pub(crate) s3_only: bool,
}

impl Flags {
    fn seconds(&self) -> f64 {
        self.seconds.unwrap_or(if self.quick { 1.0 } else { 5.0 })
    }

    fn warmup(&self) -> f64 {
        if self.quick { 0.5 } else { 1.0 }
    }

    /// The bucket sizes listed.
    fn listings(&self) -> Vec<u64> {
        if self.quick {
            return vec![SMALL_LISTING];
        }
        let large = self.objects.unwrap_or(if self.full {
            FULL_LISTING
        } else {
            DEFAULT_LISTING
        });
        if large == SMALL_LISTING {
            vec![SMALL_LISTING]
        } else {
            vec![SMALL_LISTING, large]
        }
    }

    fn populate_limit(&self) -> Duration {
        if self.full {
            FULL_POPULATE_LIMIT
        } else {
            POPULATE_LIMIT
        }
    }

    /// A generous bound on the whole load-generator run: each scenario on both servers, with
    /// setup, plus filling the listing buckets.
    fn time_limit(&self) -> Duration {
        let listings = self.listings();
        let scenarios = OBJECT_SCENARIOS + listings.len() as u32;
        let per_run = Duration::from_secs_f64(self.seconds() + self.warmup() + 10.0);
        2 * scenarios * per_run
            + listings.len() as u32 * self.populate_limit()
            + Duration::from_secs(5 * 60)
    }
}

/// Runs the criterion benchmarks (`args` go to `cargo bench`), then the S3 load benchmark.
pub(crate) fn run(sh: &Shell, flags: &Flags, args: &[String]) -> anyhow::Result<()> {
    if !flags.s3_only {
        criterion(flags, args)?;
    }
    s3(sh, flags)
}

fn criterion(flags: &Flags, args: &[String]) -> anyhow::Result<()> {
    let args = criterion_args(flags.quick, args);
    eprintln!("==> bench: cargo bench -p depot-sigv4 {}", args.join(" "));
    let mut command = Command::new("cargo");
    command
        .current_dir(project_root())
        .args(["bench", "-p", "depot-sigv4"])
        .args(&args);
    if flags.json {
        // stdout is for the JSON document alone.
        command.stdout(std::io::stderr());
    }
    let status = command.status().context("running cargo bench")?;
    ensure!(
        status.success(),
        "cargo bench -p depot-sigv4 failed: {status}"
    );
    Ok(())
}

/// The arguments after `cargo bench -p depot-sigv4`: the user's, and with `quick` criterion's
/// own `--quick` mode.
fn criterion_args(quick: bool, args: &[String]) -> Vec<String> {
    let mut args = args.to_vec();
    if quick {
        // Arguments after `--` reach every bench target, and the library's libtest harness
        // refuses criterion's `--quick`: select the `benches/` targets alone.
        let selection = ["--bench".to_owned(), "*".to_owned()];
        match args.iter().position(|a| a == "--") {
            Some(at) => {
                args.splice(at..at, selection);
            }
            None => {
                args.extend(selection);
                args.push("--".to_owned());
            }
        }
        args.push("--quick".to_owned());
    }
    args
}

fn s3(sh: &Shell, flags: &Flags) -> anyhow::Result<()> {
    let built = build_binaries(sh, true, &["depot-api", "depot-loadgen"])?;
    let (depot_api, loadgen) = (&built[0], &built[1]);

    let work = sh
        .create_temp_dir()
        .context("creating a temporary directory")?;
    report_machine_state();

    let access_key = random_string(20, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")?;
    let secret_key = random_string(
        40,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    )?;
    let mut depot = Server::start(
        "depot-api",
        Command::new(depot_api)
            .env("DEPOT_DATA_DIR", work.path().join("data"))
            .env("DEPOT_S3_ADDR", "127.0.0.1:0")
            .env("DEPOT_CONTROL_ADDR", "127.0.0.1:0")
            .env("DEPOT_ROOT_ACCESS_KEY", &access_key)
            .env("DEPOT_ROOT_SECRET_KEY", &secret_key)
            .env("DEPOT_S3_REGION", "us-east-1")
            .env("DEPOT_LOG_FORMAT", "json")
            .env("DEPOT_SHUTDOWN_TIMEOUT_SECS", "10"),
        &work.path().join("depot-api.log"),
        "s3_addr",
    )?;
    let time_limit = flags.time_limit();
    let mut ceiling = Server::start(
        "ceiling",
        Command::new(loadgen).args([
            "ceiling",
            "--addr",
            "127.0.0.1:0",
            "--lifetime-secs",
            &(time_limit.as_secs() + 60).to_string(),
        ]),
        &work.path().join("ceiling.log"),
        "addr",
    )?;

    let listings: Vec<String> = flags.listings().iter().map(u64::to_string).collect();
    let mut command = Command::new(loadgen);
    command
        .args(["run", "--endpoint", &format!("http://{}", depot.addr)])
        .args(["--ceiling", &format!("http://{}", ceiling.addr)])
        .args(["--server-pid", &depot.child.id().to_string()])
        .args(["--ceiling-pid", &ceiling.child.id().to_string()])
        .args(["--seconds", &flags.seconds().to_string()])
        .args(["--warmup", &flags.warmup().to_string()])
        .args(["--list-objects", &listings.join(",")])
        .args([
            "--populate-secs",
            &flags.populate_limit().as_secs().to_string(),
        ])
        .env("DEPOT_LOADGEN_ACCESS_KEY", &access_key)
        .env("DEPOT_LOADGEN_SECRET_KEY", &secret_key)
        .stdin(Stdio::null());
    if flags.json {
        command.arg("--json");
    }
    // What was measured, for whoever reads the JSON later.
    let commit = cmd!(sh, "git rev-parse HEAD")
        .quiet()
        .ignore_stderr()
        .read();
    let dirty = cmd!(sh, "git status --porcelain --untracked-files=no")
        .quiet()
        .ignore_stderr()
        .read();
    if let (Ok(commit), Ok(dirty)) = (commit, dirty) {
        command
            .args(["--note", &format!("commit={}", commit.trim())])
            .args([
                "--note",
                &format!("working_tree_modified={}", !dirty.is_empty()),
            ]);
    }
    eprintln!(
        "==> bench: depot-loadgen run ({} s per scenario, listings of {}; at most {} min)",
        flags.seconds(),
        listings.join(" and "),
        time_limit.as_secs() / 60
    );
    let mut child = command.spawn().context("starting depot-loadgen run")?;
    let outcome = wait_with_timeout(&mut child, time_limit);
    let loadgen_status = match outcome {
        Ok(Some(status)) => Ok(status),
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(anyhow::anyhow!(
                "depot-loadgen ran past {} min and was killed",
                time_limit.as_secs() / 60
            ))
        }
        Err(error) => Err(error),
    };

    let ceiling_stop = ceiling.stop();
    let depot_stop = depot.stop();
    let loadgen_status = loadgen_status?;
    if !loadgen_status.success() || depot_stop.is_err() {
        eprintln!(
            "\n==> bench: last lines of depot-api's log:\n{}",
            tail(&depot.log, 40)
        );
    }
    ensure!(
        loadgen_status.success(),
        "depot-loadgen failed ({loadgen_status})"
    );
    depot_stop.context("depot-api did not stop cleanly")?;
    ceiling_stop.context("the ceiling server did not stop cleanly")?;
    Ok(())
}

/// Prints the load average and warns when the machine is busy: figures taken while something
/// else computes are not the machine's.
fn report_machine_state() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let one_minute: f64 = load
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    eprintln!(
        "==> bench: {cpus} CPUs, load average {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    if one_minute > 0.5 {
        eprintln!(
            "==> bench: warning: the machine is busy (1-minute load {one_minute:.2}); the figures \
             will be low and noisy — check `top` and record the load with them"
        );
    }
}

/// `len` characters of `alphabet` from the kernel's random source.
fn random_string(len: usize, alphabet: &[u8]) -> anyhow::Result<String> {
    let mut bytes = vec![0u8; len];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes
        .iter()
        .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
        .collect())
}

/// A server process started for the benchmark, killed on drop if not stopped.
struct Server {
    name: &'static str,
    child: Child,
    addr: std::net::SocketAddr,
    log: PathBuf,
}

impl Server {
    /// Starts `command`, copies its stderr to `log`, and waits for its JSON `listening` line,
    /// whose `field` is the address it bound.
    fn start(
        name: &'static str,
        command: &mut Command,
        log: &Path,
        field: &'static str,
    ) -> anyhow::Result<Server> {
        // None of the developer's DEPOT_* settings leak in.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("DEPOT_") {
                command.env_remove(key);
            }
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let Some(stderr) = child.stderr.take() else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{name} was started without a stderr pipe");
        };
        let rx = tee_log_until_listening(stderr, file);
        let mut server = Server {
            name,
            child,
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            log: log.to_path_buf(),
        };
        let line = rx.recv_timeout(STARTUP_TIMEOUT).map_err(|_| {
            anyhow::anyhow!(
                "{name} printed no `listening` line within {STARTUP_TIMEOUT:?}; its log:\n{}",
                tail(log, 40)
            )
        })?;
        server.addr = listening_addr(&line, field)?;
        eprintln!(
            "==> bench: {name} (pid {}) listening on {}",
            server.child.id(),
            server.addr
        );
        Ok(server)
    }

    /// SIGTERM, then waits; the server must exit 0.
    fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} had already exited ({status})", self.name);
        }
        send_signal(&self.child, Signal::TERM, false)
            .with_context(|| format!("sending SIGTERM to {}", self.name))?;
        let Some(status) = wait_with_timeout(&mut self.child, EXIT_TIMEOUT)? else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            bail!(
                "{} was still running {EXIT_TIMEOUT:?} after SIGTERM; killed it",
                self.name
            );
        };
        ensure!(status.success(), "{} exited with {status}", self.name);
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The last `n` lines of a file, for failure reports.
fn tail(path: &Path, n: usize) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return format!("(cannot read {})", path.display());
    };
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_lengths_and_listings_follow_the_flags() {
        let default = Flags::default();
        assert_eq!(default.seconds(), 5.0);
        assert_eq!(default.listings(), [10_000, 100_000]);
        let quick = Flags {
            quick: true,
            ..Flags::default()
        };
        assert_eq!(quick.seconds(), 1.0);
        assert_eq!(quick.listings(), [10_000]);
        let full = Flags {
            full: true,
            ..Flags::default()
        };
        assert_eq!(full.listings(), [10_000, 1_000_000]);
        let reached = Flags {
            full: true,
            objects: Some(400_000),
            seconds: Some(3.0),
            ..Flags::default()
        };
        assert_eq!(reached.listings(), [10_000, 400_000]);
        assert_eq!(reached.seconds(), 3.0);
        // Every run is bounded, and the bound grows with what is asked.
        assert!(quick.time_limit() < full.time_limit());
        assert!(full.time_limit() < Duration::from_secs(3 * 3600));
    }

    #[test]
    fn flags_parse_beside_the_arguments_for_cargo_bench() {
        use clap::Parser;

        use crate::flags::{Command, Xtask};

        let parsed = Xtask::try_parse_from([
            "xtask",
            "bench",
            "--quick",
            "--json",
            "--",
            "--",
            "--save-baseline",
            "main",
        ])
        .expect("parses");
        let Command::Bench { flags, args } = parsed.command else {
            panic!("not bench");
        };
        assert!(flags.quick && flags.json && !flags.full);
        assert_eq!(args, ["--", "--save-baseline", "main"]);

        let parsed = Xtask::try_parse_from(["xtask", "bench", "--full", "--objects", "300000"])
            .expect("parses");
        let Command::Bench { flags, args } = parsed.command else {
            panic!("not bench");
        };
        assert!(flags.full);
        assert_eq!(flags.objects, Some(300_000));
        assert!(args.is_empty());
        assert!(Xtask::try_parse_from(["xtask", "bench", "--quick", "--full"]).is_err());
    }

    #[test]
    fn quick_criterion_runs_only_the_bench_targets_in_quick_mode() {
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(criterion_args(false, &[]), Vec::<String>::new());
        assert_eq!(
            criterion_args(false, &strings(&["--", "--save-baseline", "main"])),
            ["--", "--save-baseline", "main"]
        );
        assert_eq!(criterion_args(true, &[]), ["--bench", "*", "--", "--quick"]);
        assert_eq!(
            criterion_args(true, &strings(&["--", "--save-baseline", "main"])),
            ["--bench", "*", "--", "--save-baseline", "main", "--quick"]
        );
    }
}
