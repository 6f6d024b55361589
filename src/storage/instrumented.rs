//! Every backend behind the same metrics: operation latency and failures
//! by backend, so an operator sees which store misbehaves.

use crate::domain::ProviderType;
use std::{sync::Arc, time::Instant};

use async_trait::async_trait;

use chrono::{DateTime, Utc};

use super::{BlobRead, BlobStore, ByteRange, ByteStream, ListedObject, StorageError};
use crate::telemetry;

pub struct Instrumented(pub Arc<dyn BlobStore>);

impl Instrumented {
    fn record<T>(
        &self,
        operation: &'static str,
        started: Instant,
        result: &Result<T, StorageError>,
    ) {
        let backend = self.0.provider_type().provider_name();
        telemetry::observe(
            telemetry::STORAGE_OPERATION_DURATION,
            started.elapsed(),
            &[
                ("backend", backend.to_string()),
                ("operation", operation.to_string()),
            ],
        );
        if let Err(err) = result
            && !err.is_not_found()
        {
            metrics::counter!(
                telemetry::STORAGE_ERRORS,
                "backend" => backend,
                "operation" => operation,
                "kind" => err.kind(),
            )
            .increment(1);
        }
    }
}

#[async_trait]
impl BlobStore for Instrumented {
    fn provider_type(&self) -> ProviderType {
        self.0.provider_type()
    }

    async fn put(
        &self,
        key: &str,
        body: ByteStream<'_>,
        message: Option<&str>,
    ) -> Result<u64, StorageError> {
        let started = Instant::now();
        let result = self.0.put(key, body, message).await;
        self.record("put", started, &result);
        result
    }

    async fn get(&self, key: &str, range: Option<ByteRange>) -> Result<BlobRead, StorageError> {
        let started = Instant::now();
        let result = self.0.get(key, range).await;
        self.record("get", started, &result);
        result
    }

    async fn head(&self, key: &str) -> Result<u64, StorageError> {
        let started = Instant::now();
        let result = self.0.head(key).await;
        self.record("head", started, &result);
        result
    }

    async fn delete(&self, key: &str, message: Option<&str>) -> Result<(), StorageError> {
        let started = Instant::now();
        let result = self.0.delete(key, message).await;
        self.record("delete", started, &result);
        result
    }

    fn stages_uploads(&self) -> bool {
        self.0.stages_uploads()
    }

    fn public_url(&self, key: &str) -> Option<String> {
        self.0.public_url(key)
    }

    fn max_object_bytes(&self) -> Option<u64> {
        self.0.max_object_bytes()
    }

    fn allows_private(&self) -> bool {
        self.0.allows_private()
    }

    async fn check(&self) -> Result<(), StorageError> {
        let started = Instant::now();
        let result = self.0.check().await;
        self.record("check", started, &result);
        result
    }

    async fn list(&self, prefix: &str) -> Result<Option<Vec<ListedObject>>, StorageError> {
        let started = Instant::now();
        let result = self.0.list(prefix).await;
        self.record("list", started, &result);
        result
    }

    async fn sweep_staging(&self, before: DateTime<Utc>) -> Result<u64, StorageError> {
        self.0.sweep_staging(before).await
    }
}
