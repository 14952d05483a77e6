//! The admin API commands: each one call (two for `limits set` with both kinds, and for
//! `limits delete` of both) of `depot-ostor`'s `OstorClient`, its answer rendered.

use depot_domain::LimitKind;
use depot_ostor::OstorClient;
use depot_ostor::client::{RemoteEndpoint, ReplicationSettings};
use depot_ostor::replication::{ReplicationConfiguration, ReplicationRule, ReplicationXml};

use crate::cli::{
    AccountCommand, BucketCommand, Command, LimitsCommand, Named, QuotaCommand, ReplicationCommand,
    ReplicationSetArgs, UsageCommand, UserCommand,
};
use crate::exit::Failure;
use crate::render::{self, Secrets};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Table,
    Json,
}

/// The largest replication document read from a file; S3 takes far smaller ones.
const MAX_REPLICATION_FILE: u64 = 1024 * 1024;

/// Runs `command` against the cluster; the text to print on success.
pub(crate) async fn run(
    command: Command,
    client: &OstorClient,
    format: Format,
) -> Result<String, Failure> {
    match command {
        Command::User(command) => user(command, client, format).await,
        Command::Account(command) => account(command, client, format).await,
        Command::Bucket(BucketCommand::List { owner }) => {
            let owner = owner.to_ref();
            let doing = match &owner {
                Some(user) => format!("listing the buckets of {}", Named(user)),
                None => "listing buckets".to_owned(),
            };
            let buckets = client
                .list_buckets(owner.as_ref())
                .await
                .map_err(|e| Failure::client(&doing, &e))?;
            Ok(show(format, &buckets[..], render::buckets))
        }
        Command::Limits(command) => limits(command, client, format).await,
        Command::Quota(command) => quota(command, client, format).await,
        Command::Replication(command) => replication(command, client, format).await,
        Command::Usage(command) => usage(command, client, format).await,
        // `main` sends the bootstrap elsewhere: it needs no server.
        Command::CreateUser(_) => Err(Failure::usage(
            "create-user works on the database, not through the admin API",
        )),
    }
}

/// `value` as JSON for scripts, else drawn by `table` for people.
fn show<T: serde::Serialize + ?Sized>(
    format: Format,
    value: &T,
    table: impl FnOnce(&T) -> String,
) -> String {
    match format {
        Format::Json => render::json(value),
        Format::Table => table(value),
    }
}

/// A line for people confirming a call that answers nothing; scripts get nothing in JSON
/// mode, where the exit status says it all.
fn done(format: Format, what: String) -> String {
    match format {
        Format::Json => String::new(),
        Format::Table => format!("{what}\n"),
    }
}

async fn user(
    command: UserCommand,
    client: &OstorClient,
    format: Format,
) -> Result<String, Failure> {
    match command {
        UserCommand::List => {
            let users = client
                .list_users()
                .await
                .map_err(|e| Failure::client("listing users", &e))?;
            Ok(show(format, &users[..], render::users))
        }
        UserCommand::Show { user, show_secrets } => {
            let user = user.to_ref();
            let info = client
                .get_user(&user)
                .await
                .map_err(|e| Failure::client(&format!("showing {}", Named(&user)), &e))?;
            let secrets = if show_secrets {
                Secrets::Show
            } else {
                Secrets::Mask
            };
            Ok(match (format, secrets) {
                (Format::Json, Secrets::Show) => render::json(&info),
                (Format::Json, Secrets::Mask) => render::json(&render::masked(&info)),
                (Format::Table, _) => render::user(&info, None, secrets),
            })
        }
        UserCommand::Create { email } => {
            let info = client
                .create_user(&email)
                .await
                .map_err(|e| Failure::client(&format!("creating user {email}"), &e))?;
            Ok(show(format, &info, |info| {
                render::user(info, None, Secrets::Show)
            }))
        }
        UserCommand::Delete { user } => {
            let user = user.to_ref();
            client
                .delete_user(&user)
                .await
                .map_err(|e| Failure::client(&format!("deleting {}", Named(&user)), &e))?;
            Ok(done(format, format!("deleted {}", Named(&user))))
        }
        UserCommand::Disable { user } => set_enabled(client, format, user.to_ref(), false).await,
        UserCommand::Enable { user } => set_enabled(client, format, user.to_ref(), true).await,
        UserCommand::GenKey { user, account } => {
            let user = user.to_ref();
            let doing = match &account {
                Some(name) => format!("generating a key for account {name} of {}", Named(&user)),
                None => format!("generating a key for {}", Named(&user)),
            };
            let info = client
                .generate_key(&user, account.as_deref())
                .await
                .map_err(|e| Failure::client(&doing, &e))?;
            Ok(show(format, &info, |info| {
                render::user(info, account.as_deref(), Secrets::Show)
            }))
        }
        UserCommand::RevokeKey { user, account, key } => {
            let user = user.to_ref();
            let owner = match &account {
                Some(name) => format!("account {name} of {}", Named(&user)),
                None => Named(&user).to_string(),
            };
            client
                .revoke_key(&user, account.as_deref(), &key)
                .await
                .map_err(|e| Failure::client(&format!("revoking key {key} of {owner}"), &e))?;
            Ok(done(format, format!("revoked key {key} of {owner}")))
        }
    }
}

async fn set_enabled(
    client: &OstorClient,
    format: Format,
    user: depot_ostor::client::UserRef,
    enabled: bool,
) -> Result<String, Failure> {
    let verb = if enabled { "enabl" } else { "disabl" };
    client
        .set_user_enabled(&user, enabled)
        .await
        .map_err(|e| Failure::client(&format!("{verb}ing {}", Named(&user)), &e))?;
    Ok(done(format, format!("{verb}ed {}", Named(&user))))
}

async fn account(
    command: AccountCommand,
    client: &OstorClient,
    format: Format,
) -> Result<String, Failure> {
    match command {
        AccountCommand::Create { user, name } => {
            let user = user.to_ref();
            let info = client.create_account(&user, &name).await.map_err(|e| {
                Failure::client(&format!("creating account {name} of {}", Named(&user)), &e)
            })?;
            Ok(show(format, &info, render::account))
        }
        AccountCommand::Delete { user, name } => {
            let user = user.to_ref();
            client.delete_account(&user, &name).await.map_err(|e| {
                Failure::client(&format!("deleting account {name} of {}", Named(&user)), &e)
            })?;
            Ok(done(
                format,
                format!("deleted account {name} of {}", Named(&user)),
            ))
        }
    }
}

async fn limits(
    command: LimitsCommand,
    client: &OstorClient,
    format: Format,
) -> Result<String, Failure> {
    match command {
        LimitsCommand::Show { target } => {
            let target = target.to_target();
            let limits = client.get_limits(&target).await.map_err(|e| {
                Failure::client(&format!("showing the limits of {}", Named(&target)), &e)
            })?;
            Ok(show(format, &limits, render::limits))
        }
        LimitsCommand::Set { target, values } => {
            let target = target.to_target();
            let doing = format!("setting the limits of {}", Named(&target));
            // `ops` and `bandwidth` are separate requests in the API (one kind per PUT).
            if let Some(ops) = values.ops() {
                client
                    .set_ops_limits(&target, &ops)
                    .await
                    .map_err(|e| Failure::client(&doing, &e))?;
            }
            if let Some(out) = values.bandwidth_out {
                client
                    .set_bandwidth_limit(&target, out)
                    .await
                    .map_err(|e| Failure::client(&doing, &e))?;
            }
            Ok(done(
                format,
                format!("set the limits of {}", Named(&target)),
            ))
        }
        LimitsCommand::Delete {
            target,
            ops,
            bandwidth,
        } => {
            let target = target.to_target();
            let kinds: &[LimitKind] = match (ops, bandwidth) {
                (true, false) => &[LimitKind::Ops],
                (false, true) => &[LimitKind::Bandwidth],
                _ => &[LimitKind::Ops, LimitKind::Bandwidth],
            };
            for kind in kinds {
                client.delete_limits(&target, *kind).await.map_err(|e| {
                    Failure::client(&format!("deleting the limits of {}", Named(&target)), &e)
                })?;
            }
            Ok(done(
                format,
                format!("reset the limits of {} to unlimited", Named(&target)),
            ))
        }
    }
}

async fn quota(
    command: QuotaCommand,
    client: &OstorClient,
    format: Format,
) -> Result<String, Failure> {
    match command {
        QuotaCommand::Show { target } => {
            let target = target.to_target();
            let quota = client.get_quota(&target).await.map_err(|e| {
                Failure::client(&format!("showing the quota of {}", Named(&target)), &e)
            })?;
            Ok(show(format, &quota, render::quota))
        }
        QuotaCommand::Set { target, size } => {
            let target = target.to_target();
            client.set_quota(&target, size).await.map_err(|e| {
                Failure::client(&format!("setting the quota of {}", Named(&target)), &e)
            })?;
            Ok(done(
                format,
                format!("set the quota of {} to {size} GB", Named(&target)),
            ))
        }
        QuotaCommand::Delete { target } => {
            let target = target.to_target();
            client.delete_quota(&target).await.map_err(|e| {
                Failure::client(&format!("deleting the quota of {}", Named(&target)), &e)
            })?;
            Ok(done(
                format,
                format!("deleted the quota of {}", Named(&target)),
            ))
        }
    }
}

async fn replication(
    command: ReplicationCommand,
    client: &OstorClient,
    format: Format,
) -> Result<String, Failure> {
    match command {
        ReplicationCommand::Show {
            bucket,
            xml,
            show_secrets,
        } => {
            let settings = client.get_replication(&bucket).await.map_err(|e| {
                Failure::client(&format!("showing the replication of bucket {bucket}"), &e)
            })?;
            let secrets = if show_secrets {
                Secrets::Show
            } else {
                Secrets::Mask
            };
            Ok(match (xml, format) {
                (true, _) => {
                    let mut document = settings.config.to_xml();
                    document.push('\n');
                    document
                }
                (false, Format::Json) => render::replication_json(&settings, secrets),
                (false, Format::Table) => render::replication(&settings, secrets),
            })
        }
        ReplicationCommand::Set(args) => {
            let bucket = args.bucket.clone();
            let settings = replication_settings(*args)?;
            client
                .put_replication(&bucket, &settings)
                .await
                .map_err(|e| {
                    Failure::client(&format!("setting the replication of bucket {bucket}"), &e)
                })?;
            Ok(done(
                format,
                format!("set the replication of bucket {bucket}"),
            ))
        }
        ReplicationCommand::Delete { bucket } => {
            client.delete_replication(&bucket).await.map_err(|e| {
                Failure::client(&format!("deleting the replication of bucket {bucket}"), &e)
            })?;
            Ok(done(
                format,
                format!("deleted the replication of bucket {bucket}"),
            ))
        }
    }
}

/// The settings `replication set` sends: the document from `--file`, or one rule built from
/// the flags; and the remote region when `--remote-endpoint` names one.
pub(crate) fn replication_settings(
    args: ReplicationSetArgs,
) -> Result<ReplicationSettings, Failure> {
    let config = match (&args.file, args.destination) {
        (Some(path), _) => read_replication_file(path)?,
        (None, Some(destination)) => ReplicationConfiguration {
            role: args.role.unwrap_or_default(),
            rules: vec![ReplicationRule {
                id: args.rule_id,
                enabled: !args.disabled,
                priority: args.priority,
                delete_marker_replication: args.delete_markers,
                prefix: args.prefix.unwrap_or_default(),
                destination_bucket: destination,
            }],
        },
        // clap's group requires one of the two.
        (None, None) => return Err(Failure::usage("give --file or --destination")),
    };
    let remote = match (
        args.remote_endpoint,
        args.remote_access_key,
        args.remote_secret_key,
    ) {
        (None, None, None) => None,
        (Some(endpoint), Some(access_key), Some(secret)) => Some(RemoteEndpoint {
            endpoint,
            access_key,
            secret: secret.expose().to_owned(),
        }),
        (None, ..) => {
            return Err(Failure::usage(
                "--remote-access-key and --remote-secret-key (or DEPOT_REMOTE_SECRET_KEY) \
                 need --remote-endpoint",
            ));
        }
        (Some(_), ..) => {
            return Err(Failure::usage(
                "--remote-endpoint needs --remote-access-key and --remote-secret-key \
                 (or DEPOT_REMOTE_SECRET_KEY)",
            ));
        }
    };
    Ok(ReplicationSettings { config, remote })
}

fn read_replication_file(path: &std::path::Path) -> Result<ReplicationConfiguration, Failure> {
    let unreadable = |error: &dyn std::fmt::Display| {
        Failure::usage(format!("reading {}: {error}", path.display()))
    };
    let size = std::fs::metadata(path).map_err(|e| unreadable(&e))?.len();
    if size > MAX_REPLICATION_FILE {
        return Err(Failure::usage(format!(
            "{} is {size} bytes; a replication configuration is at most {MAX_REPLICATION_FILE}",
            path.display()
        )));
    }
    let body = std::fs::read(path).map_err(|e| unreadable(&e))?;
    ReplicationConfiguration::parse(&body)
        .map_err(|error| Failure::usage(format!("{}: {error}", path.display())))
}

async fn usage(
    command: UsageCommand,
    client: &OstorClient,
    format: Format,
) -> Result<String, Failure> {
    match command {
        UsageCommand::List => {
            let list = client
                .list_usage()
                .await
                .map_err(|e| Failure::client("listing usage objects", &e))?;
            Ok(show(format, &list, render::usage_list))
        }
        UsageCommand::Show { object } => {
            let report = client
                .get_usage(&object)
                .await
                .map_err(|e| Failure::client(&format!("showing usage object {object}"), &e))?;
            Ok(show(format, &report, render::usage_report))
        }
        UsageCommand::Delete { object } => {
            client
                .delete_usage(&object)
                .await
                .map_err(|e| Failure::client(&format!("deleting usage object {object}"), &e))?;
            Ok(done(format, format!("deleted usage object {object}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse_args;
    use crate::exit::Exit;

    fn set_args(args: &[&str]) -> ReplicationSetArgs {
        let cli = parse_args(
            ["depot-admin", "replication", "set"]
                .iter()
                .chain(args)
                .copied(),
        )
        .expect("parses");
        match cli.command {
            Some(Command::Replication(ReplicationCommand::Set(args))) => *args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_rule_from_flags() {
        let settings = replication_settings(set_args(&[
            "src",
            "--destination",
            "dst",
            "--prefix",
            "logs/",
            "--delete-markers",
            "--priority",
            "3",
        ]))
        .expect("valid");
        assert_eq!(settings.remote, None);
        assert_eq!(
            settings.config,
            ReplicationConfiguration {
                role: String::new(),
                rules: vec![ReplicationRule {
                    id: None,
                    enabled: true,
                    priority: Some(3),
                    delete_marker_replication: true,
                    prefix: "logs/".into(),
                    destination_bucket: "dst".into(),
                }],
            }
        );
    }

    #[test]
    fn a_document_from_a_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("replication.xml");
        std::fs::write(
            &path,
            r#"<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
                 <Role>arn:aws:iam::850b4943d62191a5:role/s3-replication-role</Role>
                 <Rule><Status>Enabled</Status><Prefix>img/</Prefix>
                   <Destination><Bucket>arn:aws:s3:::target</Bucket></Destination></Rule>
               </ReplicationConfiguration>"#,
        )
        .expect("write");
        let path_str = path.to_str().expect("utf-8");
        let settings = replication_settings(set_args(&[
            "src",
            "--file",
            path_str,
            "--remote-endpoint",
            "https://s3.remote.example",
            "--remote-access-key",
            "AK",
            "--remote-secret-key",
            "SK",
        ]))
        .expect("valid");
        assert_eq!(
            settings.config.role,
            "arn:aws:iam::850b4943d62191a5:role/s3-replication-role"
        );
        assert_eq!(settings.config.rules[0].prefix, "img/");
        assert_eq!(settings.config.rules[0].destination_bucket, "target");
        let remote = settings.remote.expect("remote");
        assert_eq!(
            (
                remote.endpoint.as_str(),
                remote.access_key.as_str(),
                remote.secret.as_str()
            ),
            ("https://s3.remote.example", "AK", "SK")
        );

        std::fs::write(&path, "<Nonsense/>").expect("write");
        let failure =
            replication_settings(set_args(&["src", "--file", path_str])).expect_err("bad XML");
        assert_eq!(failure.exit, Exit::Usage);
        assert!(failure.message.contains("Nonsense"), "{failure}");

        let failure = replication_settings(set_args(&["src", "--file", "/nonexistent.xml"]))
            .expect_err("missing file");
        assert_eq!(failure.exit, Exit::Usage);
    }

    #[test]
    fn a_remote_needs_all_three_values() {
        let failure = replication_settings(set_args(&[
            "src",
            "--destination",
            "dst",
            "--remote-endpoint",
            "https://r",
            "--remote-access-key",
            "AK",
        ]))
        .expect_err("no secret");
        assert_eq!(failure.exit, Exit::Usage);
        assert!(!failure.message.contains("AK"), "{failure}");
    }
}
