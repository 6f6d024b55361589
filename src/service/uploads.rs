//! Resumable uploads, one mechanism behind gRPC's `UploadService` and tus:
//! the state lives in the database and the bytes are staged as chunk
//! objects in the storage layer (the target profile's store, or local disk
//! for a Git repository), so any instance can take the next chunk and no
//! chunk is ever held whole in memory. Completing streams the chunks, in
//! order, through the same checks as an upload and records the asset.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt, stream};
use tracing::{info, instrument, warn};
use uuid::Uuid;

use super::{AssetService, StorageProfileService};
use crate::{
    db::Db,
    domain::{
        AssetDetails, NewUpload, Permission, Principal, Upload, UploadChunk, UploadState, now,
    },
    error::{Error, Result},
    imaging,
    storage::{BlobStore, ByteRange},
};

/// The largest chunk one append takes (a gRPC message stays under 4 MiB of
/// payload; tus chunks are streamed, so they may be larger).
pub const MAX_GRPC_CHUNK_BYTES: u64 = 4 * 1024 * 1024;

/// Uploads removed per sweep, so one sweep stays short.
const SWEEP_BATCH: i64 = 100;

#[derive(Clone)]
pub struct UploadService {
    db: Db,
    assets: AssetService,
    profiles: StorageProfileService,
    expiry: Duration,
}

/// A chunk's bytes, ended early (not failed) when the client goes away, so
/// that what arrived is kept and the client resumes from there (tus).
pub enum ChunkEnd {
    /// A broken connection keeps the bytes received before it.
    KeepReceived,
    /// Any failure drops the whole chunk (a gRPC message arrives whole).
    AllOrNothing,
}

impl UploadService {
    pub fn new(
        db: Db,
        assets: AssetService,
        profiles: StorageProfileService,
        expiry: Duration,
    ) -> Self {
        UploadService {
            db,
            assets,
            profiles,
            expiry,
        }
    }

    /// Starts an upload. Everything that can be checked before a byte is
    /// sent is checked here: the size against the limit, the texts, the
    /// storage profile, the checksum's form.
    #[instrument(skip_all)]
    pub async fn create(&self, principal: &Principal, new: NewUpload) -> Result<Upload> {
        principal.require(Permission::AssetsCreate)?;
        let owner = principal.owner_key().ok_or(Error::Unauthorized)?;
        let size = new
            .size
            .filter(|s| *s > 0)
            .ok_or(Error::UploadSizeInvalid)?;
        let expected_sha256 = match new.expected_sha256.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(hex.to_ascii_lowercase())
            }
            Some(_) => return Err(Error::UploadChecksumInvalid),
        };
        self.assets.check_upload_texts(&new.metadata)?;
        let (profile_id, store, limit) = self.assets.upload_target(&new.metadata).await?;
        if size > limit {
            return Err(Error::AssetFileTooLarge { limit });
        }
        let staging_profile_id = if store.stages_uploads() {
            profile_id
        } else {
            self.profiles.local_id().to_string()
        };
        let at = now();
        let upload = Upload {
            id: Uuid::now_v7().to_string(),
            owner,
            size,
            offset: 0,
            metadata: new.metadata,
            expected_sha256,
            staging_profile_id,
            content_type: None,
            state: UploadState::Open,
            asset_id: None,
            created_at: at,
            updated_at: at,
            expires_at: at + chrono::Duration::from_std(self.expiry).unwrap_or_default(),
        };
        self.db.insert_upload(&upload).await?;
        Ok(upload)
    }

    /// The caller's upload; another caller's, or one past its expiry, does
    /// not exist for them.
    pub async fn get(&self, principal: &Principal, id: &str) -> Result<Upload> {
        principal.require(Permission::AssetsCreate)?;
        let owner = principal.owner_key().ok_or(Error::Unauthorized)?;
        match self.db.upload(id.trim()).await? {
            Some(upload) if upload.owner == owner && upload.expires_at > now() => Ok(upload),
            _ => Err(Error::UploadNotFound(id.to_string())),
        }
    }

    /// Adds the bytes of `body` at `offset`, which must be where the upload
    /// stands. The first bytes are sniffed as soon as they are in: a type
    /// uploads may not have ends the upload. Two appends at the same offset
    /// at once: one wins, the other gets `upload_offset_mismatch`.
    #[instrument(skip_all, fields(upload_id = %id, offset))]
    pub async fn append<S>(
        &self,
        principal: &Principal,
        id: &str,
        offset: u64,
        body: S,
        end: ChunkEnd,
    ) -> Result<Upload>
    where
        S: Stream<Item = Result<Bytes>> + Send + Unpin,
    {
        let upload = self.open_upload(principal, id).await?;
        if offset != upload.offset {
            return Err(Error::UploadOffsetMismatch {
                current: upload.offset,
            });
        }
        let store = self.profiles.store(&upload.staging_profile_id).await?;
        let key = format!(
            "uploads/{}/{offset:016}-{}",
            upload.id,
            Uuid::now_v7().simple()
        );
        let mut received = 0u64;
        let mut head = Vec::new();
        let mut failure: Option<Error> = None;
        let keep_received = matches!(end, ChunkEnd::KeepReceived);
        let size = upload.size;
        let chunks = body
            .map(|chunk| match chunk {
                Ok(chunk) => {
                    received += chunk.len() as u64;
                    if offset + received > size {
                        failure = Some(Error::UploadSizeExceeded {
                            end: offset + received,
                            size,
                        });
                        return Err(std::io::Error::other("past the declared size"));
                    }
                    if offset < imaging::SNIFF_LEN as u64 && head.len() < imaging::SNIFF_LEN {
                        let take = (imaging::SNIFF_LEN - head.len()).min(chunk.len());
                        head.extend_from_slice(&chunk[..take]);
                    }
                    Ok(chunk)
                }
                Err(err) => {
                    failure = Some(err);
                    Err(std::io::Error::other("upload stream failed"))
                }
            })
            // A broken connection ends the chunk where it broke.
            .take_while(|chunk| std::future::ready(chunk.is_ok() || !keep_received));
        let stored = store.put(&key, chunks.boxed(), None).await;
        if let Some(err) =
            failure.take_if(|err| !keep_received || matches!(err, Error::UploadSizeExceeded { .. }))
        {
            discard(&*store, &key).await;
            return Err(err);
        }
        stored.map_err(Error::from)?;
        if received == 0 {
            discard(&*store, &key).await;
            return Ok(upload);
        }
        let content_type = match &upload.content_type {
            Some(_) => None,
            None => {
                let in_hand = offset + received;
                if in_hand < (imaging::SNIFF_LEN as u64).min(size) {
                    None
                } else {
                    let mut leading = self.leading_bytes(&upload, &*store).await?;
                    leading.extend_from_slice(&head);
                    match self.assets.allowed_type(&leading) {
                        Ok(content_type) => Some(content_type),
                        Err(err) => {
                            discard(&*store, &key).await;
                            self.remove(&upload).await;
                            return Err(err);
                        }
                    }
                }
            }
        };
        let chunk = UploadChunk {
            offset,
            size: received,
            storage_key: key.clone(),
        };
        if !self
            .db
            .record_upload_chunk(&upload.id, &chunk, content_type, now())
            .await?
        {
            discard(&*store, &key).await;
            let current = self.get(principal, id).await?;
            return Err(match current.state {
                UploadState::Open => Error::UploadOffsetMismatch {
                    current: current.offset,
                },
                _ => Error::UploadBusy,
            });
        }
        self.get(principal, id).await
    }

    /// Turns a complete upload into an asset, exactly as an upload does. A
    /// repeated call (its answer lost) answers with the same asset.
    #[instrument(skip_all, fields(upload_id = %id))]
    pub async fn complete(&self, principal: &Principal, id: &str) -> Result<AssetDetails> {
        let upload = self.get(principal, id).await?;
        match upload.state {
            UploadState::Completed => {
                let asset_id = upload.asset_id.unwrap_or_default();
                return self.assets.get(principal, &asset_id).await;
            }
            UploadState::Completing => return Err(Error::UploadBusy),
            UploadState::Open if upload.offset < upload.size => {
                return Err(Error::UploadIncomplete {
                    offset: upload.offset,
                    size: upload.size,
                });
            }
            UploadState::Open => {}
        }
        if !self
            .db
            .move_upload(
                &upload.id,
                UploadState::Open,
                UploadState::Completing,
                None,
                now(),
            )
            .await?
        {
            return Err(Error::UploadBusy);
        }
        let store = self.profiles.store(&upload.staging_profile_id).await?;
        let chunks = self.db.upload_chunks(&upload.id).await?;
        let body = whole_file(store.clone(), chunks.clone());
        let made = self
            .assets
            .upload_whole(
                principal,
                upload.metadata.clone(),
                body,
                upload.expected_sha256.as_deref(),
            )
            .await;
        match made {
            Ok(details) => {
                let asset_id = details.asset.id.to_string();
                self.db
                    .move_upload(
                        &upload.id,
                        UploadState::Completing,
                        UploadState::Completed,
                        Some(&asset_id),
                        now(),
                    )
                    .await?;
                remove_chunks(&*store, &chunks).await;
                self.db.delete_upload_chunks(&upload.id).await?;
                Ok(details)
            }
            Err(err) if err.code().http_status().is_client_error() => {
                // The file itself is refused (type, checksum, limit): the
                // upload cannot become valid by resuming, so it ends.
                self.remove(&upload).await;
                Err(err)
            }
            Err(err) => {
                // Storage or database trouble: the client may complete again.
                self.db
                    .move_upload(
                        &upload.id,
                        UploadState::Completing,
                        UploadState::Open,
                        None,
                        now(),
                    )
                    .await?;
                Err(err)
            }
        }
    }

    /// Ends an upload and removes its staged bytes; a completed one's asset
    /// stays.
    pub async fn cancel(&self, principal: &Principal, id: &str) -> Result<()> {
        let upload = self.get(principal, id).await?;
        if upload.state == UploadState::Completing {
            return Err(Error::UploadBusy);
        }
        self.remove(&upload).await;
        Ok(())
    }

    /// How often to look for expired uploads: soon after they expire, but
    /// at most once a second and at least once a minute.
    pub fn sweep_interval(&self) -> Duration {
        (self.expiry / 2).clamp(Duration::from_secs(1), Duration::from_secs(60))
    }

    /// Removes expired uploads and their staged bytes (also chunks a crash
    /// left unrecorded, where the store can list them).
    pub async fn sweep(&self) {
        let expired = match self.db.expired_uploads(now(), SWEEP_BATCH).await {
            Ok(expired) => expired,
            Err(err) => {
                warn!(error = %err, "could not read expired uploads");
                return;
            }
        };
        for upload in &expired {
            self.remove(upload).await;
        }
        if !expired.is_empty() {
            info!(count = expired.len(), "expired uploads removed");
        }
    }

    async fn open_upload(&self, principal: &Principal, id: &str) -> Result<Upload> {
        let upload = self.get(principal, id).await?;
        match upload.state {
            UploadState::Open => Ok(upload),
            UploadState::Completing => Err(Error::UploadBusy),
            UploadState::Completed => Err(Error::UploadAlreadyCompleted(
                upload.asset_id.unwrap_or_default(),
            )),
        }
    }

    /// The file's bytes before the upload's offset, up to the sniffing
    /// length, read back from the staged chunks.
    async fn leading_bytes(&self, upload: &Upload, store: &dyn BlobStore) -> Result<Vec<u8>> {
        let mut leading = Vec::new();
        for chunk in self.db.upload_chunks(&upload.id).await? {
            if leading.len() >= imaging::SNIFF_LEN || chunk.offset >= upload.offset {
                break;
            }
            let want = (imaging::SNIFF_LEN - leading.len()) as u64;
            let range = ByteRange {
                start: 0,
                end: want.min(chunk.size) - 1,
            };
            let read = store
                .get(&chunk.storage_key, Some(range))
                .await
                .map_err(Error::from)?;
            let bytes: Vec<Bytes> = read.body.try_collect().await.map_err(|e| {
                Error::StorageUnavailable(format!("reading a staged chunk failed: {e}"))
            })?;
            leading.extend(bytes.iter().flat_map(|b| b.iter().copied()));
        }
        Ok(leading)
    }

    /// Deletes an upload's staged bytes, then its row; failures are logged
    /// and the next sweep tries again (the row goes last).
    async fn remove(&self, upload: &Upload) {
        let removed = async {
            let chunks = self.db.upload_chunks(&upload.id).await?;
            if let Ok(store) = self.profiles.store(&upload.staging_profile_id).await {
                remove_chunks(&*store, &chunks).await;
                let prefix = format!("uploads/{}/", upload.id);
                if let Ok(Some(leftovers)) = store.list(&prefix).await {
                    for object in leftovers {
                        discard(&*store, &object.key).await;
                    }
                }
            }
            self.db.delete_upload(&upload.id).await
        }
        .await;
        if let Err(err) = removed {
            warn!(upload_id = %upload.id, error = %err, "could not remove an upload");
        }
    }
}

/// The staged chunks, in order, as one stream.
fn whole_file(
    store: Arc<dyn BlobStore>,
    chunks: Vec<UploadChunk>,
) -> impl Stream<Item = Result<Bytes>> + Send + Unpin {
    stream::iter(chunks)
        .then(move |chunk| {
            let store = store.clone();
            async move {
                let read = store
                    .get(&chunk.storage_key, None)
                    .await
                    .map_err(Error::from)?;
                Ok::<_, Error>(read.body.map_err(|e| {
                    Error::StorageUnavailable(format!("reading a staged chunk failed: {e}"))
                }))
            }
        })
        .try_flatten()
        .boxed()
}

async fn remove_chunks(store: &dyn BlobStore, chunks: &[UploadChunk]) {
    for chunk in chunks {
        discard(store, &chunk.storage_key).await;
    }
}

async fn discard(store: &dyn BlobStore, key: &str) {
    if let Err(err) = store.delete(key, None).await {
        warn!(%key, error = %err, "could not remove a staged upload chunk");
    }
}
