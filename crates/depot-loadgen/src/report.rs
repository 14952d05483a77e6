//! Turning outcomes into what people read and what tools record: a fixed-width table, the
//! project's targets with met/missed, and a JSON document.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::scenario::{Kind, Measured, Outcome, Populated};
use crate::stats::Summary;

/// A target of the issue: 4 KiB GET at ≥ 40 % of the ceiling's requests/s.
pub const GET_4K_SHARE: f64 = 0.40;
/// A target of the issue: 64 MiB GET at ≥ 70 % of the ceiling's MiB/s.
pub const GET_64M_SHARE: f64 = 0.70;
/// A target of the issue: the server's peak RSS in large-object runs under 256 MiB.
pub const PEAK_RSS_KIB: u64 = 256 * 1024;

/// One target and how the run did against it.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// What is required.
    pub what: String,
    /// What was measured.
    pub figure: String,
    /// Met, missed, or not measured in this run.
    pub met: Option<bool>,
}

/// The project's targets checked against `outcomes`.
pub fn checks(outcomes: &[Outcome]) -> Vec<Check> {
    let mut checks = Vec::new();
    let share = |name: &str, what: &str, limit: f64| {
        let found = outcomes.iter().find(|o| o.scenario.name == name);
        let share = found.and_then(Outcome::share_of_ceiling);
        Check {
            what: format!("{name}: {what} ≥ {:.0} % of the ceiling's", limit * 100.0),
            figure: share.map_or_else(|| "not measured".to_owned(), percent),
            met: share.map(|s| s >= limit),
        }
    };
    checks.push(share("get-4k", "requests/s", GET_4K_SHARE));
    checks.push(share("get-64m", "MiB/s", GET_64M_SHARE));

    let large: Vec<(&str, u64)> = outcomes
        .iter()
        .filter(|o| o.scenario.is_large_object())
        .filter_map(|o| Some((o.scenario.name.as_str(), o.server.peak_rss_kib?)))
        .collect();
    let worst = large.iter().max_by_key(|(_, kib)| *kib);
    checks.push(Check {
        what: format!(
            "server peak RSS in large-object runs < {} MiB",
            PEAK_RSS_KIB / 1024
        ),
        figure: worst.map_or_else(
            || "not measured".to_owned(),
            |(name, kib)| format!("{} ({name})", mib(*kib)),
        ),
        met: worst.map(|(_, kib)| *kib < PEAK_RSS_KIB),
    });
    checks
}

/// The results table, one line per scenario and server, then the targets.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:<8} {:>4} {:>10} {:>9} {:>9} {:>9} {:>6} {:>7} {:>9} {:>7} {:>7}",
        "scenario",
        "server",
        "conc",
        "ops/s",
        "MiB/s",
        "p50",
        "p99",
        "errors",
        "share",
        "peak RSS",
        "srv CPU",
        "cli CPU"
    );
    for outcome in outcomes {
        let share = outcome
            .share_of_ceiling()
            .map_or_else(|| "—".to_owned(), percent);
        row(
            &mut out,
            &outcome.scenario.name,
            "server",
            outcome.scenario.concurrency,
            &outcome.server,
            &share,
        );
        if let Some(ceiling) = &outcome.ceiling {
            row(
                &mut out,
                "",
                "ceiling",
                outcome.scenario.concurrency,
                ceiling,
                "100 %",
            );
        }
    }
    let populated: Vec<&Populated> = outcomes
        .iter()
        .filter(|o| matches!(o.scenario.kind, Kind::List { .. }))
        .filter_map(|o| o.populated.as_ref())
        .collect();
    if !populated.is_empty() {
        out.push('\n');
        for p in populated {
            let _ = writeln!(
                out,
                "populate {}: {} of {} objects in {:.1} s ({:.0} PUT/s){}",
                p.bucket,
                p.created,
                p.wanted,
                p.elapsed.as_secs_f64(),
                p.rate(),
                if p.errors > 0 {
                    format!(", {} errors", p.errors)
                } else {
                    String::new()
                }
            );
        }
    }
    out.push('\n');
    for check in checks(outcomes) {
        let verdict = match check.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "—",
        };
        let _ = writeln!(out, "target {}: {} — {verdict}", check.what, check.figure);
    }
    for outcome in outcomes {
        for (side, measured) in std::iter::once(("server", &outcome.server))
            .chain(outcome.ceiling.iter().map(|c| ("ceiling", c)))
        {
            if let Some(error) = &measured.summary.first_error {
                let _ = writeln!(
                    out,
                    "errors in {} ({side}): {} — first: {error}",
                    outcome.scenario.name, measured.summary.errors
                );
            }
        }
    }
    out
}

fn row(out: &mut String, name: &str, side: &str, concurrency: usize, m: &Measured, share: &str) {
    let s = &m.summary;
    // `*`: the peak could not be reset before the run, so it is the peak since start.
    let rss = m.peak_rss_kib.map_or_else(
        || "—".to_owned(),
        |kib| {
            let mut text = mib(kib);
            if !m.peak_is_per_run {
                text.push('*');
            }
            text
        },
    );
    let cores = |c: Option<f64>| c.map_or_else(|| "—".to_owned(), |c| format!("{c:.2}"));
    let _ = writeln!(
        out,
        "{:<10} {:<8} {:>4} {:>10} {:>9} {:>9} {:>9} {:>6} {:>7} {:>9} {:>7} {:>7}",
        name,
        side,
        concurrency,
        format!("{:.0}", s.ops_per_sec()),
        format!("{:.1}", s.mib_per_sec()),
        latency(s.p50),
        latency(s.p99),
        s.errors,
        share,
        rss,
        cores(m.server_cores),
        cores(m.client_cores),
    );
}

/// A latency with a unit that keeps three significant digits: `85 µs`, `1.42 ms`, `2.10 s`.
pub fn latency(value: Option<Duration>) -> String {
    let Some(value) = value else {
        return "—".to_owned();
    };
    let micros = value.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.0} µs")
    } else if micros < 10_000.0 {
        format!("{:.2} ms", micros / 1000.0)
    } else if micros < 1_000_000.0 {
        format!("{:.1} ms", micros / 1000.0)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

/// A ratio as a whole percentage.
pub fn percent(ratio: f64) -> String {
    format!("{:.0} %", ratio * 100.0)
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// The whole run as JSON: `context` (machine, settings) as given, each scenario with both
/// sides' figures, and the targets.
pub fn json(outcomes: &[Outcome], context: Value) -> Value {
    let scenarios: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            json!({
                "name": o.scenario.name,
                "kind": match o.scenario.kind {
                    Kind::Put => "put",
                    Kind::Get => "get",
                    Kind::List { .. } => "list",
                },
                "size": o.scenario.size,
                "objects": match o.scenario.kind {
                    Kind::List { objects } => Some(objects),
                    _ => None,
                },
                "concurrency": o.scenario.concurrency,
                "server": measured_json(&o.server),
                "ceiling": o.ceiling.as_ref().map(measured_json),
                "share_of_ceiling": o.share_of_ceiling(),
                "populated": o.populated.as_ref().map(|p| json!({
                    "bucket": p.bucket,
                    "wanted": p.wanted,
                    "created": p.created,
                    "errors": p.errors,
                    "seconds": p.elapsed.as_secs_f64(),
                    "puts_per_sec": p.rate(),
                    "size": p.size,
                })),
            })
        })
        .collect();
    let targets: Vec<Value> = checks(outcomes)
        .into_iter()
        .map(|c| json!({"target": c.what, "figure": c.figure, "met": c.met}))
        .collect();
    json!({
        "context": context,
        "scenarios": scenarios,
        "targets": targets,
    })
}

fn measured_json(m: &Measured) -> Value {
    let micros = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1e6);
    let s: &Summary = &m.summary;
    json!({
        "ops": s.ops,
        "seconds": s.window.as_secs_f64(),
        "ops_per_sec": s.ops_per_sec(),
        "mib_per_sec": s.mib_per_sec(),
        "p50_us": micros(s.p50),
        "p99_us": micros(s.p99),
        "max_us": micros(s.max),
        "errors": s.errors,
        "first_error": s.first_error,
        "peak_rss_kib": m.peak_rss_kib,
        "peak_rss_is_per_run": m.peak_is_per_run,
        "server_cores": m.server_cores,
        "client_cores": m.client_cores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::catalogue;
    use crate::stats::Recorder;

    fn measured(ops: u64, size: u64, rss_kib: Option<u64>) -> Measured {
        let mut recorder = Recorder::default();
        for i in 0..ops {
            recorder.record(Duration::from_micros(100 + i), size);
        }
        Measured {
            summary: recorder.summarize(Duration::from_secs(1)),
            peak_rss_kib: rss_kib,
            peak_is_per_run: true,
            server_cores: Some(1.5),
            client_cores: Some(0.4),
        }
    }

    fn outcomes() -> Vec<Outcome> {
        catalogue(&[10_000], 4)
            .into_iter()
            .map(|scenario| {
                let size = scenario.size.max(1000);
                // The server reaches half the ceiling everywhere; 300 MiB peak for 64 MiB.
                let rss = (scenario.name == "get-64m").then_some(300 * 1024);
                Outcome {
                    server: measured(50, size, rss.or(Some(40 * 1024))),
                    ceiling: Some(measured(100, size, Some(70 * 1024))),
                    populated: None,
                    scenario,
                }
            })
            .collect()
    }

    #[test]
    fn targets_are_judged_from_shares_and_peaks() {
        let checks = checks(&outcomes());
        assert_eq!(checks.len(), 3);
        assert_eq!(checks[0].figure, "50 %");
        assert_eq!(checks[0].met, Some(true)); // 50 % ≥ 40 %
        assert_eq!(checks[1].met, Some(false)); // 50 % < 70 %
        assert_eq!(checks[2].figure, "300 MiB (get-64m)");
        assert_eq!(checks[2].met, Some(false));

        let none = super::checks(&[]);
        assert!(none.iter().all(|c| c.met.is_none()));
    }

    #[test]
    fn table_has_a_line_per_side_and_the_targets() {
        let text = table(&outcomes());
        assert!(text.starts_with("scenario"));
        assert!(text.contains("get-4k     server"), "{text}");
        assert_eq!(text.matches("ceiling ").count(), 6, "{text}");
        assert!(text.contains("MISSED"));
        assert!(text.contains("50 %"));
    }

    #[test]
    fn json_carries_every_figure() {
        let value = json(&outcomes(), json!({"machine": "test"}));
        assert_eq!(value["context"]["machine"], "test");
        let first = &value["scenarios"][0];
        assert_eq!(first["name"], "put-4k");
        assert_eq!(first["server"]["ops"], 50);
        assert_eq!(first["ceiling"]["ops_per_sec"], 100.0);
        assert_eq!(first["share_of_ceiling"], 0.5);
        assert_eq!(value["scenarios"][5]["objects"], 10_000);
        assert_eq!(value["targets"][1]["met"], false);
    }

    #[test]
    fn latencies_keep_three_figures() {
        assert_eq!(latency(Some(Duration::from_micros(85))), "85 µs");
        assert_eq!(latency(Some(Duration::from_micros(1420))), "1.42 ms");
        assert_eq!(latency(Some(Duration::from_micros(21_040))), "21.0 ms");
        assert_eq!(latency(Some(Duration::from_millis(2100))), "2.10 s");
        assert_eq!(latency(None), "—");
    }
}
