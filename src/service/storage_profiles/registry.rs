//! The live backends of this instance, by profile id. Private to the
//! profile service, which keeps it in line with the database.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use chrono::{DateTime, Utc};

use crate::storage::{BlobStore, instrumented};

/// Storage profiles by id, each with its backend (instrumented for metrics).
/// Profiles can be added, replaced and removed while the server runs.
#[derive(Clone)]
pub(super) struct StorageRegistry {
    inner: Arc<RwLock<Registry>>,
}

struct Registry {
    /// Each profile's backend and the `updated_at` of the row it was built from.
    stores: HashMap<String, (Arc<dyn BlobStore>, DateTime<Utc>)>,
}

impl StorageRegistry {
    /// Starts with the `local` profile, this instance's configured storage.
    pub fn new(local_id: String, local_store: Arc<dyn BlobStore>, version: DateTime<Utc>) -> Self {
        let local_store: Arc<dyn BlobStore> = instrumented(local_store);
        let stores = HashMap::from([(local_id, (local_store, version))]);
        StorageRegistry {
            inner: Arc::new(RwLock::new(Registry { stores })),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn store(&self, profile_id: &str) -> Option<Arc<dyn BlobStore>> {
        self.read()
            .stores
            .get(profile_id)
            .map(|(store, _)| store.clone())
    }

    /// The `updated_at` of the profile row the backend was built from.
    pub fn version(&self, profile_id: &str) -> Option<DateTime<Utc>> {
        self.read()
            .stores
            .get(profile_id)
            .map(|(_, version)| *version)
    }

    pub fn profiles(&self) -> Vec<(String, Arc<dyn BlobStore>)> {
        self.read()
            .stores
            .iter()
            .map(|(id, (store, _))| (id.clone(), store.clone()))
            .collect()
    }

    pub fn insert(&self, profile_id: &str, store: Arc<dyn BlobStore>, version: DateTime<Utc>) {
        let store = instrumented(store);
        self.write()
            .stores
            .insert(profile_id.to_string(), (store, version));
    }

    /// Drops every profile not in `keep`.
    pub fn retain(&self, keep: &std::collections::HashSet<String>) {
        self.write().stores.retain(|id, _| keep.contains(id));
    }

    pub fn remove(&self, profile_id: &str) {
        self.write().stores.remove(profile_id);
    }
}
