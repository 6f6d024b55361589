//! Bytes live behind the `BlobStore` trait. Stores receive keys chosen by
//! tessera (never user input) and keep error meanings the same across backends.

mod github;
mod instrumented;
mod local;
mod public_base;
mod s3;

pub use github::{
    DEFAULT_COMMIT_MESSAGE_TEMPLATE, GITHUB_MAX_FILE_BYTES, GitHubSettings, GitHubStore,
    RepositoryContents, RepositoryEntry, UpsertOutcome,
};
pub use local::LocalStore;
pub use public_base::{PublicBase, request_origin, with_request_origin};
pub use s3::{S3Settings, S3Store};

use crate::domain::ProviderType;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Datelike, Utc};
use futures_util::stream::BoxStream;
use uuid::Uuid;

/// A stream of body chunks; the error type lets producers abort a write.
pub type ByteStream<'a> = BoxStream<'a, std::io::Result<Bytes>>;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object not found")]
    NotFound,
    #[error("invalid storage key '{0}'")]
    InvalidKey(String),
    /// The body stream failed (client went away, limit exceeded): nothing was stored.
    #[error("upload aborted: {0}")]
    Aborted(std::io::Error),
    #[error("storage backend unavailable: {0}")]
    Unavailable(String),
    /// The backend refused tessera's credentials (HTTP 401/403).
    #[error("storage backend refused the credentials: {0}")]
    Unauthorized(String),
    /// The repository, bucket or branch does not exist or is not visible.
    #[error("storage target not found: {0}")]
    TargetNotFound(String),
    /// Someone else changed the object at the same moment.
    #[error("storage write conflict: {0}")]
    Conflict(String),
    /// The backend refused the request as invalid (for example a protected branch).
    #[error("storage backend rejected the request: {0}")]
    Rejected(String),
    #[error("storage backend rate limit reached")]
    RateLimited { retry_after_seconds: Option<u64> },
    /// The object is larger than the backend accepts.
    #[error("object larger than the backend's limit of {limit} bytes")]
    TooLarge { limit: u64 },
}

impl StorageError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, StorageError::NotFound)
    }

    /// A short stable name for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            StorageError::NotFound => "not_found",
            StorageError::InvalidKey(_) => "invalid_key",
            StorageError::Aborted(_) => "aborted",
            StorageError::Unavailable(_) => "unavailable",
            StorageError::Unauthorized(_) => "unauthorized",
            StorageError::TargetNotFound(_) => "target_not_found",
            StorageError::Conflict(_) => "conflict",
            StorageError::Rejected(_) => "rejected",
            StorageError::RateLimited { .. } => "rate_limited",
            StorageError::TooLarge { .. } => "too_large",
        }
    }
}

/// An inclusive byte range `start..=end`, already validated against the size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    /// Number of bytes in the range (never zero: ranges are inclusive).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }
}

/// An object found by listing (for the orphan sweep).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    /// When it was last written, when the backend says.
    pub modified: Option<DateTime<Utc>>,
}

/// An opened object: its total size and a stream of the requested bytes.
pub struct BlobRead {
    pub size: u64,
    pub body: ByteStream<'static>,
}

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// The provider type recorded on assets (`local`, `s3`, `github-repo`).
    fn provider_type(&self) -> ProviderType;

    /// Stores the whole stream under `key`; readers never see a partial object.
    /// `message` is recorded by backends that keep history (a Git commit).
    async fn put(
        &self,
        key: &str,
        body: ByteStream<'_>,
        message: Option<&str>,
    ) -> Result<u64, StorageError>;

    async fn get(&self, key: &str, range: Option<ByteRange>) -> Result<BlobRead, StorageError>;

    /// Size of the object.
    async fn head(&self, key: &str) -> Result<u64, StorageError>;

    /// Idempotent: deleting a missing object succeeds.
    async fn delete(&self, key: &str, message: Option<&str>) -> Result<(), StorageError>;

    /// Where anyone may fetch a public object without credentials; `None`
    /// when the backend has no such URL (a private GitHub repository), so
    /// the object is served through tessera instead.
    fn public_url(&self, key: &str) -> Option<String>;

    /// The largest object the backend accepts, when it has a limit.
    fn max_object_bytes(&self) -> Option<u64> {
        None
    }

    /// Whether private assets may live here (a public repository may not hold them).
    fn allows_private(&self) -> bool {
        true
    }

    /// Whether the chunks of a resumable upload may be staged here (a Git
    /// repository would take a commit per chunk; those go to local disk).
    fn stages_uploads(&self) -> bool {
        true
    }

    /// Readiness probe.
    async fn check(&self) -> Result<(), StorageError>;

    /// Every object whose key starts with `prefix`, for the orphan sweep;
    /// `None` when the backend cannot list.
    async fn list(&self, _prefix: &str) -> Result<Option<Vec<ListedObject>>, StorageError> {
        Ok(None)
    }

    /// Removes what crashed writes left in the backend's staging area
    /// (partial files) when last touched before `before`; how many went.
    async fn sweep_staging(&self, _before: DateTime<Utc>) -> Result<u64, StorageError> {
        Ok(0)
    }
}

/// How the layers below the service find a storage profile's backend.
/// Profiles are created, changed and removed while the server runs, on any
/// instance, so the answer comes from the profile service
/// (`service::StorageProfileService`), which implements this.
#[async_trait]
pub trait Stores: Send + Sync {
    /// The backend of a profile (loaded when another instance created it).
    async fn store(&self, profile_id: &str) -> crate::error::Result<Arc<dyn BlobStore>>;
}

/// Wraps a backend so its calls are measured (`tessera_storage_*`).
pub fn instrumented(store: Arc<dyn BlobStore>) -> Arc<dyn BlobStore> {
    Arc::new(instrumented::Instrumented(store))
}

/// `originals/YYYY/MM/DD/{id}.{ext}`: dated for easy browsing, unique by id.
pub fn original_key(id: Uuid, extension: &str, at: DateTime<Utc>) -> String {
    format!(
        "originals/{:04}/{:02}/{:02}/{id}.{extension}",
        at.year(),
        at.month(),
        at.day()
    )
}

/// A key is a relative path of safe segments; anything else is refused
/// before it reaches a backend.
pub fn validate_key(key: &str) -> Result<(), StorageError> {
    let ok = !key.is_empty()
        && key.len() <= 512
        && key.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        });
    if ok {
        Ok(())
    } else {
        Err(StorageError::InvalidKey(key.chars().take(80).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_traversal_or_odd_bytes_are_refused() {
        for bad in [
            "",
            "../etc/passwd",
            "a//b",
            "/abs",
            "a/./b",
            "a/b\\c",
            "a/b c",
            "a/\0",
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
        assert!(validate_key("originals/2026/11/28/0190-ab.jpg").is_ok());
    }
}
