//! The steps themselves: derivatives, AI text, rewrites of the original,
//! perceptual hashes. Each reads the shared decode of its run.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::warn;
use uuid::Uuid;

use super::{
    ALT_TEXT_PROMPT, AiTask, CAPTION_PROMPT, NEAR_DUPLICATE_BITS, REWRITE_QUALITY, SkillRunner,
    StepError, THUMBNAIL_QUALITY, VISION_SIDE, Work, blocking,
};
use crate::{
    ai::{VisionClient, VisionRequest},
    db::OriginalReplacement,
    domain::{Derivative, now},
    imaging::{self, OutputFormat, analysis, metadata},
    skills::params,
    storage::{BlobStore, original_key},
};

impl SkillRunner {
    pub(super) async fn thumbnail(&self, work: &mut Work, size: u32) -> Result<(), StepError> {
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

    pub(super) async fn record_derivative(
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
    pub(super) async fn ai_text(&self, work: &mut Work, task: AiTask<'_>) -> Result<(), StepError> {
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
    pub(super) async fn vision_jpeg(&self, work: &mut Work) -> Result<Bytes, StepError> {
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

    pub(super) async fn stored_thumbnail(&self, work: &Work) -> Option<Bytes> {
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

    pub(super) async fn strip_exif(&self, work: &mut Work) -> Result<(), StepError> {
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
    pub(super) async fn rewrite_original(
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

    pub(super) async fn perceptual_hash(&self, work: &mut Work) -> Result<(), StepError> {
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
