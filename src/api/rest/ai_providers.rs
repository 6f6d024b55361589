use axum::{extract::State, http::StatusCode, response::IntoResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Path;
use super::{ApiError, Authenticated, Data, IdPath, JsonBody, data, present, utc};
use crate::{
    domain::{AiProvider, AiProviderPatch, AiProviderTest, NewAiProvider},
    service::Services,
};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AiProviderDto {
    id: String,
    name: String,
    api_base_url: String,
    /// Masked: `****` and at most the last four characters.
    api_key: Option<String>,
    model_name: String,
    default_system_prompt: Option<String>,
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
            default_system_prompt: p.default_system_prompt,
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
    #[serde(default)]
    is_active: bool,
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
    /// `null` clears the prompt.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    default_system_prompt: Option<Option<String>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AiProviderTestDto {
    succeeded: bool,
    caption: Option<String>,
    error_message: Option<String>,
    model_name: String,
    latency_ms: u64,
}

impl From<AiProviderTest> for AiProviderTestDto {
    fn from(t: AiProviderTest) -> Self {
        AiProviderTestDto {
            succeeded: t.succeeded,
            caption: t.caption,
            error_message: t.error_message,
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
    responses((status = CREATED, body = Data<AiProviderDto>))
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
    let created = services.ai_providers.create(&principal, input).await?;
    Ok((StatusCode::CREATED, data(AiProviderDto::from(created))))
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
    responses((status = OK, body = Data<AiProviderDto>))
)]
pub async fn delete(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(AiProviderDto::from(
        services.ai_providers.delete(&principal, &id).await?,
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
    Ok(data(AiProviderTestDto::from(
        services.ai_providers.test(&principal, &id).await?,
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
