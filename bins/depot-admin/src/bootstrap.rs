//! `depot-admin create-user [-S] -e EMAIL`: a user made directly in the database, with no
//! server running, so that the first system user (whose keys every admin call needs) can be
//! made at all. Opens the engine as `depot-api` does, from the same settings.

use std::io;
use std::path::PathBuf;

use depot_domain::Email;
use depot_engine::{Engine, EngineConfig, EngineError, redact_url_password};
use depot_ostor::wire::{KeyPair, UserInfo};

use crate::cli::CreateUserArgs;
use crate::exit::{Exit, Failure, chain};

/// `depot-api`'s default data directory.
const DEFAULT_DATA_DIR: &str = "./depot-data";

/// Where the user is created, every value decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) data_dir: PathBuf,
    pub(crate) database_url: String,
    pub(crate) master_key: Option<[u8; 32]>,
}

impl Target {
    /// The settings `depot-api` resolves from the same flags and variables: the database
    /// follows the data directory unless a URL is given.
    pub(crate) fn from_args(args: &CreateUserArgs) -> Result<Target, Failure> {
        let data_dir = args
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = match &args.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}?mode=rwc", data_dir.join("depot.db").display()),
        };
        let master_key = match &args.master_key {
            None => None,
            Some(hex_key) => {
                let mut key = [0u8; 32];
                hex::decode_to_slice(hex_key.expose().trim(), &mut key).map_err(|_| {
                    Failure::usage(
                        "the master key (--master-key / DEPOT_MASTER_KEY) must be 64 hex digits",
                    )
                })?;
                Some(key)
            }
        };
        Ok(Target {
            data_dir,
            database_url,
            master_key,
        })
    }
}

/// Creates the user and answers it as the admin API answers a new user, with its flags.
pub(crate) async fn create_user(args: &CreateUserArgs) -> Result<UserInfo, Failure> {
    let email: Email = args
        .email
        .parse()
        .map_err(|error| Failure::usage(format!("invalid email {:?}: {error}", args.email)))?;
    let target = Target::from_args(args)?;
    let shown_url = redact_url_password(&target.database_url);
    let mut config = EngineConfig::new(&target.data_dir, target.database_url.as_str());
    config.master_key = target.master_key;
    let engine = Engine::open(config)
        .await
        .map_err(|error| open_failure(&shown_url, &error))?;
    let (user, pair) = engine
        .create_user_with_key(&email, args.system)
        .await
        .map_err(|error| match error {
            EngineError::UserAlreadyExists => Failure::new(
                Exit::Conflict,
                format!("a user with email {email} already exists in {shown_url}"),
            ),
            other => Failure::new(
                Exit::Failure,
                format!("creating user {email} in {shown_url}: {}", chain(&other)),
            ),
        })?;
    Ok(UserInfo {
        email: user.email.to_string(),
        id: user.id.to_string(),
        state: Some(user.state.as_str().to_owned()),
        owner_id: None,
        flags: Some(if user.flags.system {
            vec!["system".to_owned()]
        } else {
            Vec::new()
        }),
        keys: Some(vec![KeyPair {
            access_key_id: pair.access_key_id.to_string(),
            secret_access_key: pair.secret_access_key.expose_secret().to_owned(),
        }]),
        account_count: None,
        accounts: None,
    })
}

fn open_failure(shown_url: &str, error: &EngineError) -> Failure {
    if let EngineError::Io(io_error) = error
        && io_error.kind() == io::ErrorKind::WouldBlock
    {
        return Failure::new(
            Exit::Failure,
            format!(
                "the database {shown_url} is in use by another process, a running depot-api \
                 most likely ({io_error}); a SQLite database belongs to one process: stop \
                 depot-api first, or create the user through it (depot-admin user create; \
                 system users only here)"
            ),
        );
    }
    Failure::new(
        Exit::Failure,
        format!("opening the database {shown_url}: {}", chain(error)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, parse_args};

    fn args(extra: &[&str]) -> CreateUserArgs {
        let cli = parse_args(
            ["depot-admin", "create-user", "-S", "-e", "root@example.com"]
                .iter()
                .chain(extra)
                .copied(),
        )
        .expect("parses");
        match cli.command {
            Some(Command::CreateUser(args)) => args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_are_depot_apis() {
        assert_eq!(
            Target::from_args(&args(&[])).expect("defaults"),
            Target {
                data_dir: PathBuf::from("./depot-data"),
                database_url: "sqlite://./depot-data/depot.db?mode=rwc".into(),
                master_key: None,
            }
        );
        let target = Target::from_args(&args(&["--data-dir", "/var/lib/depot"])).expect("dir");
        assert_eq!(
            target.database_url,
            "sqlite:///var/lib/depot/depot.db?mode=rwc"
        );
        let target = Target::from_args(&args(&[
            "--data-dir",
            "/var/lib/depot",
            "--database-url",
            "postgres://depot@db/depot",
        ]))
        .expect("url");
        assert_eq!(target.database_url, "postgres://depot@db/depot");
    }

    #[test]
    fn the_master_key_is_64_hex_digits() {
        let target = Target::from_args(&args(&[
            "--master-key",
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        ]))
        .expect("key");
        let key = target.master_key.expect("some");
        assert_eq!((key[0], key[1], key[31]), (0x00, 0x11, 0xff));
        let failure = Target::from_args(&args(&["--master-key", "c0ffee"])).expect_err("short");
        assert_eq!(failure.exit, Exit::Usage);
        assert!(!failure.message.contains("c0ffee"), "{failure}");
    }

    #[tokio::test]
    async fn creates_a_system_user_in_a_fresh_directory_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let data_str = data.to_str().expect("utf-8");
        let user = create_user(&args(&["--data-dir", data_str]))
            .await
            .expect("created");
        assert_eq!(user.email, "root@example.com");
        assert_eq!(user.id.len(), 16, "{}", user.id);
        assert_eq!(user.flags, Some(vec!["system".to_owned()]));
        let keys = user.keys.expect("keys");
        assert_eq!(keys.len(), 1);
        assert!(data.join("depot.db").is_file());
        assert!(data.join("master.key").is_file());

        let again = create_user(&args(&["--data-dir", data_str]))
            .await
            .expect_err("exists");
        assert_eq!(again.exit, Exit::Conflict);
        assert!(again.message.contains("already exists"), "{again}");
    }

    #[tokio::test]
    async fn a_database_in_use_is_refused_clearly() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let holder = Engine::open(EngineConfig::new(
            &data,
            format!("sqlite://{}?mode=rwc", data.join("depot.db").display()),
        ))
        .await
        .expect("first opener");
        let failure = create_user(&args(&["--data-dir", data.to_str().expect("utf-8")]))
            .await
            .expect_err("locked");
        assert_eq!(failure.exit, Exit::Failure);
        assert!(
            failure.message.contains("in use by another process"),
            "{failure}"
        );
        assert!(
            failure.message.contains("stop depot-api first"),
            "{failure}"
        );
        drop(holder);
    }

    #[tokio::test]
    async fn an_invalid_email_is_a_usage_error() {
        let cli = parse_args(["depot-admin", "create-user", "-e", "not-an-email"]).expect("parses");
        let Some(Command::CreateUser(args)) = cli.command else {
            panic!("not create-user");
        };
        let failure = create_user(&args).await.expect_err("invalid");
        assert_eq!(failure.exit, Exit::Usage);
    }
}
