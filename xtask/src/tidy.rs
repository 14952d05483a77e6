//! `cargo xtask tidy`: the repository rules the compiler can't check, run by CI and, as
//! `#[test]`s at the bottom of this file, by every `cargo test` / `cargo nextest run`.
//!
//! 1. **Crate layering** — the table of `docs/style.md` ("Dependencies point down"), encoded
//!    in [`RULES`], checked against
//!    `cargo metadata --all-features` (the graph CI builds). For each crate in the table:
//!    its direct `depot-*` dependencies must be ones it *may use*; crates it must *never see*
//!    may not be reachable at all through normal and build dependencies; crates it must not
//!    use *directly* may still arrive through an allowed crate (`depot-store` gets sea-orm
//!    through `depot-engine`, and that is the point). Crates of the table that do not exist yet
//!    are skipped; a library under `crates/` missing from the table is an error, because a new
//!    crate is a design change to review. Nothing may depend on a binary, on xtask, or on a
//!    tool crate ([`TOOLS`]: libraries that exist for them, such as the load generator).
//!
//!    Dev-dependencies are left out of the table on purpose: tests may drive async code with
//!    tokio in `depot-domain`, or use a real provider from a crate above them in
//!    `depot-rpc`'s integration tests. They are still barred from the binaries and xtask.
//!
//!    `cargo metadata` unifies features across the workspace, so a path reported here can
//!    occasionally exist only because another crate turns a feature on;
//!    `cargo tree -p <crate> -e normal,build -i <dep>` shows the crate on its own.
//! 2. **File headers** — every `.rs` file under `crates/`, `bins/`, `xtask/` and `fuzz/`
//!    begins with a `//!` line saying why it exists ("Every file says why it exists").
//! 3. **Lints** — every workspace crate's `Cargo.toml` has `[lints] workspace = true`, so the
//!    workspace's `forbid(unsafe_code)` and friends reach it.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;
use xshell::{Shell, cmd};

use crate::project_root;

/// One row of the table in `docs/style.md`.
struct Rule {
    krate: &'static str,
    /// The `depot-*` crates it may depend on directly.
    may_use: &'static [&'static str],
    /// Crates it must not reach through any chain of normal or build dependencies.
    never_anywhere: &'static [&'static str],
    /// Crates it must not name as a direct dependency (they may arrive through one it may use).
    never_direct: &'static [&'static str],
}

/// The table of `docs/style.md` as data. Keep the two in step: a change here is a change of
/// architecture, to be made in both.
const RULES: &[Rule] = &[
    Rule {
        krate: "depot-domain",
        may_use: &[],
        // Names and rules, no I/O: nothing that speaks HTTP, SQL or does async I/O.
        never_anywhere: &[
            "http",
            "hyper",
            "hyper-util",
            "reqwest",
            "sea-orm",
            "sqlx",
            "tokio",
        ],
        never_direct: &[],
    },
    Rule {
        krate: "depot-sigv4",
        may_use: &[],
        // Signing needs `http` types and hashes only; a future publishable crate.
        never_anywhere: &["hyper", "hyper-util", "reqwest", "sea-orm", "sqlx", "tokio"],
        never_direct: &[],
    },
    Rule {
        krate: "depot-engine",
        may_use: &["depot-domain", "depot-migration"],
        never_anywhere: &["depot-store", "depot-ostor", "depot-billing", "depot-rpc"],
        // "The engine never sees HTTP" is about its own code. A remote blob backend library
        // may speak HTTP underneath, so this is a direct-dependency rule.
        never_direct: &["http", "hyper", "hyper-util", "quick-xml"],
    },
    Rule {
        krate: "depot-store",
        may_use: &["depot-domain", "depot-sigv4", "depot-engine"],
        never_anywhere: &["depot-ostor", "depot-billing", "depot-rpc"],
        // Metadata goes through the engine; sea-orm arrives with it, never named here.
        never_direct: &["sea-orm", "sqlx"],
    },
    Rule {
        krate: "depot-ostor",
        may_use: &["depot-domain", "depot-sigv4", "depot-engine", "depot-store"],
        never_anywhere: &["depot-billing", "depot-rpc"],
        never_direct: &[],
    },
    Rule {
        krate: "depot-billing",
        may_use: &["depot-domain", "depot-migration"],
        never_anywhere: &["depot-engine", "depot-store", "depot-ostor"],
        never_direct: &["http", "hyper", "hyper-util", "reqwest"],
    },
    Rule {
        krate: "depot-rpc",
        may_use: &["depot-domain", "depot-billing"],
        // Providers are injected by depot-api; the control plane never links the data plane.
        never_anywhere: &["depot-store", "depot-ostor"],
        never_direct: &[],
    },
    Rule {
        krate: "depot-loadgen",
        // The benchmark's client: it meets the server only over the wire, as any S3 client
        // does, and signs with depot-sigv4. Linking the engine or the protocol crates would
        // let it measure something other than what clients get.
        may_use: &["depot-sigv4"],
        never_anywhere: &[
            "depot-domain",
            "depot-engine",
            "depot-store",
            "depot-ostor",
            "depot-billing",
            "depot-rpc",
            "depot-migration",
            "sea-orm",
            "sqlx",
            "reqwest",
        ],
        never_direct: &[],
    },
    Rule {
        krate: "depot-migration",
        // Migrations declare their own `Iden`s and never import entities, so an old
        // migration cannot change meaning when an entity does.
        may_use: &[],
        never_anywhere: &[],
        never_direct: &["http", "hyper", "hyper-util"],
    },
];

/// Tool crates: libraries under `crates/` that exist for a binary or xtask (the load generator
/// behind `cargo xtask bench`). Like a binary, nothing may depend on them, not even a test: a
/// library that did would ship benchmark code, or couple its tests to the benchmark's.
const TOOLS: &[&str] = &["depot-loadgen"];

pub(crate) fn run(sh: &Shell) -> anyhow::Result<()> {
    eprintln!("==> tidy");
    let problems = all_problems(sh)?;
    if problems.is_empty() {
        eprintln!("==> tidy: clean");
        return Ok(());
    }
    let mut report = String::new();
    for problem in &problems {
        let _ = write!(report, "\n  - {problem}");
    }
    bail!("tidy found {} problem(s):{report}", problems.len())
}

fn all_problems(sh: &Shell) -> anyhow::Result<Vec<String>> {
    let root = project_root();
    let graph = Graph::load(sh, &root)?;
    let mut problems = check_layering(&graph);
    problems.extend(check_file_headers(&root)?);
    problems.extend(check_workspace_lints(&graph)?);
    Ok(problems)
}

// ---- Crate graph ----

/// How a dependency is used, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    /// Normal or build: part of what the crate is.
    Link,
    /// Dev: only its tests, benches and examples.
    Dev,
}

/// What a workspace member is, which decides the rules it falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A library under `crates/`.
    Library,
    /// A binary under `bins/`, or xtask: a leaf of the graph.
    Leaf,
}

#[derive(Debug)]
struct Member {
    id: String,
    role: Role,
    manifest: PathBuf,
}

/// The resolved dependency graph, by package id.
#[derive(Debug, Default)]
struct Graph {
    names: HashMap<String, String>,
    deps: HashMap<String, Vec<(String, Edge)>>,
    members: Vec<Member>,
}

impl Graph {
    fn load(sh: &Shell, root: &Path) -> anyhow::Result<Graph> {
        let json = cmd!(sh, "cargo metadata --format-version 1 --all-features")
            .quiet()
            .read()
            .context("running cargo metadata")?;
        Self::from_metadata(&json, root)
    }

    fn from_metadata(json: &str, root: &Path) -> anyhow::Result<Graph> {
        let metadata: Metadata = serde_json::from_str(json).context("parsing cargo metadata")?;
        let resolve = metadata
            .resolve
            .context("cargo metadata has no dependency resolution")?;
        let mut graph = Graph::default();
        for package in &metadata.packages {
            graph.names.insert(package.id.clone(), package.name.clone());
        }
        for node in resolve.nodes {
            let deps = node
                .deps
                .into_iter()
                .map(|dep| {
                    // A crate both linked and dev-used counts as linked, which is what matters.
                    let edge = if dep
                        .dep_kinds
                        .iter()
                        .any(|k| k.kind.as_deref() != Some("dev"))
                    {
                        Edge::Link
                    } else {
                        Edge::Dev
                    };
                    (dep.pkg, edge)
                })
                .collect();
            graph.deps.insert(node.id, deps);
        }
        for id in metadata.workspace_members {
            let package = metadata
                .packages
                .iter()
                .find(|p| p.id == id)
                .with_context(|| format!("workspace member {id} not among packages"))?;
            let relative = package
                .manifest_path
                .strip_prefix(root)
                .unwrap_or(&package.manifest_path);
            let role = if relative.starts_with("crates") {
                Role::Library
            } else {
                Role::Leaf
            };
            graph.members.push(Member {
                id,
                role,
                manifest: package.manifest_path.clone(),
            });
        }
        Ok(graph)
    }

    fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map_or(id, String::as_str)
    }

    fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| self.name(&m.id) == name)
    }

    fn direct<'a>(&'a self, id: &str) -> impl Iterator<Item = (&'a str, Edge)> + 'a {
        self.deps
            .get(id)
            .into_iter()
            .flatten()
            .map(|(dep, edge)| (dep.as_str(), *edge))
    }

    /// The shortest chain of linked dependencies from `from` to a crate named `target`, as
    /// crate names, if there is one.
    fn path_to(&self, from: &str, target: &str) -> Option<Vec<String>> {
        let mut parent: HashMap<&str, &str> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        while let Some(id) = queue.pop_front() {
            if id != from && self.name(id) == target {
                let mut path = vec![self.name(id).to_owned()];
                let mut at = id;
                while let Some(&up) = parent.get(at) {
                    path.push(self.name(up).to_owned());
                    at = up;
                }
                path.reverse();
                return Some(path);
            }
            for (dep, edge) in self.direct(id) {
                if edge == Edge::Link && dep != from && !parent.contains_key(dep) {
                    parent.insert(dep, id);
                    queue.push_back(dep);
                }
            }
        }
        None
    }
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
    resolve: Option<Resolve>,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    name: String,
    manifest_path: PathBuf,
}

#[derive(Deserialize)]
struct Resolve {
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    id: String,
    deps: Vec<NodeDep>,
}

#[derive(Deserialize)]
struct NodeDep {
    pkg: String,
    dep_kinds: Vec<DepKind>,
}

#[derive(Deserialize)]
struct DepKind {
    /// `null` for normal dependencies, `"dev"` or `"build"` otherwise.
    kind: Option<String>,
}

// ---- 1. Crate layering ----

fn check_layering(graph: &Graph) -> Vec<String> {
    let mut problems = Vec::new();

    for member in &graph.members {
        let name = graph.name(&member.id);
        // Nothing depends on a binary or on xtask, not even a test.
        for (dep, _) in graph.direct(&member.id) {
            let leaf = graph
                .members
                .iter()
                .any(|m| m.id == dep && m.role == Role::Leaf);
            if leaf {
                problems.push(format!(
                    "{name} depends on {}: nothing may depend on a binary or xtask",
                    graph.name(dep)
                ));
            }
        }
        for (dep, _) in graph.direct(&member.id) {
            let dep = graph.name(dep);
            if TOOLS.contains(&dep) {
                problems.push(format!(
                    "{name} depends on {dep}, a tool crate: nothing may depend on it (it serves \
                     binaries and xtask)"
                ));
            }
        }
        if member.role == Role::Library && !RULES.iter().any(|r| r.krate == name) {
            problems.push(format!(
                "{name} is not in the dependency table: add it to docs/style.md and to RULES in \
                 xtask/src/tidy.rs"
            ));
        }
    }

    let internal: BTreeSet<&str> = graph.members.iter().map(|m| graph.name(&m.id)).collect();
    for rule in RULES {
        // Crates of the table that are not written yet are skipped.
        let Some(member) = graph.member(rule.krate) else {
            continue;
        };
        for (dep, edge) in graph.direct(&member.id) {
            let dep = graph.name(dep);
            if edge != Edge::Link {
                continue;
            }
            if internal.contains(dep) && !rule.may_use.contains(&dep) {
                problems.push(format!(
                    "{} depends on {dep}, which docs/style.md does not allow (it may use: {})",
                    rule.krate,
                    if rule.may_use.is_empty() {
                        "no depot-* crate".to_owned()
                    } else {
                        rule.may_use.join(", ")
                    }
                ));
            }
            if rule.never_direct.contains(&dep) {
                problems.push(format!(
                    "{} depends directly on {dep}, which docs/style.md forbids there",
                    rule.krate
                ));
            }
        }
        for forbidden in rule.never_anywhere {
            if let Some(path) = graph.path_to(&member.id, forbidden) {
                problems.push(format!(
                    "{} must never see {forbidden}, but reaches it: {} (see `cargo tree -p {} \
                     -e normal,build -i {forbidden}`)",
                    rule.krate,
                    path.join(" -> "),
                    rule.krate
                ));
            }
        }
    }
    problems
}

// ---- 2. File headers ----

fn check_file_headers(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut files = Vec::new();
    for dir in ["crates", "bins", "xtask", "fuzz"] {
        collect_rust_files(&root.join(dir), &mut files)?;
    }
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        if let Some(problem) = header_problem(&text) {
            let shown = file.strip_prefix(root).unwrap_or(&file);
            problems.push(format!("{}: {problem}", shown.display()));
        }
    }
    Ok(problems)
}

/// Why a file's first line is not a `//!` line, if it isn't.
fn header_problem(text: &str) -> Option<&'static str> {
    if text.starts_with("//!") {
        None
    } else {
        Some("must begin with a `//!` line saying why the file exists")
    }
}

/// Collects `.rs` files, skipping build output (`target/`), hidden directories and a fuzz
/// project's corpus and artifacts, which hold data, not code.
fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(()); // `fuzz/` and friends need not exist.
    };
    let in_fuzz = dir.file_name().is_some_and(|n| n == "fuzz");
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() {
            let skip = name == "target"
                || name.starts_with('.')
                || (in_fuzz && matches!(&*name, "corpus" | "artifacts" | "coverage"));
            if !skip {
                collect_rust_files(&path, out)?;
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

// ---- 3. Workspace lints ----

fn check_workspace_lints(graph: &Graph) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    for member in &graph.members {
        let text = std::fs::read_to_string(&member.manifest)
            .with_context(|| format!("reading {}", member.manifest.display()))?;
        if !uses_workspace_lints(&text)
            .with_context(|| format!("parsing {}", member.manifest.display()))?
        {
            problems.push(format!(
                "{}: needs `[lints] workspace = true`",
                graph.name(&member.id)
            ));
        }
    }
    Ok(problems)
}

fn uses_workspace_lints(manifest: &str) -> anyhow::Result<bool> {
    let manifest: toml::Table = toml::from_str(manifest)?;
    Ok(manifest
        .get("lints")
        .and_then(|lints| lints.get("workspace"))
        .and_then(toml::Value::as_bool)
        == Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- The rules, on this repository ----

    #[test]
    fn dependency_table() -> anyhow::Result<()> {
        let sh = Shell::new()?;
        sh.change_dir(project_root());
        let graph = Graph::load(&sh, &project_root())?;
        assert_eq!(check_layering(&graph), Vec::<String>::new());
        Ok(())
    }

    #[test]
    fn files_start_with_doc_comment() -> anyhow::Result<()> {
        assert_eq!(check_file_headers(&project_root())?, Vec::<String>::new());
        Ok(())
    }

    #[test]
    fn crates_use_workspace_lints() -> anyhow::Result<()> {
        let sh = Shell::new()?;
        sh.change_dir(project_root());
        let graph = Graph::load(&sh, &project_root())?;
        assert_eq!(check_workspace_lints(&graph)?, Vec::<String>::new());
        Ok(())
    }

    // ---- The checks themselves, on made-up graphs ----

    /// A graph from `(crate, [(dependency, edge)])`; members are the `depot-*` crates plus
    /// `depot-api` and `xtask` as leaves.
    fn graph(edges: &[(&str, &[(&str, Edge)])]) -> Graph {
        let mut graph = Graph::default();
        for (krate, deps) in edges {
            for name in std::iter::once(krate).chain(deps.iter().map(|(d, _)| d)) {
                graph.names.insert((*name).to_owned(), (*name).to_owned());
            }
            graph.deps.insert(
                (*krate).to_owned(),
                deps.iter().map(|(d, e)| ((*d).to_owned(), *e)).collect(),
            );
        }
        let mut names: Vec<_> = graph.names.keys().cloned().collect();
        names.sort();
        for name in names {
            let role = match name.as_str() {
                "depot-api" | "xtask" => Role::Leaf,
                n if n.starts_with("depot-") => Role::Library,
                _ => continue,
            };
            graph.members.push(Member {
                id: name,
                role,
                manifest: PathBuf::new(),
            });
        }
        graph
    }

    use Edge::{Dev, Link};

    #[test]
    fn clean_graph_passes() {
        let g = graph(&[
            ("depot-domain", &[("serde", Link), ("tokio", Dev)]),
            ("depot-engine", &[("depot-domain", Link), ("sea-orm", Link)]),
            ("depot-store", &[("depot-engine", Link), ("hyper", Link)]),
            ("depot-api", &[("depot-store", Link)]),
            ("sea-orm", &[("sqlx", Link)]),
        ]);
        assert_eq!(check_layering(&g), Vec::<String>::new());
    }

    #[test]
    fn forbidden_crate_is_found_through_a_chain() {
        let g = graph(&[
            ("depot-domain", &[("mockall", Link)]),
            ("mockall", &[("helper", Link)]),
            ("helper", &[("tokio", Link)]),
        ]);
        let problems = check_layering(&g);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].contains("depot-domain -> mockall -> helper -> tokio"),
            "{problems:#?}"
        );
    }

    #[test]
    fn dev_dependencies_are_exempt_from_the_table() {
        let g = graph(&[
            ("depot-domain", &[("tokio", Dev)]),
            ("depot-rpc", &[("depot-domain", Link), ("depot-store", Dev)]),
            ("depot-store", &[("depot-domain", Link)]),
        ]);
        assert_eq!(check_layering(&g), Vec::<String>::new());
    }

    #[test]
    fn internal_edge_outside_the_table_is_flagged() {
        let g = graph(&[
            ("depot-store", &[("depot-billing", Link)]),
            ("depot-billing", &[]),
        ]);
        let problems = check_layering(&g);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("depot-store depends on depot-billing")),
            "{problems:#?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("depot-store must never see depot-billing")),
            "{problems:#?}"
        );
    }

    #[test]
    fn direct_only_rule_allows_the_crate_through_another() {
        let direct = graph(&[("depot-store", &[("sea-orm", Link)])]);
        assert_eq!(check_layering(&direct).len(), 1);
        let indirect = graph(&[
            ("depot-store", &[("depot-engine", Link)]),
            ("depot-engine", &[("sea-orm", Link)]),
        ]);
        assert_eq!(check_layering(&indirect), Vec::<String>::new());
    }

    #[test]
    fn nothing_depends_on_bins_or_xtask() {
        let g = graph(&[
            ("depot-domain", &[("xtask", Dev)]),
            ("depot-api", &[]),
            ("xtask", &[]),
        ]);
        let problems = check_layering(&g);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("depot-domain depends on xtask")),
            "{problems:#?}"
        );
    }

    #[test]
    fn nothing_depends_on_a_tool_crate() {
        let g = graph(&[
            ("depot-loadgen", &[("depot-sigv4", Link), ("hyper", Link)]),
            ("depot-sigv4", &[]),
            ("depot-store", &[("depot-loadgen", Dev)]),
            ("depot-api", &[("depot-loadgen", Link)]),
        ]);
        let problems = check_layering(&g);
        for who in ["depot-store", "depot-api"] {
            assert!(
                problems
                    .iter()
                    .any(|p| p.starts_with(&format!("{who} depends on depot-loadgen, a tool"))),
                "{problems:#?}"
            );
        }
    }

    #[test]
    fn the_load_generator_never_links_the_server() {
        let g = graph(&[
            (
                "depot-loadgen",
                &[("depot-sigv4", Link), ("depot-store", Link)],
            ),
            ("depot-store", &[("depot-engine", Link)]),
            ("depot-engine", &[("sea-orm", Link)]),
            ("depot-sigv4", &[]),
        ]);
        let problems = check_layering(&g);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("depot-loadgen depends on depot-store")),
            "{problems:#?}"
        );
        assert!(
            problems.iter().any(|p| p.contains(
                "depot-loadgen must never see sea-orm, but reaches it: depot-loadgen -> \
                 depot-store -> depot-engine -> sea-orm"
            )),
            "{problems:#?}"
        );
    }

    #[test]
    fn library_missing_from_the_table_is_flagged() {
        let g = graph(&[("depot-newthing", &[])]);
        let problems = check_layering(&g);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("not in the dependency table"));
    }

    #[test]
    fn headers() {
        assert_eq!(header_problem("//! Why.\nfn f() {}\n"), None);
        assert!(header_problem("#![allow(x)]\n//! Why.\n").is_some());
        assert!(header_problem("// plain comment\n").is_some());
        assert!(header_problem("\n//! late\n").is_some());
        assert!(header_problem("").is_some());
    }

    #[test]
    fn lints_table() -> anyhow::Result<()> {
        assert!(uses_workspace_lints(
            "[package]\nname = \"x\"\n[lints]\nworkspace = true\n"
        )?);
        assert!(uses_workspace_lints("lints.workspace = true\n")?);
        assert!(!uses_workspace_lints("[package]\nname = \"x\"\n")?);
        assert!(!uses_workspace_lints("[lints]\nworkspace = false\n")?);
        Ok(())
    }

    #[test]
    fn table_names_only_known_crates() {
        let known: BTreeSet<&str> = RULES.iter().map(|r| r.krate).collect();
        for rule in RULES {
            for used in rule.may_use {
                assert!(
                    known.contains(used),
                    "{} may use unknown {used}",
                    rule.krate
                );
            }
        }
    }
}
