//! The ostor admin API's server side: [`OstorServer`] answers the `?ostor-…` requests
//! `depot-store` hands over once their signature checked out, over `depot-engine`.
//!
//! Every parameter rule and status of the reference, and each choice Depot made where it is
//! silent, is in `docs/ostor.md`.

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use depot_domain::{
    AccountName, BucketName, Email, LimitScope, Limits, Quota, QuotaScope, RateLimit,
    RemoteEndpoint, ReplicationConfiguration, ReplicationSettings, S3User, UsageObjectName, UserId,
    UserState,
};
use depot_engine::{BucketInfo, Engine, KeyPairInfo, UsageReport, UserRecord};
use depot_store::router::Params;
use depot_store::{AdminApi, AdminRequest, S3Error, S3ErrorCode, S3Result};
use http::{HeaderValue, Method, Response, StatusCode};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::replication::{
    GEO_ACCESS_KEY_HEADER, GEO_ACCESS_SECRET_HEADER, GEO_ENDPOINT_HEADER, ReplicationXml,
    insert_remote_headers,
};
use crate::wire;

/// The ostor admin API over an engine.
#[derive(Debug, Clone)]
pub struct OstorServer {
    engine: Engine,
}

impl OstorServer {
    /// The API over `engine`.
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

#[async_trait]
impl AdminApi for OstorServer {
    async fn handle(&self, request: AdminRequest) -> S3Result<Response<Bytes>> {
        // `system` is never set for an account's key (see `KeyRecord::system`).
        if !request.principal.system {
            return Err(S3Error::with_message(
                S3ErrorCode::AccessDenied,
                "Only system users may use the admin API.",
            ));
        }
        if request.resource == "replication" {
            return replication(&self.engine, &request).await;
        }
        let params = &request.params;
        let engine = &self.engine;
        match (request.resource.as_str(), &request.method) {
            ("ostor-users", &Method::GET) => get_users(engine, params).await,
            ("ostor-users", &Method::PUT) => put_user(engine, params).await,
            ("ostor-users", &Method::POST) => post_users(engine, params).await,
            ("ostor-users", &Method::DELETE) => delete_user(engine, params).await,
            ("ostor-accounts", &Method::POST) => post_account(engine, params).await,
            ("ostor-accounts", &Method::DELETE) => delete_account(engine, params).await,
            ("ostor-buckets", &Method::GET) => get_buckets(engine, params).await,
            ("ostor-limits", &Method::GET) => get_limits(engine, params).await,
            ("ostor-limits", &Method::PUT) => put_limits(engine, params).await,
            ("ostor-limits", &Method::DELETE) => delete_limits(engine, params).await,
            ("ostor-quotas", &Method::GET) => get_quota(engine, params).await,
            ("ostor-quotas", &Method::PUT) => put_quota(engine, params).await,
            ("ostor-quotas", &Method::DELETE) => delete_quota(engine, params).await,
            ("ostor-usage", &Method::GET) => get_usage(engine, params).await,
            ("ostor-usage", &Method::DELETE) => delete_usage(engine, params).await,
            (
                "ostor-users" | "ostor-accounts" | "ostor-buckets" | "ostor-limits"
                | "ostor-quotas" | "ostor-usage",
                _,
            ) => Err(S3Error::new(S3ErrorCode::MethodNotAllowed)),
            (resource, _) => Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                format!("The admin resource {resource} is not implemented."),
            )),
        }
    }
}

// ---- Replication ----

/// `?replication` of a bucket, for system users only (see `handle`): the settings name an
/// endpoint the cluster will send signed requests to and carry a secret GET returns, which
/// are the operator's to choose and see.
async fn replication(engine: &Engine, request: &AdminRequest) -> S3Result<Response<Bytes>> {
    let bucket = request
        .bucket
        .as_ref()
        .ok_or_else(|| S3Error::new(S3ErrorCode::InvalidBucketName))?;
    match request.method {
        Method::GET => {
            let settings = engine.replication(bucket).await?;
            let mut response = Response::new(Bytes::from(settings.config.to_xml()));
            let headers = response.headers_mut();
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
            if let Some(remote) = &settings.remote {
                insert_remote_headers(headers, remote).map_err(|name| {
                    S3Error::with_message(
                        S3ErrorCode::InternalError,
                        format!("The stored {name} cannot travel in a header."),
                    )
                })?;
            }
            Ok(response)
        }
        Method::PUT => {
            depot_store::headers::check_content_md5(&request.headers, &request.body)?;
            let config = ReplicationConfiguration::parse(&request.body).map_err(|error| {
                S3Error::with_message(S3ErrorCode::MalformedXML, error.to_string())
            })?;
            for rule in &config.rules {
                bucket_name(&rule.destination_bucket)?;
            }
            let remote = remote_endpoint(&request.headers)?;
            engine
                .set_replication(
                    bucket,
                    &ReplicationSettings {
                        config,
                        remote: Some(remote),
                    },
                )
                .await?;
            empty(StatusCode::OK)
        }
        // The reference answers 200 (AWS 204); its status is kept.
        Method::DELETE => {
            engine.delete_replication(bucket).await?;
            empty(StatusCode::OK)
        }
        _ => Err(S3Error::new(S3ErrorCode::MethodNotAllowed)),
    }
}

/// The destination region of a `PUT ?replication`: all three `x-amz-geo-*` headers are
/// required (the destination is always reached over S3, even on this cluster).
fn remote_endpoint(headers: &http::HeaderMap) -> S3Result<RemoteEndpoint> {
    let text = |name: &str| -> S3Result<String> {
        let value = headers
            .get(name)
            .ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::InvalidRequest,
                    format!("The {name} header is required."),
                )
            })?
            .to_str()
            .map_err(|_| invalid(format!("The {name} header is not text.")))?
            .trim();
        if value.is_empty() {
            return Err(invalid(format!("The {name} header is empty.")));
        }
        Ok(value.to_owned())
    };
    let endpoint = text(GEO_ENDPOINT_HEADER)?;
    crate::client::parse_endpoint(&endpoint)
        .map_err(|error| invalid(format!("{GEO_ENDPOINT_HEADER}: {error}")))?;
    Ok(RemoteEndpoint {
        endpoint,
        access_key: text(GEO_ACCESS_KEY_HEADER)?,
        secret: text(GEO_ACCESS_SECRET_HEADER)?,
    })
}

// ---- Parameters ----

fn invalid(message: impl Into<String>) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, message)
}

/// The value of `name`, if given and not empty.
fn value<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.get(name).filter(|value| !value.is_empty())
}

/// Fails unless at most one of `names` is given.
fn at_most_one(params: &Params, names: &[&str]) -> S3Result<()> {
    let given: Vec<&str> = names.iter().copied().filter(|n| params.has(n)).collect();
    if given.len() > 1 {
        return Err(invalid(format!(
            "Only one of {} may be given; this request has {}.",
            names.join(", "),
            given.join(" and ")
        )));
    }
    Ok(())
}

/// The user a request names by `emailAddress` or `id` (exactly one), if it names one.
async fn named_user(engine: &Engine, params: &Params) -> S3Result<Option<S3User>> {
    at_most_one(params, &["emailAddress", "id"])?;
    if let Some(email) = value(params, "emailAddress") {
        let email: Email = email
            .parse()
            .map_err(|error| invalid(format!("emailAddress: {error}")))?;
        return Ok(Some(engine.user_by_email(&email).await?));
    }
    if let Some(id) = value(params, "id") {
        let id: UserId = id
            .parse()
            .map_err(|error| invalid(format!("id: {error}")))?;
        return Ok(Some(engine.user(id).await?));
    }
    if params.has("emailAddress") || params.has("id") {
        return Err(invalid("emailAddress and id must not be empty."));
    }
    Ok(None)
}

/// Like [`named_user`], for requests that must name one.
async fn required_user(engine: &Engine, params: &Params) -> S3Result<S3User> {
    named_user(engine, params)
        .await?
        .ok_or_else(|| invalid("The request must name a user by emailAddress or id."))
}

fn account_name(params: &Params) -> S3Result<Option<AccountName>> {
    match params.get("accountName") {
        None => Ok(None),
        Some(name) => name
            .parse()
            .map(Some)
            .map_err(|error| invalid(format!("accountName: {error}"))),
    }
}

fn bucket_name(text: &str) -> S3Result<BucketName> {
    text.parse()
        .map_err(|_| S3Error::new(S3ErrorCode::InvalidBucketName).detail("BucketName", text))
}

fn whole_number(params: &Params, name: &str) -> S3Result<Option<u64>> {
    params
        .get(name)
        .map(|text| {
            text.parse::<u64>().map_err(|_| {
                invalid(format!(
                    "{name} must be a non-negative whole number, not {text:?}."
                ))
            })
        })
        .transpose()
}

// ---- Responses ----

fn json(value: &impl serde::Serialize) -> S3Result<Response<Bytes>> {
    let body = serde_json::to_vec_pretty(value)
        .map_err(|error| S3Error::with_message(S3ErrorCode::InternalError, error.to_string()))?;
    let mut response = Response::new(Bytes::from(body));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

fn empty(status: StatusCode) -> S3Result<Response<Bytes>> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    Ok(response)
}

fn key_pairs(keys: &[KeyPairInfo]) -> Vec<wire::KeyPair> {
    keys.iter()
        .map(|key| wire::KeyPair {
            access_key_id: key.access_key_id.clone(),
            secret_access_key: key.secret.clone(),
        })
        .collect()
}

fn details(record: &UserRecord) -> wire::UserInfo {
    wire::UserInfo {
        keys: Some(key_pairs(&record.keys)),
        account_count: Some(record.accounts.len().to_string()),
        accounts: Some(
            record
                .accounts
                .iter()
                .map(|account| wire::AccountInfo {
                    name: account.name.clone(),
                    keys: key_pairs(&account.keys),
                })
                .collect(),
        ),
        ..wire::UserInfo::summary(&record.user)
    }
}

/// Email, id and key pairs only: the answer to creating a user or generating a key.
fn with_keys(user: &S3User, keys: Vec<wire::KeyPair>) -> wire::UserInfo {
    wire::UserInfo {
        email: user.email.to_string(),
        id: user.id.to_string(),
        state: None,
        owner_id: None,
        flags: None,
        keys: Some(keys),
        account_count: None,
        accounts: None,
    }
}

// ---- Users ----

async fn get_users(engine: &Engine, params: &Params) -> S3Result<Response<Bytes>> {
    match named_user(engine, params).await? {
        Some(user) => json(&details(&engine.user_record(user.id).await?)),
        None => {
            let users = engine.list_users().await?;
            json(&wire::UserList {
                users: users.iter().map(wire::UserInfo::summary).collect(),
            })
        }
    }
}

async fn put_user(engine: &Engine, params: &Params) -> S3Result<Response<Bytes>> {
    at_most_one(params, &["emailAddress", "id"])?;
    let email: Email = value(params, "emailAddress")
        .ok_or_else(|| invalid("Creating a user needs emailAddress."))?
        .parse()
        .map_err(|error| invalid(format!("emailAddress: {error}")))?;
    let (user, pair) = engine.create_user_with_key(&email, false).await?;
    json(&with_keys(
        &user,
        vec![wire::KeyPair {
            access_key_id: pair.access_key_id.to_string(),
            secret_access_key: pair.secret_access_key.expose_secret().to_owned(),
        }],
    ))
}

async fn post_users(engine: &Engine, params: &Params) -> S3Result<Response<Bytes>> {
    let actions = ["genKey", "revokeKey", "disable", "enable"];
    at_most_one(params, &actions)?;
    let user = required_user(engine, params).await?;
    let account = account_name(params)?;
    if params.has("genKey") {
        engine
            .create_access_key(user.id, account.as_ref().map(AccountName::as_str))
            .await?;
        let record = engine.user_record(user.id).await?;
        let keys = match &account {
            None => &record.keys,
            Some(name) => record
                .accounts
                .iter()
                .find(|candidate| candidate.name == name.as_str())
                .map(|found| &found.keys)
                .ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchAccount))?,
        };
        return json(&with_keys(&user, key_pairs(keys)));
    }
    if let Some(key) = params.get("revokeKey") {
        engine
            .revoke_access_key(user.id, account.as_ref(), key)
            .await?;
        return empty(StatusCode::OK);
    }
    let state = if params.has("disable") {
        UserState::Disabled
    } else if params.has("enable") {
        UserState::Enabled
    } else {
        return Err(invalid(
            "POST ?ostor-users needs one of genKey, revokeKey, disable or enable.",
        ));
    };
    if account.is_some() {
        return Err(invalid("Accounts cannot be disabled; disable their user."));
    }
    engine.set_user_state(user.id, state).await?;
    empty(StatusCode::OK)
}

async fn delete_user(engine: &Engine, params: &Params) -> S3Result<Response<Bytes>> {
    let user = required_user(engine, params).await?;
    engine.delete_user(user.id).await?;
    empty(StatusCode::NO_CONTENT)
}

// ---- Accounts ----

fn required_account(params: &Params) -> S3Result<AccountName> {
    account_name(params)?.ok_or_else(|| invalid("The request needs accountName."))
}

async fn post_account(engine: &Engine, params: &Params) -> S3Result<Response<Bytes>> {
    let user = required_user(engine, params).await?;
    let name = required_account(params)?;
    let pair = engine.create_account(user.id, &name).await?;
    json(&wire::AccountInfo {
        name: name.as_str().to_owned(),
        keys: vec![wire::KeyPair {
            access_key_id: pair.access_key_id.to_string(),
            secret_access_key: pair.secret_access_key.expose_secret().to_owned(),
        }],
    })
}

async fn delete_account(engine: &Engine, params: &Params) -> S3Result<Response<Bytes>> {
    let user = required_user(engine, params).await?;
    let name = required_account(params)?;
    engine.delete_account(user.id, &name).await?;
    empty(StatusCode::NO_CONTENT)
}

// ---- Buckets ----

/// A bucket's entry, its figures brought up to the hour `hour`.
pub(crate) fn bucket_entry(bucket: &BucketInfo, hour: u64) -> wire::BucketInfo {
    let (h_integral, last_ts) = bucket.history.integral_at(bucket.bytes_used, hour);
    wire::BucketInfo {
        name: bucket.name.to_string(),
        epoch: u64::try_from(bucket.epoch).unwrap_or(0),
        creation_date: bucket
            .created_at
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string(),
        owner_id: bucket.owner.to_string(),
        size: wire::BucketSize {
            current: bucket.bytes_used,
            hmax: bucket.history.hmax_bytes.max(bucket.bytes_used),
            h_integral,
            last_ts,
        },
    }
}

async fn get_buckets(engine: &Engine, params: &Params) -> S3Result<Response<Bytes>> {
    let owner = named_user(engine, params).await?.map(|user| user.id);
    let buckets = engine.list_all_buckets(owner).await?;
    let hour = u64::try_from(Utc::now().timestamp().div_euclid(3600)).unwrap_or(0);
    json(&wire::BucketList {
        buckets: buckets
            .iter()
            .map(|bucket| bucket_entry(bucket, hour))
            .collect(),
    })
}

// ---- Limits ----

async fn limit_scope(engine: &Engine, params: &Params) -> S3Result<LimitScope> {
    at_most_one(params, &["emailAddress", "id", "bucket"])?;
    if let Some(bucket) = params.get("bucket") {
        return Ok(LimitScope::Bucket(bucket_name(bucket)?));
    }
    let user = named_user(engine, params)
        .await?
        .ok_or_else(|| invalid("The request must name a user (emailAddress, id) or a bucket."))?;
    Ok(LimitScope::User(user.id))
}

/// A limit as GET shows it: two decimals, `0` for unlimited.
fn shown(rate: RateLimit) -> String {
    match rate.per_second() {
        None => "0".to_owned(),
        Some(value) => format!(
            "{:.2}",
            value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
        ),
    }
}

async fn get_limits(engine: &Engine, params: &Params) -> S3Result<Response<Bytes>> {
    let scope = limit_scope(engine, params).await?;
    let limits = engine
        .limits(&scope)
        .await?
        .ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchLimits))?;
    json(&wire::LimitsInfo {
        ops_default: shown(limits.ops_default),
        ops_get: shown(limits.ops_get),
        ops_put: shown(limits.ops_put),
        ops_list: shown(limits.ops_list),
        ops_delete: shown(limits.ops_delete),
        bandwidth_out: shown(limits.bandwidth_out_kb),
    })
}

/// Operations per minute, as PUT takes them, to the per-second rate the domain keeps.
fn per_minute(ops: u64) -> S3Result<RateLimit> {
    RateLimit::new(Decimal::from(ops) / Decimal::from(60))
        .map_err(|error| invalid(error.to_string()))
}

async fn put_limits(engine: &Engine, params: &Params) -> S3Result<Response<Bytes>> {
    let scope = limit_scope(engine, params).await?;
    let op_params = ["default", "get", "put", "list", "delete"];
    let change: Box<dyn Fn(Limits) -> Limits + Send + Sync> =
        match (params.has("ops"), params.has("bandwidth")) {
            (true, false) => {
                if params.has("out") {
                    return Err(invalid(
                        "out sets a bandwidth limit; it needs bandwidth, not ops.",
                    ));
                }
                let default = whole_number(params, "default")?.unwrap_or(0);
                let class = |name: &str| -> S3Result<RateLimit> {
                    per_minute(whole_number(params, name)?.unwrap_or(default))
                };
                let ops = Limits {
                    ops_default: per_minute(default)?,
                    ops_get: class("get")?,
                    ops_put: class("put")?,
                    ops_list: class("list")?,
                    ops_delete: class("delete")?,
                    bandwidth_out_kb: RateLimit::UNLIMITED,
                };
                Box::new(move |stored| Limits {
                    bandwidth_out_kb: stored.bandwidth_out_kb,
                    ..ops
                })
            }
            (false, true) => {
                if let Some(name) = op_params.iter().find(|name| params.has(name)) {
                    return Err(invalid(format!(
                        "{name} sets an operations limit; it needs ops, not bandwidth."
                    )));
                }
                let out = whole_number(params, "out")?
                    .ok_or_else(|| invalid("bandwidth needs out, in KB/s (0: unlimited)."))?;
                let out = RateLimit::new(Decimal::from(out))
                    .map_err(|error| invalid(error.to_string()))?;
                Box::new(move |stored| Limits {
                    bandwidth_out_kb: out,
                    ..stored
                })
            }
            _ => {
                return Err(invalid(
                    "PUT ?ostor-limits needs exactly one of ops and bandwidth.",
                ));
            }
        };
    engine
        .update_limits(&scope, move |stored| {
            Some(change(stored.unwrap_or(Limits::UNLIMITED)))
        })
        .await?;
    empty(StatusCode::OK)
}

async fn delete_limits(engine: &Engine, params: &Params) -> S3Result<Response<Bytes>> {
    let scope = limit_scope(engine, params).await?;
    // Either kind alone, or both when neither is named.
    let (ops, bandwidth) = match (params.has("ops"), params.has("bandwidth")) {
        (false, false) => (true, true),
        named => named,
    };
    engine
        .update_limits(&scope, move |stored| {
            // Limits never set stay unset.
            let mut limits = stored?;
            if ops {
                limits = Limits {
                    bandwidth_out_kb: limits.bandwidth_out_kb,
                    ..Limits::UNLIMITED
                };
            }
            if bandwidth {
                limits.bandwidth_out_kb = RateLimit::UNLIMITED;
            }
            Some(limits)
        })
        .await?;
    empty(StatusCode::NO_CONTENT)
}

// ---- Quotas ----

async fn quota_scope(engine: &Engine, params: &Params) -> S3Result<QuotaScope> {
    at_most_one(params, &["emailAddress", "id", "bucket", "default"])?;
    if let Some(bucket) = params.get("bucket") {
        return Ok(QuotaScope::Bucket(bucket_name(bucket)?));
    }
    if let Some(default) = params.get("default") {
        return match default {
            "user" => Ok(QuotaScope::DefaultUser),
            "bucket" => Ok(QuotaScope::DefaultBucket),
            other => Err(invalid(format!(
                "default must be user or bucket, not {other:?}."
            ))),
        };
    }
    let user = named_user(engine, params).await?.ok_or_else(|| {
        invalid("The request must name a user (emailAddress, id), a bucket or a default.")
    })?;
    Ok(QuotaScope::User(user.id))
}

async fn get_quota(engine: &Engine, params: &Params) -> S3Result<Response<Bytes>> {
    let scope = quota_scope(engine, params).await?;
    let quota = engine.quota(&scope).await?;
    let kind = match scope {
        QuotaScope::User(_) | QuotaScope::DefaultUser => "0",
        QuotaScope::Bucket(_) | QuotaScope::DefaultBucket => "1",
    };
    json(&wire::QuotaInfo {
        version: "1".to_owned(),
        kind: kind.to_owned(),
        size: quota.size_gb.to_string(),
    })
}

async fn put_quota(engine: &Engine, params: &Params) -> S3Result<Response<Bytes>> {
    let scope = quota_scope(engine, params).await?;
    let size_gb = whole_number(params, "quota-size")?
        .ok_or_else(|| invalid("PUT ?ostor-quotas needs quota-size (GB)."))?;
    engine.set_quota(&Quota { scope, size_gb }).await?;
    empty(StatusCode::OK)
}

async fn delete_quota(engine: &Engine, params: &Params) -> S3Result<Response<Bytes>> {
    let scope = quota_scope(engine, params).await?;
    engine.delete_quota(&scope).await?;
    empty(StatusCode::NO_CONTENT)
}

// ---- Usage ----

/// The most names one `GET ?ostor-usage` lists, oldest first; `truncated` says more exist.
/// The reference has no way to page, so consumers delete what they have read.
pub const MAX_LISTED_USAGE_OBJECTS: usize = 1000;

/// The `obj` parameter: a usage object's name.
fn usage_object(params: &Params) -> S3Result<&str> {
    let name = value(params, "obj").ok_or_else(|| invalid("obj names the usage object."))?;
    if UsageObjectName::parse(name).is_none() {
        return Err(invalid(format!("{name:?} is not a usage object's name.")));
    }
    Ok(name)
}

async fn get_usage(engine: &Engine, params: &Params) -> S3Result<Response<Bytes>> {
    if !params.has("obj") {
        let (items, truncated) = engine.usage_report_names(MAX_LISTED_USAGE_OBJECTS).await?;
        return json(&wire::UsageList {
            nr_items: items.len() as u64,
            truncated,
            items,
        });
    }
    let report = engine.usage_report(usage_object(params)?).await?;
    json(&usage_report(&report))
}

async fn delete_usage(engine: &Engine, params: &Params) -> S3Result<Response<Bytes>> {
    engine.delete_usage_report(usage_object(params)?).await?;
    empty(StatusCode::NO_CONTENT)
}

/// A stored usage object in the reference's format (format version 1, tags empty).
fn usage_report(report: &UsageReport) -> wire::UsageReport {
    let items: Vec<wire::UsageItem> = report
        .items
        .iter()
        .map(|(key, counters)| wire::UsageItem {
            key: wire::UsageItemKey {
                bucket: key
                    .bucket
                    .as_ref()
                    .map(|bucket| bucket.name.to_string())
                    .unwrap_or_default(),
                epoch: key.bucket.as_ref().map_or(0, |bucket| bucket.epoch),
                user_id: key.user.to_string(),
                tag: String::new(),
            },
            counters: wire::UsageItemCounters {
                ops: wire::UsageOps {
                    put: counters.ops_put,
                    get: counters.ops_get,
                    list: counters.ops_list,
                    other: counters.ops_other,
                },
                net_io: wire::UsageNetIo {
                    uploaded: counters.bytes_uploaded,
                    downloaded: counters.bytes_downloaded,
                },
            },
        })
        .collect();
    wire::UsageReport {
        fmt_version: 1,
        service_id: report.service.get(),
        start_ts: report.start.timestamp(),
        period: report.period_seconds,
        nr_items: items.len() as u64,
        items,
    }
}
