use tonic::{Request, Response, Status};

use super::{
    Authenticated,
    proto::{
        self, CreateApiKeyRequest, CreateApiKeyResponse, ListApiKeysRequest, ListApiKeysResponse,
        RevokeApiKeyRequest, RevokeApiKeyResponse, api_key_service_server::ApiKeyService,
    },
    timestamp,
};
use crate::{domain::ApiKeyInfo, service::Services};

/// `tessera.v1.ApiKeyService` over the shared services.
pub struct ApiKeysGrpc {
    services: Services,
}

impl ApiKeysGrpc {
    pub fn new(services: Services) -> Self {
        ApiKeysGrpc { services }
    }
}

fn to_proto(k: ApiKeyInfo) -> proto::ApiKey {
    proto::ApiKey {
        id: k.id,
        name: k.name,
        prefix: k.prefix,
        scopes: k.scopes.iter().map(|p| p.as_str().to_string()).collect(),
        created_at_utc: Some(timestamp(k.created_at)),
        last_used_at_utc: k.last_used_at.map(timestamp),
        revoked_at_utc: k.revoked_at.map(timestamp),
    }
}

#[tonic::async_trait]
impl ApiKeyService for ApiKeysGrpc {
    async fn list_api_keys(
        &self,
        request: Request<ListApiKeysRequest>,
    ) -> Result<Response<ListApiKeysResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let keys = self
            .services
            .auth
            .list_api_keys(&call.principal)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(ListApiKeysResponse {
            api_keys: keys.into_iter().map(to_proto).collect(),
        }))
    }

    async fn create_api_key(
        &self,
        request: Request<CreateApiKeyRequest>,
    ) -> Result<Response<CreateApiKeyResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        let scopes = (!body.scopes.is_empty()).then_some(body.scopes);
        let (created, info) = self
            .services
            .auth
            .create_api_key_for(&call.principal, &body.name, scopes)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(CreateApiKeyResponse {
            api_key: Some(to_proto(info)),
            key: created.key.expose().to_string(),
        }))
    }

    async fn revoke_api_key(
        &self,
        request: Request<RevokeApiKeyRequest>,
    ) -> Result<Response<RevokeApiKeyResponse>, Status> {
        let call = Authenticated::of(&request)?;
        self.services
            .auth
            .revoke_api_key(&call.principal, &request.into_inner().id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(RevokeApiKeyResponse {}))
    }
}
