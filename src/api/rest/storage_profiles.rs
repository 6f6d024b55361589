use axum::{extract::State, response::IntoResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::Path;
use super::{ApiError, Authenticated, Data, IdPath, JsonBody, created, data, present, utc};
use crate::{
    domain::{
        DeletedStorageProfile, NewStorageProfile, StorageOverview, StorageProfile,
        StorageProfilePatch,
    },
    service::Services,
};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StorageProfileDto {
    id: String,
    name: String,
    display_name: String,
    /// `local`, `s3-compatible`, `github-repo` or `github-releases`.
    provider_type: &'static str,
    is_enabled: bool,
    is_default: bool,
    /// NekoHub's ten flags: `supportsPublicRead`, `supportsPrivateRead`,
    /// `supportsVisibilityToggle`, `supportsDelete`, `supportsDirectPublicUrl`,
    /// `requiresAccessProxy`, `recommendedForPrimaryStorage`, `isPlatformBacked`,
    /// `isExperimental`, `requiresTokenForPrivateRead`.
    #[schema(value_type = Object)]
    capabilities: Value,
    /// NekoHub's eighteen keys (null where absent) and `hasSecret`; never a secret.
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

/// Where uploads without a profile go now.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct StorageRuntimeDto {
    provider_type: &'static str,
    provider_name: String,
    #[schema(value_type = Object)]
    capabilities: Value,
    is_configuration_driven: bool,
    matches_default_profile_type: Option<bool>,
}

/// Whether the runtime agrees with the database's default.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct StorageAlignmentDto {
    /// `database-default-profile` or `configuration`.
    runtime_selection_source: &'static str,
    has_default_profile: bool,
    is_default_profile_enabled: Option<bool>,
    provider_type_matches_default_profile: Option<bool>,
    /// `runtime_matches_db_default_provider_type`, `db_default_profile_disabled`
    /// or `db_default_profile_missing`.
    code: &'static str,
    message: &'static str,
}

/// NekoHub's storage overview.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StorageOverviewDto {
    /// The default first, then enabled profiles, by name.
    profiles: Vec<StorageProfileDto>,
    default_profile: Option<StorageProfileDto>,
    /// The same as `defaultProfile`.
    default_write_profile: Option<StorageProfileDto>,
    runtime: StorageRuntimeDto,
    alignment: StorageAlignmentDto,
}

impl From<StorageOverview> for StorageOverviewDto {
    fn from(o: StorageOverview) -> Self {
        StorageOverviewDto {
            profiles: o
                .profiles
                .into_iter()
                .map(StorageProfileDto::from)
                .collect(),
            default_write_profile: o.default_profile.clone().map(StorageProfileDto::from),
            default_profile: o.default_profile.map(StorageProfileDto::from),
            runtime: StorageRuntimeDto {
                provider_type: o.runtime.provider_type.as_str(),
                provider_name: o.runtime.provider_name,
                capabilities: o.runtime.capabilities,
                is_configuration_driven: o.runtime.is_configuration_driven,
                matches_default_profile_type: o.runtime.matches_default_profile_type,
            },
            alignment: StorageAlignmentDto {
                runtime_selection_source: o.alignment.runtime_selection_source,
                has_default_profile: o.alignment.has_default_profile,
                is_default_profile_enabled: o.alignment.is_default_profile_enabled,
                provider_type_matches_default_profile: o
                    .alignment
                    .provider_type_matches_default_profile,
                code: o.alignment.code,
                message: o.alignment.message,
            },
        }
    }
}

/// What a delete did.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeletedStorageProfileDto {
    id: String,
    was_default: bool,
    /// `deleted`, or `disabled` when assets still use the profile.
    status: &'static str,
    deleted_at_utc: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateStorageProfileBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    /// `local`, `s3-compatible` (or `s3`), `github-repo` or `github-releases`.
    #[serde(default)]
    provider_type: String,
    #[serde(default)]
    is_default: bool,
    #[serde(default)]
    is_enabled: Option<bool>,
    /// The provider's settings.
    #[serde(default)]
    #[schema(value_type = Object)]
    configuration: Option<Value>,
    /// The credentials (`accessKey`, `secretKey`; `token`): encrypted at rest,
    /// never returned.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    secret_configuration: Option<Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateStorageProfileBody {
    #[serde(default)]
    name: Option<String>,
    /// `null` shows the name instead.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    display_name: Option<Option<String>>,
    #[serde(default)]
    is_enabled: Option<bool>,
    /// Replaces the stored configuration whole.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    configuration: Option<Option<Value>>,
    /// Absent keeps the stored credentials; `null` clears them.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    secret_configuration: Option<Option<Value>>,
}

impl From<DeletedStorageProfile> for DeletedStorageProfileDto {
    fn from(deleted: DeletedStorageProfile) -> Self {
        DeletedStorageProfileDto {
            id: deleted.id,
            was_default: deleted.was_default,
            status: deleted.status.as_str(),
            deleted_at_utc: utc(deleted.deleted_at),
        }
    }
}

impl CreateStorageProfileBody {
    pub(crate) fn into_new(self) -> NewStorageProfile {
        NewStorageProfile {
            name: self.name,
            display_name: self.display_name,
            provider_type: self.provider_type,
            is_default: self.is_default,
            is_enabled: self.is_enabled,
            configuration: self.configuration,
            secret_configuration: self.secret_configuration,
        }
    }
}

impl UpdateStorageProfileBody {
    pub(crate) fn into_patch(self) -> StorageProfilePatch {
        StorageProfilePatch {
            name: self.name,
            display_name: self.display_name,
            is_enabled: self.is_enabled,
            configuration: self.configuration.map(|c| c.unwrap_or(Value::Null)),
            secret_configuration: self.secret_configuration.map(|s| s.unwrap_or(Value::Null)),
        }
    }
}

#[utoipa::path(
    get,
    operation_id = "getStorageOverview",
    path = "/api/v1/system/storage/providers",
    tag = "storage",
    responses((status = OK, body = Data<StorageOverviewDto>))
)]
pub async fn list(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
) -> Result<impl IntoResponse, ApiError> {
    let overview = services.storage_profiles.overview(&principal).await?;
    Ok(data(StorageOverviewDto::from(overview)))
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
    let profile = services
        .storage_profiles
        .create(&principal, body.into_new())
        .await?;
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
    Ok(data(StorageProfileDto::from(
        services
            .storage_profiles
            .update(&principal, &id, body.into_patch())
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
    responses((status = OK, body = Data<DeletedStorageProfileDto>))
)]
pub async fn delete(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    let deleted = services.storage_profiles.delete(&principal, &id).await?;
    Ok(data(DeletedStorageProfileDto::from(deleted)))
}
