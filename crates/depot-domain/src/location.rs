//! `LocationCode`: the name of a place data is stored, each served by one storage provider.

use std::fmt;
use std::str::FromStr;

use crate::string_form::serde_via_string;

/// The code of a storage location, such as `NL`, `DE` or `EU-WEST-1`.
///
/// Each location in the configuration names one [`StorageProvider`](crate::StorageProvider),
/// and plans list the locations they are sold in (the RPC's `"locations": "NL,DE"`).
/// A code is 2 to 16 characters of letters, digits and hyphens, not starting or ending with
/// a hyphen. It is normalised to uppercase, so `nl` and `NL` are the same location — the RPC
/// sends whichever the caller typed.
///
/// ```
/// use depot_domain::{LocationCode, LocationCodeError};
///
/// let location: LocationCode = "eu-west-1".parse()?;
/// assert_eq!(location.as_str(), "EU-WEST-1");
/// assert_eq!("N".parse::<LocationCode>(), Err(LocationCodeError::TooShort { len: 1 }));
/// # Ok::<(), LocationCodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocationCode(String);

/// Why a string is not a valid [`LocationCode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LocationCodeError {
    /// Shorter than [`LocationCode::MIN_LEN`] characters.
    #[error("location code is {len} characters long; the minimum is 2")]
    TooShort {
        /// The length of the rejected code, in bytes.
        len: usize,
    },
    /// Longer than [`LocationCode::MAX_LEN`] characters.
    #[error("location code is {len} characters long; the maximum is 16")]
    TooLong {
        /// The length of the rejected code, in bytes.
        len: usize,
    },
    /// Contains a character other than ASCII letters, digits and `-`.
    #[error("location code contains {0:?}; only letters, digits and '-' are allowed")]
    InvalidCharacter(char),
    /// Starts or ends with `-`.
    #[error("location code must not start or end with '-'")]
    HyphenAtEdge,
}

impl LocationCode {
    /// The shortest valid code, in characters.
    pub const MIN_LEN: usize = 2;
    /// The longest valid code, in characters.
    pub const MAX_LEN: usize = 16;

    /// The code, in uppercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for LocationCode {
    type Err = LocationCodeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let len = text.len();
        if len < Self::MIN_LEN {
            return Err(LocationCodeError::TooShort { len });
        }
        if len > Self::MAX_LEN {
            return Err(LocationCodeError::TooLong { len });
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(LocationCodeError::InvalidCharacter(bad));
        }
        if text.starts_with('-') || text.ends_with('-') {
            return Err(LocationCodeError::HyphenAtEdge);
        }
        Ok(Self(text.to_ascii_uppercase()))
    }
}

impl fmt::Display for LocationCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl AsRef<str> for LocationCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

serde_via_string!(LocationCode, "a location code such as NL or EU-WEST-1");
