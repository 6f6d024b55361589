use sqlx::{AssertSqlSafe, FromRow};

use super::{Db, permissions_from_json, permissions_to_json};
use crate::{
    domain::{
        ApiKeyInfo, ApiKeyListing, RecordedHolder, Role, StoredApiKey, from_micros, now, to_micros,
    },
    error::Result,
};

/// The `holder` column's spellings (see migration 0008).
fn holder_column(holder: &RecordedHolder) -> (&'static str, Option<&str>) {
    match holder {
        RecordedHolder::Operator => ("operator", None),
        RecordedHolder::User(id) => ("user", Some(id)),
        RecordedHolder::Unknown => ("unknown", None),
    }
}

/// Anything unrecognised is `Unknown`: no rank, never more. A user key
/// without its user names nobody, so it is refused like a vanished user's.
fn recorded_holder(holder: &str, user_id: Option<String>) -> RecordedHolder {
    match holder {
        "operator" => RecordedHolder::Operator,
        "user" => RecordedHolder::User(user_id.unwrap_or_default()),
        _ => RecordedHolder::Unknown,
    }
}

#[derive(FromRow)]
struct ApiKeyRow {
    id: String,
    name: String,
    prefix: String,
    key_hash: String,
    scopes: String,
    holder: String,
    holder_user_id: Option<String>,
}

impl From<ApiKeyRow> for StoredApiKey {
    fn from(row: ApiKeyRow) -> StoredApiKey {
        StoredApiKey {
            scopes: permissions_from_json(&row.scopes),
            holder: recorded_holder(&row.holder, row.holder_user_id),
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            key_hash: row.key_hash,
        }
    }
}

#[derive(FromRow)]
struct ApiKeyListingRow {
    id: String,
    name: String,
    prefix: String,
    scopes: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
    holder: String,
    holder_user_id: Option<String>,
    holder_role: Option<String>,
}

impl From<ApiKeyListingRow> for ApiKeyListing {
    fn from(row: ApiKeyListingRow) -> ApiKeyListing {
        ApiKeyListing {
            info: ApiKeyInfo {
                scopes: permissions_from_json(&row.scopes),
                id: row.id,
                name: row.name,
                prefix: row.prefix,
                created_at: from_micros(row.created_at),
                last_used_at: row.last_used_at.map(from_micros),
                revoked_at: row.revoked_at.map(from_micros),
            },
            holder: recorded_holder(&row.holder, row.holder_user_id),
            holder_role: row.holder_role.as_deref().and_then(Role::parse),
        }
    }
}

const LISTING: &str = "SELECT k.id, k.name, k.prefix, k.scopes, k.created_at, k.last_used_at, \
     k.revoked_at, k.holder, k.holder_user_id, u.role AS holder_role \
     FROM api_keys k LEFT JOIN users u ON u.id = k.holder_user_id";

impl Db {
    pub async fn insert_api_key(&self, key: &StoredApiKey) -> Result<()> {
        let (holder, holder_user_id) = holder_column(&key.holder);
        sqlx::query(
            "INSERT INTO api_keys (id, name, prefix, key_hash, scopes, holder, holder_user_id, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&key.id)
        .bind(&key.name)
        .bind(&key.prefix)
        .bind(&key.key_hash)
        .bind(permissions_to_json(key.scopes))
        .bind(holder)
        .bind(holder_user_id)
        .bind(to_micros(now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn active_api_key_by_prefix(&self, prefix: &str) -> Result<Option<StoredApiKey>> {
        let row: Option<ApiKeyRow> = sqlx::query_as(
            "SELECT id, name, prefix, key_hash, scopes, holder, holder_user_id FROM api_keys \
             WHERE prefix = $1 AND revoked_at IS NULL",
        )
        .bind(prefix)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(StoredApiKey::from))
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyListing>> {
        let sql = format!("{LISTING} ORDER BY k.created_at DESC, k.id DESC");
        let rows: Vec<ApiKeyListingRow> = sqlx::query_as(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(ApiKeyListing::from).collect())
    }

    pub async fn api_key(&self, id: &str) -> Result<Option<ApiKeyListing>> {
        let sql = format!("{LISTING} WHERE k.id = $1");
        let row: Option<ApiKeyListingRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(ApiKeyListing::from))
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
