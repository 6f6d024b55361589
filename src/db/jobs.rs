use sqlx::{AssertSqlSafe, FromRow};

use super::{Db, Dialect};
use crate::{domain::JobStatus, error::Result};

/// A job to insert; ids and times are set by the repository.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub kind: String,
    pub asset_id: Option<String>,
    pub payload_json: String,
    pub max_attempts: i64,
}

/// A job a worker holds a lease on.
#[derive(Clone, Debug, FromRow)]
pub struct LeasedJob {
    pub id: String,
    pub kind: String,
    pub asset_id: Option<String>,
    pub payload_json: String,
    pub attempts: i64,
    pub max_attempts: i64,
}

/// Channel PostgreSQL instances use to wake each other's workers.
pub const JOBS_CHANNEL: &str = "tessera_jobs";

pub(super) async fn insert_job<'e, E>(executor: E, job: &NewJob, at: i64) -> Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO jobs (id, kind, asset_id, payload_json, status, attempts, max_attempts, run_after, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $7, 0, $5, $6, $6, $6)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(&job.kind)
    .bind(job.asset_id.as_deref())
    .bind(&job.payload_json)
    .bind(job.max_attempts)
    .bind(at)
    .bind(JobStatus::Queued.as_str())
    .execute(executor)
    .await?;
    Ok(())
}

impl Db {
    pub async fn enqueue_job(&self, job: &NewJob) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_job(
            &mut *tx,
            job,
            crate::domain::to_micros(crate::domain::now()),
        )
        .await?;
        self.notify_jobs(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// On PostgreSQL, wakes the workers of every instance when `tx` commits.
    pub(super) async fn notify_jobs(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ) -> Result<()> {
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(JOBS_CHANNEL)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Takes the next due job. PostgreSQL skips rows other instances hold;
    /// SQLite's single writer makes the one statement atomic.
    pub async fn lease_job(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<LeasedJob>> {
        let pick = match self.dialect {
            Dialect::Postgres => {
                "SELECT id FROM jobs WHERE status = $5 AND run_after <= $3 \
                 ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED"
            }
            Dialect::Sqlite => {
                "SELECT id FROM jobs WHERE status = $5 AND run_after <= $3 \
                 ORDER BY run_after, id LIMIT 1"
            }
        };
        let sql = format!(
            "UPDATE jobs SET status = $4, lease_owner = $1, lease_expires_at = $2, \
             attempts = attempts + 1, updated_at = $3 WHERE id = ({pick}) \
             RETURNING id, kind, asset_id, payload_json, attempts, max_attempts"
        );
        Ok(sqlx::query_as::<_, LeasedJob>(AssertSqlSafe(sql))
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .bind(JobStatus::Running.as_str())
            .bind(JobStatus::Queued.as_str())
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Extends a lease; `false` means the lease was lost (reaped) and the
    /// worker must stop.
    pub async fn renew_lease(&self, job_id: &str, owner: &str, lease_until: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 AND status = $4",
        )
        .bind(lease_until)
        .bind(job_id)
        .bind(owner)
        .bind(JobStatus::Running.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn complete_job(&self, job_id: &str, owner: &str, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET status = $4, lease_owner = NULL, lease_expires_at = NULL, \
             last_error = NULL, updated_at = $1 WHERE id = $2 AND lease_owner = $3",
        )
        .bind(now)
        .bind(job_id)
        .bind(owner)
        .bind(JobStatus::Succeeded.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Requeues the job to run at `retry_at`, or, with `None` (its retry
    /// policy is exhausted), marks it failed. `false` when this owner no
    /// longer held it.
    pub async fn fail_job(
        &self,
        job: &LeasedJob,
        owner: &str,
        error: &str,
        now: i64,
        retry_at: Option<i64>,
    ) -> Result<bool> {
        let status = if retry_at.is_some() {
            JobStatus::Queued
        } else {
            JobStatus::Failed
        };
        let done = sqlx::query(
            "UPDATE jobs SET status = $1, lease_owner = NULL, lease_expires_at = NULL, last_error = $2, \
             run_after = $3, updated_at = $4 WHERE id = $5 AND lease_owner = $6",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(retry_at.unwrap_or(now))
        .bind(now)
        .bind(&job.id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives this owner's running jobs back to the queue (graceful shutdown).
    pub async fn release_jobs(&self, owner: &str, now: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE jobs SET status = $3, lease_owner = NULL, lease_expires_at = NULL, \
             attempts = attempts - 1, run_after = $1, updated_at = $1 \
             WHERE lease_owner = $2 AND status = $4",
        )
        .bind(now)
        .bind(owner)
        .bind(JobStatus::Queued.as_str())
        .bind(JobStatus::Running.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Requeues jobs whose holder died (lease expired); exhausted ones fail.
    pub async fn expired_leases(&self, now: i64) -> Result<Vec<LeasedJob>> {
        Ok(sqlx::query_as(
            "SELECT id, kind, asset_id, payload_json, attempts, max_attempts FROM jobs \
             WHERE status = $2 AND lease_expires_at < $1 ORDER BY lease_expires_at LIMIT 100",
        )
        .bind(now)
        .bind(JobStatus::Running.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Ends an expired lease: back to the queue, or `failed` when `final`.
    /// `false` when the lease is no longer expired (renewed, or another
    /// instance ended it first), so exactly one caller acts on it.
    pub async fn end_expired_lease(&self, job_id: &str, now: i64, last: bool) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET status = $1, lease_owner = NULL, lease_expires_at = NULL, \
             run_after = $2, updated_at = $2, last_error = COALESCE(last_error, 'lease expired') \
             WHERE id = $3 AND status = $4 AND lease_expires_at < $2",
        )
        .bind(
            if last {
                JobStatus::Failed
            } else {
                JobStatus::Queued
            }
            .as_str(),
        )
        .bind(now)
        .bind(job_id)
        .bind(JobStatus::Running.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Number of jobs in each status.
    pub async fn job_counts(&self) -> Result<Vec<(JobStatus, u64)>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM jobs GROUP BY status ORDER BY status")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(status, count)| {
                Some((JobStatus::parse(&status)?, u64::try_from(count).ok()?))
            })
            .collect())
    }
}
