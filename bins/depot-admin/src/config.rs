//! Where the endpoint and the system user's keys come from: flags, then `DEPOT_*` environment
//! variables, then a TOML file, then the built-in default (the endpoint and region only).
//!
//! clap knows the variables' names only for `--help`: `cli::parse_args` parses without them,
//! and [`Layer::from_env`] reads a map handed in (the process environment in `main`, a literal
//! map in tests), so tests never touch the process environment that parallel tests share.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use depot_domain::Secret;
use serde::Deserialize;

use crate::cli::GlobalArgs;
use crate::exit::Failure;

/// Environment variables by name, as [`process_env`] collects them.
pub(crate) type Env = HashMap<String, String>;

/// The endpoint when none is configured: a `depot-api` on this machine with its defaults.
pub(crate) const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:9000";

/// The variable naming the configuration file.
pub(crate) const CONFIG_VAR: &str = "DEPOT_ADMIN_CONFIG";

/// The file's place under the user's configuration directory.
const CONFIG_FILE: &str = "depot/admin.toml";

/// One layer of connection settings; the same struct is the file's format.
#[derive(Deserialize, Default, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Layer {
    /// The S3 endpoint serving the admin API.
    pub(crate) endpoint: Option<String>,
    /// A system user's access key.
    pub(crate) access_key: Option<String>,
    /// Its secret key.
    pub(crate) secret_key: Option<Secret>,
    /// The region requests are signed for.
    pub(crate) region: Option<String>,
}

/// What the admin calls need, every value decided.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Connection {
    pub(crate) endpoint: String,
    pub(crate) access_key: String,
    pub(crate) secret_key: Secret,
    pub(crate) region: String,
}

impl Layer {
    fn from_flags(global: &GlobalArgs) -> Layer {
        Layer {
            endpoint: global.endpoint.clone(),
            access_key: global.access_key.clone(),
            secret_key: global.secret_key.clone(),
            region: global.region.clone(),
        }
    }

    /// The `DEPOT_*` variables; an empty one counts as unset, as for `depot-api`.
    fn from_env(env: &Env) -> Layer {
        Layer {
            endpoint: env_var(env, "DEPOT_ENDPOINT"),
            access_key: env_var(env, "DEPOT_ACCESS_KEY"),
            secret_key: env_var(env, "DEPOT_SECRET_KEY").map(Secret::new),
            region: env_var(env, "DEPOT_S3_REGION"),
        }
    }

    fn from_toml(text: &str) -> Result<Layer, toml::de::Error> {
        toml::from_str(text)
    }

    /// Stacks `self` over `lower`: a value set here wins.
    fn over(self, lower: Layer) -> Layer {
        Layer {
            endpoint: self.endpoint.or(lower.endpoint),
            access_key: self.access_key.or(lower.access_key),
            secret_key: self.secret_key.or(lower.secret_key),
            region: self.region.or(lower.region),
        }
    }
}

/// The configuration file in use, if any: `--config` or [`CONFIG_VAR`] (which must exist),
/// else the default place when a file is there.
fn config_file(global: &GlobalArgs, env: &Env) -> Option<PathBuf> {
    global
        .config
        .clone()
        .or_else(|| env_var(env, CONFIG_VAR).map(PathBuf::from))
        .or_else(|| default_config_path(env).filter(|path| path.is_file()))
}

/// `$XDG_CONFIG_HOME/depot/admin.toml`, else `$HOME/.config/depot/admin.toml`. The XDG base
/// directory specification ignores a relative `XDG_CONFIG_HOME`, and so does this.
pub(crate) fn default_config_path(env: &Env) -> Option<PathBuf> {
    if let Some(dir) = env_var(env, "XDG_CONFIG_HOME").map(PathBuf::from)
        && dir.is_absolute()
    {
        return Some(dir.join(CONFIG_FILE));
    }
    env_var(env, "HOME").map(|home| Path::new(&home).join(".config").join(CONFIG_FILE))
}

fn read_layer(path: &Path) -> Result<Layer, Failure> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        Failure::usage(format!(
            "reading the configuration file {}: {error}",
            path.display()
        ))
    })?;
    Layer::from_toml(&text).map_err(|error| {
        // toml's message spans lines (it quotes the offending line); one line is enough here,
        // and the quoted line may hold the secret.
        let first = error.message().lines().next().unwrap_or("invalid TOML");
        Failure::usage(format!(
            "in the configuration file {}: {first}",
            path.display()
        ))
    })
}

/// Resolves the connection from the flags, the environment and the configuration file.
pub(crate) fn connection(global: &GlobalArgs, env: &Env) -> Result<Connection, Failure> {
    let file = config_file(global, env);
    let from_file = match &file {
        Some(path) => read_layer(path)?,
        None => Layer::default(),
    };
    let layer = Layer::from_flags(global)
        .over(Layer::from_env(env))
        .over(from_file);
    resolve(layer, file.as_deref(), env)
}

fn resolve(layer: Layer, file: Option<&Path>, env: &Env) -> Result<Connection, Failure> {
    let where_file = || match file.map(Path::to_path_buf).or(default_config_path(env)) {
        Some(path) => format!("in {}", path.display()),
        None => "in a configuration file (--config)".to_owned(),
    };
    let access_key = layer.access_key.ok_or_else(|| {
        Failure::usage(format!(
            "no access key: give --access-key, set DEPOT_ACCESS_KEY, or set access_key {}",
            where_file()
        ))
    })?;
    let secret_key = layer.secret_key.ok_or_else(|| {
        Failure::usage(format!(
            "no secret key: give --secret-key, set DEPOT_SECRET_KEY, or set secret_key {}",
            where_file()
        ))
    })?;
    if access_key.is_empty() || secret_key.expose().is_empty() {
        return Err(Failure::usage(
            "the access key and the secret key must not be empty",
        ));
    }
    let region = layer
        .region
        .unwrap_or_else(|| depot_ostor::client::DEFAULT_REGION.to_owned());
    if region.is_empty() {
        return Err(Failure::usage("the region must not be empty"));
    }
    Ok(Connection {
        endpoint: layer
            .endpoint
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
        access_key,
        secret_key,
        region,
    })
}

/// A variable's value, `None` when unset or empty.
pub(crate) fn env_var(env: &Env, name: &str) -> Option<String> {
    env.get(name).filter(|value| !value.is_empty()).cloned()
}

/// The variables `depot-admin` reads: `DEPOT_*`, and `XDG_CONFIG_HOME` and `HOME` for the
/// default configuration file. A non-UTF-8 value is an error rather than silently skipped.
pub(crate) fn process_env() -> Result<Env, Failure> {
    let mut env = Env::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name
            .to_str()
            .filter(|n| n.starts_with("DEPOT_") || *n == "XDG_CONFIG_HOME" || *n == "HOME")
        else {
            continue;
        };
        let value = value.into_string().map_err(|_| {
            Failure::usage(format!("environment variable {name} is not valid UTF-8"))
        })?;
        env.insert(name.to_owned(), value);
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::cli::{Cli, parse_args};
    use crate::exit::Exit;

    fn global(args: &[&str]) -> GlobalArgs {
        let cli: Cli = parse_args(
            ["depot-admin"]
                .iter()
                .chain(args)
                .chain(&["user", "list"])
                .copied(),
        )
        .expect("parses");
        cli.global
    }

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn config_file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(text.as_bytes()).expect("write temp file");
        file
    }

    const FILE: &str = r#"
        endpoint = "http://file.example:9000"
        access_key = "FILEKEY"
        secret_key = "file-secret"
        region = "file-region"
    "#;

    #[test]
    fn flag_over_env_over_file_over_default() {
        let file = config_file(FILE);
        let path = file.path().to_str().expect("utf-8 temp path");

        // File alone, named by the flag.
        let resolved = connection(&global(&["--config", path]), &Env::new()).expect("file");
        assert_eq!(
            resolved,
            Connection {
                endpoint: "http://file.example:9000".into(),
                access_key: "FILEKEY".into(),
                secret_key: Secret::new("file-secret"),
                region: "file-region".into(),
            }
        );

        // Environment over file, value by value.
        let variables = env(&[
            ("DEPOT_ADMIN_CONFIG", path),
            ("DEPOT_ACCESS_KEY", "ENVKEY"),
            ("DEPOT_SECRET_KEY", "env-secret"),
        ]);
        let resolved = connection(&global(&[]), &variables).expect("file + env");
        assert_eq!(resolved.access_key, "ENVKEY");
        assert_eq!(resolved.secret_key.expose(), "env-secret");
        assert_eq!(resolved.endpoint, "http://file.example:9000");

        // Flags over environment over file.
        let resolved = connection(
            &global(&["--access-key", "FLAGKEY", "--endpoint", "http://flag:1"]),
            &variables,
        )
        .expect("file + env + flags");
        assert_eq!(resolved.access_key, "FLAGKEY");
        assert_eq!(resolved.endpoint, "http://flag:1");
        assert_eq!(resolved.secret_key.expose(), "env-secret", "env still wins");
        assert_eq!(resolved.region, "file-region", "file still wins");

        // Defaults for what nobody set.
        let resolved = connection(
            &global(&["--access-key", "A", "--secret-key", "S"]),
            &Env::new(),
        )
        .expect("flags only");
        assert_eq!(resolved.endpoint, "http://127.0.0.1:9000");
        assert_eq!(resolved.region, "us-east-1");
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let variables = env(&[
            ("DEPOT_ACCESS_KEY", "ENVKEY"),
            ("DEPOT_SECRET_KEY", "env-secret"),
            ("DEPOT_ENDPOINT", ""),
        ]);
        let resolved = connection(&global(&[]), &variables).expect("env");
        assert_eq!(resolved.endpoint, DEFAULT_ENDPOINT);
    }

    #[test]
    fn the_flag_names_the_file_over_the_variable() {
        let from_env = config_file("access_key = \"A1\"\nsecret_key = \"S1\"\n");
        let from_flag = config_file("access_key = \"A2\"\nsecret_key = \"S2\"\n");
        let variables = env(&[(
            "DEPOT_ADMIN_CONFIG",
            from_env.path().to_str().expect("utf-8"),
        )]);
        assert_eq!(
            connection(&global(&[]), &variables)
                .expect("env file")
                .access_key,
            "A1"
        );
        let flag = from_flag.path().to_str().expect("utf-8");
        assert_eq!(
            connection(&global(&["--config", flag]), &variables)
                .expect("flag file")
                .access_key,
            "A2"
        );
    }

    #[test]
    fn the_default_file_is_read_when_present() {
        let home = tempfile::tempdir().expect("temp dir");
        let dir = home.path().join(".config").join("depot");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(
            dir.join("admin.toml"),
            "access_key = \"HOMEKEY\"\nsecret_key = \"s\"\n",
        )
        .expect("write");
        let home_str = home.path().to_str().expect("utf-8");
        let variables = env(&[("HOME", home_str)]);
        assert_eq!(
            connection(&global(&[]), &variables)
                .expect("home file")
                .access_key,
            "HOMEKEY"
        );

        // XDG_CONFIG_HOME, when absolute, wins over HOME; relative, it is ignored.
        let xdg = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(xdg.path().join("depot")).expect("mkdir");
        std::fs::write(
            xdg.path().join("depot").join("admin.toml"),
            "access_key = \"XDGKEY\"\nsecret_key = \"s\"\n",
        )
        .expect("write");
        let xdg_str = xdg.path().to_str().expect("utf-8");
        let variables = env(&[("HOME", home_str), ("XDG_CONFIG_HOME", xdg_str)]);
        assert_eq!(
            connection(&global(&[]), &variables)
                .expect("xdg file")
                .access_key,
            "XDGKEY"
        );
        let variables = env(&[("HOME", home_str), ("XDG_CONFIG_HOME", "relative/dir")]);
        assert_eq!(
            default_config_path(&variables),
            Some(home.path().join(".config/depot/admin.toml"))
        );

        // A missing default file is no error: the keys are then missing.
        let empty = tempfile::tempdir().expect("temp dir");
        let variables = env(&[("HOME", empty.path().to_str().expect("utf-8"))]);
        let failure = connection(&global(&[]), &variables).expect_err("no keys");
        assert_eq!(failure.exit, Exit::Usage);
        assert!(failure.message.starts_with("no access key"), "{failure}");
        assert!(failure.message.contains("admin.toml"), "{failure}");
    }

    #[test]
    fn a_named_file_must_exist_and_parse() {
        let failure = connection(
            &global(&["--config", "/nonexistent/depot/admin.toml"]),
            &Env::new(),
        )
        .expect_err("missing file");
        assert_eq!(failure.exit, Exit::Usage);
        assert!(
            failure.message.contains("/nonexistent/depot/admin.toml"),
            "{failure}"
        );

        let typo = config_file("acess_key = \"A\"\nsecret_key = \"hunter2\"\n");
        let failure = connection(
            &global(&["--config", typo.path().to_str().expect("utf-8")]),
            &Env::new(),
        )
        .expect_err("unknown key");
        assert_eq!(failure.exit, Exit::Usage);
        assert!(failure.message.contains("acess_key"), "{failure}");
        assert!(!failure.message.contains("hunter2"), "{failure}");
        assert!(!failure.message.contains('\n'), "{failure}");
    }

    #[test]
    fn missing_or_empty_keys_are_usage_errors() {
        let failure =
            connection(&global(&["--access-key", "A"]), &Env::new()).expect_err("no secret");
        assert_eq!(failure.exit, Exit::Usage);
        assert!(failure.message.starts_with("no secret key"), "{failure}");
        let failure = connection(
            &global(&["--access-key", "", "--secret-key", "S"]),
            &Env::new(),
        )
        .expect_err("empty key");
        assert_eq!(failure.exit, Exit::Usage);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let resolved = connection(
            &global(&["--access-key", "AK", "--secret-key", "hunter2"]),
            &Env::new(),
        )
        .expect("flags");
        let shown = format!("{resolved:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("AK"), "{shown}");
    }
}
