//! `GET .../{id}/github-repo/browse` and `POST .../{id}/github-repo/upsert`:
//! NekoHub's repository operations on a `github-repo` profile.

use axum::{extract::State, response::IntoResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema, openapi::Object};

use super::{
    ApiError, Authenticated, Data, IdPath, JsonBody, Path, Query, QueryAliases, data, one_of,
};
use crate::{
    domain::{
        FileContent, RepositoryBrowse, RepositoryBrowseRequest, RepositoryItem, RepositoryUpsert,
        RepositoryUpsertRequest,
    },
    error::Error,
    service::Services,
};

/// The browse query. Numbers stay text here so that each bad value gets
/// its own code.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct BrowseQuery {
    /// A folder relative to the profile's base path; the base path when absent.
    path: Option<String>,
    /// List subfolders too, down to `maxDepth`.
    #[param(value_type = Option<bool>)]
    recursive: Option<String>,
    /// Levels listed when recursive, the folder itself being 1 (default 2).
    #[param(value_type = Option<u32>, minimum = 1)]
    max_depth: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type", schema_with = entry_types)]
    entry_type: Option<String>,
    /// A case-insensitive part of the name or the path.
    keyword: Option<String>,
    /// 1-based (default 1).
    #[param(value_type = Option<u32>, minimum = 1)]
    page: Option<String>,
    /// 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    page_size: Option<String>,
}

impl QueryAliases for BrowseQuery {}

fn entry_types() -> Object {
    one_of(&["all", "file", "dir"])
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RepositoryItemDto {
    name: String,
    /// Relative to the profile's base path.
    path: String,
    /// `file` or `dir`.
    #[serde(rename = "type")]
    entry_type: &'static str,
    is_directory: bool,
    is_file: bool,
    size: Option<u64>,
    sha: Option<String>,
    /// The raw address of a file; `null` for folders and `private-token` profiles.
    public_url: Option<String>,
}

impl From<RepositoryItem> for RepositoryItemDto {
    fn from(item: RepositoryItem) -> Self {
        RepositoryItemDto {
            entry_type: if item.is_directory { "dir" } else { "file" },
            is_file: !item.is_directory,
            is_directory: item.is_directory,
            name: item.name,
            path: item.path,
            size: item.size,
            sha: item.sha,
            public_url: item.public_url,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RepositoryBrowseDto {
    profile_id: String,
    requested_path: String,
    recursive: bool,
    max_depth: u32,
    #[serde(rename = "type")]
    entry_type: &'static str,
    keyword: Option<String>,
    total: u64,
    page: u32,
    page_size: u32,
    has_more: bool,
    visibility_policy: String,
    uses_controlled_read: bool,
    items: Vec<RepositoryItemDto>,
}

impl From<RepositoryBrowse> for RepositoryBrowseDto {
    fn from(b: RepositoryBrowse) -> Self {
        RepositoryBrowseDto {
            profile_id: b.profile_id,
            requested_path: b.requested_path,
            recursive: b.recursive,
            max_depth: b.max_depth,
            entry_type: b.entry_type,
            keyword: b.keyword,
            total: b.total,
            page: b.page,
            page_size: b.page_size,
            has_more: b.has_more,
            visibility_policy: b.visibility_policy,
            uses_controlled_read: b.uses_controlled_read,
            items: b.items.into_iter().map(RepositoryItemDto::from).collect(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpsertBody {
    /// Relative to the profile's base path.
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    content_base64: Option<String>,
    #[serde(default)]
    commit_message: Option<String>,
    /// The blob sha the file must have now; absent creates or overwrites.
    #[serde(default)]
    expected_sha: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RepositoryUpsertDto {
    profile_id: String,
    path: String,
    /// `created` or `updated`.
    operation: &'static str,
    /// Bytes written (decoded).
    size: u64,
    sha: String,
    visibility_policy: String,
    uses_controlled_read: bool,
    public_url: Option<String>,
}

impl From<RepositoryUpsert> for RepositoryUpsertDto {
    fn from(u: RepositoryUpsert) -> Self {
        RepositoryUpsertDto {
            profile_id: u.profile_id,
            path: u.path,
            operation: if u.created { "created" } else { "updated" },
            size: u.size,
            sha: u.sha,
            visibility_policy: u.visibility_policy,
            uses_controlled_read: u.uses_controlled_read,
            public_url: u.public_url,
        }
    }
}

#[utoipa::path(
    get,
    operation_id = "browseGitHubRepository",
    path = "/api/v1/system/storage/providers/{id}/github-repo/browse",
    tag = "storage",
    params(IdPath, BrowseQuery),
    responses((status = OK, body = Data<RepositoryBrowseDto>))
)]
pub async fn browse(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
    Query(query): Query<BrowseQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let integer = |value: Option<String>, err: Error| {
        value
            .map(|v| v.trim().parse::<i64>().map_err(|_| err))
            .transpose()
    };
    let recursive = match query.recursive.as_deref().map(str::trim) {
        None | Some("") => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(Error::InvalidRequest(format!(
                "recursive must be true or false, not '{v}'"
            ))
            .into());
        }
    };
    let request = RepositoryBrowseRequest {
        path: query.path,
        recursive,
        max_depth: integer(query.max_depth, Error::StorageDirectoryDepthInvalid)?,
        entry_type: query.entry_type,
        keyword: query.keyword,
        page: integer(query.page, Error::StorageDirectoryPageInvalid)?,
        page_size: integer(query.page_size, Error::StorageDirectoryPageSizeInvalid)?,
    };
    let browse = services
        .storage_profiles
        .browse_repository(&principal, &id, request)
        .await?;
    Ok(data(RepositoryBrowseDto::from(browse)))
}

#[utoipa::path(
    post,
    operation_id = "upsertGitHubRepositoryFile",
    path = "/api/v1/system/storage/providers/{id}/github-repo/upsert",
    tag = "storage",
    params(IdPath),
    request_body = UpsertBody,
    responses((status = OK, body = Data<RepositoryUpsertDto>))
)]
pub async fn upsert(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
    JsonBody(body): JsonBody<UpsertBody>,
) -> Result<impl IntoResponse, ApiError> {
    let request = RepositoryUpsertRequest {
        path: body.path,
        content: FileContent::Base64(body.content_base64),
        commit_message: body.commit_message,
        expected_sha: body.expected_sha,
    };
    let written = services
        .storage_profiles
        .upsert_repository_file(&principal, &id, request)
        .await?;
    Ok(data(RepositoryUpsertDto::from(written)))
}
