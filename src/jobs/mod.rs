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

/// A failure worth retrying (storage or database trouble). Problems with the
/// image itself are not failures of the job: the handler records them.
#[derive(Debug)]
pub struct JobFailure(pub String);

#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn handle(&self, job: &LeasedJob) -> Result<(), JobFailure>;
}

#[derive(Clone, Copy, Debug)]
pub struct WorkerSettings {
    pub workers: usize,
    pub lease: Duration,
    /// Fallback when no wake-up arrives.
    pub poll_interval: Duration,
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
                settings.lease,
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
                    let backoff = Duration::from_secs(2u64.saturating_pow(u32::try_from(job.attempts).unwrap_or(16)).min(300));
                    let retry_at = at + chrono::Duration::from_std(backoff).unwrap_or_default();
                    self.db.fail_job(&job, &self.owner, &message, to_micros(at), to_micros(retry_at)).await
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

async fn reap(db: Db, lease: Duration, cancel: CancellationToken) {
    let mut ticks = tokio::time::interval((lease / 2).max(Duration::from_millis(200)));
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = cancel.cancelled() => return,
        }
        match db.reap_expired_leases(to_micros(now())).await {
            Ok(0) => {}
            Ok(n) => info!(requeued = n, "requeued jobs with expired leases"),
            Err(err) => warn!(error = %err, "reaping leases failed"),
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
