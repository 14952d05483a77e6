//! `cargo xtask ci`: the one definition of "the checks pass", shared by `.ci/run`, the GitHub
//! workflow and developers, so the three can never disagree.

use std::time::Instant;

use anyhow::Context;
use xshell::{Shell, cmd};

use crate::{e2e, tidy};

/// Runs every check in order and stops at the first failure, naming it.
pub(crate) fn run(sh: &Shell) -> anyhow::Result<()> {
    let started = Instant::now();
    step("fmt", || {
        cmd!(sh, "cargo fmt --all -- --check").run()?;
        Ok(())
    })?;
    step("clippy", || {
        cmd!(
            sh,
            "cargo clippy --workspace --all-targets --all-features -- -D warnings"
        )
        .run()?;
        Ok(())
    })?;
    step("test", || test(sh))?;
    // nextest does not run doctests, so they get their own step.
    step("doctest", || {
        cmd!(sh, "cargo test --workspace --doc --all-features").run()?;
        Ok(())
    })?;
    step("tidy", || tidy::run(sh))?;
    // Last: the built depot-api against the real clients (aws-cli, boto3, rclone, s3cmd),
    // which the step installs when they are missing.
    step("e2e", || {
        e2e::run(
            sh,
            e2e::Options {
                suites: Vec::new(),
                keep: false,
                external: None,
                depot_api: None,
            },
        )
    })?;
    eprintln!("\n==> ci: all steps passed in {:.0?}", started.elapsed());
    Ok(())
}

/// Runs one named step between banners; a failure carries the step's name.
fn step(name: &str, f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    eprintln!("\n==> ci step: {name}");
    let started = Instant::now();
    f().with_context(|| format!("ci step `{name}` failed"))?;
    eprintln!("==> ci step: {name} passed in {:.1?}", started.elapsed());
    Ok(())
}

/// The test suite, with cargo-nextest when it is there or can be installed (its per-test
/// process isolation and summary suit a growing suite), else plain `cargo test`.
fn test(sh: &Shell) -> anyhow::Result<()> {
    if have_nextest(sh) || install_nextest(sh) {
        cmd!(sh, "cargo nextest run --workspace --all-features").run()?;
    } else {
        eprintln!("    cargo-nextest unavailable; falling back to cargo test");
        cmd!(sh, "cargo test --workspace --all-features").run()?;
    }
    Ok(())
}

fn have_nextest(sh: &Shell) -> bool {
    cmd!(sh, "cargo nextest --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
}

fn install_nextest(sh: &Shell) -> bool {
    eprintln!("    cargo-nextest not found; installing it");
    cmd!(sh, "cargo install cargo-nextest --locked")
        .run()
        .is_ok()
}
