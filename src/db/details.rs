//! An asset with everything attached to it, in one statement: the side
//! tables come back aggregated as JSON, so a detail read is one round trip
//! (and, on SQLite, one hand-off to the connection's thread) instead of five.
//! The two engines spell the aggregation differently; the rows decoded from
//! it are the ones the separate queries use.

use sqlx::{AssertSqlSafe, FromRow};
use uuid::Uuid;

use super::{
    Db, Dialect,
    assets::{ASSET_COLUMNS, AssetRow},
    derivatives::{DerivativeRow, ResultRow},
    executions::{ExecutionRow, StepRow, execution_from_rows},
};
use crate::{
    domain::{Asset, AssetDetails, Derivative, StructuredResult},
    error::{Error, Result},
};

const DERIVATIVE_FIELDS: [&str; 8] = [
    "kind",
    "content_type",
    "extension",
    "size",
    "width",
    "height",
    "storage_key",
    "created_at",
];
const RESULT_FIELDS: [&str; 3] = ["kind", "payload_json", "created_at"];
const EXECUTION_FIELDS: [&str; 7] = [
    "id",
    "skill_name",
    "trigger_source",
    "parameters_json",
    "succeeded",
    "started_at",
    "completed_at",
];
const STEP_FIELDS: [&str; 6] = [
    "step_name",
    "succeeded",
    "error_message",
    "skipped",
    "started_at",
    "completed_at",
];

#[derive(FromRow)]
struct DetailsRow {
    #[sqlx(flatten)]
    asset: AssetRow,
    derivatives_json: String,
    results_json: String,
    execution_json: Option<String>,
}

#[derive(serde::Deserialize)]
struct ExecutionJson {
    #[serde(flatten)]
    execution: ExecutionRow,
    steps: Vec<StepRow>,
}

impl Db {
    /// The asset and its derivatives, structured results and latest
    /// execution, as [`Db::get_asset`] and the side reads give them (public
    /// links are the service's to add).
    pub async fn asset_details(&self, id: Uuid) -> Result<Option<AssetDetails>> {
        let sql = details_sql(self.dialect);
        let Some(row) = sqlx::query_as::<_, DetailsRow>(AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let decode = |what: &str, e: serde_json::Error| Error::internal(what, e);
        let derivatives: Vec<DerivativeRow> = serde_json::from_str(&row.derivatives_json)
            .map_err(|e| decode("corrupt derivatives", e))?;
        let results: Vec<ResultRow> = serde_json::from_str(&row.results_json)
            .map_err(|e| decode("corrupt structured results", e))?;
        let latest_execution = match row.execution_json {
            None => None,
            Some(json) => {
                let parsed: ExecutionJson =
                    serde_json::from_str(&json).map_err(|e| decode("corrupt execution", e))?;
                Some(execution_from_rows(parsed.execution, parsed.steps)?)
            }
        };
        Ok(Some(AssetDetails {
            asset: Asset::try_from(row.asset)?,
            derivatives: derivatives.into_iter().map(Derivative::from).collect(),
            structured_results: results.into_iter().map(StructuredResult::from).collect(),
            latest_execution,
        }))
    }
}

/// `'field', field, ...` for a JSON object constructor.
fn pairs(fields: &[&str], table: &str) -> String {
    fields
        .iter()
        .map(|field| format!("'{field}', {table}{field}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn details_sql(dialect: Dialect) -> String {
    let derivative = pairs(&DERIVATIVE_FIELDS, "");
    let result = pairs(&RESULT_FIELDS, "");
    let execution = pairs(&EXECUTION_FIELDS, "e.");
    let step = pairs(&STEP_FIELDS, "");
    let latest = "FROM skill_executions e WHERE e.asset_id = assets.id \
                  ORDER BY e.started_at DESC, e.id DESC LIMIT 1";
    match dialect {
        // Ordered subqueries feed json_group_array in their order; json()
        // keeps the steps an array inside the execution object.
        Dialect::Sqlite => format!(
            "SELECT {ASSET_COLUMNS}, \
             (SELECT json_group_array(json_object({derivative})) FROM \
              (SELECT * FROM derivatives WHERE asset_id = assets.id ORDER BY kind)) AS derivatives_json, \
             (SELECT json_group_array(json_object({result})) FROM \
              (SELECT * FROM structured_results WHERE asset_id = assets.id ORDER BY kind)) AS results_json, \
             (SELECT json_object({execution}, 'steps', json((SELECT json_group_array(json_object({step})) FROM \
               (SELECT * FROM skill_execution_steps WHERE execution_id = e.id ORDER BY position)))) \
              {latest}) AS execution_json \
             FROM assets WHERE id = $1"
        ),
        // JSON travels as text: the `Any` driver has no JSON type.
        Dialect::Postgres => format!(
            "SELECT {ASSET_COLUMNS}, \
             (SELECT COALESCE(json_agg(json_build_object({derivative}) ORDER BY kind), '[]'::json)::text \
              FROM derivatives WHERE asset_id = assets.id) AS derivatives_json, \
             (SELECT COALESCE(json_agg(json_build_object({result}) ORDER BY kind), '[]'::json)::text \
              FROM structured_results WHERE asset_id = assets.id) AS results_json, \
             (SELECT json_build_object({execution}, 'steps', \
               (SELECT COALESCE(json_agg(json_build_object({step}) ORDER BY position), '[]'::json) \
                FROM skill_execution_steps WHERE execution_id = e.id))::text \
              {latest}) AS execution_json \
             FROM assets WHERE id = $1"
        ),
    }
}
