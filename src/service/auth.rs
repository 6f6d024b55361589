use std::sync::Arc;

use tracing::instrument;
use uuid::Uuid;

use crate::{
    auth::{digests_equal, generate_api_key, hash_secret, hash_secret_hex, lookup_prefix},
    config::Secret,
    db::{ApiKeyRecord, Db},
    domain::{Permission, Permissions, Principal},
    error::{Error, Result},
};

/// A key just created: the only moment its secret exists outside the caller's hands.
#[derive(Debug)]
pub struct CreatedApiKey {
    pub id: String,
    pub name: String,
    pub key: Secret,
}

/// Turns credentials into a `Principal`.
#[derive(Clone)]
pub struct AuthService {
    db: Db,
    static_key_hashes: Arc<Vec<[u8; 32]>>,
}

impl AuthService {
    pub fn new(db: Db, static_keys: &[Secret]) -> Self {
        let static_key_hashes = static_keys
            .iter()
            .map(|k| hash_secret(k.expose()))
            .collect();
        AuthService {
            db,
            static_key_hashes: Arc::new(static_key_hashes),
        }
    }

    /// Resolves a bearer token. Static keys are checked in constant time
    /// (every one is compared); generated keys are found by prefix and their
    /// hash compared in constant time.
    #[instrument(skip_all)]
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let digest = hash_secret(token);
        let static_match = self
            .static_key_hashes
            .iter()
            .fold(false, |found, known| found | digests_equal(known, &digest));
        if static_match {
            return Ok(Principal::ApiKey {
                key_id: None,
                name: "static".into(),
                permissions: Permissions::all(),
            });
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
        let scopes: Vec<String> = serde_json::from_str(&record.scopes).unwrap_or_default();
        Ok(Principal::ApiKey {
            key_id: Some(record.id),
            name: record.name,
            permissions: scopes.iter().filter_map(|s| Permission::parse(s)).collect(),
        })
    }

    /// Creates and stores a key (hashed); the secret is returned once.
    pub async fn create_api_key(
        &self,
        name: &str,
        permissions: Permissions,
    ) -> Result<CreatedApiKey> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::InvalidRequest(
                "an API key needs a name of 1 to 100 characters".into(),
            ));
        }
        let key = generate_api_key();
        let prefix = lookup_prefix(&key)
            .ok_or_else(|| Error::internal("api key", "generated key has no prefix"))?;
        let scopes: Vec<&str> = permissions.iter().map(Permission::as_str).collect();
        let record = ApiKeyRecord {
            id: Uuid::now_v7().to_string(),
            name: name.to_string(),
            prefix: prefix.to_string(),
            key_hash: hash_secret_hex(&key),
            scopes: serde_json::to_string(&scopes)
                .map_err(|e| Error::internal("api key scopes", e))?,
        };
        self.db.insert_api_key(&record).await?;
        Ok(CreatedApiKey {
            id: record.id,
            name: record.name,
            key: Secret::new(key),
        })
    }

    /// On a first start with no way in (no static key, no stored key), creates
    /// a full-access key so the quick start works at once.
    pub async fn ensure_quickstart_key(&self) -> Result<Option<CreatedApiKey>> {
        if !self.static_key_hashes.is_empty() || self.db.count_api_keys().await? > 0 {
            return Ok(None);
        }
        self.create_api_key("quickstart", Permissions::all())
            .await
            .map(Some)
    }
}
