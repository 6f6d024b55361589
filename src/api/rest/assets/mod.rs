mod dto;
mod upload;

pub use dto::AssetDto;
pub use upload::__path_upload;
pub use upload::upload;

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema, openapi::Object};

use super::{
    ApiError, AssetIdPath, Authenticated, Data, JsonBody, JsonValue, content::content_response,
    data, invalid_json, one_of, optional_json, present, utc,
};
use super::{Path, Query, QueryAliases};
use crate::{
    domain::{
        AssetPatch, AssetStatus, BatchDeleteOutcome, ContentRequest, DeletedAsset, Delivery,
        ListParams, RangeRequest, UsageStats,
    },
    error::Error,
    service::{Content, Services},
};
pub(crate) use dto::AssetPageDto;

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
    Authenticated(principal): Authenticated,
    Query(query): Query<AssetListQuery>,
) -> Result<impl IntoResponse, ApiError> {
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

impl QueryAliases for AssetListQuery {
    const ALIASES: &'static [&'static str] = &["keyword", "sortBy", "sortDirection"];
}

/// The statuses, and NekoHub's `deleted` (which matches nothing here).
fn status_values() -> Object {
    let mut values = AssetStatus::ALL.map(AssetStatus::as_str).to_vec();
    values.push("deleted");
    one_of(&values)
}

fn order_by_values() -> Object {
    one_of(&["createdAtUtc", "size"])
}

fn order_direction_values() -> Object {
    one_of(&["desc", "asc"])
}

/// An empty value is a bad value like any other (an empty `query` means no
/// search, which the service decides).
pub(crate) fn list_params(query: AssetListQuery) -> Result<ListParams, Error> {
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
    Authenticated(principal): Authenticated,
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

impl UpdateAssetBody {
    pub(crate) fn into_patch(self) -> AssetPatch {
        AssetPatch {
            description: self.description,
            alt_text: self.alt_text,
            original_file_name: self.original_file_name,
            is_public: self.is_public,
        }
    }
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
    Authenticated(principal): Authenticated,
    Path(AssetIdPath { id }): Path<AssetIdPath>,
    JsonBody(body): JsonBody<UpdateAssetBody>,
) -> Result<impl IntoResponse, ApiError> {
    let details = services
        .assets
        .update(&principal, &id, body.into_patch())
        .await?;
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
pub(crate) struct DeletedAssetDto {
    id: String,
    status: &'static str,
    deleted_at_utc: String,
}

impl From<DeletedAsset> for DeletedAssetDto {
    /// A receipt, as NekoHub words it: the asset is now `deleted`.
    fn from(deleted: DeletedAsset) -> Self {
        DeletedAssetDto {
            id: deleted.id.to_string(),
            status: "deleted",
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
    Authenticated(principal): Authenticated,
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
pub(crate) struct BatchDeleteAssetsDto {
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
    Authenticated(principal): Authenticated,
    JsonValue(body): JsonValue,
) -> Result<impl IntoResponse, ApiError> {
    let ids = BatchDeleteAssetsBody::parse(body)?.into_ids();
    let outcome = services.assets.batch_delete(&principal, ids).await?;
    Ok(data(BatchDeleteAssetsDto::from(outcome)))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ContentQuery {
    /// A derivative's kind (e.g. `thumbnail_256`) to serve instead of the
    /// original; plain `thumbnail` is the asset's preview.
    derivative_kind: Option<String>,
}

impl QueryAliases for ContentQuery {}

#[utoipa::path(
    get,
    operation_id = "getAssetContent",
    path = "/api/v1/assets/{id}/content",
    tag = "assets",
    params(AssetIdPath, ContentQuery),
    responses((status = OK, description = "The bytes", content_type = "image/*"),
        (status = PARTIAL_CONTENT, description = "The requested range", content_type = "image/*"),
        (status = NOT_MODIFIED, description = "`If-None-Match` matched the `ETag` (the SHA-256)"),
        (status = TEMPORARY_REDIRECT, description = "A public asset: its public URL", headers(("Location" = String))))
)]
pub async fn content(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(AssetIdPath { id }): Path<AssetIdPath>,
    Query(query): Query<ContentQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(RangeRequest::parse_header);
    match services
        .assets
        .content(
            &principal,
            &id,
            ContentRequest {
                range,
                delivery: Delivery::LinkWhenPublic,
                derivative_kind: query.derivative_kind,
            },
        )
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
pub(crate) struct UsageStatsDto {
    total_assets: u64,
    total_bytes: u64,
    total_derivatives: u64,
    content_type_breakdown: Vec<ContentTypeUsageDto>,
    most_active_skill: Option<SkillUsageDto>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContentTypeUsageDto {
    content_type: String,
    count: u64,
    total_bytes: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SkillUsageDto {
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
    Authenticated(principal): Authenticated,
) -> Result<impl IntoResponse, ApiError> {
    let stats = services.assets.usage_stats(&principal).await?;
    Ok(data(UsageStatsDto::from(stats)))
}
