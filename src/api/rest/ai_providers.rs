use axum::{extract::State, response::IntoResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Path;
use super::{ApiError, Authenticated, Data, IdPath, JsonBody, created, data, present, utc};
use crate::{
    domain::{
        AiProvider, AiProviderPatch, AiProviderTest, AiProviderTestRequest, DeletedAiProvider,
        NewAiProvider,
    },
    service::Services,
};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AiProviderDto {
    id: String,
    name: String,
    api_base_url: String,
    /// Masked as NekoHub does: `sk-***`, or at most four leading characters
    /// and `***` (none for keys under 16 characters); `null` without a key.
    api_key: Option<String>,
    model_name: String,
    /// The prompt in use: the profile's own, or the default one.
    default_system_prompt: String,
    is_active: bool,
    created_at_utc: String,
    updated_at_utc: String,
}

impl From<AiProvider> for AiProviderDto {
    fn from(p: AiProvider) -> Self {
        AiProviderDto {
            id: p.id,
            name: p.name,
            api_base_url: p.api_base_url,
            api_key: p.api_key_masked,
            model_name: p.model_name,
            default_system_prompt: p.default_system_prompt.unwrap_or_default(),
            is_active: p.is_active,
            created_at_utc: utc(p.created_at),
            updated_at_utc: utc(p.updated_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAiProviderBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    api_base_url: String,
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    model_name: String,
    #[serde(default)]
    default_system_prompt: Option<String>,
    /// Default: active when no other profile is.
    #[serde(default)]
    is_active: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateAiProviderBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    api_base_url: Option<String>,
    /// `null` removes the key.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    api_key: Option<Option<String>>,
    #[serde(default)]
    model_name: Option<String>,
    /// `null` or blank returns to the default prompt.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    default_system_prompt: Option<Option<String>>,
    /// `true` makes it the active profile (the others inactive); `false`
    /// leaves none active.
    #[serde(default)]
    is_active: Option<bool>,
}

/// `POST .../test`: a saved profile (`profileId`; any other non-blank field
/// overrides its value) or an unsaved configuration (`apiBaseUrl` and
/// `modelName` required).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestAiProviderBody {
    #[serde(default)]
    profile_id: Option<String>,
    #[serde(default)]
    api_base_url: Option<String>,
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    model_name: Option<String>,
    #[serde(default)]
    default_system_prompt: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeletedAiProviderDto {
    id: String,
    was_active: bool,
    /// Always `deleted`.
    status: &'static str,
    deleted_at_utc: String,
}

impl From<DeletedAiProvider> for DeletedAiProviderDto {
    fn from(d: DeletedAiProvider) -> Self {
        DeletedAiProviderDto {
            id: d.id,
            was_active: d.was_active,
            status: "deleted",
            deleted_at_utc: utc(d.deleted_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AiProviderTestDto {
    succeeded: bool,
    caption: Option<String>,
    error_message: Option<String>,
    /// The model and base URL the test called (NekoHub's names).
    resolved_model_name: String,
    resolved_api_base_url: String,
    /// The same model name, as earlier tessera versions sent it.
    model_name: String,
    latency_ms: u64,
}

impl From<AiProviderTest> for AiProviderTestDto {
    fn from(t: AiProviderTest) -> Self {
        AiProviderTestDto {
            succeeded: t.succeeded,
            caption: t.caption,
            error_message: t.error_message,
            resolved_model_name: t.model_name.clone(),
            resolved_api_base_url: t.api_base_url,
            model_name: t.model_name,
            latency_ms: t.latency_ms,
        }
    }
}

#[utoipa::path(
    get,
    operation_id = "listAiProviders",
    path = "/api/v1/system/ai/providers",
    tag = "ai",
    responses((status = OK, body = Data<Vec<AiProviderDto>>))
)]
pub async fn list(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
) -> Result<impl IntoResponse, ApiError> {
    let providers = services.ai_providers.list(&principal).await?;
    Ok(data(
        providers
            .into_iter()
            .map(AiProviderDto::from)
            .collect::<Vec<_>>(),
    ))
}

#[utoipa::path(
    get,
    operation_id = "getAiProvider",
    path = "/api/v1/system/ai/providers/{id}",
    tag = "ai",
    params(IdPath),
    responses((status = OK, body = Data<AiProviderDto>))
)]
pub async fn get(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(AiProviderDto::from(
        services.ai_providers.get(&principal, &id).await?,
    )))
}

#[utoipa::path(
    post,
    operation_id = "createAiProvider",
    path = "/api/v1/system/ai/providers",
    tag = "ai",
    request_body = CreateAiProviderBody,
    responses((status = CREATED, body = Data<AiProviderDto>, headers(("Location" = String))))
)]
pub async fn create(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody<CreateAiProviderBody>,
) -> Result<impl IntoResponse, ApiError> {
    let input = NewAiProvider {
        name: body.name,
        api_base_url: body.api_base_url,
        api_key: body.api_key,
        model_name: body.model_name,
        default_system_prompt: body.default_system_prompt,
        is_active: body.is_active,
    };
    let profile = services.ai_providers.create(&principal, input).await?;
    Ok(created(
        format!("/api/v1/system/ai/providers/{}", profile.id),
        AiProviderDto::from(profile),
    ))
}

#[utoipa::path(
    patch,
    operation_id = "updateAiProvider",
    path = "/api/v1/system/ai/providers/{id}",
    tag = "ai",
    params(IdPath),
    request_body = UpdateAiProviderBody,
    responses((status = OK, body = Data<AiProviderDto>))
)]
pub async fn update(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
    JsonBody(body): JsonBody<UpdateAiProviderBody>,
) -> Result<impl IntoResponse, ApiError> {
    let patch = AiProviderPatch {
        name: body.name,
        api_base_url: body.api_base_url,
        api_key: body.api_key,
        model_name: body.model_name,
        default_system_prompt: body.default_system_prompt,
        is_active: body.is_active,
    };
    Ok(data(AiProviderDto::from(
        services.ai_providers.update(&principal, &id, patch).await?,
    )))
}

#[utoipa::path(
    delete,
    operation_id = "deleteAiProvider",
    path = "/api/v1/system/ai/providers/{id}",
    tag = "ai",
    params(IdPath),
    responses((status = OK, body = Data<DeletedAiProviderDto>))
)]
pub async fn delete(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(DeletedAiProviderDto::from(
        services.ai_providers.delete(&principal, &id).await?,
    )))
}

#[utoipa::path(
    get,
    operation_id = "getActiveAiProvider",
    path = "/api/v1/system/ai/providers/active",
    tag = "ai",
    responses((status = OK, description = "The active profile, or `null` when none is", body = Data<Option<AiProviderDto>>))
)]
pub async fn active(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
) -> Result<impl IntoResponse, ApiError> {
    let active = services.ai_providers.active(&principal).await?;
    Ok(data(active.map(AiProviderDto::from)))
}

#[utoipa::path(
    post,
    operation_id = "testAiProviderConfiguration",
    path = "/api/v1/system/ai/providers/test",
    tag = "ai",
    request_body = TestAiProviderBody,
    responses((status = OK, description = "The call's outcome; an AI failure is `succeeded: false`", body = Data<AiProviderTestDto>))
)]
pub async fn test_configuration(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody<TestAiProviderBody>,
) -> Result<impl IntoResponse, ApiError> {
    let request = AiProviderTestRequest {
        profile_id: body.profile_id,
        api_base_url: body.api_base_url,
        api_key: body.api_key,
        model_name: body.model_name,
        default_system_prompt: body.default_system_prompt,
    };
    Ok(data(AiProviderTestDto::from(
        services.ai_providers.test(&principal, request).await?,
    )))
}

#[utoipa::path(
    post,
    operation_id = "activateAiProvider",
    path = "/api/v1/system/ai/providers/{id}/activate",
    tag = "ai",
    params(IdPath),
    responses((status = OK, body = Data<AiProviderDto>))
)]
pub async fn activate(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(AiProviderDto::from(
        services.ai_providers.activate(&principal, &id).await?,
    )))
}

#[utoipa::path(
    post,
    operation_id = "testAiProvider",
    path = "/api/v1/system/ai/providers/{id}/test",
    tag = "ai",
    params(IdPath),
    responses((status = OK, body = Data<AiProviderTestDto>))
)]
pub async fn test(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    let request = AiProviderTestRequest {
        profile_id: Some(id),
        ..AiProviderTestRequest::default()
    };
    Ok(data(AiProviderTestDto::from(
        services.ai_providers.test(&principal, request).await?,
    )))
}

/// `PUT` behaves as `PATCH`: only the fields present change.
#[utoipa::path(
    put,
    operation_id = "replaceAiProvider",
    path = "/api/v1/system/ai/providers/{id}",
    tag = "ai",
    params(IdPath),
    request_body = UpdateAiProviderBody,
    responses((status = OK, body = Data<AiProviderDto>))
)]
pub async fn replace(
    services: State<Services>,
    caller: Authenticated,
    id: Path<IdPath>,
    body: JsonBody<UpdateAiProviderBody>,
) -> Result<impl IntoResponse, ApiError> {
    update(services, caller, id, body).await
}
