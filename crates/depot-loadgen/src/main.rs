//! `depot-loadgen`: the command line of the load generator (`run`) and of the ceiling server
//! (`ceiling`), as `cargo xtask bench` starts them; usable by hand for one scenario at a time.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use depot_loadgen::procfs::{self, Process};
use depot_loadgen::request::{PayloadSigning, Target};
use depot_loadgen::run::Workload;
use depot_loadgen::scenario::{self, SuiteConfig};
use depot_loadgen::{ceiling, report};
use depot_sigv4::{AmzDate, Credentials};
use serde_json::json;

/// Load generator for S3 servers, with an in-memory HTTP server as the machine's ceiling.
#[derive(Parser)]
#[command(name = "depot-loadgen", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once per process; boxing would only complicate the clap derive"
)]
enum Command {
    /// Serves the in-memory ceiling: GET answers with as many bytes as `x-loadgen-size` asks,
    /// any other method drains the body. Logs `{"message":"listening","addr":…}` on stderr.
    Ceiling {
        /// Address to listen on (port 0: the kernel picks; loopback only).
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: SocketAddr,
        /// The largest answer, in MiB, allocated at start.
        #[arg(long, default_value_t = 64)]
        max_size_mib: usize,
        /// Exit after this many seconds whatever happens, so a forgotten server never lingers.
        #[arg(long, default_value_t = 4 * 3600)]
        lifetime_secs: u64,
    },
    /// Runs the scenarios against an S3 server (and the ceiling, if given) and reports.
    Run(RunArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// The S3 server, `http://IP:PORT` (loopback).
    #[arg(long)]
    endpoint: String,
    /// The ceiling server started by `depot-loadgen ceiling`, `http://IP:PORT`.
    #[arg(long)]
    ceiling: Option<String>,
    /// Access key to sign with.
    #[arg(long, env = "DEPOT_LOADGEN_ACCESS_KEY", hide_env_values = true)]
    access_key: String,
    /// Secret key to sign with.
    #[arg(long, env = "DEPOT_LOADGEN_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    /// Region to sign for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Measured seconds per scenario and server.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Warm-up seconds before each measurement.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Stop a measurement after this many requests even if time remains.
    #[arg(long)]
    max_requests: Option<u64>,
    /// A request taking longer than this fails.
    #[arg(long, default_value_t = 60)]
    request_timeout_secs: u64,
    /// Only these scenarios (put-4k, get-4k, put-1m, get-1m, get-64m, list-10k, …; repeat or
    /// separate with commas). Default: all.
    #[arg(long = "scenario", value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Run every chosen scenario at this concurrency instead of its own (for exploring how a
    /// figure scales; the standard table uses the scenarios' own).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Bucket sizes to list (one scenario each), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000")]
    list_objects: Vec<u64>,
    /// Concurrent listing requests.
    #[arg(long, default_value_t = 4)]
    list_concurrency: usize,
    /// Parallel PUTs when filling listing buckets.
    #[arg(long, default_value_t = 64)]
    populate_concurrency: usize,
    /// Time allowed for filling one bucket; a bucket not full by then is used as it is.
    #[arg(long, default_value_t = 900)]
    populate_secs: u64,
    /// How PUT bodies are signed.
    #[arg(long, value_enum, default_value_t = Payload::Unsigned)]
    payload: Payload,
    /// The S3 server's process id, for its peak RSS and CPU time.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The ceiling's process id, likewise.
    #[arg(long)]
    ceiling_pid: Option<u32>,
    /// Runtime threads of the load generator (default: one per CPU).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the results as JSON on stdout (the table then goes to stderr).
    #[arg(long)]
    json: bool,
    /// `KEY=VALUE` recorded in the JSON context (the commit measured, …); repeatable.
    #[arg(long = "note", value_name = "KEY=VALUE")]
    notes: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Payload {
    /// `UNSIGNED-PAYLOAD`.
    Unsigned,
    /// The body's SHA-256, computed once; the server hashes what it receives.
    Sha256,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ceiling {
            addr,
            max_size_mib,
            lifetime_secs,
        } => serve_ceiling(addr, max_size_mib, Duration::from_secs(lifetime_secs)),
        Command::Run(args) => run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("depot-loadgen: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve_ceiling(
    addr: SocketAddr,
    max_size_mib: usize,
    lifetime: Duration,
) -> anyhow::Result<ExitCode> {
    if !addr.ip().is_loopback() {
        bail!("the ceiling listens on loopback only, not {addr}");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(async {
        let (bound, server) = ceiling::bind(addr, max_size_mib << 20)
            .await
            .with_context(|| format!("binding {addr}"))?;
        eprintln!("{}", json!({"message": "listening", "addr": bound.to_string()}));
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("installing the SIGTERM handler")?;
        tokio::select! {
            result = server => result.context("serving")?,
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
            () = tokio::time::sleep(lifetime) => eprintln!("depot-loadgen ceiling: lifetime over, exiting"),
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let credentials = Credentials::new(&args.access_key, &args.secret_key);
    let server = Target::new("server", &args.endpoint, credentials.clone(), &args.region)?;
    let ceiling = args
        .ceiling
        .as_deref()
        .map(|url| Target::new("ceiling", url, credentials, &args.region))
        .transpose()?;
    let seconds = |s: f64, what: &str| {
        Duration::try_from_secs_f64(s).with_context(|| format!("--{what} {s} is not a duration"))
    };
    let workload = Workload {
        concurrency: 1,
        warmup: seconds(args.warmup, "warmup")?,
        duration: seconds(args.seconds, "seconds")?,
        max_requests: args.max_requests,
        request_timeout: Duration::from_secs(args.request_timeout_secs),
    };
    let payload = match args.payload {
        Payload::Unsigned => PayloadSigning::Unsigned,
        Payload::Sha256 => PayloadSigning::Sha256,
    };
    let mut scenarios = scenario::catalogue(&args.list_objects, args.list_concurrency);
    if !args.scenarios.is_empty() {
        for wanted in &args.scenarios {
            if !scenarios.iter().any(|s| &s.name == wanted) {
                bail!(
                    "no scenario named {wanted:?}; the scenarios are {}",
                    scenario::names(&scenarios)
                );
            }
        }
        scenarios.retain(|s| args.scenarios.contains(&s.name));
    }
    if let Some(concurrency) = args.concurrency {
        for scenario in &mut scenarios {
            scenario.concurrency = concurrency.max(1);
        }
    }
    let config = SuiteConfig {
        server,
        ceiling,
        server_process: args.server_pid.map(|pid| Process { pid }),
        ceiling_process: args.ceiling_pid.map(|pid| Process { pid }),
        workload: workload.clone(),
        payload,
        populate_concurrency: args.populate_concurrency,
        populate_time_limit: Duration::from_secs(args.populate_secs),
    };

    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = builder
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let load_before = procfs::load_average();
    let started = SystemTime::now();
    let mut progress = |line: &str| eprintln!("==> loadgen: {line}");
    let outcomes = runtime.block_on(scenario::run_suite(&config, &scenarios, &mut progress))?;
    let load_after = procfs::load_average();

    let (cpu_model, cpus) = procfs::cpu().unwrap_or_else(|| ("unknown".to_owned(), 0));
    let notes: serde_json::Map<String, serde_json::Value> = args
        .notes
        .iter()
        .map(|note| {
            let (key, value) = note.split_once('=').unwrap_or((note, ""));
            (key.to_owned(), value.into())
        })
        .collect();
    let context = json!({
        "started": AmzDate::from_system_time(started).to_string(),
        "notes": notes,
        "machine": {
            "cpu": cpu_model,
            "logical_cpus": cpus,
            "memory_kib": procfs::memory_kib(),
            "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned()),
            "load_average_before": load_before,
            "load_average_after": load_after,
        },
        "settings": {
            "seconds": workload.duration.as_secs_f64(),
            "warmup": workload.warmup.as_secs_f64(),
            "max_requests": workload.max_requests,
            "payload": match payload { PayloadSigning::Unsigned => "UNSIGNED-PAYLOAD", PayloadSigning::Sha256 => "sha256" },
            "list_objects": args.list_objects,
            "list_concurrency": args.list_concurrency,
            "concurrency_override": args.concurrency,
            "client_threads": args.threads,
        },
    });

    let table = report::table(&outcomes);
    let loads = |l: Option<[f64; 3]>| {
        l.map_or_else(
            || "unknown".to_owned(),
            |[a, b, c]| format!("{a:.2} {b:.2} {c:.2}"),
        )
    };
    let header = format!(
        "{cpus} × {cpu_model}; load average before {}, after {}\n\n",
        loads(load_before),
        loads(load_after)
    );
    let mut stdout = std::io::stdout().lock();
    if args.json {
        eprint!("\n{header}{table}");
        let document = report::json(&outcomes, context);
        writeln!(stdout, "{}", serde_json::to_string_pretty(&document)?)?;
    } else {
        write!(stdout, "\n{header}{table}")?;
    }
    stdout.flush()?;

    let errors: u64 = outcomes
        .iter()
        .flat_map(|o| std::iter::once(&o.server).chain(o.ceiling.as_ref()))
        .map(|m| m.summary.errors)
        .sum();
    if errors > 0 {
        eprintln!("depot-loadgen: {errors} requests failed; the figures above are suspect");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
