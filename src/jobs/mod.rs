//! Background work: jobs live in the database, workers lease them, renew the
//! lease while working, retry failures with backoff, and a reaper requeues
//! the jobs of workers that died. Nothing is lost when a process is killed.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use tokio::{sync::Notify, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, warn};

use crate::{
    db::{Db, Dialect, JOBS_CHANNEL, LeasedJob},
    domain::{now, to_micros},
};

/// The job kind of upload-triggered processing.
pub const PROCESS_ASSET: &str = "process_asset";

/// The job kind of a workflow run on an asset.
pub const RUN_WORKFLOW: &str = "run_workflow";

/// A failure worth retrying (storage or database trouble). Problems with the
/// image itself are not failures of the job: the handler records them.
#[derive(Debug)]
pub struct JobFailure(pub String);

#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn handle(&self, job: &LeasedJob) -> Result<(), JobFailure>;

    /// The job used its last attempt: it failed, or the process running it
    /// died. Called once, by whichever instance noticed, so that what the
    /// job was for (an asset's processing) ends visibly instead of hanging.
    async fn gave_up(&self, job: &LeasedJob, reason: &str);
}

/// The one rule for retries: how many attempts a job gets, how long it
/// waits between them, and when it has run out.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Recorded on each job when it is enqueued.
    pub max_attempts: i64,
    /// The wait after the first failed attempt; it doubles with each one.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            first_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt after `attempts` failed ones.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(u32::MAX);
        self.first_backoff
            .checked_mul(2u32.saturating_pow(doublings.min(31)))
            .map_or(self.max_backoff, |wait| wait.min(self.max_backoff))
    }

    /// Whether the job has used every attempt it was given.
    pub fn exhausted(&self, job: &LeasedJob) -> bool {
        job.attempts >= job.max_attempts
    }
}

#[derive(Clone, Copy, Debug)]
pub struct WorkerSettings {
    pub workers: usize,
    pub lease: Duration,
    /// Fallback when no wake-up arrives.
    pub poll_interval: Duration,
    pub retry: RetryPolicy,
}

/// Wakes workers at once when a job is enqueued in this process.
#[derive(Clone, Default)]
pub struct JobSignal(Arc<Notify>);

impl JobSignal {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// The running workers of one process.
pub struct Workers {
    owner: String,
    db: Db,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    pub fn start(
        db: Db,
        handler: Arc<dyn JobHandler>,
        signal: JobSignal,
        settings: WorkerSettings,
    ) -> Workers {
        let owner = format!("worker-{}", uuid::Uuid::now_v7().simple());
        let cancel = CancellationToken::new();
        let mut tasks = Vec::new();
        // No workers means serving only: jobs wait for an instance that has
        // some, and this one neither leases, reaps nor listens for them.
        for index in 0..settings.workers {
            let worker = Worker {
                owner: owner.clone(),
                db: db.clone(),
                handler: handler.clone(),
                signal: signal.clone(),
                settings,
                cancel: cancel.clone(),
            };
            let span = tracing::info_span!("worker", index);
            tasks.push(tokio::spawn(worker.run().instrument(span)));
        }
        if settings.workers > 0 {
            tasks.push(tokio::spawn(reap(
                db.clone(),
                handler.clone(),
                settings,
                cancel.clone(),
            )));
        }
        if settings.workers > 0 && db.dialect() == Dialect::Postgres {
            tasks.push(tokio::spawn(listen(
                db.url().to_string(),
                signal,
                cancel.clone(),
            )));
        }
        Workers {
            owner,
            db,
            cancel,
            tasks,
        }
    }

    /// Runs `task` every `interval` until shutdown (housekeeping that every
    /// instance does, such as picking up storage profiles changed elsewhere).
    pub fn every<F, Fut>(&mut self, interval: Duration, task: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let cancel = self.cancel.clone();
        self.tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(interval) => task().await,
                }
            }
        }));
    }

    /// Stops leasing, lets running jobs finish within `grace`, then gives the
    /// unfinished ones back to the queue for another worker.
    pub async fn shutdown(self, grace: Duration) {
        self.cancel.cancel();
        let all = futures_util::future::join_all(self.tasks);
        if tokio::time::timeout(grace, all).await.is_err() {
            warn!("jobs still running at shutdown; releasing them");
        }
        match self.db.release_jobs(&self.owner, to_micros(now())).await {
            Ok(0) => {}
            Ok(n) => info!(released = n, "released unfinished jobs"),
            Err(err) => warn!(error = %err, "could not release jobs; the reaper will"),
        }
    }
}

struct Worker {
    owner: String,
    db: Db,
    handler: Arc<dyn JobHandler>,
    signal: JobSignal,
    settings: WorkerSettings,
    cancel: CancellationToken,
}

impl Worker {
    async fn run(self) {
        while !self.cancel.is_cancelled() {
            let at = now();
            let lease_until =
                at + chrono::Duration::from_std(self.settings.lease).unwrap_or_default();
            match self
                .db
                .lease_job(&self.owner, to_micros(at), to_micros(lease_until))
                .await
            {
                Ok(Some(job)) => self.run_job(job).await,
                Ok(None) => self.idle().await,
                Err(err) => {
                    warn!(error = %err, "leasing a job failed");
                    self.idle().await;
                }
            }
        }
    }

    async fn idle(&self) {
        tokio::select! {
            () = self.signal.0.notified() => {}
            () = tokio::time::sleep(self.settings.poll_interval) => {}
            () = self.cancel.cancelled() => {}
        }
    }

    async fn run_job(&self, job: LeasedJob) {
        // The request that created the job, so its logs join the request's.
        let trace_id = serde_json::from_str::<serde_json::Value>(&job.payload_json)
            .ok()
            .and_then(|payload| payload["traceId"].as_str().map(str::to_string))
            .unwrap_or_default();
        let span = tracing::info_span!(
            "job",
            job_id = %job.id,
            kind = %job.kind,
            attempt = job.attempts,
            trace_id = %trace_id,
        );
        let started = std::time::Instant::now();
        async {
            let lost = CancellationToken::new();
            let heartbeat = tokio::spawn(heartbeat(self.db.clone(), job.id.clone(), self.owner.clone(), self.settings.lease, lost.clone()));
            let outcome = tokio::select! {
                outcome = self.handler.handle(&job) => Some(outcome),
                () = lost.cancelled() => None,
            };
            heartbeat.abort();
            let at = now();
            let outcome_label = match &outcome {
                None => "lease_lost",
                Some(Ok(())) => "succeeded",
                Some(Err(_)) => "failed",
            };
            crate::telemetry::observe(
                crate::telemetry::JOB_DURATION,
                started.elapsed(),
                &[("kind", job.kind.clone()), ("outcome", outcome_label.to_string())],
            );
            info!(
                outcome = outcome_label,
                elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                "job finished"
            );
            if outcome_label == "failed" {
                metrics::counter!(crate::telemetry::JOB_FAILURES, "kind" => job.kind.clone())
                    .increment(1);
            }
            let result = match outcome {
                None => {
                    warn!("lease lost; another worker will run the job");
                    return;
                }
                Some(Ok(())) => self.db.complete_job(&job.id, &self.owner, to_micros(at)).await,
                Some(Err(JobFailure(message))) => {
                    warn!(error = %message, "job failed");
                    let retry = self.settings.retry;
                    let retry_at = (!retry.exhausted(&job)).then(|| {
                        to_micros(at + chrono::Duration::from_std(retry.backoff(job.attempts)).unwrap_or_default())
                    });
                    match self.db.fail_job(&job, &self.owner, &message, to_micros(at), retry_at).await {
                        Ok(true) if retry_at.is_none() => {
                            self.handler.gave_up(&job, &message).await;
                            Ok(())
                        }
                        other => other.map(|_| ()),
                    }
                }
            };
            if let Err(err) = result {
                warn!(error = %err, "could not record the job's outcome; the reaper will requeue it");
            }
        }
        .instrument(span)
        .await;
    }
}

async fn heartbeat(
    db: Db,
    job_id: String,
    owner: String,
    lease: Duration,
    lost: CancellationToken,
) {
    let mut ticks = tokio::time::interval(lease / 3);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let until = now() + chrono::Duration::from_std(lease).unwrap_or_default();
        match db.renew_lease(&job_id, &owner, to_micros(until)).await {
            Ok(true) => {}
            Ok(false) => {
                lost.cancel();
                return;
            }
            Err(err) => warn!(error = %err, "renewing a lease failed"),
        }
    }
}

/// Jobs whose worker stopped renewing its lease (the process died) go back
/// to the queue, or, on their last attempt, end through the handler.
async fn reap(
    db: Db,
    handler: Arc<dyn JobHandler>,
    settings: WorkerSettings,
    cancel: CancellationToken,
) {
    let mut ticks = tokio::time::interval((settings.lease / 2).max(Duration::from_millis(200)));
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = cancel.cancelled() => return,
        }
        let at = to_micros(now());
        let expired = match db.expired_leases(at).await {
            Ok(jobs) => jobs,
            Err(err) => {
                warn!(error = %err, "reaping leases failed");
                continue;
            }
        };
        for job in expired {
            let exhausted = settings.retry.exhausted(&job);
            match db.end_expired_lease(&job.id, at, exhausted).await {
                // Another instance's reaper (or a late renewal) got there first.
                Ok(false) => {}
                Ok(true) if exhausted => {
                    warn!(job_id = %job.id, attempts = job.attempts, "job gave up: its worker died on the last attempt");
                    handler
                        .gave_up(&job, "the process running it stopped on every attempt")
                        .await;
                }
                Ok(true) => info!(job_id = %job.id, "requeued a job whose worker died"),
                Err(err) => warn!(error = %err, "reaping a lease failed"),
            }
        }
    }
}

/// Other instances' enqueues arrive as PostgreSQL notifications.
async fn listen(url: String, signal: JobSignal, cancel: CancellationToken) {
    loop {
        let listener = async {
            let mut listener = sqlx::postgres::PgListener::connect(&url).await?;
            listener.listen(JOBS_CHANNEL).await?;
            loop {
                listener.recv().await?;
                signal.wake();
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        };
        tokio::select! {
            result = listener => {
                if let Err(err) = result {
                    warn!(error = %err, "job notification listener failed; retrying");
                }
            }
            () = cancel.cancelled() => return,
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = cancel.cancelled() => return,
        }
    }
}
