//! The one error type of this crate: every way a signature or a signed payload can fail.

/// Why signing, verifying or decoding a signed payload failed.
///
/// Each variant is a distinct failure a server must tell apart, because S3 answers each with its
/// own error code (`AccessDenied`, `InvalidAccessKeyId`, `SignatureDoesNotMatch`,
/// `RequestTimeTooSkewed`, `XAmzContentSHA256Mismatch`, …). The mapping to wire errors lives at
/// the protocol edge, not here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigV4Error {
    /// The request carries no SigV4 authorization at all (neither header nor query).
    #[error("the request is not signed")]
    MissingAuthorization,
    /// An authorization header or presigned query exists but cannot be parsed.
    #[error("malformed authorization: {0}")]
    MalformedAuthorization(String),
    /// The signing algorithm is not `AWS4-HMAC-SHA256`.
    #[error("unsupported signing algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// The credential scope names another region or service, or is not `aws4_request`.
    #[error("credential scope `{0}` does not match this server")]
    ScopeMismatch(String),
    /// The access key id is not known to the server.
    #[error("the access key id does not exist")]
    UnknownAccessKey,
    /// A signed header named in `SignedHeaders` is absent from the request, or `host` is unsigned.
    #[error("signed header `{0}` is missing or required header is unsigned")]
    MissingSignedHeader(String),
    /// An `x-amz-*` header is present but not signed: it could have been added by anyone who
    /// saw the request.
    #[error("the header `{0}` is present but not signed")]
    UnsignedHeader(String),
    /// The `Host` header and the request's authority name different hosts.
    #[error("the Host header does not match the request authority")]
    HostMismatch,
    /// The signature does not match the one computed from the request.
    #[error("the request signature does not match")]
    SignatureMismatch,
    /// The request date is more than the allowed skew away from the server's clock.
    #[error("the request time is too far from the server time")]
    RequestTimeTooSkewed,
    /// A presigned URL whose validity ended.
    #[error("the presigned URL has expired")]
    Expired,
    /// A presigned URL whose validity has not started yet.
    #[error("the presigned URL is not yet valid")]
    NotYetValid,
    /// `X-Amz-Expires` outside 1..=604800 seconds, or not a number.
    #[error("X-Amz-Expires must be between 1 and 604800 seconds")]
    InvalidExpires,
    /// A date that is not `YYYYMMDD'T'HHMMSS'Z'`, or that disagrees with the credential scope.
    #[error("invalid request date `{0}`")]
    InvalidDate(String),
    /// `x-amz-content-sha256` holds neither a hex digest nor a known payload mode.
    #[error("invalid x-amz-content-sha256 `{0}`")]
    InvalidPayloadHash(String),
    /// The body's SHA-256 is not the one the client declared.
    #[error("the payload does not match x-amz-content-sha256")]
    PayloadHashMismatch,
    /// An aws-chunked chunk, or the trailer, carries a wrong signature.
    #[error("a chunk signature does not match")]
    ChunkSignatureMismatch,
    /// aws-chunked framing that cannot be decoded: bad sizes, missing CRLF, oversized lines,
    /// a body that ends early or does not match `x-amz-decoded-content-length`.
    #[error("malformed aws-chunked body: {0}")]
    MalformedChunk(String),
    /// A trailing or header checksum that does not match the payload.
    #[error("the {0} checksum does not match the payload")]
    ChecksumMismatch(&'static str),
    /// A checksum header or trailer with an unknown algorithm or a badly encoded value.
    #[error("invalid checksum: {0}")]
    InvalidChecksum(String),
    /// A request that cannot be signed (for example, a URI without a host).
    #[error("cannot sign the request: {0}")]
    Unsignable(String),
}
