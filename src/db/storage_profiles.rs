use sqlx::FromRow;

use super::{Db, flag};
use crate::{
    domain::{now, to_micros},
    error::Result,
};

/// A storage provider profile as stored; secrets (later backends) stay out of it.
#[derive(Clone, Debug, FromRow)]
pub struct StorageProfileRecord {
    pub id: String,
    pub name: String,
    pub provider_type: String,
    pub is_enabled: i64,
    pub configuration_json: String,
}

impl Db {
    /// Returns the default profile, creating a `local` one on first start.
    /// Safe when several instances start at once: the unique name decides.
    pub async fn ensure_default_storage_profile(
        &self,
        configuration_json: &str,
    ) -> Result<StorageProfileRecord> {
        if let Some(profile) = self.default_storage_profile().await? {
            return Ok(profile);
        }
        let at = to_micros(now());
        sqlx::query(
            "INSERT INTO storage_profiles (id, name, display_name, provider_type, is_enabled, \
             is_default, configuration_json, created_at, updated_at) \
             VALUES ($1, 'local', 'Local disk', 'local', $2, $2, $3, $4, $4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(flag(true))
        .bind(configuration_json)
        .bind(at)
        .execute(&self.pool)
        .await?;
        self.default_storage_profile().await?.ok_or_else(|| {
            crate::error::Error::internal("storage", "no default storage profile after creation")
        })
    }

    async fn default_storage_profile(&self) -> Result<Option<StorageProfileRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, name, provider_type, is_enabled, configuration_json \
             FROM storage_profiles WHERE is_default = 1",
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn storage_profile(&self, id: &str) -> Result<Option<StorageProfileRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, name, provider_type, is_enabled, configuration_json \
             FROM storage_profiles WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }
}
