use sqlx::FromRow;
use uuid::Uuid;

use super::{Db, flag};
use crate::{
    domain::{SkillExecution, SkillUsage, StepOutcome, TriggerSource, from_micros, to_micros},
    error::{Error, Result},
};

#[derive(FromRow, serde::Deserialize)]
pub(super) struct ExecutionRow {
    id: String,
    skill_name: String,
    trigger_source: String,
    parameters_json: String,
    succeeded: i64,
    started_at: i64,
    completed_at: i64,
}

#[derive(FromRow, serde::Deserialize)]
pub(super) struct StepRow {
    step_name: String,
    succeeded: i64,
    error_message: Option<String>,
    skipped: i64,
    started_at: i64,
    completed_at: i64,
}

impl Db {
    /// Whether the run a job (or one step of a workflow job) records is
    /// recorded already: a retried job skips what it has done.
    pub async fn execution_recorded(&self, job_id: &str) -> Result<bool> {
        let found: Option<(String,)> =
            sqlx::query_as("SELECT id FROM skill_executions WHERE job_id = $1")
                .bind(job_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    /// Records a run with its steps. With a `job_id`, a second record for the
    /// same job (a retried job) is ignored: each job's run is recorded once.
    pub async fn insert_execution(
        &self,
        asset_id: Uuid,
        job_id: Option<&str>,
        execution: &SkillExecution,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO skill_executions (id, asset_id, job_id, skill_name, trigger_source, parameters_json, \
             succeeded, started_at, completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (job_id) DO NOTHING",
        )
        .bind(execution.execution_id.to_string())
        .bind(asset_id.to_string())
        .bind(job_id)
        .bind(&execution.skill_name)
        .bind(execution.trigger_source.as_str())
        .bind(&execution.parameters_json)
        .bind(flag(execution.succeeded))
        .bind(to_micros(execution.started_at))
        .bind(to_micros(execution.completed_at))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            for (position, step) in execution.steps.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO skill_execution_steps (id, execution_id, position, step_name, succeeded, \
                     error_message, skipped, started_at, completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(Uuid::now_v7().to_string())
                .bind(execution.execution_id.to_string())
                .bind(i64::try_from(position).unwrap_or(i64::MAX))
                .bind(&step.step_name)
                .bind(flag(step.succeeded))
                .bind(step.error_message.as_deref())
                .bind(flag(step.skipped))
                .bind(to_micros(step.started_at))
                .bind(to_micros(step.completed_at))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(inserted)
    }

    pub async fn latest_execution(&self, asset_id: Uuid) -> Result<Option<SkillExecution>> {
        let row: Option<ExecutionRow> = sqlx::query_as(
            "SELECT id, skill_name, trigger_source, parameters_json, succeeded, started_at, completed_at \
             FROM skill_executions WHERE asset_id = $1 ORDER BY started_at DESC, id DESC LIMIT 1",
        )
        .bind(asset_id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let steps: Vec<StepRow> = sqlx::query_as(
            "SELECT step_name, succeeded, error_message, skipped, started_at, completed_at \
             FROM skill_execution_steps WHERE execution_id = $1 ORDER BY position",
        )
        .bind(&row.id)
        .fetch_all(&self.pool)
        .await?;
        execution_from_rows(row, steps).map(Some)
    }

    /// Number of executions of one asset (tests and exactly-once checks).
    pub async fn count_executions(&self, asset_id: Uuid) -> Result<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM skill_executions WHERE asset_id = $1")
                .bind(asset_id.to_string())
                .fetch_one(&self.pool)
                .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The skill with the most recorded runs, failed ones included.
    pub async fn most_active_skill(&self) -> Result<Option<SkillUsage>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT skill_name, COUNT(*) FROM skill_executions GROUP BY skill_name \
             ORDER BY COUNT(*) DESC, skill_name LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(skill_name, count)| SkillUsage {
            skill_name,
            run_count: u64::try_from(count).unwrap_or(0),
        }))
    }

    /// Stores a result, replacing the previous one of the same kind.
    pub async fn upsert_structured_result(
        &self,
        asset_id: Uuid,
        kind: &str,
        payload_json: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO structured_results (id, asset_id, kind, payload_json, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (asset_id, kind) \
             DO UPDATE SET payload_json = excluded.payload_json, created_at = excluded.created_at",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(asset_id.to_string())
        .bind(kind)
        .bind(payload_json)
        .bind(to_micros(crate::domain::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// An execution and its steps, from their rows.
pub(super) fn execution_from_rows(
    row: ExecutionRow,
    steps: Vec<StepRow>,
) -> Result<SkillExecution> {
    Ok(SkillExecution {
        execution_id: Uuid::parse_str(&row.id)
            .map_err(|e| Error::internal("corrupt execution id", e))?,
        skill_name: row.skill_name,
        trigger_source: TriggerSource::parse(&row.trigger_source),
        parameters_json: row.parameters_json,
        started_at: from_micros(row.started_at),
        completed_at: from_micros(row.completed_at),
        succeeded: row.succeeded != 0,
        steps: steps
            .into_iter()
            .map(|s| StepOutcome {
                step_name: s.step_name,
                succeeded: s.succeeded != 0,
                error_message: s.error_message,
                skipped: s.skipped != 0,
                started_at: from_micros(s.started_at),
                completed_at: from_micros(s.completed_at),
            })
            .collect(),
    })
}
