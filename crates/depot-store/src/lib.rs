//! The S3 protocol of Depot's data plane: everything between an HTTP request and a call into
//! the storage engine.
//!
//! # Design
//!
//! * **One documented [`Endpoint`]** per S3 operation, decided by the [`router`] from the
//!   addressing style, the method and the sub-resources, before any work is done.
//! * **Errors are S3's.** Every failure becomes an [`S3Error`]: a code of the S3 error table, its
//!   HTTP status and the XML document clients parse. Engine and SigV4 errors have one mapping
//!   each.
//! * **This is the only data-plane crate that knows HTTP, XML and S3 headers.** The engine sees
//!   names, attribute structs and byte streams.
#![warn(missing_docs)]

pub mod admin;
pub mod auth;
mod body;
mod error;
pub mod headers;
pub mod limits;
mod ops;
pub mod router;
mod service;
pub mod telemetry;
pub mod xml;

pub use admin::{AdminApi, AdminRequest};
pub use body::ResponseBody;
pub use error::{S3Error, S3ErrorCode, S3Result};
pub use limits::{DatabaseLimiter, LimiterState, MemoryLimiter};
pub use router::{Addressing, Endpoint, Params, Route, route};
pub use service::{MAX_PUT_SIZE, Principal, S3Service, StoreConfig};
