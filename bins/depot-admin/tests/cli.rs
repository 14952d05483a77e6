//! Runs the built `depot-admin` as a user and a script would: `--version`, `--help`, no
//! arguments; the exit status and the one-line message of each kind of failure, against a
//! stand-in server that answers what the test tells it to; and the local bootstrap.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::thread;

fn depot_admin(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_depot-admin"));
    // The developer's own settings must not change what the test sees: no variables, and a
    // configuration directory with nothing in it.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("DEPOT_") {
            command.env_remove(name);
        }
    }
    command
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("depot-admin-test-no-config"),
        )
        .args(args)
        .output()
        .expect("run depot-admin")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Answers one request on a fresh port with `status` and `body`; returns the endpoint and
/// the request's first line, when the request has come.
fn serve_once(status: &str, body: &'static str) -> (String, thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let status = status.to_owned();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        answer(stream, &status, body)
    });
    (endpoint, handle)
}

fn answer(mut stream: TcpStream, status: &str, body: &str) -> String {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request_line = String::new();
    reader.read_line(&mut request_line).expect("request line");
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header");
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().expect("length");
        }
    }
    let mut request_body = vec![0; length];
    reader.read_exact(&mut request_body).expect("body");
    let content_type = if body.starts_with('<') {
        "application/xml"
    } else {
        "application/json"
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("answer");
    request_line.trim_end().to_owned()
}

const KEYS: [&str; 4] = [
    "--access-key",
    "AKIDEXAMPLE",
    "--secret-key",
    "hunter2-secret",
];

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
    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("DEPOT_SECRET_KEY"), "{help}");
    assert!(!help.contains("do-not-print-me"), "{help}");
}

#[test]
fn error_statuses_have_their_exit_codes_and_one_line_messages() {
    for (status, code, body, expected) in [
        (
            "404 Not Found",
            3,
            "<Error><Code>NoSuchUser</Code><Message>The user does not exist.</Message></Error>",
            "error: showing user a@example.com: the server answered 404 NoSuchUser: The user does not exist.",
        ),
        (
            "409 Conflict",
            4,
            "<Error><Code>KeyLimitReached</Code><Message>Two pairs.</Message></Error>",
            "error: showing user a@example.com: the server answered 409 KeyLimitReached: Two pairs.",
        ),
        (
            "403 Forbidden",
            5,
            "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
            "error: showing user a@example.com: the server answered 403 AccessDenied: Access Denied \
             (the admin API takes the keys of an enabled system user)",
        ),
        (
            "400 Bad Request",
            6,
            "<Error><Code>InvalidArgument</Code><Message>Bad.</Message></Error>",
            "error: showing user a@example.com: the server answered 400 InvalidArgument: Bad.",
        ),
        (
            "503 Service Unavailable",
            7,
            "",
            "error: showing user a@example.com: the server answered 503",
        ),
        (
            "200 OK",
            7,
            "not json",
            "error: showing user a@example.com: could not decode the answer",
        ),
    ] {
        let (endpoint, request) = serve_once(status, body);
        let mut args = vec!["--endpoint", endpoint.as_str()];
        args.extend(KEYS);
        args.extend(["user", "show", "-e", "a@example.com"]);
        let output = depot_admin(&args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{status}: {}",
            stderr(&output)
        );
        let message = stderr(&output);
        assert!(message.starts_with(expected), "{status}: {message}");
        assert_eq!(message.lines().count(), 1, "{status}: {message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(output.stdout.is_empty(), "{status}");
        assert_eq!(
            request.join().expect("server thread"),
            "GET /?ostor-users&emailAddress=a%40example.com HTTP/1.1"
        );
    }
}

#[test]
fn answers_print_as_tables_or_json() {
    const USERS: &str = r#"{"Users":[{"UserEmail":"a@example.com","UserId":"b09693b73b3c7686",
        "State":"enabled","OwnerId":"0000000000000000","Flags":[]}]}"#;
    let (endpoint, request) = serve_once("200 OK", USERS);
    let mut args = vec!["--endpoint", endpoint.as_str()];
    args.extend(KEYS);
    args.extend(["user", "list"]);
    let output = depot_admin(&args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "EMAIL          ID                STATE    FLAGS\n\
         a@example.com  b09693b73b3c7686  enabled\n"
    );
    assert_eq!(
        request.join().expect("server thread"),
        "GET /?ostor-users HTTP/1.1"
    );

    let (endpoint, _request) = serve_once("200 OK", USERS);
    let mut args = vec!["--json", "--endpoint", endpoint.as_str()];
    args.extend(KEYS);
    args.extend(["user", "list"]);
    let output = depot_admin(&args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let users: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(users[0]["UserId"], "b09693b73b3c7686");
}

#[test]
fn no_answer_is_exit_8() {
    // A port that was free a moment ago: nothing listens on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut args = vec!["--endpoint", endpoint.as_str()];
    args.extend(KEYS);
    args.extend(["bucket", "list"]);
    let output = depot_admin(&args);
    assert_eq!(output.status.code(), Some(8), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.starts_with("error: listing buckets: transport error"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "{message}");
}

#[test]
fn missing_keys_and_bad_endpoints_are_usage_errors() {
    let output = depot_admin(&["user", "list"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("error: no access key"),
        "{}",
        stderr(&output)
    );

    let mut args = vec!["--endpoint", "ftp://127.0.0.1"];
    args.extend(KEYS);
    args.extend(["user", "list"]);
    let output = depot_admin(&args);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("invalid endpoint"),
        "{}",
        stderr(&output)
    );

    let output = depot_admin(&["user", "show"]);
    assert_eq!(output.status.code(), Some(2), "clap's usage error");
}

#[test]
fn the_bootstrap_needs_no_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8");
    let output = depot_admin(&[
        "--json",
        "create-user",
        "-S",
        "-e",
        "root@example.com",
        "--data-dir",
        data,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let user: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(user["UserEmail"], "root@example.com");
    assert_eq!(user["Flags"], serde_json::json!(["system"]));
    let secret = user["AWSAccessKeys"][0]["AWSSecretAccessKey"]
        .as_str()
        .expect("a secret");
    assert!(secret.len() >= 40, "{secret}");

    // The same user again: a conflict, as over the API.
    let output = depot_admin(&[
        "create-user",
        "-S",
        "-e",
        "root@example.com",
        "--data-dir",
        data,
    ]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("already exists"),
        "{}",
        stderr(&output)
    );

    // The data directory from the variable, as depot-api reads it; a table by default.
    let output = Command::new(env!("CARGO_BIN_EXE_depot-admin"))
        .args(["create-user", "-e", "second@example.com"])
        .env("DEPOT_DATA_DIR", data)
        .env_remove("DEPOT_DATABASE_URL")
        .env_remove("DEPOT_MASTER_KEY")
        .output()
        .expect("run depot-admin");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.starts_with("email  second@example.com\n"), "{table}");
    assert!(table.contains("ACCESS KEY"), "{table}");
}
