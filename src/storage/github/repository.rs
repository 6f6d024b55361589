//! Operations on a GitHub repository beyond asset storage: listing its
//! folders and writing a file at a path the caller chooses, with GitHub's
//! blob `sha` as the optimistic lock (NekoHub's browse and upsert).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::{CONFLICT_RETRIES, GitHubStore, PutFile, classify, status_of};
use crate::storage::StorageError;

/// What is at a path of the repository.
pub enum RepositoryContents {
    Missing,
    File { sha: String },
    Directory(Vec<RepositoryEntry>),
}

/// One entry of a folder, its path relative to the profile's base path.
#[derive(Clone, Debug, Deserialize)]
pub struct RepositoryEntry {
    pub name: String,
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub sha: Option<String>,
}

impl RepositoryEntry {
    pub fn is_directory(&self) -> bool {
        self.kind == "dir"
    }
}

/// How a write ended.
pub enum UpsertOutcome {
    Written {
        created: bool,
        sha: String,
    },
    /// The file's sha is not the one the caller expected.
    ShaConflict,
    /// The caller expected a file that does not exist.
    TargetMissing,
    /// The path is a folder.
    NotAFile,
}

#[derive(Deserialize)]
struct Written {
    content: WrittenContent,
}

#[derive(Deserialize)]
struct WrittenContent {
    sha: String,
}

impl GitHubStore {
    /// What is at `path` (relative to the base path) on the profile's ref:
    /// one contents API request.
    pub async fn contents(&self, path: &str) -> Result<RepositoryContents, StorageError> {
        let full = self.path(path);
        let params = [("ref", self.settings.branch.as_str())];
        let value = match self
            .client
            .get::<Value, _, _>(self.contents_route(&full), Some(&params))
            .await
        {
            Ok(value) => value,
            Err(err) if status_of(&err) == Some(404) => return Ok(RepositoryContents::Missing),
            Err(err) => return Err(classify(err)),
        };
        let unexpected = |e: serde_json::Error| {
            StorageError::Unavailable(format!("GitHub answered an unexpected listing: {e}"))
        };
        if value.is_array() {
            let base = self.path("");
            let entries: Vec<RepositoryEntry> =
                serde_json::from_value(value).map_err(unexpected)?;
            return Ok(RepositoryContents::Directory(
                entries
                    .into_iter()
                    .map(|mut entry| {
                        if let Some(relative) = entry.path.strip_prefix(&base) {
                            entry.path = relative.to_string();
                        }
                        entry
                    })
                    .collect(),
            ));
        }
        let entry: RepositoryEntry = serde_json::from_value(value).map_err(unexpected)?;
        match entry.sha {
            Some(sha) if entry.kind == "file" => Ok(RepositoryContents::File { sha }),
            _ => Err(StorageError::Rejected(format!(
                "'{path}' is a {}, not a file or directory",
                entry.kind
            ))),
        }
    }

    /// Creates or replaces the file at `path` with `content` (base64). With
    /// `expected_sha` the file must exist with that sha; without it the file
    /// is created or overwritten. Serialised with this store's other writes.
    pub async fn upsert(
        &self,
        path: &str,
        content: &str,
        message: Option<&str>,
        expected_sha: Option<&str>,
    ) -> Result<UpsertOutcome, StorageError> {
        let full = self.path(path);
        let _serial = self.writes.lock().await;
        let mut attempt = 0;
        loop {
            let current = match self.contents(path).await? {
                RepositoryContents::Missing => None,
                RepositoryContents::File { sha } => Some(sha),
                RepositoryContents::Directory(_) => return Ok(UpsertOutcome::NotAFile),
            };
            match (expected_sha, current.as_deref()) {
                (Some(_), None) => return Ok(UpsertOutcome::TargetMissing),
                (Some(expected), Some(sha)) if expected != sha => {
                    return Ok(UpsertOutcome::ShaConflict);
                }
                _ => {}
            }
            let operation = if current.is_some() {
                "update"
            } else {
                "create"
            };
            let body = PutFile {
                message: &self.commit_message(operation, &full, message),
                content,
                branch: &self.settings.branch,
                sha: current.as_deref(),
            };
            match self
                .client
                .put::<Written, _, _>(self.contents_route(&full), Some(&body))
                .await
            {
                Ok(written) => {
                    return Ok(UpsertOutcome::Written {
                        created: current.is_none(),
                        sha: written.content.sha,
                    });
                }
                // Someone else wrote the file meanwhile: look again.
                Err(err)
                    if matches!(status_of(&err), Some(409 | 422)) && attempt < CONFLICT_RETRIES =>
                {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
                Err(err) => return Err(classify(err)),
            }
        }
    }
}
