//! S3-compatible storage (AWS, MinIO, Garage, R2, ...) with aws-sdk-s3.
//! Large uploads go up in parts, so memory is bounded by the part size.

use crate::domain::ProviderType;
use async_trait::async_trait;
use aws_sdk_s3::{
    Client,
    config::{BehaviorVersion, Credentials, Region},
    error::{ProvideErrorMetadata, SdkError},
    primitives::ByteStream as S3Body,
    types::{CompletedMultipartUpload, CompletedPart},
};
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, stream};

use chrono::{DateTime, Utc};

use super::{BlobRead, BlobStore, ByteRange, ByteStream, ListedObject, StorageError, validate_key};

/// Parts of a multipart upload (S3's minimum is 5 MiB).
const PART_SIZE: usize = 8 * 1024 * 1024;

/// Where and how to reach the bucket.
#[derive(Clone, Debug)]
pub struct S3Settings {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub force_path_style: bool,
    pub public_base_url: Option<String>,
}

pub struct S3Store {
    client: Client,
    bucket: String,
    public_base: String,
}

impl S3Store {
    pub fn new(settings: &S3Settings) -> Self {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .endpoint_url(settings.endpoint.trim_end_matches('/'))
            .credentials_provider(Credentials::new(
                settings.access_key_id.clone(),
                settings.secret_access_key.clone(),
                None,
                None,
                "tessera",
            ))
            .force_path_style(settings.force_path_style)
            .http_client(http)
            .build();
        let endpoint = settings.endpoint.trim_end_matches('/');
        let public_base = match &settings.public_base_url {
            Some(base) => base.trim_end_matches('/').to_string(),
            None if settings.force_path_style => format!("{endpoint}/{}", settings.bucket),
            None => match endpoint.split_once("://") {
                Some((scheme, host)) => format!("{scheme}://{}.{host}", settings.bucket),
                None => format!("{endpoint}/{}", settings.bucket),
            },
        };
        S3Store {
            client: Client::from_conf(config),
            bucket: settings.bucket.clone(),
            public_base,
        }
    }

    async fn put_parts(
        &self,
        key: &str,
        first: Bytes,
        mut body: ByteStream<'_>,
    ) -> Result<u64, StorageError> {
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(unavailable)?;
        let upload_id = upload.upload_id().unwrap_or_default().to_string();
        let result = async {
            let mut parts = Vec::new();
            let mut written = 0u64;
            let mut pending = Some(first);
            let mut buffer = BytesMut::new();
            loop {
                let chunk = match pending.take() {
                    Some(chunk) => Some(Ok(chunk)),
                    None => body.next().await,
                };
                let finished = match chunk {
                    Some(chunk) => {
                        buffer.extend_from_slice(&chunk.map_err(StorageError::Aborted)?);
                        false
                    }
                    None => true,
                };
                while buffer.len() >= PART_SIZE || (finished && !buffer.is_empty()) {
                    let take = buffer.len().min(PART_SIZE);
                    let part = buffer.split_to(take).freeze();
                    written += part.len() as u64;
                    let number = i32::try_from(parts.len() + 1).unwrap_or(i32::MAX);
                    let done = self
                        .client
                        .upload_part()
                        .bucket(&self.bucket)
                        .key(key)
                        .upload_id(&upload_id)
                        .part_number(number)
                        .body(S3Body::from(part))
                        .send()
                        .await
                        .map_err(unavailable)?;
                    parts.push(
                        CompletedPart::builder()
                            .part_number(number)
                            .set_e_tag(done.e_tag().map(str::to_string))
                            .build(),
                    );
                }
                if finished {
                    break;
                }
            }
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(unavailable)?;
            Ok(written)
        }
        .await;
        if result.is_err() {
            // Nothing partial stays behind.
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }
}

fn is_not_found<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    match err {
        SdkError::ServiceError(service) => {
            matches!(
                service.err().code(),
                Some("NoSuchKey" | "NotFound" | "NoSuchBucket")
            ) || service.err().code().is_none()
        }
        _ => false,
    }
}

fn unavailable<E: std::fmt::Debug + ProvideErrorMetadata, R: std::fmt::Debug>(
    err: SdkError<E, R>,
) -> StorageError {
    let detail = match &err {
        SdkError::ServiceError(service) => format!(
            "{}: {}",
            service.err().code().unwrap_or("error"),
            service.err().message().unwrap_or_default()
        ),
        other => format!("{other:?}").chars().take(300).collect(),
    };
    StorageError::Unavailable(detail)
}

#[async_trait]
impl BlobStore for S3Store {
    fn provider_type(&self) -> ProviderType {
        ProviderType::S3
    }

    /// Small files go up in one request; anything over one part as a
    /// multipart upload, aborted on failure.
    async fn put(
        &self,
        key: &str,
        mut body: ByteStream<'_>,
        _message: Option<&str>,
    ) -> Result<u64, StorageError> {
        validate_key(key)?;
        let mut buffer = BytesMut::new();
        while buffer.len() < PART_SIZE {
            match body.next().await {
                Some(chunk) => buffer.extend_from_slice(&chunk.map_err(StorageError::Aborted)?),
                None => {
                    let size = buffer.len() as u64;
                    self.client
                        .put_object()
                        .bucket(&self.bucket)
                        .key(key)
                        .body(S3Body::from(buffer.freeze()))
                        .send()
                        .await
                        .map_err(unavailable)?;
                    return Ok(size);
                }
            }
        }
        self.put_parts(key, buffer.freeze(), body).await
    }

    async fn get(&self, key: &str, range: Option<ByteRange>) -> Result<BlobRead, StorageError> {
        validate_key(key)?;
        let mut request = self.client.get_object().bucket(&self.bucket).key(key);
        if let Some(range) = range {
            request = request.range(format!("bytes={}-{}", range.start, range.end));
        }
        let object = request.send().await.map_err(|err| {
            if is_not_found(&err) {
                StorageError::NotFound
            } else {
                unavailable(err)
            }
        })?;
        let size = match (range, object.content_range()) {
            (Some(_), Some(content_range)) => content_range
                .rsplit('/')
                .next()
                .and_then(|total| total.parse().ok())
                .unwrap_or_default(),
            _ => u64::try_from(object.content_length().unwrap_or_default()).unwrap_or_default(),
        };
        let body = stream::unfold(object.body, |mut body| async move {
            match body.try_next().await {
                Ok(Some(chunk)) => Some((Ok(chunk), body)),
                Ok(None) => None,
                Err(err) => Some((Err(std::io::Error::other(err)), body)),
            }
        })
        .boxed();
        Ok(BlobRead { size, body })
    }

    async fn head(&self, key: &str) -> Result<u64, StorageError> {
        validate_key(key)?;
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|err| {
                if is_not_found(&err) {
                    StorageError::NotFound
                } else {
                    unavailable(err)
                }
            })?;
        Ok(u64::try_from(head.content_length().unwrap_or_default()).unwrap_or_default())
    }

    async fn delete(&self, key: &str, _message: Option<&str>) -> Result<(), StorageError> {
        validate_key(key)?;
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }

    fn public_url(&self, key: &str) -> Option<String> {
        Some(format!("{}/{key}", self.public_base))
    }

    async fn check(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn list(&self, prefix: &str) -> Result<Option<Vec<ListedObject>>, StorageError> {
        let mut found = Vec::new();
        let mut continuation = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(continuation)
                .send()
                .await
                .map_err(unavailable)?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    found.push(ListedObject {
                        key: key.to_string(),
                        modified: object.last_modified().and_then(|at| {
                            DateTime::<Utc>::from_timestamp(at.secs(), at.subsec_nanos())
                        }),
                    });
                }
            }
            continuation = page.next_continuation_token().map(str::to_string);
            if page.is_truncated() != Some(true) || continuation.is_none() {
                return Ok(Some(found));
            }
        }
    }
}
