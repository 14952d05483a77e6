//! Drawing identifiers and secrets from a cryptographically secure random generator.
//!
//! Every `generate` in this crate goes through here so that the security-relevant choices —
//! which generator, and uniform (unbiased) selection from an alphabet — are made once.

use rand::{CryptoRng, Rng, RngCore};

/// A string of `len` characters drawn uniformly from `alphabet`.
///
/// `gen_range` rejects out-of-range samples instead of taking a modulo, so every character of
/// the alphabet is equally likely: a biased secret would be a weaker secret.
pub(crate) fn string_from_alphabet<R>(rng: &mut R, alphabet: &[u8], len: usize) -> String
where
    R: RngCore + CryptoRng + ?Sized,
{
    (0..len)
        .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
        .collect()
}

/// Digits and uppercase ASCII letters.
pub(crate) const UPPERCASE_ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Digits and both cases of ASCII letters.
pub(crate) const ALPHANUMERIC: &[u8] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The alphabet of AWS-style secret access keys: the base64 alphabet without padding.
pub(crate) const SECRET_KEY_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
