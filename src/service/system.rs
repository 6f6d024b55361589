use std::{collections::HashMap, sync::Arc};

use crate::{db::Db, service::StorageProfileService};

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
    /// `(profile name, state)` of every enabled storage profile (ids when
    /// the database cannot name them).
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
    storage: StorageProfileService,
    limits: Arc<AssetLimits>,
}

impl SystemService {
    pub fn new(db: Db, storage: StorageProfileService, limits: AssetLimits) -> Self {
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

    /// The Prometheus text exposition, with the job queue read now.
    pub async fn metrics(&self) -> crate::error::Result<String> {
        let Some(prometheus) = crate::telemetry::prometheus() else {
            return Err(crate::error::Error::internal(
                "metrics",
                "another metrics recorder is installed",
            ));
        };
        let counts = self.db.job_counts().await?;
        for status in crate::domain::JobStatus::ALL {
            let count = counts
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n);
            metrics::gauge!(crate::telemetry::JOBS, "status" => status.as_str()).set(count as f64);
        }
        prometheus.run_upkeep();
        Ok(prometheus.render())
    }

    /// Checks the database and every enabled storage profile, all at once so
    /// one slow backend does not add up with the others.
    pub async fn readiness(&self) -> Readiness {
        let (database, profiles) = tokio::join!(self.db.ping(), self.db.list_storage_profiles());
        // Anonymous callers see what failed, never the backend's own words.
        let database = database.map_err(|err| {
            tracing::warn!(error = %err, "readiness: the database does not answer");
            "unreachable".to_string()
        });
        let names: Option<HashMap<String, (String, bool)>> = profiles.ok().map(|records| {
            records
                .into_iter()
                .map(|r| (r.id, (r.name, r.is_enabled)))
                .collect()
        });
        let checks = self
            .storage
            .loaded()
            .into_iter()
            .filter_map(|(id, store)| {
                let name = match &names {
                    Some(names) => match names.get(&id) {
                        Some((name, true)) => name.clone(),
                        _ => return None,
                    },
                    None => id,
                };
                Some(async move {
                    let checked = store.check().await.map_err(|err| {
                        tracing::warn!(profile = %name, error = %err, "readiness: storage check failed");
                        err.kind().to_string()
                    });
                    (name, checked)
                })
            });
        let mut storage = futures_util::future::join_all(checks).await;
        storage.sort_by(|a, b| a.0.cmp(&b.0));
        Readiness { database, storage }
    }
}
