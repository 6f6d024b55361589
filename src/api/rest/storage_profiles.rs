use axum::{extract::State, response::IntoResponse};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::Path;
use super::{ApiError, Authenticated, Data, IdPath, JsonBody, created, data, utc};
use crate::{
    domain::{NewStorageProfile, StorageProfile, StorageProfilePatch},
    service::Services,
};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct StorageProfileDto {
    id: String,
    name: String,
    display_name: String,
    provider_type: &'static str,
    is_enabled: bool,
    is_default: bool,
    /// What the backend can do, e.g. whether it serves public URLs.
    #[schema(value_type = Object)]
    capabilities: Value,
    /// The configuration without secrets.
    #[schema(value_type = Object)]
    configuration_summary: Value,
    created_at_utc: String,
    updated_at_utc: String,
}

impl From<StorageProfile> for StorageProfileDto {
    fn from(p: StorageProfile) -> Self {
        StorageProfileDto {
            id: p.id,
            name: p.name,
            display_name: p.display_name,
            provider_type: p.provider_type.as_str(),
            is_enabled: p.is_enabled,
            is_default: p.is_default,
            capabilities: p.capabilities,
            configuration_summary: p.configuration_summary,
            created_at_utc: utc(p.created_at),
            updated_at_utc: utc(p.updated_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateStorageProfileBody {
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    /// `local`, `s3` or `github-repo`.
    provider_type: String,
    #[serde(default)]
    is_default: bool,
    #[serde(default)]
    is_enabled: Option<bool>,
    /// Backend settings; secrets in it are encrypted at rest and never returned.
    #[serde(default)]
    #[schema(value_type = Object)]
    configuration: Map<String, Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateStorageProfileBody {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    is_enabled: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    configuration: Option<Map<String, Value>>,
}

#[utoipa::path(
    get,
    operation_id = "listStorageProfiles",
    path = "/api/v1/system/storage/providers",
    tag = "storage",
    responses((status = OK, body = Data<Vec<StorageProfileDto>>))
)]
pub async fn list(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
) -> Result<impl IntoResponse, ApiError> {
    let profiles = services.storage_profiles.list(&principal).await?;
    Ok(data(
        profiles
            .into_iter()
            .map(StorageProfileDto::from)
            .collect::<Vec<_>>(),
    ))
}

#[utoipa::path(
    get,
    operation_id = "getStorageProfile",
    path = "/api/v1/system/storage/providers/{id}",
    tag = "storage",
    params(IdPath),
    responses((status = OK, body = Data<StorageProfileDto>))
)]
pub async fn get(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(StorageProfileDto::from(
        services.storage_profiles.get(&principal, &id).await?,
    )))
}

#[utoipa::path(
    post,
    operation_id = "createStorageProfile",
    path = "/api/v1/system/storage/providers",
    tag = "storage",
    request_body = CreateStorageProfileBody,
    responses((status = CREATED, body = Data<StorageProfileDto>, headers(("Location" = String))))
)]
pub async fn create(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody<CreateStorageProfileBody>,
) -> Result<impl IntoResponse, ApiError> {
    let input = NewStorageProfile {
        name: body.name,
        display_name: body.display_name,
        provider_type: body.provider_type,
        is_default: body.is_default,
        is_enabled: body.is_enabled,
        configuration: body.configuration,
    };
    let profile = services.storage_profiles.create(&principal, input).await?;
    Ok(created(
        format!("/api/v1/system/storage/providers/{}", profile.id),
        StorageProfileDto::from(profile),
    ))
}

#[utoipa::path(
    patch,
    operation_id = "updateStorageProfile",
    path = "/api/v1/system/storage/providers/{id}",
    tag = "storage",
    params(IdPath),
    request_body = UpdateStorageProfileBody,
    responses((status = OK, body = Data<StorageProfileDto>))
)]
pub async fn update(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
    JsonBody(body): JsonBody<UpdateStorageProfileBody>,
) -> Result<impl IntoResponse, ApiError> {
    let patch = StorageProfilePatch {
        display_name: body.display_name,
        is_enabled: body.is_enabled,
        configuration: body.configuration,
    };
    Ok(data(StorageProfileDto::from(
        services
            .storage_profiles
            .update(&principal, &id, patch)
            .await?,
    )))
}

async fn set_enabled(
    services: &Services,
    principal: &crate::domain::Principal,
    id: &str,
    enabled: bool,
) -> Result<StorageProfileDto, ApiError> {
    let patch = StorageProfilePatch {
        is_enabled: Some(enabled),
        ..StorageProfilePatch::default()
    };
    Ok(StorageProfileDto::from(
        services
            .storage_profiles
            .update(principal, id, patch)
            .await?,
    ))
}

#[utoipa::path(
    post,
    operation_id = "enableStorageProfile",
    path = "/api/v1/system/storage/providers/{id}/enable",
    tag = "storage",
    params(IdPath),
    responses((status = OK, body = Data<StorageProfileDto>))
)]
pub async fn enable(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(set_enabled(&services, &principal, &id, true).await?))
}

#[utoipa::path(
    post,
    operation_id = "disableStorageProfile",
    path = "/api/v1/system/storage/providers/{id}/disable",
    tag = "storage",
    params(IdPath),
    responses((status = OK, body = Data<StorageProfileDto>))
)]
pub async fn disable(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(set_enabled(&services, &principal, &id, false).await?))
}

#[utoipa::path(
    post,
    operation_id = "setDefaultStorageProfile",
    path = "/api/v1/system/storage/providers/{id}/default",
    tag = "storage",
    params(IdPath),
    responses((status = OK, body = Data<StorageProfileDto>))
)]
pub async fn set_default(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(StorageProfileDto::from(
        services
            .storage_profiles
            .set_default(&principal, &id)
            .await?,
    )))
}

/// NekoHub's path for the same operation (its console calls this one).
#[utoipa::path(
    post,
    operation_id = "setDefaultStorageProfileNekoHub",
    path = "/api/v1/system/storage/providers/{id}/set-default",
    tag = "storage",
    params(IdPath),
    responses((status = OK, body = Data<StorageProfileDto>))
)]
pub async fn set_default_nekohub(
    services: State<Services>,
    principal: Authenticated,
    id: Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    set_default(services, principal, id).await
}

#[utoipa::path(
    delete,
    operation_id = "deleteStorageProfile",
    path = "/api/v1/system/storage/providers/{id}",
    tag = "storage",
    params(IdPath),
    responses((status = OK, body = Data<StorageProfileDto>))
)]
pub async fn delete(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(StorageProfileDto::from(
        services.storage_profiles.delete(&principal, &id).await?,
    )))
}
