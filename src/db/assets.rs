use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, FromRow};
use uuid::Uuid;

use super::{
    Db, Dialect, flag,
    jobs::{NewJob, insert_job},
    like_escape,
};
use crate::{
    domain::{
        Asset, AssetOrderBy, AssetStatus, ContentTypeFilter, EXACT_TOTAL_LIMIT, ListQuery,
        ListTotal, OrderDirection, ProviderType, from_micros, to_micros,
    },
    error::{Error, Result},
};

pub(super) const ASSET_COLUMNS: &str = "id, type, status, original_file_name, stored_file_name, extension, \
     content_type, size, width, height, checksum_sha256, storage_provider, storage_profile_id, \
     storage_key, is_public, description, alt_text, created_at, updated_at";

#[derive(FromRow)]
pub(super) struct AssetRow {
    id: String,
    #[sqlx(rename = "type")]
    asset_type: String,
    status: String,
    original_file_name: String,
    stored_file_name: String,
    extension: String,
    content_type: String,
    size: i64,
    width: Option<i64>,
    height: Option<i64>,
    checksum_sha256: String,
    storage_provider: String,
    storage_profile_id: String,
    storage_key: String,
    is_public: i64,
    description: Option<String>,
    alt_text: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<AssetRow> for Asset {
    type Error = Error;
    fn try_from(row: AssetRow) -> Result<Asset> {
        Ok(Asset {
            id: Uuid::parse_str(&row.id).map_err(|e| Error::internal("corrupt asset id", e))?,
            asset_type: row.asset_type,
            status: row
                .status
                .parse()
                .map_err(|e| Error::internal("corrupt asset status", e))?,
            // The column is never NULL: an empty name is a cleared one.
            original_file_name: Some(row.original_file_name).filter(|n| !n.is_empty()),
            stored_file_name: row.stored_file_name,
            extension: row.extension,
            content_type: row.content_type,
            size: non_negative(row.size),
            width: row.width.and_then(|w| u32::try_from(w).ok()),
            height: row.height.and_then(|h| u32::try_from(h).ok()),
            checksum_sha256: row.checksum_sha256,
            storage_provider: ProviderType::parse(&row.storage_provider).ok_or_else(|| {
                Error::internal(
                    "corrupt asset",
                    format!("provider {}", row.storage_provider),
                )
            })?,
            storage_profile_id: row.storage_profile_id,
            storage_key: row.storage_key,
            is_public: row.is_public != 0,
            description: row.description,
            alt_text: row.alt_text,
            created_at: from_micros(row.created_at),
            updated_at: from_micros(row.updated_at),
            public_url: None,
        })
    }
}

pub(super) fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A rewritten original (EXIF strip, format conversion, watermark).
#[derive(Clone, Debug)]
pub struct OriginalReplacement {
    pub previous_key: String,
    pub storage_key: String,
    pub stored_file_name: String,
    pub extension: String,
    pub content_type: String,
    pub size: u64,
    pub checksum_sha256: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// Fields a patch writes; `None` leaves the column alone.
#[derive(Debug, Default)]
pub struct AssetUpdate<'a> {
    pub description: Option<Option<&'a str>>,
    pub alt_text: Option<Option<&'a str>>,
    pub original_file_name: Option<Option<&'a str>>,
    pub is_public: Option<bool>,
}

impl Db {
    /// Records an asset, and its processing job when there is one, in one
    /// transaction: an asset never waits for a job that was not written.
    pub async fn insert_asset(&self, asset: &Asset, job: Option<&NewJob>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO assets (id, type, status, original_file_name, stored_file_name, extension, \
             content_type, size, width, height, checksum_sha256, storage_provider, storage_profile_id, \
             storage_key, is_public, description, alt_text, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        )
        .bind(asset.id.to_string())
        .bind(&asset.asset_type)
        .bind(asset.status.as_str())
        .bind(asset.original_file_name.as_deref().unwrap_or_default())
        .bind(&asset.stored_file_name)
        .bind(&asset.extension)
        .bind(&asset.content_type)
        .bind(i64::try_from(asset.size).unwrap_or(i64::MAX))
        .bind(asset.width.map(i64::from))
        .bind(asset.height.map(i64::from))
        .bind(&asset.checksum_sha256)
        .bind(asset.storage_provider.provider_name())
        .bind(&asset.storage_profile_id)
        .bind(&asset.storage_key)
        .bind(flag(asset.is_public))
        .bind(asset.description.as_deref())
        .bind(asset.alt_text.as_deref())
        .bind(to_micros(asset.created_at))
        .bind(to_micros(asset.updated_at))
        .execute(&mut *tx)
        .await?;
        if let Some(job) = job {
            insert_job(&mut *tx, job, to_micros(asset.created_at)).await?;
            self.notify_jobs(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_asset(&self, id: Uuid) -> Result<Option<Asset>> {
        let sql = format!("SELECT {ASSET_COLUMNS} FROM assets WHERE id = $1");
        sqlx::query_as::<_, AssetRow>(AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .map(Asset::try_from)
            .transpose()
    }

    /// One page of assets and the total number matching the filters.
    pub async fn list_assets(&self, query: &ListQuery) -> Result<(Vec<Asset>, ListTotal)> {
        let mut conditions = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let next = |value: String, binds: &mut Vec<String>| {
            binds.push(value);
            format!("${}", binds.len())
        };
        if query.public_only {
            conditions.push("is_public = 1".to_string());
        }
        if let Some(status) = query.status {
            let p = next(status.as_str().to_string(), &mut binds);
            conditions.push(format!("status = {p}"));
        }
        match &query.content_type {
            Some(ContentTypeFilter::Exact(content_type)) => {
                let p = next(content_type.clone(), &mut binds);
                conditions.push(format!("content_type = {p}"));
            }
            Some(ContentTypeFilter::Family(family)) => {
                let p = next(format!("{}/%", like_escape(family)), &mut binds);
                conditions.push(format!("content_type LIKE {p} ESCAPE '\\'"));
            }
            None => {}
        }
        if let Some(text) = query.query.as_deref() {
            let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
            let columns = [
                "original_file_name",
                "COALESCE(description, '')",
                "COALESCE(alt_text, '')",
            ];
            let matches: Vec<String> = columns
                .iter()
                .map(|column| {
                    let p = next(pattern.clone(), &mut binds);
                    format!("LOWER({column}) LIKE {p} ESCAPE '\\'")
                })
                .collect();
            conditions.push(format!("({})", matches.join(" OR ")));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let column = match query.order_by {
            AssetOrderBy::CreatedAt => "created_at",
            AssetOrderBy::Size => "size",
        };
        let direction = match query.direction {
            OrderDirection::Desc => "DESC",
            OrderDirection::Asc => "ASC",
        };

        // PostgreSQL's count stops one past the limit, so a large match costs
        // no more than a small one; SQLite's exact count is as fast. A text
        // search is counted exactly everywhere: the planner has no statistics
        // for `LOWER(...) LIKE '%...%'` and would guess a fixed fraction.
        let estimable = self.dialect == Dialect::Postgres && query.query.is_none();
        let count_sql = if estimable {
            format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM assets{filter} LIMIT {}) AS matching",
                EXACT_TOTAL_LIMIT + 1
            )
        } else {
            format!("SELECT COUNT(*) FROM assets{filter}")
        };
        let mut count = sqlx::query_scalar::<_, i64>(AssertSqlSafe(count_sql));
        for value in &binds {
            count = count.bind(value.clone());
        }

        let limit = binds.len() + 1;
        let offset = binds.len() + 2;
        let page_sql = format!(
            "SELECT {ASSET_COLUMNS} FROM assets{filter} ORDER BY {column} {direction}, id {direction} \
             LIMIT ${limit} OFFSET ${offset}"
        );
        let mut page = sqlx::query_as::<_, AssetRow>(AssertSqlSafe(page_sql));
        for value in &binds {
            page = page.bind(value.clone());
        }
        let page = page
            .bind(i64::from(query.page_size))
            .bind((i64::from(query.page) - 1) * i64::from(query.page_size));
        let (counted, rows) =
            tokio::try_join!(count.fetch_one(&self.pool), page.fetch_all(&self.pool))?;
        let counted = non_negative(counted);
        let total = if estimable && counted > EXACT_TOTAL_LIMIT {
            self.estimate_total(&filter, &binds).await?
        } else {
            ListTotal::exact(counted)
        };
        let items = rows
            .into_iter()
            .map(Asset::try_from)
            .collect::<Result<_>>()?;
        Ok((items, total))
    }

    /// The total of a list matching more than `EXACT_TOTAL_LIMIT` assets on
    /// PostgreSQL, whose exact count reads every matching row (tens of
    /// milliseconds at 100 000 assets): the planner's estimate.
    async fn estimate_total(&self, filter: &str, binds: &[String]) -> Result<ListTotal> {
        let sql = format!("EXPLAIN SELECT 1 FROM assets{filter}");
        let mut explain = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
        for value in binds {
            explain = explain.bind(value.clone());
        }
        let plan = explain.fetch_all(&self.pool).await?;
        let estimate = plan
            .first()
            .and_then(|line| planned_rows(line))
            .unwrap_or(0);
        Ok(ListTotal {
            value: estimate.max(EXACT_TOTAL_LIMIT + 1),
            estimated: true,
        })
    }

    /// Applies a patch atomically (no read-modify-write race between two patches
    /// of different fields) and returns the updated asset.
    pub async fn update_asset(
        &self,
        id: Uuid,
        update: &AssetUpdate<'_>,
        at: DateTime<Utc>,
    ) -> Result<Option<Asset>> {
        let sql = format!(
            "UPDATE assets SET \
             description = CASE WHEN $1 = 1 THEN $2 ELSE description END, \
             alt_text = CASE WHEN $3 = 1 THEN $4 ELSE alt_text END, \
             original_file_name = CASE WHEN $5 = 1 THEN $6 ELSE original_file_name END, \
             is_public = CASE WHEN $7 = 1 THEN $8 ELSE is_public END, \
             updated_at = $9 WHERE id = $10 RETURNING {ASSET_COLUMNS}"
        );
        sqlx::query_as::<_, AssetRow>(AssertSqlSafe(sql))
            .bind(flag(update.description.is_some()))
            .bind(update.description.flatten())
            .bind(flag(update.alt_text.is_some()))
            .bind(update.alt_text.flatten())
            .bind(flag(update.original_file_name.is_some()))
            .bind(update.original_file_name.flatten().unwrap_or_default())
            .bind(flag(update.is_public.is_some()))
            .bind(flag(update.is_public.unwrap_or_default()))
            .bind(to_micros(at))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .map(Asset::try_from)
            .transpose()
    }

    /// Deletes the asset row with everything attached and returns it with the
    /// storage keys of its derivatives, so the caller can remove the files.
    pub async fn delete_asset(&self, id: Uuid) -> Result<Option<(Asset, Vec<String>)>> {
        let mut tx = self.begin_write().await?;
        let derivative_keys: Vec<String> =
            sqlx::query_scalar("SELECT storage_key FROM derivatives WHERE asset_id = $1")
                .bind(id.to_string())
                .fetch_all(&mut *tx)
                .await?;
        // Explicit deletes keep this correct even where foreign keys are not enforced.
        for table in [
            "DELETE FROM derivatives WHERE asset_id = $1",
            "DELETE FROM structured_results WHERE asset_id = $1",
            "DELETE FROM skill_execution_steps WHERE execution_id IN \
             (SELECT id FROM skill_executions WHERE asset_id = $1)",
            "DELETE FROM skill_executions WHERE asset_id = $1",
        ] {
            sqlx::query(AssertSqlSafe(table))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        let sql = format!("DELETE FROM assets WHERE id = $1 RETURNING {ASSET_COLUMNS}");
        let row = sqlx::query_as::<_, AssetRow>(AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(|row| Ok((Asset::try_from(row)?, derivative_keys)))
            .transpose()
    }

    /// Moves an asset that is still being processed (`pending` or
    /// `processing`) to `status`. `None` when it no longer exists or has
    /// settled already: whoever settled it first (a worker finishing, or an
    /// instance giving up on its job) is never overwritten.
    pub async fn set_asset_status(
        &self,
        id: Uuid,
        status: AssetStatus,
        at: DateTime<Utc>,
    ) -> Result<Option<Asset>> {
        let sql = format!(
            "UPDATE assets SET status = $1, updated_at = $2 \
             WHERE id = $3 AND status IN ($4, $5) RETURNING {ASSET_COLUMNS}"
        );
        sqlx::query_as::<_, AssetRow>(AssertSqlSafe(sql))
            .bind(status.as_str())
            .bind(to_micros(at))
            .bind(id.to_string())
            .bind(AssetStatus::Pending.as_str())
            .bind(AssetStatus::Processing.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(Asset::try_from)
            .transpose()
    }

    /// Display dimensions found by processing (orientation applied).
    pub async fn set_asset_dimensions(&self, id: Uuid, width: u32, height: u32) -> Result<()> {
        sqlx::query("UPDATE assets SET width = $1, height = $2 WHERE id = $3")
            .bind(i64::from(width))
            .bind(i64::from(height))
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Points the asset at a rewritten original, only if it still points at
    /// `replacement.previous_key` (a concurrent rewrite wins otherwise).
    pub async fn replace_original(
        &self,
        id: Uuid,
        replacement: &OriginalReplacement,
        at: DateTime<Utc>,
    ) -> Result<Option<Asset>> {
        let sql = format!(
            "UPDATE assets SET storage_key = $1, stored_file_name = $2, extension = $3, content_type = $4, \
             size = $5, checksum_sha256 = $6, width = $7, height = $8, updated_at = $9 \
             WHERE id = $10 AND storage_key = $11 RETURNING {ASSET_COLUMNS}"
        );
        sqlx::query_as::<_, AssetRow>(AssertSqlSafe(sql))
            .bind(&replacement.storage_key)
            .bind(&replacement.stored_file_name)
            .bind(&replacement.extension)
            .bind(&replacement.content_type)
            .bind(i64::try_from(replacement.size).unwrap_or(i64::MAX))
            .bind(&replacement.checksum_sha256)
            .bind(replacement.width.map(i64::from))
            .bind(replacement.height.map(i64::from))
            .bind(to_micros(at))
            .bind(id.to_string())
            .bind(&replacement.previous_key)
            .fetch_optional(&self.pool)
            .await?
            .map(Asset::try_from)
            .transpose()
    }

    /// Fills `description` with `text` only where it is empty.
    pub async fn backfill_description(&self, id: Uuid, text: &str) -> Result<()> {
        sqlx::query("UPDATE assets SET description = $1 WHERE id = $2 AND (description IS NULL OR description = '')")
            .bind(text)
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Fills `alt_text` with `text` only where it is empty.
    pub async fn backfill_alt_text(&self, id: Uuid, text: &str) -> Result<()> {
        sqlx::query(
            "UPDATE assets SET alt_text = $1 WHERE id = $2 AND (alt_text IS NULL OR alt_text = '')",
        )
        .bind(text)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_perceptual_hash(&self, id: Uuid, hash: &str) -> Result<()> {
        sqlx::query("UPDATE assets SET perceptual_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Other assets with the same checksum, and every other asset's
    /// perceptual hash, for duplicate reports.
    pub async fn duplicate_candidates(
        &self,
        id: Uuid,
        checksum: &str,
    ) -> Result<(Vec<String>, Vec<(String, String)>)> {
        let same: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM assets WHERE checksum_sha256 = $1 AND id <> $2 ORDER BY id",
        )
        .bind(checksum)
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        let hashes: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, perceptual_hash FROM assets WHERE perceptual_hash IS NOT NULL AND id <> $1 ORDER BY id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok((same, hashes))
    }
}

/// The row estimate of a plan's top node: `... (cost=0.00..123.00 rows=26684 width=4)`.
fn planned_rows(line: &str) -> Option<u64> {
    let rest = &line[line.find(" rows=")? + " rows=".len()..];
    let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::planned_rows;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(super::like_escape("50%_a\\b"), "50\\%\\_a\\\\b");
    }

    #[test]
    fn the_top_plan_line_gives_its_row_estimate() {
        assert_eq!(
            planned_rows("Seq Scan on assets  (cost=0.00..2880.00 rows=26684 width=4)"),
            Some(26_684)
        );
        assert_eq!(
            planned_rows("Result  (cost=0.00..0.01 rows=1 width=4)"),
            Some(1)
        );
        assert_eq!(planned_rows("no estimate here"), None);
    }
}
