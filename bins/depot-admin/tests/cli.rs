//! Runs the built `depot-admin` as a user would: `--version`, `--help`, and no arguments.

use std::process::{Command, Output};

fn depot_admin(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_depot-admin"));
    // The developer's own settings must not change what the test sees.
    for name in ["DEPOT_ENDPOINT", "DEPOT_ACCESS_KEY", "DEPOT_SECRET_KEY"] {
        command.env_remove(name);
    }
    command.args(args).output().expect("run depot-admin")
}

#[test]
fn version() {
    let output = depot_admin(&["--version"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("depot-admin {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_global_options() {
    let output = depot_admin(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "Operator CLI for Depot",
        "--endpoint",
        "DEPOT_ENDPOINT",
        "--access-key",
        "DEPOT_ACCESS_KEY",
        "--secret-key",
        "DEPOT_SECRET_KEY",
        "--json",
    ] {
        assert!(help.contains(expected), "{expected} missing from:\n{help}");
    }
}

#[test]
fn no_arguments_prints_help() {
    let output = depot_admin(&[]);
    assert_eq!(output.status.code(), Some(2));
    // clap writes this help to stderr, as for any usage error.
    let help = String::from_utf8_lossy(&output.stderr);
    assert!(help.contains("Usage: depot-admin"), "{help}");
}

#[test]
fn options_without_a_command_print_help() {
    let output = depot_admin(&["--json"]);
    assert_eq!(output.status.code(), Some(2));
    let help = String::from_utf8_lossy(&output.stderr);
    assert!(help.contains("Usage: depot-admin"), "{help}");
}

#[test]
fn secret_from_environment_is_not_shown() {
    let output = Command::new(env!("CARGO_BIN_EXE_depot-admin"))
        .arg("--help")
        .env("DEPOT_SECRET_KEY", "do-not-print-me")
        .output()
        .expect("run depot-admin");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("do-not-print-me"));
}
