//! Background processing: the handler of `process_asset` jobs (uploads)
//! and `run_workflow` jobs (a workflow run on an asset).

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use tracing::{info, warn};
use uuid::Uuid;

use super::AssetEvents;
use crate::{
    db::{Db, LeasedJob},
    domain::{AssetStatus, SkillExecution, StepOutcome, TriggerSource, now},
    imaging,
    jobs::{JobFailure, JobHandler, PROCESS_ASSET, RUN_WORKFLOW},
    skills::{
        DEFAULT_THUMBNAIL_SIZE, PixelSlot, Prepared, RunRequest, Skill, SkillRunner, WorkflowStep,
        parse_graph, plan, with_pixel_slot, workflow_steps,
    },
};

use super::workflows::RunWorkflowPayload;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProcessAssetPayload {
    asset_id: Uuid,
}

/// Moves an upload `pending` -> `processing` -> `ready` (enrich skill run)
/// or `failed` (the original cannot be decoded or is over the pixel cap).
pub struct AssetProcessor {
    db: Db,
    runner: SkillRunner,
    events: AssetEvents,
}

impl AssetProcessor {
    pub fn new(db: Db, runner: SkillRunner, events: AssetEvents) -> Self {
        AssetProcessor { db, runner, events }
    }

    /// `false` when the asset had settled already (or is gone).
    async fn set_status(&self, id: Uuid, status: AssetStatus) -> Result<bool, JobFailure> {
        let moved = self
            .db
            .set_asset_status(id, status, now())
            .await
            .map_err(failure)?;
        if let Some(asset) = &moved {
            self.events.changed(asset);
        }
        Ok(moved.is_some())
    }

    async fn process(&self, job: &LeasedJob, asset_id: Uuid) -> Result<(), JobFailure> {
        let Some(asset) = self.db.get_asset(asset_id).await.map_err(failure)? else {
            info!(%asset_id, "asset deleted before processing");
            return Ok(());
        };
        if asset.status.is_settled() {
            return Ok(());
        }
        // Background work waits for a decoding slot as long as it takes.
        let slot = self.runner.pixel_slot(None).await.map_err(failure)?;
        self.set_status(asset.id, AssetStatus::Processing).await?;
        let bytes = self.runner.load_original(&asset).await.map_err(failure)?;

        // The scaled decode validates the original and feeds the thumbnail.
        let max_pixels = self.runner.max_pixels();
        let decoded = {
            let (bytes, slot) = (bytes.clone(), slot.clone());
            tokio::task::spawn_blocking(move || {
                let _slot = slot;
                let header = imaging::read_header(&bytes, max_pixels)?;
                let image = imaging::decode_for_size(&bytes, DEFAULT_THUMBNAIL_SIZE, max_pixels)?;
                Ok::<_, imaging::ImagingError>((header, image))
            })
            .await
            .map_err(|e| JobFailure(format!("decoding crashed: {e}")))?
        };
        let (header, image) = match decoded {
            Ok(decoded) => decoded,
            Err(err) => {
                warn!(%asset_id, error = %err, "the original cannot be processed");
                let message = format!("the original cannot be processed: {err}");
                return self.fail(job, asset.id, &message).await;
            }
        };
        let (width, height) = header.display_dimensions();
        let prepared = Prepared {
            size: DEFAULT_THUMBNAIL_SIZE,
            image: Arc::new(image),
        };
        // An auto-run workflow replaces the built-in enrichment; one that
        // names no skill runs nothing.
        let asset = match self.db.auto_run_workflow().await.map_err(failure)? {
            Some(workflow) => {
                let steps = parse_graph(&workflow.graph_json).unwrap_or_default();
                let run = self.run_steps(job, asset.id, &steps, TriggerSource::Upload);
                run.first(slot, prepared, bytes).await?;
                asset
            }
            None => {
                let skill = Skill::Enrich;
                let request = RunRequest {
                    asset,
                    skill,
                    steps: plan(skill, &serde_json::Map::new()).map_err(failure)?,
                    parameters_json: "{}".into(),
                    trigger: TriggerSource::Upload,
                    job_id: Some(&job.id),
                    prepared: Some(prepared),
                };
                let (_, asset) = with_pixel_slot(slot, self.runner.run(request, bytes))
                    .await
                    .map_err(failure)?;
                asset
            }
        };
        self.db
            .set_asset_dimensions(asset.id, width, height)
            .await
            .map_err(failure)?;
        self.set_status(asset.id, AssetStatus::Ready).await?;
        Ok(())
    }

    fn run_steps<'a>(
        &'a self,
        job: &'a LeasedJob,
        asset_id: Uuid,
        steps: &'a [WorkflowStep],
        trigger: TriggerSource,
    ) -> StepsRun<'a> {
        StepsRun {
            processor: self,
            job,
            asset_id,
            steps,
            trigger,
        }
    }

    /// A queued workflow run: its skills in order, on the asset as each
    /// previous one left it.
    async fn run_workflow(&self, job: &LeasedJob) -> Result<(), JobFailure> {
        let payload: RunWorkflowPayload = serde_json::from_str(&job.payload_json)
            .map_err(|e| JobFailure(format!("bad payload: {e}")))?;
        let nodes = payload
            .nodes
            .into_iter()
            .map(|node| (node.skill_id, node.parameters))
            .collect();
        let steps = match workflow_steps(nodes) {
            Ok(steps) => steps,
            Err(err) => {
                // Checked when queued; a version without one of its skills skips the run.
                warn!(workflow_id = %payload.workflow_id, error = %err, "workflow run dropped");
                return Ok(());
            }
        };
        self.run_steps(job, payload.asset_id, &steps, TriggerSource::Manual)
            .all()
            .await
    }
}

/// The skills of a workflow run by one job. Each records its execution
/// under `<job id>:<position>`, so a retried job (or one taken over after
/// a crash) skips the skills that ran and goes on with the rest.
struct StepsRun<'a> {
    processor: &'a AssetProcessor,
    job: &'a LeasedJob,
    asset_id: Uuid,
    steps: &'a [WorkflowStep],
    trigger: TriggerSource,
}

impl StepsRun<'_> {
    async fn all(self) -> Result<(), JobFailure> {
        for index in 0..self.steps.len() {
            let runner = &self.processor.runner;
            let slot = runner.pixel_slot(None).await.map_err(failure)?;
            if !self.step(index, slot, None, None).await? {
                break;
            }
        }
        Ok(())
    }

    /// Upload processing decoded the original already: the first skill gets
    /// that decode, its pixel slot and its bytes.
    async fn first(
        self,
        slot: PixelSlot,
        prepared: Prepared,
        bytes: bytes::Bytes,
    ) -> Result<(), JobFailure> {
        let mut handed = Some((slot, prepared, bytes));
        for index in 0..self.steps.len() {
            let go_on = match handed.take() {
                Some((slot, prepared, bytes)) => {
                    self.step(index, slot, Some(prepared), Some(bytes)).await?
                }
                None => {
                    let slot = self
                        .processor
                        .runner
                        .pixel_slot(None)
                        .await
                        .map_err(failure)?;
                    self.step(index, slot, None, None).await?
                }
            };
            if !go_on {
                break;
            }
        }
        Ok(())
    }

    /// Runs one skill unless it ran already; `false` when the asset is gone.
    async fn step(
        &self,
        index: usize,
        slot: PixelSlot,
        prepared: Option<Prepared>,
        bytes: Option<bytes::Bytes>,
    ) -> Result<bool, JobFailure> {
        let processor = self.processor;
        let key = format!("{}:{index}", self.job.id);
        if processor
            .db
            .execution_recorded(&key)
            .await
            .map_err(failure)?
        {
            return Ok(true);
        }
        let Some(asset) = processor
            .db
            .get_asset(self.asset_id)
            .await
            .map_err(failure)?
        else {
            info!(asset_id = %self.asset_id, "asset deleted during a workflow run");
            return Ok(false);
        };
        let bytes = match bytes {
            Some(bytes) => bytes,
            None => processor
                .runner
                .load_original(&asset)
                .await
                .map_err(failure)?,
        };
        let step = &self.steps[index];
        let request = RunRequest {
            asset,
            skill: step.skill,
            steps: step.steps.clone(),
            parameters_json: step.parameters_json(),
            trigger: self.trigger,
            job_id: Some(&key),
            prepared,
        };
        let (_, asset) = with_pixel_slot(slot, processor.runner.run(request, bytes))
            .await
            .map_err(failure)?;
        processor.events.changed(&asset);
        Ok(true)
    }
}

impl AssetProcessor {
    /// Ends processing as `failed`, with `message` on every step of the
    /// recorded execution so clients see why.
    async fn fail(&self, job: &LeasedJob, asset_id: Uuid, message: &str) -> Result<(), JobFailure> {
        let skill = Skill::Enrich;
        let steps = plan(skill, &serde_json::Map::new()).map_err(failure)?;
        let at = now();
        let execution = SkillExecution {
            execution_id: Uuid::now_v7(),
            skill_name: skill.name().into(),
            trigger_source: TriggerSource::Upload,
            parameters_json: "{}".into(),
            started_at: at,
            completed_at: at,
            succeeded: false,
            steps: steps
                .iter()
                .map(|step| StepOutcome {
                    step_name: step.name().into(),
                    succeeded: false,
                    error_message: Some(message.to_string()),
                    skipped: false,
                    started_at: at,
                    completed_at: at,
                })
                .collect(),
        };
        // Recorded first, so a watcher told of `failed` finds why; a run
        // that already recorded this job's execution keeps its own.
        self.db
            .insert_execution(asset_id, Some(&job.id), &execution)
            .await
            .map_err(failure)?;
        self.set_status(asset_id, AssetStatus::Failed).await?;
        Ok(())
    }
}

fn failure(err: impl std::fmt::Display) -> JobFailure {
    JobFailure(err.to_string())
}

#[async_trait]
impl JobHandler for AssetProcessor {
    async fn handle(&self, job: &LeasedJob) -> Result<(), JobFailure> {
        if job.kind == RUN_WORKFLOW {
            return self.run_workflow(job).await;
        }
        if job.kind != PROCESS_ASSET {
            return Err(JobFailure(format!("unknown job kind '{}'", job.kind)));
        }
        let payload: ProcessAssetPayload = serde_json::from_str(&job.payload_json)
            .map_err(|e| JobFailure(format!("bad payload: {e}")))?;
        self.process(job, payload.asset_id).await
    }

    /// Out of attempts: the asset must not stay `processing` forever.
    async fn gave_up(&self, job: &LeasedJob, reason: &str) {
        if job.kind == RUN_WORKFLOW {
            warn!(job_id = %job.id, reason, "a workflow run gave up; the skills that ran are recorded");
            return;
        }
        let Ok(payload) = serde_json::from_str::<ProcessAssetPayload>(&job.payload_json) else {
            return;
        };
        let asset_id = payload.asset_id;
        let unsettled = match self.db.get_asset(asset_id).await {
            Ok(asset) => asset.is_some_and(|a| !a.status.is_settled()),
            Err(err) => {
                warn!(%asset_id, error = %err, "could not end the processing of an asset");
                return;
            }
        };
        if !unsettled {
            return;
        }
        let message = format!(
            "processing gave up after {} attempts: {reason}",
            job.attempts
        );
        if let Err(JobFailure(err)) = self.fail(job, asset_id, &message).await {
            warn!(%asset_id, error = %err, "could not end the processing of an asset");
        }
    }
}
