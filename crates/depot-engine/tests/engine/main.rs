//! The engine's public surface, each test run on SQLite and on PostgreSQL.

mod common;

mod admin;
mod auth;
mod buckets;
mod coherence;
mod embedded;
mod limiter;
mod listing;
mod multipart;
mod objects;
mod replication;
mod sweep;
mod usage;
