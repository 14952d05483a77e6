//! `EngineError`: every way an engine operation fails, named by what it means to a caller.

use sea_orm::DbErr;

/// The boxed error a request body stream fails with, passed through unchanged.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why an engine operation failed.
///
/// Variants name outcomes the protocol layers map one to one onto their own errors (S3
/// `NoSuchBucket`, ostor 404, RPC `code:-1`). [`EngineError::Db`], [`EngineError::Io`],
/// [`EngineError::Crypto`] and [`EngineError::CorruptMetadata`] are the server's fault: log
/// them, answer `InternalError`, and never send their text to a client.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The bucket does not exist.
    #[error("the bucket does not exist")]
    NoSuchBucket,
    /// The bucket has no object under this key.
    #[error("the object does not exist")]
    NoSuchKey,
    /// The multipart upload does not exist, or belongs to another bucket or key.
    #[error("the multipart upload does not exist")]
    NoSuchUpload,
    /// The user does not exist.
    #[error("the user does not exist")]
    NoSuchUser,
    /// A user with this email already exists.
    #[error("a user with this email already exists")]
    UserAlreadyExists,
    /// The user still owns buckets.
    #[error("the user still owns buckets")]
    UserHasBuckets,
    /// The user has no account of this name.
    #[error("the account does not exist")]
    NoSuchAccount,
    /// The user already has an account of this name.
    #[error("the account already exists")]
    AccountAlreadyExists,
    /// The account still owns buckets.
    #[error("the account still owns buckets")]
    AccountHasBuckets,
    /// The user (or the account) holds no key pair with this access key id.
    #[error("the access key does not exist")]
    NoSuchAccessKey,
    /// The bucket has no replication configuration.
    #[error("the bucket has no replication configuration")]
    NoSuchReplicationConfiguration,
    /// No usage statistics object has this name.
    #[error("the usage object does not exist")]
    NoSuchUsageReport,
    /// The write would take a bucket or a user past its storage quota; the text names the
    /// quota.
    #[error("{0}")]
    QuotaExceeded(String),
    /// Another user owns a bucket of this name.
    #[error("the bucket name is taken by another owner")]
    BucketAlreadyExists,
    /// The caller already owns a bucket of this name.
    #[error("the bucket already exists and is owned by the caller")]
    BucketAlreadyOwnedByYou,
    /// The bucket still holds objects.
    #[error("the bucket is not empty")]
    BucketNotEmpty,
    /// A write condition (`If-None-Match: *`, `If-Match`) does not hold.
    #[error("a write precondition does not hold")]
    PreconditionFailed,
    /// A part named in CompleteMultipartUpload was not uploaded, or its ETag differs.
    #[error("a listed part was not uploaded or its ETag does not match")]
    InvalidPart,
    /// The parts of CompleteMultipartUpload are not in strictly ascending order.
    #[error("the list of parts is not in ascending order")]
    InvalidPartOrder,
    /// A part other than the last is smaller than the 5 MiB minimum.
    #[error("a part other than the last is smaller than the minimum part size")]
    EntityTooSmall,
    /// The body is larger than the caller's limit.
    #[error("the body is larger than the maximum allowed size")]
    EntityTooLarge,
    /// A byte range lies outside the source object (UploadPartCopy).
    #[error("the requested range is not satisfiable")]
    InvalidRange,
    /// A user or account already holds the maximum number of key pairs.
    #[error("the user or account already holds the maximum number of key pairs")]
    KeyLimitReached,
    /// An argument is out of its allowed range; the text says which and why.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Reading the request body failed. The source is the stream's own error, unchanged, so
    /// the protocol layer can downcast it (a SigV4 chunk-signature failure, say).
    #[error("reading the request body failed")]
    Body(#[source] BoxError),
    /// The metadata database failed.
    #[error("metadata database error")]
    Db(#[from] DbErr),
    /// The blob store or the file system failed.
    #[error("storage I/O error")]
    Io(#[from] std::io::Error),
    /// The master key is unusable, or a secret failed to decrypt (wrong master key, or a
    /// tampered row).
    #[error("secret encryption error: {0}")]
    Crypto(String),
    /// A row the engine wrote cannot be read back (a key that is not UTF-8, an unknown user
    /// state): a bug or a hand-edited database.
    #[error("corrupt metadata: {0}")]
    CorruptMetadata(String),
}

impl EngineError {
    /// Whether the error is the server's fault (answer 500 and log it) rather than the
    /// request's.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            EngineError::Db(_)
                | EngineError::Io(_)
                | EngineError::Crypto(_)
                | EngineError::CorruptMetadata(_)
        )
    }
}
