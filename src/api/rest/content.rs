use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};

use super::ApiError;
use super::Path;
use crate::{
    domain::RangeRequest,
    service::{ContentBody, Services},
};

/// `GET|HEAD /content/{storageKey}`: anonymous bytes of public assets only.
#[utoipa::path(
    get,
    operation_id = "getPublicContent",
    path = "/content/{storageKey}",
    tag = "public",
    params(("storageKey" = String, Path, description = "The storage key of a public asset or derivative")),
    security(()),
    responses((status = OK, description = "The bytes", content_type = "image/*"),
        (status = PARTIAL_CONTENT, description = "The requested range", content_type = "image/*"),
        (status = NOT_MODIFIED, description = "`If-None-Match` matched the `ETag` (the SHA-256)"))
)]
pub async fn public_content(
    State(services): State<Services>,
    Path(storage_key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(RangeRequest::parse_header);
    let body = services.assets.public_content(&storage_key, range).await?;
    Ok(content_response(body, &headers, "public, max-age=86400"))
}

/// Streams stored bytes with the headers clients and caches rely on:
/// type, length, `ETag` (the SHA-256), range answers and `If-None-Match`.
pub fn content_response(
    content: ContentBody,
    request: &HeaderMap,
    cache_control: &'static str,
) -> Response {
    let etag = content
        .checksum_sha256
        .as_ref()
        .map(|sum| format!("\"{sum}\""));
    let not_modified = etag.as_deref().is_some_and(|etag| {
        request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .any(|candidate| candidate.trim() == etag || candidate.trim() == "*")
            })
    });
    let (status, length, body) = if not_modified {
        (StatusCode::NOT_MODIFIED, None, Body::empty())
    } else {
        let length = content.range.map_or(content.total_size, |r| r.len());
        let status = if content.range.is_some() {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        };
        (status, Some(length), Body::from_stream(content.body))
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let mut set = |name, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, content.content_type);
    set(header::ACCEPT_RANGES, "bytes".into());
    set(header::CACHE_CONTROL, cache_control.into());
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff".into());
    if let Some(length) = length {
        set(header::CONTENT_LENGTH, length.to_string());
    }
    if let Some(etag) = etag {
        set(header::ETAG, etag);
    }
    if let (Some(range), false) = (content.range, not_modified) {
        set(
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{}", range.start, range.end, content.total_size),
        );
    }
    response
}
