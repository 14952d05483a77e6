//! The S3 error: a code from the S3 API's table, its HTTP status, and the XML document every S3
//! client knows how to read.

use http::StatusCode;

/// One row of the S3 error table: the code clients switch on and the status it travels with.
macro_rules! s3_error_codes {
    ($($code:ident => $status:expr, $message:expr;)*) => {
        /// The error codes Depot answers with, named as in the S3 API reference.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum S3ErrorCode { $($code),* }

        impl S3ErrorCode {
            /// The code as it appears in `<Code>`.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$code => stringify!($code)),* }
            }

            /// The HTTP status S3 sends with this code.
            pub fn status(self) -> StatusCode {
                match self { $(Self::$code => $status),* }
            }

            /// S3's usual message for this code.
            pub fn default_message(self) -> &'static str {
                match self { $(Self::$code => $message),* }
            }
        }
    };
}

s3_error_codes! {
    AccessControlListNotSupported => StatusCode::BAD_REQUEST, "The bucket does not allow ACLs";
    AccessDenied => StatusCode::FORBIDDEN, "Access Denied";
    AccountAlreadyExists => StatusCode::CONFLICT, "The user already has an account of this name.";
    AccountHasBuckets => StatusCode::CONFLICT, "The account still owns buckets.";
    AuthorizationHeaderMalformed => StatusCode::BAD_REQUEST, "The authorization header is malformed.";
    AuthorizationQueryParametersError => StatusCode::BAD_REQUEST, "The authorization query parameters are malformed.";
    BadDigest => StatusCode::BAD_REQUEST, "The Content-MD5 you specified did not match what we received.";
    BucketAlreadyExists => StatusCode::CONFLICT, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.";
    BucketAlreadyOwnedByYou => StatusCode::CONFLICT, "Your previous request to create the named bucket succeeded and you already own it.";
    BucketNotEmpty => StatusCode::CONFLICT, "The bucket you tried to delete is not empty";
    EntityTooLarge => StatusCode::BAD_REQUEST, "Your proposed upload exceeds the maximum allowed object size.";
    EntityTooSmall => StatusCode::BAD_REQUEST, "Your proposed upload is smaller than the minimum allowed object size.";
    IncompleteBody => StatusCode::BAD_REQUEST, "You did not provide the number of bytes specified by the Content-Length HTTP header.";
    InternalError => StatusCode::INTERNAL_SERVER_ERROR, "We encountered an internal error. Please try again.";
    InvalidAccessKeyId => StatusCode::FORBIDDEN, "The AWS Access Key Id you provided does not exist in our records.";
    InvalidArgument => StatusCode::BAD_REQUEST, "Invalid Argument";
    InvalidBucketName => StatusCode::BAD_REQUEST, "The specified bucket is not valid.";
    InvalidChunkSizeError => StatusCode::BAD_REQUEST, "Only the last chunk is allowed to have a size less than 8192 bytes";
    InvalidDigest => StatusCode::BAD_REQUEST, "The Content-MD5 you specified is not valid.";
    InvalidLocationConstraint => StatusCode::BAD_REQUEST, "The specified location constraint is not valid.";
    InvalidPolicyDocument => StatusCode::BAD_REQUEST, "The content of the form does not meet the conditions specified in the policy document.";
    InvalidPart => StatusCode::BAD_REQUEST, "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.";
    InvalidPartOrder => StatusCode::BAD_REQUEST, "The list of parts was not in ascending order. The parts list must be specified in order by part number.";
    InvalidRange => StatusCode::RANGE_NOT_SATISFIABLE, "The requested range is not satisfiable";
    InvalidRequest => StatusCode::BAD_REQUEST, "Invalid Request";
    InvalidStorageClass => StatusCode::BAD_REQUEST, "The storage class you specified is not valid";
    KeyLimitReached => StatusCode::CONFLICT, "The user or account already holds the maximum of two key pairs.";
    KeyTooLongError => StatusCode::BAD_REQUEST, "Your key is too long";
    MalformedACLError => StatusCode::BAD_REQUEST, "The XML you provided was not well-formed or did not validate against our published schema";
    MalformedPOSTRequest => StatusCode::BAD_REQUEST, "The body of your POST request is not well-formed multipart/form-data.";
    MalformedTrailerError => StatusCode::BAD_REQUEST, "The request contained trailing data that was not well-formed or did not conform to our published schema.";
    MalformedXML => StatusCode::BAD_REQUEST, "The XML you provided was not well-formed or did not validate against our published schema.";
    MaxMessageLengthExceeded => StatusCode::BAD_REQUEST, "Your request was too big.";
    MetadataTooLarge => StatusCode::BAD_REQUEST, "Your metadata headers exceed the maximum allowed metadata size.";
    MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED, "The specified method is not allowed against this resource.";
    MissingContentLength => StatusCode::LENGTH_REQUIRED, "You must provide the Content-Length HTTP header.";
    MissingRequestBodyError => StatusCode::BAD_REQUEST, "Request Body is empty.";
    MissingSecurityHeader => StatusCode::BAD_REQUEST, "Your request is missing a required header.";
    NoSuchAccessKey => StatusCode::NOT_FOUND, "The specified access key does not exist.";
    NoSuchAccount => StatusCode::NOT_FOUND, "The specified account does not exist.";
    NoSuchBucket => StatusCode::NOT_FOUND, "The specified bucket does not exist";
    NoSuchKey => StatusCode::NOT_FOUND, "The specified key does not exist.";
    NoSuchVersion => StatusCode::NOT_FOUND, "The specified version does not exist.";
    NoSuchLimits => StatusCode::NOT_FOUND, "No limits are set for the specified user or bucket.";
    NoSuchUsageObject => StatusCode::NOT_FOUND, "The specified usage statistics object does not exist.";
    NoSuchUser => StatusCode::NOT_FOUND, "The specified user does not exist.";
    NoSuchUpload => StatusCode::NOT_FOUND, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.";
    NotImplemented => StatusCode::NOT_IMPLEMENTED, "A header you provided implies functionality that is not implemented.";
    PreconditionFailed => StatusCode::PRECONDITION_FAILED, "At least one of the preconditions you specified did not hold.";
    QuotaExceeded => StatusCode::FORBIDDEN, "The request would exceed a storage quota.";
    ReplicationConfigurationNotFoundError => StatusCode::NOT_FOUND, "The replication configuration was not found.";
    RequestTimeTooSkewed => StatusCode::FORBIDDEN, "The difference between the request time and the server's time is too large.";
    SignatureDoesNotMatch => StatusCode::FORBIDDEN, "The request signature we calculated does not match the signature you provided. Check your key and signing method.";
    SlowDown => StatusCode::SERVICE_UNAVAILABLE, "Please reduce your request rate.";
    UserAlreadyExists => StatusCode::CONFLICT, "A user with this email address already exists.";
    UserHasBuckets => StatusCode::CONFLICT, "The user still owns buckets.";
    XAmzContentSHA256Mismatch => StatusCode::BAD_REQUEST, "The provided 'x-amz-content-sha256' header does not match what was computed.";
}

/// An S3 error on its way to the client: a code, a message, and the resource it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Error {
    /// The code.
    pub code: S3ErrorCode,
    /// The message; S3's default for the code unless something more useful is known.
    pub message: String,
    /// Extra elements some codes carry (`<BucketName>`, `<Key>`, `<Condition>`, …), in order.
    pub details: Vec<(&'static str, String)>,
}

impl S3Error {
    /// An error with the code's default message.
    pub fn new(code: S3ErrorCode) -> Self {
        Self {
            code,
            message: code.default_message().to_owned(),
            details: Vec::new(),
        }
    }

    /// An error with its own message.
    pub fn with_message(code: S3ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// Adds an element to the error document.
    pub fn detail(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.details.push((name, value.into()));
        self
    }

    /// The XML error document, with the resource and request id.
    pub fn to_xml(&self, resource: &str, request_id: &str) -> String {
        let mut xml = String::with_capacity(256);
        xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
        xml.push_str(self.code.as_str());
        xml.push_str("</Code><Message>");
        crate::xml::escape_into(&mut xml, &self.message);
        xml.push_str("</Message>");
        for (name, value) in &self.details {
            xml.push('<');
            xml.push_str(name);
            xml.push('>');
            crate::xml::escape_into(&mut xml, value);
            xml.push_str("</");
            xml.push_str(name);
            xml.push('>');
        }
        xml.push_str("<Resource>");
        crate::xml::escape_into(&mut xml, resource);
        xml.push_str("</Resource><RequestId>");
        crate::xml::escape_into(&mut xml, request_id);
        xml.push_str("</RequestId></Error>");
        xml
    }
}

impl From<S3ErrorCode> for S3Error {
    fn from(code: S3ErrorCode) -> Self {
        Self::new(code)
    }
}

impl std::fmt::Display for S3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for S3Error {}

/// The result of an S3 operation.
pub type S3Result<T> = Result<T, S3Error>;

/// Shorthand for an error with a message: `s3_error!(InvalidArgument, "max-keys must be …")`.
#[macro_export]
macro_rules! s3_error {
    ($code:ident) => {
        $crate::S3Error::new($crate::S3ErrorCode::$code)
    };
    ($code:ident, $($message:tt)+) => {
        $crate::S3Error::with_message($crate::S3ErrorCode::$code, format!($($message)+))
    };
}

impl From<depot_sigv4::SigV4Error> for S3Error {
    fn from(error: depot_sigv4::SigV4Error) -> Self {
        use depot_sigv4::SigV4Error as E;
        match error {
            E::MissingAuthorization => S3Error::new(S3ErrorCode::AccessDenied),
            E::MalformedAuthorization(m) | E::InvalidDate(m) => {
                S3Error::with_message(S3ErrorCode::AuthorizationHeaderMalformed, m)
            }
            E::UnsupportedAlgorithm(a) => S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                format!("Unsupported Authorization Type {a}"),
            ),
            E::ScopeMismatch(scope) => S3Error::with_message(
                S3ErrorCode::AuthorizationHeaderMalformed,
                format!(
                    "The authorization header is malformed; the credential scope {scope} is wrong."
                ),
            ),
            E::UnknownAccessKey => S3Error::new(S3ErrorCode::InvalidAccessKeyId),
            E::MissingSignedHeader(h) => S3Error::with_message(
                S3ErrorCode::AccessDenied,
                format!("There were headers present in the request which were not signed: {h}"),
            ),
            E::UnsignedHeader(h) => S3Error::with_message(
                S3ErrorCode::AccessDenied,
                format!("There were headers present in the request which were not signed: {h}"),
            ),
            E::HostMismatch => S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "The Host header does not match the request authority.",
            ),
            E::SignatureMismatch | E::ChunkSignatureMismatch => {
                S3Error::new(S3ErrorCode::SignatureDoesNotMatch)
            }
            E::RequestTimeTooSkewed => S3Error::new(S3ErrorCode::RequestTimeTooSkewed),
            E::Expired => S3Error::with_message(S3ErrorCode::AccessDenied, "Request has expired"),
            E::NotYetValid => {
                S3Error::with_message(S3ErrorCode::AccessDenied, "Request is not valid yet")
            }
            E::InvalidExpires => S3Error::with_message(
                S3ErrorCode::AuthorizationQueryParametersError,
                "X-Amz-Expires must be less than a week (in seconds) that is 604800",
            ),
            E::InvalidPayloadHash(m) => S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                format!(
                    "x-amz-content-sha256 must be a SHA-256 digest or a known payload mode: {m}"
                ),
            ),
            E::PayloadHashMismatch => S3Error::new(S3ErrorCode::XAmzContentSHA256Mismatch),
            E::MalformedChunk(m) if m.contains("8 KiB") => {
                S3Error::new(S3ErrorCode::InvalidChunkSizeError)
            }
            E::MalformedChunk(m) if m.contains("trailer") => {
                S3Error::with_message(S3ErrorCode::MalformedTrailerError, m)
            }
            E::MalformedChunk(m) => S3Error::with_message(S3ErrorCode::IncompleteBody, m),
            E::ChecksumMismatch(algorithm) => S3Error::with_message(
                S3ErrorCode::BadDigest,
                format!("The {algorithm} you specified did not match the calculated checksum."),
            ),
            E::InvalidChecksum(m) => S3Error::with_message(S3ErrorCode::InvalidRequest, m),
            E::Unsignable(m) => S3Error::with_message(S3ErrorCode::InternalError, m),
            _ => S3Error::new(S3ErrorCode::AccessDenied),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_error_document_with_escaping() {
        let error = S3Error::new(S3ErrorCode::NoSuchKey).detail("Key", "a<b>&\"c'");
        let xml = error.to_xml("/bucket/a<b>", "0123456789ABCDEF");
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>\
             <Message>The specified key does not exist.</Message><Key>a&lt;b&gt;&amp;&quot;c&apos;</Key>\
             <Resource>/bucket/a&lt;b&gt;</Resource><RequestId>0123456789ABCDEF</RequestId></Error>"
        );
        assert_eq!(
            S3ErrorCode::InvalidRange.status(),
            StatusCode::RANGE_NOT_SATISFIABLE
        );
        assert_eq!(
            s3_error!(SlowDown).code.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
