//! `cargo xtask fuzz`: runs every cargo-fuzz target for a bounded time, so fuzzing is one
//! command for a developer or a scheduled job rather than a ritual per crate.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::project_root;

/// One fuzz target: `<crate>/fuzz/fuzz_targets/<name>.rs`.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// The crate directory holding `fuzz/`, where `cargo fuzz` must run.
    crate_dir: PathBuf,
    name: String,
}

pub(crate) fn run(sh: &Shell, seconds: u64, only: &[String]) -> anyhow::Result<()> {
    let mut targets = find_targets(&project_root().join("crates"))?;
    if !only.is_empty() {
        for name in only {
            if !targets.iter().any(|t| &t.name == name) {
                bail!("no fuzz target named {name}");
            }
        }
        targets.retain(|t| only.contains(&t.name));
    }
    if targets.is_empty() {
        eprintln!("==> fuzz: no targets under crates/*/fuzz/fuzz_targets; nothing to do");
        return Ok(());
    }
    ensure_cargo_fuzz(sh)?;

    // cargo-fuzz needs nightly-only flags (sanitizers, `-Z`). A nightly toolchain is the
    // honest way; without one, RUSTC_BOOTSTRAP lets the stable compiler accept them.
    let nightly = has_nightly(sh);
    let toolchain: &[&str] = if nightly { &["+nightly"] } else { &[] };
    let bootstrap = if nightly { None } else { Some("1") };
    let max_time = format!("-max_total_time={seconds}");
    for target in &targets {
        eprintln!(
            "\n==> fuzz: {} in {} for {seconds} s{}",
            target.name,
            target.crate_dir.display(),
            if nightly {
                " (nightly)"
            } else {
                " (stable, RUSTC_BOOTSTRAP=1)"
            }
        );
        let _dir = sh.push_dir(&target.crate_dir);
        let _env = bootstrap.map(|value| sh.push_env("RUSTC_BOOTSTRAP", value));
        let name = &target.name;
        cmd!(sh, "cargo {toolchain...} fuzz run {name} -- {max_time}")
            .run()
            .with_context(|| format!("fuzz target {name} failed"))?;
    }
    eprintln!("\n==> fuzz: {} target(s) ran clean", targets.len());
    Ok(())
}

/// Finds `*/fuzz/fuzz_targets/*.rs` under `crates_dir`, sorted for a stable order.
fn find_targets(crates_dir: &Path) -> anyhow::Result<Vec<Target>> {
    let mut targets = Vec::new();
    let Ok(crates) = std::fs::read_dir(crates_dir) else {
        return Ok(targets);
    };
    for entry in crates {
        let crate_dir = entry?.path();
        let Ok(files) = std::fs::read_dir(crate_dir.join("fuzz").join("fuzz_targets")) else {
            continue;
        };
        for file in files {
            let path = file?.path();
            if path.extension().is_some_and(|ext| ext == "rs")
                && let Some(name) = path.file_stem().and_then(|s| s.to_str())
            {
                targets.push(Target {
                    crate_dir: crate_dir.clone(),
                    name: name.to_owned(),
                });
            }
        }
    }
    targets.sort_by(|a, b| (&a.crate_dir, &a.name).cmp(&(&b.crate_dir, &b.name)));
    Ok(targets)
}

fn ensure_cargo_fuzz(sh: &Shell) -> anyhow::Result<()> {
    let installed = cmd!(sh, "cargo fuzz --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok();
    if !installed {
        eprintln!("==> fuzz: cargo-fuzz not found; installing it");
        cmd!(sh, "cargo install cargo-fuzz --locked")
            .run()
            .context("installing cargo-fuzz")?;
    }
    Ok(())
}

fn has_nightly(sh: &Shell) -> bool {
    cmd!(sh, "rustup toolchain list")
        .quiet()
        .ignore_stderr()
        .read()
        .is_ok_and(|list| list.lines().any(|line| line.starts_with("nightly")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_targets() -> anyhow::Result<()> {
        let root = tempfile::tempdir()?;
        let targets_dir = root
            .path()
            .join("depot-x")
            .join("fuzz")
            .join("fuzz_targets");
        std::fs::create_dir_all(&targets_dir)?;
        std::fs::create_dir_all(root.path().join("depot-y").join("src"))?;
        std::fs::write(targets_dir.join("verify.rs"), "//! t\n")?;
        std::fs::write(targets_dir.join("chunked.rs"), "//! t\n")?;
        std::fs::write(targets_dir.join("README.md"), "")?;
        let names: Vec<_> = find_targets(root.path())?
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["chunked", "verify"]);
        Ok(())
    }

    #[test]
    fn no_crates_dir_means_no_targets() -> anyhow::Result<()> {
        assert!(find_targets(Path::new("/nonexistent/crates"))?.is_empty());
        Ok(())
    }
}
