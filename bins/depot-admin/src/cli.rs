//! The command line: global options, one subcommand per ostor request family (each call of the
//! admin API a sub-subcommand), and the local bootstrap `create-user`.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use clap::error::ErrorKind;
use clap::{
    ArgGroup, Args, Command as ClapCommand, CommandFactory, FromArgMatches, Parser, Subcommand,
    ValueEnum,
};
use depot_ostor::client::{LimitTarget, OpsLimits, QuotaTarget, UserRef};

use depot_domain::Secret;

/// What `--help` ends with: the exit codes scripts may rely on.
const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  any other failure (a local database or file error)
  2  usage: bad arguments, configuration or input file; nothing was sent
  3  not found (404)
  4  conflict (409): exists already, key limit reached, still owns buckets
  5  access denied (401/403): not a system user's key, bad key, disabled user
  6  bad request (400)
  7  server error or another status (5xx, 405, 501), or an unreadable answer
  8  no answer: connection refused, failed or timed out";

/// Operator CLI for Depot, the S3 storage platform for hosting providers.
///
/// Every call of the ostor admin API, against a Depot (or any ostor-compatible) cluster,
/// signed with a system user's keys; and `create-user`, which makes the first system user
/// directly in the database.
#[derive(Parser, Debug)]
#[command(
    name = "depot-admin",
    version,
    arg_required_else_help = true,
    after_help = EXIT_CODES
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,

    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// The options every subcommand takes.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// TOML file with `endpoint`, `access_key`, `secret_key`, `region`; below flags and
    /// variables [default: $XDG_CONFIG_HOME/depot/admin.toml or ~/.config/depot/admin.toml,
    /// if present].
    #[arg(long, global = true, env = "DEPOT_ADMIN_CONFIG", value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,

    /// URL of the cluster's S3 endpoint, which also serves the ostor admin API
    /// [default: http://127.0.0.1:9000].
    #[arg(long, global = true, env = "DEPOT_ENDPOINT", value_name = "URL")]
    pub(crate) endpoint: Option<String>,

    /// Access key of a system user, allowed to call the admin API.
    #[arg(long, global = true, env = "DEPOT_ACCESS_KEY", value_name = "KEY")]
    pub(crate) access_key: Option<String>,

    /// Secret key of that user.
    // `hide_env_values` keeps `--help` from echoing the secret out of the environment.
    #[arg(
        long,
        global = true,
        env = "DEPOT_SECRET_KEY",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub(crate) secret_key: Option<Secret>,

    /// Region requests are signed for [default: us-east-1].
    #[arg(long, global = true, env = "DEPOT_S3_REGION", value_name = "REGION")]
    pub(crate) region: Option<String>,

    /// Print results as JSON instead of tables, for scripts.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

/// What to do.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Users: list, show, create, delete, disable, enable, and their key pairs.
    #[command(subcommand)]
    User(UserCommand),
    /// Accounts: named parts of a user, each with keys of its own and its own buckets.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Buckets and their storage figures.
    #[command(subcommand)]
    Bucket(BucketCommand),
    /// Operation-rate and bandwidth limits of a user or a bucket.
    #[command(subcommand)]
    Limits(LimitsCommand),
    /// Storage quotas of a user, a bucket, or the defaults.
    #[command(subcommand)]
    Quota(QuotaCommand),
    /// A bucket's replication configuration.
    #[command(subcommand)]
    Replication(ReplicationCommand),
    /// Usage statistics objects.
    #[command(subcommand)]
    Usage(UsageCommand),
    /// Creates a user directly in the database, with no server: the first system user.
    ///
    /// Works on the data directory or database URL `depot-api` uses (same flags, variables
    /// and defaults). A SQLite database belongs to one process: stop `depot-api` first. On
    /// PostgreSQL it works beside running servers.
    CreateUser(CreateUserArgs),
}

/// `depot-admin user …`
#[derive(Subcommand, Debug)]
pub(crate) enum UserCommand {
    /// Lists every user.
    List,
    /// Shows one user with its key pairs and accounts; secrets masked unless --show-secrets.
    Show {
        #[command(flatten)]
        user: UserArg,
        /// Print the secret keys too.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Creates an enabled user with one key pair, and prints the pair.
    Create {
        /// The new user's email.
        #[arg(short = 'e', long, value_name = "EMAIL")]
        email: String,
    },
    /// Deletes a user with its keys, accounts, quotas and limits; refused while it owns
    /// buckets.
    Delete {
        #[command(flatten)]
        user: UserArg,
    },
    /// Disables a user: its keys are refused (403) until it is enabled; its data is kept.
    Disable {
        #[command(flatten)]
        user: UserArg,
    },
    /// Enables a disabled user.
    Enable {
        #[command(flatten)]
        user: UserArg,
    },
    /// Generates a key pair for the user or one of its accounts (two at most each), and
    /// prints its pairs, the new one last.
    GenKey {
        #[command(flatten)]
        user: UserArg,
        /// For this account of the user.
        #[arg(short = 'a', long, value_name = "NAME")]
        account: Option<String>,
    },
    /// Revokes a key pair of the user or of one of its accounts; it stops working at once.
    RevokeKey {
        #[command(flatten)]
        user: UserArg,
        /// Of this account of the user.
        #[arg(short = 'a', long, value_name = "NAME")]
        account: Option<String>,
        /// The access key id of the pair.
        #[arg(short = 'k', long = "key", value_name = "ACCESS_KEY_ID")]
        key: String,
    },
}

/// `depot-admin account …`
#[derive(Subcommand, Debug)]
pub(crate) enum AccountCommand {
    /// Creates an account of the user with one key pair, and prints the pair.
    Create {
        #[command(flatten)]
        user: UserArg,
        /// The account's name: 1–64 bytes, no whitespace or control characters.
        #[arg(short = 'a', long = "account", value_name = "NAME")]
        name: String,
    },
    /// Deletes an account; refused while it owns buckets.
    Delete {
        #[command(flatten)]
        user: UserArg,
        /// The account's name.
        #[arg(short = 'a', long = "account", value_name = "NAME")]
        name: String,
    },
}

/// `depot-admin bucket …`
#[derive(Subcommand, Debug)]
pub(crate) enum BucketCommand {
    /// Lists every bucket, or one user's, with its size now, its highest size and its
    /// byte-hours.
    List {
        #[command(flatten)]
        owner: OwnerArg,
    },
}

/// `depot-admin limits …`
#[derive(Subcommand, Debug)]
pub(crate) enum LimitsCommand {
    /// Shows the limits: operations per second, bandwidth in KB/s; 0 is unlimited.
    Show {
        #[command(flatten)]
        target: LimitTargetArg,
    },
    /// Sets operation limits (per minute; classes not given take --ops-default, which
    /// defaults to 0, unlimited) and/or the outgoing bandwidth limit (KB/s).
    Set {
        #[command(flatten)]
        target: LimitTargetArg,
        #[command(flatten)]
        values: LimitValues,
    },
    /// Resets limits to unlimited: the operation limits (--ops), the bandwidth limit
    /// (--bandwidth), or both (neither flag).
    Delete {
        #[command(flatten)]
        target: LimitTargetArg,
        /// Only the operation limits.
        #[arg(long, conflicts_with = "bandwidth")]
        ops: bool,
        /// Only the bandwidth limit.
        #[arg(long)]
        bandwidth: bool,
    },
}

/// `depot-admin quota …`
#[derive(Subcommand, Debug)]
pub(crate) enum QuotaCommand {
    /// Shows the quota that applies: its own, else the default, else 0 (unlimited).
    Show {
        #[command(flatten)]
        target: QuotaTargetArg,
    },
    /// Sets a quota in GB (2^30 bytes); 0 is unlimited whatever the default.
    Set {
        #[command(flatten)]
        target: QuotaTargetArg,
        /// The quota in GB (2^30 bytes).
        #[arg(long, value_name = "GB")]
        size: u64,
    },
    /// Removes a user's or bucket's own quota (the default applies again), or a default.
    Delete {
        #[command(flatten)]
        target: QuotaTargetArg,
    },
}

/// `depot-admin replication …`
#[derive(Subcommand, Debug)]
pub(crate) enum ReplicationCommand {
    /// Shows a bucket's replication rules and remote region; the remote secret masked unless
    /// --show-secrets.
    Show {
        /// The bucket.
        bucket: String,
        /// Print the configuration as the S3 XML document instead.
        #[arg(long, conflicts_with = "show_secrets")]
        xml: bool,
        /// Print the remote region's secret key too.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Sets a bucket's replication: a whole document (--file) or one rule (--destination).
    #[command(group(ArgGroup::new("rules").required(true).args(["file", "destination"])))]
    Set(Box<ReplicationSetArgs>),
    /// Removes a bucket's replication configuration.
    Delete {
        /// The bucket.
        bucket: String,
    },
}

/// `depot-admin replication set`.
#[derive(Args, Debug)]
pub(crate) struct ReplicationSetArgs {
    /// The bucket to replicate.
    pub(crate) bucket: String,
    /// The S3 ReplicationConfiguration document (XML), as PutBucketReplication takes it.
    #[arg(long, value_name = "PATH")]
    pub(crate) file: Option<PathBuf>,
    /// One rule: replicate to this bucket.
    #[arg(long, value_name = "BUCKET")]
    pub(crate) destination: Option<String>,
    /// Only keys with this prefix [default: every key].
    #[arg(long, value_name = "PREFIX", conflicts_with = "file")]
    pub(crate) prefix: Option<String>,
    /// Replicate deletions too.
    #[arg(long, conflicts_with = "file")]
    pub(crate) delete_markers: bool,
    /// Write the rule disabled.
    #[arg(long, conflicts_with = "file")]
    pub(crate) disabled: bool,
    /// The rule's priority.
    #[arg(long, value_name = "N", conflicts_with = "file")]
    pub(crate) priority: Option<u32>,
    /// The rule's ID.
    #[arg(long, value_name = "ID", conflicts_with = "file")]
    pub(crate) rule_id: Option<String>,
    /// The Role ARN the document carries, kept as given [default: empty].
    #[arg(long, value_name = "ARN", conflicts_with = "file")]
    pub(crate) role: Option<String>,
    /// The S3 endpoint holding the destination bucket (`x-amz-geo-endpoint`); Depot asks for
    /// it, with the key pair below, even when the destination is on the same cluster.
    #[arg(long, value_name = "URL")]
    pub(crate) remote_endpoint: Option<String>,
    /// The access key to write to the destination with.
    #[arg(long, value_name = "KEY", requires = "remote_endpoint")]
    pub(crate) remote_access_key: Option<String>,
    /// Its secret key.
    #[arg(
        long,
        value_name = "SECRET",
        env = "DEPOT_REMOTE_SECRET_KEY",
        hide_env_values = true
    )]
    pub(crate) remote_secret_key: Option<Secret>,
}

/// `depot-admin usage …`
#[derive(Subcommand, Debug)]
pub(crate) enum UsageCommand {
    /// Lists the usage statistics objects.
    List,
    /// Shows one usage object's counters.
    Show {
        /// The object's name (`s3-usage-<service id>-<time>-<period>`).
        object: String,
    },
    /// Deletes a usage object.
    Delete {
        /// The object's name.
        object: String,
    },
}

/// `depot-admin create-user`.
#[derive(Args, Debug)]
pub(crate) struct CreateUserArgs {
    /// Make it a system user, allowed to call the admin API.
    #[arg(short = 'S', long)]
    pub(crate) system: bool,
    /// The user's email.
    #[arg(short = 'e', long, value_name = "EMAIL")]
    pub(crate) email: String,
    /// Data directory of depot-api: its SQLite database and master key [default:
    /// ./depot-data].
    #[arg(long, env = "DEPOT_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Metadata database URL [default: sqlite://<data-dir>/depot.db?mode=rwc].
    #[arg(
        long,
        env = "DEPOT_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub(crate) database_url: Option<Secret>,
    /// Key that encrypts stored secret keys, 64 hex digits: the one depot-api uses
    /// [default: <data-dir>/master.key].
    #[arg(
        long,
        env = "DEPOT_MASTER_KEY",
        value_name = "HEX",
        hide_env_values = true
    )]
    pub(crate) master_key: Option<Secret>,
}

/// A user, by email or by id: exactly one.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub(crate) struct UserArg {
    /// The user's email.
    #[arg(short = 'e', long, value_name = "EMAIL")]
    email: Option<String>,
    /// The user's id (16 hex digits).
    #[arg(short = 'i', long, value_name = "ID")]
    id: Option<String>,
}

/// Optionally a user, by email or by id.
#[derive(Args, Debug, Clone)]
#[group(required = false, multiple = false)]
pub(crate) struct OwnerArg {
    /// Only this user's buckets, by email.
    #[arg(short = 'e', long, value_name = "EMAIL")]
    email: Option<String>,
    /// Only this user's buckets, by id.
    #[arg(short = 'i', long, value_name = "ID")]
    id: Option<String>,
}

/// A user or a bucket: exactly one.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub(crate) struct LimitTargetArg {
    /// The user's limits, by email.
    #[arg(short = 'e', long, value_name = "EMAIL")]
    email: Option<String>,
    /// The user's limits, by id.
    #[arg(short = 'i', long, value_name = "ID")]
    id: Option<String>,
    /// The bucket's limits.
    #[arg(short = 'b', long, value_name = "BUCKET")]
    bucket: Option<String>,
}

/// A user, a bucket, or a default: exactly one.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub(crate) struct QuotaTargetArg {
    /// The user's quota, by email.
    #[arg(short = 'e', long, value_name = "EMAIL")]
    email: Option<String>,
    /// The user's quota, by id.
    #[arg(short = 'i', long, value_name = "ID")]
    id: Option<String>,
    /// The bucket's quota.
    #[arg(short = 'b', long, value_name = "BUCKET")]
    bucket: Option<String>,
    /// The default quota of every user or of every bucket without one of its own.
    #[arg(long, value_name = "KIND")]
    default: Option<DefaultKind>,
}

/// Which default quota.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefaultKind {
    /// Every user's.
    User,
    /// Every bucket's.
    Bucket,
}

/// New limits: at least one.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = true)]
pub(crate) struct LimitValues {
    /// Operations per minute of no other class, and of every class not given.
    #[arg(long, value_name = "PER_MIN")]
    pub(crate) ops_default: Option<u64>,
    /// GET and HEAD of objects, per minute.
    #[arg(long, value_name = "PER_MIN")]
    pub(crate) ops_get: Option<u64>,
    /// Writes (PUT, POST, copies, parts), per minute.
    #[arg(long, value_name = "PER_MIN")]
    pub(crate) ops_put: Option<u64>,
    /// Listings, per minute.
    #[arg(long, value_name = "PER_MIN")]
    pub(crate) ops_list: Option<u64>,
    /// Deletions, per minute.
    #[arg(long, value_name = "PER_MIN")]
    pub(crate) ops_delete: Option<u64>,
    /// Outgoing bandwidth in KB/s (1 KB = 1024 bytes).
    #[arg(long, value_name = "KB_PER_S")]
    pub(crate) bandwidth_out: Option<u64>,
}

impl LimitValues {
    /// The operation limits, if any class was given.
    pub(crate) fn ops(&self) -> Option<OpsLimits> {
        let limits = OpsLimits {
            default: self.ops_default,
            get: self.ops_get,
            put: self.ops_put,
            list: self.ops_list,
            delete: self.ops_delete,
        };
        (limits != OpsLimits::default()).then_some(limits)
    }
}

/// The user named by `--email` or `--id` (clap's groups let at most one through).
fn user_ref(email: &Option<String>, id: &Option<String>) -> Option<UserRef> {
    match (email, id) {
        (Some(email), _) => Some(UserRef::Email(email.clone())),
        (None, Some(id)) => Some(UserRef::Id(id.clone())),
        (None, None) => None,
    }
}

impl UserArg {
    pub(crate) fn to_ref(&self) -> UserRef {
        // clap's group requires one of the two.
        user_ref(&self.email, &self.id).unwrap_or_else(|| UserRef::Id(String::new()))
    }
}

impl OwnerArg {
    pub(crate) fn to_ref(&self) -> Option<UserRef> {
        user_ref(&self.email, &self.id)
    }
}

impl LimitTargetArg {
    pub(crate) fn to_target(&self) -> LimitTarget {
        match user_ref(&self.email, &self.id) {
            Some(user) => LimitTarget::User(user),
            // clap's group requires one of the three.
            None => LimitTarget::Bucket(self.bucket.clone().unwrap_or_default()),
        }
    }
}

impl QuotaTargetArg {
    pub(crate) fn to_target(&self) -> QuotaTarget {
        match (user_ref(&self.email, &self.id), &self.bucket, self.default) {
            (Some(user), ..) => QuotaTarget::User(user),
            (None, Some(bucket), _) => QuotaTarget::Bucket(bucket.clone()),
            (None, None, Some(DefaultKind::Bucket)) => QuotaTarget::DefaultBucket,
            // clap's group requires one of the four.
            (None, None, _) => QuotaTarget::DefaultUser,
        }
    }
}

/// How a user, a limit target or a quota target is named in messages.
pub(crate) struct Named<'a, T>(pub(crate) &'a T);

impl fmt::Display for Named<'_, UserRef> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            UserRef::Email(email) => write!(formatter, "user {email}"),
            UserRef::Id(id) => write!(formatter, "user id {id}"),
        }
    }
}

impl fmt::Display for Named<'_, LimitTarget> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            LimitTarget::User(user) => Named(user).fmt(formatter),
            LimitTarget::Bucket(bucket) => write!(formatter, "bucket {bucket}"),
        }
    }
}

impl fmt::Display for Named<'_, QuotaTarget> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            QuotaTarget::User(user) => Named(user).fmt(formatter),
            QuotaTarget::Bucket(bucket) => write!(formatter, "bucket {bucket}"),
            QuotaTarget::DefaultUser => formatter.write_str("the default user quota"),
            QuotaTarget::DefaultBucket => formatter.write_str("the default bucket quota"),
        }
    }
}

/// Parses the command line (program name first), leaving the environment to
/// [`crate::config`]. `--help`, `--version` and mistakes come back as a [`clap::Error`], ready
/// for [`clap::Error::exit`].
pub(crate) fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    match without_env(Cli::command()).try_get_matches_from(&args) {
        Ok(matches) => Cli::from_arg_matches(&matches),
        // Help is rendered by the full command, so that it lists the variables; clap stops at
        // `--help` before it reads the environment, so this parse ends the same way.
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            Err(match Cli::command().try_get_matches_from(&args) {
                Err(help) => help,
                Ok(_) => error,
            })
        }
        Err(error) => Err(error),
    }
}

/// The command with no argument read from the environment, at any depth.
fn without_env(command: ClapCommand) -> ClapCommand {
    command
        .mut_args(|arg| arg.env(None::<&'static str>))
        .mut_subcommands(without_env)
}

/// The environment's values for the subcommand arguments that take one (the global ones are
/// [`crate::config`]'s), so each command sees flag over variable.
pub(crate) fn fill_from_env(command: &mut Command, env: &crate::config::Env) {
    use crate::config::env_var;
    let secret = |name: &str| env_var(env, name).and_then(|value| Secret::from_str(&value).ok());
    match command {
        Command::CreateUser(args) => {
            if args.data_dir.is_none() {
                args.data_dir = env_var(env, "DEPOT_DATA_DIR").map(PathBuf::from);
            }
            if args.database_url.is_none() {
                args.database_url = secret("DEPOT_DATABASE_URL");
            }
            if args.master_key.is_none() {
                args.master_key = secret("DEPOT_MASTER_KEY");
            }
        }
        Command::Replication(ReplicationCommand::Set(args)) if args.remote_secret_key.is_none() => {
            args.remote_secret_key = secret("DEPOT_REMOTE_SECRET_KEY");
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        parse_args(std::iter::once("depot-admin").chain(args.iter().copied()))
    }

    fn command(args: &[&str]) -> Command {
        match parse(args) {
            Ok(cli) => cli.command.expect("a subcommand"),
            Err(error) => panic!("{args:?} does not parse: {error}"),
        }
    }

    fn usage_error(args: &[&str]) -> ErrorKind {
        match parse(args) {
            Ok(cli) => panic!("{args:?} parsed: {cli:?}"),
            Err(error) => {
                assert_eq!(error.exit_code(), 2, "{args:?}: {error}");
                error.kind()
            }
        }
    }

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
        without_env(Cli::command()).debug_assert();
    }

    #[test]
    fn users_are_named_by_exactly_one_of_email_and_id() {
        let Command::User(UserCommand::Show { user, show_secrets }) =
            command(&["user", "show", "-e", "a@example.com"])
        else {
            panic!("not user show");
        };
        assert_eq!(user.to_ref(), UserRef::Email("a@example.com".into()));
        assert!(!show_secrets);
        let Command::User(UserCommand::Delete { user }) =
            command(&["user", "delete", "--id", "b09693b73b3c7686"])
        else {
            panic!("not user delete");
        };
        assert_eq!(user.to_ref(), UserRef::Id("b09693b73b3c7686".into()));

        assert_eq!(
            usage_error(&["user", "show"]),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            usage_error(&["user", "show", "-e", "a@example.com", "-i", "1"]),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(
            usage_error(&["user", "frobnicate"]),
            ErrorKind::InvalidSubcommand
        );
    }

    #[test]
    fn key_commands() {
        let Command::User(UserCommand::GenKey { user, account }) =
            command(&["user", "gen-key", "-e", "a@example.com", "--account", "app"])
        else {
            panic!("not gen-key");
        };
        assert_eq!(user.to_ref(), UserRef::Email("a@example.com".into()));
        assert_eq!(account.as_deref(), Some("app"));
        let Command::User(UserCommand::RevokeKey { key, account, .. }) =
            command(&["user", "revoke-key", "-i", "1", "-k", "AKID"])
        else {
            panic!("not revoke-key");
        };
        assert_eq!((key.as_str(), account), ("AKID", None));
        assert_eq!(
            usage_error(&["user", "revoke-key", "-i", "1"]),
            ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn limit_values_need_at_least_one_and_split_ops_from_bandwidth() {
        let Command::Limits(LimitsCommand::Set { target, values }) = command(&[
            "limits",
            "set",
            "--bucket",
            "b1",
            "--ops-default",
            "60",
            "--ops-put",
            "3600",
        ]) else {
            panic!("not limits set");
        };
        assert_eq!(target.to_target(), LimitTarget::Bucket("b1".into()));
        assert_eq!(
            values.ops(),
            Some(OpsLimits {
                default: Some(60),
                put: Some(3600),
                ..OpsLimits::default()
            })
        );
        assert_eq!(values.bandwidth_out, None);

        let Command::Limits(LimitsCommand::Set { values, .. }) = command(&[
            "limits",
            "set",
            "-e",
            "a@example.com",
            "--bandwidth-out",
            "50",
        ]) else {
            panic!("not limits set");
        };
        assert_eq!(values.ops(), None);
        assert_eq!(values.bandwidth_out, Some(50));

        assert_eq!(
            usage_error(&["limits", "set", "--bucket", "b1"]),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            usage_error(&["limits", "set", "--bucket", "b1", "--ops-get", "-1"]),
            ErrorKind::UnknownArgument
        );
        assert_eq!(
            usage_error(&["limits", "show", "--bucket", "b1", "-e", "a@example.com"]),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(
            usage_error(&["limits", "delete", "--bucket", "b1", "--ops", "--bandwidth"]),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn quota_targets() {
        for (args, expected) in [
            (
                &["quota", "show", "-e", "a@example.com"][..],
                QuotaTarget::User(UserRef::Email("a@example.com".into())),
            ),
            (
                &["quota", "show", "-b", "b1"][..],
                QuotaTarget::Bucket("b1".into()),
            ),
            (
                &["quota", "show", "--default", "user"][..],
                QuotaTarget::DefaultUser,
            ),
            (
                &["quota", "delete", "--default", "bucket"][..],
                QuotaTarget::DefaultBucket,
            ),
        ] {
            let target = match command(args) {
                Command::Quota(QuotaCommand::Show { target } | QuotaCommand::Delete { target }) => {
                    target
                }
                other => panic!("{args:?}: {other:?}"),
            };
            assert_eq!(target.to_target(), expected, "{args:?}");
        }
        let Command::Quota(QuotaCommand::Set { size, .. }) =
            command(&["quota", "set", "--default", "bucket", "--size", "1024"])
        else {
            panic!("not quota set");
        };
        assert_eq!(size, 1024);
        assert_eq!(
            usage_error(&["quota", "set", "-b", "b1"]),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            usage_error(&["quota", "set", "-b", "b1", "--size", "1.5"]),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            usage_error(&["quota", "show", "--default", "account"]),
            ErrorKind::InvalidValue
        );
    }

    #[test]
    fn replication_takes_a_file_or_one_rule() {
        let Command::Replication(ReplicationCommand::Set(args)) = command(&[
            "replication",
            "set",
            "src",
            "--destination",
            "dst",
            "--prefix",
            "logs/",
            "--delete-markers",
        ]) else {
            panic!("not replication set");
        };
        assert_eq!(args.bucket, "src");
        assert_eq!(args.destination.as_deref(), Some("dst"));
        assert_eq!(args.prefix.as_deref(), Some("logs/"));
        assert!(args.delete_markers);
        assert_eq!(
            usage_error(&["replication", "set", "src"]),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            usage_error(&[
                "replication",
                "set",
                "src",
                "--file",
                "r.xml",
                "--destination",
                "dst"
            ]),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(
            usage_error(&[
                "replication",
                "set",
                "src",
                "--file",
                "r.xml",
                "--prefix",
                "a"
            ]),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn the_bootstrap_takes_short_flags() {
        let Command::CreateUser(args) = command(&["create-user", "-S", "-e", "root@example.com"])
        else {
            panic!("not create-user");
        };
        assert!(args.system);
        assert_eq!(args.email, "root@example.com");
        assert_eq!(args.data_dir, None);
        assert_eq!(
            usage_error(&["create-user", "-S"]),
            ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn subcommand_flags_fall_back_to_the_environment() {
        let env: crate::config::Env = [
            ("DEPOT_DATA_DIR", "/env/data"),
            ("DEPOT_MASTER_KEY", "00ff"),
            ("DEPOT_DATABASE_URL", ""),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let mut parsed = command(&["create-user", "-e", "a@example.com", "--data-dir", "/flag"]);
        fill_from_env(&mut parsed, &env);
        let Command::CreateUser(args) = parsed else {
            panic!("not create-user");
        };
        assert_eq!(args.data_dir, Some(PathBuf::from("/flag")), "flag wins");
        assert_eq!(
            args.master_key.as_ref().map(Secret::expose),
            Some("00ff"),
            "variable fills in"
        );
        assert_eq!(args.database_url, None, "empty variable is unset");
    }

    #[test]
    fn global_options_go_anywhere() {
        let cli = parse(&["user", "list", "--json", "--endpoint", "http://h:1"]).expect("parses");
        assert!(cli.global.json);
        assert_eq!(cli.global.endpoint.as_deref(), Some("http://h:1"));
    }

    #[test]
    fn help_lists_variables_and_exit_codes() {
        let Err(help) = parse(&["--help"]) else {
            panic!("--help parsed");
        };
        assert_eq!(help.kind(), ErrorKind::DisplayHelp);
        let text = help.render().to_string();
        for expected in [
            "DEPOT_ENDPOINT",
            "DEPOT_ADMIN_CONFIG",
            "Exit codes:",
            "8  no answer",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        let Err(help) = parse(&["create-user", "--help"]) else {
            panic!("--help parsed");
        };
        assert!(help.render().to_string().contains("DEPOT_DATA_DIR"));
    }

    #[test]
    fn debug_redacts_secrets() {
        let cli = parse(&[
            "--access-key",
            "AK",
            "--secret-key",
            "hunter2",
            "create-user",
            "-e",
            "a@example.com",
            "--master-key",
            "deadbeef",
            "--database-url",
            "postgres://u:pw@db/depot",
        ])
        .expect("parses");
        let debug = format!("{cli:?}");
        for secret in ["hunter2", "deadbeef", "pw@db"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains("AK"));
    }
}
