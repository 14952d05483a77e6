//! A load generator for S3 servers, and the trivial HTTP server that measures the machine's
//! ceiling beside it, behind `cargo xtask bench`.
//!
//! # Design
//!
//! * **Real requests.** Every request is signed with SigV4 by [`depot_sigv4`], as an SDK signs
//!   it (`UNSIGNED-PAYLOAD` or a precomputed SHA-256 for PUT bodies), so the server under test
//!   parses, authenticates and serves exactly what a client would make it do.
//! * **Closed loop, fixed concurrency.** [`run::run`] starts N workers, each owning one
//!   keep-alive HTTP/1.1 connection with `TCP_NODELAY` ([`conn`]), one request in flight at a
//!   time; a warm-up, then a measured window; bounded in time (per request and overall) and,
//!   optionally, in request count.
//! * **A ceiling beside every figure.** The same generator and the same signed requests go to
//!   [`ceiling::Ceiling`], a hyper server answering from memory. Its figure is what this machine
//!   and this client allow; the server's share of it is what the report judges.
//! * **Exact percentiles.** Latencies are kept whole and sorted ([`stats`]): nearest-rank p50 and
//!   p99, never an interpolated latency no request had.
//!
//! This is a tool crate: the binary `depot-loadgen` and `cargo xtask bench` use it; no library
//! of the workspace may depend on it (`cargo xtask tidy` checks).

pub mod body;
pub mod ceiling;
pub mod conn;
mod error;
pub mod procfs;
pub mod report;
pub mod request;
pub mod run;
pub mod scenario;
pub mod stats;

pub use error::Error;
