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
    /// Everything CI checks, in CI's order: fmt, clippy, tests, doctests, tidy, e2e.
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
    /// Starts the built depot-api and runs real S3 clients against it: one suite per client,
    /// the admin API's, the operator CLI's, usage statistics, replication between two servers,
    /// and the 5 GiB bound, in e2e/ (awscli, boto3, ostor, admin, usage, replication, rclone,
    /// s3cmd, bigobject).
    /// Ends with `N passed, M failed`.
    E2e {
        /// Run only this suite (repeat, or separate names with commas).
        #[arg(long = "suite", value_name = "NAME", num_args = 1.., value_delimiter = ',')]
        suites: Vec<String>,
        /// Keep the temporary directory (server data, server log, suites' files).
        #[arg(long)]
        keep: bool,
        /// Test an already-running S3 server at this URL instead of starting depot-api
        /// (for checking the suites against a reference implementation).
        #[arg(long, hide = true, value_name = "URL", requires_all = ["access_key", "secret_key"])]
        endpoint: Option<String>,
        /// The access key for --endpoint.
        #[arg(long, hide = true, value_name = "KEY", requires = "endpoint")]
        access_key: Option<String>,
        /// The secret key for --endpoint.
        #[arg(long, hide = true, value_name = "SECRET", requires = "endpoint")]
        secret_key: Option<String>,
        /// Start this depot-api binary instead of building one (e.g. a release build).
        #[arg(long, hide = true, value_name = "PATH", conflicts_with = "endpoint")]
        depot_api: Option<std::path::PathBuf>,
    },
    /// Runs the benchmarks: criterion (extra arguments go to `cargo bench`, e.g.
    /// `cargo xtask bench -- --save-baseline main`), then the S3 data plane under load beside
    /// an in-memory ceiling.
    Bench {
        #[command(flatten)]
        flags: crate::bench::Flags,
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
        let Command::Bench { args, .. } = flags.command else {
            panic!("not bench");
        };
        assert_eq!(args, ["--save-baseline", "main"]);
    }

    #[test]
    fn e2e_takes_suites_repeated_listed_or_comma_separated() {
        for argv in [
            &["xtask", "e2e", "--suite", "boto3", "--suite", "rclone"][..],
            &["xtask", "e2e", "--suite", "boto3", "rclone"][..],
            &["xtask", "e2e", "--suite", "boto3,rclone"][..],
        ] {
            let flags = Xtask::try_parse_from(argv).expect("parses");
            let Command::E2e {
                suites,
                keep,
                endpoint,
                ..
            } = flags.command
            else {
                panic!("not e2e");
            };
            assert_eq!(suites, ["boto3", "rclone"], "{argv:?}");
            assert!(!keep);
            assert_eq!(endpoint, None);
        }
    }

    #[test]
    fn e2e_endpoint_needs_both_keys() {
        let flags = Xtask::try_parse_from([
            "xtask",
            "e2e",
            "--keep",
            "--endpoint",
            "http://127.0.0.1:5000",
            "--access-key",
            "AK",
            "--secret-key",
            "SK",
        ])
        .expect("parses");
        let Command::E2e {
            keep,
            endpoint,
            access_key,
            secret_key,
            ..
        } = flags.command
        else {
            panic!("not e2e");
        };
        assert!(keep);
        assert_eq!(endpoint.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(
            (access_key.as_deref(), secret_key.as_deref()),
            (Some("AK"), Some("SK"))
        );
        assert!(Xtask::try_parse_from(["xtask", "e2e", "--endpoint", "http://x"]).is_err());
        assert!(Xtask::try_parse_from(["xtask", "e2e", "--access-key", "AK"]).is_err());
    }
}
