//! `depot-admin create-user [-S] -e EMAIL`: a user made directly in the database, with no
//! server running, so that the first system user (whose keys every admin call needs) can be
//! made at all. Opens the engine as `depot-api` does, from the same settings.

use std::io;

use depot_domain::Email;
use depot_engine::{Engine, EngineConfig, EngineError, parse_master_key, redact_url_password};
use depot_ostor::wire::{KeyPair, UserInfo};

use crate::cli::CreateUserArgs;
use crate::exit::{Exit, Failure, chain};

/// The engine `depot-api` would open with the same settings.
pub(crate) fn engine_config(args: &CreateUserArgs) -> Result<EngineConfig, Failure> {
    let mut config = EngineConfig::for_node(
        args.data_dir.clone(),
        args.database_url.as_ref().map(|url| url.expose()),
    );
    config.master_key = args
        .master_key
        .as_ref()
        .map(|hex_key| parse_master_key(hex_key.expose()))
        .transpose()
        .map_err(|error| Failure::usage(format!("{error} (--master-key / DEPOT_MASTER_KEY)")))?;
    Ok(config)
}

/// Creates the user and answers it as the admin API answers a new user, with its flags.
pub(crate) async fn create_user(args: &CreateUserArgs) -> Result<UserInfo, Failure> {
    let email: Email = args
        .email
        .parse()
        .map_err(|error| Failure::usage(format!("invalid email {:?}: {error}", args.email)))?;
    let config = engine_config(args)?;
    let shown_url = redact_url_password(&config.database_url);
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
        keys: Some(vec![KeyPair {
            access_key_id: pair.access_key_id.to_string(),
            secret_access_key: pair.secret_access_key.expose_secret().to_owned(),
        }]),
        ..UserInfo::summary(&user)
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
    fn the_engine_is_the_one_depot_api_opens() {
        let config = engine_config(&args(&["--data-dir", "/var/lib/depot"])).expect("dir");
        let expected = EngineConfig::for_node(Some("/var/lib/depot".into()), None);
        assert_eq!(
            (config.data_dir, config.database_url, config.master_key),
            (expected.data_dir, expected.database_url, None)
        );
        let config = engine_config(&args(&[
            "--master-key",
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        ]))
        .expect("key");
        assert_eq!(config.master_key.map(|key| key[31]), Some(0xff));
        let failure = engine_config(&args(&["--master-key", "c0ffee"])).expect_err("short");
        assert_eq!(failure.exit, Exit::Usage);
        assert!(failure.message.contains("--master-key"), "{failure}");
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
