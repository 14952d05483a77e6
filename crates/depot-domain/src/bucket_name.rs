//! `BucketName`: the S3 general-purpose bucket naming rules, checked once at the edge.

use std::fmt;
use std::str::FromStr;

use crate::string_form::serde_via_string;

/// Prefixes AWS reserves; a bucket name must not start with any of them.
///
/// From the AWS page "General purpose bucket naming rules".
pub const RESERVED_BUCKET_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];

/// Suffixes AWS reserves for access points, Object Lambda, Multi-Region Access Points and
/// directory buckets; a bucket name must not end with any of them.
pub const RESERVED_BUCKET_SUFFIXES: [&str; 4] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3"];

/// A valid S3 bucket name.
///
/// The rules are those of AWS general-purpose buckets, so any name Depot accepts is also
/// accepted by AWS-compatible clients and by a remote ostor cluster:
///
/// - 3 to 63 characters;
/// - only lowercase ASCII letters, digits, `.` and `-`;
/// - starts and ends with a letter or digit;
/// - no `..`, and no `.-` or `-.` (AWS refuses these too, since they cannot be a DNS label
///   boundary in virtual-hosted-style addressing);
/// - not formatted as an IPv4 address (four dot-separated groups of one to three digits);
/// - not starting with a [reserved prefix](RESERVED_BUCKET_PREFIXES) nor ending with a
///   [reserved suffix](RESERVED_BUCKET_SUFFIXES).
///
/// Every broken rule has its own [`BucketNameError`] variant, checked in the order above, so
/// callers can map each to a precise protocol error.
///
/// ```
/// use depot_domain::{BucketName, BucketNameError};
///
/// let name: BucketName = "invoices-2024.eu".parse()?;
/// assert_eq!(name.as_str(), "invoices-2024.eu");
///
/// assert_eq!("My-Bucket".parse::<BucketName>(), Err(BucketNameError::InvalidCharacter('M')));
/// assert_eq!("192.168.5.4".parse::<BucketName>(), Err(BucketNameError::LooksLikeIpAddress));
/// # Ok::<(), BucketNameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BucketName(String);

/// Why a string is not a valid [`BucketName`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BucketNameError {
    /// Shorter than [`BucketName::MIN_LEN`] characters.
    #[error("bucket name is {len} characters long; the minimum is 3")]
    TooShort {
        /// The length of the rejected name, in bytes.
        len: usize,
    },
    /// Longer than [`BucketName::MAX_LEN`] characters.
    #[error("bucket name is {len} characters long; the maximum is 63")]
    TooLong {
        /// The length of the rejected name, in bytes.
        len: usize,
    },
    /// Contains a character other than lowercase letters, digits, `.` and `-`.
    #[error("bucket name contains {0:?}; only lowercase letters, digits, '.' and '-' are allowed")]
    InvalidCharacter(char),
    /// Starts with `.` or `-`.
    #[error("bucket name must start with a lowercase letter or a digit")]
    BadStart,
    /// Ends with `.` or `-`.
    #[error("bucket name must end with a lowercase letter or a digit")]
    BadEnd,
    /// Contains `..`.
    #[error("bucket name must not contain two adjacent periods")]
    ConsecutiveDots,
    /// Contains `.-` or `-.`.
    #[error("bucket name must not contain a period next to a hyphen")]
    DotNextToHyphen,
    /// Is formatted as an IPv4 address, such as `192.168.5.4`.
    #[error("bucket name must not be formatted as an IP address")]
    LooksLikeIpAddress,
    /// Starts with a prefix AWS reserves.
    #[error("bucket name must not start with the reserved prefix {0:?}")]
    ReservedPrefix(&'static str),
    /// Ends with a suffix AWS reserves.
    #[error("bucket name must not end with the reserved suffix {0:?}")]
    ReservedSuffix(&'static str),
}

impl BucketName {
    /// The shortest valid name, in characters.
    pub const MIN_LEN: usize = 3;
    /// The longest valid name, in characters.
    pub const MAX_LEN: usize = 63;

    /// Validates `name` against the S3 bucket naming rules.
    pub fn new(name: impl Into<String>) -> Result<Self, BucketNameError> {
        let name = name.into();
        validate(&name)?;
        Ok(Self(name))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the name, returning the inner string.
    pub fn into_string(self) -> String {
        self.0
    }
}

fn validate(name: &str) -> Result<(), BucketNameError> {
    // Length is checked on bytes; after the character check below every byte is one ASCII
    // character, and checking length first keeps a very long input from being scanned.
    let len = name.len();
    if len < BucketName::MIN_LEN {
        return Err(BucketNameError::TooShort { len });
    }
    if len > BucketName::MAX_LEN {
        return Err(BucketNameError::TooLong { len });
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
    {
        return Err(BucketNameError::InvalidCharacter(bad));
    }
    let is_letter_or_digit = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = name.as_bytes();
    if !bytes.first().copied().is_some_and(is_letter_or_digit) {
        return Err(BucketNameError::BadStart);
    }
    if !bytes.last().copied().is_some_and(is_letter_or_digit) {
        return Err(BucketNameError::BadEnd);
    }
    if name.contains("..") {
        return Err(BucketNameError::ConsecutiveDots);
    }
    if name.contains(".-") || name.contains("-.") {
        return Err(BucketNameError::DotNextToHyphen);
    }
    if looks_like_ipv4(name) {
        return Err(BucketNameError::LooksLikeIpAddress);
    }
    if let Some(prefix) = RESERVED_BUCKET_PREFIXES
        .iter()
        .find(|prefix| name.starts_with(**prefix))
    {
        return Err(BucketNameError::ReservedPrefix(prefix));
    }
    if let Some(suffix) = RESERVED_BUCKET_SUFFIXES
        .iter()
        .find(|suffix| name.ends_with(**suffix))
    {
        return Err(BucketNameError::ReservedSuffix(suffix));
    }
    Ok(())
}

/// "Formatted as an IP address" in the AWS sense: four groups of one to three digits.
///
/// Out-of-range groups such as `999.1.1.1` are refused too: they still read as an address to
/// a human and to lenient resolvers, and AWS refuses them.
fn looks_like_ipv4(name: &str) -> bool {
    let groups: Vec<&str> = name.split('.').collect();
    groups.len() == 4
        && groups.iter().all(|group| {
            (1..=3).contains(&group.len()) && group.bytes().all(|b| b.is_ascii_digit())
        })
}

impl FromStr for BucketName {
    type Err = BucketNameError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        validate(name)?;
        Ok(Self(name.to_owned()))
    }
}

impl TryFrom<String> for BucketName {
    type Error = BucketNameError;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::new(name)
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl AsRef<str> for BucketName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<BucketName> for String {
    fn from(name: BucketName) -> Self {
        name.0
    }
}

serde_via_string!(BucketName, "an S3 bucket name");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_boundary_lengths() {
        assert!("abc".parse::<BucketName>().is_ok());
        assert!("a".repeat(63).parse::<BucketName>().is_ok());
    }

    #[test]
    fn length_is_checked_before_characters() {
        assert_eq!(
            "A".parse::<BucketName>(),
            Err(BucketNameError::TooShort { len: 1 })
        );
        assert_eq!(
            "A".repeat(64).parse::<BucketName>(),
            Err(BucketNameError::TooLong { len: 64 })
        );
    }

    #[test]
    fn dotted_names_that_are_not_addresses_are_fine() {
        assert!("1.2.3".parse::<BucketName>().is_ok());
        assert!("1.2.3.4.5".parse::<BucketName>().is_ok());
        assert!("1.2.3.a".parse::<BucketName>().is_ok());
        assert!("1234.2.3.4".parse::<BucketName>().is_ok());
    }

    #[test]
    fn reserved_words_inside_the_name_are_fine() {
        assert!("my-xn--bucket".parse::<BucketName>().is_ok());
        assert!("my-s3alias-bucket".parse::<BucketName>().is_ok());
    }
}
