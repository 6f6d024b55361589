use sqlx::FromRow;

use super::{Db, flag};
use crate::{
    domain::{now, to_micros},
    error::Result,
};

/// A storage provider profile as stored; its secret only as ciphertext.
#[derive(Clone, Debug, FromRow)]
pub struct StorageProfileRecord {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub provider_type: String,
    pub is_enabled: i64,
    pub is_default: i64,
    /// The non-secret settings, as JSON.
    pub configuration_json: String,
    pub secret_ciphertext: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, name, display_name, provider_type, is_enabled, is_default, configuration_json, \
     secret_ciphertext, created_at, updated_at";

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

    pub async fn default_storage_profile(&self) -> Result<Option<StorageProfileRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM storage_profiles WHERE is_default = 1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn storage_profile(&self, id: &str) -> Result<Option<StorageProfileRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM storage_profiles WHERE id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn storage_profile_by_name(
        &self,
        name: &str,
    ) -> Result<Option<StorageProfileRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM storage_profiles WHERE name = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn list_storage_profiles(&self) -> Result<Vec<StorageProfileRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM storage_profiles ORDER BY name");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?)
    }

    /// Inserts or rewrites a profile (not its default flag: see `set_default_storage_profile`).
    pub async fn save_storage_profile(&self, p: &StorageProfileRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO storage_profiles (id, name, display_name, provider_type, is_enabled, is_default, \
             configuration_json, secret_ciphertext, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, \
             is_enabled = excluded.is_enabled, configuration_json = excluded.configuration_json, \
             secret_ciphertext = excluded.secret_ciphertext, updated_at = excluded.updated_at",
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.display_name)
        .bind(&p.provider_type)
        .bind(flag(p.is_enabled != 0))
        .bind(&p.configuration_json)
        .bind(p.secret_ciphertext.as_deref())
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_default_storage_profile(&self, id: &str, at: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE storage_profiles SET is_default = 0, updated_at = $1 WHERE is_default = 1 AND id <> $2")
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE storage_profiles SET is_default = 1, updated_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn count_assets_in_profile(&self, id: &str) -> Result<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM assets WHERE storage_profile_id = $1")
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    pub async fn delete_storage_profile(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM storage_profiles WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
