use axum::{
    body::Bytes,
    extract::{Multipart, Query, State, multipart::Field, rejection::QueryRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema, openapi::Object};

use super::Path;
use super::{
    ApiError, AssetIdPath, Caller, Data, JsonBody, JsonValue, content::content_response, data,
    invalid_json, one_of, optional_json, present, utc,
};
use crate::{
    domain::{
        Asset, AssetDetails, AssetPatch, AssetStatus, BatchDeleteOutcome, DeletedAsset, Derivative,
        ListParams, MAX_TEXT_LEN, Page, Principal, RangeRequest, SkillExecution, StructuredResult,
        UploadMetadata, UsageStats,
    },
    error::Error,
    service::{Content, Services, StagedUpload},
};

/// The fields of a list item (`GET /assets`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetSummaryDto {
    id: String,
    /// Always `image` today.
    #[serde(rename = "type")]
    kind: String,
    /// `pending`, `processing`, `ready` or `failed`.
    status: &'static str,
    original_file_name: Option<String>,
    content_type: String,
    size: u64,
    width: Option<u32>,
    height: Option<u32>,
    storage_provider: String,
    storage_provider_profile_id: String,
    public_url: Option<String>,
    is_public: bool,
    created_at_utc: String,
    updated_at_utc: String,
}

/// The full asset (`GET /assets/{id}` and every write that returns an asset).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetDto {
    #[serde(flatten)]
    summary: AssetSummaryDto,
    stored_file_name: String,
    extension: String,
    checksum_sha256: String,
    storage_key: String,
    description: Option<String>,
    alt_text: Option<String>,
    derivatives: Vec<DerivativeDto>,
    structured_results: Vec<StructuredResultDto>,
    latest_execution_summary: Option<ExecutionSummaryDto>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ExecutionSummaryDto {
    execution_id: String,
    skill_name: String,
    trigger_source: &'static str,
    started_at_utc: String,
    completed_at_utc: String,
    succeeded: bool,
    steps: Vec<ExecutionStepDto>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ExecutionStepDto {
    step_name: String,
    succeeded: bool,
    error_message: Option<String>,
    /// The step had nothing to do (an AI step of the enrichment without an
    /// active AI provider); it counts as succeeded.
    skipped: bool,
    started_at_utc: String,
    completed_at_utc: String,
}

impl From<SkillExecution> for ExecutionSummaryDto {
    fn from(e: SkillExecution) -> Self {
        ExecutionSummaryDto {
            execution_id: e.execution_id.to_string(),
            skill_name: e.skill_name,
            trigger_source: e.trigger_source.as_str(),
            started_at_utc: utc(e.started_at),
            completed_at_utc: utc(e.completed_at),
            succeeded: e.succeeded,
            steps: e
                .steps
                .into_iter()
                .map(|s| ExecutionStepDto {
                    step_name: s.step_name,
                    succeeded: s.succeeded,
                    error_message: s.error_message,
                    skipped: s.skipped,
                    started_at_utc: utc(s.started_at),
                    completed_at_utc: utc(s.completed_at),
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DerivativeDto {
    kind: String,
    content_type: String,
    extension: String,
    size: u64,
    width: Option<u32>,
    height: Option<u32>,
    public_url: Option<String>,
    created_at_utc: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct StructuredResultDto {
    kind: String,
    payload_json: String,
    created_at_utc: String,
}

impl From<Asset> for AssetSummaryDto {
    fn from(asset: Asset) -> Self {
        AssetSummaryDto {
            id: asset.id.to_string(),
            kind: asset.kind,
            status: asset.status.as_str(),
            original_file_name: asset.original_file_name,
            content_type: asset.content_type,
            size: asset.size,
            width: asset.width,
            height: asset.height,
            storage_provider: asset.storage_provider,
            storage_provider_profile_id: asset.storage_profile_id,
            public_url: asset.public_url,
            is_public: asset.is_public,
            created_at_utc: utc(asset.created_at),
            updated_at_utc: utc(asset.updated_at),
        }
    }
}

impl From<AssetDetails> for AssetDto {
    fn from(details: AssetDetails) -> Self {
        let AssetDetails {
            asset,
            derivatives,
            structured_results,
            latest_execution,
        } = details;
        AssetDto {
            stored_file_name: asset.stored_file_name.clone(),
            extension: asset.extension.clone(),
            checksum_sha256: asset.checksum_sha256.clone(),
            storage_key: asset.storage_key.clone(),
            description: asset.description.clone(),
            alt_text: asset.alt_text.clone(),
            summary: asset.into(),
            derivatives: derivatives.into_iter().map(DerivativeDto::from).collect(),
            structured_results: structured_results
                .into_iter()
                .map(StructuredResultDto::from)
                .collect(),
            latest_execution_summary: latest_execution.map(ExecutionSummaryDto::from),
        }
    }
}

impl From<Derivative> for DerivativeDto {
    fn from(d: Derivative) -> Self {
        DerivativeDto {
            kind: d.kind,
            content_type: d.content_type,
            extension: d.extension,
            size: d.size,
            width: d.width,
            height: d.height,
            public_url: d.public_url,
            created_at_utc: utc(d.created_at),
        }
    }
}

impl From<StructuredResult> for StructuredResultDto {
    fn from(r: StructuredResult) -> Self {
        StructuredResultDto {
            kind: r.kind,
            payload_json: r.payload_json,
            created_at_utc: utc(r.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AssetPageDto {
    items: Vec<AssetSummaryDto>,
    page: u32,
    page_size: u32,
    total: u64,
}

impl From<Page<Asset>> for AssetPageDto {
    fn from(page: Page<Asset>) -> Self {
        AssetPageDto {
            items: page.items.into_iter().map(AssetSummaryDto::from).collect(),
            page: page.page,
            page_size: page.page_size,
            total: page.total,
        }
    }
}

/// Longest text field accepted in a multipart upload, in bytes (UTF-8 of the
/// character limit, with room for multi-byte characters).
const MAX_TEXT_FIELD_BYTES: usize = MAX_TEXT_LEN * 4 + 1024;
/// After a refused upload, this much of the rest of the body is read and
/// dropped so that the client sees the error instead of a reset connection.
const MAX_DRAIN_BYTES: u64 = 64 * 1024 * 1024;

/// The multipart body of an upload. The handler reads the fields as they
/// arrive (the file streams into storage), so this type only describes them.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct UploadForm {
    /// The image; its type is sniffed from the bytes.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
    /// At most 1000 characters.
    description: Option<String>,
    /// At most 1000 characters.
    alt_text: Option<String>,
    /// Default `true`.
    is_public: Option<bool>,
    /// The storage profile to store it on; default: the default profile.
    storage_provider_profile_id: Option<String>,
    /// Run thumbnails and enrichment after the upload (default `true`).
    run_enrichment: Option<bool>,
    /// For storage that keeps history (a GitHub repository).
    commit_message: Option<String>,
}

#[utoipa::path(
    post,
    operation_id = "uploadAsset",
    path = "/api/v1/assets",
    tag = "assets",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = ACCEPTED, description = "Stored; processing runs in the background", body = Data<AssetDto>,
            headers(("Location" = String, description = "The new asset's URL"))))
)]
/// Streams the file into storage while hashing it; fields that steer storage
/// (`storageProviderProfileId`, `commitMessage`, `isPublic`) take full effect
/// when sent before the file. A refused upload is still read (up to 64 MiB), so
/// the client receives the error rather than a reset connection.
pub async fn upload(
    State(services): State<Services>,
    caller: Result<Caller, ApiError>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, ApiError> {
    let (principal, mut multipart) = match (caller, multipart) {
        (Err(refused), Ok(mut multipart)) => {
            drain(&mut multipart).await;
            return Err(refused);
        }
        (Err(refused), Err(_)) => return Err(refused),
        (Ok(_), Err(rejection)) => return Err(Error::InvalidRequest(rejection.body_text()).into()),
        (Ok(Caller(principal)), Ok(multipart)) => (principal, multipart),
    };
    let received = receive_upload(&services, &principal, &mut multipart).await;
    match received {
        Ok(details) => {
            let location = format!("/api/v1/assets/{}", details.asset.id);
            Ok((
                StatusCode::ACCEPTED,
                [(header::LOCATION, location)],
                data(AssetDto::from(details)),
            )
                .into_response())
        }
        Err(err) => {
            drain(&mut multipart).await;
            Err(err.into())
        }
    }
}

async fn receive_upload(
    services: &Services,
    principal: &Principal,
    multipart: &mut Multipart,
) -> Result<AssetDetails, Error> {
    let mut metadata = UploadMetadata::default();
    let mut staged = None;
    let read = read_fields(services, principal, multipart, &mut metadata, &mut staged).await;
    if let Err(err) = read {
        if let Some(staged) = staged {
            staged.discard().await;
        }
        return Err(err);
    }
    let staged = staged.ok_or(Error::AssetFileRequired)?;
    services
        .assets
        .commit_upload(principal, staged, metadata)
        .await
}

/// Reads every field; the file is streamed into storage as it arrives, so
/// fields that steer storage (`storageProviderProfileId`, `commitMessage`,
/// `isPublic`) take full effect when sent before it.
async fn read_fields(
    services: &Services,
    principal: &Principal,
    multipart: &mut Multipart,
    metadata: &mut UploadMetadata,
    staged: &mut Option<StagedUpload>,
) -> Result<(), Error> {
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => {
                if staged.is_some() {
                    return Err(Error::InvalidRequest(
                        "send exactly one 'file' field".into(),
                    ));
                }
                metadata.file_name = field.file_name().map(str::to_string);
                let body = field.map(|chunk| chunk.map_err(multipart_error));
                *staged = Some(
                    services
                        .assets
                        .stage_upload(principal, metadata, body)
                        .await?,
                );
            }
            "description" => metadata.description = Some(text_field(field, &name).await?),
            "altText" => metadata.alt_text = Some(text_field(field, &name).await?),
            "isPublic" => metadata.is_public = Some(bool_field(field, &name).await?),
            "runEnrichment" => metadata.run_enrichment = Some(bool_field(field, &name).await?),
            "storageProviderProfileId" => {
                metadata.storage_profile_id = Some(text_field(field, &name).await?)
            }
            "commitMessage" => metadata.commit_message = Some(text_field(field, &name).await?),
            _ => {}
        }
    }
    Ok(())
}

fn multipart_error(err: axum::extract::multipart::MultipartError) -> Error {
    Error::InvalidRequest(format!("malformed multipart body: {}", err.body_text()))
}

async fn text_field(mut field: Field<'_>, name: &str) -> Result<String, Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > MAX_TEXT_FIELD_BYTES {
            return Err(match name {
                "description" => Error::AssetDescriptionTooLong { max: MAX_TEXT_LEN },
                "altText" => Error::AssetAltTextTooLong { max: MAX_TEXT_LEN },
                _ => Error::InvalidRequest(format!("field '{name}' is too long")),
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::InvalidRequest(format!("field '{name}' is not UTF-8")))
}

async fn bool_field(field: Field<'_>, name: &str) -> Result<bool, Error> {
    let text = text_field(field, name).await?;
    parse_bool(&text).ok_or_else(|| {
        Error::InvalidRequest(format!(
            "field '{name}' must be true or false, got '{text}'"
        ))
    })
}

fn parse_bool(text: &str) -> Option<bool> {
    // Exactly the document's boolean: `1`, `yes` and the like are refused.
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

async fn drain(multipart: &mut Multipart) {
    let mut drained = 0u64;
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(chunk)) = field.chunk().await {
            drained += chunk.len() as u64;
            if drained > MAX_DRAIN_BYTES {
                return;
            }
        }
    }
}

#[utoipa::path(
    get,
    operation_id = "listAssets",
    path = "/api/v1/assets",
    tag = "assets",
    params(AssetListQuery),
    responses((status = OK, body = Data<AssetPageDto>))
)]
pub async fn list(
    State(services): State<Services>,
    Caller(principal): Caller,
    query: Result<Query<AssetListQuery>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(query) = query.map_err(|r| Error::InvalidRequest(r.body_text()))?;
    let params = list_params(query)?;
    let page = services.assets.list(&principal, params).await?;
    Ok(data(AssetPageDto::from(page)))
}

/// The query of asset lists. Values stay text here so that each bad value
/// gets its own error code from `list_params`.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AssetListQuery {
    /// 1-based page number (default 1).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 4294967295_u32)]
    page: Option<String>,
    /// Items per page (default 20); larger values are capped at the server's maximum.
    #[param(value_type = Option<u64>, minimum = 1)]
    page_size: Option<String>,
    /// Matches file name, description and alt text; alias `keyword`.
    #[serde(alias = "keyword")]
    query: Option<String>,
    /// An exact type such as `image/png`, or a family such as `image/*`.
    #[param(pattern = r"^[A-Za-z0-9!#$&^_.+-]+/([A-Za-z0-9!#$&^_.+-]+|\*)$")]
    content_type: Option<String>,
    #[param(schema_with = status_values)]
    status: Option<String>,
    /// Alias `sortBy`.
    #[serde(alias = "sortBy")]
    #[param(schema_with = order_by_values)]
    order_by: Option<String>,
    /// Alias `sortDirection`.
    #[serde(alias = "sortDirection")]
    #[param(schema_with = order_direction_values)]
    order_direction: Option<String>,
}

fn status_values() -> Object {
    one_of(&AssetStatus::ALL.map(AssetStatus::as_str))
}

fn order_by_values() -> Object {
    one_of(&["createdAtUtc", "size"])
}

fn order_direction_values() -> Object {
    one_of(&["desc", "asc"])
}

/// An empty value is a bad value like any other (an empty `query` means no
/// search, which the service decides).
pub(super) fn list_params(query: AssetListQuery) -> Result<ListParams, Error> {
    let integer =
        |value: String, err: fn(String) -> Error| value.parse::<i64>().map_err(|_| err(value));
    Ok(ListParams {
        page: query
            .page
            .map(|v| integer(v, Error::InvalidPage))
            .transpose()?,
        page_size: query
            .page_size
            .map(|v| integer(v, Error::InvalidPageSize))
            .transpose()?,
        query: query.query,
        content_type: query.content_type.map(|v| v.parse()).transpose()?,
        status: query.status.map(|v| v.parse()).transpose()?,
        order_by: query
            .order_by
            .map(|v| v.parse())
            .transpose()?
            .unwrap_or_default(),
        direction: query
            .order_direction
            .map(|v| v.parse())
            .transpose()?
            .unwrap_or_default(),
    })
}

#[utoipa::path(
    get,
    operation_id = "getAsset",
    path = "/api/v1/assets/{id}",
    tag = "assets",
    params(AssetIdPath),
    responses((status = OK, body = Data<AssetDto>))
)]
pub async fn get(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(AssetIdPath { id }): Path<AssetIdPath>,
) -> Result<impl IntoResponse, ApiError> {
    let details = services.assets.get(&principal, &id).await?;
    Ok(data(AssetDto::from(details)))
}

/// `null` must differ from absent, so each text field is a double option.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateAssetBody {
    /// At most 1000 characters; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    /// At most 1000 characters; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    alt_text: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    original_file_name: Option<Option<String>>,
    #[serde(default)]
    is_public: Option<bool>,
}

#[utoipa::path(
    patch,
    operation_id = "updateAsset",
    path = "/api/v1/assets/{id}",
    tag = "assets",
    params(AssetIdPath),
    request_body = UpdateAssetBody,
    responses((status = OK, body = Data<AssetDto>))
)]
pub async fn update(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(AssetIdPath { id }): Path<AssetIdPath>,
    JsonBody(body): JsonBody<UpdateAssetBody>,
) -> Result<impl IntoResponse, ApiError> {
    let patch = AssetPatch {
        description: body.description,
        alt_text: body.alt_text,
        original_file_name: body.original_file_name,
        is_public: body.is_public,
    };
    let details = services.assets.update(&principal, &id, patch).await?;
    Ok(data(AssetDto::from(details)))
}

#[derive(Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeleteAssetBody {
    #[serde(default)]
    commit_message: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeletedAssetDto {
    id: String,
    status: &'static str,
    deleted_at_utc: String,
}

impl From<DeletedAsset> for DeletedAssetDto {
    fn from(deleted: DeletedAsset) -> Self {
        DeletedAssetDto {
            id: deleted.id.to_string(),
            status: deleted.status.as_str(),
            deleted_at_utc: utc(deleted.deleted_at),
        }
    }
}

/// Deletes the asset, its derivatives, results, executions and every stored
/// file. The body is optional.
#[utoipa::path(
    delete,
    operation_id = "deleteAsset",
    path = "/api/v1/assets/{id}",
    tag = "assets",
    params(AssetIdPath),
    request_body(content = Option<DeleteAssetBody>, description = "Optional"),
    responses((status = OK, body = Data<DeletedAssetDto>))
)]
pub async fn delete(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(AssetIdPath { id }): Path<AssetIdPath>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let body = optional_json::<DeleteAssetBody>(&body)?.unwrap_or_default();
    let deleted = services
        .assets
        .delete(&principal, &id, body.commit_message.as_deref())
        .await?;
    Ok(data(DeletedAssetDto::from(deleted)))
}

/// Both a bare array and `{"ids": [...]}` are accepted.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum BatchDeleteAssetsBody {
    Ids(Vec<String>),
    Object(BatchDeleteIds),
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchDeleteIds {
    ids: Vec<String>,
}

impl BatchDeleteAssetsBody {
    /// Matched on the JSON type first: serde would read `{ids}` from an array too.
    fn parse(value: serde_json::Value) -> Result<Self, Error> {
        match value {
            serde_json::Value::Array(_) => serde_json::from_value(value)
                .map(Self::Ids)
                .map_err(invalid_json),
            serde_json::Value::Object(_) => serde_json::from_value(value)
                .map(Self::Object)
                .map_err(invalid_json),
            _ => Err(Error::InvalidRequest(
                "the body must be an array of ids or {\"ids\": [...]}".into(),
            )),
        }
    }

    fn into_ids(self) -> Vec<String> {
        match self {
            Self::Ids(ids) | Self::Object(BatchDeleteIds { ids }) => ids,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct BatchDeleteAssetsDto {
    requested_count: u32,
    deleted_count: u32,
    not_found_ids: Vec<String>,
}

impl From<BatchDeleteOutcome> for BatchDeleteAssetsDto {
    fn from(o: BatchDeleteOutcome) -> Self {
        BatchDeleteAssetsDto {
            requested_count: o.requested_count,
            deleted_count: o.deleted_count,
            not_found_ids: o.not_found_ids,
        }
    }
}

#[utoipa::path(
    post,
    operation_id = "batchDeleteAssets",
    path = "/api/v1/assets/batch-delete",
    tag = "assets",
    request_body = BatchDeleteAssetsBody,
    responses((status = OK, body = Data<BatchDeleteAssetsDto>))
)]
pub async fn batch_delete(
    State(services): State<Services>,
    Caller(principal): Caller,
    JsonValue(body): JsonValue,
) -> Result<impl IntoResponse, ApiError> {
    let ids = BatchDeleteAssetsBody::parse(body)?.into_ids();
    let outcome = services.assets.batch_delete(&principal, ids).await?;
    Ok(data(BatchDeleteAssetsDto::from(outcome)))
}

#[utoipa::path(
    get,
    operation_id = "getAssetContent",
    path = "/api/v1/assets/{id}/content",
    tag = "assets",
    params(AssetIdPath),
    responses((status = OK, description = "The bytes", content_type = "image/*"),
        (status = PARTIAL_CONTENT, description = "The requested range", content_type = "image/*"),
        (status = NOT_MODIFIED, description = "`If-None-Match` matched the `ETag` (the SHA-256)"),
        (status = TEMPORARY_REDIRECT, description = "A public asset: its public URL", headers(("Location" = String))))
)]
pub async fn content(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(AssetIdPath { id }): Path<AssetIdPath>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(RangeRequest::parse_header);
    match services
        .assets
        .content(&principal, &id, range, true)
        .await?
    {
        Content::Redirect(url) => {
            Ok((StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, url)]).into_response())
        }
        Content::Bytes(body) => Ok(content_response(body, &headers, "private, no-store")),
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UsageStatsDto {
    total_assets: u64,
    total_bytes: u64,
    total_derivatives: u64,
    content_type_breakdown: Vec<ContentTypeUsageDto>,
    most_active_skill: Option<SkillUsageDto>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ContentTypeUsageDto {
    content_type: String,
    count: u64,
    total_bytes: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SkillUsageDto {
    skill_name: String,
    run_count: u64,
}

impl From<UsageStats> for UsageStatsDto {
    fn from(stats: UsageStats) -> Self {
        UsageStatsDto {
            total_assets: stats.total_assets,
            total_bytes: stats.total_bytes,
            total_derivatives: stats.total_derivatives,
            content_type_breakdown: stats
                .content_type_breakdown
                .into_iter()
                .map(|c| ContentTypeUsageDto {
                    content_type: c.content_type,
                    count: c.count,
                    total_bytes: c.total_bytes,
                })
                .collect(),
            most_active_skill: stats.most_active_skill.map(|s| SkillUsageDto {
                skill_name: s.skill_name,
                run_count: s.run_count,
            }),
        }
    }
}

#[utoipa::path(
    get,
    operation_id = "getUsageStats",
    path = "/api/v1/assets/usage-stats",
    tag = "assets",
    responses((status = OK, body = Data<UsageStatsDto>))
)]
pub async fn usage_stats(
    State(services): State<Services>,
    Caller(principal): Caller,
) -> Result<impl IntoResponse, ApiError> {
    let stats = services.assets.usage_stats(&principal).await?;
    Ok(data(UsageStatsDto::from(stats)))
}
