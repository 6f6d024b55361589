//! Storage provider profiles: validation, encrypted secrets, and the live
//! backends of this instance, which every other part reaches through
//! [`StorageProfileService::store`] (the [`Stores`] trait below the service).

mod configuration;
mod github_repo;
mod overview;
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
        DeletedStorageProfile, DeletionStatus, NewStorageProfile, Permission, Principal,
        ProviderType, StorageProfile, StorageProfilePatch, StoredStorageProfile, now, to_micros,
    },
    error::{Error, Result},
    storage::{
        BlobStore, GitHubSettings, GitHubStore, LocalStore, PublicBase, S3Settings, S3Store, Stores,
    },
};

use configuration::{PRIVATE_TOKEN, Submitted, capabilities, summary};
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
    /// The `local` profile: where uploads without a profile go when no
    /// default is set (NekoHub's runtime from configuration).
    local_id: String,
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
            registry: StorageRegistry::new(local.id.clone(), local.store, local.version),
            local_id: local.id,
            cipher,
            public_base,
            data_dir,
        }
    }

    fn present(&self, record: &StoredStorageProfile) -> StorageProfile {
        StorageProfile {
            id: record.id.clone(),
            name: record.name.clone(),
            display_name: record.display_name.clone(),
            provider_type: record.provider_type,
            is_enabled: record.is_enabled,
            is_default: record.is_default,
            capabilities: capabilities(record.provider_type),
            configuration_summary: summary(
                record.provider_type,
                &record.configuration,
                record.secret_ciphertext.is_some(),
            ),
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }

    fn secret(&self, record: &StoredStorageProfile) -> Result<Option<String>> {
        record
            .secret_ciphertext
            .as_deref()
            .map(|c| self.cipher.decrypt(c, &record.id))
            .transpose()
            .map_err(|e| Error::internal("storage secret", e))
    }

    /// The backend a stored profile describes.
    pub async fn build(&self, record: &StoredStorageProfile) -> Result<Arc<dyn BlobStore>> {
        let config = &record.configuration;
        let get = |field: &str| setting(record, field);
        match record.provider_type {
            ProviderType::GitHubRepo => Ok(Arc::new(self.github_store(record)?)),
            ProviderType::S3 => Ok(Arc::new(S3Store::new(&S3Settings {
                endpoint: get("endpoint"),
                region: get("region"),
                bucket: get("bucket"),
                access_key_id: get("accessKeyId"),
                secret_access_key: self.secret(record)?.unwrap_or_default(),
                force_path_style: config
                    .get("forcePathStyle")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
                public_base_url: config
                    .get("publicBaseUrl")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            }))),
            ProviderType::GitHubReleases => {
                Err(Error::StorageProfileWriteNotSupported(record.id.clone()))
            }
            ProviderType::Local => {
                let store = LocalStore::open(
                    self.data_dir.join(get("rootPath")),
                    self.public_base.clone(),
                )
                .await
                .map_err(Error::from)?;
                Ok(Arc::new(store))
            }
        }
    }

    /// The repository a `github-repo` profile describes.
    fn github_store(&self, record: &StoredStorageProfile) -> Result<GitHubStore> {
        let get = |field: &str| setting(record, field);
        GitHubStore::new(GitHubSettings {
            owner: get("owner"),
            repo: get("repo"),
            branch: match get("ref") {
                reference if reference.is_empty() => get("branch"),
                reference => reference,
            },
            base_path: get("basePath"),
            token: self.secret(record)?.unwrap_or_default(),
            api_base_url: get("apiBaseUrl"),
            raw_base_url: get("rawBaseUrl"),
            commit_message_template: get("commitMessageTemplate"),
            allows_private: get("visibilityPolicy") == PRIVATE_TOKEN,
        })
        .map_err(Error::from)
    }

    /// Makes the profile named after the provider (`s3`, `github`) match
    /// `TESSERA_STORAGE_*` and the default.
    pub async fn seed(&self, env: &crate::config::StorageEnv) -> Result<()> {
        let name = match env.provider_type {
            ProviderType::GitHubRepo => "github",
            other => other.provider_name(),
        };
        let secret_field = match env.provider_type {
            ProviderType::S3 => "secretKey",
            _ => "token",
        };
        let configuration = Value::Object(env.configuration.clone());
        let secrets = serde_json::json!({ secret_field: env.secret.expose() });
        let operator = Principal::operator("environment");
        let profile = match self.db.storage_profile_by_name(name).await? {
            Some(existing) => {
                let patch = StorageProfilePatch {
                    is_enabled: Some(true),
                    configuration: Some(configuration),
                    secret_configuration: Some(secrets),
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
                    configuration: Some(configuration),
                    secret_configuration: Some(secrets),
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
            let local = record.id == self.local_id && known.is_some();
            let writable = record.provider_type != ProviderType::GitHubReleases;
            if known != Some(record.updated_at) && !local && writable {
                match self.build(record).await {
                    Ok(store) => self.registry.insert(&record.id, store, record.updated_at),
                    Err(err) => {
                        warn!(profile = %record.name, error = %err, "storage profile unusable")
                    }
                }
            }
        }
        self.registry
            .retain(&records.iter().map(|r| r.id.clone()).collect());
        Ok(())
    }

    /// Where an upload without a profile goes: the default as the database
    /// says now (another instance may have switched it), or, with none set,
    /// the `local` profile. A disabled default refuses rather than guesses.
    pub async fn default_id(&self) -> Result<String> {
        match self.db.default_storage_profile().await? {
            Some(record) if !record.is_enabled => Err(Error::StorageDefaultWriteProfileDisabled),
            Some(record) if record.provider_type == ProviderType::GitHubReleases => {
                Err(Error::StorageProfileWriteNotSupported(record.id))
            }
            Some(record) => Ok(record.id),
            None => Ok(self.local_id.clone()),
        }
    }

    /// The built-in profile over this instance's own disk.
    pub fn local_id(&self) -> &str {
        &self.local_id
    }

    /// The profile `id` if uploads may write to it.
    pub async fn writable(&self, id: &str) -> Result<String> {
        let record = self.load(id).await?;
        if !record.is_enabled {
            return Err(Error::StorageProfileDisabled(record.id));
        }
        if record.provider_type == ProviderType::GitHubReleases {
            return Err(Error::StorageProfileWriteNotSupported(record.id));
        }
        Ok(record.id)
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

    pub async fn get(&self, principal: &Principal, id: &str) -> Result<StorageProfile> {
        principal.require(Permission::ProvidersRead)?;
        Ok(self.present(&self.load(id).await?))
    }

    /// Creates a profile, checked in NekoHub's order; a refused profile
    /// leaves no row. Creating it as the default is the power of
    /// `set-default` (where every upload goes), so it needs that permission
    /// too, checked before anything is written.
    #[instrument(skip_all)]
    pub async fn create(
        &self,
        principal: &Principal,
        input: NewStorageProfile,
    ) -> Result<StorageProfile> {
        principal.require(Permission::ProvidersCreate)?;
        if input.is_default {
            principal.require(Permission::SettingsUpdate)?;
        }
        if input.provider_type.trim().is_empty() {
            return Err(Error::StorageProviderTypeRequired);
        }
        let name = valid_name(&input.name)?;
        if self.db.storage_profile_by_name(&name).await?.is_some() {
            return Err(Error::StorageProfileNameConflict(name));
        }
        let provider: ProviderType = input.provider_type.parse()?;
        let submitted = Submitted::new(
            input.configuration.as_ref(),
            input.secret_configuration.as_ref(),
        )?;
        let (config, secret) = configuration::validate(provider, &submitted, None)?;
        let is_enabled = input.is_enabled.unwrap_or(true);
        if input.is_default && !is_enabled {
            return Err(Error::StorageProfileDefaultRequiresEnabled);
        }
        let at = now();
        let id = Uuid::now_v7().to_string();
        let record = StoredStorageProfile {
            secret_ciphertext: secret.map(|s| self.cipher.encrypt(&s, &id)),
            id,
            display_name: display_name(input.display_name, &name),
            name,
            provider_type: provider,
            is_enabled,
            is_default: false,
            configuration: config,
            created_at: at,
            updated_at: at,
        };
        let store = self.build_writable(&record).await?;
        self.db.save_storage_profile(&record).await?;
        if let Some(store) = store {
            self.registry.insert(&record.id, store, record.updated_at);
        }
        if input.is_default {
            return self.set_default(principal, &record.id).await;
        }
        Ok(self.present(&self.load(&record.id).await?))
    }

    /// Builds the backend of a profile that can be written to (a
    /// `github-releases` profile has none).
    async fn build_writable(
        &self,
        record: &StoredStorageProfile,
    ) -> Result<Option<Arc<dyn BlobStore>>> {
        if record.provider_type == ProviderType::GitHubReleases {
            return Ok(None);
        }
        self.build(record).await.map(Some)
    }

    /// Changes what is present: the name, display name, enabled flag, the
    /// whole configuration (the stored secret stays unless a new one is
    /// given). The type never changes; a refused change changes nothing.
    #[instrument(skip_all, fields(id = %id))]
    pub async fn update(
        &self,
        principal: &Principal,
        id: &str,
        patch: StorageProfilePatch,
    ) -> Result<StorageProfile> {
        principal.require(Permission::ProvidersUpdate)?;
        let mut record = self.load(id).await?;
        if let Some(name) = patch.name {
            let name = valid_name(&name)?;
            if !name.eq_ignore_ascii_case(&record.name)
                && self.db.storage_profile_by_name(&name).await?.is_some()
            {
                return Err(Error::StorageProfileNameConflict(name));
            }
            if name != record.name {
                if record.id == self.local_id {
                    return Err(Error::StorageProfileConfigurationInvalid {
                        field: "name",
                        message: "the local profile keeps its name".into(),
                    });
                }
                record.name = name;
            }
        }
        if let Some(display) = patch.display_name {
            record.display_name = display_name(display, &record.name);
        }
        if let Some(enabled) = patch.is_enabled {
            if !enabled && record.is_default {
                return Err(Error::StorageProfileDefaultRequiresEnabled);
            }
            record.is_enabled = enabled;
        }
        let reconfigure = patch.configuration.is_some() || patch.secret_configuration.is_some();
        if reconfigure {
            let stored = Value::Object(record.configuration.clone());
            let configuration = match &patch.configuration {
                Some(Value::Null) => return Err(Error::StorageProfileConfigurationRequired),
                Some(configuration) => configuration,
                None => &stored,
            };
            let mut submitted =
                Submitted::new(Some(configuration), patch.secret_configuration.as_ref())?;
            // An omitted secret keeps the stored credentials (an S3 key id
            // is kept beside the configuration); `null` clears them.
            let kept = match patch.secret_configuration {
                Some(Value::Null) => None,
                _ => {
                    if let Some(key_id) = record.configuration.get("accessKeyId") {
                        submitted.keep("accessKey", key_id);
                    }
                    self.secret(&record)?
                }
            };
            let (config, secret) = configuration::validate(record.provider_type, &submitted, kept)?;
            record.configuration = config;
            record.secret_ciphertext = secret.map(|s| self.cipher.encrypt(&s, &record.id));
        }
        record.updated_at = now();
        let store = self.build_writable(&record).await?;
        self.db.save_storage_profile(&record).await?;
        if let Some(store) = store {
            self.registry.insert(&record.id, store, record.updated_at);
        }
        Ok(self.present(&self.load(&record.id).await?))
    }

    pub async fn set_default(&self, principal: &Principal, id: &str) -> Result<StorageProfile> {
        principal.require(Permission::SettingsUpdate)?;
        let record = self.load(id).await?;
        if !record.is_enabled {
            return Err(Error::StorageProfileDefaultRequiresEnabled);
        }
        self.db
            .set_default_storage_profile(&record.id, to_micros(now()))
            .await?;
        Ok(self.present(&self.load(&record.id).await?))
    }

    /// Deletes a profile no asset uses. One that assets still use (and the
    /// `local` profile, this instance's own storage) is disabled instead and
    /// stops being the default, so its assets stay readable.
    pub async fn delete(&self, principal: &Principal, id: &str) -> Result<DeletedStorageProfile> {
        principal.require(Permission::ProvidersDelete)?;
        let record = self.load(id).await?;
        let at = now();
        let deleted =
            record.id != self.local_id && self.db.delete_unused_storage_profile(&record.id).await?;
        let status = if deleted {
            self.registry.remove(&record.id);
            DeletionStatus::Deleted
        } else {
            self.db
                .disable_storage_profile(&record.id, to_micros(at))
                .await?;
            DeletionStatus::Disabled
        };
        Ok(DeletedStorageProfile {
            id: record.id,
            was_default: record.is_default,
            status,
            deleted_at: at,
        })
    }
}

/// A string setting of the stored configuration, empty when absent.
fn setting(record: &StoredStorageProfile, field: &str) -> String {
    record
        .configuration
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A name is any text of up to 100 characters without control characters;
/// names are unique in any case, as NekoHub's are.
fn valid_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::StorageProfileNameRequired);
    }
    if name.chars().count() <= 100 && !name.chars().any(char::is_control) {
        Ok(name.to_string())
    } else {
        Err(Error::StorageProfileNameInvalid)
    }
}

/// The display name, or the name when none (or only blanks) is given.
fn display_name(display_name: Option<String>, name: &str) -> String {
    display_name
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| name.to_string())
}

#[async_trait]
impl Stores for StorageProfileService {
    async fn store(&self, profile_id: &str) -> Result<Arc<dyn BlobStore>> {
        StorageProfileService::store(self, profile_id).await
    }
}
