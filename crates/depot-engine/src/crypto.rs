//! Secrets at rest: the master key file and the AEAD that seals secret access keys with it.
//!
//! An S3 server must know each secret to verify signatures, so secrets cannot be hashed; they
//! are encrypted with XChaCha20-Poly1305 under a 32-byte master key. The 24-byte nonce is
//! random per secret (large enough that random nonces never repeat in practice) and stored in
//! front of the ciphertext. The access key id is the associated data, so a ciphertext copied
//! onto another key's row fails to open instead of handing out the wrong secret.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use rand::rngs::OsRng;

use crate::error::EngineError;

/// The length of the master key, in bytes.
pub(crate) const MASTER_KEY_LEN: usize = 32;

/// The first byte of every sealed secret: the format, so a later key rotation can tell old
/// ciphertexts from new ones.
const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 24;

/// Encrypts and decrypts secret access keys under the master key.
pub(crate) struct SecretSealer {
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for SecretSealer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SecretSealer(****)")
    }
}

impl SecretSealer {
    pub(crate) fn new(master_key: &[u8; MASTER_KEY_LEN]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(Key::from_slice(master_key)),
        }
    }

    /// `FORMAT_V1 ‖ nonce ‖ ciphertext ‖ tag` of `secret`, bound to `access_key_id`.
    pub(crate) fn seal(&self, access_key_id: &str, secret: &str) -> Result<Vec<u8>, EngineError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: access_key_id.as_bytes(),
                },
            )
            .map_err(|_| EngineError::Crypto("encrypting a secret failed".to_owned()))?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(FORMAT_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// The secret sealed by [`SecretSealer::seal`] for `access_key_id`.
    pub(crate) fn open(&self, access_key_id: &str, sealed: &[u8]) -> Result<String, EngineError> {
        let (format, rest) = sealed
            .split_first()
            .ok_or_else(|| EngineError::Crypto("sealed secret is empty".to_owned()))?;
        if *format != FORMAT_V1 {
            return Err(EngineError::Crypto(format!(
                "sealed secret has unknown format {format}"
            )));
        }
        if rest.len() < NONCE_LEN {
            return Err(EngineError::Crypto("sealed secret is truncated".to_owned()));
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let plaintext = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: access_key_id.as_bytes(),
                },
            )
            // Deliberately vague: the usual cause is a different master key than the one the
            // secret was sealed with, and nothing about the secret may leak.
            .map_err(|_| {
                EngineError::Crypto(
                    "a secret failed to decrypt: wrong master key or tampered row".to_owned(),
                )
            })?;
        String::from_utf8(plaintext)
            .map_err(|_| EngineError::Crypto("a decrypted secret is not UTF-8".to_owned()))
    }
}

/// Reads `path`, or creates it with 32 fresh random bytes (mode 0600) if it does not exist.
///
/// Creation writes a temporary file, syncs it, and hard-links it into place: the link fails if
/// another process won the race, and a crash never leaves a half-written key behind. Blocking;
/// run it off the async threads.
pub(crate) fn load_or_create_master_key(path: &Path) -> Result<[u8; MASTER_KEY_LEN], EngineError> {
    match read_master_key(path) {
        Ok(key) => return Ok(key),
        Err(EngineError::Io(error)) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let mut key = [0u8; MASTER_KEY_LEN];
    OsRng.fill_bytes(&mut key);
    let temporary = path.with_extension(format!("tmp-{:016x}", OsRng.next_u64()));
    let written = write_private_file(&temporary, &key)
        .and_then(|()| std::fs::hard_link(&temporary, path))
        .and_then(|()| sync_parent(path));
    // The temporary name has served its purpose either way.
    let _ = std::fs::remove_file(&temporary);
    match written {
        Ok(()) => Ok(key),
        // Another process created the key first: use theirs.
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => read_master_key(path),
        Err(error) => Err(EngineError::Io(error)),
    }
}

fn read_master_key(path: &Path) -> Result<[u8; MASTER_KEY_LEN], EngineError> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(MASTER_KEY_LEN);
    // One byte more than a key, to notice a file that is too long without reading it all.
    file.take(MASTER_KEY_LEN as u64 + 1)
        .read_to_end(&mut bytes)?;
    <[u8; MASTER_KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
        EngineError::Crypto(format!(
            "master key file {} must hold exactly {MASTER_KEY_LEN} bytes",
            path.display()
        ))
    })
}

fn write_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Makes a new directory entry durable: without it a crash can lose the name even though the
/// file's bytes were synced.
pub(crate) fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) => std::fs::File::open(parent)?.sync_all(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_key_id() {
        let sealer = SecretSealer::new(&[42; MASTER_KEY_LEN]);
        let sealed = sealer
            .seal("AKID0001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
            .expect("sealing works");
        assert!(
            !sealed.windows(8).any(|window| window == b"wJalrXUt"),
            "the secret must not appear in clear"
        );
        assert_eq!(
            sealer.open("AKID0001", &sealed).expect("opens"),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        );
        assert!(matches!(
            sealer.open("AKID0002", &sealed),
            Err(EngineError::Crypto(_))
        ));
        let other = SecretSealer::new(&[43; MASTER_KEY_LEN]);
        assert!(matches!(
            other.open("AKID0001", &sealed),
            Err(EngineError::Crypto(_))
        ));
        // Two seals of one secret differ: the nonce is random.
        let again = sealer
            .seal("AKID0001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
            .expect("sealing works");
        assert_ne!(sealed, again);
    }

    #[test]
    fn master_key_is_created_once_and_private() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("master.key");
        let first = load_or_create_master_key(&path).expect("created");
        let second = load_or_create_master_key(&path).expect("loaded");
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("listable")
            .filter_map(Result::ok)
            .map(|entry| entry.file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("master.key")]);

        std::fs::write(&path, b"short").expect("writable");
        assert!(matches!(
            load_or_create_master_key(&path),
            Err(EngineError::Crypto(_))
        ));
    }
}
