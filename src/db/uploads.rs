use sqlx::FromRow;

use super::Db;
use crate::{
    domain::{Upload, UploadChunk, UploadState, from_micros, to_micros},
    error::{Error, Result},
};

#[derive(FromRow)]
struct UploadRow {
    id: String,
    owner: String,
    size: i64,
    upload_offset: i64,
    metadata_json: String,
    expected_sha256: Option<String>,
    staging_profile_id: String,
    content_type: Option<String>,
    state: String,
    asset_id: Option<String>,
    created_at: i64,
    updated_at: i64,
    expires_at: i64,
}

impl TryFrom<UploadRow> for Upload {
    type Error = Error;

    fn try_from(row: UploadRow) -> Result<Upload> {
        let state = UploadState::parse(&row.state)
            .ok_or_else(|| Error::internal("upload state", row.state.clone()))?;
        let metadata = serde_json::from_str(&row.metadata_json)
            .map_err(|e| Error::internal("upload metadata", e))?;
        Ok(Upload {
            id: row.id,
            owner: row.owner,
            size: row.size.max(0) as u64,
            offset: row.upload_offset.max(0) as u64,
            metadata,
            expected_sha256: row.expected_sha256,
            staging_profile_id: row.staging_profile_id,
            content_type: row.content_type,
            state,
            asset_id: row.asset_id,
            created_at: from_micros(row.created_at),
            updated_at: from_micros(row.updated_at),
            expires_at: from_micros(row.expires_at),
        })
    }
}

const COLUMNS: &str = "id, owner, size, upload_offset, metadata_json, expected_sha256, \
     staging_profile_id, content_type, state, asset_id, created_at, updated_at, expires_at";

/// Sizes and offsets are far below `i64::MAX`; saturate rather than wrap.
fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Db {
    pub async fn insert_upload(&self, upload: &Upload) -> Result<()> {
        let metadata = serde_json::to_string(&upload.metadata)
            .map_err(|e| Error::internal("upload metadata", e))?;
        let sql = format!(
            "INSERT INTO uploads ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&upload.id)
            .bind(&upload.owner)
            .bind(signed(upload.size))
            .bind(signed(upload.offset))
            .bind(metadata)
            .bind(&upload.expected_sha256)
            .bind(&upload.staging_profile_id)
            .bind(&upload.content_type)
            .bind(upload.state.as_str())
            .bind(&upload.asset_id)
            .bind(to_micros(upload.created_at))
            .bind(to_micros(upload.updated_at))
            .bind(to_micros(upload.expires_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn upload(&self, id: &str) -> Result<Option<Upload>> {
        let sql = format!("SELECT {COLUMNS} FROM uploads WHERE id = $1");
        let row: Option<UploadRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Upload::try_from).transpose()
    }

    /// The staged parts in file order.
    pub async fn upload_chunks(&self, id: &str) -> Result<Vec<UploadChunk>> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT part_offset, size, storage_key FROM upload_parts \
             WHERE upload_id = $1 ORDER BY part_offset",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(offset, size, storage_key)| UploadChunk {
                offset: offset.max(0) as u64,
                size: size.max(0) as u64,
                storage_key,
            })
            .collect())
    }

    /// Records a staged chunk and moves the offset past it, only if the
    /// upload is still open at the chunk's offset: `false` when another
    /// append got there first (its chunk stands, this one must go).
    pub async fn record_upload_chunk(
        &self,
        id: &str,
        chunk: &UploadChunk,
        content_type: Option<&str>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE uploads SET upload_offset = $1, updated_at = $2, \
             content_type = COALESCE(content_type, $3) \
             WHERE id = $4 AND upload_offset = $5 AND state = 'open'",
        )
        .bind(signed(chunk.offset + chunk.size))
        .bind(to_micros(at))
        .bind(content_type)
        .bind(id)
        .bind(signed(chunk.offset))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO upload_parts (upload_id, part_offset, size, storage_key) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(signed(chunk.offset))
        .bind(signed(chunk.size))
        .bind(&chunk.storage_key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Moves an upload from one state to another; `false` when it was not in
    /// `from` (another request moved it first).
    pub async fn move_upload(
        &self,
        id: &str,
        from: UploadState,
        to: UploadState,
        asset_id: Option<&str>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        let moved = sqlx::query(
            "UPDATE uploads SET state = $1, asset_id = COALESCE($2, asset_id), updated_at = $3 \
             WHERE id = $4 AND state = $5",
        )
        .bind(to.as_str())
        .bind(asset_id)
        .bind(to_micros(at))
        .bind(id)
        .bind(from.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(moved == 1)
    }

    /// Forgets the parts of a completed upload (their objects are gone).
    pub async fn delete_upload_chunks(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM upload_parts WHERE upload_id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_upload(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM uploads WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Uploads past their expiry, oldest first, at most `limit`.
    pub async fn expired_uploads(
        &self,
        at: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<Vec<Upload>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM uploads WHERE expires_at < $1 ORDER BY expires_at LIMIT $2"
        );
        let rows: Vec<UploadRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(to_micros(at))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Upload::try_from).collect()
    }
}
