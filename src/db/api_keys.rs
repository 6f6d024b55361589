use sqlx::{AssertSqlSafe, FromRow};

use super::Db;
use crate::{
    domain::{now, to_micros},
    error::Result,
};

/// How a stored key records whom it acts for (see migration 0008).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HolderKind {
    Operator,
    User,
    Unknown,
}

impl HolderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HolderKind::Operator => "operator",
            HolderKind::User => "user",
            HolderKind::Unknown => "unknown",
        }
    }

    /// Anything unrecognised is `Unknown`: no rank, never more.
    pub fn parse(value: &str) -> HolderKind {
        match value {
            "operator" => HolderKind::Operator,
            "user" => HolderKind::User,
            _ => HolderKind::Unknown,
        }
    }
}

/// An API key as stored: only a prefix for lookup and a hash of the whole key.
#[derive(Clone, Debug, FromRow)]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    /// JSON array of permission names.
    pub scopes: String,
    /// `operator`, `user` or `unknown` (see migration 0008).
    pub holder: String,
    pub holder_user_id: Option<String>,
}

/// An API key as listed: never the hash. `holder_role` is the holding
/// user's role now, for the rule that managing a key needs outranking its holder.
#[derive(Clone, Debug, FromRow)]
pub struct ApiKeyListing {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub holder: String,
    pub holder_user_id: Option<String>,
    pub holder_role: Option<String>,
}

const LISTING: &str = "SELECT k.id, k.name, k.prefix, k.scopes, k.created_at, k.last_used_at, \
     k.revoked_at, k.holder, k.holder_user_id, u.role AS holder_role \
     FROM api_keys k LEFT JOIN users u ON u.id = k.holder_user_id";

impl Db {
    pub async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, name, prefix, key_hash, scopes, holder, holder_user_id, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&key.id)
        .bind(&key.name)
        .bind(&key.prefix)
        .bind(&key.key_hash)
        .bind(&key.scopes)
        .bind(&key.holder)
        .bind(key.holder_user_id.as_deref())
        .bind(to_micros(now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn active_api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, name, prefix, key_hash, scopes, holder, holder_user_id FROM api_keys \
             WHERE prefix = $1 AND revoked_at IS NULL",
        )
        .bind(prefix)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyListing>> {
        let sql = format!("{LISTING} ORDER BY k.created_at DESC, k.id DESC");
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn api_key(&self, id: &str) -> Result<Option<ApiKeyListing>> {
        let sql = format!("{LISTING} WHERE k.id = $1");
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
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
