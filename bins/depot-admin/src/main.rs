//! `depot-admin`, the operator's command line for a Depot (or any ostor-compatible) cluster:
//! every call of the ostor admin API as a subcommand, in the spirit of `ostor-s3-admin` and
//! `radosgw-admin`, and `create-user`, the local bootstrap of the first system user.
//!
//! Results go to standard output (tables, or JSON with `--json`); errors to standard error,
//! one line each, with an exit status per kind of failure (`exit.rs`, `docs/admin.md`).

mod bootstrap;
mod cli;
mod config;
mod exit;
mod remote;
mod render;
mod table;

use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::CommandFactory;
use depot_ostor::OstorClient;

use crate::cli::{Cli, Command};
use crate::config::Env;
use crate::exit::{Exit, Failure};
use crate::remote::Format;

fn main() -> ExitCode {
    // `--help`, `--version` and bad arguments end here, with clap's output and exit codes.
    let cli = cli::parse_args(std::env::args_os()).unwrap_or_else(|error| error.exit());
    let Some(command) = cli.command else {
        // Options but no subcommand: nothing to do, so say what can be done, where and how
        // clap does when run with no arguments at all (stderr, usage-error code 2).
        eprint!("{}", Cli::command().render_help());
        return Exit::Usage.into();
    };
    let outcome = config::process_env().and_then(|env| run(&cli.global, command, &env));
    match outcome {
        Ok(output) => match write_stdout(&output) {
            Ok(()) => Exit::Success.into(),
            Err(error) => {
                eprintln!("error: writing the output: {error}");
                Exit::Failure.into()
            }
        },
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit.into()
        }
    }
}

/// Runs one command; the text to print on success.
fn run(global: &cli::GlobalArgs, mut command: Command, env: &Env) -> Result<String, Failure> {
    cli::fill_from_env(&mut command, env);
    let format = if global.json {
        Format::Json
    } else {
        Format::Table
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::new(Exit::Failure, format!("starting the runtime: {error}")))?;
    if let Command::CreateUser(args) = &command {
        let user = runtime.block_on(bootstrap::create_user(args))?;
        return Ok(match format {
            Format::Json => render::json(&user),
            Format::Table => render::user(&user, None, render::Secrets::Show),
        });
    }
    let connection = config::connection(global, env)?;
    let client = OstorClient::new(
        &connection.endpoint,
        connection.access_key.as_str(),
        connection.secret_key.expose(),
    )
    .map_err(|error| Failure::client("connecting", &error))?
    .with_region(connection.region.as_str());
    runtime.block_on(remote::run(command, &client, format))
}

/// Writes the output. A reader that went away (`depot-admin user list | head -1`) is not an
/// error: it has what it wanted.
fn write_stdout(output: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
