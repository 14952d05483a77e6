//! The engine's operations, one module per family, each an `impl Engine` block.
//!
//! Every write follows one shape: bytes first (staged, then committed to a blob nobody
//! references yet), then one database transaction that checks and records everything, then —
//! only after the commit — removal of the blobs the transaction stopped referencing. A failed
//! transaction removes the blob it would have referenced. A crash between any two steps
//! leaves only unreferenced files, which [`Engine::sweep`](crate::Engine::sweep) removes.

mod admin;
mod auth;
mod buckets;
mod limiter;
mod list;
mod multipart;
mod objects;
pub(crate) mod replication;
mod sweep;
mod usage;

pub(crate) use admin::LimitsCache;
pub use multipart::{MAX_PART_NUMBER, MIN_PART_SIZE};
pub use objects::MAX_COPY_SIZE;
