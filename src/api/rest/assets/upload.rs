//! `POST /api/v1/assets`: a multipart body read as a stream of upload parts
//! in the client's order, so the file streams into storage as it arrives.

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, header},
    response::Response,
};
use futures_util::{Stream, StreamExt, stream};
use utoipa::ToSchema;

use super::super::{ApiError, Authenticated, Data, accepted};
use super::dto::AssetDto;
use crate::{
    domain::{MAX_TEXT_LEN, UploadMetadata, UploadPart},
    error::Error,
    service::Services,
};

/// Longest text field accepted in a multipart upload, in bytes (UTF-8 of the
/// character limit, with room for multi-byte characters).
const MAX_TEXT_FIELD_BYTES: usize = MAX_TEXT_LEN * 4 + 1024;
/// After a refused upload, this much of the rest of the body is read and
/// dropped so that the client sees the error instead of a reset connection.
const MAX_DRAIN_BYTES: u64 = 64 * 1024 * 1024;

/// The multipart body of an upload. The handler reads the fields as they
/// arrive (the file streams into storage), so this type only describes them.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct UploadForm {
    /// The image; its type is sniffed from the bytes.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
    /// At most 1000 characters.
    description: Option<String>,
    /// At most 1000 characters.
    alt_text: Option<String>,
    /// Default `true`.
    is_public: Option<bool>,
    /// The storage profile to store it on; default: the default profile.
    storage_provider_profile_id: Option<String>,
    /// Run thumbnails and enrichment after the upload (default `true`).
    run_enrichment: Option<bool>,
    /// For storage that keeps history (a GitHub repository).
    commit_message: Option<String>,
}

#[utoipa::path(
    post,
    operation_id = "uploadAsset",
    path = "/api/v1/assets",
    tag = "assets",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = ACCEPTED, description = "Stored; processing runs in the background", body = Data<AssetDto>,
            headers(("Location" = String, description = "The new asset's URL"))))
)]
/// Streams the file into storage while hashing it; fields that steer storage
/// (`storageProviderProfileId`, `commitMessage`, `isPublic`) take full effect
/// when sent before the file. A refused upload is still read (up to 64 MiB), so
/// the client receives the error rather than a reset connection.
pub async fn upload(
    State(services): State<Services>,
    caller: Result<Authenticated, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let mut parts = match multipart_parts(&headers, body) {
        Ok(parts) => parts,
        Err(err) => return Err(caller.err().unwrap_or(ApiError(err))),
    };
    let received = match caller {
        Ok(Authenticated(principal)) => services.assets.upload(&principal, &mut parts).await,
        Err(refused) => Err(refused.0),
    };
    match received {
        Ok(details) => {
            let id = details.asset.id.to_string();
            Ok(accepted(&id, AssetDto::from(details)))
        }
        Err(err) => {
            drain(&mut parts).await;
            Err(err.into())
        }
    }
}

type Parts = std::pin::Pin<Box<dyn Stream<Item = Result<UploadPart, Error>> + Send>>;

/// Where the multipart reader stands.
struct Reader {
    multipart: multer::Multipart<'static>,
    /// The file field while its bytes are being read, with its name.
    file: Option<(multer::Field<'static>, Option<String>)>,
    seen_file: bool,
}

/// The multipart fields as upload parts: each text field is a piece of
/// metadata; the file is an empty chunk that begins it, its bytes, and its
/// name once it has ended.
fn multipart_parts(headers: &HeaderMap, body: Body) -> Result<Parts, Error> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        Error::InvalidRequest("the body must be multipart/form-data with a boundary".into())
    })?;
    let reader = Reader {
        multipart: multer::Multipart::new(body.into_data_stream(), boundary),
        file: None,
        seen_file: false,
    };
    Ok(stream::unfold(reader, |mut reader| async move {
        let part = reader.next_part().await?;
        Some((part, reader))
    })
    .fuse()
    .boxed())
}

impl Reader {
    async fn next_part(&mut self) -> Option<Result<UploadPart, Error>> {
        if let Some((field, file_name)) = &mut self.file {
            return match field.chunk().await {
                Ok(Some(bytes)) => Some(Ok(UploadPart::Chunk(bytes))),
                Ok(None) => {
                    let file_name = file_name.take();
                    self.file = None;
                    Some(Ok(UploadPart::Metadata(UploadMetadata {
                        file_name,
                        ..UploadMetadata::default()
                    })))
                }
                Err(err) => {
                    self.file = None;
                    Some(Err(multipart_error(err)))
                }
            };
        }
        loop {
            let field = match self.multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => return None,
                Err(err) => return Some(Err(multipart_error(err))),
            };
            let name = field.name().unwrap_or_default().to_string();
            let mut metadata = UploadMetadata::default();
            let read = match name.as_str() {
                "file" if self.seen_file => Err(Error::InvalidRequest(
                    "send exactly one 'file' field".into(),
                )),
                "file" => {
                    self.seen_file = true;
                    let file_name = field.file_name().map(str::to_string);
                    self.file = Some((field, file_name));
                    return Some(Ok(UploadPart::Chunk(Bytes::new())));
                }
                "description" => text_field(field, &name)
                    .await
                    .map(|v| metadata.description = Some(v)),
                "altText" => text_field(field, &name)
                    .await
                    .map(|v| metadata.alt_text = Some(v)),
                "isPublic" => bool_field(field, &name)
                    .await
                    .map(|v| metadata.is_public = Some(v)),
                "runEnrichment" => bool_field(field, &name)
                    .await
                    .map(|v| metadata.run_enrichment = Some(v)),
                "storageProviderProfileId" => text_field(field, &name)
                    .await
                    .map(|v| metadata.storage_profile_id = Some(v)),
                "commitMessage" => text_field(field, &name)
                    .await
                    .map(|v| metadata.commit_message = Some(v)),
                _ => continue,
            };
            return Some(read.map(|()| UploadPart::Metadata(metadata)));
        }
    }
}

fn multipart_error(err: multer::Error) -> Error {
    Error::InvalidRequest(format!("malformed multipart body: {err}"))
}

async fn text_field(mut field: multer::Field<'static>, name: &str) -> Result<String, Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > MAX_TEXT_FIELD_BYTES {
            return Err(match name {
                "description" => Error::AssetDescriptionTooLong { max: MAX_TEXT_LEN },
                "altText" => Error::AssetAltTextTooLong { max: MAX_TEXT_LEN },
                _ => Error::InvalidRequest(format!("field '{name}' is too long")),
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::InvalidRequest(format!("field '{name}' is not UTF-8")))
}

async fn bool_field(field: multer::Field<'static>, name: &str) -> Result<bool, Error> {
    let text = text_field(field, name).await?;
    parse_bool(&text).ok_or_else(|| {
        Error::InvalidRequest(format!(
            "field '{name}' must be true or false, got '{text}'"
        ))
    })
}

fn parse_bool(text: &str) -> Option<bool> {
    // Exactly the document's boolean: `1`, `yes` and the like are refused.
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Reads and drops the rest of a refused upload (bounded), so the client
/// hears the error instead of a reset connection.
async fn drain(parts: &mut Parts) {
    let mut drained = 0u64;
    while let Some(Ok(part)) = parts.next().await {
        if let UploadPart::Chunk(bytes) = part {
            drained += bytes.len() as u64;
            if drained > MAX_DRAIN_BYTES {
                return;
            }
        }
    }
}
