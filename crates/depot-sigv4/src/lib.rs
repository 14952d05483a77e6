//! AWS Signature Version 4 for both sides of the wire: clients sign, servers verify.
//!
//! # Design
//!
//! A signature is a function of a *canonical request*: a text both sides derive from the same
//! HTTP request by fixed rules. Everything here serves to build that text identically on both
//! sides ([`canonical`](crate::sign_headers) rules, [`UriRules`] for S3 versus other AWS
//! services) and to keep the server honest about everything the text does not cover.
//!
//! * **Two-step verification.** [`Authorization::from_request`] parses who claims to have signed;
//!   the caller looks the secret up (this crate knows no database); [`Verifier::verify`] checks
//!   scope, clock and signature. Signing keys are cached per (key, day, region, service) and
//!   signatures compared in constant time.
//! * **Bodies stream.** The signature covers a body only through `x-amz-content-sha256`. A
//!   declared digest is checked as the body streams ([`VerifiedBody`]); aws-chunked bodies are
//!   decoded chunk by chunk with each chunk's signature chained from the request's
//!   ([`ChunkedDecoder`]); trailing checksums are computed on the way ([`Checksummer`]). Memory
//!   is bounded by one header line, never by the object's size.
//! * **Distinct failures.** [`SigV4Error`] tells apart every failure a server answers
//!   differently; mapping to S3 error codes happens at the protocol edge.
//! * **Small dependency surface.** `http`, `http-body`, `bytes`, RustCrypto hashes and checksum
//!   crates: no server, no runtime, no database. Dates are formatted by [`AmzDate`] itself.
//!
//! # Example
//!
//! ```
//! use std::time::SystemTime;
//! use depot_sigv4::{Authorization, Credentials, PayloadMode, SignableBody, SigningParams, Verifier, sign_request};
//!
//! // A client signs…
//! let credentials = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
//! let mut request = http::Request::put("http://127.0.0.1:9000/bucket/key").body(()).unwrap();
//! let now = SystemTime::now();
//! sign_request(&mut request, SignableBody::Bytes(b"hello"), &SigningParams::s3(&credentials, "us-east-1", now))?;
//!
//! // …and a server verifies, having looked up the secret of the key that signed.
//! let auth = Authorization::from_request(request.uri(), request.headers())?;
//! assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
//! let verified = Verifier::new("s3").verify(
//!     request.method(), request.uri(), request.headers(), &auth,
//!     "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", now,
//! )?;
//! assert!(matches!(verified.payload, PayloadMode::Sha256(_)));
//! # Ok::<(), depot_sigv4::SigV4Error>(())
//! ```
#![warn(missing_docs)]

mod body;
mod canonical;
mod checksum;
mod chunked;
mod error;
mod key;
mod payload;
mod sign;
mod time;
mod uri;
mod verify;

pub use body::{BoxError, PayloadCheck, VerifiedBody};
pub use checksum::{ChecksumAlgorithm, Checksummer};
pub use chunked::{
    ChunkSigner, ChunkedDecoder, MAX_LINE, MAX_TRAILER, MIN_SIGNED_CHUNK,
    encode_unsigned_with_trailers,
};
pub use error::SigV4Error;
pub use key::{ALGORITHM, Scope, SigningKey, SigningKeyCache, string_to_sign};
pub use payload::{
    EMPTY_SHA256, PayloadMode, STREAMING_SIGNED_PAYLOAD, STREAMING_SIGNED_PAYLOAD_TRAILER,
    STREAMING_UNSIGNED_PAYLOAD_TRAILER, SignableBody, UNSIGNED_PAYLOAD,
};
pub use sign::{
    Credentials, MAX_PRESIGN_EXPIRY, Signature, SigningParams, presign_query, presign_request,
    sign_headers, sign_request,
};
pub use time::AmzDate;
pub use uri::{
    UriRules, canonical_query, canonical_uri, form_decode, query_pairs, query_pairs_raw,
    uri_encode, uri_encode_path,
};
pub use verify::{
    AuthLocation, Authorization, DEFAULT_MAX_SKEW, SeedSignature, VerifiedRequest, Verifier,
};
