//! `cargo xtask`: the project's development tasks, written in Rust so they run wherever cargo
//! does, without make, shell-script dialects or extra tools to install.
//!
//! Each command is a module; `flags.rs` is the command line. Commands print to stderr (banners,
//! progress) and leave stdout to the tools they run.

mod bench;
mod ci;
mod e2e;
mod flags;
mod fuzz;
mod process;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use xshell::Shell;

fn main() -> ExitCode {
    let flags = flags::Xtask::parse();
    match run(flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nxtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(flags: flags::Xtask) -> anyhow::Result<()> {
    let sh = Shell::new()?;
    // Every command works from the workspace root, wherever `cargo xtask` was typed.
    sh.change_dir(project_root());
    match flags.command {
        flags::Command::Ci => ci::run(&sh),
        flags::Command::Tidy => tidy::run(&sh),
        flags::Command::Fuzz { seconds, targets } => fuzz::run(&sh, seconds, &targets),
        flags::Command::E2e {
            suites,
            keep,
            endpoint,
            access_key,
            secret_key,
            depot_api,
        } => {
            let external = match (endpoint, access_key, secret_key) {
                (Some(endpoint), Some(access_key), Some(secret_key)) => Some(e2e::Target {
                    endpoint,
                    access_key,
                    secret_key,
                }),
                _ => None,
            };
            e2e::run(
                &sh,
                e2e::Options {
                    suites,
                    keep,
                    external,
                    depot_api,
                },
            )
        }
        flags::Command::Bench { flags, args } => bench::run(&sh, &flags, &args),
    }
}

/// The workspace root: the parent of this crate's directory.
fn project_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().unwrap_or(xtask_dir).to_path_buf()
}
