//! What `x-amz-content-sha256` promises about a request body, for the signer and the verifier.

use sha2::{Digest, Sha256};

use crate::SigV4Error;

/// `x-amz-content-sha256` of an unsigned body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// `x-amz-content-sha256` of an aws-chunked body with a signature per chunk.
pub const STREAMING_SIGNED_PAYLOAD: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// `x-amz-content-sha256` of an aws-chunked body with a signature per chunk and trailers.
pub const STREAMING_SIGNED_PAYLOAD_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
/// `x-amz-content-sha256` of an aws-chunked body without signatures but with trailers.
pub const STREAMING_UNSIGNED_PAYLOAD_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

/// The SHA-256 of the empty string, the payload hash of a request without a body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// How a request's body is covered by its signature (the value of `x-amz-content-sha256`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadMode {
    /// The body's SHA-256 is signed; the body must be hashed as it streams and compared at its end.
    Sha256([u8; 32]),
    /// The body is not covered by the signature.
    Unsigned,
    /// aws-chunked, each chunk signed, chained from the request's signature.
    StreamingSigned,
    /// aws-chunked, each chunk and the trailer signed.
    StreamingSignedTrailer,
    /// aws-chunked without signatures, with trailers (typically a checksum).
    StreamingUnsignedTrailer,
}

impl PayloadMode {
    /// Reads the value of `x-amz-content-sha256`. A digest must be 64 hex digits.
    pub fn parse(value: &str) -> Result<Self, SigV4Error> {
        match value {
            UNSIGNED_PAYLOAD => Ok(Self::Unsigned),
            STREAMING_SIGNED_PAYLOAD => Ok(Self::StreamingSigned),
            STREAMING_SIGNED_PAYLOAD_TRAILER => Ok(Self::StreamingSignedTrailer),
            STREAMING_UNSIGNED_PAYLOAD_TRAILER => Ok(Self::StreamingUnsignedTrailer),
            hex_digest if hex_digest.len() == 64 => {
                let mut digest = [0u8; 32];
                hex::decode_to_slice(hex_digest, &mut digest).map_err(|_| {
                    SigV4Error::InvalidPayloadHash(value.chars().take(80).collect())
                })?;
                Ok(Self::Sha256(digest))
            }
            other => Err(SigV4Error::InvalidPayloadHash(
                other.chars().take(80).collect(),
            )),
        }
    }

    /// The value as it appears in `x-amz-content-sha256` and the canonical request. A digest is
    /// written in lowercase hex.
    pub fn header_value(&self) -> String {
        match self {
            Self::Sha256(digest) => hex::encode(digest),
            Self::Unsigned => UNSIGNED_PAYLOAD.to_owned(),
            Self::StreamingSigned => STREAMING_SIGNED_PAYLOAD.to_owned(),
            Self::StreamingSignedTrailer => STREAMING_SIGNED_PAYLOAD_TRAILER.to_owned(),
            Self::StreamingUnsignedTrailer => STREAMING_UNSIGNED_PAYLOAD_TRAILER.to_owned(),
        }
    }

    /// Whether the body is aws-chunked framed.
    pub fn is_chunked(&self) -> bool {
        matches!(
            self,
            Self::StreamingSigned | Self::StreamingSignedTrailer | Self::StreamingUnsignedTrailer
        )
    }

    /// Whether each chunk carries a signature.
    pub fn has_chunk_signatures(&self) -> bool {
        matches!(self, Self::StreamingSigned | Self::StreamingSignedTrailer)
    }

    /// Whether trailing headers follow the last chunk.
    pub fn has_trailer(&self) -> bool {
        matches!(
            self,
            Self::StreamingSignedTrailer | Self::StreamingUnsignedTrailer
        )
    }
}

/// The body a client is about to sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignableBody<'a> {
    /// The whole body, hashed now.
    Bytes(&'a [u8]),
    /// The mode (or digest) to declare, for a body hashed elsewhere or streamed.
    Mode(PayloadMode),
}

impl SignableBody<'_> {
    /// The payload hash to sign.
    pub fn payload_hash(&self) -> String {
        match self {
            Self::Bytes(bytes) => hex::encode(Sha256::digest(bytes)),
            Self::Mode(mode) => mode.header_value(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_mode_and_rejects_the_rest() {
        for mode in [
            PayloadMode::Unsigned,
            PayloadMode::StreamingSigned,
            PayloadMode::StreamingSignedTrailer,
            PayloadMode::StreamingUnsignedTrailer,
            PayloadMode::Sha256([0xab; 32]),
        ] {
            assert_eq!(PayloadMode::parse(&mode.header_value()), Ok(mode));
        }
        assert_eq!(SignableBody::Bytes(b"").payload_hash(), EMPTY_SHA256,);
        for bad in [
            "",
            "unsigned-payload",
            "STREAMING-AWS4-HMAC-SHA256-EVENTS",
            &"g".repeat(64),
            &"a".repeat(63),
        ] {
            assert!(
                matches!(
                    PayloadMode::parse(bad),
                    Err(SigV4Error::InvalidPayloadHash(_))
                ),
                "{bad}"
            );
        }
    }
}
