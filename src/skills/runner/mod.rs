//! Runs a skill's steps on one asset: one decode shared by the steps, pixel
//! work bounded by decode slots, outputs stored and the execution recorded.

mod steps;

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use futures_util::StreamExt;
use image::DynamicImage;
use serde_json::{Map, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::warn;
use uuid::Uuid;

use super::{Skill, StepSpec};
use crate::{
    ai::{AiError, AiProviders},
    db::Db,
    domain::{Asset, SkillExecution, StepOutcome, TriggerSource, now},
    error::{Error, Result},
    imaging::{self, ImagingError, OutputFormat, analysis, metadata, watermark},
    storage::{BlobStore, StorageError, Stores},
};

/// What a refused synchronous run is told to wait before trying again.
const PIXEL_SLOT_RETRY_AFTER: u64 = 5;

/// Perceptual hashes this close (in bits) are reported as near duplicates.
const NEAR_DUPLICATE_BITS: u32 = 6;
/// Quality for rewrites in lossy formats (EXIF strip with rotation, watermark).
const REWRITE_QUALITY: u8 = 90;
const THUMBNAIL_QUALITY: u8 = 80;

/// A decode done before the run (upload processing validates the original
/// with the same scaled decode the thumbnail needs), reused by the thumbnail step.
pub struct Prepared {
    pub size: u32,
    pub image: Arc<DynamicImage>,
}

pub struct RunRequest<'a> {
    pub asset: Asset,
    pub skill: Skill,
    pub steps: Vec<StepSpec>,
    pub parameters_json: String,
    pub trigger: TriggerSource,
    /// Set for job-triggered runs so a retried job records one execution.
    pub job_id: Option<&'a str>,
    pub prepared: Option<Prepared>,
}

/// Runs skills; used by background jobs and by the synchronous `RunSkill`.
#[derive(Clone)]
pub struct SkillRunner {
    db: Db,
    storage: Arc<dyn Stores>,
    max_pixels: u64,
    ai: AiProviders,
    pixel_slots: Arc<Semaphore>,
}

/// Held while a run has decoded pixels in memory. Shared with the blocking
/// tasks that do the pixel work, so a dropped request (client gone, deadline
/// passed) frees its slot only when that work has really ended.
pub type PixelSlot = Arc<OwnedSemaphorePermit>;

tokio::task_local! {
    static PIXEL_SLOT: PixelSlot;
}

/// Runs `future` (a skill run, a decode) holding `slot`: every blocking
/// pixel task it starts keeps the slot until that task ends.
pub async fn with_pixel_slot<F: std::future::Future>(slot: PixelSlot, future: F) -> F::Output {
    PIXEL_SLOT.scope(slot, future).await
}

/// Longest side of the image sent to vision models: enough to describe it,
/// never a many-megabyte original.
const VISION_SIDE: u32 = 512;

/// What an AI step asks for and where its answer goes.
#[derive(Clone, Copy)]
enum AiTask<'a> {
    Caption { prompt: Option<&'a str> },
    AltText,
}

const CAPTION_PROMPT: &str =
    "Write one concise sentence that captions this image for a photo library.";
const ALT_TEXT_PROMPT: &str = "Write alt text for this image for people using a screen reader: one sentence, \
     under 125 characters, without starting with 'image of' or 'picture of'.";

/// Everything a run works on; rewrites replace `asset` and `bytes`.
struct Work {
    asset: Asset,
    store: Arc<dyn BlobStore>,
    bytes: Bytes,
    decoded: Option<Arc<DynamicImage>>,
    prepared: Option<Prepared>,
    analysis: Map<String, Value>,
    /// The thumbnail written in this run, reused as the vision input.
    thumbnail: Option<Bytes>,
    /// The JPEG sent to the vision model, made once per run.
    vision_jpeg: Option<Bytes>,
}

/// Why a step failed, in words safe to show a client.
struct StepError(String);

impl From<ImagingError> for StepError {
    fn from(err: ImagingError) -> Self {
        StepError(err.to_string())
    }
}

impl From<StorageError> for StepError {
    fn from(err: StorageError) -> Self {
        warn!(error = %err, "storage failed during a skill step");
        StepError("storage is unavailable".into())
    }
}

impl From<Error> for StepError {
    fn from(err: Error) -> Self {
        StepError(err.to_string())
    }
}

impl SkillRunner {
    /// At most `max_decodes` runs hold decoded pixels at once (each up to
    /// `max_pixels`), whoever asks: upload processing and synchronous runs.
    pub fn new(
        db: Db,
        storage: Arc<dyn Stores>,
        max_pixels: u64,
        max_decodes: usize,
        ai: AiProviders,
    ) -> Self {
        SkillRunner {
            db,
            storage,
            max_pixels,
            ai,
            pixel_slots: Arc::new(Semaphore::new(max_decodes.max(1))),
        }
    }

    /// A slot for pixel work, waited for: without a limit (background jobs
    /// can wait their turn) or up to `wait` (a caller is waiting), after
    /// which the run is refused with `imaging_busy`.
    pub async fn pixel_slot(&self, wait: Option<Duration>) -> Result<PixelSlot> {
        let slots = self.pixel_slots.clone();
        let acquired = match wait {
            None => slots.acquire_owned().await,
            Some(wait) => tokio::time::timeout(wait, slots.acquire_owned())
                .await
                .map_err(|_| Error::ImagingBusy {
                    retry_after_seconds: PIXEL_SLOT_RETRY_AFTER,
                })?,
        };
        acquired
            .map(Arc::new)
            .map_err(|e| Error::internal("pixel slots", e))
    }

    pub fn max_pixels(&self) -> u64 {
        self.max_pixels
    }

    /// Reads an asset's original into memory (bounded by the upload limit).
    pub async fn load_original(&self, asset: &Asset) -> Result<Bytes> {
        let store = self.store(asset).await?;
        let read = store
            .get(&asset.storage_key, None)
            .await
            .map_err(Error::from)?;
        let mut bytes = Vec::with_capacity(usize::try_from(read.size).unwrap_or(0));
        let mut body = read.body;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| Error::from(StorageError::Unavailable(e.to_string())))?;
            bytes.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(bytes))
    }

    async fn store(&self, asset: &Asset) -> Result<Arc<dyn BlobStore>> {
        self.storage.store(&asset.storage_profile_id).await
    }

    /// Runs every step (a failed step does not stop the next), stores the
    /// outputs and records the execution. Returns it with the asset as it is now.
    pub async fn run(
        &self,
        request: RunRequest<'_>,
        bytes: Bytes,
    ) -> Result<(SkillExecution, Asset)> {
        let started_at = now();
        let store = self.store(&request.asset).await?;
        let mut work = Work {
            asset: request.asset,
            store,
            bytes,
            decoded: None,
            prepared: request.prepared,
            analysis: Map::new(),
            thumbnail: None,
            vision_jpeg: None,
        };
        let skip_ai = self
            .ai_has_nothing_to_do(request.trigger, &request.steps)
            .await;
        let mut steps = Vec::with_capacity(request.steps.len());
        for step in &request.steps {
            let step_started = now();
            let skipped = skip_ai && step.uses_ai();
            let outcome = if skipped {
                Ok(())
            } else {
                self.run_step(&mut work, step).await
            };
            steps.push(StepOutcome {
                step_name: step.name().to_string(),
                succeeded: outcome.is_ok(),
                error_message: outcome.err().map(|e| e.0),
                skipped,
                started_at: step_started,
                completed_at: now(),
            });
        }
        if !work.analysis.is_empty() {
            let payload = Value::Object(std::mem::take(&mut work.analysis)).to_string();
            self.db
                .upsert_structured_result(work.asset.id, "analysis", &payload)
                .await?;
        }
        let execution = SkillExecution {
            execution_id: Uuid::now_v7(),
            skill_name: request.skill.name().to_string(),
            trigger_source: request.trigger,
            parameters_json: request.parameters_json,
            started_at,
            completed_at: now(),
            succeeded: steps.iter().all(|s| s.succeeded),
            steps,
        };
        self.db
            .insert_execution(work.asset.id, request.job_id, &execution)
            .await?;
        Ok((execution, work.asset))
    }

    /// The AI steps of the processing that runs on upload are best effort:
    /// on an install without an active AI provider they are skipped, not
    /// failed. Asked for by a caller (a skill run), a missing provider is a
    /// failure the caller should see.
    async fn ai_has_nothing_to_do(&self, trigger: TriggerSource, steps: &[StepSpec]) -> bool {
        trigger == TriggerSource::Upload
            && steps.iter().any(StepSpec::uses_ai)
            && matches!(self.ai.active().await, Err(AiError::NoActiveProvider))
    }

    async fn run_step(&self, work: &mut Work, step: &StepSpec) -> Result<(), StepError> {
        match step {
            StepSpec::GenerateThumbnail { size } => self.thumbnail(work, *size).await,
            StepSpec::GenerateCaption { prompt } => {
                let task = AiTask::Caption {
                    prompt: prompt.as_deref(),
                };
                self.ai_text(work, task).await
            }
            StepSpec::GenerateAltText => self.ai_text(work, AiTask::AltText).await,
            StepSpec::StripExif => self.strip_exif(work).await,
            StepSpec::ConvertFormat {
                target,
                quality,
                keep_original,
            } => {
                let image = self.decoded(work).await?;
                let (target, quality) = (*target, *quality);
                let bytes = blocking(move || imaging::encode(&image, target, quality)).await?;
                self.rewrite_original(work, bytes, target, *keep_original)
                    .await
            }
            StepSpec::DrawWatermark {
                text,
                opacity,
                font_size,
                position,
            } => {
                let format =
                    OutputFormat::from_content_type(&work.asset.content_type).ok_or_else(|| {
                        StepError(format!("cannot rewrite {}", work.asset.content_type))
                    })?;
                let image = self.decoded(work).await?;
                let (text, opacity, font_size, position) =
                    (text.clone(), *opacity, *font_size, *position);
                let bytes = blocking(move || {
                    let marked =
                        watermark::draw_watermark(&image, &text, font_size, opacity, position)?;
                    imaging::encode(&marked, format, REWRITE_QUALITY)
                })
                .await?;
                self.rewrite_original(work, bytes, format, false).await
            }
            StepSpec::ExtractMetadata => {
                let bytes = work.bytes.clone();
                let summary = blocking(move || Ok(metadata::exif_summary(&bytes))).await?;
                work.analysis.insert("exif".into(), summary);
                Ok(())
            }
            StepSpec::DominantColors => {
                let image = self.decoded(work).await?;
                let colours = blocking(move || analysis::dominant_colors(&image)).await?;
                work.analysis.insert("dominantColors".into(), colours);
                Ok(())
            }
            StepSpec::Blurhash => {
                let image = self.decoded(work).await?;
                let hash = blocking(move || analysis::blurhash(&image)).await?;
                work.analysis.insert("blurhash".into(), hash.into());
                Ok(())
            }
            StepSpec::PerceptualHash => self.perceptual_hash(work).await,
        }
    }

    /// The full decode (orientation applied), shared by the steps of one run.
    async fn decoded(&self, work: &mut Work) -> Result<Arc<DynamicImage>, StepError> {
        if let Some(image) = &work.decoded {
            return Ok(image.clone());
        }
        let bytes = work.bytes.clone();
        let max_pixels = self.max_pixels;
        let image = Arc::new(blocking(move || imaging::decode(&bytes, max_pixels)).await?);
        work.decoded = Some(image.clone());
        Ok(image)
    }
}

/// CPU work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ImagingError> + Send + 'static,
) -> Result<T, StepError> {
    let slot = PIXEL_SLOT.try_with(Clone::clone).ok();
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    })
    .await
    .map_err(|e| StepError(format!("image processing crashed: {e}")))?
    .map_err(StepError::from)
}
