//! Credential primitives: API key generation, hashing and constant-time
//! checks, and encryption of secrets at rest.

pub mod encryption;
pub mod passwords;
pub mod rate_limit;
pub mod tokens;

use rand::{Rng, distr::Alphanumeric};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Every generated key starts with this, so leaked keys are easy to scan for.
pub const API_KEY_PREFIX: &str = "tsk_";
/// Characters of a key stored in clear for lookup (`tsk_` plus 8).
const LOOKUP_PREFIX_LEN: usize = 12;
const SECRET_LEN: usize = 40;

/// A new random API key: `tsk_` followed by 40 alphanumerics (~238 bits).
pub fn generate_api_key() -> String {
    let secret: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(SECRET_LEN)
        .map(char::from)
        .collect();
    format!("{API_KEY_PREFIX}{secret}")
}

/// The part of a generated key stored in clear to find its row, or `None`
/// when the token cannot be a generated key.
pub fn lookup_prefix(key: &str) -> Option<&str> {
    (key.starts_with(API_KEY_PREFIX) && key.len() == API_KEY_PREFIX.len() + SECRET_LEN)
        .then(|| &key[..LOOKUP_PREFIX_LEN])
}

/// Keys are high-entropy, so one SHA-256 is enough (no password KDF needed).
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

pub fn hash_secret_hex(secret: &str) -> String {
    hex::encode(hash_secret(secret))
}

/// Compares two digests without leaking where they differ.
pub fn digests_equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_a_lookup_prefix_and_differ() {
        let a = generate_api_key();
        let b = generate_api_key();
        assert_ne!(a, b);
        assert_eq!(lookup_prefix(&a).map(str::len), Some(12));
        assert_eq!(lookup_prefix("tsk_short"), None);
        assert!(digests_equal(&hash_secret(&a), &hash_secret(&a)));
        assert!(!digests_equal(&hash_secret(&a), &hash_secret(&b)));
    }
}
