use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ApiError, Caller, JsonBody, data, utc};
use crate::{
    domain::{NewStorageProfile, StorageProfile, StorageProfilePatch},
    service::Services,
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StorageProfileDto {
    id: String,
    name: String,
    display_name: String,
    provider_type: String,
    is_enabled: bool,
    is_default: bool,
    capabilities: Value,
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
            provider_type: p.provider_type,
            is_enabled: p.is_enabled,
            is_default: p.is_default,
            capabilities: p.capabilities,
            configuration_summary: p.configuration_summary,
            created_at_utc: utc(p.created_at),
            updated_at_utc: utc(p.updated_at),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBody {
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    provider_type: String,
    #[serde(default)]
    is_default: bool,
    #[serde(default)]
    is_enabled: Option<bool>,
    #[serde(default)]
    configuration: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchBody {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    is_enabled: Option<bool>,
    #[serde(default)]
    configuration: Option<Map<String, Value>>,
}

pub async fn list(
    State(services): State<Services>,
    Caller(principal): Caller,
) -> Result<impl IntoResponse, ApiError> {
    let profiles = services.storage_profiles.list(&principal).await?;
    Ok(data(
        profiles
            .into_iter()
            .map(StorageProfileDto::from)
            .collect::<Vec<_>>(),
    ))
}

pub async fn get(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(StorageProfileDto::from(
        services.storage_profiles.get(&principal, &id).await?,
    )))
}

pub async fn create(
    State(services): State<Services>,
    Caller(principal): Caller,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let input = NewStorageProfile {
        name: body.name,
        display_name: body.display_name,
        provider_type: body.provider_type,
        is_default: body.is_default,
        is_enabled: body.is_enabled,
        configuration: body.configuration,
    };
    let created = services.storage_profiles.create(&principal, input).await?;
    Ok((StatusCode::CREATED, data(StorageProfileDto::from(created))))
}

pub async fn update(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PatchBody>,
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

pub async fn enable(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(set_enabled(&services, &principal, &id, true).await?))
}

pub async fn disable(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(set_enabled(&services, &principal, &id, false).await?))
}

pub async fn set_default(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(StorageProfileDto::from(
        services
            .storage_profiles
            .set_default(&principal, &id)
            .await?,
    )))
}

pub async fn delete(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(StorageProfileDto::from(
        services.storage_profiles.delete(&principal, &id).await?,
    )))
}
