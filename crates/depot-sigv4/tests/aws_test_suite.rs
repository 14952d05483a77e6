//! Every case of the AWS SigV4 test suite, signed by this crate and verified by it.
//!
//! The cases use the generic AWS rules (path normalisation and double encoding where the
//! context says `normalize`), the service `service` and the fixed clock of each context.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use depot_sigv4::{
    AmzDate, Authorization, Credentials, SigV4Error, SignableBody, SigningParams, UriRules,
    Verifier, presign_query, sign_headers,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use serde::Deserialize;

#[derive(Deserialize)]
struct Context {
    credentials: ContextCredentials,
    expiration_in_seconds: u64,
    normalize: bool,
    region: String,
    service: String,
    sign_body: bool,
    timestamp: String,
    #[serde(default)]
    omit_session_token: bool,
    #[serde(skip)]
    single_encode: bool,
}

#[derive(Deserialize)]
struct ContextCredentials {
    access_key_id: String,
    secret_access_key: String,
    token: Option<String>,
}

/// A request of the suite, kept raw: its paths may hold spaces and UTF-8 that `http::Uri`
/// refuses, and its headers may be folded over several lines.
struct RawRequest {
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn parse_request(text: &str) -> RawRequest {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().expect("request line");
    let (method, rest) = request_line.split_once(' ').expect("method");
    let target = match rest.rsplit_once(' ') {
        Some((target, version)) if version.starts_with("HTTP/") => target,
        _ => rest,
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // An obsolete line folding: the continuation joins the previous value with a space.
            let last = fields.last_mut().expect("continuation after a header");
            last.1.push(' ');
            last.1.push_str(line);
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.to_owned(), value.to_owned()));
        }
    }
    let mut headers = HeaderMap::new();
    for (name, value) in fields {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(&value).expect("header value"),
        );
    }
    RawRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws-signing-test-suite-v4")
}

/// A fixture file; the few that end with a newline are read without it, since no canonical
/// request, string to sign or signature ends with one.
fn read(case: &Path, file: &str) -> Option<String> {
    let text = fs::read_to_string(case.join(file)).ok()?;
    Some(
        if file.ends_with("request.txt") && !file.contains("canonical") {
            text
        } else {
            text.trim_end_matches('\n').to_owned()
        },
    )
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = fs::read_dir(suite_dir())
        .expect("suite directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("request.txt").exists())
        .collect();
    cases.sort();
    cases
}

fn context(case: &Path) -> Context {
    let mut ctx = raw_context(case);
    ctx.single_encode = case.ends_with("get-space-normalized");
    if let Some(date) = parse_request(&read(case, "request.txt").unwrap())
        .headers
        .get("x-amz-date")
    {
        // The cases carried over from the older suite fix their time in the request itself.
        let signed = parse_request(&read(case, "header-signed-request.txt").unwrap());
        let auth = Authorization::from_request(&"/".parse().unwrap(), &signed.headers);
        if let Err(SigV4Error::InvalidPayloadHash(_)) | Ok(_) = &auth {
            let credential = signed.headers["authorization"].to_str().unwrap();
            let scope: Vec<&str> = credential
                .split("Credential=")
                .nth(1)
                .unwrap()
                .split('/')
                .collect();
            ctx.region = scope[2].to_owned();
            ctx.service = scope[3].to_owned();
            if scope[0].ends_with("ANOTREAL") {
                // The aws-sigv4 crate's own test credentials.
                ctx.credentials.access_key_id = "ANOTREAL".into();
                ctx.credentials.secret_access_key = "notrealrnrELgWzOk3IfjzDKtFBhDby".into();
            }
        }
        let date = AmzDate::parse(date.to_str().unwrap()).unwrap();
        let text = date.to_string();
        ctx.timestamp = format!(
            "{}-{}-{}T{}:{}:{}Z",
            &text[0..4],
            &text[4..6],
            &text[6..8],
            &text[9..11],
            &text[11..13],
            &text[13..15]
        );
    }
    ctx
}

fn raw_context(case: &Path) -> Context {
    match read(case, "context.json") {
        Some(json) => serde_json::from_str(&json).expect("context.json"),
        // The two cases carried over from the older suite have no context: they are the
        // defaults of that suite, normalising, not signing the body.
        None => serde_json::from_str(
            r#"{"credentials":{"access_key_id":"AKIDEXAMPLE","secret_access_key":"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
               "expiration_in_seconds":3600,"normalize":true,"region":"us-east-1","service":"service",
               "sign_body":false,"timestamp":"2015-08-30T12:36:00Z"}"#,
        )
        .expect("default context"),
    }
}

fn timestamp(text: &str) -> SystemTime {
    // `2015-08-30T12:36:00Z` → `20150830T123600Z`
    let compact: String = text.chars().filter(|c| *c != '-' && *c != ':').collect();
    AmzDate::parse(&compact)
        .expect("timestamp")
        .to_system_time()
}

fn credentials(ctx: &Context) -> Credentials {
    let c = Credentials::new(
        &ctx.credentials.access_key_id,
        &ctx.credentials.secret_access_key,
    );
    match &ctx.credentials.token {
        Some(token) => c.with_session_token(token),
        None => c,
    }
}

fn params<'a>(ctx: &'a Context, creds: &'a Credentials) -> SigningParams<'a> {
    SigningParams {
        credentials: creds,
        region: &ctx.region,
        service: &ctx.service,
        time: timestamp(&ctx.timestamp),
        uri_rules: rules(ctx),
        content_sha256_header: ctx.sign_body,
        sign_session_token: !ctx.omit_session_token,
    }
}

/// The suite's contexts name only `normalize`; the encoding is the generic double encoding but
/// for `get-space-normalized`, whose original context in the AWS Common Runtime suite turns
/// double encoding off (its path `/example%20space/` is signed as it is).
fn rules(ctx: &Context) -> UriRules {
    UriRules {
        normalize_path: ctx.normalize,
        double_encode: !ctx.single_encode,
    }
}

fn host(request: &RawRequest) -> Option<String> {
    request
        .headers
        .get("host")
        .map(|h| h.to_str().unwrap().to_owned())
}

#[test]
fn header_signing_matches_every_case() {
    let cases = cases();
    assert!(
        cases.len() >= 40,
        "the suite is incomplete: {} cases",
        cases.len()
    );
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let ctx = context(&case);
        let creds = credentials(&ctx);
        let mut request = parse_request(&read(&case, "request.txt").unwrap());
        let host = host(&request);
        let signature = sign_headers(
            &request.method,
            &request.path,
            &request.query,
            host.as_deref(),
            &mut request.headers,
            SignableBody::Bytes(&request.body),
            &params(&ctx, &creds),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        // The suite left this case's canonical request at another date than its signed request;
        // only the signed request is checked, as the aws-sigv4 crate does.
        let stale = name == "double-encode-path";
        if let Some(expected) = read(&case, "header-canonical-request.txt").filter(|_| !stale) {
            assert_eq!(
                signature.canonical_request, expected,
                "{name}: canonical request"
            );
        }
        if let Some(expected) = read(&case, "header-string-to-sign.txt") {
            assert_eq!(signature.string_to_sign, expected, "{name}: string to sign");
        }
        if let Some(expected) = read(&case, "header-signature.txt") {
            assert_eq!(signature.signature, expected.trim(), "{name}: signature");
        }
        let expected = parse_request(&read(&case, "header-signed-request.txt").unwrap());
        let authorization = |headers: &HeaderMap| {
            headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().trim().to_owned())
        };
        assert_eq!(
            authorization(&request.headers),
            authorization(&expected.headers),
            "{name}: Authorization header"
        );
    }
}

#[test]
fn query_signing_matches_every_case() {
    let mut checked = 0;
    for case in cases() {
        let Some(expected_creq) = read(&case, "query-canonical-request.txt") else {
            continue;
        };
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let ctx = context(&case);
        let creds = credentials(&ctx);
        let request = parse_request(&read(&case, "request.txt").unwrap());
        let host = host(&request);
        let (query, signature) = presign_query(
            &request.method,
            &request.path,
            &request.query,
            host.as_deref(),
            &request.headers,
            SignableBody::Bytes(&request.body),
            &params(&ctx, &creds),
            Duration::from_secs(ctx.expiration_in_seconds),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            signature.canonical_request, expected_creq,
            "{name}: canonical request"
        );
        assert_eq!(
            signature.string_to_sign,
            read(&case, "query-string-to-sign.txt").unwrap(),
            "{name}: string to sign"
        );
        assert_eq!(
            signature.signature,
            read(&case, "query-signature.txt").unwrap().trim(),
            "{name}: signature"
        );
        assert!(
            query.contains(&format!("X-Amz-Signature={}", signature.signature)),
            "{name}"
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} query cases");
}

/// Every request of the suite, signed as S3 clients sign (with `x-amz-content-sha256`), passes
/// verification under the same rules, and fails once anything signed changes.
#[test]
fn verifier_accepts_signed_suite_requests_and_rejects_tampering() {
    let mut checked = 0;
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let mut ctx = context(&case);
        ctx.sign_body = true;
        ctx.omit_session_token = false;
        let creds = credentials(&ctx);
        let mut request = parse_request(&read(&case, "request.txt").unwrap());
        let target = if request.query.is_empty() {
            request.path.clone()
        } else {
            format!("{}?{}", request.path, request.query)
        };
        // Paths with raw spaces or UTF-8 are not valid request targets; a server never sees them.
        let Ok(uri) = target.parse::<Uri>() else {
            continue;
        };
        let host = host(&request);
        sign_headers(
            &request.method,
            &request.path,
            &request.query,
            host.as_deref(),
            &mut request.headers,
            SignableBody::Bytes(&request.body),
            &params(&ctx, &creds),
        )
        .unwrap();
        let method = Method::from_bytes(request.method.as_bytes()).unwrap();
        let verifier = Verifier::new(&ctx.service)
            .with_region(&ctx.region)
            .with_uri_rules(rules(&ctx));
        let now = timestamp(&ctx.timestamp);
        let secret = &ctx.credentials.secret_access_key;
        let auth = Authorization::from_request(&uri, &request.headers).expect(&name);
        assert_eq!(auth.access_key_id, ctx.credentials.access_key_id);
        assert_eq!(auth.session_token, ctx.credentials.token);
        verifier
            .verify(&method, &uri, &request.headers, &auth, secret, now)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            verifier
                .verify(&method, &uri, &request.headers, &auth, "wrong secret", now)
                .unwrap_err(),
            SigV4Error::SignatureMismatch,
            "{name}"
        );
        for signed_header in &auth.signed_headers {
            let mut tampered = request.headers.clone();
            tampered.append(
                HeaderName::from_bytes(signed_header.as_bytes()).unwrap(),
                HeaderValue::from_static("tampered"),
            );
            let Ok(auth) = Authorization::from_request(&uri, &tampered) else {
                continue;
            };
            let outcome = verifier.verify(&method, &uri, &tampered, &auth, secret, now);
            assert!(
                outcome.is_err(),
                "{name}: a changed {signed_header} still verifies"
            );
        }
        let other_method = if method == Method::GET {
            Method::POST
        } else {
            Method::GET
        };
        assert_eq!(
            verifier
                .verify(&other_method, &uri, &request.headers, &auth, secret, now)
                .unwrap_err(),
            SigV4Error::SignatureMismatch
        );
        checked += 1;
    }
    assert!(checked >= 35, "only {checked} cases verified");
}
