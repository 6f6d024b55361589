//! Serving an asset's bytes: to its callers, and anonymously by storage key.

use tracing::{instrument, warn};

use super::AssetService;
use crate::{
    domain::{
        AssetStatus, ContentRequest, Delivery, Derivative, Permission, Principal, RangeRequest,
    },
    error::{Error, Result},
    storage::{BlobStore, ByteRange, ByteStream},
};

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

impl AssetService {
    /// The original or one of its derivatives, as the bytes or (when the
    /// request allows it) as the public URL of a public, `ready` asset.
    #[instrument(skip_all, fields(asset_id = %id))]
    pub async fn content(
        &self,
        principal: &Principal,
        id: &str,
        request: ContentRequest,
    ) -> Result<Content> {
        principal.require(Permission::AssetsRead)?;
        let asset = self.load(id).await?;
        let (key, content_type, checksum) = match &request.derivative_kind {
            None => (
                asset.storage_key.clone(),
                asset.content_type.clone(),
                Some(asset.checksum_sha256.clone()),
            ),
            Some(kind) => {
                let derivatives = self.db.derivatives(asset.id).await?;
                let derivative =
                    pick_derivative(derivatives, kind).ok_or(Error::ContentNotFound)?;
                (derivative.storage_key, derivative.content_type, None)
            }
        };
        let store = self.profiles.store(&asset.storage_profile_id).await?;
        if request.delivery == Delivery::LinkWhenPublic
            && asset.is_public
            && asset.status == AssetStatus::Ready
            && let Some(url) = store.public_url(&key)
        {
            return Ok(Content::Redirect(url));
        }
        let body = open(&*store, &key, request.range, content_type, checksum).await?;
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
            .profiles
            .store(&found.storage_profile_id)
            .await
            .map_err(for_anonymous)?;
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
}

/// The derivative of `kind`; plain `thumbnail` names the asset's preview
/// (the default `thumbnail_256`, else its smallest thumbnail), so a client
/// showing a list needs no derivative names it has not fetched.
fn pick_derivative(derivatives: Vec<Derivative>, kind: &str) -> Option<Derivative> {
    const PREVIEW: &str = "thumbnail";
    const DEFAULT_PREVIEW: &str = "thumbnail_256";
    let mut thumbnails = Vec::new();
    for derivative in derivatives {
        if derivative.kind == kind {
            return Some(derivative);
        }
        if kind == PREVIEW && derivative.kind.starts_with("thumbnail_") {
            thumbnails.push(derivative);
        }
    }
    if let Some(index) = thumbnails.iter().position(|d| d.kind == DEFAULT_PREVIEW) {
        return Some(thumbnails.swap_remove(index));
    }
    thumbnails.into_iter().min_by_key(|d| d.size)
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
