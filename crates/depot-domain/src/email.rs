//! `Email`: the address that names a customer and an ostor user.

use std::fmt;
use std::str::FromStr;

use crate::string_form::serde_via_string;

/// An email address, validated pragmatically and with its domain in lowercase.
///
/// Ostor identifies users by email (`?ostor-users&emailAddress=…`), so the check is what keeps
/// garbage out of a remote cluster and out of query strings — not a full RFC 5322 parser,
/// which would accept addresses no mail system delivers to. An address is valid when it:
///
/// - is at most [`Email::MAX_LEN`] bytes long (the RFC 5321 path limit);
/// - contains no whitespace or control characters;
/// - has exactly one `@`;
/// - has a local part of 1 to [`Email::MAX_LOCAL_LEN`] bytes;
/// - has a domain of dot-separated, non-empty labels, with at least one dot.
///
/// The domain is lowercased because domains are case-insensitive; the local part is kept as
/// written because RFC 5321 lets the receiving server treat it case-sensitively. So
/// `Ann@Example.COM` and `Ann@example.com` are the same `Email`.
///
/// ```
/// use depot_domain::{Email, EmailError};
///
/// let email: Email = "Ann.Lee@Example.COM".parse()?;
/// assert_eq!(email.as_str(), "Ann.Lee@example.com");
/// assert_eq!(email.local_part(), "Ann.Lee");
/// assert_eq!(email.domain(), "example.com");
///
/// assert_eq!("ann@localhost".parse::<Email>(), Err(EmailError::DomainWithoutDot));
/// # Ok::<(), EmailError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email {
    address: String,
    /// Byte offset of the `@`, kept so the parts can be borrowed without re-scanning.
    at: usize,
}

/// Why a string is not a valid [`Email`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Longer than [`Email::MAX_LEN`] bytes.
    #[error("email address is {len} bytes long; the maximum is 254")]
    TooLong {
        /// The length of the rejected address, in bytes.
        len: usize,
    },
    /// Contains whitespace or a control character.
    #[error("email address must not contain whitespace or control characters (found {0:?})")]
    InvalidCharacter(char),
    /// Has no `@`.
    #[error("email address has no '@'")]
    MissingAt,
    /// Has more than one `@`.
    #[error("email address has more than one '@'")]
    MultipleAt,
    /// Nothing before the `@`.
    #[error("email address has nothing before the '@'")]
    EmptyLocalPart,
    /// The part before the `@` is longer than [`Email::MAX_LOCAL_LEN`] bytes.
    #[error("email local part is {len} bytes long; the maximum is 64")]
    LocalPartTooLong {
        /// The length of the rejected local part, in bytes.
        len: usize,
    },
    /// Nothing after the `@`.
    #[error("email address has nothing after the '@'")]
    EmptyDomain,
    /// The domain has no `.`.
    #[error("email domain must contain a '.'")]
    DomainWithoutDot,
    /// The domain starts or ends with `.`, or contains `..`.
    #[error("email domain has an empty label")]
    EmptyDomainLabel,
}

impl Email {
    /// The longest valid address, in bytes.
    pub const MAX_LEN: usize = 254;
    /// The longest valid local part (before the `@`), in bytes.
    pub const MAX_LOCAL_LEN: usize = 64;

    /// The normalised address: local part as written, domain in lowercase.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The part before the `@`, as written.
    pub fn local_part(&self) -> &str {
        &self.address[..self.at]
    }

    /// The part after the `@`, in lowercase.
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }

    /// Consumes the address, returning the normalised string.
    pub fn into_string(self) -> String {
        self.address
    }
}

impl FromStr for Email {
    type Err = EmailError;

    fn from_str(address: &str) -> Result<Self, Self::Err> {
        let len = address.len();
        if len > Self::MAX_LEN {
            return Err(EmailError::TooLong { len });
        }
        if let Some(bad) = address
            .chars()
            .find(|c| c.is_whitespace() || c.is_control())
        {
            return Err(EmailError::InvalidCharacter(bad));
        }
        let Some((local, domain)) = address.split_once('@') else {
            return Err(EmailError::MissingAt);
        };
        if domain.contains('@') {
            return Err(EmailError::MultipleAt);
        }
        if local.is_empty() {
            return Err(EmailError::EmptyLocalPart);
        }
        if local.len() > Self::MAX_LOCAL_LEN {
            return Err(EmailError::LocalPartTooLong { len: local.len() });
        }
        if domain.is_empty() {
            return Err(EmailError::EmptyDomain);
        }
        if !domain.contains('.') {
            return Err(EmailError::DomainWithoutDot);
        }
        if domain.split('.').any(str::is_empty) {
            return Err(EmailError::EmptyDomainLabel);
        }
        // Lowercasing can change the byte length of some non-ASCII characters, so the length
        // limit is re-checked on the normalised form that is actually stored.
        let normalised = format!("{local}@{}", domain.to_lowercase());
        if normalised.len() > Self::MAX_LEN {
            return Err(EmailError::TooLong {
                len: normalised.len(),
            });
        }
        Ok(Self {
            address: normalised,
            at: local.len(),
        })
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;

    fn try_from(address: String) -> Result<Self, Self::Error> {
        address.parse()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.address)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.address
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.address
    }
}

serde_via_string!(Email, "an email address");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_lengths() {
        let local = "l".repeat(64);
        assert!(format!("{local}@example.com").parse::<Email>().is_ok());
        assert_eq!(
            format!("{local}x@example.com").parse::<Email>(),
            Err(EmailError::LocalPartTooLong { len: 65 })
        );
        // 64 + 1 + 189 = 254 bytes.
        let domain = format!("{}.com", "d".repeat(185));
        assert!(format!("{local}@{domain}").parse::<Email>().is_ok());
        assert_eq!(
            format!("{local}@d{domain}").parse::<Email>(),
            Err(EmailError::TooLong { len: 255 })
        );
    }

    #[test]
    fn equal_after_domain_normalisation_only() {
        let upper: Email = "Ann@EXAMPLE.com".parse().expect("valid address");
        let lower: Email = "Ann@example.com".parse().expect("valid address");
        let other: Email = "ann@example.com".parse().expect("valid address");
        assert_eq!(upper, lower);
        assert_ne!(upper, other);
    }
}
