use axum::{Extension, extract::State, http::StatusCode, response::IntoResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, Authenticated, Data, JsonBody, data, utc};
use crate::{
    api::middleware::RequestContext,
    domain::{Session, User},
    service::Services,
};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDto {
    id: String,
    username: String,
    /// `superAdmin`, `admin` or `user`.
    role: &'static str,
    /// What the user may do, e.g. `assets.read`.
    permissions: Vec<&'static str>,
    is_active: bool,
    created_at_utc: String,
    updated_at_utc: String,
    last_login_at_utc: Option<String>,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        UserDto {
            id: u.id,
            username: u.username,
            role: u.role.as_str(),
            permissions: u.permissions.names(),
            is_active: u.is_active,
            created_at_utc: utc(u.created_at),
            updated_at_utc: utc(u.updated_at),
            last_login_at_utc: u.last_login_at.map(utc),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SessionDto {
    access_token: String,
    refresh_token: String,
    access_token_expires_at_utc: String,
    refresh_token_expires_at_utc: String,
    user: UserDto,
}

impl From<Session> for SessionDto {
    fn from(s: Session) -> Self {
        SessionDto {
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            access_token_expires_at_utc: utc(s.access_token_expires_at),
            refresh_token_expires_at_utc: utc(s.refresh_token_expires_at),
            user: s.user.into(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: String,
}

#[utoipa::path(
    post,
    operation_id = "login",
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginBody,
    security(()),
    responses((status = OK, body = Data<SessionDto>))
)]
pub async fn login(
    State(services): State<Services>,
    context: Option<Extension<RequestContext>>,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<impl IntoResponse, ApiError> {
    let client = context.and_then(|Extension(c)| c.client_ip);
    let session = services
        .auth
        .login(&body.username, &body.password, client)
        .await?;
    Ok(data(SessionDto::from(session)))
}

#[utoipa::path(
    post,
    operation_id = "refreshSession",
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshBody,
    security(()),
    responses((status = OK, body = Data<SessionDto>))
)]
pub async fn refresh(
    State(services): State<Services>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(SessionDto::from(
        services.auth.refresh(&body.refresh_token).await?,
    )))
}

#[utoipa::path(
    post,
    operation_id = "logout",
    path = "/api/v1/auth/logout",
    tag = "auth",
    request_body = RefreshBody,
    security(()),
    responses((status = NO_CONTENT, description = "The refresh token is revoked"))
)]
pub async fn logout(
    State(services): State<Services>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<impl IntoResponse, ApiError> {
    services.auth.logout(&body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    operation_id = "getCurrentUser",
    path = "/api/v1/auth/me",
    tag = "auth",
    responses((status = OK, body = Data<UserDto>))
)]
pub async fn me(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
) -> Result<impl IntoResponse, ApiError> {
    Ok(data(UserDto::from(services.auth.me(&principal)?)))
}
