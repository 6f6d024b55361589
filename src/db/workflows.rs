use sqlx::FromRow;

use super::{Db, flag, is_unique_violation};
use crate::{
    domain::{Workflow, from_micros, to_micros},
    error::{Error, Result},
};

#[derive(FromRow)]
struct WorkflowRow {
    id: String,
    name: String,
    description: Option<String>,
    is_auto_run: i64,
    graph_json: String,
    created_at: i64,
    updated_at: i64,
}

impl From<WorkflowRow> for Workflow {
    fn from(row: WorkflowRow) -> Workflow {
        Workflow {
            id: row.id,
            name: row.name,
            description: row.description,
            is_auto_run: row.is_auto_run != 0,
            graph_json: row.graph_json,
            created_at: from_micros(row.created_at),
            updated_at: from_micros(row.updated_at),
        }
    }
}

const COLUMNS: &str = "id, name, description, is_auto_run, graph_json, created_at, updated_at";

/// Times a save is retried when another one made a workflow auto-run at the
/// same moment (the one-auto-run index refused it); the retry clears it.
const AUTO_RUN_RETRIES: usize = 3;

impl Db {
    /// The auto-run workflow first, then by name.
    pub async fn list_workflows(&self) -> Result<Vec<Workflow>> {
        let sql =
            format!("SELECT {COLUMNS} FROM workflows ORDER BY is_auto_run DESC, lower(name), id");
        let rows: Vec<WorkflowRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(Workflow::from).collect())
    }

    pub async fn workflow(&self, id: &str) -> Result<Option<Workflow>> {
        let sql = format!("SELECT {COLUMNS} FROM workflows WHERE id = $1");
        let row: Option<WorkflowRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Workflow::from))
    }

    /// Another workflow with this name in any case.
    pub async fn workflow_name_taken(&self, name: &str, except_id: &str) -> Result<bool> {
        let taken: Option<(String,)> =
            sqlx::query_as("SELECT id FROM workflows WHERE lower(name) = lower($1) AND id <> $2")
                .bind(name)
                .bind(except_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(taken.is_some())
    }

    pub async fn auto_run_workflow(&self) -> Result<Option<Workflow>> {
        let sql = format!("SELECT {COLUMNS} FROM workflows WHERE is_auto_run = 1");
        let row: Option<WorkflowRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Workflow::from))
    }

    /// Inserts or rewrites a workflow; one made auto-run takes the flag from
    /// any other in the same transaction.
    pub async fn save_workflow(&self, workflow: &Workflow) -> Result<()> {
        let mut attempt = 0;
        loop {
            match self.try_save_workflow(workflow).await {
                Err(err) if is_unique_violation(&err) => {
                    if self
                        .workflow_name_taken(&workflow.name, &workflow.id)
                        .await?
                    {
                        return Err(Error::WorkflowNameConflict(workflow.name.clone()));
                    }
                    attempt += 1;
                    if attempt > AUTO_RUN_RETRIES {
                        return Err(err.into());
                    }
                }
                other => return other.map_err(Error::from),
            }
        }
    }

    async fn try_save_workflow(&self, w: &Workflow) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        if w.is_auto_run {
            sqlx::query(
                "UPDATE workflows SET is_auto_run = 0, updated_at = $1 WHERE is_auto_run = 1 AND id <> $2",
            )
            .bind(to_micros(w.updated_at))
            .bind(&w.id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO workflows (id, name, description, is_auto_run, graph_json, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, \
             is_auto_run = excluded.is_auto_run, graph_json = excluded.graph_json, \
             updated_at = excluded.updated_at",
        )
        .bind(&w.id)
        .bind(&w.name)
        .bind(w.description.as_deref())
        .bind(flag(w.is_auto_run))
        .bind(&w.graph_json)
        .bind(to_micros(w.created_at))
        .bind(to_micros(w.updated_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    pub async fn delete_workflow(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM workflows WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
