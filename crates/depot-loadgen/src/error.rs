//! The load generator's one error type, so a failed request says what failed (connect, HTTP,
//! status, body) and the run can count it instead of stopping.

use std::fmt;

use http::StatusCode;

/// Why a request, a setup step or the server side failed.
#[derive(Debug)]
pub enum Error {
    /// The TCP connection could not be opened or configured.
    Connect(std::io::Error),
    /// The HTTP exchange failed (connection reset, malformed response, …).
    Http(hyper::Error),
    /// The request could not be built or signed.
    Request(String),
    /// The server answered with an unexpected status; `body` is the start of its answer.
    Status {
        /// The status received.
        status: StatusCode,
        /// The first bytes of the response body, lossily decoded.
        body: String,
    },
    /// A response body had another length than the benchmark expected.
    BodyLength {
        /// The length the benchmark asked for.
        expected: u64,
        /// The length received.
        received: u64,
    },
    /// A response did not contain what the benchmark needs (a listing with too few keys, …).
    Response(String),
    /// The request did not complete within the per-request time limit.
    Timeout,
    /// An argument is unusable (a non-loopback endpoint, an unknown scenario, …).
    Invalid(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(error) => write!(f, "cannot connect: {error}"),
            Self::Http(error) => write!(f, "HTTP exchange failed: {error}"),
            Self::Request(why) => write!(f, "cannot build the request: {why}"),
            Self::Status { status, body } => write!(f, "unexpected status {status}: {body}"),
            Self::BodyLength { expected, received } => {
                write!(
                    f,
                    "expected a body of {expected} bytes, received {received}"
                )
            }
            Self::Response(why) => write!(f, "unexpected response: {why}"),
            Self::Timeout => f.write_str("the request timed out"),
            Self::Invalid(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connect(error) => Some(error),
            Self::Http(error) => Some(error),
            _ => None,
        }
    }
}

impl From<hyper::Error> for Error {
    fn from(error: hyper::Error) -> Self {
        Self::Http(error)
    }
}
