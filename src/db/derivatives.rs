//! What processing adds to an asset: derivatives and structured results.

use sqlx::FromRow;
use uuid::Uuid;

use super::{Db, assets::non_negative};
use crate::{
    domain::{Derivative, StructuredResult, from_micros, to_micros},
    error::Result,
};

#[derive(FromRow, serde::Deserialize)]
pub(super) struct DerivativeRow {
    kind: String,
    content_type: String,
    extension: String,
    size: i64,
    width: Option<i64>,
    height: Option<i64>,
    storage_key: String,
    created_at: i64,
}

impl From<DerivativeRow> for Derivative {
    fn from(row: DerivativeRow) -> Self {
        Derivative {
            kind: row.kind,
            content_type: row.content_type,
            extension: row.extension,
            size: non_negative(row.size),
            width: row.width.and_then(|w| u32::try_from(w).ok()),
            height: row.height.and_then(|h| u32::try_from(h).ok()),
            storage_key: row.storage_key,
            created_at: from_micros(row.created_at),
            public_url: None,
        }
    }
}

#[derive(FromRow, serde::Deserialize)]
pub(super) struct ResultRow {
    kind: String,
    payload_json: String,
    created_at: i64,
}

impl From<ResultRow> for StructuredResult {
    fn from(row: ResultRow) -> Self {
        StructuredResult {
            kind: row.kind,
            payload_json: row.payload_json,
            created_at: from_micros(row.created_at),
        }
    }
}

impl Db {
    /// Stores a derivative, replacing the one of the same kind. Returns the
    /// replaced file's key when it differs, so the caller can remove it.
    pub async fn upsert_derivative(
        &self,
        asset_id: Uuid,
        derivative: &Derivative,
    ) -> Result<Option<String>> {
        let previous: Option<String> = sqlx::query_scalar(
            "SELECT storage_key FROM derivatives WHERE asset_id = $1 AND kind = $2",
        )
        .bind(asset_id.to_string())
        .bind(&derivative.kind)
        .fetch_optional(&self.pool)
        .await?;
        sqlx::query(
            "INSERT INTO derivatives (id, asset_id, kind, content_type, extension, size, width, \
             height, storage_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (asset_id, kind) DO UPDATE SET content_type = excluded.content_type, \
             extension = excluded.extension, size = excluded.size, width = excluded.width, \
             height = excluded.height, storage_key = excluded.storage_key, created_at = excluded.created_at",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(asset_id.to_string())
        .bind(&derivative.kind)
        .bind(&derivative.content_type)
        .bind(&derivative.extension)
        .bind(i64::try_from(derivative.size).unwrap_or(i64::MAX))
        .bind(derivative.width.map(i64::from))
        .bind(derivative.height.map(i64::from))
        .bind(&derivative.storage_key)
        .bind(to_micros(derivative.created_at))
        .execute(&self.pool)
        .await?;
        Ok(previous.filter(|key| *key != derivative.storage_key))
    }

    pub async fn derivatives(&self, asset_id: Uuid) -> Result<Vec<Derivative>> {
        let rows = sqlx::query_as::<_, DerivativeRow>(
            "SELECT kind, content_type, extension, size, width, height, storage_key, created_at \
             FROM derivatives WHERE asset_id = $1 ORDER BY kind",
        )
        .bind(asset_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Derivative::from).collect())
    }

    pub async fn structured_results(&self, asset_id: Uuid) -> Result<Vec<StructuredResult>> {
        let rows: Vec<ResultRow> = sqlx::query_as(
            "SELECT kind, payload_json, created_at FROM structured_results \
             WHERE asset_id = $1 ORDER BY kind",
        )
        .bind(asset_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(StructuredResult::from).collect())
    }
}
