//! Uploads: the bytes stream into storage while they are hashed and sniffed;
//! the row is recorded only once everything is valid.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream};
use sha2::{Digest, Sha256};
use tracing::{instrument, warn};
use uuid::Uuid;

use super::{
    AssetService, PROBE_LEN,
    validate::{upload_file_name, upload_texts},
};
use crate::{
    db::NewJob,
    domain::{
        Asset, AssetDetails, AssetStatus, Permission, Principal, UploadMetadata, UploadPart, now,
    },
    error::{Error, Result},
    imaging,
    jobs::PROCESS_ASSET,
    storage::{BlobStore, original_key},
};

/// An uploaded file already in storage but not yet recorded. Dropping it
/// without `commit` deletes the stored object, so a failed upload
/// never leaves an orphan file.
struct StagedUpload {
    id: Uuid,
    profile_id: String,
    store: Arc<dyn BlobStore>,
    storage_key: String,
    content_type: &'static str,
    size: u64,
    checksum_sha256: String,
    dimensions: Option<(u32, u32)>,
    committed: bool,
}

impl StagedUpload {
    /// Removes the stored file now (the error paths call this so the file is
    /// gone before the client hears about the failure).
    async fn discard(mut self) {
        self.committed = true;
        if let Err(err) = self.store.delete(&self.storage_key, None).await {
            warn!(key = %self.storage_key, error = %err, "could not remove the file of a failed upload");
        }
    }
}

/// The file's bytes out of a stream of upload parts: they end where the
/// parts do or where metadata follows the file (kept in `after`).
struct FileChunks<'a, P> {
    first: Option<Bytes>,
    parts: &'a mut P,
    after: Option<UploadPart>,
    /// The parts ended with the file (a stream is not polled past its end).
    ended: bool,
}

impl<P> Stream for FileChunks<'_, P>
where
    P: Stream<Item = Result<UploadPart>> + Unpin,
{
    type Item = Result<Bytes>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        if this.after.is_some() || this.ended {
            return Poll::Ready(None);
        }
        match this.parts.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(UploadPart::Chunk(bytes)))) => Poll::Ready(Some(Ok(bytes))),
            Poll::Ready(Some(Ok(metadata))) => {
                this.after = Some(metadata);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err))),
            Poll::Ready(None) => {
                this.ended = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The safety net for paths that cannot await (a dropped request future).
impl Drop for StagedUpload {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let store = self.store.clone();
        let key = std::mem::take(&mut self.storage_key);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(err) = store.delete(&key, None).await {
                    warn!(%key, error = %err, "could not remove the file of a failed upload");
                }
            });
        }
    }
}

impl AssetService {
    /// Receives an upload as the client sends it and records the asset. The
    /// file streams into storage as it arrives; metadata sent after it is
    /// applied before anything is recorded. On any error nothing is kept.
    /// `parts` is borrowed so a transport can drain what the client still
    /// sends after a refusal.
    pub async fn upload<P>(&self, principal: &Principal, parts: &mut P) -> Result<AssetDetails>
    where
        P: Stream<Item = Result<UploadPart>> + Send + Unpin,
    {
        principal.require(Permission::AssetsCreate)?;
        let mut metadata = UploadMetadata::default();
        let first_chunk = loop {
            match parts.next().await.transpose()? {
                None => return Err(Error::AssetFileRequired),
                Some(UploadPart::Metadata(more)) => metadata.merge(more),
                Some(UploadPart::Chunk(bytes)) => break bytes,
            }
        };
        let mut file = FileChunks {
            first: Some(first_chunk),
            parts: &mut *parts,
            after: None,
            ended: false,
        };
        let staged = self.stage(principal, &metadata, &mut file).await?;
        let (mut after, mut ended) = (file.after.take(), file.ended);
        loop {
            let part = match after.take() {
                Some(part) => Some(Ok(part)),
                None if ended => None,
                None => parts.next().await,
            };
            ended = part.is_none();
            match part {
                None => break,
                Some(Ok(UploadPart::Metadata(more))) => metadata.merge(more),
                Some(Ok(UploadPart::Chunk(_))) => {
                    staged.discard().await;
                    return Err(Error::InvalidRequest(
                        "send exactly one file, in one piece".into(),
                    ));
                }
                Some(Err(err)) => {
                    staged.discard().await;
                    return Err(err);
                }
            }
        }
        self.commit(principal, staged, metadata).await
    }

    /// Streams an upload into storage while hashing it, sniffing its type from
    /// the first bytes and enforcing the size limit. Nothing is recorded yet.
    /// `metadata` holds what the client sent before the file: the profile,
    /// the commit message, and the visibility when already known.
    #[instrument(skip_all, fields(profile = ?metadata.storage_profile_id))]
    async fn stage<S>(
        &self,
        principal: &Principal,
        metadata: &UploadMetadata,
        body: S,
    ) -> Result<StagedUpload>
    where
        S: Stream<Item = Result<Bytes>> + Send + Unpin,
    {
        principal.require(Permission::AssetsCreate)?;
        let (profile_id, store, limit) = self.upload_target(metadata).await?;
        let mut body = body;

        let mut head: Vec<Bytes> = Vec::new();
        let mut head_len = 0usize;
        while head_len < imaging::SNIFF_LEN {
            match body.next().await {
                Some(chunk) => {
                    let chunk = chunk?;
                    head_len += chunk.len();
                    head.push(chunk);
                }
                None => break,
            }
        }
        if head_len == 0 {
            return Err(Error::AssetFileEmpty);
        }
        let content_type = self.allowed_type(&head.concat())?;

        let id = Uuid::now_v7();
        let storage_key = original_key(id, imaging::extension_for(content_type), now());
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut probe: Vec<u8> = Vec::new();
        let mut failure: Option<Error> = None;
        let chunks = stream::iter(head.into_iter().map(Ok))
            .chain(body)
            .map(|chunk| {
                let chunk = match chunk {
                    Ok(chunk) => chunk,
                    Err(err) => {
                        failure = Some(err);
                        return Err(std::io::Error::other("upload stream failed"));
                    }
                };
                size += chunk.len() as u64;
                if size > limit {
                    failure = Some(Error::AssetFileTooLarge { limit });
                    return Err(std::io::Error::other("upload limit exceeded"));
                }
                hasher.update(&chunk);
                if probe.len() < PROBE_LEN {
                    let take = (PROBE_LEN - probe.len()).min(chunk.len());
                    probe.extend_from_slice(&chunk[..take]);
                }
                Ok(chunk)
            });
        let stored = store
            .put(
                &storage_key,
                chunks.boxed(),
                metadata.commit_message.as_deref(),
            )
            .await;
        if let Some(err) = failure {
            return Err(err);
        }
        stored.map_err(Error::from)?;

        Ok(StagedUpload {
            id,
            profile_id,
            store,
            storage_key,
            content_type,
            size,
            checksum_sha256: hex::encode(hasher.finalize()),
            dimensions: imaging::probe_dimensions(&probe),
            committed: false,
        })
    }

    /// Validates the metadata and records the asset; on any error the staged
    /// file is removed.
    #[instrument(skip_all, fields(asset_id = %staged.id))]
    async fn commit(
        &self,
        principal: &Principal,
        staged: StagedUpload,
        metadata: UploadMetadata,
    ) -> Result<AssetDetails> {
        if let Err(err) = principal.require(Permission::AssetsCreate) {
            staged.discard().await;
            return Err(err);
        }
        let (description, alt_text) = match upload_texts(&metadata) {
            Ok(texts) => texts,
            Err(err) => {
                staged.discard().await;
                return Err(err);
            }
        };
        let mut staged = staged;
        let requested_profile = metadata
            .storage_profile_id
            .filter(|id| !id.trim().is_empty());
        if let Some(requested) = requested_profile.filter(|id| *id != staged.profile_id) {
            staged = self
                .relocate(staged, &requested, metadata.commit_message.as_deref())
                .await?;
        }
        let is_public = metadata.is_public.unwrap_or(true);
        if !is_public && !staged.store.allows_private() {
            let profile_id = staged.profile_id.clone();
            staged.discard().await;
            return Err(Error::StorageProfilePublicOnly(profile_id));
        }
        let extension = imaging::extension_for(staged.content_type);
        let at = now();
        let process = metadata.run_enrichment.unwrap_or(true);
        let asset = Asset {
            id: staged.id,
            asset_type: "image".into(),
            status: if process {
                AssetStatus::Pending
            } else {
                AssetStatus::Ready
            },
            original_file_name: Some(upload_file_name(metadata.file_name.as_deref(), extension)),
            stored_file_name: format!("{}.{extension}", staged.id),
            extension: extension.into(),
            content_type: staged.content_type.into(),
            size: staged.size,
            width: staged.dimensions.map(|d| d.0),
            height: staged.dimensions.map(|d| d.1),
            checksum_sha256: staged.checksum_sha256.clone(),
            storage_provider: staged.store.provider_type(),
            storage_profile_id: staged.profile_id.clone(),
            storage_key: staged.storage_key.clone(),
            is_public,
            description,
            alt_text,
            created_at: at,
            updated_at: at,
            public_url: None,
        };
        let job = process.then(|| NewJob {
            kind: PROCESS_ASSET.into(),
            asset_id: Some(asset.id.to_string()),
            // The trace id lets the job's logs be found from the upload's.
            payload_json: serde_json::json!({
                "assetId": asset.id,
                "traceId": crate::telemetry::current_trace_id(),
            })
            .to_string(),
            max_attempts: crate::jobs::RetryPolicy::default().max_attempts,
        });
        if let Err(err) = self.db.insert_asset(&asset, job.as_ref()).await {
            staged.discard().await;
            return Err(err);
        }
        staged.committed = true;
        if process {
            self.jobs.wake();
        }
        Ok(AssetDetails {
            asset: self.present(asset).await,
            derivatives: Vec::new(),
            structured_results: Vec::new(),
            latest_execution: None,
        })
    }

    /// Moves a staged file to another profile's store (a client named the
    /// profile after the file in a multipart body).
    async fn relocate(
        &self,
        staged: StagedUpload,
        profile_id: &str,
        message: Option<&str>,
    ) -> Result<StagedUpload> {
        let copied = async {
            let (profile_id, store) = self.writable_store(Some(profile_id)).await?;
            let read = staged
                .store
                .get(&staged.storage_key, None)
                .await
                .map_err(Error::from)?;
            store
                .put(&staged.storage_key, read.body, message)
                .await
                .map_err(Error::from)?;
            Ok((profile_id, store))
        }
        .await;
        let (profile_id, store) = match copied {
            Ok(target) => target,
            Err(err) => {
                staged.discard().await;
                return Err(err);
            }
        };
        let moved = StagedUpload {
            id: staged.id,
            profile_id,
            store,
            storage_key: staged.storage_key.clone(),
            content_type: staged.content_type,
            size: staged.size,
            checksum_sha256: staged.checksum_sha256.clone(),
            dimensions: staged.dimensions,
            committed: false,
        };
        staged.discard().await;
        Ok(moved)
    }

    /// Where an upload with this metadata goes, and the most it may hold:
    /// refused at once when the profile cannot take it (disabled, read-only,
    /// public-only for a private asset).
    pub(crate) async fn upload_target(
        &self,
        metadata: &UploadMetadata,
    ) -> Result<(String, Arc<dyn BlobStore>, u64)> {
        let (profile_id, store) = self
            .writable_store(metadata.storage_profile_id.as_deref())
            .await?;
        if metadata.is_public == Some(false) && !store.allows_private() {
            return Err(Error::StorageProfilePublicOnly(profile_id));
        }
        let limit = store
            .max_object_bytes()
            .map_or(self.limits.max_upload_bytes, |max| {
                max.min(self.limits.max_upload_bytes)
            });
        Ok((profile_id, store, limit))
    }

    /// The type the leading bytes sniff as, when uploads may have it.
    pub(crate) fn allowed_type(&self, head: &[u8]) -> Result<&'static str> {
        let content_type = imaging::sniff(head);
        if self
            .limits
            .allowed_content_types
            .iter()
            .any(|t| t == content_type)
        {
            Ok(content_type)
        } else {
            Err(Error::AssetContentTypeNotAllowed {
                detected: content_type.to_string(),
                allowed: self.limits.allowed_content_types.join(", "),
            })
        }
    }

    /// Checks the texts of an upload's metadata before any byte is sent.
    pub(crate) fn check_upload_texts(&self, metadata: &UploadMetadata) -> Result<()> {
        upload_texts(metadata).map(|_| ())
    }

    /// Records an asset from a whole file given as a stream (a completed
    /// resumable upload), with the same checks as an upload; with
    /// `expected_sha256`, a file with another checksum is refused. Nothing
    /// is kept on any error.
    pub(crate) async fn upload_whole<S>(
        &self,
        principal: &Principal,
        metadata: UploadMetadata,
        body: S,
        expected_sha256: Option<&str>,
    ) -> Result<AssetDetails>
    where
        S: Stream<Item = Result<Bytes>> + Send + Unpin,
    {
        let staged = self.stage(principal, &metadata, body).await?;
        if let Some(expected) = expected_sha256.filter(|e| *e != staged.checksum_sha256) {
            let actual = staged.checksum_sha256.clone();
            staged.discard().await;
            return Err(Error::UploadChecksumMismatch {
                expected: expected.to_string(),
                actual,
            });
        }
        self.commit(principal, staged, metadata).await
    }

    /// The store an upload may write to: the default (or, with none, the
    /// `local` profile), or an enabled profile that can be written to.
    async fn writable_store(
        &self,
        profile_id: Option<&str>,
    ) -> Result<(String, Arc<dyn BlobStore>)> {
        let id = match profile_id.map(str::trim).filter(|id| !id.is_empty()) {
            None => self.profiles.default_id().await?,
            Some(id) => self.profiles.writable(id).await?,
        };
        let store = self.profiles.store(&id).await?;
        Ok((id, store))
    }
}
