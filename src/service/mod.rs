//! The one implementation of every operation. Both transports call these
//! services with a `Principal`; the rules live here and nowhere else.

mod ai_providers;
mod assets;
mod auth;
mod orphans;
mod processing;
mod skills;
mod storage_profiles;
mod system;
mod uploads;
mod users;
mod workflows;

pub use ai_providers::{AiProviderService, SEEDED_PROFILE_NAME};
pub use assets::{AssetLimits, AssetService, Content, ContentBody};
pub use auth::{AuthService, CreatedApiKey, MIN_PASSWORD_LEN, SessionSettings};
pub use skills::SkillService;
pub use storage_profiles::{LocalProfile, StorageProfileService};
pub use system::{BootstrapInfo, Readiness, SystemService};
pub use uploads::{ChunkEnd, MAX_GRPC_CHUNK_BYTES, UploadService};
pub use users::{NewUser, UserChange, UserService};
pub use workflows::WorkflowService;

use std::{sync::Arc, time::Duration};

use tokio::sync::broadcast;
use uuid::Uuid;

use crate::{
    ai::{AiProviders, RetryPolicy},
    auth::{encryption::SecretCipher, tokens::JwtKeys},
    config::{Config, Secret},
    db::Db,
    domain::Asset,
    jobs::{JobSignal, WorkerSettings, Workers},
    skills::SkillRunner,
    storage::{LocalStore, PublicBase},
};

/// Failures while bringing the service up; reported by `main`.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot open storage: {0}")]
    Storage(#[from] crate::storage::StorageError),
    #[error("cannot load the token signing secret: {0}")]
    JwtSecret(std::io::Error),
    #[error("cannot load the encryption key: {0}")]
    Encryption(#[from] crate::auth::encryption::CipherError),
    #[error("cannot prepare the service: {0}")]
    Setup(#[from] crate::error::Error),
}

/// An asset as it was right after a change; `None` once it is deleted.
#[derive(Clone, Debug)]
pub struct AssetEvent {
    pub id: Uuid,
    pub asset: Option<Asset>,
}

/// Announces changes (status, content) to watchers in this process, with the
/// asset as it was at that moment, so no status is skipped; other instances'
/// changes are seen by polling.
#[derive(Clone)]
pub struct AssetEvents(broadcast::Sender<AssetEvent>);

impl AssetEvents {
    fn new() -> Self {
        AssetEvents(broadcast::channel(1024).0)
    }

    pub fn changed(&self, asset: &Asset) {
        let _ = self.0.send(AssetEvent {
            id: asset.id,
            asset: Some(asset.clone()),
        });
    }

    pub fn deleted(&self, id: Uuid) {
        let _ = self.0.send(AssetEvent { id, asset: None });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<AssetEvent> {
        self.0.subscribe()
    }
}

/// How often each instance picks up storage profiles changed by another
/// (an unknown profile id is also looked up at once).
const PROFILE_SYNC_INTERVAL: Duration = Duration::from_secs(15);

/// Everything a transport needs, cheap to clone into handlers.
#[derive(Clone)]
pub struct Services {
    pub ai_providers: AiProviderService,
    pub assets: AssetService,
    pub skills: SkillService,
    pub auth: AuthService,
    pub system: SystemService,
    pub storage_profiles: StorageProfileService,
    pub uploads: UploadService,
    pub users: UserService,
    pub workflows: WorkflowService,
    pub db: Db,
}

impl Services {
    /// Connects the database (migrating it), opens storage, wires the
    /// services and starts the background workers.
    pub async fn start(config: &Config) -> Result<(Services, Workers), StartError> {
        let db = connect_database(config).await?;
        db.migrate().await?;
        let root = config.local_storage_root();
        let public_base = PublicBase::new(config.public_base(), config.listen);
        let local = LocalStore::open(root.clone(), public_base.clone()).await?;
        let configuration =
            serde_json::json!({ "rootPath": root.display().to_string() }).to_string();
        // The `local` profile always uses the configured root; other profiles
        // are built from their stored configuration below.
        let local_profile = db.ensure_local_storage_profile(&configuration).await?;
        let limits = AssetLimits {
            max_upload_bytes: config.max_upload_bytes,
            allowed_content_types: config.allowed_content_types.clone(),
            default_page_size: config.default_page_size,
            max_page_size: config.max_page_size,
            url_fetch_allow_private: config.url_fetch_allow_private,
        };
        let events = AssetEvents::new();
        let signal = JobSignal::default();
        let cipher = SecretCipher::load(
            config.encryption_key.as_ref().map(Secret::expose),
            &config.data_dir,
        )?;
        let policy = RetryPolicy {
            timeout: Duration::from_secs(config.ai_timeout_seconds),
            ..RetryPolicy::default()
        };
        let storage_profiles = StorageProfileService::new(
            db.clone(),
            LocalProfile {
                id: local_profile.id,
                store: Arc::new(local),
                version: local_profile.updated_at,
            },
            cipher.clone(),
            public_base,
            config.data_dir.clone(),
        );
        storage_profiles.sync().await?;
        if let Some(storage) = &config.storage_default {
            storage_profiles.seed(storage).await?;
        }
        let ai = AiProviders::new(db.clone(), cipher, policy);
        let ai_providers = AiProviderService::new(db.clone(), ai.clone());
        if let (Some(base_url), Some(model)) = (&config.ai_base_url, &config.ai_model) {
            let key = config.ai_api_key.as_ref().map(Secret::expose);
            ai_providers.seed(base_url, key, model).await?;
        }
        let runner = SkillRunner::new(
            db.clone(),
            Arc::new(storage_profiles.clone()),
            config.max_image_pixels,
            config.max_concurrent_decodes,
            ai,
        );
        let assets = AssetService::new(
            db.clone(),
            storage_profiles.clone(),
            limits.clone(),
            events.clone(),
            signal.clone(),
        );
        let auth = auth_service(config, db.clone())?;
        let services = Services {
            ai_providers,
            skills: SkillService::new(
                assets.clone(),
                runner.clone(),
                events.clone(),
                Duration::from_secs(config.decode_wait_seconds),
            ),
            workflows: WorkflowService::new(db.clone(), assets.clone(), signal.clone()),
            uploads: UploadService::new(
                db.clone(),
                assets.clone(),
                storage_profiles.clone(),
                Duration::from_secs(config.upload_expiry_seconds),
            ),
            assets,
            users: UserService::new(db.clone(), auth.clone()),
            system: SystemService::new(db.clone(), storage_profiles.clone(), limits),
            storage_profiles,
            auth,
            db: db.clone(),
        };
        if let (Some(username), Some(password)) = (
            &config.bootstrap_admin_username,
            &config.bootstrap_admin_password,
        ) {
            services
                .auth
                .bootstrap_admin(username, password.expose())
                .await?;
        }
        let processor = processing::AssetProcessor::new(db.clone(), runner, events);
        let mut workers = Workers::start(
            db,
            Arc::new(processor),
            signal,
            WorkerSettings {
                workers: config.workers,
                lease: Duration::from_secs(config.job_lease_seconds),
                poll_interval: Duration::from_secs(2),
                retry: crate::jobs::RetryPolicy::default(),
            },
        );
        let sweeper = orphans::OrphanSweeper::new(
            services.db.clone(),
            services.storage_profiles.clone(),
            Duration::from_secs(config.orphan_grace_seconds),
        );
        tokio::spawn({
            let sweeper = sweeper.clone();
            async move { sweeper.sweep().await }
        });
        workers.every(sweeper.interval(), move || {
            let sweeper = sweeper.clone();
            async move { sweeper.sweep().await }
        });
        let uploads = services.uploads.clone();
        workers.every(services.uploads.sweep_interval(), move || {
            let uploads = uploads.clone();
            async move { uploads.sweep().await }
        });
        let profiles = services.storage_profiles.clone();
        workers.every(PROFILE_SYNC_INTERVAL, move || {
            let profiles = profiles.clone();
            async move {
                if let Err(err) = profiles.sync().await {
                    tracing::warn!(error = %err, "could not refresh storage profiles");
                }
            }
        });
        Ok((services, workers))
    }
}

/// Authentication over `db` with the configured keys and token secret
/// (also used by the CLI).
pub fn auth_service(config: &Config, db: Db) -> Result<AuthService, StartError> {
    let jwt = JwtKeys::load(
        config.jwt_secret.as_ref().map(Secret::expose),
        &config.data_dir,
    )
    .map_err(StartError::JwtSecret)?;
    let settings = SessionSettings {
        access_token_ttl: Duration::from_secs(config.access_token_ttl_seconds),
        ..SessionSettings::default()
    };
    Ok(AuthService::new(db, &config.api_keys, jwt, settings))
}

/// Opens the configured database, or the embedded SQLite file in the data dir.
pub async fn connect_database(config: &Config) -> Result<Db, StartError> {
    let url = match &config.database_url {
        Some(url) => url.expose().to_string(),
        None => {
            std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
                path: config.data_dir.clone(),
                source,
            })?;
            Db::sqlite_url(&config.data_dir.join("tessera.db"))
        }
    };
    Ok(Db::connect(&url).await?)
}
