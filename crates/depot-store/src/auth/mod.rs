//! Who sent a request: SigV4 (header, presigned, streaming) through depot-sigv4, or the legacy
//! Signature Version 2; anonymous otherwise.

pub mod v2;
