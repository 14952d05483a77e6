//! `depot-api`, the Depot server. Kept a page long: resolve the configuration, wire the parts,
//! serve both listeners, and shut down gracefully on SIGTERM or SIGINT.

mod config;
mod control;
mod s3;
mod serve;
mod telemetry;

use std::convert::Infallible;
use std::future::ready;
use std::process::ExitCode;

use anyhow::Context;
use hyper::service::service_fn;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::config::{Cli, Config};

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
    tokio::fs::create_dir_all(&config.data_dir)
        .await
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;

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
        "listening"
    );

    let s3_service =
        service_fn(|request| ready(Ok::<_, Infallible>(s3::not_implemented(&request))));
    let control_service =
        service_fn(|request| ready(Ok::<_, Infallible>(control::route(&request))));
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
    Ok(())
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
