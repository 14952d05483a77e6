//! sea-orm entities of the engine's tables, one module per table.
//!
//! @generated in the style of `sea-orm-cli generate entity`: they mirror the migrations in
//! `depot-migration` and change only together with a new migration. Nothing outside the
//! repository modules sees a `Model`; the engine's public types are built from them by hand.

// Generated entities declare `pub` items; the modules themselves are private to the crate.
#![allow(unreachable_pub)]

pub(crate) mod access_keys;
pub(crate) mod accounts;
pub(crate) mod bucket_replication;
pub(crate) mod buckets;
pub(crate) mod limits;
pub(crate) mod multipart_parts;
pub(crate) mod multipart_uploads;
pub(crate) mod object_segments;
pub(crate) mod objects;
pub(crate) mod quotas;
pub(crate) mod replication_queue;
pub(crate) mod usage_counters;
pub(crate) mod usage_reports;
pub(crate) mod users;
