//! Storage provider profiles: validation, encrypted secrets, and the live
//! backends of this instance, which every other part reaches through
//! [`StorageProfileService::store`] (the [`Stores`] trait below the service).

mod configuration;
mod registry;

use std::{path::PathBuf, sync::Arc};

use async_trait::async_trait;

use serde_json::Value;
use tracing::{instrument, warn};
use uuid::Uuid;

use crate::{
    auth::encryption::SecretCipher,
    db::Db,
    domain::{
        NewStorageProfile, Permission, Principal, ProviderType, StorageProfile,
        StorageProfilePatch, StoredStorageProfile, now, to_micros,
    },
    error::{Error, Result},
    storage::{
        BlobStore, GitHubSettings, GitHubStore, LocalStore, PublicBase, S3Settings, S3Store, Stores,
    },
};

use configuration::{PRIVATE_TOKEN, capabilities, secret_field};
use registry::StorageRegistry;

/// The backend this instance was configured with (`TESSERA_STORAGE_LOCAL_ROOT`),
/// behind the `local` profile.
pub struct LocalProfile {
    pub id: String,
    pub store: Arc<dyn BlobStore>,
    /// The `updated_at` of the profile's row.
    pub version: chrono::DateTime<chrono::Utc>,
}

/// Storage provider profiles: validation, encrypted secrets, and the live
/// backends that uploads and reads use.
#[derive(Clone)]
pub struct StorageProfileService {
    db: Db,
    registry: StorageRegistry,
    cipher: SecretCipher,
    public_base: PublicBase,
    data_dir: PathBuf,
}

impl StorageProfileService {
    /// Call [`StorageProfileService::sync`] next to load the other profiles.
    pub fn new(
        db: Db,
        local: LocalProfile,
        cipher: SecretCipher,
        public_base: PublicBase,
        data_dir: PathBuf,
    ) -> Self {
        StorageProfileService {
            db,
            registry: StorageRegistry::new(local.id, local.store, local.version),
            cipher,
            public_base,
            data_dir,
        }
    }

    fn present(&self, record: &StoredStorageProfile) -> StorageProfile {
        let capabilities = capabilities(record.provider_type, &record.configuration);
        let mut summary = record.configuration.clone();
        summary.insert(
            "hasSecret".into(),
            record.secret_ciphertext.is_some().into(),
        );
        StorageProfile {
            id: record.id.clone(),
            name: record.name.clone(),
            display_name: record.display_name.clone(),
            provider_type: record.provider_type,
            is_enabled: record.is_enabled,
            is_default: record.is_default,
            capabilities,
            configuration_summary: Value::Object(summary),
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }

    /// The backend a stored profile describes.
    pub async fn build(&self, record: &StoredStorageProfile) -> Result<Arc<dyn BlobStore>> {
        let config = &record.configuration;
        let get = |field: &str| {
            config
                .get(field)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let secret = record
            .secret_ciphertext
            .as_deref()
            .map(|c| self.cipher.decrypt(c, &record.id))
            .transpose()
            .map_err(|e| Error::internal("storage secret", e))?
            .unwrap_or_default();
        match record.provider_type {
            ProviderType::GitHubRepo => {
                let store = GitHubStore::new(GitHubSettings {
                    owner: get("owner"),
                    repo: get("repo"),
                    branch: get("branch"),
                    base_path: get("basePath"),
                    token: secret,
                    api_base_url: get("apiBaseUrl"),
                    raw_base_url: get("rawBaseUrl"),
                    commit_message_template: get("commitMessageTemplate"),
                    allows_private: get("visibilityPolicy") == PRIVATE_TOKEN,
                })
                .map_err(Error::from)?;
                Ok(Arc::new(store))
            }
            ProviderType::S3 => Ok(Arc::new(S3Store::new(&S3Settings {
                endpoint: get("endpoint"),
                region: get("region"),
                bucket: get("bucket"),
                access_key_id: get("accessKeyId"),
                secret_access_key: secret,
                force_path_style: config
                    .get("forcePathStyle")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
                public_base_url: config
                    .get("publicBaseUrl")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            }))),
            _ => {
                let store =
                    LocalStore::open(PathBuf::from(get("rootPath")), self.public_base.clone())
                        .await
                        .map_err(Error::from)?;
                Ok(Arc::new(store))
            }
        }
    }

    /// Makes the profile named after the provider (`s3`, `github`) match
    /// `TESSERA_STORAGE_*` and the default.
    pub async fn seed(&self, env: &crate::config::StorageEnv) -> Result<()> {
        let name = match env.provider_type {
            ProviderType::GitHubRepo => "github",
            other => other.as_str(),
        };
        let mut config = env.configuration.clone();
        config.insert(
            secret_field(env.provider_type).into(),
            env.secret.expose().into(),
        );
        let operator = Principal::operator("environment");
        let profile = match self.db.storage_profile_by_name(name).await? {
            Some(existing) => {
                let patch = StorageProfilePatch {
                    is_enabled: Some(true),
                    configuration: Some(config),
                    ..StorageProfilePatch::default()
                };
                self.update(&operator, &existing.id, patch).await?
            }
            None => {
                let input = NewStorageProfile {
                    name: name.into(),
                    display_name: Some(format!("{name} (from the environment)")),
                    provider_type: env.provider_type.as_str().into(),
                    is_default: false,
                    is_enabled: Some(true),
                    configuration: config,
                };
                self.create(&operator, input).await?
            }
        };
        self.set_default(&operator, &profile.id).await?;
        Ok(())
    }

    /// Brings the registry in line with the database: profiles created,
    /// changed or removed by another instance, and the default. The `local`
    /// profile keeps this instance's configured root.
    pub async fn sync(&self) -> Result<()> {
        let records = self.db.list_storage_profiles().await?;
        for record in &records {
            let known = self.registry.version(&record.id);
            let local = record.name == "local" && known.is_some();
            if known != Some(record.updated_at) && !local {
                match self.build(record).await {
                    Ok(store) => self.registry.insert(&record.id, store, record.updated_at),
                    Err(err) => {
                        warn!(profile = %record.name, error = %err, "storage profile unusable")
                    }
                }
            }
            if record.is_default && self.registry.store(&record.id).is_some() {
                self.registry.set_default(&record.id);
            }
        }
        self.registry
            .retain(&records.iter().map(|r| r.id.clone()).collect());
        Ok(())
    }

    /// The default profile as the database says (another instance may have
    /// switched it since this one last synced).
    pub async fn default_id(&self) -> Result<String> {
        Ok(self
            .db
            .default_storage_profile()
            .await?
            .map_or_else(|| self.registry.default_id(), |r| r.id))
    }

    /// The backend of a profile, loading it when another instance created it.
    pub async fn store(&self, profile_id: &str) -> Result<Arc<dyn BlobStore>> {
        if let Some(store) = self.registry.store(profile_id) {
            return Ok(store);
        }
        self.sync().await?;
        self.registry.store(profile_id).ok_or_else(|| {
            Error::StorageUnavailable(format!("storage profile {profile_id} cannot be opened"))
        })
    }

    /// Every backend this instance has loaded, for checks that visit them all.
    pub fn loaded(&self) -> Vec<(String, Arc<dyn BlobStore>)> {
        self.registry.profiles()
    }

    async fn load(&self, id: &str) -> Result<StoredStorageProfile> {
        self.db
            .storage_profile(id.trim())
            .await?
            .ok_or_else(|| Error::StorageProfileNotFound(id.to_string()))
    }

    pub async fn list(&self, principal: &Principal) -> Result<Vec<StorageProfile>> {
        principal.require(Permission::ProvidersRead)?;
        Ok(self
            .db
            .list_storage_profiles()
            .await?
            .iter()
            .map(|r| self.present(r))
            .collect())
    }

    pub async fn get(&self, principal: &Principal, id: &str) -> Result<StorageProfile> {
        principal.require(Permission::ProvidersRead)?;
        Ok(self.present(&self.load(id).await?))
    }

    #[instrument(skip_all)]
    pub async fn create(
        &self,
        principal: &Principal,
        input: NewStorageProfile,
    ) -> Result<StorageProfile> {
        principal.require(Permission::ProvidersCreate)?;
        let name = input.name.trim().to_string();
        let name_ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(Error::StorageProfileNameInvalid);
        }
        let provider: ProviderType = input.provider_type.parse()?;
        if self.db.storage_profile_by_name(&name).await?.is_some() {
            return Err(Error::StorageProfileNameTaken(name));
        }
        let (config, secret) =
            configuration::validate(&self.data_dir, provider, &name, &input.configuration, None)?;
        let at = now();
        let id = Uuid::now_v7().to_string();
        let record = StoredStorageProfile {
            secret_ciphertext: secret.map(|s| self.cipher.encrypt(&s, &id)),
            id,
            display_name: input
                .display_name
                .filter(|d| !d.trim().is_empty())
                .unwrap_or_else(|| name.clone()),
            name,
            provider_type: provider,
            is_enabled: input.is_enabled.unwrap_or(true),
            is_default: false,
            configuration: config,
            created_at: at,
            updated_at: at,
        };
        let store = self.build(&record).await?;
        self.db.save_storage_profile(&record).await?;
        self.registry.insert(&record.id, store, record.updated_at);
        if input.is_default {
            return self.set_default(principal, &record.id).await;
        }
        Ok(self.present(&self.load(&record.id).await?))
    }

    #[instrument(skip_all, fields(id = %id))]
    pub async fn update(
        &self,
        principal: &Principal,
        id: &str,
        patch: StorageProfilePatch,
    ) -> Result<StorageProfile> {
        principal.require(Permission::ProvidersUpdate)?;
        let mut record = self.load(id).await?;
        if let Some(display_name) = patch.display_name.filter(|d| !d.trim().is_empty()) {
            record.display_name = display_name.trim().to_string();
        }
        if let Some(enabled) = patch.is_enabled {
            if !enabled && record.is_default {
                return Err(Error::StorageProfileIsDefault);
            }
            record.is_enabled = enabled;
        }
        if let Some(changes) = patch.configuration {
            let mut merged = record.configuration.clone();
            merged.extend(changes);
            let old_secret = record
                .secret_ciphertext
                .as_deref()
                .and_then(|c| self.cipher.decrypt(c, &record.id).ok());
            let (config, secret) = configuration::validate(
                &self.data_dir,
                record.provider_type,
                &record.name,
                &merged,
                old_secret,
            )?;
            record.configuration = config;
            record.secret_ciphertext = secret.map(|s| self.cipher.encrypt(&s, &record.id));
        }
        record.updated_at = now();
        let store = self.build(&record).await?;
        self.db.save_storage_profile(&record).await?;
        self.registry.insert(&record.id, store, record.updated_at);
        Ok(self.present(&self.load(&record.id).await?))
    }

    pub async fn set_default(&self, principal: &Principal, id: &str) -> Result<StorageProfile> {
        principal.require(Permission::SettingsUpdate)?;
        let record = self.load(id).await?;
        if !record.is_enabled {
            return Err(Error::StorageProfileDisabled(record.id));
        }
        self.db
            .set_default_storage_profile(&record.id, to_micros(now()))
            .await?;
        self.registry.set_default(&record.id);
        Ok(self.present(&self.load(&record.id).await?))
    }

    /// A profile that assets still use cannot go; neither can the default.
    pub async fn delete(&self, principal: &Principal, id: &str) -> Result<StorageProfile> {
        principal.require(Permission::ProvidersDelete)?;
        let record = self.load(id).await?;
        if record.is_default {
            return Err(Error::StorageProfileIsDefault);
        }
        let used = self.db.count_assets_in_profile(&record.id).await?;
        if used > 0 {
            return Err(Error::StorageProfileInUse(used));
        }
        self.db.delete_storage_profile(&record.id).await?;
        self.registry.remove(&record.id);
        Ok(self.present(&record))
    }
}

#[async_trait]
impl Stores for StorageProfileService {
    async fn store(&self, profile_id: &str) -> Result<Arc<dyn BlobStore>> {
        StorageProfileService::store(self, profile_id).await
    }
}
