//! Identifiers of the platform's principals: ostor users, control-plane S3 accounts,
//! customers, plans and ostor sub-accounts.

use std::fmt;
use std::str::FromStr;

use rand::rngs::OsRng;
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::random::{ALPHANUMERIC, string_from_alphabet};
use crate::string_form::serde_via_string;

/// The id of an S3 user on a storage cluster: exactly 16 lowercase hex digits.
///
/// This is the Virtuozzo ostor form (`"UserId": "bf0b3b15eb7c9019"`), so ids from a remote
/// ostor cluster and ids Depot generates are interchangeable. The value is held as a `u64`,
/// which makes the type `Copy` and cheap to compare; it always prints as 16 digits, leading
/// zeros included.
///
/// ```
/// use depot_domain::{UserId, UserIdError};
///
/// let id: UserId = "bf0b3b15eb7c9019".parse()?;
/// assert_eq!(id.to_string(), "bf0b3b15eb7c9019");
///
/// assert_eq!("BF0B3B15EB7C9019".parse::<UserId>(), Err(UserIdError::InvalidCharacter('B')));
/// assert_eq!(UserId::generate().to_string().len(), 16);
/// # Ok::<(), UserIdError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(u64);

/// Why a string is not a valid [`UserId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UserIdError {
    /// Not exactly 16 bytes long.
    #[error("user id is {len} characters long; it must be exactly 16 lowercase hex digits")]
    WrongLength {
        /// The length of the rejected id, in bytes.
        len: usize,
    },
    /// Contains a character other than `0-9` and `a-f`.
    #[error("user id contains {0:?}; only lowercase hex digits are allowed")]
    InvalidCharacter(char),
}

impl UserId {
    /// The length of the string form.
    pub const LEN: usize = 16;

    /// `0000000000000000`, which ostor uses for "no owner" in `OwnerId`.
    ///
    /// [`UserId::generate`] never returns it, so it never names a real user.
    pub const NIL: UserId = UserId(0);

    /// A fresh random id from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self::generate_with(&mut OsRng)
    }

    /// A fresh random id from the given cryptographically secure generator.
    ///
    /// The `CryptoRng` bound keeps predictable generators out: user ids are embedded in
    /// access key ids and must not be guessable.
    pub fn generate_with<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        loop {
            let candidate = rng.next_u64();
            if candidate != Self::NIL.0 {
                return Self(candidate);
            }
        }
    }

    /// Whether this is [`UserId::NIL`].
    pub fn is_nil(self) -> bool {
        self == Self::NIL
    }
}

impl FromStr for UserId {
    type Err = UserIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != Self::LEN {
            return Err(UserIdError::WrongLength { len: text.len() });
        }
        let mut value: u64 = 0;
        for c in text.chars() {
            let digit = match c {
                '0'..='9' | 'a'..='f' => c.to_digit(16),
                _ => None,
            }
            .ok_or(UserIdError::InvalidCharacter(c))?;
            // Sixteen hex digits are exactly 64 bits, so the shift never loses a digit.
            value = (value << 4) | u64::from(digit);
        }
        Ok(Self(value))
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:016x}", self.0)
    }
}

serde_via_string!(UserId, "a user id of 16 lowercase hex digits");

/// The control plane's id of a customer's S3 account: exactly 32 ASCII letters and digits.
///
/// This is the `s3uid` of the Hostkey action RPC (`"s3uid": "7VT1xrnQbWSIQhoOrAngpLUL5reuFcXY"`),
/// the handle a customer uses for "my S3 service". It is case-sensitive.
///
/// ```
/// use depot_domain::{S3Uid, S3UidError};
///
/// let uid: S3Uid = "7VT1xrnQbWSIQhoOrAngpLUL5reuFcXY".parse()?;
/// assert_eq!(uid.as_str(), "7VT1xrnQbWSIQhoOrAngpLUL5reuFcXY");
/// assert_eq!("abc-123".parse::<S3Uid>(), Err(S3UidError::WrongLength { len: 7 }));
/// # Ok::<(), S3UidError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct S3Uid(String);

/// Why a string is not a valid [`S3Uid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum S3UidError {
    /// Not exactly 32 bytes long.
    #[error("s3uid is {len} characters long; it must be exactly 32 letters and digits")]
    WrongLength {
        /// The length of the rejected value, in bytes.
        len: usize,
    },
    /// Contains a character other than ASCII letters and digits.
    #[error("s3uid contains {0:?}; only ASCII letters and digits are allowed")]
    InvalidCharacter(char),
}

impl S3Uid {
    /// The length of the string form.
    pub const LEN: usize = 32;

    /// A fresh random s3uid from the operating system's CSPRNG (about 190 bits).
    pub fn generate() -> Self {
        Self::generate_with(&mut OsRng)
    }

    /// A fresh random s3uid from the given cryptographically secure generator.
    pub fn generate_with<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self(string_from_alphabet(rng, ALPHANUMERIC, Self::LEN))
    }

    /// The s3uid as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for S3Uid {
    type Err = S3UidError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != Self::LEN {
            return Err(S3UidError::WrongLength { len: text.len() });
        }
        if let Some(bad) = text.chars().find(|c| !c.is_ascii_alphanumeric()) {
            return Err(S3UidError::InvalidCharacter(bad));
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for S3Uid {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl AsRef<str> for S3Uid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

serde_via_string!(S3Uid, "an s3uid of 32 ASCII letters and digits");

/// The name of an ostor account: a named sub-identity of an S3 user with its own key pairs.
///
/// Ostor documents no rules for account names, and the name travels in query strings
/// (`accountName=…`), so Depot accepts 1 to [`AccountName::MAX_LEN`] bytes with no whitespace
/// or control characters: strict enough to keep invisible differences out, loose enough to
/// accept the names an existing cluster already has.
///
/// ```
/// use depot_domain::{AccountName, AccountNameError};
///
/// let name: AccountName = "backup-robot".parse()?;
/// assert_eq!(name.as_str(), "backup-robot");
/// assert_eq!("two words".parse::<AccountName>(), Err(AccountNameError::InvalidCharacter(' ')));
/// # Ok::<(), AccountNameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountName(String);

/// Why a string is not a valid [`AccountName`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccountNameError {
    /// The name is the empty string.
    #[error("account name must not be empty")]
    Empty,
    /// Longer than [`AccountName::MAX_LEN`] bytes.
    #[error("account name is {len} bytes long; the maximum is 64")]
    TooLong {
        /// The length of the rejected name, in bytes.
        len: usize,
    },
    /// Contains whitespace or a control character.
    #[error("account name must not contain whitespace or control characters (found {0:?})")]
    InvalidCharacter(char),
}

impl AccountName {
    /// The longest valid name, in bytes.
    pub const MAX_LEN: usize = 64;

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccountName {
    type Err = AccountNameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.len() {
            0 => return Err(AccountNameError::Empty),
            len if len > Self::MAX_LEN => return Err(AccountNameError::TooLong { len }),
            _ => {}
        }
        if let Some(bad) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(AccountNameError::InvalidCharacter(bad));
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for AccountName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl AsRef<str> for AccountName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

serde_via_string!(AccountName, "an account name");

/// Defines a numeric id newtype: the control plane's database keys, which the action RPC
/// sends as integers (`"plan_id": 5`, `"id": 123`).
macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The numeric value.
            pub fn get(self) -> u64 {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, formatter)
            }
        }

        impl From<u64> for $name {
            fn from(value: u64) -> Self {
                Self(value)
            }
        }
    };
}

numeric_id! {
    /// The control plane's id of a customer (the RPC's client `id`).
    ///
    /// ```
    /// use depot_domain::CustomerId;
    /// assert_eq!("123".parse::<CustomerId>().map(CustomerId::get), Ok(123));
    /// ```
    CustomerId
}

numeric_id! {
    /// The control plane's id of a pricing plan (the RPC's `plan_id`).
    PlanId
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_keeps_leading_zeros() {
        let id: UserId = "000000000000002a".parse().expect("valid id");
        assert_eq!(id.to_string(), "000000000000002a");
        assert!(!id.is_nil());
        assert!(UserId::NIL.is_nil());
        assert_eq!(UserId::NIL.to_string(), "0000000000000000");
    }

    #[test]
    fn user_id_rejects_signs_and_prefixes() {
        // `u64::from_str_radix` would accept a leading '+'; the per-character check must not.
        assert_eq!(
            "+00000000000002a".parse::<UserId>(),
            Err(UserIdError::InvalidCharacter('+'))
        );
        assert_eq!(
            "0x0000000000002a".parse::<UserId>(),
            Err(UserIdError::InvalidCharacter('x'))
        );
    }

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let first = UserId::generate();
        let second = UserId::generate();
        assert_ne!(first, second);
        assert_eq!(first.to_string().parse::<UserId>(), Ok(first));

        let uid = S3Uid::generate();
        assert_eq!(uid.as_str().parse::<S3Uid>(), Ok(uid.clone()));
        assert_ne!(uid, S3Uid::generate());
    }
}
