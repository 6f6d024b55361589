//! NekoHub's repository operations on a `github-repo` profile: browse its
//! folders (paged, filtered, optionally recursive) and write a file at a
//! chosen path, guarded by GitHub's blob sha.

use std::collections::VecDeque;

use base64::Engine;

use super::{StorageProfileService, configuration::PRIVATE_TOKEN, setting};
use crate::{
    domain::{
        FileContent, Permission, Principal, ProviderType, RepositoryBrowse,
        RepositoryBrowseRequest, RepositoryItem, RepositoryUpsert, RepositoryUpsertRequest,
        StoredStorageProfile,
    },
    error::{Error, Result},
    storage::{
        BlobStore, GITHUB_MAX_FILE_BYTES, GitHubStore, RepositoryContents, StorageError,
        UpsertOutcome,
    },
};

/// Folders one browse may list: each is one GitHub request, counted
/// against the profile's rate limit.
const MAX_FOLDERS_PER_BROWSE: usize = 100;
const DEFAULT_PAGE_SIZE: i64 = 50;
const MAX_PAGE_SIZE: i64 = 200;
const DEFAULT_MAX_DEPTH: i64 = 2;

impl StorageProfileService {
    /// An enabled `github-repo` profile whose stored settings still hold.
    async fn repository(&self, id: &str) -> Result<(StoredStorageProfile, GitHubStore)> {
        let record = self.load(id).await?;
        if !record.is_enabled {
            return Err(Error::StorageProfileDisabled(record.id));
        }
        if record.provider_type != ProviderType::GitHubRepo {
            return Err(Error::StorageProfileProviderTypeMismatch(record.id));
        }
        if setting(&record, "visibilityPolicy") == PRIVATE_TOKEN
            && record.secret_ciphertext.is_none()
        {
            return Err(Error::StorageProfileGitHubTokenRequiredForPrivate);
        }
        let store = self.github_store(&record)?;
        Ok((record, store))
    }

    /// Lists a folder of the repository (relative to the base path): folders
    /// first, then by name; filtered by type and keyword, then paged.
    pub async fn browse_repository(
        &self,
        principal: &Principal,
        id: &str,
        request: RepositoryBrowseRequest,
    ) -> Result<RepositoryBrowse> {
        principal.require(Permission::ProvidersRead)?;
        let (record, store) = self.repository(id).await?;
        let entry_type = match request
            .entry_type
            .as_deref()
            .map(|t| t.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("" | "all") => "all",
            Some("file") => "file",
            Some("dir") => "dir",
            Some(_) => return Err(Error::StorageDirectoryTypeInvalid),
        };
        let page = request.page.unwrap_or(1);
        if page < 1 {
            return Err(Error::StorageDirectoryPageInvalid);
        }
        let page_size = request.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(Error::StorageDirectoryPageSizeInvalid);
        }
        let max_depth = request.max_depth.unwrap_or(DEFAULT_MAX_DEPTH);
        if max_depth < 1 {
            return Err(Error::StorageDirectoryDepthInvalid);
        }
        let path = relative_path(request.path.as_deref().unwrap_or_default())?;
        let keyword = request
            .keyword
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty());

        let mut entries = Vec::new();
        let mut folders = VecDeque::from([(path.clone(), 1)]);
        let mut listed = 0;
        while let Some((folder, depth)) = folders.pop_front() {
            listed += 1;
            if listed > MAX_FOLDERS_PER_BROWSE {
                return Err(Error::StorageDirectoryListFailed(format!(
                    "more than {MAX_FOLDERS_PER_BROWSE} folders; choose a deeper path or a smaller maxDepth"
                )));
            }
            let contents = store
                .contents(&folder)
                .await
                .map_err(|e| repository_error(e, Error::StorageDirectoryListFailed))?;
            match contents {
                RepositoryContents::Directory(found) => {
                    for entry in found {
                        if request.recursive && entry.is_directory() && depth < max_depth {
                            folders.push_back((entry.path.clone(), depth + 1));
                        }
                        entries.push(entry);
                    }
                }
                // A subfolder that vanished meanwhile is simply not listed.
                _ if folder != path => {}
                RepositoryContents::Missing => return Err(Error::StorageDirectoryNotFound(path)),
                RepositoryContents::File { .. } => {
                    return Err(Error::StorageDirectoryExpected(path));
                }
            }
        }

        let wanted = keyword.as_deref().map(str::to_lowercase);
        entries.retain(|entry| {
            let kind_matches = match entry_type {
                "file" => !entry.is_directory(),
                "dir" => entry.is_directory(),
                _ => true,
            };
            kind_matches
                && wanted.as_deref().is_none_or(|word| {
                    entry.name.to_lowercase().contains(word)
                        || entry.path.to_lowercase().contains(word)
                })
        });
        entries.sort_by_cached_key(|entry| {
            (
                !entry.is_directory(),
                entry.name.to_lowercase(),
                entry.path.to_lowercase(),
            )
        });
        let total = entries.len();
        let page_size = usize::try_from(page_size).unwrap_or(usize::MAX);
        let skip = usize::try_from(page - 1)
            .unwrap_or(usize::MAX)
            .saturating_mul(page_size);
        let policy = setting(&record, "visibilityPolicy");
        let controlled = policy == PRIVATE_TOKEN;
        let items: Vec<RepositoryItem> = entries
            .into_iter()
            .skip(skip)
            .take(page_size)
            .map(|entry| RepositoryItem {
                is_directory: entry.is_directory(),
                size: entry.size.filter(|_| !entry.is_directory()),
                public_url: (!entry.is_directory())
                    .then(|| store.public_url(&entry.path))
                    .flatten(),
                sha: entry.sha,
                name: entry.name,
                path: entry.path,
            })
            .collect();
        Ok(RepositoryBrowse {
            profile_id: record.id,
            requested_path: path,
            recursive: request.recursive,
            max_depth: u32::try_from(max_depth).unwrap_or(u32::MAX),
            entry_type,
            keyword,
            total: total as u64,
            page: u32::try_from(page).unwrap_or(u32::MAX),
            page_size: u32::try_from(page_size).unwrap_or(u32::MAX),
            has_more: skip.saturating_add(items.len()) < total,
            visibility_policy: policy,
            uses_controlled_read: controlled,
            items,
        })
    }

    /// Creates or replaces a file at a path of the repository (one commit).
    /// With `expectedSha` it must replace exactly that version.
    pub async fn upsert_repository_file(
        &self,
        principal: &Principal,
        id: &str,
        request: RepositoryUpsertRequest,
    ) -> Result<RepositoryUpsert> {
        principal.require(Permission::ProvidersUpdate)?;
        let (record, store) = self.repository(id).await?;
        let path = relative_path(request.path.as_deref().unwrap_or_default())?;
        if path.is_empty() {
            return Err(Error::StorageUpsertPathRequired);
        }
        let bytes = match request.content {
            FileContent::Raw(bytes) => bytes,
            FileContent::Base64(text) => {
                let text = text
                    .filter(|t| !t.trim().is_empty())
                    .ok_or(Error::StorageUpsertContentRequired)?;
                let compact: String = text.split_ascii_whitespace().collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map_err(|_| Error::StorageUpsertContentBase64Invalid)?
                    .into()
            }
        };
        if bytes.is_empty() {
            return Err(Error::StorageUpsertContentEmpty);
        }
        if bytes.len() as u64 > GITHUB_MAX_FILE_BYTES {
            return Err(Error::AssetFileTooLarge {
                limit: GITHUB_MAX_FILE_BYTES,
            });
        }
        let size = bytes.len() as u64;
        let content = base64::engine::general_purpose::STANDARD.encode(&bytes);
        drop(bytes);
        let expected_sha = request
            .expected_sha
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let outcome = store
            .upsert(
                &path,
                &content,
                request.commit_message.as_deref(),
                expected_sha,
            )
            .await
            .map_err(|e| repository_error(e, Error::StorageUpsertFailed))?;
        let (created, sha) = match outcome {
            UpsertOutcome::Written { created, sha } => (created, sha),
            UpsertOutcome::ShaConflict => {
                return Err(Error::StorageUpsertExpectedShaConflict(path));
            }
            UpsertOutcome::TargetMissing => {
                return Err(Error::StorageUpsertExpectedShaTargetMissing(path));
            }
            UpsertOutcome::NotAFile => return Err(Error::StorageFileExpected(path)),
        };
        let policy = setting(&record, "visibilityPolicy");
        let controlled = policy == PRIVATE_TOKEN;
        Ok(RepositoryUpsert {
            profile_id: record.id,
            public_url: store.public_url(&path),
            path,
            created,
            size,
            sha,
            visibility_policy: policy,
            uses_controlled_read: controlled,
        })
    }
}

/// A path inside the repository as clients give it: slashes at either end
/// are dropped; `.`, `..`, empty inner segments, backslashes and control
/// characters are refused.
fn relative_path(raw: &str) -> Result<String> {
    let path = raw.trim().trim_matches('/');
    let refused = path.contains('\\')
        || path.chars().any(char::is_control)
        || (!path.is_empty()
            && path
                .split('/')
                .any(|segment| segment.is_empty() || segment == "." || segment == ".."));
    if refused {
        return Err(Error::StorageRelativePathInvalid(raw.to_string()));
    }
    Ok(path.to_string())
}

/// GitHub's refusals in NekoHub's words; outages and rate limits keep
/// tessera's storage codes.
fn repository_error(err: StorageError, rejected: fn(String) -> Error) -> Error {
    match err {
        StorageError::Unauthorized(detail) => Error::StorageAccessDenied(detail),
        StorageError::Rejected(detail) | StorageError::Conflict(detail) => rejected(detail),
        other => Error::from(other),
    }
}

#[cfg(test)]
mod tests {
    use super::relative_path;

    #[test]
    fn paths_stay_inside_the_repository() {
        assert_eq!(relative_path(" /images/cats/ ").unwrap(), "images/cats");
        assert_eq!(relative_path("").unwrap(), "");
        assert_eq!(
            relative_path("my photos/a b.png").unwrap(),
            "my photos/a b.png"
        );
        for bad in ["../secrets", "a/../b", "a//b", "./a", "a\\b", "a/\u{0}"] {
            assert!(relative_path(bad).is_err(), "{bad}");
        }
    }
}
