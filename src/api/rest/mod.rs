//! REST/JSON façade: the fixed `/api/v1` contract of DESIGN.md §4, mapped onto
//! the services. Success bodies are `{"data": ...}`; errors use one envelope.

mod ai_providers;
mod api_keys;
mod assets;
mod auth;
mod content;
mod public;
mod skills;
mod storage_profiles;
mod system;
mod users;

use axum::{
    Json, Router,
    body::Body,
    extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request},
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, de::DeserializeOwned};

use super::middleware::RequestContext;
use crate::{domain::Principal, error::Error, service::Services};

pub fn router(services: Services) -> Router {
    Router::new()
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        .route("/api/v1/system/ping", get(system::ping))
        .route("/api/v1/system/bootstrap", get(system::bootstrap))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/refresh", post(auth::refresh))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/auth/me", get(auth::me))
        .route(
            "/api/v1/apikeys",
            get(api_keys::list).post(api_keys::create),
        )
        .route(
            "/api/v1/apikeys/{id}",
            axum::routing::delete(api_keys::revoke),
        )
        .route(
            "/api/v1/system/storage/providers",
            get(storage_profiles::list).post(storage_profiles::create),
        )
        .route(
            "/api/v1/system/storage/providers/{id}",
            get(storage_profiles::get)
                .patch(storage_profiles::update)
                .delete(storage_profiles::delete),
        )
        .route(
            "/api/v1/system/storage/providers/{id}/default",
            post(storage_profiles::set_default),
        )
        .route(
            "/api/v1/system/storage/providers/{id}/enable",
            post(storage_profiles::enable),
        )
        .route(
            "/api/v1/system/storage/providers/{id}/disable",
            post(storage_profiles::disable),
        )
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/{id}", get(users::get).patch(users::update))
        .route("/api/v1/users/{id}/enable", post(users::enable))
        .route("/api/v1/users/{id}/disable", post(users::disable))
        .route(
            "/api/v1/users/{id}/reset-password",
            post(users::reset_password),
        )
        .route(
            "/api/v1/users/{id}/permissions",
            axum::routing::put(users::set_permissions),
        )
        .route(
            "/api/v1/assets",
            get(assets::list)
                .post(assets::upload)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/api/v1/assets/usage-stats", get(assets::usage_stats))
        .route("/api/v1/assets/skills", get(skills::list))
        .route(
            "/api/v1/assets/{id}/skills/{skill_name}/run",
            post(skills::run),
        )
        .route("/api/v1/assets/batch-delete", post(assets::batch_delete))
        .route(
            "/api/v1/assets/{id}",
            get(assets::get)
                .patch(assets::update)
                .delete(assets::delete),
        )
        .route("/api/v1/assets/{id}/content", get(assets::content))
        .route("/content/{*storage_key}", get(content::public_content))
        .route("/api/v1/public/assets", get(public::list))
        .route("/api/v1/public/assets/{id}", get(public::get))
        .route(
            "/api/v1/system/ai/providers",
            get(ai_providers::list).post(ai_providers::create),
        )
        .route(
            "/api/v1/system/ai/providers/{id}",
            get(ai_providers::get)
                .patch(ai_providers::update)
                .put(ai_providers::update)
                .delete(ai_providers::delete),
        )
        .route(
            "/api/v1/system/ai/providers/{id}/activate",
            post(ai_providers::activate),
        )
        .route(
            "/api/v1/system/ai/providers/{id}/test",
            post(ai_providers::test),
        )
        .route_layer(axum::middleware::from_fn(
            crate::api::middleware::remember_route,
        ))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(services)
}

/// The success envelope.
#[derive(Serialize)]
pub struct Data<T> {
    pub data: T,
}

pub fn data<T: Serialize>(value: T) -> Json<Data<T>> {
    Json(Data { data: value })
}

/// A domain error on its way out as HTTP.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        ApiError(err)
    }
}

/// Carried in response extensions so the request layer can add the trace id.
#[derive(Clone, Debug)]
struct ErrorReport {
    code: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = http_status(&self.0);
        let report = ErrorReport {
            code: self.0.code(),
            message: self.0.to_string(),
        };
        let mut response = (status, error_body(&report, status, None)).into_response();
        if let Error::RangeNotSatisfiable { size } = self.0
            && let Ok(value) = format!("bytes */{size}").parse()
        {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
        let retry_after = match self.0 {
            Error::AuthRateLimited {
                retry_after_seconds,
            } => Some(retry_after_seconds),
            Error::StorageRateLimited {
                retry_after_seconds,
            } => retry_after_seconds,
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(report);
        response
    }
}

fn error_body(
    report: &ErrorReport,
    status: StatusCode,
    trace_id: Option<&str>,
) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "error": {
            "code": report.code,
            "message": report.message,
            "traceId": trace_id,
            "status": status.as_u16(),
        }
    }))
}

/// Rewrites an error body with the request's trace id (called by the request layer).
pub fn render_error_body(response: &mut Response, trace_id: &str) {
    if let Some(report) = response.extensions_mut().remove::<ErrorReport>() {
        let status = response.status();
        let body = error_body(&report, status, Some(trace_id))
            .into_response()
            .into_body();
        *response.body_mut() = body;
        response.headers_mut().remove(header::CONTENT_LENGTH);
    }
}

/// The one mapping from domain errors to HTTP statuses.
pub fn http_status(err: &Error) -> StatusCode {
    match err {
        Error::AssetNotFound(_)
        | Error::AiProviderNotFound(_)
        | Error::ApiKeyNotFound(_)
        | Error::UserNotFound(_)
        | Error::SkillNotFound(_)
        | Error::ContentNotFound
        | Error::StorageProfileNotFound(_)
        | Error::RouteNotFound => StatusCode::NOT_FOUND,
        Error::AssetIdInvalid(_)
        | Error::AssetFileRequired
        | Error::AssetFileEmpty
        | Error::AssetDescriptionTooLong { .. }
        | Error::AssetAltTextTooLong { .. }
        | Error::AssetOriginalFileNameInvalid { .. }
        | Error::AssetBatchTooLarge { .. }
        | Error::SkillParametersInvalid { .. }
        | Error::ApiKeyScopeInvalid(_)
        | Error::StorageProfileNameInvalid
        | Error::StorageProviderTypeInvalid(_)
        | Error::StorageProfileConfigurationInvalid { .. }
        | Error::UserUsernameInvalid
        | Error::UserPasswordTooShort { .. }
        | Error::UserRoleInvalid(_)
        | Error::AiProviderNameInvalid
        | Error::AiProviderUrlInvalid(_)
        | Error::AiProviderModelRequired
        | Error::AiProviderApiKeyInvalid
        | Error::AiProviderPromptTooLong { .. }
        | Error::InvalidPage(_)
        | Error::InvalidPageSize(_)
        | Error::InvalidStatus(_)
        | Error::InvalidOrderBy(_)
        | Error::InvalidOrderDirection(_)
        | Error::InvalidContentType(_)
        | Error::InvalidRequest(_)
        | Error::StorageProfileDisabled(_)
        | Error::StorageProfilePublicOnly(_) => StatusCode::BAD_REQUEST,
        Error::AssetFileTooLarge { .. } | Error::RequestBodyTooLarge { .. } => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        Error::AssetContentTypeNotAllowed { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
        Error::Unauthorized
        | Error::ApiKeyInvalid
        | Error::AuthTokenExpired
        | Error::AuthInvalidCredentials
        | Error::AuthRefreshTokenInvalid
        | Error::AuthRefreshTokenReused => StatusCode::UNAUTHORIZED,
        Error::StorageProfileInUse(_) | Error::StorageProfileIsDefault => StatusCode::CONFLICT,
        Error::UserSelfChangeRefused | Error::UserLastSuperAdmin => StatusCode::CONFLICT,
        Error::AuthRateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::UserUsernameTaken(_) | Error::StorageProfileNameTaken(_) => StatusCode::CONFLICT,
        Error::AiProviderNameTaken(_) => StatusCode::CONFLICT,
        Error::Forbidden { .. } => StatusCode::FORBIDDEN,
        Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Error::StorageUnavailable(_) | Error::StorageRateLimited { .. } => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        Error::StorageAuthFailed(_)
        | Error::StorageTargetNotFound(_)
        | Error::StorageRejected(_) => StatusCode::BAD_GATEWAY,
        Error::StorageConflict(_) => StatusCode::CONFLICT,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn route_not_found(request: Request) -> Response {
    // A gRPC call to an unknown service gets a gRPC answer, not JSON.
    let is_grpc = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if is_grpc {
        return tonic::Status::unimplemented("unknown gRPC service").into_http::<Body>();
    }
    ApiError(Error::RouteNotFound).into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError(Error::MethodNotAllowed)
}

/// The authenticated caller, from the shared request layer.
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<RequestContext>() {
            Some(context) => Ok(Caller(context.principal()?)),
            None => Ok(Caller(Principal::Anonymous)),
        }
    }
}

/// `Json` whose rejections use the error envelope.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError(Error::RequestBodyTooLarge {
                    limit: 2 * 1024 * 1024,
                }))
            }
            Err(rejection) => Err(ApiError(Error::InvalidRequest(rejection.body_text()))),
        }
    }
}

/// For PATCH bodies: a present field becomes `Some(value)`, a present `null`
/// becomes `Some(None)`, an absent one stays `None` (with `#[serde(default)]`).
pub fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// RFC 3339 UTC with microseconds, as every `...AtUtc` field.
pub fn utc(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}
