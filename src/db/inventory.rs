//! What is stored, seen whole: every recorded key (for the orphan sweep),
//! the public content behind a storage key, and usage totals.

use std::collections::HashSet;

use super::{Db, assets::non_negative};
use crate::{
    domain::{AssetStatus, ContentTypeUsage, UsageStats},
    error::Result,
};

/// Where the bytes behind a public `/content/{storageKey}` address live.
#[derive(Clone, Debug)]
pub struct PublicContent {
    pub storage_profile_id: String,
    pub content_type: String,
    pub checksum_sha256: Option<String>,
}

impl Db {
    /// Finds a *public* asset or derivative stored under `storage_key`.
    /// Every storage key a row refers to (originals and derivatives, every
    /// profile): what the orphan sweep must never remove.
    pub async fn recorded_storage_keys(&self) -> Result<HashSet<String>> {
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT storage_key FROM assets UNION SELECT storage_key FROM derivatives",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(keys.into_iter().collect())
    }

    pub async fn find_public_content(&self, storage_key: &str) -> Result<Option<PublicContent>> {
        let original: Option<(String, String, String)> = sqlx::query_as(
            "SELECT storage_profile_id, content_type, checksum_sha256 FROM assets \
             WHERE storage_key = $1 AND is_public = 1 AND status = $2",
        )
        .bind(storage_key)
        .bind(AssetStatus::Ready.as_str())
        .fetch_optional(&self.pool)
        .await?;
        if let Some((storage_profile_id, content_type, checksum)) = original {
            return Ok(Some(PublicContent {
                storage_profile_id,
                content_type,
                checksum_sha256: Some(checksum),
            }));
        }
        let derivative: Option<(String, String)> = sqlx::query_as(
            "SELECT a.storage_profile_id, d.content_type FROM derivatives d \
             JOIN assets a ON a.id = d.asset_id \
             WHERE d.storage_key = $1 AND a.is_public = 1 AND a.status = $2",
        )
        .bind(storage_key)
        .bind(AssetStatus::Ready.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            derivative.map(|(storage_profile_id, content_type)| PublicContent {
                storage_profile_id,
                content_type,
                checksum_sha256: None,
            }),
        )
    }

    pub async fn usage_stats(&self) -> Result<UsageStats> {
        let (total_assets, total_bytes): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM assets")
                .fetch_one(&self.pool)
                .await?;
        let total_derivatives: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM derivatives")
            .fetch_one(&self.pool)
            .await?;
        let breakdown: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT content_type, COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM assets \
             GROUP BY content_type ORDER BY COUNT(*) DESC, content_type",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(UsageStats {
            total_assets: non_negative(total_assets),
            total_bytes: non_negative(total_bytes),
            total_derivatives: non_negative(total_derivatives),
            content_type_breakdown: breakdown
                .into_iter()
                .map(|(content_type, count, bytes)| ContentTypeUsage {
                    content_type,
                    count: non_negative(count),
                    total_bytes: non_negative(bytes),
                })
                .collect(),
            most_active_skill: None,
        })
    }
}
