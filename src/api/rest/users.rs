use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};
use serde::Deserialize;

use super::{ApiError, Caller, JsonBody, auth::UserDto, data, present};
use crate::{
    domain::Role,
    service::{Services, UserChange},
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBody {
    username: String,
    password: String,
    #[serde(default)]
    role: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchBody {
    #[serde(default)]
    role: Option<String>,
    #[serde(default, deserialize_with = "present")]
    permissions: Option<Option<Vec<String>>>,
    #[serde(default)]
    is_enabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordBody {
    password: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermissionsBody {
    permissions: Option<Vec<String>>,
}

pub async fn list(
    State(services): State<Services>,
    Caller(principal): Caller,
) -> Result<impl IntoResponse, ApiError> {
    let users = services.users.list(&principal).await?;
    Ok(data(
        users.into_iter().map(UserDto::from).collect::<Vec<_>>(),
    ))
}

pub async fn get(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(UserDto::from(
        services.users.get(&principal, &id).await?,
    )))
}

pub async fn create(
    State(services): State<Services>,
    Caller(principal): Caller,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let role: Role = body.role.as_deref().unwrap_or("user").parse()?;
    let user = services
        .users
        .create(&principal, &body.username, &body.password, role)
        .await?;
    Ok((StatusCode::CREATED, data(UserDto::from(user))))
}

async fn change(
    services: &Services,
    principal: &crate::domain::Principal,
    id: &str,
    change: UserChange,
) -> Result<UserDto, ApiError> {
    Ok(UserDto::from(
        services.users.update(principal, id, change).await?,
    ))
}

pub async fn update(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PatchBody>,
) -> Result<impl IntoResponse, ApiError> {
    let update = UserChange {
        role: body.role.as_deref().map(str::parse::<Role>).transpose()?,
        permissions: body.permissions,
        is_enabled: body.is_enabled,
        password: None,
    };
    Ok(data(change(&services, &principal, &id, update).await?))
}

pub async fn enable(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let update = UserChange {
        is_enabled: Some(true),
        ..UserChange::default()
    };
    Ok(data(change(&services, &principal, &id, update).await?))
}

pub async fn disable(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let update = UserChange {
        is_enabled: Some(false),
        ..UserChange::default()
    };
    Ok(data(change(&services, &principal, &id, update).await?))
}

pub async fn reset_password(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<impl IntoResponse, ApiError> {
    let update = UserChange {
        password: Some(body.password),
        ..UserChange::default()
    };
    Ok(data(change(&services, &principal, &id, update).await?))
}

pub async fn set_permissions(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PermissionsBody>,
) -> Result<impl IntoResponse, ApiError> {
    let update = UserChange {
        permissions: Some(body.permissions),
        ..UserChange::default()
    };
    Ok(data(change(&services, &principal, &id, update).await?))
}
