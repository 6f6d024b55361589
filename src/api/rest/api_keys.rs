use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};
use serde::{Deserialize, Serialize};

use super::{ApiError, Caller, JsonBody, data, utc};
use crate::{domain::ApiKeyInfo, service::Services};

#[derive(Serialize)]
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
            scopes: k.scopes.iter().map(|p| p.as_str()).collect(),
            created_at_utc: utc(k.created_at),
            last_used_at_utc: k.last_used_at.map(utc),
            revoked_at_utc: k.revoked_at.map(utc),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreatedDto {
    #[serde(flatten)]
    api_key: ApiKeyDto,
    /// Shown only in this answer.
    key: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBody {
    name: String,
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

pub async fn list(
    State(services): State<Services>,
    Caller(principal): Caller,
) -> Result<impl IntoResponse, ApiError> {
    let keys = services.auth.list_api_keys(&principal).await?;
    Ok(data(
        keys.into_iter().map(ApiKeyDto::from).collect::<Vec<_>>(),
    ))
}

pub async fn create(
    State(services): State<Services>,
    Caller(principal): Caller,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let (created, info) = services
        .auth
        .create_api_key_for(&principal, &body.name, body.scopes)
        .await?;
    let dto = CreatedDto {
        api_key: info.into(),
        key: created.key.expose().to_string(),
    };
    Ok((StatusCode::CREATED, data(dto)))
}

pub async fn revoke(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    services.auth.revoke_api_key(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
