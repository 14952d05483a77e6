//! `depot-admin`, the operator's command line for a Depot (or any ostor-compatible) cluster.
//! Its subcommands arrive with the ostor admin client; the global options they share are fixed
//! now so scripts and environments can rely on them.

use std::fmt;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Operator CLI for Depot, the S3 storage platform for hosting providers.
#[derive(Parser)]
#[command(name = "depot-admin", version, arg_required_else_help = true)]
struct Cli {
    /// URL of the cluster's S3 endpoint, which also serves the ostor admin API.
    #[arg(
        long,
        global = true,
        env = "DEPOT_ENDPOINT",
        value_name = "URL",
        default_value = "http://127.0.0.1:9000"
    )]
    endpoint: String,

    /// Access key of a system user, allowed to call the admin API.
    #[arg(long, global = true, env = "DEPOT_ACCESS_KEY", value_name = "KEY")]
    access_key: Option<String>,

    /// Secret key of that user.
    // `hide_env_values` keeps `--help` from echoing the secret out of the environment.
    #[arg(
        long,
        global = true,
        env = "DEPOT_SECRET_KEY",
        value_name = "SECRET",
        hide_env_values = true
    )]
    secret_key: Option<String>,

    /// Print results as JSON instead of tables, for scripts.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Option<Command>,
}

/// What to do. Empty until the ostor admin client lands; each ostor request family
/// (users, accounts, buckets, limits, quotas, replication, usage) becomes a subcommand.
#[derive(Subcommand)]
enum Command {}

// Written by hand so the secret key can never reach a log or a panic message.
impl fmt::Debug for Cli {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cli")
            .field("endpoint", &self.endpoint)
            .field("access_key", &self.access_key)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(command) => match command {},
        None => {
            // Options but no subcommand: nothing to do, so say what can be done, where and
            // how clap does when run with no arguments at all (stderr, usage-error code 2).
            eprint!("{}", Cli::command().render_help());
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn debug_redacts_the_secret() {
        let cli = Cli::try_parse_from([
            "depot-admin",
            "--access-key",
            "AK",
            "--secret-key",
            "hunter2",
            "--json",
        ])
        .expect("parses");
        let debug = format!("{cli:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("AK"));
    }
}
