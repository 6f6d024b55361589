use std::collections::BTreeMap;

use axum::{extract::State, http::StatusCode, response::IntoResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, Data, data, utc};
use crate::{domain::now, service::Services};

#[derive(Serialize, ToSchema)]
pub struct HealthDto {
    /// Always `ok`: the process answers.
    status: &'static str,
}

/// Liveness: the process is up; says nothing about its dependencies.
#[utoipa::path(
    get,
    operation_id = "getHealth",
    path = "/healthz",
    tag = "system",
    security(()),
    responses((status = OK, body = Data<HealthDto>))
)]
pub async fn healthz() -> impl IntoResponse {
    data(HealthDto { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub struct ReadinessDto {
    ready: bool,
    /// `ok`, or `error: ...`.
    database: String,
    /// Each enabled storage profile by name: `ok`, or `error: ...`.
    storage: BTreeMap<String, String>,
}

/// 200 when the database and every storage profile answer, else 503 with details.
#[utoipa::path(
    get,
    operation_id = "getReadiness",
    path = "/readyz",
    tag = "system",
    security(()),
    responses(
        (status = OK, description = "Ready to serve", body = Data<ReadinessDto>),
        (status = SERVICE_UNAVAILABLE, description = "A dependency does not answer", body = Data<ReadinessDto>),
    )
)]
pub async fn readyz(State(services): State<Services>) -> impl IntoResponse {
    let readiness = services.system.readiness().await;
    let state = |result: &Result<(), String>| match result {
        Ok(()) => "ok".to_string(),
        Err(err) => format!("error: {err}"),
    };
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        data(ReadinessDto {
            ready: readiness.is_ready(),
            database: state(&readiness.database),
            storage: readiness
                .storage
                .iter()
                .map(|(name, result)| (name.clone(), state(result)))
                .collect(),
        }),
    )
}

/// Prometheus metrics; no credentials, like `/healthz` (keep the port private
/// or filter `/metrics` at the proxy if the route names are sensitive).
#[utoipa::path(
    get,
    operation_id = "getMetrics",
    path = "/metrics",
    tag = "system",
    security(()),
    responses((status = OK, description = "Prometheus text exposition format", content_type = "text/plain", body = String))
)]
pub async fn metrics(State(services): State<Services>) -> Result<impl IntoResponse, ApiError> {
    let text = services.system.metrics().await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PingDto {
    /// Always `pong`.
    message: &'static str,
    /// The server's version.
    version: &'static str,
    time_utc: String,
}

#[utoipa::path(
    get,
    operation_id = "ping",
    path = "/api/v1/system/ping",
    tag = "system",
    security(()),
    responses((status = OK, body = Data<PingDto>))
)]
pub async fn ping() -> impl IntoResponse {
    data(PingDto {
        message: "pong",
        version: env!("CARGO_PKG_VERSION"),
        time_utc: utc(now()),
    })
}

/// What a client needs to know before its first upload.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapDto {
    api_key_required: bool,
    max_upload_size_bytes: u64,
    allowed_content_types: Vec<String>,
}

#[utoipa::path(
    get,
    operation_id = "getBootstrap",
    path = "/api/v1/system/bootstrap",
    tag = "system",
    security(()),
    responses((status = OK, body = Data<BootstrapDto>))
)]
pub async fn bootstrap(State(services): State<Services>) -> impl IntoResponse {
    let info = services.system.bootstrap();
    data(BootstrapDto {
        api_key_required: info.api_key_required,
        max_upload_size_bytes: info.max_upload_size_bytes,
        allowed_content_types: info.allowed_content_types,
    })
}
