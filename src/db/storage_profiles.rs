use serde_json::Value;
use sqlx::FromRow;

use super::{Db, flag};
use crate::{
    domain::{ProviderType, StoredStorageProfile, from_micros, now, to_micros},
    error::{Error, Result},
};

/// A row of `storage_profiles`; becomes a [`StoredStorageProfile`] before
/// it leaves `db/`.
#[derive(FromRow)]
struct StorageProfileRow {
    id: String,
    name: String,
    display_name: String,
    provider_type: String,
    is_enabled: i64,
    is_default: i64,
    configuration_json: String,
    secret_ciphertext: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<StorageProfileRow> for StoredStorageProfile {
    type Error = Error;

    fn try_from(row: StorageProfileRow) -> Result<StoredStorageProfile> {
        let provider_type = ProviderType::parse(&row.provider_type).ok_or_else(|| {
            Error::internal(
                "storage profile",
                format!("corrupt type {}", row.provider_type),
            )
        })?;
        Ok(StoredStorageProfile {
            id: row.id,
            name: row.name,
            display_name: row.display_name,
            provider_type,
            is_enabled: row.is_enabled != 0,
            is_default: row.is_default != 0,
            configuration: serde_json::from_str(&row.configuration_json).unwrap_or_default(),
            secret_ciphertext: row.secret_ciphertext,
            created_at: from_micros(row.created_at),
            updated_at: from_micros(row.updated_at),
        })
    }
}

const COLUMNS: &str = "id, name, display_name, provider_type, is_enabled, is_default, configuration_json, \
     secret_ciphertext, created_at, updated_at";

impl Db {
    /// The `local` profile (this instance's configured storage, used when no
    /// default is set), created on first start; it becomes the default when
    /// there is none. Safe when several instances start at once: the unique
    /// name decides.
    pub async fn ensure_local_storage_profile(
        &self,
        configuration_json: &str,
    ) -> Result<StoredStorageProfile> {
        if let Some(profile) = self.storage_profile_by_name("local").await? {
            return Ok(profile);
        }
        let is_default = self.default_storage_profile().await?.is_none();
        let at = to_micros(now());
        sqlx::query(
            "INSERT INTO storage_profiles (id, name, display_name, provider_type, is_enabled, \
             is_default, configuration_json, created_at, updated_at) \
             VALUES ($1, 'local', 'Local disk', 'local', $2, $3, $4, $5, $5) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(flag(true))
        .bind(flag(is_default))
        .bind(configuration_json)
        .bind(at)
        .execute(&self.pool)
        .await?;
        self.storage_profile_by_name("local").await?.ok_or_else(|| {
            crate::error::Error::internal("storage", "no local storage profile after creation")
        })
    }

    pub async fn default_storage_profile(&self) -> Result<Option<StoredStorageProfile>> {
        let sql = format!("SELECT {COLUMNS} FROM storage_profiles WHERE is_default = 1");
        let row: Option<StorageProfileRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_optional(&self.pool)
            .await?;
        row.map(StoredStorageProfile::try_from).transpose()
    }

    pub async fn storage_profile(&self, id: &str) -> Result<Option<StoredStorageProfile>> {
        let sql = format!("SELECT {COLUMNS} FROM storage_profiles WHERE id = $1");
        let row: Option<StorageProfileRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(StoredStorageProfile::try_from).transpose()
    }

    pub async fn storage_profile_by_name(
        &self,
        name: &str,
    ) -> Result<Option<StoredStorageProfile>> {
        let sql = format!("SELECT {COLUMNS} FROM storage_profiles WHERE lower(name) = lower($1)");
        let row: Option<StorageProfileRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(StoredStorageProfile::try_from).transpose()
    }

    pub async fn list_storage_profiles(&self) -> Result<Vec<StoredStorageProfile>> {
        // NekoHub's order: the default first, then enabled ones, by name.
        let sql = format!(
            "SELECT {COLUMNS} FROM storage_profiles ORDER BY is_default DESC, is_enabled DESC, name"
        );
        let rows: Vec<StorageProfileRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(StoredStorageProfile::try_from)
            .collect()
    }

    /// Inserts or rewrites a profile (not its default flag: see
    /// `set_default_storage_profile`). A name another profile holds is a
    /// conflict, decided by the unique index.
    pub async fn save_storage_profile(&self, p: &StoredStorageProfile) -> Result<()> {
        let done = sqlx::query(
            "INSERT INTO storage_profiles (id, name, display_name, provider_type, is_enabled, is_default, \
             configuration_json, secret_ciphertext, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, display_name = excluded.display_name, \
             is_enabled = excluded.is_enabled, configuration_json = excluded.configuration_json, \
             secret_ciphertext = excluded.secret_ciphertext, updated_at = excluded.updated_at",
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.display_name)
        .bind(p.provider_type.as_str())
        .bind(flag(p.is_enabled))
        .bind(Value::Object(p.configuration.clone()).to_string())
        .bind(p.secret_ciphertext.as_deref())
        .bind(to_micros(p.created_at))
        .bind(to_micros(p.updated_at))
        .execute(&self.pool)
        .await;
        match done {
            Err(err) if super::is_unique_violation(&err) => {
                Err(Error::StorageProfileNameConflict(p.name.clone()))
            }
            Err(err) => Err(err.into()),
            Ok(_) => Ok(()),
        }
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

    /// Deletes a profile no asset uses; `false` (nothing deleted) when one
    /// does, even one stored at this very moment.
    pub async fn delete_unused_storage_profile(&self, id: &str) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM storage_profiles WHERE id = $1 \
             AND NOT EXISTS (SELECT 1 FROM assets WHERE storage_profile_id = $1)",
        )
        .bind(id)
        .execute(&self.pool)
        .await;
        match done {
            Ok(done) => Ok(done.rows_affected() == 1),
            Err(err)
                if err
                    .as_database_error()
                    .is_some_and(|db| db.is_foreign_key_violation()) =>
            {
                Ok(false)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Keeps a profile for the assets that use it, but no longer for writes.
    pub async fn disable_storage_profile(&self, id: &str, at: i64) -> Result<()> {
        sqlx::query(
            "UPDATE storage_profiles SET is_enabled = 0, is_default = 0, updated_at = $1 WHERE id = $2",
        )
        .bind(at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
