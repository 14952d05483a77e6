//! The server's configuration, resolved from four layers so operators can set a value wherever
//! their deployment keeps such things.
//!
//! Lowest to highest precedence: built-in defaults, a TOML file (`--config` / `DEPOT_CONFIG`),
//! `DEPOT_*` environment variables, command-line flags. Each layer is a [`Layer`] of optional
//! values; [`Config::load`] stacks them and fills what is still missing from the defaults.
//!
//! clap knows each variable's name only to show it in `--help`: [`Cli::parse_args`] parses
//! with a copy of the command stripped of `env`, and [`Layer::from_env`] reads the variables
//! from a map handed in (the process environment in `main`, a literal map in tests). So the
//! layers stay distinct, a bad variable is reported by its name rather than as a flag, and
//! tests never mutate the process environment, which tests running in parallel share.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::error::ErrorKind;
use clap::{Args, CommandFactory, FromArgMatches, Parser, ValueEnum};
use depot_domain::{Secret, ServiceId};
use serde::Deserialize;

/// Environment variables by name, as [`process_env`] collects them.
pub(crate) type Env = HashMap<String, String>;

const DEFAULT_S3_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9000));
const DEFAULT_CONTROL_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9001));
const DEFAULT_S3_REGION: &str = "us-east-1";
const DEFAULT_LOG: &str = "info";
const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 30;
/// A day: a longer wait would leave a recovered destination idle for no reason.
const MAX_REPLICATION_RETRY_SECS: u64 = 86_400;
/// An hour per usage object, ostor's usual period.
const DEFAULT_USAGE_PERIOD_SECS: u64 = 3_600;

/// Command line of `depot-api`.
#[derive(Parser)]
#[command(
    name = "depot-api",
    version,
    about = "Depot: S3 storage for hosting providers. Serves the S3 data plane and the control plane.",
    long_about = None
)]
pub(crate) struct Cli {
    /// TOML configuration file; its values sit above the defaults and below the environment.
    #[arg(long, env = "DEPOT_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,

    #[command(flatten)]
    layer: Layer,
}

/// One layer of settings. The same struct is the TOML file format and the set of flags, so the
/// two cannot drift apart; every field is optional because any layer may leave it unset.
#[derive(Args, Deserialize, Default, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Layer {
    /// Directory for all local state: the SQLite database and blobs [default: ./depot-data].
    #[arg(long, env = "DEPOT_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// Address of the S3 listener (S3 and the ostor admin API); port 0 picks a free port
    /// [default: 127.0.0.1:9000].
    #[arg(long, env = "DEPOT_S3_ADDR", value_name = "ADDR")]
    s3_addr: Option<SocketAddr>,

    /// Address of the control-plane listener (RPC, REST, health); port 0 picks a free port
    /// [default: 127.0.0.1:9001].
    #[arg(long, env = "DEPOT_CONTROL_ADDR", value_name = "ADDR")]
    control_addr: Option<SocketAddr>,

    /// Access key of the root S3 user (set together with the secret key).
    #[arg(long, env = "DEPOT_ROOT_ACCESS_KEY", value_name = "KEY")]
    root_access_key: Option<String>,

    /// Secret key of the root S3 user.
    // `hide_env_values` keeps `--help` from echoing the secret out of the environment.
    #[arg(
        long,
        env = "DEPOT_ROOT_SECRET_KEY",
        value_name = "SECRET",
        hide_env_values = true
    )]
    root_secret_key: Option<Secret>,

    /// Metadata database URL [default: sqlite://<data-dir>/depot.db?mode=rwc].
    #[arg(
        long,
        env = "DEPOT_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    database_url: Option<DatabaseUrl>,

    /// Region the S3 endpoint signs for and reports [default: us-east-1].
    #[arg(long, env = "DEPOT_S3_REGION", value_name = "REGION")]
    s3_region: Option<String>,

    /// Base domains for virtual-hosted-style S3 requests (`bucket.DOMAIN`), comma-separated;
    /// requests to other hosts are path-style [default: none].
    #[arg(long, env = "DEPOT_S3_DOMAIN", value_name = "DOMAINS")]
    s3_domain: Option<String>,

    /// Key that encrypts stored secret keys: 64 hex digits. Nodes sharing a database must share
    /// it [default: generated once into <data-dir>/master.key].
    #[arg(
        long,
        env = "DEPOT_MASTER_KEY",
        value_name = "HEX",
        hide_env_values = true
    )]
    master_key: Option<Secret>,

    /// Log filter, in tracing's EnvFilter syntax, e.g. `info,depot_api=debug` [default: info].
    #[arg(long, env = "DEPOT_LOG", value_name = "FILTER")]
    log: Option<String>,

    /// Log line format [default: text].
    #[arg(long, env = "DEPOT_LOG_FORMAT", value_name = "FORMAT")]
    log_format: Option<LogFormat>,

    /// Seconds in-flight requests get to finish after SIGTERM or SIGINT [default: 30].
    #[arg(long, env = "DEPOT_SHUTDOWN_TIMEOUT_SECS", value_name = "SECS")]
    shutdown_timeout_secs: Option<u64>,

    /// Bucket replication copies in flight at once on this node; 0 stops replicating here
    /// (the queue waits for a node that does) [default: 4].
    #[arg(long, env = "DEPOT_REPLICATION_WORKERS", value_name = "N")]
    replication_workers: Option<usize>,

    /// The longest wait, in seconds, between retries of a replication that failed
    /// [default: 60].
    #[arg(long, env = "DEPOT_REPLICATION_MAX_RETRY_SECS", value_name = "SECS")]
    replication_max_retry_secs: Option<u64>,

    /// This node's service id in the names of its usage objects, up to 16 decimal digits;
    /// give each node sharing a database its own [default: 1].
    #[arg(long, env = "DEPOT_SERVICE_ID", value_name = "ID")]
    service_id: Option<ServiceId>,

    /// Seconds of requests each usage statistics object counts; 0 turns usage statistics off
    /// [default: 3600].
    #[arg(long, env = "DEPOT_USAGE_PERIOD_SECS", value_name = "SECS")]
    usage_period_secs: Option<u64>,

    /// Where the rate and bandwidth limiter keeps its counters: `memory` (this node alone) or
    /// `database` (shared by every node on the database) [default: database when other nodes
    /// may share it, as PostgreSQL; memory on a SQLite file].
    #[arg(long, env = "DEPOT_LIMITER", value_name = "STORE")]
    limiter: Option<LimiterStore>,
}

/// Where the limiter's counters live.
#[derive(ValueEnum, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LimiterStore {
    /// This process's memory: exact for one node, each node counting alone.
    Memory,
    /// The metadata database: one count for every node sharing it.
    Database,
}

impl FromStr for LimiterStore {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Self as ValueEnum>::from_str(s, true)
    }
}

/// How log lines are written to standard error.
#[derive(ValueEnum, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log shippers and tests.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Self as ValueEnum>::from_str(s, true)
    }
}

/// A database URL, whose `Debug` hides the password a PostgreSQL URL may carry.
#[derive(Deserialize, Clone, PartialEq, Eq)]
#[serde(transparent)]
pub(crate) struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL as given, password included, for the database driver only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced, safe to log.
    pub(crate) fn redacted(&self) -> String {
        depot_engine::redact_url_password(&self.0)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// Credentials of the root S3 user, present only when both halves are configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RootCredentials {
    pub(crate) access_key: String,
    pub(crate) secret_key: Secret,
}

/// The key that encrypts stored secrets; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct MasterKey(pub(crate) [u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(****)")
    }
}

/// The resolved configuration: every value decided.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub(crate) data_dir: PathBuf,
    pub(crate) s3_addr: SocketAddr,
    pub(crate) control_addr: SocketAddr,
    pub(crate) root: Option<RootCredentials>,
    pub(crate) database_url: DatabaseUrl,
    pub(crate) s3_region: String,
    pub(crate) s3_domains: Vec<String>,
    pub(crate) master_key: Option<MasterKey>,
    pub(crate) log: String,
    pub(crate) log_format: LogFormat,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) replication_workers: usize,
    pub(crate) replication_max_retry: Duration,
    pub(crate) service_id: ServiceId,
    /// Seconds per usage object; `None` when usage statistics are off.
    pub(crate) usage_period_secs: Option<u64>,
    /// `None`: the database if other nodes may share it, else memory (`main` asks the engine).
    pub(crate) limiter: Option<LimiterStore>,
}

impl Cli {
    /// Parses the command line (program name first). `--help`, `--version` and mistakes come
    /// back as a [`clap::Error`], ready for [`clap::Error::exit`].
    pub(crate) fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let flags_only = Cli::command().mut_args(|arg| arg.env(None::<&'static str>));
        match flags_only.try_get_matches_from(&args) {
            Ok(matches) => Cli::from_arg_matches(&matches),
            // Help is rendered by the full command so it lists the variables. clap stops at
            // `--help` before it looks at the environment, so this parse ends the same way.
            Err(error) if error.kind() == ErrorKind::DisplayHelp => {
                Err(match Cli::command().try_get_matches_from(&args) {
                    Err(help) => help,
                    Ok(_) => error,
                })
            }
            Err(error) => Err(error),
        }
    }
}

impl Config {
    /// Resolves the configuration from the command line `cli` and the environment `env`,
    /// reading the TOML file that either of them names.
    pub(crate) fn load(cli: Cli, env: &Env) -> anyhow::Result<Config> {
        let config_path = match cli.config {
            Some(path) => Some(path),
            None => env_var(env, "DEPOT_CONFIG")?,
        };
        let from_env = Layer::from_env(env)?;
        let from_file = match config_path {
            Some(path) => Layer::from_file(&path)?,
            None => Layer::default(),
        };
        cli.layer.over(from_env).over(from_file).resolve()
    }
}

impl Layer {
    /// Reads a TOML configuration file.
    fn from_file(path: &Path) -> anyhow::Result<Layer> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading configuration file {}", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("in configuration file {}", path.display()))
    }

    fn from_toml(text: &str) -> anyhow::Result<Layer> {
        Ok(toml::from_str(text)?)
    }

    /// Reads the `DEPOT_*` variables. An empty variable counts as unset, so `DEPOT_X=` in a
    /// unit file or compose file does not override the layers below with an empty value.
    fn from_env(env: &Env) -> anyhow::Result<Layer> {
        Ok(Layer {
            data_dir: env_var(env, "DEPOT_DATA_DIR")?,
            s3_addr: env_var(env, "DEPOT_S3_ADDR")?,
            control_addr: env_var(env, "DEPOT_CONTROL_ADDR")?,
            root_access_key: env_var(env, "DEPOT_ROOT_ACCESS_KEY")?,
            root_secret_key: env_var(env, "DEPOT_ROOT_SECRET_KEY")?,
            database_url: env_var(env, "DEPOT_DATABASE_URL")?,
            s3_region: env_var(env, "DEPOT_S3_REGION")?,
            s3_domain: env_var(env, "DEPOT_S3_DOMAIN")?,
            master_key: env_var(env, "DEPOT_MASTER_KEY")?,
            log: env_var(env, "DEPOT_LOG")?,
            log_format: env_var(env, "DEPOT_LOG_FORMAT")?,
            shutdown_timeout_secs: env_var(env, "DEPOT_SHUTDOWN_TIMEOUT_SECS")?,
            replication_workers: env_var(env, "DEPOT_REPLICATION_WORKERS")?,
            replication_max_retry_secs: env_var(env, "DEPOT_REPLICATION_MAX_RETRY_SECS")?,
            service_id: env_var(env, "DEPOT_SERVICE_ID")?,
            usage_period_secs: env_var(env, "DEPOT_USAGE_PERIOD_SECS")?,
            limiter: env_var(env, "DEPOT_LIMITER")?,
        })
    }

    /// Stacks `self` over `lower`: a value set here wins.
    fn over(self, lower: Layer) -> Layer {
        Layer {
            data_dir: self.data_dir.or(lower.data_dir),
            s3_addr: self.s3_addr.or(lower.s3_addr),
            control_addr: self.control_addr.or(lower.control_addr),
            root_access_key: self.root_access_key.or(lower.root_access_key),
            root_secret_key: self.root_secret_key.or(lower.root_secret_key),
            database_url: self.database_url.or(lower.database_url),
            s3_region: self.s3_region.or(lower.s3_region),
            s3_domain: self.s3_domain.or(lower.s3_domain),
            master_key: self.master_key.or(lower.master_key),
            log: self.log.or(lower.log),
            log_format: self.log_format.or(lower.log_format),
            shutdown_timeout_secs: self.shutdown_timeout_secs.or(lower.shutdown_timeout_secs),
            replication_workers: self.replication_workers.or(lower.replication_workers),
            replication_max_retry_secs: self
                .replication_max_retry_secs
                .or(lower.replication_max_retry_secs),
            service_id: self.service_id.or(lower.service_id),
            usage_period_secs: self.usage_period_secs.or(lower.usage_period_secs),
            limiter: self.limiter.or(lower.limiter),
        }
    }

    /// Fills the remaining gaps with the built-in defaults and checks values that only make
    /// sense together.
    fn resolve(self) -> anyhow::Result<Config> {
        let engine = depot_engine::EngineConfig::for_node(
            self.data_dir,
            self.database_url.as_ref().map(DatabaseUrl::expose),
        );
        let data_dir = engine.data_dir;
        let database_url = DatabaseUrl(engine.database_url);
        let root = match (self.root_access_key, self.root_secret_key) {
            (None, None) => None,
            (Some(access_key), Some(secret_key)) => {
                if access_key.is_empty() || secret_key.expose().is_empty() {
                    bail!("the root access key and secret key must not be empty");
                }
                Some(RootCredentials {
                    access_key,
                    secret_key,
                })
            }
            (Some(_), None) => bail!(
                "the root access key is set but the secret key is not \
                 (DEPOT_ROOT_SECRET_KEY / --root-secret-key)"
            ),
            (None, Some(_)) => bail!(
                "the root secret key is set but the access key is not \
                 (DEPOT_ROOT_ACCESS_KEY / --root-access-key)"
            ),
        };
        let s3_region = self
            .s3_region
            .unwrap_or_else(|| DEFAULT_S3_REGION.to_owned());
        if s3_region.is_empty() {
            bail!("the S3 region must not be empty");
        }
        let s3_domains = self
            .s3_domain
            .unwrap_or_default()
            .split(',')
            .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        let master_key = self
            .master_key
            .map(|secret| depot_engine::parse_master_key(secret.expose()).map(MasterKey))
            .transpose()
            .context("DEPOT_MASTER_KEY / --master-key")?;
        let replication_defaults = depot_ostor::ReplicatorConfig::default();
        let replication_max_retry_secs = self
            .replication_max_retry_secs
            .unwrap_or(replication_defaults.max_retry.as_secs());
        if !(1..=MAX_REPLICATION_RETRY_SECS).contains(&replication_max_retry_secs) {
            bail!(
                "replication_max_retry_secs must be between 1 and {MAX_REPLICATION_RETRY_SECS}, \
                 not {replication_max_retry_secs}"
            );
        }
        let usage_period_secs = self.usage_period_secs.unwrap_or(DEFAULT_USAGE_PERIOD_SECS);
        if usage_period_secs > depot_engine::UsageMeter::MAX_PERIOD_SECONDS {
            bail!(
                "usage_period_secs must be at most {} (0 turns usage statistics off), not \
                 {usage_period_secs}",
                depot_engine::UsageMeter::MAX_PERIOD_SECONDS
            );
        }
        let service_id = match self.service_id {
            Some(id) => id,
            None => ServiceId::new(1)?,
        };
        Ok(Config {
            data_dir,
            s3_domains,
            master_key,
            s3_addr: self.s3_addr.unwrap_or(DEFAULT_S3_ADDR),
            control_addr: self.control_addr.unwrap_or(DEFAULT_CONTROL_ADDR),
            root,
            database_url,
            s3_region,
            log: self.log.unwrap_or_else(|| DEFAULT_LOG.to_owned()),
            log_format: self.log_format.unwrap_or_default(),
            shutdown_timeout: Duration::from_secs(
                self.shutdown_timeout_secs
                    .unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT_SECS),
            ),
            replication_workers: self
                .replication_workers
                .unwrap_or(replication_defaults.concurrency),
            replication_max_retry: Duration::from_secs(replication_max_retry_secs),
            service_id,
            usage_period_secs: (usage_period_secs > 0).then_some(usage_period_secs),
            limiter: self.limiter,
        })
    }
}

/// Parses one environment variable, naming it in the error so operators know which to fix.
fn env_var<T>(env: &Env, name: &str) -> anyhow::Result<Option<T>>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    match env.get(name).filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(value) => value
            .parse()
            .map(Some)
            .map_err(|error| anyhow::anyhow!("invalid value {value:?} in {name}: {error}")),
    }
}

/// The process's `DEPOT_*` variables. A non-UTF-8 value is an error rather than silently
/// skipped, so a setting is never ignored without a word.
pub(crate) fn process_env() -> anyhow::Result<Env> {
    let mut env = Env::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str().filter(|n| n.starts_with("DEPOT_")) else {
            continue;
        };
        let value = value
            .into_string()
            .map_err(|_| anyhow::anyhow!("environment variable {name} is not valid UTF-8"))?;
        env.insert(name.to_owned(), value);
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn load(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Config> {
        let cli = Cli::parse_args(std::iter::once("depot-api").chain(args.iter().copied()))?;
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::load(cli, &env)
    }

    fn config_file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(text.as_bytes()).expect("write temp file");
        file
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_lists_the_variables() {
        let Err(help) = Cli::parse_args(["depot-api", "--help"]) else {
            panic!("--help parsed as a configuration");
        };
        assert_eq!(help.kind(), ErrorKind::DisplayHelp);
        let text = help.render().to_string();
        assert!(text.contains("DEPOT_SHUTDOWN_TIMEOUT_SECS"), "{text}");
    }

    #[test]
    fn defaults() {
        let config = load(&[], &[]).expect("defaults load");
        assert_eq!(config.data_dir, PathBuf::from("./depot-data"));
        assert_eq!(config.s3_addr, addr("127.0.0.1:9000"));
        assert_eq!(config.control_addr, addr("127.0.0.1:9001"));
        assert_eq!(config.root, None);
        assert_eq!(
            config.database_url.expose(),
            "sqlite://./depot-data/depot.db?mode=rwc"
        );
        assert_eq!(config.s3_region, "us-east-1");
        assert_eq!(config.log, "info");
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.shutdown_timeout, Duration::from_secs(30));
    }

    #[test]
    fn file_then_env_then_flag() {
        let file = config_file(
            r#"
            s3_addr = "127.0.0.1:1001"
            control_addr = "127.0.0.1:2001"
            s3_region = "file-region"
            log = "warn"
            "#,
        );
        let path = file.path().to_str().expect("utf-8 temp path");

        // File alone.
        let config = load(&["--config", path], &[]).expect("file");
        assert_eq!(config.s3_addr, addr("127.0.0.1:1001"));
        assert_eq!(config.s3_region, "file-region");

        // Environment over file.
        let env = [
            ("DEPOT_S3_ADDR", "127.0.0.1:1002"),
            ("DEPOT_CONTROL_ADDR", "127.0.0.1:2002"),
        ];
        let config = load(&["--config", path], &env).expect("file + env");
        assert_eq!(config.s3_addr, addr("127.0.0.1:1002"));
        assert_eq!(config.control_addr, addr("127.0.0.1:2002"));
        assert_eq!(config.s3_region, "file-region", "untouched by env");

        // Flag over environment over file.
        let config = load(&["--config", path, "--s3-addr", "127.0.0.1:1003"], &env)
            .expect("file + env + flag");
        assert_eq!(config.s3_addr, addr("127.0.0.1:1003"));
        assert_eq!(
            config.control_addr,
            addr("127.0.0.1:2002"),
            "env still wins"
        );
        assert_eq!(config.log, "warn", "file still wins over the default");
    }

    #[test]
    fn config_path_from_env_and_flag() {
        let from_env = config_file(r#"s3_region = "env-file""#);
        let from_flag = config_file(r#"s3_region = "flag-file""#);
        let env_path = from_env.path().to_str().expect("utf-8 temp path");
        let flag_path = from_flag.path().to_str().expect("utf-8 temp path");

        let config = load(&[], &[("DEPOT_CONFIG", env_path)]).expect("env path");
        assert_eq!(config.s3_region, "env-file");
        let config =
            load(&["--config", flag_path], &[("DEPOT_CONFIG", env_path)]).expect("flag path");
        assert_eq!(config.s3_region, "flag-file");
    }

    #[test]
    fn database_url_follows_data_dir() {
        let config = load(&["--data-dir", "/var/lib/depot"], &[]).expect("data dir flag");
        assert_eq!(
            config.database_url.expose(),
            "sqlite:///var/lib/depot/depot.db?mode=rwc"
        );
        let config = load(
            &["--data-dir", "/var/lib/depot"],
            &[("DEPOT_DATABASE_URL", "postgres://depot@db/depot")],
        )
        .expect("explicit database url");
        assert_eq!(config.database_url.expose(), "postgres://depot@db/depot");
    }

    #[test]
    fn every_setting_from_env() {
        let env = [
            ("DEPOT_DATA_DIR", "/srv/depot"),
            ("DEPOT_S3_ADDR", "0.0.0.0:80"),
            ("DEPOT_CONTROL_ADDR", "[::1]:81"),
            ("DEPOT_ROOT_ACCESS_KEY", "AKROOT"),
            ("DEPOT_ROOT_SECRET_KEY", "s3cr3t"),
            ("DEPOT_DATABASE_URL", "sqlite::memory:"),
            ("DEPOT_S3_REGION", "eu-central-1"),
            ("DEPOT_S3_DOMAIN", "s3.example.com, S3.Example.NET."),
            (
                "DEPOT_MASTER_KEY",
                "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
            ),
            ("DEPOT_LOG", "debug"),
            ("DEPOT_LOG_FORMAT", "JSON"),
            ("DEPOT_SHUTDOWN_TIMEOUT_SECS", "5"),
            ("DEPOT_REPLICATION_WORKERS", "0"),
            ("DEPOT_REPLICATION_MAX_RETRY_SECS", "2"),
            ("DEPOT_SERVICE_ID", "8000000000000003"),
            ("DEPOT_USAGE_PERIOD_SECS", "0"),
            ("DEPOT_LIMITER", "database"),
        ];
        let config = load(&[], &env).expect("env");
        assert_eq!(
            config,
            Config {
                data_dir: PathBuf::from("/srv/depot"),
                s3_addr: addr("0.0.0.0:80"),
                control_addr: addr("[::1]:81"),
                root: Some(RootCredentials {
                    access_key: "AKROOT".to_owned(),
                    secret_key: Secret::new("s3cr3t"),
                }),
                database_url: DatabaseUrl("sqlite::memory:".to_owned()),
                s3_region: "eu-central-1".to_owned(),
                s3_domains: vec!["s3.example.com".to_owned(), "s3.example.net".to_owned()],
                master_key: Some(MasterKey([
                    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
                    0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
                    0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
                ])),
                log: "debug".to_owned(),
                log_format: LogFormat::Json,
                shutdown_timeout: Duration::from_secs(5),
                replication_workers: 0,
                replication_max_retry: Duration::from_secs(2),
                service_id: ServiceId::new(8_000_000_000_000_003).expect("16 digits"),
                usage_period_secs: None,
                limiter: Some(LimiterStore::Database),
            }
        );
    }

    #[test]
    fn every_setting_from_file() {
        let file = config_file(
            r#"
            data_dir = "/srv/depot"
            s3_addr = "0.0.0.0:80"
            control_addr = "[::1]:81"
            root_access_key = "AKROOT"
            root_secret_key = "s3cr3t"
            database_url = "sqlite::memory:"
            s3_region = "eu-central-1"
            s3_domain = "s3.example.com"
            master_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
            log = "debug"
            log_format = "json"
            shutdown_timeout_secs = 5
            replication_workers = 0
            replication_max_retry_secs = 2
            service_id = 8000000000000003
            usage_period_secs = 0
            limiter = "database"
            "#,
        );
        let path = file.path().to_str().expect("utf-8 temp path");
        let from_file = load(&["--config", path], &[]).expect("file");
        let env = [
            ("DEPOT_DATA_DIR", "/srv/depot"),
            ("DEPOT_S3_ADDR", "0.0.0.0:80"),
            ("DEPOT_CONTROL_ADDR", "[::1]:81"),
            ("DEPOT_ROOT_ACCESS_KEY", "AKROOT"),
            ("DEPOT_ROOT_SECRET_KEY", "s3cr3t"),
            ("DEPOT_DATABASE_URL", "sqlite::memory:"),
            ("DEPOT_S3_REGION", "eu-central-1"),
            ("DEPOT_S3_DOMAIN", "s3.example.com"),
            (
                "DEPOT_MASTER_KEY",
                "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
            ),
            ("DEPOT_LOG", "debug"),
            ("DEPOT_LOG_FORMAT", "json"),
            ("DEPOT_SHUTDOWN_TIMEOUT_SECS", "5"),
            ("DEPOT_REPLICATION_WORKERS", "0"),
            ("DEPOT_REPLICATION_MAX_RETRY_SECS", "2"),
            ("DEPOT_SERVICE_ID", "8000000000000003"),
            ("DEPOT_USAGE_PERIOD_SECS", "0"),
            ("DEPOT_LIMITER", "database"),
        ];
        assert_eq!(from_file, load(&[], &env).expect("env"));
    }

    #[test]
    fn every_flag() {
        let args = [
            "--data-dir=/srv/depot",
            "--s3-addr=0.0.0.0:80",
            "--control-addr=[::1]:81",
            "--root-access-key=AKROOT",
            "--root-secret-key=s3cr3t",
            "--database-url=sqlite::memory:",
            "--s3-region=eu-central-1",
            "--s3-domain=s3.example.com",
            "--master-key=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
            "--log=debug",
            "--log-format=json",
            "--shutdown-timeout-secs=5",
            "--replication-workers=0",
            "--replication-max-retry-secs=2",
            "--service-id=8000000000000003",
            "--usage-period-secs=0",
            "--limiter=database",
        ];
        let env = [
            ("DEPOT_DATA_DIR", "/elsewhere"),
            ("DEPOT_S3_ADDR", "127.0.0.1:1"),
            ("DEPOT_CONTROL_ADDR", "127.0.0.1:2"),
            ("DEPOT_ROOT_ACCESS_KEY", "AKOTHER"),
            ("DEPOT_ROOT_SECRET_KEY", "other"),
            ("DEPOT_DATABASE_URL", "sqlite://other.db"),
            ("DEPOT_S3_REGION", "other"),
            ("DEPOT_S3_DOMAIN", "other.example.com"),
            (
                "DEPOT_MASTER_KEY",
                "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            ),
            ("DEPOT_LOG", "trace"),
            ("DEPOT_LOG_FORMAT", "text"),
            ("DEPOT_SHUTDOWN_TIMEOUT_SECS", "99"),
            ("DEPOT_REPLICATION_WORKERS", "8"),
            ("DEPOT_REPLICATION_MAX_RETRY_SECS", "600"),
            ("DEPOT_SERVICE_ID", "7"),
            ("DEPOT_USAGE_PERIOD_SECS", "60"),
            ("DEPOT_LIMITER", "memory"),
        ];
        let flags = load(&args, &env).expect("flags over env");
        let expected = load(
            &[],
            &[
                ("DEPOT_DATA_DIR", "/srv/depot"),
                ("DEPOT_S3_ADDR", "0.0.0.0:80"),
                ("DEPOT_CONTROL_ADDR", "[::1]:81"),
                ("DEPOT_ROOT_ACCESS_KEY", "AKROOT"),
                ("DEPOT_ROOT_SECRET_KEY", "s3cr3t"),
                ("DEPOT_DATABASE_URL", "sqlite::memory:"),
                ("DEPOT_S3_REGION", "eu-central-1"),
                ("DEPOT_S3_DOMAIN", "s3.example.com"),
                (
                    "DEPOT_MASTER_KEY",
                    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                ),
                ("DEPOT_LOG", "debug"),
                ("DEPOT_LOG_FORMAT", "json"),
                ("DEPOT_SHUTDOWN_TIMEOUT_SECS", "5"),
                ("DEPOT_REPLICATION_WORKERS", "0"),
                ("DEPOT_REPLICATION_MAX_RETRY_SECS", "2"),
                ("DEPOT_SERVICE_ID", "8000000000000003"),
                ("DEPOT_USAGE_PERIOD_SECS", "0"),
                ("DEPOT_LIMITER", "database"),
            ],
        )
        .expect("env");
        assert_eq!(flags, expected);
    }

    /// Guards against a flag gaining `env = "DEPOT_…"` in its clap attribute (and so in
    /// `--help`) without [`Layer::from_env`] reading it.
    #[test]
    fn env_layer_reads_every_documented_variable() {
        let sample = |var: &str| match var {
            "DEPOT_S3_ADDR" | "DEPOT_CONTROL_ADDR" => "127.0.0.1:1",
            "DEPOT_LOG_FORMAT" => "json",
            "DEPOT_LIMITER" => "memory",
            "DEPOT_SHUTDOWN_TIMEOUT_SECS"
            | "DEPOT_REPLICATION_WORKERS"
            | "DEPOT_REPLICATION_MAX_RETRY_SECS"
            | "DEPOT_SERVICE_ID"
            | "DEPOT_USAGE_PERIOD_SECS" => "1",
            "DEPOT_MASTER_KEY" => {
                "0000000000000000000000000000000000000000000000000000000000000000"
            }
            _ => "x",
        };
        let command = Cli::command();
        let mut seen = 0;
        for arg in command.get_arguments() {
            let Some(var) = arg.get_env().and_then(|v| v.to_str()) else {
                continue;
            };
            if var == "DEPOT_CONFIG" {
                continue; // Read by `Config::load` itself, before the layers.
            }
            let env = Env::from([(var.to_owned(), sample(var).to_owned())]);
            let layer = Layer::from_env(&env).expect("sample parses");
            assert_ne!(
                layer,
                Layer::default(),
                "{var} is not read from the environment"
            );
            seen += 1;
        }
        assert_eq!(seen, 17);
    }

    #[test]
    fn replication_retry_wait_is_bounded() {
        for bad in ["0", "86401"] {
            let error =
                load(&[], &[("DEPOT_REPLICATION_MAX_RETRY_SECS", bad)]).expect_err("out of range");
            assert!(
                error.to_string().contains("replication_max_retry_secs"),
                "{error}"
            );
        }
        let config = load(&[], &[("DEPOT_REPLICATION_MAX_RETRY_SECS", "86400")]).expect("a day");
        assert_eq!(config.replication_max_retry, Duration::from_secs(86_400));
    }

    #[test]
    fn a_bad_master_key_is_named_but_not_shown() {
        let error = load(&[], &[("DEPOT_MASTER_KEY", "c0ffee")]).expect_err("short");
        let message = format!("{error:#}");
        assert!(message.contains("DEPOT_MASTER_KEY"), "{message}");
        assert!(message.contains("64 hex digits"), "{message}");
        assert!(!message.contains("c0ffee"), "{message}");
    }

    #[test]
    fn the_limiter_store_is_left_to_the_engine_unless_chosen() {
        assert_eq!(load(&[], &[]).expect("defaults").limiter, None);
        let chosen = load(&["--limiter=memory"], &[("DEPOT_LIMITER", "database")]).expect("flag");
        assert_eq!(chosen.limiter, Some(LimiterStore::Memory));
        let error = load(&[], &[("DEPOT_LIMITER", "redis")]).expect_err("unknown store");
        assert!(format!("{error:#}").contains("DEPOT_LIMITER"), "{error:#}");
    }

    #[test]
    fn usage_statistics_default_to_hourly_and_turn_off_with_zero() {
        let config = load(&[], &[]).expect("defaults");
        assert_eq!(config.usage_period_secs, Some(3_600));
        assert_eq!(config.service_id.to_string(), "0000000000000001");
        let config = load(&[], &[("DEPOT_USAGE_PERIOD_SECS", "0")]).expect("off");
        assert_eq!(config.usage_period_secs, None);
        let error = load(&[], &[("DEPOT_USAGE_PERIOD_SECS", "31622401")]).expect_err("too long");
        assert!(error.to_string().contains("usage_period_secs"), "{error}");
        let error = load(&[], &[("DEPOT_SERVICE_ID", "10000000000000000")]).expect_err("17 digits");
        assert!(
            format!("{error:#}").contains("DEPOT_SERVICE_ID"),
            "{error:#}"
        );
    }

    #[test]
    fn empty_env_is_unset() {
        let config = load(&[], &[("DEPOT_S3_ADDR", "")]).expect("empty is unset");
        assert_eq!(config.s3_addr, addr("127.0.0.1:9000"));
    }

    #[test]
    fn bad_env_value_names_the_variable() {
        let error = load(&[], &[("DEPOT_S3_ADDR", "nowhere")]).expect_err("bad address");
        let message = format!("{error:#}");
        assert!(message.contains("DEPOT_S3_ADDR"), "{message}");
        let error = load(&[], &[("DEPOT_LOG_FORMAT", "xml")]).expect_err("bad format");
        assert!(format!("{error:#}").contains("DEPOT_LOG_FORMAT"));
    }

    #[test]
    fn bad_flag_value_is_rejected() {
        assert!(load(&["--s3-addr", "nowhere"], &[]).is_err());
        assert!(load(&["--log-format", "xml"], &[]).is_err());
    }

    #[test]
    fn unknown_file_key_is_rejected() {
        let file = config_file(r#"s3_adr = "127.0.0.1:1""#);
        let path = file.path().to_str().expect("utf-8 temp path");
        let error = load(&["--config", path], &[]).expect_err("typo in key");
        assert!(format!("{error:#}").contains("s3_adr"), "{error:#}");
    }

    #[test]
    fn missing_file_is_an_error() {
        assert!(load(&["--config", "/nonexistent/depot.toml"], &[]).is_err());
    }

    #[test]
    fn root_credentials_come_in_pairs() {
        assert!(load(&[], &[("DEPOT_ROOT_ACCESS_KEY", "AK")]).is_err());
        assert!(load(&[], &[("DEPOT_ROOT_SECRET_KEY", "SK")]).is_err());
        // Halves may come from different layers.
        let config = load(
            &["--root-secret-key", "SK"],
            &[("DEPOT_ROOT_ACCESS_KEY", "AK")],
        )
        .expect("pair across layers");
        assert_eq!(config.root.map(|r| r.access_key), Some("AK".to_owned()));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let config = load(
            &[
                "--root-secret-key",
                "hunter2-root",
                "--database-url",
                "postgres://depot:hunter2-db@db:5432/depot",
            ],
            &[("DEPOT_ROOT_ACCESS_KEY", "AKROOT")],
        )
        .expect("config");
        let debug = format!("{config:?} {config:#?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("AKROOT"), "the access key is not secret");
        assert!(debug.contains("postgres://depot:****@db:5432/depot"));
    }

    #[test]
    fn database_url_redaction() {
        let redact = |s: &str| DatabaseUrl(s.to_owned()).redacted();
        assert_eq!(
            redact("sqlite://./d/depot.db?mode=rwc"),
            "sqlite://./d/depot.db?mode=rwc"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://u:p@h/db"), "postgres://u:****@h/db");
        assert_eq!(redact("postgres://u:p@h"), "postgres://u:****@h");
        assert_eq!(redact("postgres://u:p@x@h?a=b"), "postgres://u:****@h?a=b");
        assert_eq!(redact("not a url"), "not a url");
    }
}
