//! Who is calling: passwords and sessions (JWT access tokens, rotating
//! refresh tokens), API keys, and the login limiter.

mod api_keys;

use std::{net::IpAddr, sync::Arc, time::Duration};

use tracing::{info, instrument};
use uuid::Uuid;

use crate::{
    auth::{
        digests_equal, hash_secret, hash_secret_hex, lookup_prefix,
        passwords::{hash_password, verify_password},
        rate_limit::{Attempt, LoginLimiter},
        tokens::{JwtKeys, TokenError, generate_refresh_token, looks_like_jwt},
    },
    config::Secret,
    db::Db,
    domain::{
        KeyHolder, Principal, RecordedHolder, Role, Session, User, UserAccount, now, to_micros,
    },
    error::{Error, Result},
};

/// A key just created: the only moment its secret exists outside the caller's hands.
#[derive(Debug)]
pub struct CreatedApiKey {
    pub id: String,
    pub name: String,
    pub key: Secret,
}

pub const MIN_PASSWORD_LEN: usize = 10;

/// Session settings.
#[derive(Clone, Copy, Debug)]
pub struct SessionSettings {
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Turns credentials into a `Principal`; logs users in and rotates sessions.
#[derive(Clone)]
pub struct AuthService {
    db: Db,
    static_key_hashes: Arc<Vec<[u8; 32]>>,
    jwt: JwtKeys,
    settings: SessionSettings,
    limiter: Arc<LoginLimiter>,
    /// Verified against for unknown usernames, so timing does not tell
    /// whether a user exists.
    decoy_hash: Arc<String>,
}

/// A username as stored: trimmed and lowercased (logins ignore case).
/// Empty is a malformed request; blank is a missing name.
pub(super) fn normalized_username(raw: &str) -> Result<String> {
    if raw.is_empty() {
        return Err(Error::InvalidRequest("username is required".into()));
    }
    let username = raw.trim().to_lowercase();
    if username.is_empty() {
        return Err(Error::UserUsernameRequired);
    }
    let ok = (3..=64).contains(&username.chars().count())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(username)
    } else {
        Err(Error::UserUsernameInvalid)
    }
}

/// Passwords are never blank, and never shorter than [`MIN_PASSWORD_LEN`]
/// (NekoHub has no minimum; tessera keeps one).
pub(super) fn check_password(password: &str) -> Result<()> {
    if password.is_empty() {
        return Err(Error::InvalidRequest("password is required".into()));
    }
    if password.trim().is_empty() {
        return Err(Error::UserPasswordRequired);
    }
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::UserPasswordTooShort {
            min: MIN_PASSWORD_LEN,
        });
    }
    Ok(())
}

impl AuthService {
    pub fn new(db: Db, static_keys: &[Secret], jwt: JwtKeys, settings: SessionSettings) -> Self {
        let static_key_hashes = static_keys
            .iter()
            .map(|k| hash_secret(k.expose()))
            .collect();
        AuthService {
            db,
            static_key_hashes: Arc::new(static_key_hashes),
            jwt,
            settings,
            limiter: Arc::new(LoginLimiter::new(Duration::from_secs(15 * 60), 10, 50)),
            decoy_hash: Arc::new(hash_password("tessera decoy password").unwrap_or_default()),
        }
    }

    /// Resolves a bearer token: an access token (JWT) or an API key. Static
    /// keys are compared in constant time (all of them); generated keys are
    /// found by prefix and their hash compared in constant time.
    #[instrument(skip_all)]
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        if looks_like_jwt(token) {
            let user_id = self.jwt.verify(token).map_err(|err| match err {
                TokenError::Expired => Error::AuthTokenExpired,
                TokenError::Invalid => Error::Unauthorized,
            })?;
            let user = match self.db.user(&user_id).await? {
                Some(account) if account.user.is_active => account.user,
                _ => return Err(Error::Unauthorized),
            };
            return Ok(Principal::User(user));
        }
        let digest = hash_secret(token);
        let static_match = self
            .static_key_hashes
            .iter()
            .fold(false, |found, known| found | digests_equal(known, &digest));
        if static_match {
            return Ok(Principal::operator("static"));
        }
        let Some(prefix) = lookup_prefix(token) else {
            return Err(Error::ApiKeyInvalid);
        };
        let Some(record) = self.db.active_api_key_by_prefix(prefix).await? else {
            return Err(Error::ApiKeyInvalid);
        };
        let stored = hex::decode(&record.key_hash).unwrap_or_default();
        if !digests_equal(&stored, &digest) {
            return Err(Error::ApiKeyInvalid);
        }
        let holder = self.key_holder(&record.holder).await?;
        let scopes = record.scopes;
        let permissions = match &holder {
            KeyHolder::User(user) => scopes.intersection(user.permissions),
            KeyHolder::Operator | KeyHolder::Unknown => scopes,
        };
        if let Err(err) = self.db.touch_api_key(&record.id, to_micros(now())).await {
            tracing::warn!(error = %err, "could not record API key use");
        }
        Ok(Principal::ApiKey {
            key_id: Some(record.id),
            name: record.name,
            permissions,
            holder,
        })
    }

    /// Whom a stored key acts for, as they are now: a key of a disabled (or
    /// vanished) user is refused like an unknown key.
    async fn key_holder(&self, holder: &RecordedHolder) -> Result<KeyHolder> {
        match holder {
            RecordedHolder::Operator => Ok(KeyHolder::Operator),
            RecordedHolder::Unknown => Ok(KeyHolder::Unknown),
            RecordedHolder::User(id) => match self.db.user(id).await? {
                Some(account) if account.user.is_active => Ok(KeyHolder::User(account.user)),
                _ => Err(Error::ApiKeyInvalid),
            },
        }
    }

    /// Checks the password (Argon2id) and opens a session. Failures lock
    /// the (username, address) pair and a failing address, and slow the
    /// username for everyone; see `auth::rate_limit`.
    #[instrument(skip_all)]
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<Session> {
        if username.trim().is_empty() || password.is_empty() {
            return Err(Error::InvalidRequest(
                "username and password are required".into(),
            ));
        }
        let username = username.trim().to_lowercase();
        match self.limiter.attempt(&username, client) {
            Attempt::Refused {
                retry_after_seconds,
            } => {
                return Err(Error::AuthRateLimited {
                    retry_after_seconds,
                });
            }
            Attempt::Allowed { delay } if !delay.is_zero() => tokio::time::sleep(delay).await,
            Attempt::Allowed { .. } => {}
        }
        let account = self.db.user_by_name(&username).await?;
        // Hash even for unknown users so timing does not reveal which exist.
        let verified = match &account {
            Some(account) => verify_password(password, &account.password_hash),
            None => {
                let _ = verify_password(password, &self.decoy_hash);
                false
            }
        };
        let mut user = match account {
            // Counted as a failure when it was attempted; told only to
            // someone who knows the password.
            Some(account) if verified && !account.user.is_active => {
                return Err(Error::AuthUserInactive);
            }
            Some(account) if verified => account.user,
            _ => return Err(Error::AuthInvalidCredentials),
        };
        self.limiter.succeeded(&username, client);
        let at = now();
        self.db.record_login(&user.id, to_micros(at)).await?;
        user.last_login_at = Some(at);
        self.open_session(user, Uuid::now_v7().to_string()).await
    }

    async fn open_session(&self, user: User, family_id: String) -> Result<Session> {
        let at = now();
        let access_expires =
            at + chrono::Duration::from_std(self.settings.access_token_ttl).unwrap_or_default();
        let refresh_expires =
            at + chrono::Duration::from_std(self.settings.refresh_token_ttl).unwrap_or_default();
        let access_token = self.jwt.issue(
            &user.id,
            at.timestamp(),
            access_expires.timestamp() - at.timestamp(),
        );
        let refresh_token = generate_refresh_token();
        self.db
            .insert_refresh_token(
                &Uuid::now_v7().to_string(),
                &user.id,
                &family_id,
                &hash_secret_hex(&refresh_token),
                to_micros(refresh_expires),
                to_micros(at),
            )
            .await?;
        Ok(Session {
            access_token,
            refresh_token,
            access_token_expires_at: access_expires,
            refresh_token_expires_at: refresh_expires,
            user,
        })
    }

    /// Rotates a refresh token. Presenting one that was already used means
    /// it leaked: every session of that user ends.
    #[instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session> {
        if refresh_token.is_empty() {
            return Err(Error::InvalidRequest("refreshToken is required".into()));
        }
        if refresh_token.trim().is_empty() {
            return Err(Error::AuthRequestInvalid("refreshToken is blank"));
        }
        let at = to_micros(now());
        let record = self
            .db
            .refresh_token_by_hash(&hash_secret_hex(refresh_token.trim()))
            .await?
            .ok_or(Error::AuthRefreshTokenInvalid)?;
        if record.used_at.is_some() {
            self.db
                .revoke_user_refresh_tokens(&record.user_id, at)
                .await?;
            info!(user_id = %record.user_id, "refresh token reused; all sessions revoked");
            return Err(Error::AuthRefreshTokenReused);
        }
        if record.revoked_at.is_some() {
            return Err(Error::AuthRefreshTokenInvalid);
        }
        if to_micros(record.expires_at) <= at {
            self.db.revoke_refresh_family(&record.family_id, at).await?;
            return Err(Error::AuthRefreshTokenExpired);
        }
        if !self.db.use_refresh_token(&record.id, at).await? {
            // Lost a race with another refresh of the same token: that is reuse too.
            self.db
                .revoke_user_refresh_tokens(&record.user_id, at)
                .await?;
            return Err(Error::AuthRefreshTokenReused);
        }
        let user = match self.db.user(&record.user_id).await? {
            Some(account) if account.user.is_active => account.user,
            Some(_) => return Err(Error::AuthUserInactive),
            None => return Err(Error::AuthRefreshTokenInvalid),
        };
        self.open_session(user, record.family_id).await
    }

    /// Ends the session the refresh token belongs to. Unknown tokens are
    /// ignored (logging out twice is fine).
    pub async fn logout(&self, refresh_token: &str) -> Result<()> {
        if let Some(record) = self
            .db
            .refresh_token_by_hash(&hash_secret_hex(refresh_token.trim()))
            .await?
        {
            self.db
                .revoke_refresh_family(&record.family_id, to_micros(now()))
                .await?;
        }
        Ok(())
    }

    /// The caller as a user.
    pub fn me(&self, principal: &Principal) -> Result<User> {
        match principal {
            Principal::User(user) => Ok(user.clone()),
            Principal::Anonymous => Err(Error::Unauthorized),
            Principal::ApiKey { .. } => Err(Error::Forbidden {
                permission: "a user session",
            }),
        }
    }

    /// A username no other user holds, normalised.
    pub(super) async fn available_username(&self, raw: &str) -> Result<String> {
        let username = normalized_username(raw)?;
        if self.db.user_by_name(&username).await?.is_some() {
            return Err(Error::UserUsernameConflict(username));
        }
        Ok(username)
    }

    /// Creates a user with a hashed password (CLI and bootstrap: the only
    /// ways to make a super admin).
    pub async fn create_user(&self, username: &str, password: &str, role: Role) -> Result<User> {
        let username = self.available_username(username).await?;
        check_password(password)?;
        let password_hash =
            hash_password(password).ok_or_else(|| Error::internal("password", "hashing failed"))?;
        let account = UserAccount::new(Uuid::now_v7().to_string(), username, role, password_hash);
        self.db.insert_user(&account).await?;
        Ok(account.user)
    }

    /// Creates the super admin from `TESSERA_BOOTSTRAP_ADMIN_*` on a first
    /// start: only while there is no user at all, so credentials left in
    /// the configuration never bring an account back later.
    pub async fn bootstrap_admin(&self, username: &str, password: &str) -> Result<()> {
        if self.db.count_users().await? > 0 {
            return Ok(());
        }
        match self.create_user(username, password, Role::SuperAdmin).await {
            Ok(user) => info!(username = %user.username, "bootstrap super admin created"),
            // Another instance starting at the same moment made it.
            Err(Error::UserUsernameConflict(_)) => {}
            Err(err) => return Err(err),
        }
        Ok(())
    }
}
