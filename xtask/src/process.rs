//! What `e2e` and `bench` share: building the binaries they run, and the child servers they
//! start — draining their logs, learning their addresses, signalling and waiting for them.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ExitStatus};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rustix::process::{Pid, Signal};
use xshell::{Shell, cmd};

/// Builds the binaries of `packages` (each package's binary of the same name) in one cargo
/// run, the release profile if `release`; their executables in the same order, as cargo
/// reported them, so `CARGO_TARGET_DIR` and any cargo configuration are honoured.
pub(crate) fn build_binaries(
    sh: &Shell,
    release: bool,
    packages: &[&str],
) -> anyhow::Result<Vec<PathBuf>> {
    let mut args: Vec<String> = packages.iter().map(|p| format!("--package={p}")).collect();
    if release {
        args.push("--release".to_owned());
    }
    eprintln!("==> cargo build {}", args.join(" "));
    let messages = cmd!(
        sh,
        "cargo build {args...} --bins --message-format=json-render-diagnostics"
    )
    .read()
    .with_context(|| format!("building {}", packages.join(", ")))?;
    packages
        .iter()
        .map(|package| executable(&messages, package))
        .collect()
}

/// The executable cargo's JSON `messages` report for the binary `target`.
fn executable(messages: &str, target: &str) -> anyhow::Result<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == target)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .with_context(|| format!("cargo did not report a {target} executable"))
}

/// The address in `field` of a server's JSON `listening` log line.
pub(crate) fn listening_addr(line: &str, field: &str) -> anyhow::Result<SocketAddr> {
    let event: serde_json::Value = serde_json::from_str(line)
        .with_context(|| format!("`listening` line is not JSON: {line}"))?;
    event[field]
        .as_str()
        .with_context(|| format!("no {field} in {line}"))?
        .parse()
        .with_context(|| format!("bad {field} in {line}"))
}

/// Copies a server's stderr to `log` for as long as it runs, so the pipe never fills and blocks
/// the server, and hands over its first `listening` log line through the returned receiver.
pub(crate) fn tee_log_until_listening(
    stderr: ChildStderr,
    mut log: File,
) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = writeln!(log, "{line}");
            if !sent && line.contains(r#""message":"listening""#) {
                sent = tx.send(line).is_ok();
            }
        }
    });
    rx
}

/// Sends `signal` to the child; with `group`, to its whole process group (a child started with
/// `process_group(0)` leads one). Through rustix: the workspace forbids `unsafe`, and `kill(1)`
/// is not on every machine.
pub(crate) fn send_signal(child: &Child, signal: Signal, group: bool) -> std::io::Result<()> {
    let pid = Pid::from_child(child);
    let sent = if group {
        rustix::process::kill_process_group(pid, signal)
    } else {
        rustix::process::kill_process(pid, signal)
    };
    sent.map_err(std::io::Error::from)
}

/// Waits for the child to exit, at most `timeout`; None if it is still running.
pub(crate) fn wait_with_timeout(
    child: &mut Child,
    timeout: Duration,
) -> anyhow::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_executables_and_listening_addresses() -> anyhow::Result<()> {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"depot_domain"},"executable":null}"#,
            "\n",
            "not json\n",
            r#"{"reason":"compiler-artifact","target":{"name":"depot-api"},"executable":"/t/release/depot-api"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        assert_eq!(
            executable(messages, "depot-api")?,
            PathBuf::from("/t/release/depot-api")
        );
        assert!(executable(messages, "depot-admin").is_err());

        let depot =
            r#"{"message":"listening","s3_addr":"127.0.0.1:4100","control_addr":"127.0.0.1:4101"}"#;
        assert_eq!(listening_addr(depot, "s3_addr")?.port(), 4100);
        assert_eq!(listening_addr(depot, "control_addr")?.port(), 4101);
        let ceiling = r#"{"addr":"127.0.0.1:4200","message":"listening"}"#;
        assert_eq!(listening_addr(ceiling, "addr")?.port(), 4200);
        assert!(listening_addr(ceiling, "s3_addr").is_err());
        assert!(listening_addr("listening on 127.0.0.1:9000", "s3_addr").is_err());
        Ok(())
    }
}
