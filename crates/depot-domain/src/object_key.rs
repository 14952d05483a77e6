//! `ObjectKey`: an S3 object key, kept verbatim, and the rule that keeps keys off the file system.

use std::fmt;
use std::str::FromStr;

use crate::string_form::serde_via_string;

/// An S3 object key: any UTF-8 string of 1 to 1024 bytes, kept exactly as the client sent it.
///
/// S3 allows almost anything in a key, and clients rely on that: `../../etc/passwd`,
/// `/leading/slash`, `a//b`, `.` and keys with control characters are all valid keys and are
/// stored and listed as written. This type therefore checks only what S3 checks — the key is
/// not empty and is at most [`ObjectKey::MAX_LEN`] bytes of UTF-8 — and never normalises it.
///
/// # Keys never become file paths
///
/// Because a key can be anything, no storage backend may derive a file-system path from it.
/// The rule every crate follows:
///
/// - a blob is stored under a name the server chooses — a random or content-hash-derived
///   blob id made of hex digits — inside the data directory;
/// - the key lives only in the metadata database, as a column next to that blob id;
/// - lookups go key → metadata row → blob id → blob.
///
/// So `../../etc/passwd` is just a row whose key column reads `../../etc/passwd`; nothing a
/// client sends can name a location outside the data directory, and there is no escaping or
/// sanitising to get wrong.
///
/// ```
/// use depot_domain::{ObjectKey, ObjectKeyError};
///
/// let key: ObjectKey = "../../etc/passwd".parse()?;
/// assert_eq!(key.as_str(), "../../etc/passwd");
///
/// assert_eq!("".parse::<ObjectKey>(), Err(ObjectKeyError::Empty));
/// assert_eq!("k".repeat(1025).parse::<ObjectKey>(), Err(ObjectKeyError::TooLong { len: 1025 }));
/// # Ok::<(), ObjectKeyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey(String);

/// Why a value is not a valid [`ObjectKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ObjectKeyError {
    /// The key is the empty string.
    #[error("object key must not be empty")]
    Empty,
    /// The key is longer than [`ObjectKey::MAX_LEN`] bytes of UTF-8.
    #[error("object key is {len} bytes long; the maximum is 1024 bytes of UTF-8")]
    TooLong {
        /// The length of the rejected key, in bytes.
        len: usize,
    },
    /// The bytes are not valid UTF-8 (only from [`ObjectKey::from_utf8`]).
    #[error("object key is not valid UTF-8 (invalid byte at offset {valid_up_to})")]
    InvalidUtf8 {
        /// The offset of the first byte that is not part of valid UTF-8.
        valid_up_to: usize,
    },
}

impl ObjectKey {
    /// The longest valid key, in bytes of UTF-8.
    pub const MAX_LEN: usize = 1024;

    /// Validates `key`'s length and keeps it verbatim.
    pub fn new(key: impl Into<String>) -> Result<Self, ObjectKeyError> {
        let key = key.into();
        validate(&key)?;
        Ok(Self(key))
    }

    /// Builds a key from raw bytes, such as a percent-decoded request path.
    ///
    /// ```
    /// use depot_domain::{ObjectKey, ObjectKeyError};
    ///
    /// assert_eq!(ObjectKey::from_utf8(b"photos/2024/cat.jpg".to_vec())?.as_str(), "photos/2024/cat.jpg");
    /// assert_eq!(
    ///     ObjectKey::from_utf8(vec![b'a', 0xff]),
    ///     Err(ObjectKeyError::InvalidUtf8 { valid_up_to: 1 })
    /// );
    /// # Ok::<(), ObjectKeyError>(())
    /// ```
    pub fn from_utf8(bytes: Vec<u8>) -> Result<Self, ObjectKeyError> {
        let key = String::from_utf8(bytes).map_err(|error| ObjectKeyError::InvalidUtf8 {
            valid_up_to: error.utf8_error().valid_up_to(),
        })?;
        Self::new(key)
    }

    /// The key as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the key, returning the inner string.
    pub fn into_string(self) -> String {
        self.0
    }
}

fn validate(key: &str) -> Result<(), ObjectKeyError> {
    match key.len() {
        0 => Err(ObjectKeyError::Empty),
        len if len > ObjectKey::MAX_LEN => Err(ObjectKeyError::TooLong { len }),
        _ => Ok(()),
    }
}

impl FromStr for ObjectKey {
    type Err = ObjectKeyError;

    fn from_str(key: &str) -> Result<Self, Self::Err> {
        validate(key)?;
        Ok(Self(key.to_owned()))
    }
}

impl TryFrom<String> for ObjectKey {
    type Error = ObjectKeyError;

    fn try_from(key: String) -> Result<Self, Self::Error> {
        Self::new(key)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<ObjectKey> for String {
    fn from(key: ObjectKey) -> Self {
        key.0
    }
}

serde_via_string!(ObjectKey, "an S3 object key of 1 to 1024 bytes");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_bytes_not_characters() {
        // 'é' is two bytes in UTF-8: 512 of them are exactly 1024 bytes.
        assert!("é".repeat(512).parse::<ObjectKey>().is_ok());
        assert_eq!(
            format!("{}x", "é".repeat(512)).parse::<ObjectKey>(),
            Err(ObjectKeyError::TooLong { len: 1025 })
        );
    }

    #[test]
    fn path_like_keys_are_kept_verbatim() {
        for key in [
            "../../etc/passwd",
            "/leading",
            "a//b",
            ".",
            "..",
            "nul\0inside",
            " spaced ",
        ] {
            assert_eq!(
                key.parse::<ObjectKey>().map(ObjectKey::into_string),
                Ok(key.to_owned())
            );
        }
    }
}
