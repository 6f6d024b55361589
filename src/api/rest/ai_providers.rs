use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};
use serde::{Deserialize, Serialize};

use super::{ApiError, Caller, JsonBody, data, present, utc};
use crate::{
    domain::{AiProvider, AiProviderPatch, AiProviderTest, NewAiProvider},
    service::Services,
};

#[derive(Serialize)]
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBody {
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    api_base_url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    api_key: Option<Option<String>>,
    #[serde(default)]
    model_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    default_system_prompt: Option<Option<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TestDto {
    succeeded: bool,
    caption: Option<String>,
    error_message: Option<String>,
    model_name: String,
    latency_ms: u64,
}

impl From<AiProviderTest> for TestDto {
    fn from(t: AiProviderTest) -> Self {
        TestDto {
            succeeded: t.succeeded,
            caption: t.caption,
            error_message: t.error_message,
            model_name: t.model_name,
            latency_ms: t.latency_ms,
        }
    }
}

pub async fn list(
    State(services): State<Services>,
    Caller(principal): Caller,
) -> Result<impl IntoResponse, ApiError> {
    let providers = services.ai_providers.list(&principal).await?;
    Ok(data(
        providers
            .into_iter()
            .map(AiProviderDto::from)
            .collect::<Vec<_>>(),
    ))
}

pub async fn get(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(AiProviderDto::from(
        services.ai_providers.get(&principal, &id).await?,
    )))
}

pub async fn create(
    State(services): State<Services>,
    Caller(principal): Caller,
    JsonBody(body): JsonBody<CreateBody>,
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

pub async fn update(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PatchBody>,
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

pub async fn delete(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(AiProviderDto::from(
        services.ai_providers.delete(&principal, &id).await?,
    )))
}

pub async fn activate(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(AiProviderDto::from(
        services.ai_providers.activate(&principal, &id).await?,
    )))
}

pub async fn test(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(TestDto::from(
        services.ai_providers.test(&principal, &id).await?,
    )))
}
