use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use image::DynamicImage;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::warn;
use uuid::Uuid;

use super::{Skill, StepSpec, params};
use crate::{
    ai::{AiError, AiProviders, VisionClient, VisionRequest},
    db::{Db, OriginalReplacement},
    domain::{Asset, Derivative, SkillExecution, StepOutcome, TriggerSource, now},
    error::{Error, Result},
    imaging::{self, ImagingError, OutputFormat, analysis, metadata, watermark},
    storage::{BlobStore, StorageError, Stores, original_key},
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

    async fn thumbnail(&self, work: &mut Work, size: u32) -> Result<(), StepError> {
        let source = match work.prepared.take() {
            Some(prepared) if prepared.size == size => Some(prepared.image),
            _ => None,
        };
        let bytes = work.bytes.clone();
        let max_pixels = self.max_pixels;
        let (data, width, height) = blocking(move || {
            let source = match source {
                Some(image) => image,
                None => Arc::new(imaging::decode_for_size(&bytes, size, max_pixels)?),
            };
            let thumbnail = imaging::fit_within(&source, size)?;
            let data = imaging::encode(&thumbnail, OutputFormat::Webp, THUMBNAIL_QUALITY)?;
            Ok((data, thumbnail.width(), thumbnail.height()))
        })
        .await?;
        let format = OutputFormat::Webp;
        let derivative = Derivative {
            kind: format!("thumbnail_{size}"),
            content_type: format.content_type().into(),
            extension: format.extension().into(),
            size: data.len() as u64,
            width: Some(width),
            height: Some(height),
            storage_key: format!(
                "derivatives/{}/thumbnail_{size}.{}",
                work.asset.id,
                format.extension()
            ),
            created_at: now(),
            public_url: None,
        };
        put(&*work.store, &derivative.storage_key, data.clone()).await?;
        if size == params::DEFAULT_THUMBNAIL_SIZE {
            work.thumbnail = Some(Bytes::from(data));
        }
        let recorded = self.record_derivative(work, &derivative).await;
        if recorded.is_err() {
            // The asset went away meanwhile: leave no orphan file.
            let _ = work.store.delete(&derivative.storage_key, None).await;
        }
        recorded
    }

    async fn record_derivative(
        &self,
        work: &Work,
        derivative: &Derivative,
    ) -> Result<(), StepError> {
        if let Some(replaced) = self.db.upsert_derivative(work.asset.id, derivative).await?
            && let Err(err) = work.store.delete(&replaced, None).await
        {
            warn!(key = %replaced, error = %err, "could not remove a replaced derivative");
        }
        Ok(())
    }

    /// Asks the active vision model and stores its answer as a result,
    /// backfilling the asset's text where it is empty.
    async fn ai_text(&self, work: &mut Work, task: AiTask<'_>) -> Result<(), StepError> {
        let provider = self
            .ai
            .active()
            .await
            .map_err(|e| StepError(e.to_string()))?;
        let jpeg = self.vision_jpeg(work).await?;
        let task_prompt = match task {
            AiTask::Caption { prompt } => prompt.unwrap_or(CAPTION_PROMPT),
            AiTask::AltText => ALT_TEXT_PROMPT,
        };
        let request = VisionRequest {
            system_prompt: &provider.system_prompt,
            task_prompt,
            jpeg: &jpeg,
        };
        let text = provider
            .client
            .describe(&request)
            .await
            .map_err(|e| StepError(e.to_string()))?;
        let text: String = text.chars().take(crate::domain::MAX_TEXT_LEN).collect();
        let id = work.asset.id;
        match task {
            AiTask::Caption { .. } => {
                let payload = json!({ "caption": text, "generator": provider.model_name });
                self.db
                    .upsert_structured_result(id, "basic_caption", &payload.to_string())
                    .await?;
                self.db.backfill_description(id, &text).await?;
            }
            AiTask::AltText => {
                let payload = json!({ "altText": text, "generator": provider.model_name });
                self.db
                    .upsert_structured_result(id, "alt_text", &payload.to_string())
                    .await?;
                self.db.backfill_alt_text(id, &text).await?;
            }
        }
        Ok(())
    }

    /// A small JPEG for the vision model: from the thumbnail when there is
    /// one, else a downscaled copy of the original. JPEG because every
    /// OpenAI-compatible server accepts it (some local ones refuse WebP).
    async fn vision_jpeg(&self, work: &mut Work) -> Result<Bytes, StepError> {
        if let Some(jpeg) = &work.vision_jpeg {
            return Ok(jpeg.clone());
        }
        let thumbnail = match work.thumbnail.clone() {
            Some(bytes) => Some(bytes),
            None => self.stored_thumbnail(work).await,
        };
        let original = work.bytes.clone();
        let max_pixels = self.max_pixels;
        let jpeg = blocking(move || {
            let image = match thumbnail.map(|t| imaging::decode(&t, max_pixels)) {
                Some(Ok(image)) => image,
                _ => imaging::decode_for_size(&original, VISION_SIDE, max_pixels)?,
            };
            let small = imaging::fit_within(&image, VISION_SIDE)?;
            imaging::encode(&small, OutputFormat::Jpeg, 85)
        })
        .await?;
        let jpeg = Bytes::from(jpeg);
        work.vision_jpeg = Some(jpeg.clone());
        Ok(jpeg)
    }

    async fn stored_thumbnail(&self, work: &Work) -> Option<Bytes> {
        let kind = format!("thumbnail_{}", params::DEFAULT_THUMBNAIL_SIZE);
        let derivative = self
            .db
            .derivatives(work.asset.id)
            .await
            .ok()?
            .into_iter()
            .find(|d| d.kind == kind)?;
        let read = work.store.get(&derivative.storage_key, None).await.ok()?;
        let chunks: Vec<Bytes> = read.body.filter_map(|c| async { c.ok() }).collect().await;
        Some(Bytes::from(chunks.concat()))
    }

    async fn strip_exif(&self, work: &mut Work) -> Result<(), StepError> {
        let format = OutputFormat::from_content_type(&work.asset.content_type)
            .ok_or_else(|| StepError(format!("cannot rewrite {}", work.asset.content_type)))?;
        let header = {
            let bytes = work.bytes.clone();
            let max_pixels = self.max_pixels;
            blocking(move || imaging::read_header(&bytes, max_pixels)).await?
        };
        let bytes = if header.orientation == image::metadata::Orientation::NoTransforms {
            let (bytes, image_format) = (work.bytes.clone(), header.format);
            blocking(move || metadata::strip_metadata(&bytes, image_format)).await?
        } else {
            // Orientation is applied to the pixels before the tag goes.
            let image = self.decoded(work).await?;
            blocking(move || imaging::encode(&image, format, REWRITE_QUALITY)).await?
        };
        self.rewrite_original(work, bytes, format, false).await
    }

    /// Stores the new original under a new key, points the asset at it, then
    /// removes (or keeps, as the `original` derivative) the old file. The
    /// asset never points at a missing file.
    async fn rewrite_original(
        &self,
        work: &mut Work,
        bytes: Vec<u8>,
        format: OutputFormat,
        keep_old: bool,
    ) -> Result<(), StepError> {
        let header = {
            let bytes = Bytes::from(bytes.clone());
            let max_pixels = self.max_pixels;
            blocking(move || imaging::read_header(&bytes, max_pixels)).await?
        };
        let (width, height) = header.display_dimensions();
        let file_id = Uuid::now_v7();
        let key = original_key(file_id, format.extension(), now());
        let old = work.asset.clone();
        let replacement = OriginalReplacement {
            previous_key: old.storage_key.clone(),
            storage_key: key.clone(),
            stored_file_name: format!("{file_id}.{}", format.extension()),
            extension: format.extension().into(),
            content_type: format.content_type().into(),
            size: bytes.len() as u64,
            checksum_sha256: hex::encode(Sha256::digest(&bytes)),
            width: Some(width),
            height: Some(height),
        };
        let bytes = Bytes::from(bytes);
        put(&*work.store, &key, bytes.to_vec()).await?;
        let updated = match self.db.replace_original(old.id, &replacement, now()).await {
            Ok(Some(updated)) => updated,
            outcome => {
                let _ = work.store.delete(&key, None).await;
                outcome?;
                return Err(StepError("the asset changed during the run".into()));
            }
        };
        if keep_old {
            let kept = Derivative {
                kind: "original".into(),
                content_type: old.content_type.clone(),
                extension: old.extension.clone(),
                size: old.size,
                width: old.width,
                height: old.height,
                storage_key: old.storage_key.clone(),
                created_at: now(),
                public_url: None,
            };
            self.record_derivative(work, &kept).await?;
        } else if let Err(err) = work.store.delete(&old.storage_key, None).await {
            warn!(key = %old.storage_key, error = %err, "could not remove a replaced original");
        }
        work.asset = updated;
        work.bytes = bytes;
        work.decoded = None;
        Ok(())
    }

    async fn perceptual_hash(&self, work: &mut Work) -> Result<(), StepError> {
        let image = self.decoded(work).await?;
        let hash = blocking(move || analysis::perceptual_hash(&image)).await?;
        self.db.set_perceptual_hash(work.asset.id, &hash).await?;
        let (same_checksum, hashes) = self
            .db
            .duplicate_candidates(work.asset.id, &work.asset.checksum_sha256)
            .await?;
        let similar: Vec<Value> = hashes
            .iter()
            .filter_map(|(id, other)| {
                let distance = analysis::hash_distance(&hash, other)?;
                (distance <= NEAR_DUPLICATE_BITS && !same_checksum.contains(id))
                    .then(|| json!({ "assetId": id, "distance": distance }))
            })
            .collect();
        work.analysis.insert("perceptualHash".into(), hash.into());
        work.analysis.insert(
            "duplicates".into(),
            json!({ "sameChecksum": same_checksum, "similar": similar }),
        );
        Ok(())
    }
}

async fn put(store: &dyn BlobStore, key: &str, data: Vec<u8>) -> Result<(), StepError> {
    let body = stream::once(async move { Ok(Bytes::from(data)) }).boxed();
    store.put(key, body, None).await?;
    Ok(())
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
