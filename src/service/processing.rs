//! Upload-triggered processing: the handler of `process_asset` jobs.

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
    jobs::{JobFailure, JobHandler, PROCESS_ASSET},
    skills::{
        DEFAULT_THUMBNAIL_SIZE, Prepared, RunRequest, Skill, SkillRunner, plan, with_pixel_slot,
    },
};

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
        let skill = Skill::Enrich;
        let steps = plan(skill, &serde_json::Map::new()).map_err(failure)?;
        let (header, image) = match decoded {
            Ok(decoded) => decoded,
            Err(err) => {
                warn!(%asset_id, error = %err, "the original cannot be processed");
                let message = format!("the original cannot be processed: {err}");
                return self.fail(job, asset.id, &message).await;
            }
        };
        let (width, height) = header.display_dimensions();
        let request = RunRequest {
            asset,
            skill,
            steps,
            parameters_json: "{}".into(),
            trigger: TriggerSource::Upload,
            job_id: Some(&job.id),
            prepared: Some(Prepared {
                size: DEFAULT_THUMBNAIL_SIZE,
                image: Arc::new(image),
            }),
        };
        let (_, asset) = with_pixel_slot(slot, self.runner.run(request, bytes))
            .await
            .map_err(failure)?;
        self.db
            .set_asset_dimensions(asset.id, width, height)
            .await
            .map_err(failure)?;
        self.set_status(asset.id, AssetStatus::Ready).await?;
        Ok(())
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
        if job.kind != PROCESS_ASSET {
            return Err(JobFailure(format!("unknown job kind '{}'", job.kind)));
        }
        let payload: ProcessAssetPayload = serde_json::from_str(&job.payload_json)
            .map_err(|e| JobFailure(format!("bad payload: {e}")))?;
        self.process(job, payload.asset_id).await
    }

    /// Out of attempts: the asset must not stay `processing` forever.
    async fn gave_up(&self, job: &LeasedJob, reason: &str) {
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
