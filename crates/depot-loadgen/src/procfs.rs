//! What Linux's `/proc` says about the servers and the machine: peak memory (VmHWM), CPU time,
//! load average, processor. Figures mean little without the conditions they were taken in.

use std::time::Duration;

/// Clock ticks per second of `/proc/<pid>/stat` times. `USER_HZ` is 100 on every Linux
/// architecture the project runs on; reading it properly needs `sysconf`, i.e. `unsafe` libc.
const USER_HZ: f64 = 100.0;

/// A process watched through `/proc/<pid>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Process {
    /// Its process id.
    pub pid: u32,
}

impl Process {
    /// Peak resident set size (`VmHWM`) in KiB, since start or the last
    /// [`reset_peak`](Self::reset_peak); `None` if unreadable (not Linux, process gone).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status_field_kib(&status, "VmHWM:")
    }

    /// Current resident set size (`VmRSS`) in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status_field_kib(&status, "VmRSS:")
    }

    /// Resets the peak to the current RSS (`echo 5 > /proc/<pid>/clear_refs`), so the next
    /// reading is the peak of what follows. False if not allowed (another user's process).
    pub fn reset_peak(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok()
    }

    /// CPU time (user + system, all threads) used so far.
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        stat_cpu_time(&stat)
    }
}

/// The value in KiB of a `Name:   1234 kB` line of `/proc/<pid>/status`.
fn status_field_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    let mut words = line[field.len()..].split_whitespace();
    let value = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(value)
}

/// utime + stime of a `/proc/<pid>/stat` line. The command name (field 2) is in parentheses
/// and may itself contain spaces and parentheses, so fields are counted after the last `)`.
fn stat_cpu_time(stat: &str) -> Option<Duration> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // After the name: state is field 3; utime and stime are fields 14 and 15.
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) as f64 / USER_HZ))
}

/// The 1-, 5- and 15-minute load averages.
pub fn load_average() -> Option<[f64; 3]> {
    parse_loadavg(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    Some([
        fields.next()?.ok()?,
        fields.next()?.ok()?,
        fields.next()?.ok()?,
    ])
}

/// The processor's model name and the number of logical CPUs, from `/proc/cpuinfo`.
pub fn cpu() -> Option<(String, usize)> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let model = info
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let count = info.lines().filter(|l| l.starts_with("processor")).count();
    Some((model, count))
}

/// Total memory in KiB, from `/proc/meminfo`.
pub fn memory_kib() -> Option<u64> {
    status_field_kib(&std::fs::read_to_string("/proc/meminfo").ok()?, "MemTotal:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_fields() {
        let status = "Name:\tdepot-api\nVmPeak:\t  900000 kB\nVmHWM:\t   123456 kB\nVmRSS:\t  100000 kB\nThreads:\t3\n";
        assert_eq!(status_field_kib(status, "VmHWM:"), Some(123_456));
        assert_eq!(status_field_kib(status, "VmRSS:"), Some(100_000));
        assert_eq!(status_field_kib(status, "VmSwap:"), None);
        assert_eq!(status_field_kib(status, "Threads:"), None);
    }

    #[test]
    fn reads_cpu_time_even_with_parentheses_in_the_name() {
        // Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt
        // majflt cmajflt utime stime …
        let stat = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(stat_cpu_time(stat), Some(Duration::from_secs(3)));
        assert_eq!(stat_cpu_time("4242 (x) S 1"), None);
    }

    #[test]
    fn reads_load_average() {
        assert_eq!(
            parse_loadavg("0.52 1.25 2.00 1/345 6789\n"),
            Some([0.52, 1.25, 2.0])
        );
        assert_eq!(parse_loadavg("garbage"), None);
    }

    #[test]
    fn this_process_is_visible() {
        let me = Process {
            pid: std::process::id(),
        };
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(me.peak_rss_kib().is_some_and(|kib| kib > 0));
            assert!(me.rss_kib().is_some());
            assert!(me.cpu_time().is_some());
        }
    }
}
