//! S3 credentials: access key ids, secret access keys, and the pairs a user or account holds.

use std::fmt;
use std::str::FromStr;

use rand::rngs::OsRng;
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::identity::{UserId, UserIdError};
use crate::random::{SECRET_KEY_ALPHABET, UPPERCASE_ALPHANUMERIC, string_from_alphabet};
use crate::string_form::serde_via_string;

/// The most key pairs a user, or an account, may hold at once.
///
/// Ostor's limit (`genKey`: "A user or an account can only have two key pairs"), which also
/// matches AWS IAM: two pairs are enough to rotate without downtime.
pub const MAX_KEY_PAIRS_PER_OWNER: usize = 2;

/// An S3 access key id in the ostor form: the owner's [`UserId`] followed by four uppercase
/// letters or digits, 20 characters in all (`b09693b73b3c7686FIGH`).
///
/// Because the owner is part of the id, the data plane finds the user of a signed request
/// from the key id alone. The four-character suffix only has to be unique among one user's
/// keys — which holds at most [`MAX_KEY_PAIRS_PER_OWNER`] pairs per user or account — so a
/// provider that generates a clashing id simply draws again.
///
/// ```
/// use depot_domain::{AccessKeyId, AccessKeyIdError, UserId};
///
/// let id: AccessKeyId = "b09693b73b3c7686FIGH".parse()?;
/// assert_eq!(id.owner().to_string(), "b09693b73b3c7686");
/// assert_eq!(id.suffix(), "FIGH");
///
/// let user = UserId::generate();
/// assert_eq!(AccessKeyId::generate_for(user).owner(), user);
///
/// assert_eq!(
///     "b09693b73b3c7686figh".parse::<AccessKeyId>(),
///     Err(AccessKeyIdError::InvalidSuffixCharacter('f'))
/// );
/// # Ok::<(), AccessKeyIdError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccessKeyId {
    id: String,
    owner: UserId,
}

/// Why a string is not a valid [`AccessKeyId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccessKeyIdError {
    /// Not exactly 20 bytes long.
    #[error("access key id is {len} characters long; it must be exactly 20")]
    WrongLength {
        /// The length of the rejected id, in bytes.
        len: usize,
    },
    /// One of the first 16 characters (the owner's [`UserId`]) is not a lowercase hex digit.
    #[error("access key id must start with the owner's user id, but contains {0:?}")]
    InvalidOwnerCharacter(char),
    /// One of the last four characters is not an uppercase letter or a digit.
    #[error(
        "access key id ends with {0:?}; the last 4 characters must be uppercase letters or digits"
    )]
    InvalidSuffixCharacter(char),
}

impl AccessKeyId {
    /// The length of the string form.
    pub const LEN: usize = 20;
    /// The length of the random part after the owner's id.
    pub const SUFFIX_LEN: usize = Self::LEN - UserId::LEN;

    /// A fresh key id for `owner`, with a suffix from the operating system's CSPRNG.
    pub fn generate_for(owner: UserId) -> Self {
        Self::generate_for_with(owner, &mut OsRng)
    }

    /// A fresh key id for `owner`, with a suffix from the given cryptographically secure
    /// generator.
    pub fn generate_for_with<R: RngCore + CryptoRng + ?Sized>(owner: UserId, rng: &mut R) -> Self {
        let suffix = string_from_alphabet(rng, UPPERCASE_ALPHANUMERIC, Self::SUFFIX_LEN);
        Self {
            id: format!("{owner}{suffix}"),
            owner,
        }
    }

    /// The user the key belongs to (for an account's key, the account's owner).
    pub fn owner(&self) -> UserId {
        self.owner
    }

    /// The four characters after the owner's id.
    pub fn suffix(&self) -> &str {
        &self.id[UserId::LEN..]
    }

    /// The key id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.id
    }
}

impl FromStr for AccessKeyId {
    type Err = AccessKeyIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != Self::LEN {
            return Err(AccessKeyIdError::WrongLength { len: text.len() });
        }
        // Check character by character with byte offsets, so a multi-byte character is
        // reported as itself instead of making the owner/suffix split panic.
        for (offset, c) in text.char_indices() {
            if offset < UserId::LEN {
                if !matches!(c, '0'..='9' | 'a'..='f') {
                    return Err(AccessKeyIdError::InvalidOwnerCharacter(c));
                }
            } else if !(c.is_ascii_uppercase() || c.is_ascii_digit()) {
                return Err(AccessKeyIdError::InvalidSuffixCharacter(c));
            }
        }
        // Every byte is now ASCII, so the split is on a character boundary and the owner part
        // is 16 hex digits; the error arms only keep this free of panics.
        let owner = text
            .get(..UserId::LEN)
            .ok_or(AccessKeyIdError::WrongLength { len: text.len() })?
            .parse::<UserId>()
            .map_err(|error| match error {
                UserIdError::InvalidCharacter(c) => AccessKeyIdError::InvalidOwnerCharacter(c),
                UserIdError::WrongLength { .. } => {
                    AccessKeyIdError::WrongLength { len: text.len() }
                }
            })?;
        Ok(Self {
            id: text.to_owned(),
            owner,
        })
    }
}

impl fmt::Display for AccessKeyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.id)
    }
}

impl AsRef<str> for AccessKeyId {
    fn as_ref(&self) -> &str {
        &self.id
    }
}

serde_via_string!(AccessKeyId, "an access key id of 20 characters");

/// An S3 secret access key: 40 characters of the base64 alphabet (`A-Z a-z 0-9 + /`).
///
/// The secret never reaches a log by accident: `Debug` prints `SecretAccessKey(****)` and
/// `Display` prints `****`. Code that really needs the value — signing, storing it encrypted,
/// `show_key` — calls [`SecretAccessKey::expose_secret`], which is easy to find in review.
///
/// **Serde writes the real value.** An S3 server has to know each secret to verify
/// signatures, and ostor returns secrets in its JSON, so the serialized form is the secret
/// itself. Serialize it only into an encrypted store or a response to the key's owner.
///
/// Equality runs in time independent of where two secrets differ.
///
/// ```
/// use depot_domain::SecretAccessKey;
///
/// let secret: SecretAccessKey = "jO2p4JBN1tWc4FEGxwZ8qW2jPCJBYp8RJ4KgBcZP".parse()?;
/// assert_eq!(format!("{secret:?}"), "SecretAccessKey(****)");
/// assert_eq!(secret.to_string(), "****");
/// assert_eq!(secret.expose_secret(), "jO2p4JBN1tWc4FEGxwZ8qW2jPCJBYp8RJ4KgBcZP");
/// # Ok::<(), depot_domain::SecretAccessKeyError>(())
/// ```
#[derive(Clone)]
pub struct SecretAccessKey(String);

/// Why a string is not a valid [`SecretAccessKey`].
///
/// The variants carry positions, never characters, so an error message cannot leak part of a
/// secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretAccessKeyError {
    /// Not exactly 40 bytes long.
    #[error("secret access key is {len} characters long; it must be exactly 40")]
    WrongLength {
        /// The length of the rejected secret, in bytes.
        len: usize,
    },
    /// A character outside `A-Z a-z 0-9 + /` at this byte offset.
    #[error("secret access key has an invalid character at offset {position}")]
    InvalidCharacter {
        /// Byte offset of the first invalid character.
        position: usize,
    },
}

impl SecretAccessKey {
    /// The length of the secret.
    pub const LEN: usize = 40;

    /// A fresh secret from the operating system's CSPRNG (240 bits).
    pub fn generate() -> Self {
        Self::generate_with(&mut OsRng)
    }

    /// A fresh secret from the given cryptographically secure generator.
    pub fn generate_with<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self(string_from_alphabet(rng, SECRET_KEY_ALPHABET, Self::LEN))
    }

    /// The secret itself. Every call site is a place where the secret leaves this type.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl FromStr for SecretAccessKey {
    type Err = SecretAccessKeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != Self::LEN {
            return Err(SecretAccessKeyError::WrongLength { len: text.len() });
        }
        if let Some(position) = text.bytes().position(|b| !SECRET_KEY_ALPHABET.contains(&b)) {
            return Err(SecretAccessKeyError::InvalidCharacter { position });
        }
        Ok(Self(text.to_owned()))
    }
}

impl PartialEq for SecretAccessKey {
    fn eq(&self, other: &Self) -> bool {
        // Fold every byte instead of returning at the first difference, so the time taken does
        // not reveal how long a common prefix is. Lengths are public (always 40).
        let (left, right) = (self.0.as_bytes(), other.0.as_bytes());
        left.len() == right.len()
            && left
                .iter()
                .zip(right)
                .fold(0u8, |difference, (a, b)| difference | (a ^ b))
                == 0
    }
}

impl Eq for SecretAccessKey {}

impl fmt::Debug for SecretAccessKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SecretAccessKey(****)")
    }
}

impl fmt::Display for SecretAccessKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("****")
    }
}

impl Serialize for SecretAccessKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose_secret())
    }
}

impl<'de> Deserialize<'de> for SecretAccessKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretVisitor;

        impl serde::de::Visitor<'_> for SecretVisitor {
            type Value = SecretAccessKey;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a secret access key of 40 characters")
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<SecretAccessKey, E> {
                value.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(SecretVisitor)
    }
}

/// An access key id with its secret: the credentials of a user or of an account.
///
/// `Debug` shows the id and hides the secret.
///
/// ```
/// use depot_domain::{AccessKeyPair, UserId};
///
/// let user = UserId::generate();
/// let pair = AccessKeyPair::generate_for(user);
/// assert_eq!(pair.access_key_id.owner(), user);
/// assert!(format!("{pair:?}").contains("SecretAccessKey(****)"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeyPair {
    /// The public half, sent in every signed request.
    pub access_key_id: AccessKeyId,
    /// The secret half, used to sign.
    pub secret_access_key: SecretAccessKey,
}

impl AccessKeyPair {
    /// A fresh pair for `owner`, both halves from the operating system's CSPRNG.
    pub fn generate_for(owner: UserId) -> Self {
        Self::generate_for_with(owner, &mut OsRng)
    }

    /// A fresh pair for `owner` from the given cryptographically secure generator.
    pub fn generate_for_with<R: RngCore + CryptoRng + ?Sized>(owner: UserId, rng: &mut R) -> Self {
        Self {
            access_key_id: AccessKeyId::generate_for_with(owner, rng),
            secret_access_key: SecretAccessKey::generate_with(rng),
        }
    }
}

/// A secret of configuration — a key, a password, a URL that may carry one: usable by the
/// program, never shown by `Debug`.
///
/// ```
/// use depot_domain::Secret;
///
/// let secret: Secret = "hunter2".parse()?;
/// assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
/// assert_eq!(secret.expose(), "hunter2");
/// # Ok::<(), std::convert::Infallible>(())
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// `text` as a secret.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The secret itself. Every call site is a place where the secret leaves this type.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(<redacted>)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_parse_back() {
        let owner = UserId::generate();
        let pair = AccessKeyPair::generate_for(owner);
        assert_eq!(
            pair.access_key_id.as_str().parse::<AccessKeyId>(),
            Ok(pair.access_key_id.clone())
        );
        assert_eq!(
            pair.secret_access_key
                .expose_secret()
                .parse::<SecretAccessKey>(),
            Ok(pair.secret_access_key.clone())
        );
        assert_ne!(pair.secret_access_key, SecretAccessKey::generate());
    }

    #[test]
    fn errors_do_not_quote_the_secret() {
        let almost = format!("{}!", "a".repeat(39));
        let error = almost.parse::<SecretAccessKey>().err();
        assert_eq!(
            error,
            Some(SecretAccessKeyError::InvalidCharacter { position: 39 })
        );
        assert!(
            !error
                .map(|e| e.to_string())
                .unwrap_or_default()
                .contains('!')
        );
    }

    #[test]
    fn non_ascii_owner_is_an_invalid_character() {
        // 'é' is two bytes: 15 ASCII + 'é' + 3 ASCII = 20 bytes, straddling the split point.
        let text = format!("{}é{}", "a".repeat(15), "ABC");
        assert_eq!(
            text.parse::<AccessKeyId>(),
            Err(AccessKeyIdError::InvalidOwnerCharacter('é'))
        );
    }
}
