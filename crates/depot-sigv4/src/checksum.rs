//! The flexible checksums S3 clients attach to uploads (`x-amz-checksum-*`), computed as a
//! body streams.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use crc_fast::{CrcAlgorithm, Digest as CrcDigest};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::SigV4Error;

/// A checksum algorithm of the S3 API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    /// CRC-32 (ISO HDLC), 4 bytes.
    Crc32,
    /// CRC-32C (Castagnoli), 4 bytes.
    Crc32c,
    /// CRC-64/NVME, 8 bytes.
    Crc64Nvme,
    /// SHA-1, 20 bytes.
    Sha1,
    /// SHA-256, 32 bytes.
    Sha256,
}

impl ChecksumAlgorithm {
    /// Every algorithm.
    pub const ALL: [Self; 5] = [
        Self::Crc32,
        Self::Crc32c,
        Self::Crc64Nvme,
        Self::Sha1,
        Self::Sha256,
    ];

    /// The name used in `x-amz-checksum-algorithm` and `x-amz-sdk-checksum-algorithm`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }

    /// The header (or trailer) that carries the checksum, such as `x-amz-checksum-crc32`.
    pub fn header_name(self) -> &'static str {
        match self {
            Self::Crc32 => "x-amz-checksum-crc32",
            Self::Crc32c => "x-amz-checksum-crc32c",
            Self::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Self::Sha1 => "x-amz-checksum-sha1",
            Self::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The algorithm of a name (`CRC32`, case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// The algorithm whose header is `name` (case-insensitive).
    pub fn from_header_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.header_name().eq_ignore_ascii_case(name))
    }

    /// The digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Crc32 | Self::Crc32c => 4,
            Self::Crc64Nvme => 8,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }

    /// Decodes a base64 checksum value, checking its length.
    pub fn decode(self, value: &str) -> Result<Vec<u8>, SigV4Error> {
        let bytes = BASE64.decode(value.trim()).map_err(|_| {
            SigV4Error::InvalidChecksum(format!("{} is not base64", self.header_name()))
        })?;
        if bytes.len() != self.digest_len() {
            return Err(SigV4Error::InvalidChecksum(format!(
                "{} must be {} bytes",
                self.header_name(),
                self.digest_len()
            )));
        }
        Ok(bytes)
    }
}

/// A running checksum.
#[derive(Clone)]
pub struct Checksummer {
    algorithm: ChecksumAlgorithm,
    state: State,
}

#[derive(Clone)]
enum State {
    Crc(CrcDigest),
    Sha1(Sha1),
    Sha256(Sha256),
}

impl std::fmt::Debug for Checksummer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checksummer")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Checksummer {
    /// A checksum over no bytes yet.
    pub fn new(algorithm: ChecksumAlgorithm) -> Self {
        let state = match algorithm {
            ChecksumAlgorithm::Crc32 => State::Crc(CrcDigest::new(CrcAlgorithm::Crc32IsoHdlc)),
            ChecksumAlgorithm::Crc32c => State::Crc(CrcDigest::new(CrcAlgorithm::Crc32Iscsi)),
            ChecksumAlgorithm::Crc64Nvme => State::Crc(CrcDigest::new(CrcAlgorithm::Crc64Nvme)),
            ChecksumAlgorithm::Sha1 => State::Sha1(Sha1::new()),
            ChecksumAlgorithm::Sha256 => State::Sha256(Sha256::new()),
        };
        Self { algorithm, state }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }

    /// Adds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Crc(d) => d.update(data),
            State::Sha1(d) => d.update(data),
            State::Sha256(d) => d.update(data),
        }
    }

    /// The digest's bytes (big-endian for CRCs, as S3 transmits them).
    pub fn finalize(&self) -> Vec<u8> {
        match &self.state {
            State::Crc(d) if self.algorithm == ChecksumAlgorithm::Crc64Nvme => {
                d.finalize().to_be_bytes().to_vec()
            }
            // A CRC-32 is held in the low half of the 64-bit state.
            State::Crc(d) => (d.finalize() as u32).to_be_bytes().to_vec(),
            State::Sha1(d) => d.clone().finalize().to_vec(),
            State::Sha256(d) => d.clone().finalize().to_vec(),
        }
    }

    /// The digest in base64, as it appears in `x-amz-checksum-*`.
    pub fn finalize_base64(&self) -> String {
        BASE64.encode(self.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_check_values() {
        // The "check" values of the CRC catalogue (the checksum of "123456789") and the
        // well-known digests of the same string.
        let expect = [
            (ChecksumAlgorithm::Crc32, "cbf43926"),
            (ChecksumAlgorithm::Crc32c, "e3069283"),
            (ChecksumAlgorithm::Crc64Nvme, "ae8b14860a799888"),
            (
                ChecksumAlgorithm::Sha1,
                "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
            ),
            (
                ChecksumAlgorithm::Sha256,
                "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
            ),
        ];
        for (algorithm, hex_digest) in expect {
            let mut c = Checksummer::new(algorithm);
            c.update(b"1234");
            c.update(b"56789");
            assert_eq!(hex::encode(c.finalize()), hex_digest, "{algorithm:?}");
            assert_eq!(
                algorithm.decode(&c.finalize_base64()).unwrap(),
                c.finalize()
            );
        }
    }

    #[test]
    fn names_round_trip_and_values_are_checked() {
        for a in ChecksumAlgorithm::ALL {
            assert_eq!(
                ChecksumAlgorithm::from_name(&a.name().to_lowercase()),
                Some(a)
            );
            assert_eq!(
                ChecksumAlgorithm::from_header_name(a.header_name()),
                Some(a)
            );
        }
        assert!(ChecksumAlgorithm::Crc32.decode("not base64!").is_err());
        assert!(ChecksumAlgorithm::Crc32.decode("AAAAAAAA").is_err());
    }
}
