use std::{collections::HashSet, sync::Arc};

use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream, stream::BoxStream};
use sha2::{Digest, Sha256};
use tracing::{instrument, warn};
use uuid::Uuid;

use std::time::Duration;

use tokio::sync::broadcast;

use super::{AssetEvent, AssetEvents};
use crate::{
    db::{AssetUpdate, Db, NewJob},
    domain::{
        Asset, AssetDetails, AssetPatch, AssetStatus, BatchDeleteOutcome, DeletedAsset, ListParams,
        ListQuery, MAX_TEXT_LEN, Page, Permission, Principal, RangeRequest, UploadMetadata,
        UsageStats, now, parse_asset_id,
    },
    error::{Error, Result},
    imaging,
    jobs::{JobSignal, PROCESS_ASSET},
    service::StorageProfileService,
    storage::{BlobStore, ByteRange, ByteStream, StorageRegistry, original_key},
};

/// Longest `originalFileName`, in characters.
pub const MAX_FILE_NAME_LEN: usize = 255;
/// Most ids one batch delete takes.
pub const MAX_BATCH_DELETE: usize = 1000;
/// Leading bytes kept in memory during an upload to read the image header.
const PROBE_LEN: usize = 256 * 1024;

/// Limits the asset rules need, taken from the configuration.
#[derive(Clone, Debug)]
pub struct AssetLimits {
    pub max_upload_bytes: u64,
    pub allowed_content_types: Vec<String>,
    pub default_page_size: u32,
    pub max_page_size: u32,
}

/// Bytes ready to serve, with what HTTP and gRPC need to describe them.
pub struct ContentBody {
    pub content_type: String,
    /// Size of the whole object (not of the range).
    pub total_size: u64,
    pub range: Option<ByteRange>,
    /// SHA-256 of the whole object, when known.
    pub checksum_sha256: Option<String>,
    pub body: ByteStream<'static>,
}

pub enum Content {
    /// Public assets are fetched from their public URL.
    Redirect(String),
    Bytes(ContentBody),
}

/// An uploaded file already in storage but not yet recorded. Dropping it
/// without `commit_upload` deletes the stored object, so a failed upload
/// never leaves an orphan file.
pub struct StagedUpload {
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
    pub async fn discard(mut self) {
        self.committed = true;
        if let Err(err) = self.store.delete(&self.storage_key, None).await {
            warn!(key = %self.storage_key, error = %err, "could not remove the file of a failed upload");
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

/// The rules for assets, shared by REST and gRPC.
#[derive(Clone)]
pub struct AssetService {
    db: Db,
    storage: StorageRegistry,
    profiles: StorageProfileService,
    limits: Arc<AssetLimits>,
    events: AssetEvents,
    jobs: JobSignal,
}

impl AssetService {
    pub fn new(
        db: Db,
        storage: StorageRegistry,
        profiles: StorageProfileService,
        limits: AssetLimits,
        events: AssetEvents,
        jobs: JobSignal,
    ) -> Self {
        AssetService {
            db,
            storage,
            profiles,
            limits: Arc::new(limits),
            events,
            jobs,
        }
    }

    pub fn limits(&self) -> &AssetLimits {
        &self.limits
    }

    /// Streams an upload into storage while hashing it, sniffing its type from
    /// the first bytes and enforcing the size limit. Nothing is recorded yet.
    /// `metadata` holds what the client sent before the file: the profile,
    /// the commit message, and the visibility when already known.
    #[instrument(skip_all, fields(profile = ?metadata.storage_profile_id))]
    pub async fn stage_upload<S>(
        &self,
        principal: &Principal,
        metadata: &UploadMetadata,
        body: S,
    ) -> Result<StagedUpload>
    where
        S: Stream<Item = Result<Bytes>> + Send + Unpin,
    {
        principal.require(Permission::AssetsCreate)?;
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
        let head_bytes = head.concat();
        let content_type = imaging::sniff(&head_bytes);
        if !self
            .limits
            .allowed_content_types
            .iter()
            .any(|t| t == content_type)
        {
            return Err(Error::AssetContentTypeNotAllowed {
                detected: content_type.to_string(),
                allowed: self.limits.allowed_content_types.join(", "),
            });
        }

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
    pub async fn commit_upload(
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
            kind: "image".into(),
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
            storage_provider: staged.store.provider_type().into(),
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
            asset: self.present(asset),
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

    /// The store an upload may write to: the default, or an enabled profile.
    async fn writable_store(
        &self,
        profile_id: Option<&str>,
    ) -> Result<(String, Arc<dyn BlobStore>)> {
        let id = match profile_id.map(str::trim).filter(|id| !id.is_empty()) {
            None => self.profiles.default_id().await?,
            Some(id) => {
                let record = self
                    .db
                    .storage_profile(id)
                    .await?
                    .ok_or_else(|| Error::StorageProfileNotFound(id.to_string()))?;
                if record.is_enabled == 0 {
                    return Err(Error::StorageProfileDisabled(id.to_string()));
                }
                record.id
            }
        };
        let store = self.profiles.store(&id).await?;
        Ok((id, store))
    }

    /// Adds what only the backend knows (the public URL) to an asset.
    fn present(&self, mut asset: Asset) -> Asset {
        asset.public_url = asset
            .is_public
            .then(|| self.storage.store(&asset.storage_profile_id))
            .flatten()
            .map(|store| store.public_url(&asset.storage_key));
        asset
    }

    /// The asset with its derivatives, results and latest execution.
    pub async fn details(&self, asset: Asset) -> Result<AssetDetails> {
        // Independent reads: on PostgreSQL their round trips overlap.
        let (mut derivatives, structured_results, latest_execution) = tokio::try_join!(
            self.db.derivatives(asset.id),
            self.db.structured_results(asset.id),
            self.db.latest_execution(asset.id),
        )?;
        if asset.is_public
            && let Some(store) = self.storage.store(&asset.storage_profile_id)
        {
            for derivative in &mut derivatives {
                derivative.public_url = Some(store.public_url(&derivative.storage_key));
            }
        }
        Ok(AssetDetails {
            asset: self.present(asset),
            derivatives,
            structured_results,
            latest_execution,
        })
    }

    pub(super) async fn load(&self, id: &str) -> Result<Asset> {
        let uuid = parse_asset_id(id)?;
        self.db
            .get_asset(uuid)
            .await?
            .ok_or_else(|| Error::AssetNotFound(id.to_string()))
    }

    #[instrument(skip_all, fields(asset_id = %id))]
    pub async fn get(&self, principal: &Principal, id: &str) -> Result<AssetDetails> {
        principal.require(Permission::AssetsRead)?;
        let asset = self.load(id).await?;
        self.details(asset).await
    }

    #[instrument(skip_all)]
    pub async fn list(&self, principal: &Principal, params: ListParams) -> Result<Page<Asset>> {
        principal.require(Permission::AssetsRead)?;
        self.list_matching(params, false).await
    }

    /// The anonymous gallery: only `ready`, public assets, whatever the caller.
    #[instrument(skip_all)]
    pub async fn list_public(&self, params: ListParams) -> Result<Page<Asset>> {
        let params = ListParams {
            status: Some(AssetStatus::Ready),
            ..params
        };
        self.list_matching(params, true).await
    }

    /// One gallery asset; private or unfinished ones do not exist here.
    #[instrument(skip_all, fields(asset_id = %id))]
    pub async fn get_public(&self, id: &str) -> Result<AssetDetails> {
        let asset = self.load(id).await?;
        if !asset.is_public || asset.status != AssetStatus::Ready {
            return Err(Error::AssetNotFound(id.to_string()));
        }
        self.details(asset).await
    }

    async fn list_matching(&self, params: ListParams, public_only: bool) -> Result<Page<Asset>> {
        let page = match params.page {
            None => 1,
            Some(page) => u32::try_from(page)
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| Error::InvalidPage(page.to_string()))?,
        };
        let page_size = match params.page_size {
            None => self.limits.default_page_size,
            Some(size) if size < 1 => return Err(Error::InvalidPageSize(size.to_string())),
            Some(size) => u32::try_from(size)
                .unwrap_or(u32::MAX)
                .min(self.limits.max_page_size),
        };
        let query = ListQuery {
            public_only,
            page,
            page_size,
            query: params
                .query
                .map(|q| q.trim().to_string())
                .filter(|q| !q.is_empty()),
            content_type: params.content_type,
            status: params.status,
            order_by: params.order_by,
            direction: params.direction,
        };
        let (items, total) = self.db.list_assets(&query).await?;
        Ok(Page {
            items: items.into_iter().map(|a| self.present(a)).collect(),
            page,
            page_size,
            total,
        })
    }

    #[instrument(skip_all, fields(asset_id = %id))]
    pub async fn update(
        &self,
        principal: &Principal,
        id: &str,
        patch: AssetPatch,
    ) -> Result<AssetDetails> {
        principal.require(Permission::AssetsUpdate)?;
        let uuid = parse_asset_id(id)?;
        let too_long_description = || Error::AssetDescriptionTooLong { max: MAX_TEXT_LEN };
        let too_long_alt_text = || Error::AssetAltTextTooLong { max: MAX_TEXT_LEN };
        let description = patch
            .description
            .map(|d| clean_text(d, too_long_description))
            .transpose()?;
        let alt_text = patch
            .alt_text
            .map(|a| clean_text(a, too_long_alt_text))
            .transpose()?;
        let original_file_name = patch
            .original_file_name
            .map(|name| name.as_deref().map(patched_file_name).transpose())
            .transpose()?;
        if patch.is_public == Some(false)
            && let Some(asset) = self.db.get_asset(uuid).await?
            && !self
                .profiles
                .store(&asset.storage_profile_id)
                .await?
                .allows_private()
        {
            return Err(Error::StorageProfilePublicOnly(asset.storage_profile_id));
        }
        let update = AssetUpdate {
            description: description.as_ref().map(Option::as_deref),
            alt_text: alt_text.as_ref().map(Option::as_deref),
            original_file_name: original_file_name.as_ref().map(Option::as_deref),
            is_public: patch.is_public,
        };
        let asset = self
            .db
            .update_asset(uuid, &update, now())
            .await?
            .ok_or_else(|| Error::AssetNotFound(id.to_string()))?;
        self.events.changed(&asset);
        self.details(asset).await
    }

    /// Removes the row and everything attached, then the stored files. A file
    /// that cannot be removed is logged; the asset is gone either way.
    #[instrument(skip_all, fields(asset_id = %id))]
    pub async fn delete(
        &self,
        principal: &Principal,
        id: &str,
        commit_message: Option<&str>,
    ) -> Result<DeletedAsset> {
        principal.require(Permission::AssetsDelete)?;
        let uuid = parse_asset_id(id)?;
        self.delete_one(uuid, commit_message)
            .await?
            .ok_or_else(|| Error::AssetNotFound(id.to_string()))
    }

    async fn delete_one(
        &self,
        id: Uuid,
        commit_message: Option<&str>,
    ) -> Result<Option<DeletedAsset>> {
        let Some((asset, derivative_keys)) = self.db.delete_asset(id).await? else {
            return Ok(None);
        };
        match self.profiles.store(&asset.storage_profile_id).await {
            Ok(store) => {
                for key in std::iter::once(&asset.storage_key).chain(&derivative_keys) {
                    if let Err(err) = store.delete(key, commit_message).await {
                        warn!(%key, error = %err, "could not remove a deleted asset's file");
                    }
                }
            }
            Err(err) => warn!(error = %err, "could not remove a deleted asset's files"),
        }
        self.events.deleted(id);
        Ok(Some(DeletedAsset {
            id,
            status: asset.status,
            deleted_at: now(),
        }))
    }

    /// Deletes what exists and reports the rest; ids that are not UUIDs
    /// cannot exist and are reported as not found.
    #[instrument(skip_all, fields(count = ids.len()))]
    pub async fn batch_delete(
        &self,
        principal: &Principal,
        ids: Vec<String>,
    ) -> Result<BatchDeleteOutcome> {
        principal.require(Permission::AssetsDelete)?;
        if ids.len() > MAX_BATCH_DELETE {
            return Err(Error::AssetBatchTooLarge {
                max: MAX_BATCH_DELETE,
            });
        }
        let mut seen = HashSet::new();
        let unique: Vec<String> = ids
            .into_iter()
            .filter(|id| seen.insert(id.clone()))
            .collect();
        let mut outcome = BatchDeleteOutcome {
            requested_count: u32::try_from(unique.len()).unwrap_or(u32::MAX),
            ..Default::default()
        };
        for id in unique {
            let deleted = match parse_asset_id(&id) {
                Ok(uuid) => self.delete_one(uuid, None).await?.is_some(),
                Err(_) => false,
            };
            if deleted {
                outcome.deleted_count += 1;
            } else {
                outcome.not_found_ids.push(id);
            }
        }
        Ok(outcome)
    }

    /// The original's bytes. With `redirect_public`, public assets that are
    /// `ready` answer with their public URL instead (REST; anonymous content
    /// is served only then); gRPC always streams.
    #[instrument(skip_all, fields(asset_id = %id))]
    pub async fn content(
        &self,
        principal: &Principal,
        id: &str,
        range: Option<RangeRequest>,
        redirect_public: bool,
    ) -> Result<Content> {
        principal.require(Permission::AssetsRead)?;
        let asset = self.present(self.load(id).await?);
        if redirect_public
            && asset.status == AssetStatus::Ready
            && let Some(url) = asset.public_url
        {
            return Ok(Content::Redirect(url));
        }
        let store = self.profiles.store(&asset.storage_profile_id).await?;
        let body = open(
            &*store,
            &asset.storage_key,
            range,
            asset.content_type,
            Some(asset.checksum_sha256),
        )
        .await?;
        Ok(Content::Bytes(body))
    }

    /// Anonymous reads by storage key: only public assets and their derivatives.
    #[instrument(skip_all)]
    pub async fn public_content(
        &self,
        storage_key: &str,
        range: Option<RangeRequest>,
    ) -> Result<ContentBody> {
        let found = self
            .db
            .find_public_content(storage_key)
            .await?
            .ok_or(Error::ContentNotFound)?;
        let store = self
            .storage
            .store(&found.storage_profile_id)
            .ok_or(Error::ContentNotFound)?;
        open(
            &*store,
            storage_key,
            range,
            found.content_type,
            found.checksum_sha256,
        )
        .await
        .map_err(for_anonymous)
    }

    #[instrument(skip_all)]
    pub async fn usage_stats(&self, principal: &Principal) -> Result<UsageStats> {
        principal.require(Permission::AssetsRead)?;
        let mut stats = self.db.usage_stats().await?;
        stats.most_active_skill = self.db.most_active_skill().await?;
        Ok(stats)
    }

    /// The asset now, then again at each status change, ending once it is
    /// `ready` or `failed`. Changes made in this process arrive at once with
    /// the asset as it was then; other instances' are seen by polling.
    #[instrument(skip_all, fields(asset_id = %id))]
    pub async fn watch(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<BoxStream<'static, Result<AssetDetails>>> {
        principal.require(Permission::AssetsRead)?;
        let events = self.events.subscribe();
        let first = self.details(self.load(id).await?).await?;
        let id = first.asset.id;
        // Updates are made after this call returns: links keep the caller's origin.
        let origin = crate::storage::request_origin();
        let state = WatchState {
            service: self.clone(),
            events,
            last: first.asset.status,
            finished: first.asset.status.is_settled(),
            origin,
        };
        let rest = stream::unfold(state, move |mut state| async move {
            if state.finished {
                return None;
            }
            let asset = state.next_change(id).await;
            state.finished = asset.as_ref().map_or(true, |a| a.status.is_settled());
            let details = match asset {
                Ok(asset) => {
                    let details = state.service.details(asset);
                    crate::storage::with_request_origin(state.origin.clone(), details).await
                }
                Err(err) => Err(err),
            };
            Some((details, state))
        });
        Ok(stream::once(async move { Ok(first) }).chain(rest).boxed())
    }
}

struct WatchState {
    service: AssetService,
    events: broadcast::Receiver<AssetEvent>,
    last: AssetStatus,
    finished: bool,
    /// The watcher's request origin, for the links in each update.
    origin: Option<std::sync::Arc<str>>,
}

/// How often a watch re-reads the asset to see other instances' changes.
const WATCH_POLL: Duration = Duration::from_secs(1);

impl WatchState {
    /// Waits for the asset's next status change.
    async fn next_change(&mut self, id: Uuid) -> Result<Asset> {
        loop {
            let seen = tokio::select! {
                event = self.events.recv() => match event {
                    Ok(AssetEvent { id: changed, .. }) if changed != id => continue,
                    Ok(AssetEvent { asset: Some(asset), .. }) => Some(asset),
                    Ok(AssetEvent { asset: None, .. }) => return Err(Error::AssetNotFound(id.to_string())),
                    Err(broadcast::error::RecvError::Lagged(_)) => None,
                    Err(broadcast::error::RecvError::Closed) => return Err(Error::internal("watch", "event channel closed")),
                },
                () = tokio::time::sleep(WATCH_POLL) => None,
            };
            let asset = match seen {
                Some(asset) => asset,
                None => self
                    .service
                    .db
                    .get_asset(id)
                    .await?
                    .ok_or_else(|| Error::AssetNotFound(id.to_string()))?,
            };
            if asset.status != self.last {
                self.last = asset.status;
                return Ok(self.service.present(asset));
            }
        }
    }
}

async fn open(
    store: &dyn BlobStore,
    key: &str,
    range: Option<RangeRequest>,
    content_type: String,
    checksum_sha256: Option<String>,
) -> Result<ContentBody> {
    let range = match range {
        None => None,
        Some(range) => {
            let size = store.head(key).await.map_err(Error::from)?;
            Some(range.resolve(size)?)
        }
    };
    let read = store.get(key, range).await.map_err(Error::from)?;
    Ok(ContentBody {
        content_type,
        total_size: read.size,
        range,
        checksum_sha256,
        body: read.body,
    })
}

/// The upload's description and alt text, validated.
fn upload_texts(metadata: &UploadMetadata) -> Result<(Option<String>, Option<String>)> {
    let description = clean_text(metadata.description.clone(), || {
        Error::AssetDescriptionTooLong { max: MAX_TEXT_LEN }
    })?;
    let alt_text = clean_text(metadata.alt_text.clone(), || Error::AssetAltTextTooLong {
        max: MAX_TEXT_LEN,
    })?;
    Ok((description, alt_text))
}

/// Trims text; blank becomes `None`; too long is an error.
fn clean_text(value: Option<String>, too_long: impl FnOnce() -> Error) -> Result<Option<String>> {
    let Some(text) = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    if text.chars().count() > MAX_TEXT_LEN {
        return Err(too_long());
    }
    Ok(Some(text))
}

/// The display name of an upload: the last path segment of what the client
/// sent, without control characters, shortened to the limit. Never used in keys.
fn upload_file_name(name: Option<&str>, extension: &str) -> String {
    let name = name.unwrap_or_default();
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILE_NAME_LEN)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        format!("upload.{extension}")
    } else {
        cleaned.to_string()
    }
}

/// A renamed file: unlike uploads, a bad name is refused rather than
/// repaired (clearing the name is a `null`, not a blank).
fn patched_file_name(name: &str) -> Result<String> {
    let invalid = || Error::AssetOriginalFileNameInvalid {
        max: MAX_FILE_NAME_LEN,
    };
    let name = Some(name.trim())
        .filter(|n| !n.is_empty())
        .ok_or_else(invalid)?;
    if name.chars().count() > MAX_FILE_NAME_LEN || name.chars().any(char::is_control) {
        return Err(invalid());
    }
    Ok(name.to_string())
}

/// Anonymous readers learn that the bytes cannot be had, never why: a
/// backend's refusal (its credentials, its target) is the operator's
/// business and stays in the log.
fn for_anonymous(err: Error) -> Error {
    match err {
        Error::StorageAuthFailed(detail)
        | Error::StorageTargetNotFound(detail)
        | Error::StorageConflict(detail)
        | Error::StorageRejected(detail) => {
            warn!(%detail, "anonymous content read refused by storage");
            Error::StorageUnavailable("the storage backend did not accept the request".into())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names_keep_only_a_clean_last_segment() {
        assert_eq!(upload_file_name(Some("../../etc/passwd"), "png"), "passwd");
        assert_eq!(
            upload_file_name(Some("C:\\photos\\cat.jpg"), "jpg"),
            "cat.jpg"
        );
        assert_eq!(upload_file_name(Some("a\u{0}b.png"), "png"), "ab.png");
        assert_eq!(upload_file_name(None, "gif"), "upload.gif");
        assert_eq!(
            upload_file_name(Some(&"x".repeat(400)), "png").len(),
            MAX_FILE_NAME_LEN
        );
    }

    #[test]
    fn patched_names_are_refused_when_blank_or_odd() {
        assert!(patched_file_name("").is_err());
        assert!(patched_file_name("  ").is_err());
        assert!(patched_file_name("a\nb").is_err());
        assert_eq!(
            patched_file_name(" cat.png ").ok().as_deref(),
            Some("cat.png")
        );
    }
}
