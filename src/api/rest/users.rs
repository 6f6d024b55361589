use axum::{extract::State, http::StatusCode, response::IntoResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::Path;
use super::{ApiError, Authenticated, Data, IdPath, JsonBody, auth::UserDto, data, present};
use crate::{
    domain::Role,
    service::{Services, UserChange},
};

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUserBody {
    username: String,
    password: String,
    /// `superAdmin`, `admin` or `user` (the default).
    #[serde(default)]
    role: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUserBody {
    /// `superAdmin`, `admin` or `user`.
    #[serde(default)]
    role: Option<String>,
    /// `null` returns the user to their role's permissions.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    permissions: Option<Option<Vec<String>>>,
    #[serde(default)]
    is_enabled: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetPasswordBody {
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetPermissionsBody {
    permissions: Option<Vec<String>>,
}

#[utoipa::path(
    get,
    operation_id = "listUsers",
    path = "/api/v1/users",
    tag = "users",
    responses((status = OK, body = Data<Vec<UserDto>>))
)]
pub async fn list(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
) -> Result<impl IntoResponse, ApiError> {
    let users = services.users.list(&principal).await?;
    Ok(data(
        users.into_iter().map(UserDto::from).collect::<Vec<_>>(),
    ))
}

#[utoipa::path(
    get,
    operation_id = "getUser",
    path = "/api/v1/users/{id}",
    tag = "users",
    params(IdPath),
    responses((status = OK, body = Data<UserDto>))
)]
pub async fn get(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(UserDto::from(
        services.users.get(&principal, &id).await?,
    )))
}

#[utoipa::path(
    post,
    operation_id = "createUser",
    path = "/api/v1/users",
    tag = "users",
    request_body = CreateUserBody,
    responses((status = CREATED, body = Data<UserDto>))
)]
pub async fn create(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody<CreateUserBody>,
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

#[utoipa::path(
    patch,
    operation_id = "updateUser",
    path = "/api/v1/users/{id}",
    tag = "users",
    params(IdPath),
    request_body = UpdateUserBody,
    responses((status = OK, body = Data<UserDto>))
)]
pub async fn update(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
    JsonBody(body): JsonBody<UpdateUserBody>,
) -> Result<impl IntoResponse, ApiError> {
    let update = UserChange {
        role: body.role.as_deref().map(str::parse::<Role>).transpose()?,
        permissions: body.permissions,
        is_enabled: body.is_enabled,
        password: None,
    };
    Ok(data(change(&services, &principal, &id, update).await?))
}

#[utoipa::path(
    post,
    operation_id = "enableUser",
    path = "/api/v1/users/{id}/enable",
    tag = "users",
    params(IdPath),
    responses((status = OK, body = Data<UserDto>))
)]
pub async fn enable(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    let update = UserChange {
        is_enabled: Some(true),
        ..UserChange::default()
    };
    Ok(data(change(&services, &principal, &id, update).await?))
}

#[utoipa::path(
    post,
    operation_id = "disableUser",
    path = "/api/v1/users/{id}/disable",
    tag = "users",
    params(IdPath),
    responses((status = OK, body = Data<UserDto>))
)]
pub async fn disable(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    let update = UserChange {
        is_enabled: Some(false),
        ..UserChange::default()
    };
    Ok(data(change(&services, &principal, &id, update).await?))
}

#[utoipa::path(
    post,
    operation_id = "resetUserPassword",
    path = "/api/v1/users/{id}/reset-password",
    tag = "users",
    params(IdPath),
    request_body = ResetPasswordBody,
    responses((status = OK, body = Data<UserDto>))
)]
pub async fn reset_password(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
    JsonBody(body): JsonBody<ResetPasswordBody>,
) -> Result<impl IntoResponse, ApiError> {
    let update = UserChange {
        password: Some(body.password),
        ..UserChange::default()
    };
    Ok(data(change(&services, &principal, &id, update).await?))
}

#[utoipa::path(
    put,
    operation_id = "setUserPermissions",
    path = "/api/v1/users/{id}/permissions",
    tag = "users",
    params(IdPath),
    request_body = SetPermissionsBody,
    responses((status = OK, body = Data<UserDto>))
)]
pub async fn set_permissions(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
    JsonBody(body): JsonBody<SetPermissionsBody>,
) -> Result<impl IntoResponse, ApiError> {
    let update = UserChange {
        permissions: Some(body.permissions),
        ..UserChange::default()
    };
    Ok(data(change(&services, &principal, &id, update).await?))
}
