//! API keys: made for their holder (never stronger than the maker), listed
//! and revoked by those who outrank the holder.

use tracing::instrument;
use uuid::Uuid;

use super::{AuthService, CreatedApiKey};
use crate::{
    auth::{generate_api_key, hash_secret_hex, lookup_prefix},
    config::Secret,
    domain::{
        ApiKeyInfo, ApiKeyListing, KeyHolder, Permission, Permissions, Principal, Rank,
        RecordedHolder, StoredApiKey, now, to_micros,
    },
    error::{Error, Result},
};

impl AuthService {
    /// Creates an operator key (CLI, first start): full rank, `permissions`.
    pub async fn create_api_key(
        &self,
        name: &str,
        permissions: Permissions,
    ) -> Result<CreatedApiKey> {
        self.store_api_key(name, permissions, RecordedHolder::Operator)
            .await
    }

    /// Stores a key (hashed) for its holder; the secret is returned once.
    async fn store_api_key(
        &self,
        name: &str,
        permissions: Permissions,
        holder: RecordedHolder,
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
        let record = StoredApiKey {
            id: Uuid::now_v7().to_string(),
            name: name.to_string(),
            prefix: prefix.to_string(),
            key_hash: hash_secret_hex(&key),
            scopes: permissions,
            holder,
        };
        self.db.insert_api_key(&record).await?;
        Ok(CreatedApiKey {
            id: record.id,
            name: record.name,
            key: Secret::new(key),
        })
    }

    /// Creates a key for the caller. Scopes are permission names; a caller
    /// cannot hand out more than it holds. Without scopes, the key gets the
    /// caller's own permissions. The key acts for the caller's user (or, made
    /// by a key, for that key's holder), so it never outranks its maker.
    #[instrument(skip_all)]
    pub async fn create_api_key_for(
        &self,
        principal: &Principal,
        name: &str,
        scopes: Option<Vec<String>>,
    ) -> Result<(CreatedApiKey, ApiKeyInfo)> {
        principal.require(Permission::ApiKeysManage)?;
        let held = principal.permissions();
        let wanted: Permissions = match scopes {
            None => held,
            Some(names) => names
                .iter()
                .map(|n| {
                    Permission::parse(n.trim()).ok_or_else(|| Error::ApiKeyScopeInvalid(n.clone()))
                })
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .collect(),
        };
        if !held.covers(wanted) {
            let missing = wanted
                .iter()
                .find(|p| !held.contains(*p))
                .unwrap_or(Permission::ApiKeysManage);
            return Err(Error::Forbidden {
                permission: missing.as_str(),
            });
        }
        let holder = match principal {
            Principal::User(user) => RecordedHolder::User(user.id.clone()),
            Principal::ApiKey { holder, .. } => match holder {
                KeyHolder::Operator => RecordedHolder::Operator,
                KeyHolder::User(user) => RecordedHolder::User(user.id.clone()),
                // Nobody answers for it: it may not multiply itself.
                KeyHolder::Unknown => {
                    return Err(Error::Forbidden {
                        permission: "a key with a recorded holder",
                    });
                }
            },
            Principal::Anonymous => return Err(Error::Unauthorized),
        };
        let created = self.store_api_key(name, wanted, holder).await?;
        // Described from what was just stored, without reading every key back.
        let key = created.key.expose();
        let info = ApiKeyInfo {
            id: created.id.clone(),
            name: created.name.clone(),
            prefix: lookup_prefix(key).unwrap_or_default().to_string(),
            scopes: wanted,
            created_at: now(),
            last_used_at: None,
            revoked_at: None,
        };
        Ok((created, info))
    }

    /// The keys the caller may manage: its own, and those of holders it outranks.
    pub async fn list_api_keys(&self, principal: &Principal) -> Result<Vec<ApiKeyInfo>> {
        principal.require(Permission::ApiKeysManage)?;
        Ok(self
            .db
            .list_api_keys()
            .await?
            .into_iter()
            .filter(|k| may_manage_key(principal, k))
            .map(|k| k.info)
            .collect())
    }

    /// Revoked keys stop working at once. A key the caller may not manage
    /// is as absent as a key that does not exist.
    pub async fn revoke_api_key(&self, principal: &Principal, id: &str) -> Result<()> {
        principal.require(Permission::ApiKeysManage)?;
        let id = id.trim();
        let manageable = self
            .db
            .api_key(id)
            .await?
            .is_some_and(|key| may_manage_key(principal, &key));
        if manageable && self.db.revoke_api_key(id, to_micros(now())).await? {
            Ok(())
        } else {
            Err(Error::ApiKeyNotFound(id.to_string()))
        }
    }

    /// On a first start with no way in (no static key, no stored key, no
    /// user), creates a full-access key so the quick start works at once.
    pub async fn ensure_quickstart_key(&self) -> Result<Option<CreatedApiKey>> {
        if !self.static_key_hashes.is_empty()
            || self.db.count_api_keys().await? > 0
            || self.db.count_users().await? > 0
        {
            return Ok(None);
        }
        self.create_api_key("quickstart", Permissions::all())
            .await
            .map(Some)
    }
}

/// Users manage their own keys; another holder's keys need outranking that
/// holder. The operator manages every key, its own included.
fn may_manage_key(principal: &Principal, key: &ApiKeyListing) -> bool {
    let own = principal
        .acting_user_id()
        .is_some_and(|me| key.holder.user_id() == Some(me));
    let rank = principal.rank();
    own || rank == Rank::Operator || rank > holder_rank(key)
}

fn holder_rank(key: &ApiKeyListing) -> Rank {
    match key.holder {
        RecordedHolder::Operator => Rank::Operator,
        RecordedHolder::User(_) => key.holder_role.map_or(Rank::None, Rank::from),
        // Made before holders were recorded: for super admins and the operator to manage.
        RecordedHolder::Unknown => Rank::Admin,
    }
}
