use axum::{extract::State, http::StatusCode, response::IntoResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::Path;
use super::{ApiError, Authenticated, Data, IdPath, JsonBody, auth::UserDto, created, data};
use crate::{
    domain::Role,
    service::{NewUser, Services, UserChange},
};

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUserBody {
    username: String,
    password: String,
    /// `admin` or `user`; super admins are made on the server.
    role: String,
    /// `true` unless given.
    #[serde(default)]
    is_active: Option<bool>,
    /// Absent or empty: the role's defaults. Unknown names are dropped.
    #[serde(default)]
    permissions: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUserBody {
    /// Trimmed and lowercased.
    #[serde(default)]
    username: Option<String>,
    /// `admin` or `user`; a new role resets the permissions to its defaults.
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    is_active: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetStatusBody {
    is_active: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetPasswordBody {
    new_password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetPermissionsBody {
    /// Trimmed, unknown names dropped, duplicates merged.
    permissions: Vec<String>,
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
    responses((status = CREATED, body = Data<UserDto>, headers(("Location" = String))))
)]
pub async fn create(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody<CreateUserBody>,
) -> Result<impl IntoResponse, ApiError> {
    let new = NewUser {
        username: body.username,
        password: body.password,
        role: body.role.parse()?,
        is_active: body.is_active.unwrap_or(true),
        permissions: body.permissions,
    };
    let user = services.users.create(&principal, new).await?;
    Ok(created(
        format!("/api/v1/users/{}", user.id),
        UserDto::from(user),
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
    let change = UserChange {
        username: body.username,
        role: body.role.as_deref().map(str::parse::<Role>).transpose()?,
        is_active: body.is_active,
    };
    let user = services.users.update(&principal, &id, change).await?;
    Ok(data(UserDto::from(user)))
}

#[utoipa::path(
    post,
    operation_id = "setUserStatus",
    path = "/api/v1/users/{id}/status",
    tag = "users",
    params(IdPath),
    request_body = SetStatusBody,
    responses((status = OK, body = Data<UserDto>))
)]
pub async fn set_status(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
    JsonBody(body): JsonBody<SetStatusBody>,
) -> Result<impl IntoResponse, ApiError> {
    let user = services
        .users
        .set_status(&principal, &id, body.is_active)
        .await?;
    Ok(data(UserDto::from(user)))
}

#[utoipa::path(
    post,
    operation_id = "resetUserPassword",
    path = "/api/v1/users/{id}/reset-password",
    tag = "users",
    params(IdPath),
    request_body = ResetPasswordBody,
    responses((status = NO_CONTENT, description = "The password is set and the user's sessions ended"))
)]
pub async fn reset_password(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
    JsonBody(body): JsonBody<ResetPasswordBody>,
) -> Result<impl IntoResponse, ApiError> {
    services
        .users
        .reset_password(&principal, &id, &body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    patch,
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
    let user = services
        .users
        .set_permissions(&principal, &id, &body.permissions)
        .await?;
    Ok(data(UserDto::from(user)))
}
