//! `cargo xtask e2e`: proves the S3 data plane works with the clients people actually use, by
//! starting the built `depot-api` and running one suite per client (`e2e/<suite>`) against it,
//! that the ostor admin API and its quotas and limits hold as boto3 sees them (`ostor`), that
//! the operator CLI drives it (`admin`), that buckets replicate to a second `depot-api` the
//! suite starts (`replication`), and that a 5 GiB object passes through it in bounded memory
//! (`bigobject`).
//!
//! The order of a run: build `depot-admin` and `depot-api`; start the server on `127.0.0.1:0`
//! with a fresh data directory and a generated root key pair, learning its ports from the
//! JSON `listening` log line; wait for `/healthz`; make sure the clients are installed; run
//! each suite as a subprocess with `S3_ENDPOINT`, the keys, a temp dir of its own (`E2E_TMP`),
//! the server's process id (`DEPOT_PID`, for suites that read its memory in `/proc`) and the
//! built `depot-admin` (`DEPOT_ADMIN_BIN`), under a time limit; stop the server with SIGTERM
//! and require exit status 0. The last line is `N passed, M failed`, counting suites, which
//! CI reads.
//!
//! The hidden `--endpoint URL --access-key K --secret-key S` runs the suites against a server
//! that is already running instead. That is how the suites themselves are checked against a
//! reference S3 implementation (moto's server mode, with `E2E_REFERENCE=moto` in the
//! environment, which relaxes only the checks each suite marks as beyond moto). The hidden
//! `--depot-api PATH` starts a given binary (a release build, say) instead of building one.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use xshell::{Shell, cmd};

use crate::process::{
    build_binaries, listening_addr, send_signal, tee_log_until_listening, wait_with_timeout,
};
use crate::project_root;
use rustix::process::Signal;

/// How long `depot-api` gets to print its `listening` line, and then to answer `/healthz`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one suite may run before it is stopped and counted as failed.
const SUITE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How long `depot-api` gets to exit after SIGTERM (its own shutdown timeout is set below it).
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);
/// `DEPOT_SHUTDOWN_TIMEOUT_SECS` for the server under test.
const SERVER_SHUTDOWN_SECS: &str = "10";
/// Lines of the server's log shown when something failed.
const LOG_TAIL_LINES: usize = 80;
/// The region every suite signs for; Depot's default.
const REGION: &str = "us-east-1";

/// The suites, in the order they run: one per client, each a file in `e2e/`, then `bigobject`.
const SUITES: &[Suite] = &[
    Suite {
        name: "awscli",
        file: "awscli.sh",
        interpreter: "bash",
        clients: &[Client::Python, Client::Curl, Client::AwsCli],
    },
    Suite {
        name: "boto3",
        file: "boto3_suite.py",
        interpreter: "python3",
        clients: &[Client::Python, Client::Boto3],
    },
    Suite {
        name: "ostor",
        file: "ostor_suite.py",
        interpreter: "python3",
        clients: &[Client::Python, Client::Boto3],
    },
    // The operator CLI against the same server: the binary is in DEPOT_ADMIN_BIN.
    Suite {
        name: "admin",
        file: "admin.sh",
        interpreter: "bash",
        clients: &[Client::Python, Client::Curl],
    },
    // Usage objects of the server under test, and of a depot-api the suite stops and starts.
    Suite {
        name: "usage",
        file: "usage_suite.py",
        interpreter: "python3",
        clients: &[Client::Python, Client::Boto3],
    },
    // Two servers: this suite starts a second depot-api (DEPOT_API_BIN) as the destination.
    Suite {
        name: "replication",
        file: "replication_suite.py",
        interpreter: "python3",
        clients: &[Client::Python, Client::Boto3],
    },
    Suite {
        name: "rclone",
        file: "rclone.sh",
        interpreter: "bash",
        clients: &[Client::Python, Client::Curl, Client::Rclone],
    },
    Suite {
        name: "s3cmd",
        file: "s3cmd.sh",
        interpreter: "bash",
        clients: &[Client::Curl, Client::S3cmd],
    },
    // Not a client but a bound: 5 GiB up and down through depot-api in bounded memory, read
    // from /proc/$DEPOT_PID. Last, as the longest.
    Suite {
        name: "bigobject",
        file: "bigobject.py",
        interpreter: "python3",
        clients: &[Client::Python, Client::Boto3],
    },
];

#[derive(Debug, PartialEq, Eq)]
struct Suite {
    name: &'static str,
    /// Path under `e2e/`.
    file: &'static str,
    interpreter: &'static str,
    /// What the suite runs, checked (and installed if missing) before any suite starts.
    clients: &'static [Client],
}

/// An S3 server the suites talk to, with the root user's keys.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) endpoint: String,
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
}

pub(crate) struct Options {
    /// Suite names; empty means all.
    pub(crate) suites: Vec<String>,
    /// Keep the temporary directory afterwards.
    pub(crate) keep: bool,
    /// Test this running server instead of starting `depot-api`.
    pub(crate) external: Option<Target>,
    /// Start this `depot-api` binary instead of building one.
    pub(crate) depot_api: Option<PathBuf>,
}

pub(crate) fn run(sh: &Shell, options: Options) -> anyhow::Result<()> {
    let suites = select_suites(&options.suites)?;
    let work = TempRoot::create()?;
    eprintln!("==> e2e: working in {}", work.path.display());
    let outcome = run_in(sh, &options, &suites, &work);
    if options.keep {
        eprintln!("==> e2e: kept {}", work.path.display());
    } else if let Err(error) = std::fs::remove_dir_all(&work.path) {
        eprintln!("==> e2e: could not remove {}: {error}", work.path.display());
    }
    // The summary comes last, so `N passed, M failed` closes the output.
    outcome?.finish()
}

/// What a run found: each suite's result, and how the server stopped (None when an
/// `--endpoint` was tested instead).
struct Report {
    results: Vec<SuiteResult>,
    server_exit: Option<anyhow::Result<()>>,
}

impl Report {
    /// Prints one line per suite and the `N passed, M failed` line CI reads; fails if a suite
    /// failed or the server did not stop cleanly.
    fn finish(self) -> anyhow::Result<()> {
        eprintln!("\n==> e2e summary");
        for result in &self.results {
            eprintln!(
                "    {:<8} {:<24} {:>7.1} s",
                result.name,
                result.verdict(),
                result.elapsed.as_secs_f64()
            );
        }
        let failed = self.results.iter().filter(|r| !r.passed()).count();
        eprintln!("{} passed, {} failed", self.results.len() - failed, failed);
        if let Some(Err(error)) = self.server_exit {
            return Err(error.context("depot-api did not stop cleanly on SIGTERM"));
        }
        ensure!(failed == 0, "{failed} e2e suite(s) failed");
        Ok(())
    }
}

fn run_in(
    sh: &Shell,
    options: &Options,
    suites: &[&Suite],
    work: &TempRoot,
) -> anyhow::Result<Report> {
    // Build first, in one cargo run: a compile error should not wait for client installs.
    let build_server = options.external.is_none() && options.depot_api.is_none();
    let built = if build_server {
        build_binaries(sh, false, &["depot-admin", "depot-api"])?
    } else {
        build_binaries(sh, false, &["depot-admin"])?
    };
    let depot_admin = built[0].clone();
    let (mut server, depot_api) = match &options.external {
        Some(target) => {
            eprintln!("==> e2e: testing the running server at {}", target.endpoint);
            (None, None)
        }
        None => {
            let binary = match &options.depot_api {
                Some(path) => path.clone(),
                None => built[1].clone(),
            };
            (Some(Server::start(&binary, work)?), Some(binary))
        }
    };
    ensure_clients(sh, suites)?;
    let target = match (&options.external, &server) {
        (Some(target), _) => target.clone(),
        (None, Some(server)) => server.target.clone(),
        (None, None) => bail!("no server to test: none was started and no --endpoint given"),
    };

    // The process under test, for suites that watch its memory; unknown with --endpoint.
    let pid = server.as_ref().map(|server| server.child.id());
    let mut results = Vec::new();
    for suite in suites {
        let tmp = work.path.join("suites").join(suite.name);
        let result = run_suite(
            suite,
            &target,
            pid,
            &tmp,
            &depot_admin,
            depot_api.as_deref(),
        )?;
        eprintln!(
            "==> e2e: {} {} in {:.1?}",
            suite.name,
            result.verdict(),
            result.elapsed
        );
        results.push(result);
    }

    let server_exit = server.as_mut().map(Server::stop);
    let any_failed = results.iter().any(|r| !r.passed());
    let server_ok = matches!(server_exit, None | Some(Ok(())));
    if let (Some(server), true) = (&server, any_failed || !server_ok) {
        eprintln!(
            "\n==> e2e: last {LOG_TAIL_LINES} lines of depot-api's log ({})",
            server.log_path.display()
        );
        eprintln!("{}", tail(&server.log_path, LOG_TAIL_LINES));
    }
    Ok(Report {
        results,
        server_exit,
    })
}

fn select_suites(names: &[String]) -> anyhow::Result<Vec<&'static Suite>> {
    if names.is_empty() {
        return Ok(SUITES.iter().collect());
    }
    let mut selected = Vec::new();
    for name in names {
        let Some(suite) = SUITES.iter().find(|s| s.name == name) else {
            let known: Vec<_> = SUITES.iter().map(|s| s.name).collect();
            bail!(
                "no e2e suite named {name:?}; the suites are {}",
                known.join(", ")
            );
        };
        if !selected.contains(&suite) {
            selected.push(suite);
        }
    }
    Ok(selected)
}

// ---- the temporary directory ----

/// `<tmp>/depot-e2e-<pid>-<nanos>/`: the server's data dir, its log, one dir per suite.
struct TempRoot {
    path: PathBuf,
}

impl TempRoot {
    fn create() -> anyhow::Result<TempRoot> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!("depot-e2e-{}-{nanos}", std::process::id()));
        // `create_dir`, not `create_dir_all`: never reuse a directory that already exists.
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempRoot { path })
    }
}

// ---- building and running depot-api ----

/// The running `depot-api`, killed on drop if the run ends before `stop`.
struct Server {
    child: Child,
    target: Target,
    log_path: PathBuf,
}

impl Server {
    fn start(binary: &Path, work: &TempRoot) -> anyhow::Result<Server> {
        // Not created beforehand: the server must create it.
        let data_dir = work.path.join("data");
        let log_path = work.path.join("depot-api.log");
        let access_key = random_string(20, ACCESS_KEY_ALPHABET)?;
        let secret_key = random_string(40, SECRET_KEY_ALPHABET)?;

        let log =
            File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
        let mut command = Command::new(binary);
        // None of the developer's DEPOT_* settings leak in.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("DEPOT_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .env("DEPOT_DATA_DIR", &data_dir)
            .env("DEPOT_S3_ADDR", "127.0.0.1:0")
            .env("DEPOT_CONTROL_ADDR", "127.0.0.1:0")
            .env("DEPOT_ROOT_ACCESS_KEY", &access_key)
            .env("DEPOT_ROOT_SECRET_KEY", &secret_key)
            .env("DEPOT_S3_REGION", REGION)
            // A virtual-hosted domain as in production: requests to 127.0.0.1 stay
            // path-style, which every suite checks, and the boto3 suite also addresses
            // `bucket.s3.localhost` (resolving it to loopback itself; see S3_VIRTUAL_DOMAIN).
            .env("DEPOT_S3_DOMAIN", VIRTUAL_HOSTED_DOMAIN)
            .env("DEPOT_LOG_FORMAT", "json")
            .env("DEPOT_SHUTDOWN_TIMEOUT_SECS", SERVER_SHUTDOWN_SECS)
            // A replication destination coming back is retried within 2 s, not a minute.
            .env("DEPOT_REPLICATION_MAX_RETRY_SECS", "2")
            // A usage object every 2 s, so the suites see their counters without waiting.
            .env("DEPOT_USAGE_PERIOD_SECS", "2")
            // Limits counted in the database, as nodes sharing one count them: boto3's
            // `SlowDown` and paced download go through the shared limiter (the in-memory one
            // has the store's unit tests).
            .env("DEPOT_LIMITER", "database")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        eprintln!(
            "==> e2e: started depot-api (pid {}), data in {}, log in {}",
            child.id(),
            data_dir.display(),
            log_path.display()
        );

        let Some(stderr) = child.stderr.take() else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("depot-api was started without a stderr pipe");
        };
        let listening_rx = tee_log_until_listening(stderr, log);

        let mut server = Server {
            child,
            target: Target {
                endpoint: String::new(),
                access_key,
                secret_key,
            },
            log_path,
        };
        let line = match listening_rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let log = tail(&server.log_path, LOG_TAIL_LINES);
                match server.child.try_wait().ok().flatten() {
                    Some(status) => bail!(
                        "depot-api exited ({status}) before its `listening` line; its log:\n{log}"
                    ),
                    None => bail!(
                        "depot-api printed no `listening` line within {STARTUP_TIMEOUT:?}; its log:\n{log}"
                    ),
                }
            }
        };
        let (s3, control) = (
            listening_addr(&line, "s3_addr")?,
            listening_addr(&line, "control_addr")?,
        );
        server.target.endpoint = format!("http://{s3}");
        eprintln!("==> e2e: depot-api listening: S3 on {s3}, control plane on {control}");
        wait_healthy(control, &mut server.child)?;
        Ok(server)
    }

    /// SIGTERM, then waits; the server must exit 0.
    fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("depot-api had already exited ({status}) before the suites finished");
        }
        send_signal(&self.child, Signal::TERM, false).context("sending SIGTERM to depot-api")?;
        let status = wait_with_timeout(&mut self.child, EXIT_TIMEOUT)?;
        let Some(status) = status else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            bail!("depot-api was still running {EXIT_TIMEOUT:?} after SIGTERM; killed it");
        };
        ensure!(status.code() == Some(0), "depot-api exited with {status}");
        eprintln!("==> e2e: depot-api stopped on SIGTERM with exit status 0");
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

/// Polls `GET /healthz` until it answers 200, the server dies, or the time is up.
fn wait_healthy(control: SocketAddr, child: &mut Child) -> anyhow::Result<()> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    let mut last = String::from("no attempt");
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            bail!("depot-api exited ({status}) before it was healthy");
        }
        match http_get_status(control, "/healthz") {
            Ok(200) => return Ok(()),
            Ok(status) => last = format!("status {status}"),
            Err(error) => last = format!("{error:#}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("GET /healthz on {control} did not answer 200 within {STARTUP_TIMEOUT:?} (last: {last})")
}

/// One plain HTTP/1.1 GET on a fresh connection, returning the status code. Enough for a
/// health check without an HTTP client dependency in xtask.
fn http_get_status(addr: SocketAddr, path: &str) -> anyhow::Result<u16> {
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut status_line = String::new();
    BufReader::new(stream).read_line(&mut status_line)?;
    parse_status_line(&status_line).with_context(|| format!("bad status line {status_line:?}"))
}

fn parse_status_line(line: &str) -> Option<u16> {
    let mut parts = line.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

// ---- keys ----

const ACCESS_KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// AWS secret keys use base64's alphabet, `+` and `/` included; so do these.
const SECRET_KEY_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `len` characters from `alphabet`, drawn from the kernel's random source (a test key needs
/// no more; xtask takes no RNG dependency for it).
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

// ---- clients ----

/// A program a suite runs, with how to check it and how to install it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    Python,
    Curl,
    AwsCli,
    Boto3,
    Rclone,
    S3cmd,
}

impl Client {
    /// The command that prints the version (and fails when the client is missing).
    fn version_command(self) -> &'static [&'static str] {
        match self {
            Client::Python => &["python3", "--version"],
            Client::Curl => &["curl", "--version"],
            Client::AwsCli => &["aws", "--version"],
            Client::Boto3 => &[
                "python3",
                "-c",
                // An older botocore (Debian's python3-boto3, say) sends no flexible checksums,
                // and the suites' checksum checks would skip: it counts as missing, so the
                // e2e virtual environment gets a current one.
                "import boto3, botocore, sys; print('boto3', boto3.__version__, 'botocore', botocore.__version__); \
                 sys.exit(tuple(map(int, botocore.__version__.split('.')[:2])) < (1, 36))",
            ],
            Client::Rclone => &["rclone", "version"],
            Client::S3cmd => &["s3cmd", "--version"],
        }
    }

    fn install(self) -> Install {
        match self {
            // Both from PyPI in one go: aws-cli v1 brings botocore, and boto3 shares it.
            Client::AwsCli | Client::Boto3 => Install::Pip(&["awscli", "boto3"]),
            Client::Python => Install::Apt(&["python3", "python3-venv"]),
            Client::Curl => Install::Apt(&["curl"]),
            Client::Rclone => Install::Apt(&["rclone"]),
            Client::S3cmd => Install::Apt(&["s3cmd"]),
        }
    }
}

enum Install {
    Pip(&'static [&'static str]),
    Apt(&'static [&'static str]),
}

/// The first line a version command prints, or None when the client is missing.
fn client_version(client: Client) -> Option<String> {
    let [program, args @ ..] = client.version_command() else {
        return None;
    };
    let output = Command::new(program)
        .args(args)
        .env("PATH", clients_path())
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    // Some tools print their version on stderr (python3 < 3.4, aws-cli v1 on old Pythons).
    let text = if output.stdout.is_empty() {
        output.stderr
    } else {
        output.stdout
    };
    Some(
        String::from_utf8_lossy(&text)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_owned(),
    )
}

/// Checks every client the selected suites need, installs the missing ones, and prints each
/// version.
fn ensure_clients(sh: &Shell, suites: &[&Suite]) -> anyhow::Result<()> {
    let mut needed: Vec<Client> = Vec::new();
    for client in suites.iter().flat_map(|s| s.clients) {
        if !needed.contains(client) {
            needed.push(*client);
        }
    }
    let missing: Vec<Client> = needed
        .iter()
        .copied()
        .filter(|c| client_version(*c).is_none())
        .collect();

    let mut apt: Vec<&str> = Vec::new();
    let mut pip: Vec<&str> = Vec::new();
    for client in &missing {
        let (list, packages) = match client.install() {
            Install::Apt(p) => (&mut apt, p),
            Install::Pip(p) => (&mut pip, p),
        };
        for package in packages {
            if !list.contains(package) {
                list.push(package);
            }
        }
    }
    // apt first: it may be what brings pip.
    if !apt.is_empty() {
        apt_install(sh, &apt)?;
    }
    if !pip.is_empty() {
        let python = python_environment(sh)?;
        eprintln!(
            "==> e2e: installing from PyPI into {}: {}",
            python_env_dir().display(),
            pip.join(" ")
        );
        cmd!(
            sh,
            "{python} -m pip install --upgrade --quiet --disable-pip-version-check {pip...}"
        )
        .run()
        .context("pip could not install the Python clients")?;
    }

    eprintln!("==> e2e: clients");
    for client in needed {
        let version = client_version(client).with_context(|| {
            format!(
                "{client:?} is still missing after installing it (`{}` fails)",
                client.version_command().join(" ")
            )
        })?;
        eprintln!("    {:<7} {version}", format!("{client:?}").to_lowercase());
    }
    Ok(())
}

/// Where e2e installs the Python clients it has to: a virtual environment of its own under the
/// cargo target directory, since Debian's Python refuses `pip install` into the system
/// (PEP 668) and a developer's own Python environment is not ours to change.
fn python_env_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("target"));
    target.join("e2e-python")
}

/// `PATH` for the clients and the suites: the e2e virtual environment's `bin` first, so its
/// `python3` (with boto3) and `aws` are the ones found.
fn clients_path() -> std::ffi::OsString {
    let bin = python_env_dir().join("bin");
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&inherited)))
        .unwrap_or(inherited)
}

/// The e2e virtual environment's interpreter, creating the environment first if needed
/// (Debian ships `venv` separately, as python3-venv).
fn python_environment(sh: &Shell) -> anyhow::Result<PathBuf> {
    let dir = python_env_dir();
    let python = dir.join("bin").join("python3");
    if python.is_file() && cmd!(sh, "{python} -m pip --version").quiet().run().is_ok() {
        return Ok(python);
    }
    // A half-made environment (no ensurepip) is removed before trying again.
    let _ = std::fs::remove_dir_all(&dir);
    if cmd!(sh, "python3 -m venv {dir}").run().is_err() {
        let _ = std::fs::remove_dir_all(&dir);
        apt_install(sh, &["python3-venv"])?;
        cmd!(sh, "python3 -m venv {dir}")
            .run()
            .context("creating the e2e Python environment")?;
    }
    Ok(python)
}

fn apt_install(sh: &Shell, packages: &[&str]) -> anyhow::Result<()> {
    let uid = cmd!(sh, "id -u").quiet().read().unwrap_or_default();
    if uid.trim() != "0" {
        bail!(
            "missing clients need Debian packages ({}), and apt-get needs root, which this \
             is not (uid {}): run `sudo apt-get install -y {}` and try again",
            packages.join(" "),
            uid.trim(),
            packages.join(" ")
        );
    }
    eprintln!("==> e2e: installing with apt-get: {}", packages.join(" "));
    let _frontend = sh.push_env("DEBIAN_FRONTEND", "noninteractive");
    if cmd!(
        sh,
        "apt-get install -y --no-install-recommends {packages...}"
    )
    .run()
    .is_ok()
    {
        return Ok(());
    }
    // Package lists may be missing or stale on a fresh machine; refresh once and retry.
    eprintln!("==> e2e: apt-get install failed; running apt-get update and retrying");
    cmd!(sh, "apt-get update").run().context("apt-get update")?;
    cmd!(
        sh,
        "apt-get install -y --no-install-recommends {packages...}"
    )
    .run()
    .with_context(|| format!("apt-get install {}", packages.join(" ")))?;
    Ok(())
}

// ---- suites ----

struct SuiteResult {
    name: &'static str,
    outcome: SuiteOutcome,
    elapsed: Duration,
}

enum SuiteOutcome {
    Exited(ExitStatus),
    TimedOut,
}

impl SuiteResult {
    fn passed(&self) -> bool {
        matches!(&self.outcome, SuiteOutcome::Exited(status) if status.success())
    }

    fn verdict(&self) -> String {
        match &self.outcome {
            SuiteOutcome::Exited(status) if status.success() => "passed".to_owned(),
            SuiteOutcome::Exited(status) => format!("FAILED ({status})"),
            SuiteOutcome::TimedOut => format!("FAILED (timed out after {SUITE_TIMEOUT:?})"),
        }
    }
}

/// The base domain of virtual-hosted-style requests to the server under test.
const VIRTUAL_HOSTED_DOMAIN: &str = "s3.localhost";

/// Runs one suite in its own process group, so a timeout stops the clients it started too.
/// `pid` is the server's process id, given to the suite as `DEPOT_PID` when known (with
/// `S3_VIRTUAL_DOMAIN`, the server's virtual-hosted domain, when the harness started it).
/// `depot_admin` is the built operator CLI, given as `DEPOT_ADMIN_BIN`; `depot_api` the server's
/// binary, when the harness started it, given as `DEPOT_API_BIN` (for suites that start more
/// servers).
fn run_suite(
    suite: &Suite,
    target: &Target,
    pid: Option<u32>,
    tmp: &Path,
    depot_admin: &Path,
    depot_api: Option<&Path>,
) -> anyhow::Result<SuiteResult> {
    std::fs::create_dir_all(tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let script = project_root().join("e2e").join(suite.file);
    ensure!(
        script.is_file(),
        "suite file {} is missing",
        script.display()
    );
    eprintln!(
        "\n==> e2e: suite {} ({} {})",
        suite.name,
        suite.interpreter,
        script.display()
    );

    let mut command = Command::new(suite.interpreter);
    command.arg(&script).current_dir(tmp);
    // Nothing of the developer's AWS, rclone or Depot setup reaches a client: each suite sees
    // only the server under test.
    for (name, _) in std::env::vars_os() {
        let name_str = name.to_string_lossy();
        if ["AWS_", "RCLONE_", "DEPOT_", "S3CMD_"]
            .iter()
            .any(|prefix| name_str.starts_with(prefix))
        {
            command.env_remove(&name);
        }
    }
    command
        .env("PATH", clients_path())
        .env("S3_ENDPOINT", &target.endpoint)
        .env("AWS_ACCESS_KEY_ID", &target.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &target.secret_key)
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", tmp.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", tmp.join("aws-credentials"))
        .env("E2E_TMP", tmp)
        .env("E2E_SUITE", suite.name)
        .env("DEPOT_ADMIN_BIN", depot_admin)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        // Its own process group, so a timeout can stop the clients it started too. The price:
        // Ctrl-C reaches xtask and depot-api but not the suite, which then fails fast against
        // the stopped server (or, with --endpoint, runs on to its end).
        .process_group(0);

    if let Some(pid) = pid {
        // Against the server the harness started, nothing is relaxed: a leftover
        // E2E_REFERENCE from checking the suites against moto must not reach them.
        command
            .env_remove("E2E_REFERENCE")
            .env("DEPOT_PID", pid.to_string())
            .env("S3_VIRTUAL_DOMAIN", VIRTUAL_HOSTED_DOMAIN);
    }

    if let Some(binary) = depot_api {
        command.env("DEPOT_API_BIN", binary);
    }

    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {} {}", suite.interpreter, script.display()))?;
    let outcome = match wait_with_timeout(&mut child, SUITE_TIMEOUT)? {
        Some(status) => SuiteOutcome::Exited(status),
        None => {
            eprintln!(
                "==> e2e: suite {} ran past {SUITE_TIMEOUT:?}; stopping it",
                suite.name
            );
            stop_group(&mut child)?;
            SuiteOutcome::TimedOut
        }
    };
    Ok(SuiteResult {
        name: suite.name,
        outcome,
        elapsed: started.elapsed(),
    })
}

/// SIGTERM to the suite's process group, then SIGKILL if it lingers.
fn stop_group(child: &mut Child) -> anyhow::Result<()> {
    let _ = send_signal(child, Signal::TERM, true);
    if wait_with_timeout(child, Duration::from_secs(5))?.is_none() {
        let _ = send_signal(child, Signal::KILL, true);
        child.wait()?;
    }
    Ok(())
}

/// The last `n` lines of a file, for failure reports.
fn tail(path: &Path, n: usize) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return format!("(cannot read {})", path.display());
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    for line in &lines[lines.len().saturating_sub(n)..] {
        let _ = writeln!(out, "    {line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suite_file_exists() {
        for suite in SUITES {
            let path = project_root().join("e2e").join(suite.file);
            assert!(path.is_file(), "{} missing", path.display());
        }
    }

    #[test]
    fn selects_suites_by_name_in_the_given_order_once() -> anyhow::Result<()> {
        let names = |v: Vec<&Suite>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(
            names(select_suites(&[])?),
            [
                "awscli",
                "boto3",
                "ostor",
                "admin",
                "usage",
                "replication",
                "rclone",
                "s3cmd",
                "bigobject"
            ]
        );
        let chosen = select_suites(&["s3cmd".into(), "boto3".into(), "s3cmd".into()])?;
        assert_eq!(names(chosen), ["s3cmd", "boto3"]);
        let error = select_suites(&["mc".into()]).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "no e2e suite named \"mc\"; the suites are awscli, boto3, ostor, admin, usage, replication, rclone, s3cmd, bigobject"
            )
        );
        Ok(())
    }

    #[test]
    fn parses_status_lines() {
        assert_eq!(parse_status_line("HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(
            parse_status_line("HTTP/1.1 503 Service Unavailable\r\n"),
            Some(503)
        );
        assert_eq!(parse_status_line("SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status_line(""), None);
    }

    #[test]
    fn generated_keys_have_the_length_and_alphabet_asked_for() -> anyhow::Result<()> {
        let access = random_string(20, ACCESS_KEY_ALPHABET)?;
        assert_eq!(access.len(), 20);
        assert!(
            access.bytes().all(|b| ACCESS_KEY_ALPHABET.contains(&b)),
            "{access}"
        );
        let secret = random_string(40, SECRET_KEY_ALPHABET)?;
        assert_eq!(secret.len(), 40);
        assert!(
            secret.bytes().all(|b| SECRET_KEY_ALPHABET.contains(&b)),
            "{secret}"
        );
        assert_ne!(secret, random_string(40, SECRET_KEY_ALPHABET)?);
        Ok(())
    }

    #[test]
    fn a_suite_past_its_time_is_stopped_with_its_children() -> anyhow::Result<()> {
        // A shell that starts a grandchild, as a suite starts clients: stopping the group
        // ends both, promptly.
        let mut child = Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30; wait"])
            .process_group(0)
            .spawn()?;
        assert!(wait_with_timeout(&mut child, Duration::from_millis(200))?.is_none());
        let started = Instant::now();
        stop_group(&mut child)?;
        assert!(child.try_wait()?.is_some(), "the suite's shell still runs");
        assert!(started.elapsed() < Duration::from_secs(10));
        // Nothing is left in the group once the orphaned grandchild is reaped: signalling the
        // group then finds no process.
        let deadline = Instant::now() + Duration::from_secs(5);
        let group = rustix::process::Pid::from_child(&child);
        while rustix::process::test_kill_process_group(group).is_ok() {
            assert!(
                Instant::now() < deadline,
                "the suite's children outlived it"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    #[test]
    fn tail_keeps_the_last_lines() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("log");
        std::fs::write(&path, "a\nb\nc\n")?;
        assert_eq!(tail(&path, 2), "    b\n    c\n");
        assert_eq!(tail(&path, 10), "    a\n    b\n    c\n");
        Ok(())
    }
}
