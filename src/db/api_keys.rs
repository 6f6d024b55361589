use sqlx::FromRow;

use super::Db;
use crate::{
    domain::{now, to_micros},
    error::Result,
};

/// An API key as stored: only a prefix for lookup and a hash of the whole key.
#[derive(Clone, Debug, FromRow)]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    /// JSON array of permission names.
    pub scopes: String,
}

/// An API key as listed: never the hash.
#[derive(Clone, Debug, FromRow)]
pub struct ApiKeyListing {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl Db {
    pub async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, name, prefix, key_hash, scopes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.id)
        .bind(&key.name)
        .bind(&key.prefix)
        .bind(&key.key_hash)
        .bind(&key.scopes)
        .bind(to_micros(now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn active_api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, name, prefix, key_hash, scopes FROM api_keys \
             WHERE prefix = $1 AND revoked_at IS NULL",
        )
        .bind(prefix)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyListing>> {
        Ok(sqlx::query_as(
            "SELECT id, name, prefix, scopes, created_at, last_used_at, revoked_at FROM api_keys \
             ORDER BY created_at DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// `false` when no such active key exists.
    pub async fn revoke_api_key(&self, id: &str, at: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records use, at most once a minute per key so authentication stays cheap.
    pub async fn touch_api_key(&self, id: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)")
            .bind(at)
            .bind(id)
            .bind(at - 60_000_000)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn count_api_keys(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
