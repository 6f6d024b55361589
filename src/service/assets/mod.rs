//! The rules for assets, shared by every transport, split by concern:
//! uploads, queries and changes, content, and watching.

mod content;
mod from_url;
mod query;
mod upload;
mod validate;
mod watch;

use std::sync::Arc;

use super::AssetEvents;
use crate::{
    db::Db,
    domain::{Asset, AssetDetails, parse_asset_id},
    error::{Error, Result},
    jobs::JobSignal,
    service::StorageProfileService,
    storage::BlobStore,
};

pub use content::{Content, ContentBody};

/// Longest `originalFileName`, in characters.
pub const MAX_FILE_NAME_LEN: usize = 255;
/// Most ids one batch delete takes.
pub const MAX_BATCH_DELETE: usize = 1000;
/// Leading bytes kept in memory during an upload to read the image header.
const PROBE_LEN: usize = 256 * 1024;

/// Limits the asset rules need, taken from the configuration.
#[derive(Clone, Debug)]
pub struct AssetLimits {
    pub max_upload_bytes: u64,
    pub allowed_content_types: Vec<String>,
    pub default_page_size: u32,
    pub max_page_size: u32,
    /// See `Config::url_fetch_allow_private`.
    pub url_fetch_allow_private: bool,
}

/// The rules for assets, shared by REST and gRPC.
#[derive(Clone)]
pub struct AssetService {
    db: Db,
    profiles: StorageProfileService,
    limits: Arc<AssetLimits>,
    events: AssetEvents,
    jobs: JobSignal,
}

impl AssetService {
    /// The largest file an upload (or any route carrying a file) takes.
    pub fn max_upload_bytes(&self) -> u64 {
        self.limits.max_upload_bytes
    }

    pub fn new(
        db: Db,
        profiles: StorageProfileService,
        limits: AssetLimits,
        events: AssetEvents,
        jobs: JobSignal,
    ) -> Self {
        AssetService {
            db,
            profiles,
            limits: Arc::new(limits),
            events,
            jobs,
        }
    }

    /// The backend that gives a public asset its links; `None` for a
    /// private asset (it has none).
    async fn public_store(&self, asset: &Asset) -> Option<Arc<dyn BlobStore>> {
        if !asset.is_public {
            return None;
        }
        self.profiles.store(&asset.storage_profile_id).await.ok()
    }

    /// Adds what only the backend knows (the public URL) to an asset.
    async fn present(&self, mut asset: Asset) -> Asset {
        if let Some(store) = self.public_store(&asset).await {
            asset.public_url = store.public_url(&asset.storage_key);
        }
        asset
    }

    /// The asset with its derivatives, results and latest execution.
    pub async fn details(&self, asset: Asset) -> Result<AssetDetails> {
        // Independent reads: on PostgreSQL their round trips overlap.
        let (derivatives, structured_results, latest_execution) = tokio::try_join!(
            self.db.derivatives(asset.id),
            self.db.structured_results(asset.id),
            self.db.latest_execution(asset.id),
        )?;
        Ok(self
            .with_links(AssetDetails {
                asset,
                derivatives,
                structured_results,
                latest_execution,
            })
            .await)
    }

    /// One asset in full, read in one statement.
    pub(crate) async fn load_details(&self, id: &str) -> Result<AssetDetails> {
        let uuid = parse_asset_id(id)?;
        let details = self
            .db
            .asset_details(uuid)
            .await?
            .ok_or_else(|| Error::AssetNotFound(id.to_string()))?;
        Ok(self.with_links(details).await)
    }

    /// Adds the public links of a public asset and its derivatives.
    async fn with_links(&self, mut details: AssetDetails) -> AssetDetails {
        if let Some(store) = self.public_store(&details.asset).await {
            details.asset.public_url = store.public_url(&details.asset.storage_key);
            for derivative in &mut details.derivatives {
                derivative.public_url = store.public_url(&derivative.storage_key);
            }
        }
        details
    }

    pub(crate) async fn load(&self, id: &str) -> Result<Asset> {
        let uuid = parse_asset_id(id)?;
        self.db
            .get_asset(uuid)
            .await?
            .ok_or_else(|| Error::AssetNotFound(id.to_string()))
    }
}
