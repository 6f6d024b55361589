//! Secrets at rest (provider API keys): XChaCha20-Poly1305 with a random
//! nonce per value, under a key from `TESSERA_ENCRYPTION_KEY` or generated
//! once into the data dir.

use std::path::Path;

use base64::{Engine, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use rand::RngCore;

/// Prefix of stored values, so the format can change later.
const VERSION: &str = "v1:";
const KEY_FILE: &str = "encryption.key";

#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    #[error("TESSERA_ENCRYPTION_KEY must be 32 bytes as 64 hex digits or base64")]
    BadKey,
    #[error("cannot read or create {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("a stored secret cannot be decrypted (was TESSERA_ENCRYPTION_KEY changed?)")]
    Decrypt,
}

/// Encrypts and decrypts stored secrets. `Debug` never shows the key.
#[derive(Clone)]
pub struct SecretCipher {
    aead: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretCipher(***)")
    }
}

fn parse_key(text: &str) -> Result<[u8; 32], CipherError> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|_| CipherError::BadKey)?
    } else {
        STANDARD.decode(text).map_err(|_| CipherError::BadKey)?
    };
    bytes.try_into().map_err(|_| CipherError::BadKey)
}

impl SecretCipher {
    pub fn from_key(key: &[u8; 32]) -> Self {
        SecretCipher {
            aead: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// The configured key, or the one kept in `data_dir` (created on first use).
    pub fn load(configured: Option<&str>, data_dir: &Path) -> Result<Self, CipherError> {
        if let Some(text) = configured {
            return Ok(Self::from_key(&parse_key(text)?));
        }
        let path = data_dir.join(KEY_FILE);
        let key_error = |source| CipherError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Self::from_key(&parse_key(&text)?)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                std::fs::create_dir_all(data_dir).map_err(key_error)?;
                write_private(&path, hex::encode(key).as_bytes()).map_err(key_error)?;
                Ok(Self::from_key(&key))
            }
            Err(err) => Err(key_error(err)),
        }
    }

    /// `context` (e.g. the row id) is bound to the value, so a ciphertext
    /// copied to another row does not decrypt.
    pub fn encrypt(&self, plaintext: &str, context: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .aead
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{VERSION}{}", STANDARD.encode(out))
    }

    pub fn decrypt(&self, stored: &str, context: &str) -> Result<String, CipherError> {
        let data = stored
            .strip_prefix(VERSION)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|d| d.len() > 24)
            .ok_or(CipherError::Decrypt)?;
        let (nonce, sealed) = data.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| CipherError::Decrypt)?;
        let plain = self
            .aead
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CipherError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| CipherError::Decrypt)
    }
}

/// Creates `path` readable by its owner only.
#[cfg(unix)]
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(data)
}

#[cfg(not(unix))]
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

/// What a client may see of a secret: its last four characters at most.
pub fn mask(secret: &str) -> String {
    let secret = secret.trim();
    if secret
        .get(..3)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("sk-"))
    {
        return "sk-***".into();
    }
    // NekoHub's shape (up to four leading characters, then `***`), but a
    // short key shows nothing: at most a quarter of a key is ever shown.
    let chars: Vec<char> = secret.chars().collect();
    let shown = if chars.len() >= 16 { 4 } else { 0 };
    format!("{}***", chars[..shown].iter().collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let cipher = SecretCipher::load(None, dir.path()).unwrap();
        let stored = cipher.encrypt("sk-secret-value", "row-1");
        assert!(!stored.contains("sk-secret"));
        assert_ne!(
            stored,
            cipher.encrypt("sk-secret-value", "row-1"),
            "fresh nonce each time"
        );
        assert_eq!(cipher.decrypt(&stored, "row-1").unwrap(), "sk-secret-value");
        assert!(
            cipher.decrypt(&stored, "row-2").is_err(),
            "bound to its row"
        );
        // The generated key persists: a second load decrypts the same value.
        let again = SecretCipher::load(None, dir.path()).unwrap();
        assert_eq!(again.decrypt(&stored, "row-1").unwrap(), "sk-secret-value");
        let other = SecretCipher::load(Some(&"ab".repeat(32)), dir.path()).unwrap();
        assert!(other.decrypt(&stored, "row-1").is_err());
        assert!(SecretCipher::load(Some("short"), dir.path()).is_err());
        assert_eq!(mask("sk-1234567890abcd"), "sk-***");
        assert_eq!(mask("SK-live"), "sk-***");
        assert_eq!(mask("key-provider-b-0123"), "key-***");
        assert_eq!(mask("short"), "***");
    }
}
