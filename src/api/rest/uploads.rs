//! Resumable uploads over REST: the tus 1.0.0 protocol (core, creation,
//! creation-with-upload, termination, expiration) at `/api/v1/uploads`, so
//! tus-js-client, Uppy and other tus clients work unchanged, plus a JSON view
//! of an upload. The rules are the upload service's, shared with gRPC.

use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use tracing::Instrument;
use utoipa::ToSchema;

use super::{ApiError, Authenticated, Data, IdPath, Path, data, utc};
use crate::{
    domain::{NewUpload, Principal, Upload, UploadMetadata, UploadState},
    error::{Error, Result},
    service::{ChunkEnd, Services},
};

const TUS_VERSION: &str = "1.0.0";
const TUS_EXTENSIONS: &str = "creation,creation-with-upload,termination,expiration";
const CHUNK_TYPE: &str = "application/offset+octet-stream";

/// The header naming the asset a finished upload became.
pub const ASSET_ID_HEADER: &str = "tessera-asset-id";

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UploadDto {
    id: String,
    /// Bytes received: where the next chunk starts.
    offset: u64,
    /// The whole file, as declared.
    size: u64,
    #[schema(inline, value_type = String)]
    /// `open`, `completing` or `completed`.
    state: &'static str,
    expires_at_utc: String,
    /// The asset, once the upload is complete.
    asset_id: Option<String>,
}

impl From<Upload> for UploadDto {
    fn from(upload: Upload) -> Self {
        UploadDto {
            id: upload.id,
            offset: upload.offset,
            size: upload.size,
            state: upload.state.as_str(),
            expires_at_utc: utc(upload.expires_at),
            asset_id: upload.asset_id,
        }
    }
}

/// Where an upload stands: the JSON view of what tus `HEAD` answers.
#[utoipa::path(
    get,
    operation_id = "getUpload",
    path = "/api/v1/uploads/{id}",
    tag = "uploads",
    params(IdPath),
    responses((status = OK, body = Data<UploadDto>))
)]
pub async fn get(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    let upload = services.uploads.get(&principal, &id).await?;
    Ok(data(UploadDto::from(upload)))
}

/// tus discovery: `OPTIONS /api/v1/uploads` that is not a CORS preflight.
/// It sits outside the CORS layer, which answers every `OPTIONS` itself.
pub async fn discovery(
    State(services): State<Services>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let is_discovery = request.method() == axum::http::Method::OPTIONS
        && request.uri().path().trim_end_matches('/') == "/api/v1/uploads"
        && !request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if !is_discovery {
        return next.run(request).await;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    set(headers, "tus-version", TUS_VERSION);
    set(headers, "tus-extension", TUS_EXTENSIONS);
    set(
        headers,
        "tus-max-size",
        &services.assets.max_upload_bytes().to_string(),
    );
    tus(response)
}

/// tus creation (and creation-with-upload when a body comes along).
pub async fn create(
    State(services): State<Services>,
    caller: std::result::Result<Authenticated, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(
        async {
            let principal = caller.map_err(|refused| refused.0)?.0;
            tus_version(&headers)?;
            if headers.contains_key("upload-defer-length") {
                return Err(Error::UploadProtocolInvalid(
                    "Upload-Defer-Length is not supported: send Upload-Length".into(),
                ));
            }
            let size = headers
                .get("upload-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or(Error::UploadSizeInvalid)?;
            let new = NewUpload {
                size: Some(size),
                metadata: upload_metadata(&headers)?,
                expected_sha256: None,
            };
            let upload = services.uploads.create(&principal, new).await?;
            let mut response = StatusCode::CREATED.into_response();
            set(
                response.headers_mut(),
                header::LOCATION.as_str(),
                &format!("/api/v1/uploads/{}", upload.id),
            );
            let with_upload = header_text(&headers, header::CONTENT_TYPE.as_str())
                .is_some_and(|t| t.eq_ignore_ascii_case(CHUNK_TYPE));
            let upload = if with_upload {
                let (upload, asset_id) =
                    receive(&services, &principal, &upload.id, 0, body).await?;
                if let Some(asset_id) = asset_id {
                    set(response.headers_mut(), ASSET_ID_HEADER, &asset_id);
                }
                set(
                    response.headers_mut(),
                    "upload-offset",
                    &upload.offset.to_string(),
                );
                upload
            } else {
                upload
            };
            set_expiry(response.headers_mut(), upload.expires_at);
            Ok(response)
        }
        .await,
    )
}

/// tus `HEAD`: where to resume.
pub async fn head(
    State(services): State<Services>,
    caller: std::result::Result<Authenticated, ApiError>,
    headers: HeaderMap,
    Path(IdPath { id }): Path<IdPath>,
) -> Response {
    let found = async {
        let principal = caller.map_err(|refused| refused.0)?.0;
        tus_version(&headers)?;
        services.uploads.get(&principal, &id).await
    }
    .await;
    let mut response = match found {
        Ok(upload) => {
            let mut response = StatusCode::OK.into_response();
            let headers = response.headers_mut();
            set(headers, "upload-offset", &upload.offset.to_string());
            set(headers, "upload-length", &upload.size.to_string());
            set_expiry(headers, upload.expires_at);
            if let Some(asset_id) = &upload.asset_id {
                set(headers, ASSET_ID_HEADER, asset_id);
            }
            response
        }
        // A HEAD answer has no body: the status says it.
        Err(err) => err.code().http_status().into_response(),
    };
    set(response.headers_mut(), "cache-control", "no-store");
    tus(response)
}

/// tus `PATCH`: the bytes from `Upload-Offset`. The one that brings the
/// upload to its size also turns it into the asset (`Tessera-Asset-Id`).
pub async fn append(
    State(services): State<Services>,
    caller: std::result::Result<Authenticated, ApiError>,
    headers: HeaderMap,
    Path(IdPath { id }): Path<IdPath>,
    body: Body,
) -> Response {
    answer(
        async {
            let principal = caller.map_err(|refused| refused.0)?.0;
            tus_version(&headers)?;
            if !header_text(&headers, header::CONTENT_TYPE.as_str())
                .is_some_and(|t| t.eq_ignore_ascii_case(CHUNK_TYPE))
            {
                return Err(Error::UploadContentTypeInvalid);
            }
            let offset = header_text(&headers, "upload-offset")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    Error::UploadProtocolInvalid("Upload-Offset must be a whole number".into())
                })?;
            let (upload, asset_id) = receive(&services, &principal, &id, offset, body).await?;
            let mut response = StatusCode::NO_CONTENT.into_response();
            let headers = response.headers_mut();
            set(headers, "upload-offset", &upload.offset.to_string());
            set_expiry(headers, upload.expires_at);
            if let Some(asset_id) = asset_id {
                set(headers, ASSET_ID_HEADER, &asset_id);
            }
            Ok(response)
        }
        .await,
    )
}

/// tus termination.
pub async fn terminate(
    State(services): State<Services>,
    caller: std::result::Result<Authenticated, ApiError>,
    headers: HeaderMap,
    Path(IdPath { id }): Path<IdPath>,
) -> Response {
    answer(
        async {
            let principal = caller.map_err(|refused| refused.0)?.0;
            tus_version(&headers)?;
            services.uploads.cancel(&principal, &id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

/// Appends the body at `offset`, keeping what arrived when the connection
/// breaks, and completes the upload once every byte is in.
/// The work runs as a task of its own: when the client goes away, hyper
/// drops the request, and the bytes that did arrive must still be recorded.
async fn receive(
    services: &Services,
    principal: &Principal,
    id: &str,
    offset: u64,
    body: Body,
) -> Result<(Upload, Option<String>)> {
    let (services, principal, id) = (services.clone(), principal.clone(), id.to_string());
    let work = async move {
        let chunks = body
            .into_data_stream()
            .map_err(|e| Error::InvalidRequest(format!("the request body broke off: {e}")))
            .boxed();
        let upload = services
            .uploads
            .append(&principal, &id, offset, chunks, ChunkEnd::KeepReceived)
            .await?;
        if upload.state == UploadState::Open && upload.offset == upload.size {
            let asset = services.uploads.complete(&principal, &id).await?;
            let upload = services.uploads.get(&principal, &id).await?;
            return Ok((upload, Some(asset.asset.id.to_string())));
        }
        Ok((upload, None))
    };
    tokio::spawn(work.in_current_span())
        .await
        .map_err(|e| Error::internal("upload task", e))?
}

/// `Upload-Metadata`: comma-separated `key base64(value)` pairs. The keys
/// tessera reads are the upload's fields; `filename` is also read as `name`
/// (Uppy). Other keys are the client's own and are ignored.
fn upload_metadata(headers: &HeaderMap) -> Result<UploadMetadata> {
    let mut metadata = UploadMetadata::default();
    let Some(raw) = header_text(headers, "upload-metadata") else {
        return Ok(metadata);
    };
    let invalid = |why: String| Error::UploadProtocolInvalid(format!("Upload-Metadata: {why}"));
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, encoded) = pair.split_once(' ').unwrap_or((pair, ""));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| invalid(format!("the value of '{key}' is not base64")))?;
        let value = String::from_utf8(bytes)
            .map_err(|_| invalid(format!("the value of '{key}' is not UTF-8")))?;
        let flag = |value: &str| match value.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(invalid(format!("'{key}' must be true or false"))),
        };
        match key {
            "filename" => metadata.file_name = Some(value),
            "name" if metadata.file_name.is_none() => metadata.file_name = Some(value),
            "description" => metadata.description = Some(value),
            "altText" => metadata.alt_text = Some(value),
            "isPublic" => metadata.is_public = Some(flag(&value)?),
            "storageProviderProfileId" => metadata.storage_profile_id = Some(value),
            "runEnrichment" => metadata.run_enrichment = Some(flag(&value)?),
            "commitMessage" => metadata.commit_message = Some(value),
            _ => {}
        }
    }
    Ok(metadata)
}

fn tus_version(headers: &HeaderMap) -> Result<()> {
    match header_text(headers, "tus-resumable") {
        Some(version) if version.trim() == TUS_VERSION => Ok(()),
        _ => Err(Error::UploadTusVersionUnsupported),
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn set(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        headers.insert(name, value);
    }
}

fn set_expiry(headers: &mut HeaderMap, at: DateTime<Utc>) {
    set(
        headers,
        "upload-expires",
        &at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
    );
}

/// Every tus answer names the protocol version, errors included (those
/// carry the JSON error envelope).
fn tus(mut response: Response) -> Response {
    set(response.headers_mut(), "tus-resumable", TUS_VERSION);
    response
}

fn answer(result: Result<Response>) -> Response {
    match result {
        Ok(response) => tus(response),
        Err(err) => {
            let version_refused = matches!(err, Error::UploadTusVersionUnsupported);
            let mut response = ApiError(err).into_response();
            if version_refused {
                set(response.headers_mut(), "tus-version", TUS_VERSION);
            }
            tus(response)
        }
    }
}
