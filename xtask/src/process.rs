//! Child servers that `e2e` and `bench` start: draining their logs and waiting for them.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStderr, ExitStatus};

use rustix::process::{Pid, Signal};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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
