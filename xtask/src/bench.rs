//! `cargo xtask bench`: the benchmarks, one command however many suites there are.

use xshell::{Shell, cmd};

/// Runs the criterion benchmarks. Today that is SigV4 signing and verification; the S3 load
/// generator joins here with the data plane.
pub(crate) fn run(sh: &Shell, args: &[String]) -> anyhow::Result<()> {
    eprintln!("==> bench: cargo bench -p depot-sigv4 {}", args.join(" "));
    cmd!(sh, "cargo bench -p depot-sigv4 {args...}").run()?;
    Ok(())
}
