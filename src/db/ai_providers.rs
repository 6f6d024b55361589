use sqlx::FromRow;

use super::{Db, flag};
use crate::{
    domain::{AiProvider, StoredAiProvider, from_micros, to_micros},
    error::Result,
};

/// A row of `ai_providers`; becomes a [`StoredAiProvider`] before it leaves `db/`.
#[derive(FromRow)]
struct AiProviderRow {
    id: String,
    name: String,
    api_base_url: String,
    api_key_ciphertext: Option<String>,
    api_key_hint: Option<String>,
    model_name: String,
    default_system_prompt: Option<String>,
    is_active: i64,
    created_at: i64,
    updated_at: i64,
}

impl From<AiProviderRow> for StoredAiProvider {
    fn from(row: AiProviderRow) -> StoredAiProvider {
        StoredAiProvider {
            provider: AiProvider {
                id: row.id,
                name: row.name,
                api_base_url: row.api_base_url,
                api_key_masked: row.api_key_hint,
                model_name: row.model_name,
                default_system_prompt: row.default_system_prompt,
                is_active: row.is_active != 0,
                created_at: from_micros(row.created_at),
                updated_at: from_micros(row.updated_at),
            },
            api_key_ciphertext: row.api_key_ciphertext,
        }
    }
}

const COLUMNS: &str = "id, name, api_base_url, api_key_ciphertext, api_key_hint, model_name, \
     default_system_prompt, is_active, created_at, updated_at";

impl Db {
    pub async fn list_ai_providers(&self) -> Result<Vec<StoredAiProvider>> {
        let sql = format!("SELECT {COLUMNS} FROM ai_providers ORDER BY is_active DESC, name");
        let rows: Vec<AiProviderRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(StoredAiProvider::from).collect())
    }

    pub async fn ai_provider(&self, id: &str) -> Result<Option<StoredAiProvider>> {
        let sql = format!("SELECT {COLUMNS} FROM ai_providers WHERE id = $1");
        let row: Option<AiProviderRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(StoredAiProvider::from))
    }

    pub async fn ai_provider_by_name(&self, name: &str) -> Result<Option<StoredAiProvider>> {
        // Names are unique regardless of case, as NekoHub's are.
        let sql = format!("SELECT {COLUMNS} FROM ai_providers WHERE lower(name) = lower($1)");
        let row: Option<AiProviderRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(StoredAiProvider::from))
    }

    pub async fn active_ai_provider(&self) -> Result<Option<StoredAiProvider>> {
        let sql = format!("SELECT {COLUMNS} FROM ai_providers WHERE is_active = 1");
        let row: Option<AiProviderRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(StoredAiProvider::from))
    }

    /// Inserts (or, with the same id, rewrites) a profile. Activation goes
    /// through `activate_ai_provider` so at most one is active.
    pub async fn save_ai_provider(&self, stored: &StoredAiProvider) -> Result<()> {
        let record = &stored.provider;
        sqlx::query(
            "INSERT INTO ai_providers (id, name, api_base_url, api_key_ciphertext, api_key_hint, model_name, \
             default_system_prompt, is_active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, api_base_url = excluded.api_base_url, \
             api_key_ciphertext = excluded.api_key_ciphertext, api_key_hint = excluded.api_key_hint, \
             model_name = excluded.model_name, default_system_prompt = excluded.default_system_prompt, \
             updated_at = excluded.updated_at",
        )
        .bind(&record.id)
        .bind(&record.name)
        .bind(&record.api_base_url)
        .bind(stored.api_key_ciphertext.as_deref())
        .bind(record.api_key_masked.as_deref())
        .bind(&record.model_name)
        .bind(record.default_system_prompt.as_deref())
        .bind(to_micros(record.created_at))
        .bind(to_micros(record.updated_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Makes `id` the one active profile; `false` when it does not exist.
    pub async fn activate_ai_provider(&self, id: &str, at: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE ai_providers SET is_active = 0, updated_at = $1 WHERE is_active = 1 AND id <> $2")
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done =
            sqlx::query("UPDATE ai_providers SET is_active = $1, updated_at = $2 WHERE id = $3")
                .bind(flag(true))
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Leaves `id` inactive (and so no profile active, if it was).
    pub async fn deactivate_ai_provider(&self, id: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE ai_providers SET is_active = $1, updated_at = $2 WHERE id = $3")
            .bind(flag(false))
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_ai_provider(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM ai_providers WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
