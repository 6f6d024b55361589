use axum::{extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;

use super::{ApiError, data, utc};
use crate::{domain::now, service::Services};

pub async fn healthz() -> impl IntoResponse {
    data(json!({ "status": "ok" }))
}

/// 200 when the database and every storage profile answer, else 503 with details.
pub async fn readyz(State(services): State<Services>) -> impl IntoResponse {
    let readiness = services.system.readiness().await;
    let state = |result: &Result<(), String>| match result {
        Ok(()) => "ok".to_string(),
        Err(err) => format!("error: {err}"),
    };
    let storage: serde_json::Map<String, serde_json::Value> = readiness
        .storage
        .iter()
        .map(|(id, result)| (id.clone(), state(result).into()))
        .collect();
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        data(json!({
            "ready": readiness.is_ready(),
            "database": state(&readiness.database),
            "storage": storage,
        })),
    )
}

/// Prometheus metrics; no credentials, like `/healthz` (keep the port private
/// or filter `/metrics` at the proxy if the route names are sensitive).
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

pub async fn ping() -> impl IntoResponse {
    data(json!({
        "message": "pong",
        "version": env!("CARGO_PKG_VERSION"),
        "timeUtc": utc(now()),
    }))
}

pub async fn bootstrap(State(services): State<Services>) -> impl IntoResponse {
    let info = services.system.bootstrap();
    data(json!({
        "apiKeyRequired": info.api_key_required,
        "maxUploadSizeBytes": info.max_upload_size_bytes,
        "allowedContentTypes": info.allowed_content_types,
    }))
}
