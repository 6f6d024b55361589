use std::sync::Arc;

use crate::{db::Db, storage::StorageRegistry};

use super::AssetLimits;

/// What a client needs to know before its first call.
#[derive(Clone, Debug)]
pub struct BootstrapInfo {
    pub api_key_required: bool,
    pub max_upload_size_bytes: u64,
    pub allowed_content_types: Vec<String>,
}

/// Each dependency's state; ready when all are reachable.
#[derive(Clone, Debug)]
pub struct Readiness {
    pub database: Result<(), String>,
    /// `(profile id, state)` of every configured storage profile.
    pub storage: Vec<(String, Result<(), String>)>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.database.is_ok() && self.storage.iter().all(|(_, state)| state.is_ok())
    }
}

#[derive(Clone)]
pub struct SystemService {
    db: Db,
    storage: StorageRegistry,
    limits: Arc<AssetLimits>,
}

impl SystemService {
    pub fn new(db: Db, storage: StorageRegistry, limits: AssetLimits) -> Self {
        SystemService {
            db,
            storage,
            limits: Arc::new(limits),
        }
    }

    pub fn bootstrap(&self) -> BootstrapInfo {
        BootstrapInfo {
            api_key_required: true,
            max_upload_size_bytes: self.limits.max_upload_bytes,
            allowed_content_types: self.limits.allowed_content_types.clone(),
        }
    }

    pub async fn readiness(&self) -> Readiness {
        let database = self.db.ping().await.map_err(|e| e.to_string());
        let mut storage = Vec::new();
        for (id, store) in self.storage.profiles() {
            storage.push((id, store.check().await.map_err(|e| e.to_string())));
        }
        Readiness { database, storage }
    }
}
