//! Exit codes scripts can rely on, and the one-line error message that goes with each failure.
//! The table is documented in `docs/admin.md` and in `depot-admin --help`; changing a number
//! breaks scripts.

use std::error::Error;
use std::fmt;
use std::process::ExitCode;

use depot_ostor::ClientError;

/// How `depot-admin` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 0: done.
    Success,
    /// 1: any failure not listed below (a local database or file error, say).
    Failure,
    /// 2: the command line, the configuration or an input file is wrong; nothing was sent.
    /// Also what clap exits with on a usage error.
    Usage,
    /// 3: the server answered 404: the user, account, bucket, key, limits or usage object
    /// does not exist.
    NotFound,
    /// 4: the server answered 409 (the user or account exists, the key limit is reached, the
    /// user or account still owns buckets), or the bootstrap's user exists.
    Conflict,
    /// 5: the server answered 401 or 403: not a system user's key, an unknown key, a bad
    /// signature, a disabled user.
    AccessDenied,
    /// 6: the server answered 400: a parameter the server refuses.
    BadRequest,
    /// 7: the server answered another status (5xx, 405, 501 `NotImplemented`, …) or a
    /// success whose body could not be read.
    Server,
    /// 8: no answer: the connection was refused, failed or timed out.
    Unreachable,
}

impl Exit {
    /// The process exit status.
    pub(crate) fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::NotFound => 3,
            Exit::Conflict => 4,
            Exit::AccessDenied => 5,
            Exit::BadRequest => 6,
            Exit::Server => 7,
            Exit::Unreachable => 8,
        }
    }

    /// The exit status of a failed admin call.
    pub(crate) fn of_client_error(error: &ClientError) -> Exit {
        match error {
            ClientError::Status { status, .. } => Exit::of_status(*status),
            // A request reqwest could not even build is a local fault, not a network one.
            ClientError::Transport(error) if error.is_builder() => Exit::Failure,
            ClientError::Transport(_) => Exit::Unreachable,
            ClientError::Decode(_) => Exit::Server,
            ClientError::InvalidEndpoint(_) | ClientError::Signing(_) => Exit::Usage,
        }
    }

    /// The exit status for an HTTP error status.
    pub(crate) fn of_status(status: u16) -> Exit {
        match status {
            400 => Exit::BadRequest,
            401 | 403 => Exit::AccessDenied,
            404 => Exit::NotFound,
            409 => Exit::Conflict,
            _ => Exit::Server,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// A failure: its exit status and the line printed on standard error. The line never holds a
/// secret: it is built from what was being done (names, never keys) and the error's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) exit: Exit,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    /// A usage error: nothing was sent.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// A failed admin call while `doing` (`"showing user a@example.com"`).
    pub(crate) fn client(doing: &str, error: &ClientError) -> Self {
        let exit = Exit::of_client_error(error);
        let mut message = format!("{doing}: {}", chain(error));
        if exit == Exit::AccessDenied && error.code() == Some("AccessDenied") {
            message.push_str(" (the admin API takes the keys of an enabled system user)");
        }
        Self::new(exit, message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

/// An error and its causes on one line, `outer: inner: innermost`, leaving out a cause whose
/// text the line already holds (wrappers often repeat their source).
pub(crate) fn chain(error: &dyn Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    // One line, whatever the server or the operating system put in its messages.
    line.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16, code: Option<&str>, message: Option<&str>) -> ClientError {
        ClientError::Status {
            status,
            code: code.map(str::to_owned),
            message: message.map(str::to_owned),
        }
    }

    #[test]
    fn documented_numbers() {
        let table = [
            (Exit::Success, 0),
            (Exit::Failure, 1),
            (Exit::Usage, 2),
            (Exit::NotFound, 3),
            (Exit::Conflict, 4),
            (Exit::AccessDenied, 5),
            (Exit::BadRequest, 6),
            (Exit::Server, 7),
            (Exit::Unreachable, 8),
        ];
        for (exit, code) in table {
            assert_eq!(exit.code(), code, "{exit:?}");
        }
    }

    #[test]
    fn statuses_map_to_their_codes() {
        for (status, code) in [
            (400, 6),
            (401, 5),
            (403, 5),
            (404, 3),
            (405, 7),
            (409, 4),
            (500, 7),
            (501, 7),
            (503, 7),
        ] {
            assert_eq!(
                Exit::of_client_error(&answered(status, None, None)).code(),
                code,
                "status {status}"
            );
        }
    }

    #[test]
    fn local_errors_map_to_their_codes() {
        assert_eq!(
            Exit::of_client_error(&ClientError::Decode("bad JSON".into())),
            Exit::Server
        );
        assert_eq!(
            Exit::of_client_error(&ClientError::InvalidEndpoint("ftp://x".into())),
            Exit::Usage
        );
    }

    #[test]
    fn messages_carry_the_code_and_the_servers_message() {
        let failure = Failure::client(
            "showing user a@example.com",
            &answered(404, Some("NoSuchUser"), Some("The user does not exist.")),
        );
        assert_eq!(failure.exit, Exit::NotFound);
        assert_eq!(
            failure.message,
            "showing user a@example.com: the server answered 404 NoSuchUser: The user does not exist."
        );
        let denied = Failure::client(
            "listing users",
            &answered(403, Some("AccessDenied"), Some("Access Denied")),
        );
        assert_eq!(denied.exit, Exit::AccessDenied);
        assert!(
            denied.message.ends_with(
                "403 AccessDenied: Access Denied (the admin API takes the keys of an enabled system user)"
            ),
            "{}",
            denied.message
        );
        let bare = Failure::client("deleting usage object x", &answered(501, None, None));
        assert_eq!(bare.exit, Exit::Server);
        assert_eq!(
            bare.message,
            "deleting usage object x: the server answered 501"
        );
    }

    #[test]
    fn messages_stay_on_one_line() {
        let failure = Failure::client(
            "listing users",
            &answered(400, Some("InvalidArgument"), Some("two\nlines")),
        );
        assert_eq!(failure.exit, Exit::BadRequest);
        assert!(!failure.message.contains('\n'), "{}", failure.message);
    }

    #[test]
    fn chain_skips_repeated_causes() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "wrapped: {}", self.0)
            }
        }
        impl Error for Outer {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = Outer(std::io::Error::other("refused"));
        assert_eq!(chain(&error), "wrapped: refused");

        #[derive(Debug)]
        struct Plain(std::io::Error);
        impl fmt::Display for Plain {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("storage I/O error")
            }
        }
        impl Error for Plain {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = Plain(std::io::Error::other("disk full"));
        assert_eq!(chain(&error), "storage I/O error: disk full");
    }
}
