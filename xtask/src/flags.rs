//! The `cargo xtask` command line, in one place so `--help` documents every task.

use clap::{Parser, Subcommand};

/// Development tasks for the Depot workspace.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
pub(crate) struct Xtask {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Everything CI checks, in CI's order: fmt, clippy, tests, doctests, tidy.
    Ci,
    /// Repository rules the compiler can't check: crate layering, file headers, lints.
    Tidy,
    /// Runs every cargo-fuzz target under crates/*/fuzz for a while each.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Only these targets (default: all).
        targets: Vec<String>,
    },
    /// Runs the benchmarks; extra arguments go to `cargo bench`
    /// (e.g. `cargo xtask bench -- --save-baseline main`).
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn clap_definition_is_valid() {
        Xtask::command().debug_assert();
    }

    #[test]
    fn bench_passes_arguments_through() {
        let flags = Xtask::try_parse_from(["xtask", "bench", "--", "--save-baseline", "main"])
            .expect("parses");
        let Command::Bench { args } = flags.command else {
            panic!("not bench");
        };
        assert_eq!(args, ["--save-baseline", "main"]);
    }
}
