//! Password hashing with Argon2id (the crate's defaults: 19 MiB, 2 passes).

use argon2::{Argon2, PasswordHasher, PasswordVerifier, password_hash::phc::PasswordHash};

/// A PHC string (`$argon2id$v=19$...`) with a fresh random salt.
pub fn hash_password(password: &str) -> Option<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .ok()
        .map(|hash| hash.to_string())
}

/// Constant-time check of `password` against a stored PHC string.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_and_differ() {
        let a = super::hash_password("correct horse").unwrap();
        let b = super::hash_password("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(super::verify_password("correct horse", &a));
        assert!(!super::verify_password("wrong horse", &a));
        assert!(!super::verify_password("correct horse", "garbage"));
    }
}
