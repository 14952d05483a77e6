//! `depot-api`, the Depot server. Kept a page long: resolve the configuration, wire the parts,
//! serve both listeners, and shut down gracefully on SIGTERM or SIGINT.

mod config;
mod control;
mod serve;
mod telemetry;

use std::convert::Infallible;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hyper::service::service_fn;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tracing::{info, warn};

use depot_domain::Email;
use depot_engine::{Engine, EngineConfig, UsageMeter, UsageMeterConfig};
use depot_store::{Addressing, DatabaseLimiter, S3Service, StoreConfig};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::config::{Cli, Config, LimiterStore};

/// mimalloc instead of the system allocator: downloads allocate a fresh 1 MiB block per read,
/// which glibc serves with `mmap` and returns with `munmap` (a page fault per 4 KiB, every
/// time), while mimalloc reuses freed blocks; small allocations get cheaper too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match start() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line with the whole cause chain: what operators need, without a backtrace.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn start() -> anyhow::Result<()> {
    // `--help`, `--version` and bad flags end here, with clap's usual output and exit codes.
    let cli = Cli::parse_args(std::env::args_os()).unwrap_or_else(|error| error.exit());
    let config = Config::load(cli, &config::process_env()?)?;
    telemetry::init(&config.log, config.log_format)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run(config))
}

async fn run(config: Config) -> anyhow::Result<()> {
    tracing::debug!(?config, "configuration");
    let metrics = install_metrics()?;
    let engine = open_engine(&config).await?;
    let usage = usage_meter(&config, &engine)?;
    let mut s3 = S3Service::new(
        engine.clone(),
        StoreConfig {
            addressing: Addressing {
                domains: config.s3_domains.clone(),
            },
            region: config.s3_region.clone(),
        },
    )
    .with_admin(Arc::new(depot_ostor::OstorServer::new(engine.clone())));
    // Nodes that may share the database share the limits' counts there by default.
    let limiter = config.limiter.unwrap_or(if engine.is_shared() {
        LimiterStore::Database
    } else {
        LimiterStore::Memory
    });
    if limiter == LimiterStore::Database {
        s3 = s3.with_limiter(Arc::new(DatabaseLimiter::new(engine.clone())));
    }
    if let Some(meter) = &usage {
        s3 = s3.with_usage(meter.clone());
    }

    let s3_listener = TcpListener::bind(config.s3_addr)
        .await
        .with_context(|| format!("binding the S3 listener to {}", config.s3_addr))?;
    let control_listener = TcpListener::bind(config.control_addr)
        .await
        .with_context(|| format!("binding the control listener to {}", config.control_addr))?;
    // Registered before serving so a failure to install handlers stops startup, not shutdown.
    let mut shutdown = signals::Shutdown::install()?;

    // The actual addresses, not the configured ones: with port 0 the kernel picks, and
    // whoever started the process (e2e tests, supervisors) learns the ports from this line.
    info!(
        s3_addr = %s3_listener.local_addr()?,
        control_addr = %control_listener.local_addr()?,
        data_dir = %config.data_dir.display(),
        database_url = %config.database_url.redacted(),
        s3_region = %config.s3_region,
        root_user = config.root.is_some(),
        ?limiter,
        "listening"
    );

    let s3_service = service_fn(move |request| {
        let s3 = s3.clone();
        async move { Ok::<_, Infallible>(s3.handle(request).await) }
    });
    let control = control::Control {
        engine: engine.clone(),
        metrics,
    };
    let control_service = service_fn(move |request| {
        let control = control.clone();
        async move { Ok::<_, Infallible>(control.route(&request).await) }
    });
    let sweeper = tokio::spawn(sweep_periodically(engine.clone()));
    let (stop_replicating, replicating_stopped) = tokio::sync::oneshot::channel::<()>();
    let replicator = start_replicator(&config, &engine, replicating_stopped)?;
    let (stop_metering, metering_stopped) = tokio::sync::oneshot::channel::<()>();
    let metering = usage.map(|meter| {
        tokio::spawn(meter.run(async {
            let _ = metering_stopped.await;
        }))
    });
    let graceful = GracefulShutdown::new();
    let signal = tokio::select! {
        () = async {
            tokio::join!(
                serve::accept("s3", s3_listener, s3_service, &graceful),
                serve::accept("control", control_listener, control_service, &graceful),
            );
        } => "listeners ended",
        signal = shutdown.recv() => signal,
    };
    // Leaving `select!` dropped both accept loops and with them the listeners: no new
    // connections. Connections already open finish their requests, within the timeout.
    info!(
        signal,
        timeout_secs = config.shutdown_timeout.as_secs(),
        "shutting down"
    );
    match tokio::time::timeout(config.shutdown_timeout, graceful.shutdown()).await {
        Ok(()) => info!("stopped"),
        Err(_) => warn!("in-flight requests did not finish in time; closing them"),
    }
    sweeper.abort();
    // Every request that finished is counted by now: the meter writes the period cut short,
    // while the replicator hands its copies in flight back to the queue (the next start sends
    // them again). Both together get one more shutdown timeout.
    let _ = stop_metering.send(());
    let _ = stop_replicating.send(());
    let background = async {
        tokio::join!(
            async {
                if let Some(metering) = metering {
                    let _ = metering.await;
                }
            },
            async {
                if let Some(replicator) = replicator {
                    let _ = replicator.await;
                }
            },
        )
    };
    if tokio::time::timeout(config.shutdown_timeout, background)
        .await
        .is_err()
    {
        warn!("the usage meter or the replicator did not stop in time; leaving them");
    }
    Ok(())
}

/// This node's usage meter, unless usage statistics are off.
fn usage_meter(config: &Config, engine: &Engine) -> anyhow::Result<Option<Arc<UsageMeter>>> {
    let Some(period_seconds) = config.usage_period_secs else {
        info!("usage statistics are off on this node");
        return Ok(None);
    };
    let meter = UsageMeter::new(
        engine.clone(),
        UsageMeterConfig {
            service: config.service_id,
            period_seconds,
        },
    )
    .context("starting the usage meter")?;
    Ok(Some(Arc::new(meter)))
}

/// Starts this node's replication worker, unless configured off; it stops when `stop` fires.
fn start_replicator(
    config: &Config,
    engine: &Engine,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    if config.replication_workers == 0 {
        info!("bucket replication is off on this node");
        return Ok(None);
    }
    let replicator = depot_ostor::Replicator::new(
        engine.clone(),
        depot_ostor::ReplicatorConfig {
            concurrency: config.replication_workers,
            max_retry: config.replication_max_retry,
            region: config.s3_region.clone(),
            ..depot_ostor::ReplicatorConfig::default()
        },
    )
    .context("starting the replication worker")?;
    Ok(Some(tokio::spawn(replicator.run(async {
        let _ = stop.await;
    }))))
}

/// Installs the Prometheus recorder that `/metrics` renders. Latency buckets span a cached
/// small GET (sub-millisecond) to a multi-gigabyte transfer.
fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    const LATENCY_BUCKETS: &[f64] = &[
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        60.0, 300.0,
    ];
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(depot_store::telemetry::REQUEST_DURATION.to_owned()),
            LATENCY_BUCKETS,
        )
        .context("configuring metrics")?
        .install_recorder()
        .context("installing the metrics recorder")
}

/// The email of the root user Depot creates on first start.
const ROOT_EMAIL: &str = "root@depot.invalid";

/// How often blobs orphaned by a crash and abandoned multipart uploads are collected.
const SWEEP_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// Opens the engine (running migrations) and makes sure the root user exists. Keys generated
/// for it are printed once, with a ready-to-paste aws-cli example: they are never shown again.
async fn open_engine(config: &Config) -> anyhow::Result<Engine> {
    let mut engine_config = EngineConfig::new(&config.data_dir, config.database_url.expose());
    engine_config.master_key = config.master_key.as_ref().map(|key| key.0);
    let engine = Engine::open(engine_config)
        .await
        .context("opening the storage engine")?;
    let email: Email = ROOT_EMAIL.parse().context("root email")?;
    let keys = config
        .root
        .as_ref()
        .map(|root| (root.access_key.as_str(), root.secret_key.expose()));
    let root = engine
        .ensure_root_user(&email, keys)
        .await
        .context("creating the root user")?;
    if let Some(generated) = root.generated_keys {
        let endpoint = format!("http://{}", config.s3_addr);
        let message = format!(
            "\nDepot created the root user. Its keys are shown only this once:\n\n  \
             access key: {}\n  secret key: {}\n\nTry:\n  AWS_ACCESS_KEY_ID={} \
             AWS_SECRET_ACCESS_KEY={} aws --endpoint-url {endpoint} s3 ls\n\n",
            generated.access_key_id,
            generated.secret_access_key.expose_secret(),
            generated.access_key_id,
            generated.secret_access_key.expose_secret(),
        );
        // Deliberately on stdout, not in the log: log lines may be shipped elsewhere.
        std::io::stdout()
            .write_all(message.as_bytes())
            .context("printing the root keys")?;
    }
    Ok(engine)
}

/// Collects what crashes and abandoned uploads leave behind, for the life of the process.
async fn sweep_periodically(engine: Engine) {
    let mut interval = tokio::time::interval(SWEEP_INTERVAL);
    // The first tick is immediate, and `Engine::open` has just swept.
    interval.tick().await;
    loop {
        interval.tick().await;
        match engine.sweep().await {
            Ok(report) => info!(?report, "sweep"),
            Err(error) => warn!(%error, "sweep failed"),
        }
    }
}

#[cfg(unix)]
mod signals {
    //! SIGTERM (from supervisors) and SIGINT (Ctrl-C) both ask for a graceful stop.

    use anyhow::Context;
    use tokio::signal::unix::{Signal, SignalKind, signal};

    pub(crate) struct Shutdown {
        term: Signal,
        int: Signal,
    }

    impl Shutdown {
        pub(crate) fn install() -> anyhow::Result<Self> {
            Ok(Self {
                term: signal(SignalKind::terminate()).context("installing SIGTERM handler")?,
                int: signal(SignalKind::interrupt()).context("installing SIGINT handler")?,
            })
        }

        /// Waits for the first shutdown signal and names it.
        pub(crate) async fn recv(&mut self) -> &'static str {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
    }
}

#[cfg(not(unix))]
mod signals {
    //! Elsewhere only Ctrl-C asks for a graceful stop.

    pub(crate) struct Shutdown;

    impl Shutdown {
        pub(crate) fn install() -> anyhow::Result<Self> {
            Ok(Self)
        }

        pub(crate) async fn recv(&mut self) -> &'static str {
            // If Ctrl-C cannot be watched, never resolving keeps the server up rather than
            // stopping it at once.
            match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                Err(_) => std::future::pending().await,
            }
        }
    }
}
