//! Leftovers of crashes: partial files in a backend's staging area, and
//! stored objects no row refers to (a process died between storing an
//! object and recording it). Swept at start and periodically, on every
//! profile whose backend can list, and only what was last written more than
//! `TESSERA_ORPHAN_GRACE_SECONDS` ago, so an upload in progress (its object
//! is stored just before its row) is never touched.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use chrono::{DateTime, Utc};

use tracing::{debug, info, warn};

use crate::{db::Db, domain::now, error::Result, service::StorageProfileService};

/// Where tessera's objects live; anything else in a bucket is not its own.
const PREFIXES: [&str; 2] = ["originals/", "derivatives/"];

#[derive(Clone)]
pub struct OrphanSweeper {
    db: Db,
    storage: StorageProfileService,
    grace: Duration,
    /// Unrecorded objects of backends that give no times (GitHub), by
    /// (profile, key): aged from when this instance first saw them.
    first_seen: Arc<Mutex<FirstSeen>>,
}

/// When this instance first saw each unrecorded (profile, key).
type FirstSeen = HashMap<(String, String), DateTime<Utc>>;

impl OrphanSweeper {
    pub fn new(db: Db, storage: StorageProfileService, grace: Duration) -> Self {
        OrphanSweeper {
            db,
            storage,
            grace,
            first_seen: Arc::default(),
        }
    }

    /// How often to sweep: often enough that leftovers go soon after their
    /// grace, never more than every ten minutes.
    pub fn interval(&self) -> Duration {
        (self.grace / 2).clamp(Duration::from_secs(1), Duration::from_secs(600))
    }

    /// One sweep of every profile; failures are logged and retried next time.
    pub async fn sweep(&self) {
        if let Err(err) = self.sweep_all().await {
            warn!(error = %err, "the orphan sweep could not read the recorded keys");
        }
    }

    fn first_seen(&self) -> MutexGuard<'_, FirstSeen> {
        self.first_seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn sweep_all(&self) -> Result<()> {
        let at = now();
        let before = at - chrono::Duration::from_std(self.grace).unwrap_or_default();
        // Read before listing: an object recorded after this read is younger
        // than the grace period, so it is not a candidate anyway.
        let recorded = self.db.recorded_storage_keys().await?;
        for (profile_id, store) in self.storage.loaded() {
            match store.sweep_staging(before).await {
                Ok(0) => {}
                Ok(removed) => {
                    info!(%profile_id, removed, "removed partial files of crashed writes")
                }
                Err(err) => warn!(%profile_id, error = %err, "could not sweep the staging area"),
            }
            let mut removed = 0u64;
            let mut unrecorded = HashSet::new();
            for prefix in PREFIXES {
                let objects = match store.list(prefix).await {
                    Ok(Some(objects)) => objects,
                    Ok(None) => {
                        debug!(%profile_id, "this backend cannot list; no orphan sweep");
                        break;
                    }
                    Err(err) => {
                        warn!(%profile_id, error = %err, "could not list stored objects");
                        break;
                    }
                };
                for object in objects {
                    if recorded.contains(&object.key) {
                        continue;
                    }
                    let written = match object.modified {
                        Some(modified) => modified,
                        None => {
                            unrecorded.insert(object.key.clone());
                            *self
                                .first_seen()
                                .entry((profile_id.clone(), object.key.clone()))
                                .or_insert(at)
                        }
                    };
                    if written >= before {
                        continue;
                    }
                    match store
                        .delete(&object.key, Some("remove an object no asset refers to"))
                        .await
                    {
                        Ok(()) => removed += 1,
                        Err(err) => {
                            warn!(%profile_id, key = %object.key, error = %err, "could not remove an orphaned object");
                        }
                    }
                }
            }
            // Forget what is gone or recorded by now.
            self.first_seen()
                .retain(|(profile, key), _| *profile != profile_id || unrecorded.contains(key));
            if removed > 0 {
                info!(%profile_id, removed, "removed objects no asset refers to");
            }
        }
        Ok(())
    }
}
