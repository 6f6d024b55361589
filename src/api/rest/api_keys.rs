use axum::{extract::State, http::StatusCode, response::IntoResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Path;
use super::{ApiError, Authenticated, Data, IdPath, JsonBody, data, utc};
use crate::{domain::ApiKeyInfo, service::Services};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ApiKeyDto {
    id: String,
    name: String,
    prefix: String,
    scopes: Vec<&'static str>,
    created_at_utc: String,
    last_used_at_utc: Option<String>,
    revoked_at_utc: Option<String>,
}

impl From<ApiKeyInfo> for ApiKeyDto {
    fn from(k: ApiKeyInfo) -> Self {
        ApiKeyDto {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes.names(),
            created_at_utc: utc(k.created_at),
            last_used_at_utc: k.last_used_at.map(utc),
            revoked_at_utc: k.revoked_at.map(utc),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreatedApiKeyDto {
    #[serde(flatten)]
    api_key: ApiKeyDto,
    /// Shown only in this answer.
    key: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKeyBody {
    name: String,
    /// Permissions such as `assets.read`; absent means the creator's own.
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

#[utoipa::path(
    get,
    operation_id = "listApiKeys",
    path = "/api/v1/apikeys",
    tag = "apikeys",
    responses((status = OK, body = Data<Vec<ApiKeyDto>>))
)]
pub async fn list(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
) -> Result<impl IntoResponse, ApiError> {
    let keys = services.auth.list_api_keys(&principal).await?;
    Ok(data(
        keys.into_iter().map(ApiKeyDto::from).collect::<Vec<_>>(),
    ))
}

#[utoipa::path(
    post,
    operation_id = "createApiKey",
    path = "/api/v1/apikeys",
    tag = "apikeys",
    request_body = CreateApiKeyBody,
    responses((status = CREATED, body = Data<CreatedApiKeyDto>))
)]
pub async fn create(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody<CreateApiKeyBody>,
) -> Result<impl IntoResponse, ApiError> {
    let (created, info) = services
        .auth
        .create_api_key_for(&principal, &body.name, body.scopes)
        .await?;
    let dto = CreatedApiKeyDto {
        api_key: info.into(),
        key: created.key.expose().to_string(),
    };
    Ok((StatusCode::CREATED, data(dto)))
}

#[utoipa::path(
    delete,
    operation_id = "revokeApiKey",
    path = "/api/v1/apikeys/{id}",
    tag = "apikeys",
    params(IdPath),
    responses((status = NO_CONTENT, description = "The key is revoked"))
)]
pub async fn revoke(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    services.auth.revoke_api_key(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
