//! Credential scopes, signing-key derivation and the cache that spares a server four HMACs per
//! request.

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{AmzDate, SigV4Error};

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The name of the one algorithm this crate implements.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The terminator of every SigV4 credential scope.
const SCOPE_TERMINATOR: &str = "aws4_request";

pub(crate) fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The credential scope `date/region/service/aws4_request` that a signature is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// `YYYYMMDD`.
    pub date: String,
    /// The region, such as `us-east-1`.
    pub region: String,
    /// The service, `s3` for object storage.
    pub service: String,
}

impl Scope {
    /// The scope of a signature made at `date`.
    pub fn new(date: AmzDate, region: impl Into<String>, service: impl Into<String>) -> Self {
        Self {
            date: date.date_stamp(),
            region: region.into(),
            service: service.into(),
        }
    }

    /// Parses `date/region/service/aws4_request` (the part of a credential after the key id).
    pub fn parse(text: &str) -> Result<Self, SigV4Error> {
        let malformed = || SigV4Error::MalformedAuthorization(format!("credential scope `{text}`"));
        let mut parts = text.split('/');
        let (Some(date), Some(region), Some(service), Some(terminator), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(malformed());
        };
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        // Region and service become part of a cache key and of every log line about the
        // request: keep them short and plain.
        let plain = |part: &str| {
            (1..=64).contains(&part.len())
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        };
        if !plain(region) || !plain(service) {
            return Err(malformed());
        }
        if terminator != SCOPE_TERMINATOR {
            return Err(SigV4Error::ScopeMismatch(text.to_owned()));
        }
        Ok(Self {
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        })
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{SCOPE_TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

/// The string to sign: algorithm, request date, scope and the hash of the canonical request.
pub fn string_to_sign(date: AmzDate, scope: &Scope, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The key derived from a secret for one scope:
/// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey([u8; 32]);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(****)")
    }
}

impl SigningKey {
    /// Derives the key of `secret` for `scope`.
    pub fn derive(secret: &str, scope: &Scope) -> Self {
        let mut seed = Vec::with_capacity(4 + secret.len());
        seed.extend_from_slice(b"AWS4");
        seed.extend_from_slice(secret.as_bytes());
        let k_date = hmac(&seed, scope.date.as_bytes());
        let k_region = hmac(&k_date, scope.region.as_bytes());
        let k_service = hmac(&k_region, scope.service.as_bytes());
        Self(hmac(&k_service, SCOPE_TERMINATOR.as_bytes()))
    }

    /// The lowercase hex signature of `string_to_sign`.
    pub fn sign(&self, string_to_sign: &str) -> String {
        hex::encode(hmac(&self.0, string_to_sign.as_bytes()))
    }
}

/// Compares a computed signature with the one the client sent, in time independent of where
/// they differ, so a client cannot learn a valid signature byte by byte.
pub(crate) fn signatures_match(computed: &str, provided: &str) -> bool {
    computed.len() == provided.len() && bool::from(computed.as_bytes().ct_eq(provided.as_bytes()))
}

/// A server-side cache of signing keys per (access key, date, region, service).
///
/// A key is valid for a whole day, so deriving it once per day and key instead of once per
/// request removes four of the five HMACs of a verification. The secret is checked on every
/// hit, so a key whose secret changed is derived anew. The cache is bounded: when full it is
/// emptied, which costs one derivation per active key.
#[derive(Debug)]
pub struct SigningKeyCache {
    entries: Mutex<HashMap<CacheKey, CachedKey>>,
    capacity: usize,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct CacheKey {
    access_key_id: String,
    scope: Scope,
}

#[derive(Debug)]
struct CachedKey {
    secret_digest: [u8; 32],
    key: SigningKey,
}

impl Default for SigningKeyCache {
    fn default() -> Self {
        Self::with_capacity(16_384)
    }
}

impl SigningKeyCache {
    /// A cache holding at most `capacity` keys.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The cached signing key of `secret` for `scope`, if any.
    pub fn lookup(&self, access_key_id: &str, secret: &str, scope: &Scope) -> Option<SigningKey> {
        let cache_key = CacheKey {
            access_key_id: access_key_id.to_owned(),
            scope: scope.clone(),
        };
        let digest = secret_digest(secret);
        // A poisoned lock only means another thread panicked mid-insert; the map is still a
        // valid cache, so keep using it.
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&cache_key)
            .filter(|hit| bool::from(hit.secret_digest.ct_eq(&digest)))
            .map(|hit| hit.key.clone())
    }

    /// Remembers a key. Call it only once the key has produced a matching signature, so that
    /// forged requests cannot fill the cache.
    pub fn store(&self, access_key_id: &str, secret: &str, scope: &Scope, key: &SigningKey) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(
            CacheKey {
                access_key_id: access_key_id.to_owned(),
                scope: scope.clone(),
            },
            CachedKey {
                secret_digest: secret_digest(secret),
                key: key.clone(),
            },
        );
    }
}

fn secret_digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_scope() -> Scope {
        Scope {
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "iam".into(),
        }
    }

    #[test]
    fn derives_the_documented_signing_key() {
        // The example of "Deriving the signing key" in the AWS General Reference.
        let key = SigningKey::derive("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &example_scope());
        assert_eq!(
            hex::encode(key.0),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn scope_round_trips_and_rejects_bad_forms() {
        let scope = example_scope();
        assert_eq!(Scope::parse(&scope.to_string()), Ok(scope));
        assert!(matches!(
            Scope::parse("20150830/us-east-1/iam/aws5_request"),
            Err(SigV4Error::ScopeMismatch(_))
        ));
        for bad in [
            "",
            "20150830/us-east-1/iam",
            "2015083/us-east-1/iam/aws4_request",
            "20150830//iam/aws4_request",
            "20150830/a/b/aws4_request/x",
        ] {
            assert!(
                matches!(
                    Scope::parse(bad),
                    Err(SigV4Error::MalformedAuthorization(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn cache_rederives_when_the_secret_changes() {
        let cache = SigningKeyCache::with_capacity(2);
        let scope = example_scope();
        let first = SigningKey::derive("secret-1", &scope);
        assert_eq!(cache.lookup("AK", "secret-1", &scope), None);
        cache.store("AK", "secret-1", &scope, &first);
        assert_eq!(cache.lookup("AK", "secret-1", &scope), Some(first));
        assert_eq!(cache.lookup("AK", "secret-2", &scope), None);
        // Past capacity the cache empties itself rather than grow.
        let key = SigningKey::derive("s", &scope);
        cache.store("B", "s", &scope, &key);
        cache.store("C", "s", &scope, &key);
        assert!(cache.entries.lock().unwrap().len() <= 2);
    }

    #[test]
    fn signature_comparison_needs_equal_length_and_bytes() {
        assert!(signatures_match("abcd", "abcd"));
        assert!(!signatures_match("abcd", "abce"));
        assert!(!signatures_match("abcd", "abc"));
    }
}
