//! A GitHub repository as storage, through the contents API with octocrab.
//! Meant for small public image hosting: every write is a commit, files are
//! limited to 100 MB, and the API rate limit applies.

mod repository;

pub use repository::{RepositoryContents, RepositoryEntry, UpsertOutcome};

use crate::domain::ProviderType;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, TryStreamExt};
use http_body_util::BodyExt;
use octocrab::Octocrab;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::{BlobRead, BlobStore, ByteRange, ByteStream, ListedObject, StorageError, validate_key};

/// The contents API refuses files above 100 MB.
pub const GITHUB_MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

/// Commit message when neither the caller nor the profile gives one.
pub const DEFAULT_COMMIT_MESSAGE_TEMPLATE: &str = "tessera: {operation} {path}";

/// Times a write is retried when the branch moved under it (409).
const CONFLICT_RETRIES: u32 = 3;

/// Where the repository is and how tessera may use it.
#[derive(Clone, Debug)]
pub struct GitHubSettings {
    pub owner: String,
    pub repo: String,
    pub branch: String,
    /// Folder inside the repository, without slashes at either end; may be empty.
    pub base_path: String,
    pub token: String,
    pub api_base_url: String,
    pub raw_base_url: String,
    pub commit_message_template: String,
    /// `false` for `public-only`: private assets are refused.
    pub allows_private: bool,
}

pub struct GitHubStore {
    client: Octocrab,
    settings: GitHubSettings,
    /// Commits on one branch are serialised: parallel writes would only race
    /// each other into 409 conflicts. An upload takes it before buffering, so
    /// at most one file per profile is held in memory.
    writes: Mutex<()>,
}

/// What the contents API says about a file (JSON form).
#[derive(Deserialize)]
struct FileInfo {
    sha: String,
    size: u64,
}

#[derive(Serialize)]
struct PutFile<'a> {
    message: &'a str,
    content: &'a str,
    branch: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha: Option<&'a str>,
}

#[derive(Serialize)]
struct DeleteFile<'a> {
    message: &'a str,
    sha: &'a str,
    branch: &'a str,
}

impl GitHubStore {
    pub fn new(settings: GitHubSettings) -> Result<Self, StorageError> {
        let builder = Octocrab::builder()
            .base_uri(settings.api_base_url.as_str())
            .map_err(|e| StorageError::Unavailable(format!("apiBaseUrl: {e}")))?;
        // Without a token GitHub still answers reads of public repositories.
        let builder = if settings.token.is_empty() {
            builder
        } else {
            builder.personal_token(settings.token.clone())
        };
        let client = builder
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(120)))
            .build()
            .map_err(|e| StorageError::Unavailable(format!("GitHub client: {e}")))?;
        Ok(GitHubStore {
            client,
            settings,
            writes: Mutex::new(()),
        })
    }

    /// The file's path inside the repository.
    fn path(&self, key: &str) -> String {
        if self.settings.base_path.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.settings.base_path)
        }
    }

    /// The contents API address of `path`, each segment percent-encoded (a
    /// browsed folder may hold any name); the repository root without a slash.
    fn contents_route(&self, path: &str) -> String {
        let mut route = format!(
            "/repos/{}/{}/contents",
            self.settings.owner, self.settings.repo
        );
        let Ok(mut url) = reqwest::Url::parse("http://encode.invalid/") else {
            return route;
        };
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .clear()
                .extend(path.split('/').filter(|s| !s.is_empty()));
        }
        if url.path() != "/" {
            route.push_str(url.path());
        }
        route
    }

    /// An explicit message, else the template with `{path}` relative to the
    /// base path (NekoHub's rule: `create images/new.png`, not the full path).
    fn commit_message(&self, operation: &str, full_path: &str, message: Option<&str>) -> String {
        if let Some(message) = message.map(str::trim).filter(|m| !m.is_empty()) {
            return message.to_string();
        }
        let base = &self.settings.base_path;
        let path = full_path
            .strip_prefix(base.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|_| !base.is_empty())
            .unwrap_or(full_path);
        let file_name = path.rsplit('/').next().unwrap_or(path);
        self.settings
            .commit_message_template
            .replace("{operation}", operation)
            .replace("{path}", path)
            .replace("{fileName}", file_name)
    }

    /// The file's blob sha and size, `None` when it does not exist.
    async fn file_info(&self, path: &str) -> Result<Option<FileInfo>, StorageError> {
        let params = [("ref", self.settings.branch.as_str())];
        match self
            .client
            .get::<FileInfo, _, _>(self.contents_route(path), Some(&params))
            .await
        {
            Ok(info) => Ok(Some(info)),
            Err(err) if status_of(&err) == Some(404) => Ok(None),
            Err(err) => Err(classify(err)),
        }
    }

    /// Creates or replaces the file, retrying when the branch moved meanwhile.
    /// The caller holds `writes`.
    async fn write(
        &self,
        path: &str,
        content: &str,
        message: Option<&str>,
    ) -> Result<(), StorageError> {
        let mut existing: Option<String> = None;
        let mut attempt = 0;
        loop {
            let operation = if existing.is_some() {
                "update"
            } else {
                "upload"
            };
            let body = PutFile {
                message: &self.commit_message(operation, path, message),
                content,
                branch: &self.settings.branch,
                sha: existing.as_deref(),
            };
            let result = self
                .client
                .put::<serde_json::Value, _, _>(self.contents_route(path), Some(&body))
                .await;
            match result {
                Ok(_) => return Ok(()),
                // The file exists (a regenerated derivative): update it with its sha.
                Err(err) if status_of(&err) == Some(422) && existing.is_none() => {
                    match self.file_info(path).await? {
                        Some(info) => existing = Some(info.sha),
                        None => return Err(classify(err)),
                    }
                }
                Err(err) if status_of(&err) == Some(409) && attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                    existing = self.file_info(path).await?.map(|info| info.sha);
                }
                Err(err) => return Err(classify(err)),
            }
        }
    }
}

/// The HTTP status GitHub answered with, if it answered.
fn status_of(err: &octocrab::Error) -> Option<u16> {
    match err {
        octocrab::Error::GitHub { source, .. } => Some(source.status_code.as_u16()),
        _ => None,
    }
}

/// GitHub's answers, turned into errors that mean the same on every backend.
fn classify(err: octocrab::Error) -> StorageError {
    let octocrab::Error::GitHub { source, .. } = &err else {
        let detail: String = err.to_string().chars().take(300).collect();
        return StorageError::Unavailable(detail);
    };
    let header = |name: &str| {
        source
            .headers
            .as_ref()
            .and_then(|h| h.get(name))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let message = source.message.chars().take(300).collect::<String>();
    let rate_limited = source.status_code.as_u16() == 429
        || (source.status_code.as_u16() == 403
            && (header("x-ratelimit-remaining") == Some(0)
                || header("retry-after").is_some()
                || message.to_ascii_lowercase().contains("rate limit")));
    if rate_limited {
        let retry_after = header("retry-after").or_else(|| {
            source
                .rate_limit_reset
                .or_else(|| header("x-ratelimit-reset"))
                .map(|reset| {
                    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default();
                    reset.saturating_sub(now).max(1)
                })
        });
        return StorageError::RateLimited {
            retry_after_seconds: retry_after,
        };
    }
    match source.status_code.as_u16() {
        401 | 403 => StorageError::Unauthorized(message),
        404 => StorageError::TargetNotFound(message),
        409 => StorageError::Conflict(message),
        422 => StorageError::Rejected(message),
        _ => {
            StorageError::Unavailable(format!("GitHub answered {}: {message}", source.status_code))
        }
    }
}

/// Skips to `range.start` and stops after `range.len()` bytes.
fn slice(body: ByteStream<'static>, range: ByteRange) -> ByteStream<'static> {
    let mut skip = range.start;
    let mut remaining = range.len();
    body.try_filter_map(move |mut chunk: Bytes| {
        let dropped = skip.min(chunk.len() as u64);
        skip -= dropped;
        let mut kept = chunk.split_off(usize::try_from(dropped).unwrap_or(usize::MAX));
        let take = remaining.min(kept.len() as u64);
        kept.truncate(usize::try_from(take).unwrap_or(usize::MAX));
        remaining -= take;
        async move { Ok((!kept.is_empty()).then_some(kept)) }
    })
    .boxed()
}

#[async_trait]
impl BlobStore for GitHubStore {
    fn provider_type(&self) -> ProviderType {
        ProviderType::GitHubRepo
    }

    /// The contents API takes the file as base64 in one JSON body, so the
    /// file is buffered (at most 100 MB, one upload at a time per profile)
    /// and refused beyond the limit.
    async fn put(
        &self,
        key: &str,
        mut body: ByteStream<'_>,
        message: Option<&str>,
    ) -> Result<u64, StorageError> {
        validate_key(key)?;
        let _serial = self.writes.lock().await;
        let mut buffer = BytesMut::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(StorageError::Aborted)?;
            if (buffer.len() + chunk.len()) as u64 > GITHUB_MAX_FILE_BYTES {
                return Err(StorageError::TooLarge {
                    limit: GITHUB_MAX_FILE_BYTES,
                });
            }
            buffer.extend_from_slice(&chunk);
        }
        let size = buffer.len() as u64;
        let content = base64::engine::general_purpose::STANDARD.encode(&buffer);
        drop(buffer);
        self.write(&self.path(key), &content, message).await?;
        Ok(size)
    }

    /// Reads the raw file through the API with the token, so private
    /// repositories work; ranges are cut from the stream.
    async fn get(&self, key: &str, range: Option<ByteRange>) -> Result<BlobRead, StorageError> {
        validate_key(key)?;
        let path = self.path(key);
        let response = self
            .client
            .repos(&self.settings.owner, &self.settings.repo)
            .raw_file(self.settings.branch.clone(), &path)
            .await
            .map_err(classify)?;
        let response = match octocrab::map_github_error(response).await {
            Ok(response) => response,
            Err(err) if status_of(&err) == Some(404) => return Err(StorageError::NotFound),
            Err(err) => return Err(classify(err)),
        };
        let declared = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let body: ByteStream<'static> = response
            .into_body()
            .into_data_stream()
            .map_err(std::io::Error::other)
            .boxed();
        let size = match declared {
            Some(size) => size,
            None => self.head(key).await?,
        };
        let body = match range {
            Some(range) => slice(body, range),
            None => body,
        };
        Ok(BlobRead { size, body })
    }

    async fn head(&self, key: &str) -> Result<u64, StorageError> {
        validate_key(key)?;
        self.file_info(&self.path(key))
            .await?
            .map(|info| info.size)
            .ok_or(StorageError::NotFound)
    }

    async fn delete(&self, key: &str, message: Option<&str>) -> Result<(), StorageError> {
        validate_key(key)?;
        let path = self.path(key);
        let _serial = self.writes.lock().await;
        let mut attempt = 0;
        loop {
            let Some(info) = self.file_info(&path).await? else {
                return Ok(());
            };
            let body = DeleteFile {
                message: &self.commit_message("delete", &path, message),
                sha: &info.sha,
                branch: &self.settings.branch,
            };
            match self
                .client
                .delete::<serde_json::Value, _, _>(self.contents_route(&path), Some(&body))
                .await
            {
                Ok(_) => return Ok(()),
                Err(err) if status_of(&err) == Some(404) => return Ok(()),
                Err(err) if status_of(&err) == Some(409) && attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
                Err(err) => return Err(classify(err)),
            }
        }
    }

    fn public_url(&self, key: &str) -> Option<String> {
        if self.settings.allows_private {
            // A private-token repository: its raw URLs need the token.
            return None;
        }
        Some(format!(
            "{}/{}/{}/{}/{}",
            self.settings.raw_base_url,
            self.settings.owner,
            self.settings.repo,
            self.settings.branch,
            self.path(key)
        ))
    }

    fn max_object_bytes(&self) -> Option<u64> {
        Some(GITHUB_MAX_FILE_BYTES)
    }

    fn allows_private(&self) -> bool {
        self.settings.allows_private
    }

    fn stages_uploads(&self) -> bool {
        false
    }

    /// The git trees API lists the whole branch in one request; it gives no
    /// times, so the sweep ages these objects from when it first saw them.
    async fn list(&self, prefix: &str) -> Result<Option<Vec<ListedObject>>, StorageError> {
        #[derive(Deserialize)]
        struct Tree {
            tree: Vec<Entry>,
        }
        #[derive(Deserialize)]
        struct Entry {
            path: String,
            #[serde(rename = "type")]
            kind: String,
        }
        let route = format!(
            "/repos/{}/{}/git/trees/{}",
            self.settings.owner, self.settings.repo, self.settings.branch
        );
        let tree: Tree = self
            .client
            .get(route, Some(&[("recursive", "1")]))
            .await
            .map_err(classify)?;
        let base = self.path("");
        Ok(Some(
            tree.tree
                .into_iter()
                .filter(|entry| entry.kind == "blob")
                .filter_map(|entry| entry.path.strip_prefix(&base).map(str::to_string))
                .filter(|key| key.starts_with(prefix))
                .map(|key| ListedObject {
                    key,
                    modified: None,
                })
                .collect(),
        ))
    }

    /// The branch must exist and the token must see it.
    async fn check(&self) -> Result<(), StorageError> {
        let route = format!(
            "/repos/{}/{}/branches/{}",
            self.settings.owner, self.settings.repo, self.settings.branch
        );
        self.client
            .get::<serde_json::Value, _, ()>(route, None)
            .await
            .map(|_| ())
            .map_err(classify)
    }
}
