//! Reading, changing and deleting recorded assets.

use std::collections::HashSet;

use tracing::{instrument, warn};
use uuid::Uuid;

use super::{
    AssetService, MAX_BATCH_DELETE,
    validate::{clean_text, patched_file_name},
};
use crate::{
    db::AssetUpdate,
    domain::{
        Asset, AssetDetails, AssetPatch, AssetStatus, BatchDeleteOutcome, DeletedAsset, ListParams,
        ListQuery, MAX_TEXT_LEN, Page, Permission, Principal, StatusFilter, UsageStats, now,
        parse_asset_id,
    },
    error::{Error, Result},
};

impl AssetService {
    #[instrument(skip_all, fields(asset_id = %id))]
    pub async fn get(&self, principal: &Principal, id: &str) -> Result<AssetDetails> {
        principal.require(Permission::AssetsRead)?;
        self.load_details(id).await
    }

    #[instrument(skip_all)]
    pub async fn list(&self, principal: &Principal, params: ListParams) -> Result<Page<Asset>> {
        principal.require(Permission::AssetsRead)?;
        self.list_matching(params, false).await
    }

    /// The anonymous gallery: only `ready`, public assets, whatever the caller.
    #[instrument(skip_all)]
    pub async fn list_public(&self, params: ListParams) -> Result<Page<Asset>> {
        let params = ListParams {
            status: Some(StatusFilter::Is(AssetStatus::Ready)),
            ..params
        };
        self.list_matching(params, true).await
    }

    /// One gallery asset; private or unfinished ones do not exist here.
    #[instrument(skip_all, fields(asset_id = %id))]
    pub async fn get_public(&self, id: &str) -> Result<AssetDetails> {
        let details = self.load_details(id).await?;
        if !details.asset.is_public || details.asset.status != AssetStatus::Ready {
            return Err(Error::AssetNotFound(id.to_string()));
        }
        Ok(details)
    }

    async fn list_matching(&self, params: ListParams, public_only: bool) -> Result<Page<Asset>> {
        let page = match params.page {
            None => 1,
            Some(page) => u32::try_from(page)
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| Error::InvalidPage(page.to_string()))?,
        };
        let page_size = match params.page_size {
            None => self.limits.default_page_size,
            Some(size) if size < 1 => return Err(Error::InvalidPageSize(size.to_string())),
            Some(size) => u32::try_from(size)
                .unwrap_or(u32::MAX)
                .min(self.limits.max_page_size),
        };
        let status = match params.status {
            // Deleted assets are gone: nothing to read.
            Some(StatusFilter::Deleted) => {
                return Ok(Page {
                    items: Vec::new(),
                    page,
                    page_size,
                    total: 0,
                    total_estimated: false,
                });
            }
            Some(StatusFilter::Is(status)) => Some(status),
            None => None,
        };
        let query = ListQuery {
            public_only,
            page,
            page_size,
            query: params
                .query
                .map(|q| q.trim().to_string())
                .filter(|q| !q.is_empty()),
            content_type: params.content_type,
            status,
            order_by: params.order_by,
            direction: params.direction,
        };
        let (items, total) = self.db.list_assets(&query).await?;
        let mut presented = Vec::with_capacity(items.len());
        for asset in items {
            presented.push(self.present(asset).await);
        }
        Ok(Page {
            items: presented,
            page,
            page_size,
            total: total.value,
            total_estimated: total.estimated,
        })
    }

    #[instrument(skip_all, fields(asset_id = %id))]
    pub async fn update(
        &self,
        principal: &Principal,
        id: &str,
        patch: AssetPatch,
    ) -> Result<AssetDetails> {
        principal.require(Permission::AssetsUpdate)?;
        let uuid = parse_asset_id(id)?;
        let too_long_description = || Error::AssetDescriptionTooLong { max: MAX_TEXT_LEN };
        let too_long_alt_text = || Error::AssetAltTextTooLong { max: MAX_TEXT_LEN };
        let description = patch
            .description
            .map(|d| clean_text(d, too_long_description))
            .transpose()?;
        let alt_text = patch
            .alt_text
            .map(|a| clean_text(a, too_long_alt_text))
            .transpose()?;
        let original_file_name = patch
            .original_file_name
            .map(|name| name.as_deref().map(patched_file_name).transpose())
            .transpose()?;
        if patch.is_public == Some(false)
            && let Some(asset) = self.db.get_asset(uuid).await?
            && !self
                .profiles
                .store(&asset.storage_profile_id)
                .await?
                .allows_private()
        {
            return Err(Error::StorageProfilePublicOnly(asset.storage_profile_id));
        }
        let update = AssetUpdate {
            description: description.as_ref().map(Option::as_deref),
            alt_text: alt_text.as_ref().map(Option::as_deref),
            original_file_name: original_file_name.as_ref().map(Option::as_deref),
            is_public: patch.is_public,
        };
        let asset = self
            .db
            .update_asset(uuid, &update, now())
            .await?
            .ok_or_else(|| Error::AssetNotFound(id.to_string()))?;
        self.events.changed(&asset);
        self.details(asset).await
    }

    /// Removes the row and everything attached, then the stored files. A file
    /// that cannot be removed is logged; the asset is gone either way.
    #[instrument(skip_all, fields(asset_id = %id))]
    pub async fn delete(
        &self,
        principal: &Principal,
        id: &str,
        commit_message: Option<&str>,
    ) -> Result<DeletedAsset> {
        principal.require(Permission::AssetsDelete)?;
        let uuid = parse_asset_id(id)?;
        self.delete_one(uuid, commit_message)
            .await?
            .ok_or_else(|| Error::AssetNotFound(id.to_string()))
    }

    async fn delete_one(
        &self,
        id: Uuid,
        commit_message: Option<&str>,
    ) -> Result<Option<DeletedAsset>> {
        let Some((asset, derivative_keys)) = self.db.delete_asset(id).await? else {
            return Ok(None);
        };
        match self.profiles.store(&asset.storage_profile_id).await {
            Ok(store) => {
                for key in std::iter::once(&asset.storage_key).chain(&derivative_keys) {
                    if let Err(err) = store.delete(key, commit_message).await {
                        warn!(%key, error = %err, "could not remove a deleted asset's file");
                    }
                }
            }
            Err(err) => warn!(error = %err, "could not remove a deleted asset's files"),
        }
        self.events.deleted(id);
        Ok(Some(DeletedAsset {
            id,
            status: asset.status,
            deleted_at: now(),
        }))
    }

    /// Deletes what exists and reports the rest; ids that are not UUIDs
    /// cannot exist and are reported as not found.
    #[instrument(skip_all, fields(count = ids.len()))]
    pub async fn batch_delete(
        &self,
        principal: &Principal,
        ids: Vec<String>,
    ) -> Result<BatchDeleteOutcome> {
        principal.require(Permission::AssetsDelete)?;
        if ids.len() > MAX_BATCH_DELETE {
            return Err(Error::AssetBatchTooLarge {
                max: MAX_BATCH_DELETE,
            });
        }
        let mut seen = HashSet::new();
        let unique: Vec<String> = ids
            .into_iter()
            .filter(|id| seen.insert(id.clone()))
            .collect();
        let mut outcome = BatchDeleteOutcome {
            requested_count: u32::try_from(unique.len()).unwrap_or(u32::MAX),
            ..Default::default()
        };
        for id in unique {
            let deleted = match parse_asset_id(&id) {
                Ok(uuid) => self.delete_one(uuid, None).await?.is_some(),
                Err(_) => false,
            };
            if deleted {
                outcome.deleted_count += 1;
            } else {
                outcome.not_found_ids.push(id);
            }
        }
        Ok(outcome)
    }

    #[instrument(skip_all)]
    pub async fn usage_stats(&self, principal: &Principal) -> Result<UsageStats> {
        principal.require(Permission::AssetsRead)?;
        let mut stats = self.db.usage_stats().await?;
        stats.most_active_skill = self.db.most_active_skill().await?;
        Ok(stats)
    }
}
