//! The real `depot-api` binary, started for a test on ports the kernel picks, over a data
//! directory of its own, and killed if the test fails before stopping it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// What happens to the server's standard error once it is listening.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogAfterStart {
    /// Keep reading it, as a terminal or a log collector would.
    Drain,
    /// Close it, as a crashed log collector would.
    Close,
}

/// A running `depot-api`, killed on drop if a test fails before stopping it.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) s3: SocketAddr,
    pub(crate) control: SocketAddr,
    pub(crate) data_dir: PathBuf,
    _temp: tempfile::TempDir,
}

impl Server {
    /// Starts the binary on ports the kernel picks and learns them from its JSON `listening`
    /// log line: no window between choosing a free port and binding it, unlike pre-binding.
    pub(crate) fn start() -> anyhow::Result<Server> {
        Self::start_with(LogAfterStart::Drain, &[])
    }

    /// Starts the binary with `settings` (name, value) added to its environment.
    pub(crate) fn start_with(
        log_after_start: LogAfterStart,
        settings: &[(&str, &str)],
    ) -> anyhow::Result<Server> {
        let temp = tempfile::tempdir()?;
        // Not created beforehand: the server must create it.
        let data_dir = temp.path().join("data");
        let mut child = depot_api()
            .env("DEPOT_DATA_DIR", &data_dir)
            .env("DEPOT_S3_ADDR", "127.0.0.1:0")
            .env("DEPOT_CONTROL_ADDR", "127.0.0.1:0")
            .env("DEPOT_LOG_FORMAT", "json")
            .env("DEPOT_SHUTDOWN_TIMEOUT_SECS", "5")
            .envs(settings.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("spawning depot-api")?;
        let stderr = child.stderr.take().context("no stderr pipe")?;

        // A thread reads the log, so the wait below can time out, and keeps draining it so a
        // full pipe never blocks the server.
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let listening = line.contains(r#""message":"listening""#);
                // Once the test stops listening, log lines go to the test's own stderr,
                // which the harness shows only when the test fails.
                if let Err(mpsc::SendError(line)) = lines.send(line) {
                    eprintln!("depot-api: {line}");
                }
                if listening && log_after_start == LogAfterStart::Close {
                    return; // Drops the pipe's read end.
                }
            }
        });
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut seen = Vec::new();
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = received.recv_timeout(remaining) else {
                let _ = child.kill();
                bail!("no `listening` log line; the server wrote: {seen:#?}");
            };
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                seen.push(line);
                continue;
            };
            if event["message"] == "listening" {
                let address = |field: &str| -> anyhow::Result<SocketAddr> {
                    event[field]
                        .as_str()
                        .with_context(|| format!("no {field} in {line}"))?
                        .parse()
                        .with_context(|| format!("bad {field} in {line}"))
                };
                return Ok(Server {
                    s3: address("s3_addr")?,
                    control: address("control_addr")?,
                    child,
                    data_dir,
                    _temp: temp,
                });
            }
            seen.push(line);
        }
    }

    pub(crate) fn sigterm(&self) -> anyhow::Result<()> {
        // Through rustix: the workspace forbids `unsafe`, and `kill(1)` is not on every machine.
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)
            .context("sending SIGTERM")?;
        Ok(())
    }

    pub(crate) fn wait(&mut self) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            ensure!(Instant::now() < deadline, "depot-api did not exit in time");
            std::thread::sleep(Duration::from_millis(20));
        }
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

/// The binary under test, with none of the developer's `DEPOT_*` settings leaking in.
pub(crate) fn depot_api() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_depot-api"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("DEPOT_") {
            command.env_remove(name);
        }
    }
    command
}
