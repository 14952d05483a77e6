//! The Virtuozzo "ostor" admin API on both sides.
//!
//! * [`wire`]: the JSON bodies, as the reference spells them.
//! * [`server`]: the handlers `depot-api` mounts on the S3 listener (`?ostor-…` requests by
//!   system users), over `depot-engine`.
//! * [`client`]: a typed async client for every call, signed with `depot-sigv4`.
//! * [`provider`]: [`OstorProvider`], the domain's `StorageProvider` over the client, so the
//!   control plane can drive any ostor-compatible cluster — Virtuozzo's or another Depot.
//!
//! Where the reference is silent or ambiguous, the choices are in `docs/ostor.md`.
#![warn(missing_docs)]

pub mod client;
pub mod provider;
pub mod replication;
pub mod replicator;
pub mod server;
pub mod wire;

pub use client::{ClientError, OstorClient};
pub use provider::OstorProvider;
pub use replicator::{Replicator, ReplicatorConfig};
pub use server::OstorServer;
