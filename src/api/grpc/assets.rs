use std::pin::Pin;

use futures_util::{Stream, StreamExt, stream};
use tonic::{Request, Response, Status, Streaming};

use super::{
    Authenticated, cleared,
    proto::{
        self, AssetContentInfo, BatchDeleteAssetsRequest, BatchDeleteAssetsResponse,
        ContentTypeUsage, DeleteAssetRequest, DeleteAssetResponse, GetAssetContentRequest,
        GetAssetContentResponse, GetAssetRequest, GetAssetResponse, GetUsageStatsRequest,
        GetUsageStatsResponse, ListAssetsRequest, ListAssetsResponse, ListSkillsRequest,
        ListSkillsResponse, RunSkillRequest, RunSkillResponse, RunSkillStep, SkillUsage,
        UpdateAssetRequest, UpdateAssetResponse, UploadAssetRequest, UploadAssetResponse,
        WatchAssetRequest, WatchAssetResponse, asset_service_server::AssetService,
        get_asset_content_response, upload_asset_request,
    },
    struct_to_json, timestamp,
};
use crate::{
    domain::{
        Asset, AssetDetails, AssetOrderBy, AssetPatch, AssetStatus, ContentRequest,
        ContentTypeFilter, ListParams, OrderDirection, SkillExecution, StatusFilter,
        UploadMetadata, UploadPart,
    },
    error::Error,
    service::{Content, Services},
    storage::StorageError,
};

/// `tessera.v1.AssetService` over the shared services.
pub struct AssetsGrpc {
    services: Services,
}

impl AssetsGrpc {
    pub fn new(services: Services) -> Self {
        AssetsGrpc { services }
    }
}

fn status_to_proto(status: AssetStatus) -> proto::AssetStatus {
    match status {
        AssetStatus::Pending => proto::AssetStatus::Pending,
        AssetStatus::Processing => proto::AssetStatus::Processing,
        AssetStatus::Ready => proto::AssetStatus::Ready,
        AssetStatus::Failed => proto::AssetStatus::Failed,
    }
}

fn asset_to_proto(asset: Asset) -> proto::Asset {
    proto::Asset {
        id: asset.id.to_string(),
        r#type: asset.asset_type,
        status: status_to_proto(asset.status).into(),
        original_file_name: asset.original_file_name.unwrap_or_default(),
        stored_file_name: asset.stored_file_name,
        extension: asset.extension,
        content_type: asset.content_type,
        size: i64::try_from(asset.size).unwrap_or(i64::MAX),
        width: asset.width.and_then(|w| i32::try_from(w).ok()),
        height: asset.height.and_then(|h| i32::try_from(h).ok()),
        checksum_sha256: asset.checksum_sha256,
        storage_provider: asset.storage_provider.provider_name().into(),
        storage_provider_profile_id: asset.storage_profile_id,
        storage_key: asset.storage_key,
        public_url: asset.public_url,
        is_public: asset.is_public,
        description: asset.description,
        alt_text: asset.alt_text,
        created_at_utc: Some(timestamp(asset.created_at)),
        updated_at_utc: Some(timestamp(asset.updated_at)),
        derivatives: Vec::new(),
        structured_results: Vec::new(),
        latest_execution_summary: None,
    }
}

fn execution_to_proto(execution: SkillExecution) -> proto::ExecutionSummary {
    proto::ExecutionSummary {
        execution_id: execution.execution_id.to_string(),
        skill_name: execution.skill_name,
        trigger_source: execution.trigger_source.as_str().into(),
        started_at_utc: Some(timestamp(execution.started_at)),
        completed_at_utc: Some(timestamp(execution.completed_at)),
        succeeded: execution.succeeded,
        steps: execution
            .steps
            .into_iter()
            .map(|s| proto::ExecutionStep {
                step_name: s.step_name,
                succeeded: s.succeeded,
                error_message: s.error_message,
                skipped: s.skipped,
                started_at_utc: Some(timestamp(s.started_at)),
                completed_at_utc: Some(timestamp(s.completed_at)),
            })
            .collect(),
    }
}

impl From<proto::UploadAssetMetadata> for UploadMetadata {
    fn from(metadata: proto::UploadAssetMetadata) -> Self {
        UploadMetadata {
            file_name: Some(metadata.file_name).filter(|n| !n.is_empty()),
            description: metadata.description,
            alt_text: metadata.alt_text,
            is_public: metadata.is_public,
            storage_profile_id: metadata.storage_provider_profile_id,
            run_enrichment: metadata.run_enrichment,
            commit_message: metadata.commit_message,
        }
    }
}

pub(super) fn details_to_proto(details: AssetDetails) -> proto::Asset {
    let AssetDetails {
        asset,
        derivatives,
        structured_results,
        latest_execution,
    } = details;
    proto::Asset {
        latest_execution_summary: latest_execution.map(execution_to_proto),
        derivatives: derivatives
            .into_iter()
            .map(|d| proto::Derivative {
                kind: d.kind,
                content_type: d.content_type,
                extension: d.extension,
                size: i64::try_from(d.size).unwrap_or(i64::MAX),
                width: d.width.and_then(|w| i32::try_from(w).ok()),
                height: d.height.and_then(|h| i32::try_from(h).ok()),
                public_url: d.public_url,
                created_at_utc: Some(timestamp(d.created_at)),
            })
            .collect(),
        structured_results: structured_results
            .into_iter()
            .map(|r| proto::StructuredResult {
                kind: r.kind,
                payload_json: r.payload_json,
                created_at_utc: Some(timestamp(r.created_at)),
            })
            .collect(),
        ..asset_to_proto(asset)
    }
}

pub(super) fn list_params(request: ListAssetsRequest) -> Result<ListParams, Error> {
    let status = match request.status() {
        proto::AssetStatus::Unspecified => None,
        proto::AssetStatus::Pending => Some(StatusFilter::Is(AssetStatus::Pending)),
        proto::AssetStatus::Processing => Some(StatusFilter::Is(AssetStatus::Processing)),
        proto::AssetStatus::Ready => Some(StatusFilter::Is(AssetStatus::Ready)),
        proto::AssetStatus::Failed => Some(StatusFilter::Is(AssetStatus::Failed)),
    };
    let order_by = match request.order_by() {
        proto::AssetOrderBy::Unspecified | proto::AssetOrderBy::CreatedAtUtc => {
            AssetOrderBy::CreatedAt
        }
        proto::AssetOrderBy::Size => AssetOrderBy::Size,
    };
    let direction = match request.order_direction() {
        proto::OrderDirection::Unspecified | proto::OrderDirection::Desc => OrderDirection::Desc,
        proto::OrderDirection::Asc => OrderDirection::Asc,
    };
    let content_type = Some(request.content_type.trim())
        .filter(|c| !c.is_empty())
        .map(str::parse::<ContentTypeFilter>)
        .transpose()?;
    Ok(ListParams {
        page: (request.page != 0).then_some(i64::from(request.page)),
        page_size: (request.page_size != 0).then_some(i64::from(request.page_size)),
        // proto3 has no absent string: only empty means no query; the service
        // decides what a blank one means, as for REST.
        query: Some(request.query).filter(|q| !q.is_empty()),
        content_type,
        status,
        order_by,
        direction,
    })
}

/// One `UploadAsset` message as upload parts: the metadata begins the file
/// (an empty chunk), so metadata with no chunks is an empty file.
fn upload_parts(
    index: usize,
    message: Result<UploadAssetRequest, Status>,
) -> Vec<Result<UploadPart, Error>> {
    use upload_asset_request::Payload;
    match (index, message.map(|m| m.payload)) {
        (_, Err(status)) => vec![Err(Error::InvalidRequest(format!(
            "upload stream failed: {}",
            status.message()
        )))],
        (0, Ok(Some(Payload::Metadata(metadata)))) => vec![
            Ok(UploadPart::Metadata(metadata.into())),
            Ok(UploadPart::Chunk(bytes::Bytes::new())),
        ],
        (0, Ok(_)) => vec![Err(Error::InvalidRequest(
            "the first message must carry the metadata".into(),
        ))],
        (_, Ok(Some(Payload::Chunk(bytes)))) => vec![Ok(UploadPart::Chunk(bytes))],
        (_, Ok(None)) => Vec::new(),
        (_, Ok(Some(Payload::Metadata(_)))) => vec![Err(Error::InvalidRequest(
            "metadata may only be sent first".into(),
        ))],
    }
}

type ContentStream = Pin<Box<dyn Stream<Item = Result<GetAssetContentResponse, Status>> + Send>>;
type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchAssetResponse, Status>> + Send>>;

#[tonic::async_trait]
impl AssetService for AssetsGrpc {
    async fn upload_asset(
        &self,
        request: Request<Streaming<UploadAssetRequest>>,
    ) -> Result<Response<UploadAssetResponse>, Status> {
        let call = Authenticated::of(&request)?;
        // The first message carries the metadata, every later one a chunk.
        let mut parts = request
            .into_inner()
            .enumerate()
            .flat_map(|(index, message)| stream::iter(upload_parts(index, message)))
            .fuse();
        let details = self
            .services
            .assets
            .upload(&call.principal, &mut parts)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(UploadAssetResponse {
            asset: Some(details_to_proto(details)),
        }))
    }

    async fn get_asset(
        &self,
        request: Request<GetAssetRequest>,
    ) -> Result<Response<GetAssetResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let details = self
            .services
            .assets
            .get(&call.principal, &request.into_inner().id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(GetAssetResponse {
            asset: Some(details_to_proto(details)),
        }))
    }

    async fn list_assets(
        &self,
        request: Request<ListAssetsRequest>,
    ) -> Result<Response<ListAssetsResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let params = list_params(request.into_inner()).map_err(|e| call.fail(e))?;
        let page = self
            .services
            .assets
            .list(&call.principal, params)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(ListAssetsResponse {
            items: page.items.into_iter().map(asset_to_proto).collect(),
            page: i32::try_from(page.page).unwrap_or(i32::MAX),
            page_size: i32::try_from(page.page_size).unwrap_or(i32::MAX),
            total: i64::try_from(page.total).unwrap_or(i64::MAX),
            total_estimated: page.total_estimated,
        }))
    }

    async fn update_asset(
        &self,
        request: Request<UpdateAssetRequest>,
    ) -> Result<Response<UpdateAssetResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let request = request.into_inner();
        let patch = AssetPatch {
            description: cleared(request.description),
            alt_text: cleared(request.alt_text),
            original_file_name: cleared(request.original_file_name),
            is_public: request.is_public,
        };
        let details = self
            .services
            .assets
            .update(&call.principal, &request.id, patch)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(UpdateAssetResponse {
            asset: Some(details_to_proto(details)),
        }))
    }

    async fn delete_asset(
        &self,
        request: Request<DeleteAssetRequest>,
    ) -> Result<Response<DeleteAssetResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let request = request.into_inner();
        let deleted = self
            .services
            .assets
            .delete(
                &call.principal,
                &request.id,
                request.commit_message.as_deref(),
            )
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(DeleteAssetResponse {
            id: deleted.id.to_string(),
            status: status_to_proto(deleted.status).into(),
            deleted_at_utc: Some(timestamp(deleted.deleted_at)),
        }))
    }

    async fn batch_delete_assets(
        &self,
        request: Request<BatchDeleteAssetsRequest>,
    ) -> Result<Response<BatchDeleteAssetsResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let outcome = self
            .services
            .assets
            .batch_delete(&call.principal, request.into_inner().ids)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(BatchDeleteAssetsResponse {
            requested_count: i32::try_from(outcome.requested_count).unwrap_or(i32::MAX),
            deleted_count: i32::try_from(outcome.deleted_count).unwrap_or(i32::MAX),
            not_found_ids: outcome.not_found_ids,
        }))
    }

    type GetAssetContentStream = ContentStream;

    async fn get_asset_content(
        &self,
        request: Request<GetAssetContentRequest>,
    ) -> Result<Response<Self::GetAssetContentStream>, Status> {
        let call = Authenticated::of(&request)?;
        let request = request.into_inner();
        let content = self
            .services
            .assets
            .content(
                &call.principal,
                &request.id,
                ContentRequest {
                    derivative_kind: request.derivative_kind,
                    ..ContentRequest::default()
                },
            )
            .await
            .map_err(|e| call.fail(e))?;
        let Content::Bytes(content) = content else {
            return Err(call.fail(Error::internal(
                "content",
                "redirect where bytes were asked for",
            )));
        };
        let info = GetAssetContentResponse {
            payload: Some(get_asset_content_response::Payload::Info(
                AssetContentInfo {
                    content_type: content.content_type,
                    size: i64::try_from(content.total_size).unwrap_or(i64::MAX),
                    checksum_sha256: content.checksum_sha256.unwrap_or_default(),
                },
            )),
        };
        let chunks = content.body.map(move |chunk| {
            chunk
                .map(|bytes| GetAssetContentResponse {
                    payload: Some(get_asset_content_response::Payload::Chunk(bytes)),
                })
                .map_err(|err| call.fail(StorageError::Unavailable(err.to_string()).into()))
        });
        let stream = stream::once(async { Ok(info) }).chain(chunks);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_usage_stats(
        &self,
        request: Request<GetUsageStatsRequest>,
    ) -> Result<Response<GetUsageStatsResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let stats = self
            .services
            .assets
            .usage_stats(&call.principal)
            .await
            .map_err(|e| call.fail(e))?;
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        Ok(Response::new(GetUsageStatsResponse {
            total_assets: count(stats.total_assets),
            total_bytes: count(stats.total_bytes),
            total_derivatives: count(stats.total_derivatives),
            content_type_breakdown: stats
                .content_type_breakdown
                .into_iter()
                .map(|c| ContentTypeUsage {
                    content_type: c.content_type,
                    count: count(c.count),
                    total_bytes: count(c.total_bytes),
                })
                .collect(),
            most_active_skill: stats.most_active_skill.map(|s| SkillUsage {
                skill_name: s.skill_name,
                run_count: count(s.run_count),
            }),
        }))
    }

    async fn list_skills(
        &self,
        request: Request<ListSkillsRequest>,
    ) -> Result<Response<ListSkillsResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let skills = self
            .services
            .skills
            .list(&call.principal)
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(ListSkillsResponse {
            skills: skills
                .into_iter()
                .map(|s| proto::Skill {
                    skill_name: s.skill_name.into(),
                    description: s.description.into(),
                    steps: s.steps.into_iter().map(String::from).collect(),
                })
                .collect(),
        }))
    }

    async fn run_skill(
        &self,
        request: Request<RunSkillRequest>,
    ) -> Result<Response<RunSkillResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let request = request.into_inner();
        let outcome = self
            .services
            .skills
            .run(
                &call.principal,
                &request.id,
                &request.skill_name,
                request.parameters.map(struct_to_json),
            )
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(RunSkillResponse {
            succeeded: outcome.succeeded,
            skill_name: outcome.skill_name,
            steps: outcome
                .steps
                .into_iter()
                .map(|s| RunSkillStep {
                    name: s.step_name,
                    succeeded: s.succeeded,
                    error_message: s.error_message,
                    skipped: s.skipped,
                })
                .collect(),
            asset: Some(details_to_proto(outcome.asset)),
        }))
    }

    type WatchAssetStream = WatchStream;

    async fn watch_asset(
        &self,
        request: Request<WatchAssetRequest>,
    ) -> Result<Response<Self::WatchAssetStream>, Status> {
        let call = Authenticated::of(&request)?;
        let updates = self
            .services
            .assets
            .watch(&call.principal, &request.into_inner().id)
            .await
            .map_err(|e| call.fail(e))?;
        let stream = updates.map(move |update| {
            update
                .map(|details| WatchAssetResponse {
                    asset: Some(details_to_proto(details)),
                })
                .map_err(|err| call.fail(err))
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
