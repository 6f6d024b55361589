//! Access tokens (JWT, HS256 pinned, issuer and audience checked) and
//! refresh tokens (random, stored hashed).

use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use rand::RngCore;
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "tessera";
pub const AUDIENCE: &str = "tessera-api";
const SECRET_FILE: &str = "jwt.secret";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

/// Signs and checks access tokens. `Debug` hides the keys.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(***)")
    }
}

impl JwtKeys {
    pub fn from_secret(secret: &[u8]) -> Result<Self, jsonwebtoken::errors::Error> {
        Ok(JwtKeys {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
        })
    }

    /// The configured secret, or one generated once and kept in `data_dir`.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> std::io::Result<Self> {
        let secret = match configured {
            Some(secret) => secret.as_bytes().to_vec(),
            None => {
                let path = data_dir.join(SECRET_FILE);
                match std::fs::read_to_string(&path) {
                    Ok(text) => text.trim().as_bytes().to_vec(),
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                        let mut bytes = [0u8; 48];
                        rand::rng().fill_bytes(&mut bytes);
                        let text = hex::encode(bytes);
                        std::fs::create_dir_all(data_dir)?;
                        super::encryption::write_private(&path, text.as_bytes())?;
                        text.into_bytes()
                    }
                    Err(err) => return Err(err),
                }
            }
        };
        Self::from_secret(&secret).map_err(std::io::Error::other)
    }

    pub fn issue(&self, user_id: &str, now: i64, ttl_seconds: i64) -> String {
        let claims = Claims {
            sub: user_id.to_string(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + ttl_seconds,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .unwrap_or_default()
    }

    /// The user id of a valid token. Only HS256 is accepted (no `none`, no
    /// algorithm confusion), with this issuer and audience.
    pub fn verify(&self, token: &str) -> Result<String, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 0;
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) => Ok(data.claims.sub),
            Err(err) if matches!(err.kind(), ErrorKind::ExpiredSignature) => {
                Err(TokenError::Expired)
            }
            Err(_) => Err(TokenError::Invalid),
        }
    }
}

/// Whether a bearer token is shaped like a JWT (three dot-separated parts).
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && token.starts_with("ey")
}

/// A new refresh token: 32 random bytes, URL-safe.
pub fn generate_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("rt_{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_expire_and_refuse_other_keys() {
        let keys = JwtKeys::from_secret(b"a secret long enough for hs256 use").unwrap();
        let now = chrono::Utc::now().timestamp();
        let token = keys.issue("user-1", now, 60);
        assert!(looks_like_jwt(&token));
        assert_eq!(keys.verify(&token), Ok("user-1".into()));
        assert_eq!(
            keys.verify(&keys.issue("user-1", now - 120, 60)),
            Err(TokenError::Expired)
        );
        let other = JwtKeys::from_secret(b"another secret, equally long enough").unwrap();
        assert_eq!(other.verify(&token), Err(TokenError::Invalid));
        // alg: none is refused.
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = base64_url(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            keys.verify(&format!("{none_header}.{}.", parts[1])),
            Err(TokenError::Invalid)
        );
    }

    fn base64_url(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}
