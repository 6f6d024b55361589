//! REST/JSON façade: the fixed `/api/v1` contract of docs/api.md, mapped onto
//! the services. Success bodies are `{"data": ...}`; errors use one envelope.

mod ai_providers;
mod api_keys;
mod assets;
mod auth;
mod content;
mod github_repo;
mod openapi;
mod public;
mod skills;
mod storage_profiles;
mod system;
pub mod uploads;
mod users;
mod workflows;

/// The JSON shapes of the REST contract that the MCP tools answer with too,
/// so one concept has one shape whichever door it leaves by.
pub(crate) mod views {
    pub(crate) use super::assets::{
        AssetDto, AssetListQuery, AssetPageDto, BatchDeleteAssetsDto, DeletedAssetDto,
        UpdateAssetBody, UsageStatsDto, list_params,
    };
    pub(crate) use super::skills::{SkillDto, SkillRunDto};
    pub(crate) use super::storage_profiles::{
        CreateStorageProfileBody, DeletedStorageProfileDto, StorageOverviewDto, StorageProfileDto,
        UpdateStorageProfileBody,
    };
}

use axum::{
    Extension, Json, Router,
    extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request},
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, head, post},
};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, de::DeserializeOwned};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::middleware::RequestContext;
use crate::{
    domain::Principal,
    error::{Error, ErrorCode},
    service::Services,
    telemetry,
};

/// The REST routes, each registered together with its OpenAPI operation so
/// the document served at `/openapi.json` cannot drift from the router.
pub fn router(services: Services) -> Result<Router, serde_json::Error> {
    // Uploads stream far past axum's default body limit; the layer goes on
    // this method router only.
    let (asset_schemas, asset_paths, asset_routes) = routes!(assets::list, assets::upload);
    // A repository file arrives as base64 inside JSON, up to the upload limit.
    let (upsert_schemas, upsert_paths, upsert_routes) = routes!(github_repo::upsert);
    let upsert_limit = usize::try_from(services.assets.max_upload_bytes() / 3 * 4 + 64 * 1024)
        .unwrap_or(usize::MAX);
    let (router, mut openapi) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(system::healthz))
        .routes(routes!(system::readyz))
        .routes(routes!(system::metrics))
        .routes(routes!(system::ping))
        .routes(routes!(system::bootstrap))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(api_keys::list, api_keys::create))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(storage_profiles::list, storage_profiles::create))
        .routes(routes!(
            storage_profiles::get,
            storage_profiles::update,
            storage_profiles::delete
        ))
        .routes(routes!(storage_profiles::set_default))
        .routes(routes!(storage_profiles::set_default_nekohub))
        .routes(routes!(github_repo::browse))
        .routes((
            upsert_schemas,
            upsert_paths,
            upsert_routes
                .layer::<_, std::convert::Infallible>(DefaultBodyLimit::max(upsert_limit))
                .layer(Extension(JsonBodyLimit(upsert_limit))),
        ))
        .routes(routes!(storage_profiles::enable))
        .routes(routes!(storage_profiles::disable))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::update))
        .routes(routes!(users::set_status))
        .routes(routes!(users::reset_password))
        .routes(routes!(users::set_permissions))
        .routes((
            asset_schemas,
            asset_paths,
            asset_routes.layer(DefaultBodyLimit::disable()),
        ))
        .routes(routes!(assets::usage_stats))
        .routes(routes!(skills::list))
        .routes(routes!(skills::run))
        .routes(routes!(assets::batch_delete))
        .routes(routes!(assets::get, assets::update, assets::delete))
        .routes(routes!(assets::content))
        .routes(routes!(public::list))
        .routes(routes!(public::get))
        .routes(routes!(ai_providers::list, ai_providers::create))
        .routes(routes!(
            ai_providers::get,
            ai_providers::update,
            ai_providers::replace,
            ai_providers::delete
        ))
        .routes(routes!(ai_providers::active))
        .routes(routes!(ai_providers::test_configuration))
        .routes(routes!(ai_providers::activate))
        .routes(routes!(ai_providers::test))
        .routes(routes!(workflows::list, workflows::create))
        .routes(routes!(
            workflows::get,
            workflows::replace,
            workflows::delete
        ))
        .routes(routes!(workflows::set_auto_run))
        .routes(routes!(workflows::run))
        .routes(routes!(uploads::get))
        .routes(routes!(openapi::document))
        .split_for_parts();
    openapi::complete(&mut openapi);
    let document = openapi::OpenApiJson(openapi.to_json()?.into());
    // A catch-all segment is `{*name}` to axum but `{name}` to OpenAPI, so this
    // one route is registered by hand and documented in `ApiDoc`.
    Ok(router
        .route("/content/{*storage_key}", get(content::public_content))
        // tus speaks in headers and raw bodies, which OpenAPI describes
        // poorly; the protocol is documented in docs/api.md instead.
        .route(
            "/api/v1/uploads",
            post(uploads::create).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/v1/uploads/{id}",
            head(uploads::head)
                .patch(uploads::append)
                .delete(uploads::terminate)
                .layer(DefaultBodyLimit::disable()),
        )
        .route_layer(axum::middleware::from_fn(
            crate::api::middleware::remember_route,
        ))
        .fallback(super::route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(Extension(document))
        .with_state(services))
}

/// The success envelope.
#[derive(Serialize, ToSchema)]
pub struct Data<T> {
    pub data: T,
}

pub fn data<T: Serialize>(value: T) -> Json<Data<T>> {
    Json(Data { data: value })
}

/// `201 Created` with the new resource's address, as NekoHub answers a create.
pub fn created<T: Serialize>(location: String, value: T) -> impl IntoResponse {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        data(value),
    )
}

/// `202 Accepted` with the address of the asset the background work is
/// for, where its progress shows (NekoHub's answer to an upload or a run).
pub fn accepted<T: Serialize>(asset_id: &str, value: T) -> Response {
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/api/v1/assets/{asset_id}"))],
        data(value),
    )
        .into_response()
}

/// A domain error on its way out as HTTP.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        ApiError(err)
    }
}

impl IntoResponse for ApiError {
    /// The one place a REST error body is written, with the trace id of the
    /// request it answers.
    fn into_response(self) -> Response {
        let code = self.0.code();
        let status = code.http_status();
        let body = Json(ErrorEnvelope {
            error: ErrorDetail {
                code: code.as_str(),
                message: self.0.to_string(),
                trace_id: telemetry::current_trace_id(),
                status: status.as_u16(),
            },
        });
        let mut response = (status, body).into_response();
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
            Error::ImagingBusy {
                retry_after_seconds,
            } => Some(retry_after_seconds),
            _ => None,
        };
        if status == StatusCode::UNAUTHORIZED {
            // RFC 9110 asks every 401 to name the scheme; NekoHub's clients
            // look for it too. Bearer covers both tokens and API keys.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"tessera\""),
            );
        }
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

/// The error envelope every failed REST call answers with.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// Stable, machine-readable code, e.g. `asset_not_found`; gRPC carries
    /// the same code as the `ErrorInfo` reason.
    #[schema(schema_with = error_codes, example = "asset_not_found")]
    code: &'static str,
    /// For humans; the wording may change between releases.
    message: String,
    /// The request's trace id, also found in the server's logs.
    trace_id: Option<String>,
    /// The HTTP status, repeated for clients that only keep the body.
    status: u16,
}

/// Every code a client may see, as an enum in the OpenAPI document.
fn error_codes() -> utoipa::openapi::Object {
    let names: Vec<&str> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
    one_of(&names)
}

async fn method_not_allowed() -> ApiError {
    ApiError(Error::MethodNotAllowed)
}

/// The `{id}` segment of an asset's path.
#[derive(serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AssetIdPath {
    /// The asset's id.
    #[param(value_type = uuid::Uuid)]
    pub id: String,
}

/// An optional JSON object body: empty (or only whitespace) and `null` both
/// mean absent.
pub fn optional_json<T: DeserializeOwned>(body: &[u8]) -> Result<Option<T>, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice::<serde_json::Value>(body).map_err(invalid_json)? {
        serde_json::Value::Null => Ok(None),
        value => json_object(value).map(Some),
    }
}

/// Reads `T` from a JSON object. serde would also fill a struct from an
/// array, which no client means, so anything but an object is refused.
fn json_object<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    if !value.is_object() {
        return Err(Error::InvalidRequest(
            "the body must be a JSON object".into(),
        ));
    }
    serde_json::from_value(value).map_err(invalid_json)
}

pub fn invalid_json(err: serde_json::Error) -> Error {
    Error::InvalidRequest(format!("invalid JSON body: {err}"))
}

/// A string schema that admits exactly `values`, for text parameters checked by hand.
pub fn one_of(values: &[&str]) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

/// The `{id}` segment of a resource's path.
#[derive(serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IdPath {
    /// The resource's id.
    pub id: String,
}

/// The authenticated principal, from the shared request layer. Every route that
/// takes `Authenticated` needs credentials, so an anonymous request is refused here,
/// before its body is read: it learns about the missing credentials first.
pub struct Authenticated(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let principal = match parts.extensions.get::<RequestContext>() {
            Some(context) => context.principal()?,
            None => Principal::Anonymous,
        };
        match principal {
            Principal::Anonymous => Err(ApiError(Error::Unauthorized)),
            principal => Ok(Authenticated(principal)),
        }
    }
}

/// axum's limit on a JSON body.
const DEFAULT_JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The body limit of a route that carries a file inside its JSON (set with
/// `DefaultBodyLimit`), so that refusals name it.
#[derive(Clone, Copy)]
struct JsonBodyLimit(usize);

/// A JSON body whose rejections use the error envelope.
pub struct JsonValue(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for JsonValue {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = request
            .extensions()
            .get::<JsonBodyLimit>()
            .map_or(DEFAULT_JSON_BODY_LIMIT, |l| l.0);
        match Json::<serde_json::Value>::from_request(request, state).await {
            Ok(Json(value)) => Ok(JsonValue(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError(Error::RequestBodyTooLarge {
                    limit: limit as u64,
                }))
            }
            Err(rejection) => Err(ApiError(Error::InvalidRequest(rejection.body_text()))),
        }
    }
}

/// Path parameters read into `T`, like axum's `Path`, but refused with the
/// error envelope (a segment that is not UTF-8 is a client's mistake, not a
/// plain-text answer).
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| Error::InvalidRequest(rejection.body_text()).into())
    }
}

/// Query parameters read into `T`, with names matched in any case as
/// NekoHub (ASP.NET) matches them, so `SortBy=Size` is `sortBy=size` rather
/// than a parameter silently ignored. Refused with the error envelope.
pub struct Query<T>(pub T);

/// The names a query type takes besides its documented parameters (serde
/// aliases, which `IntoParams` does not list).
pub trait QueryAliases {
    const ALIASES: &'static [&'static str] = &[];
}

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned + IntoParams + QueryAliases,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or_default();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
            .map_err(|e| Error::InvalidRequest(format!("query string: {e}")))?;
        let documented: Vec<String> = T::into_params(|| None)
            .into_iter()
            .map(|parameter| parameter.name)
            .collect();
        let known = documented
            .iter()
            .map(String::as_str)
            .chain(T::ALIASES.iter().copied());
        let canonical = |name: String| {
            known
                .clone()
                .find(|known| known.eq_ignore_ascii_case(&name))
                .map_or(name, str::to_string)
        };
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(name, value)| (canonical(name), value))
            .collect();
        let canonical = serde_urlencoded::to_string(&pairs)
            .map_err(|e| Error::InvalidRequest(format!("query string: {e}")))?;
        serde_urlencoded::from_str(&canonical)
            .map(Query)
            .map_err(|e| Error::InvalidRequest(format!("query string: {e}")).into())
    }
}

/// A JSON object body read into `T`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonValue(value) = JsonValue::from_request(request, state).await?;
        Ok(JsonBody(json_object(value)?))
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
