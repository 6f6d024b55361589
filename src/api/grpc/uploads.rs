use futures_util::stream;
use tonic::{Request, Response, Status};

use super::{
    Authenticated,
    assets::details_to_proto,
    proto::{
        self, AppendUploadRequest, AppendUploadResponse, CancelUploadRequest, CancelUploadResponse,
        CompleteUploadRequest, CompleteUploadResponse, CreateUploadRequest, CreateUploadResponse,
        GetUploadRequest, GetUploadResponse, upload_service_server::UploadService,
    },
    timestamp,
};
use crate::{
    domain::{NewUpload, Upload, UploadState},
    error::Error,
    service::{ChunkEnd, MAX_GRPC_CHUNK_BYTES, Services},
};

/// `tessera.v1.UploadService` over the shared upload service.
pub struct UploadsGrpc {
    services: Services,
}

impl UploadsGrpc {
    pub fn new(services: Services) -> Self {
        UploadsGrpc { services }
    }
}

fn to_proto(upload: Upload) -> proto::Upload {
    proto::Upload {
        id: upload.id,
        offset: upload.offset,
        size: upload.size,
        expires_at: Some(timestamp(upload.expires_at)),
        state: match upload.state {
            UploadState::Open => proto::UploadState::Open,
            UploadState::Completing => proto::UploadState::Completing,
            UploadState::Completed => proto::UploadState::Completed,
        }
        .into(),
        asset_id: upload.asset_id,
    }
}

#[tonic::async_trait]
impl UploadService for UploadsGrpc {
    async fn create_upload(
        &self,
        request: Request<CreateUploadRequest>,
    ) -> Result<Response<CreateUploadResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        let new = NewUpload {
            size: Some(body.size),
            metadata: body.metadata.map(Into::into).unwrap_or_default(),
            expected_sha256: body.expected_sha256,
        };
        let upload = self
            .services
            .uploads
            .create(&call.principal, new)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(CreateUploadResponse {
            upload: Some(to_proto(upload)),
        }))
    }

    async fn append_upload(
        &self,
        request: Request<AppendUploadRequest>,
    ) -> Result<Response<AppendUploadResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        if body.data.len() as u64 > MAX_GRPC_CHUNK_BYTES {
            return Err(call.fail(Error::UploadChunkTooLarge {
                max: MAX_GRPC_CHUNK_BYTES,
            }));
        }
        let data = stream::iter([Ok(body.data)]);
        let upload = self
            .services
            .uploads
            .append(
                &call.principal,
                &body.upload_id,
                body.offset,
                data,
                ChunkEnd::AllOrNothing,
            )
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(AppendUploadResponse {
            upload: Some(to_proto(upload)),
        }))
    }

    async fn get_upload(
        &self,
        request: Request<GetUploadRequest>,
    ) -> Result<Response<GetUploadResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let upload = self
            .services
            .uploads
            .get(&call.principal, &request.into_inner().upload_id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(GetUploadResponse {
            upload: Some(to_proto(upload)),
        }))
    }

    async fn complete_upload(
        &self,
        request: Request<CompleteUploadRequest>,
    ) -> Result<Response<CompleteUploadResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let id = request.into_inner().upload_id;
        let uploads = &self.services.uploads;
        let asset = uploads
            .complete(&call.principal, &id)
            .await
            .map_err(|e| call.fail(e))?;
        let upload = uploads
            .get(&call.principal, &id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(CompleteUploadResponse {
            asset: Some(details_to_proto(asset)),
            upload: Some(to_proto(upload)),
        }))
    }

    async fn cancel_upload(
        &self,
        request: Request<CancelUploadRequest>,
    ) -> Result<Response<CancelUploadResponse>, Status> {
        let call = Authenticated::of(&request)?;
        self.services
            .uploads
            .cancel(&call.principal, &request.into_inner().upload_id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(CancelUploadResponse {}))
    }
}
