use tonic::{Request, Response, Status};

use super::{
    Authenticated, cleared,
    proto::{
        self, ActivateAiProviderRequest, ActivateAiProviderResponse, CreateAiProviderRequest,
        CreateAiProviderResponse, DeleteAiProviderRequest, DeleteAiProviderResponse,
        GetActiveAiProviderRequest, GetActiveAiProviderResponse, GetAiProviderRequest,
        GetAiProviderResponse, ListAiProvidersRequest, ListAiProvidersResponse,
        TestAiProviderRequest, TestAiProviderResponse, UpdateAiProviderRequest,
        UpdateAiProviderResponse, ai_provider_service_server::AiProviderService,
    },
    timestamp,
};
use crate::{
    domain::{AiProvider, AiProviderPatch, AiProviderTestRequest, NewAiProvider},
    service::Services,
};

/// `tessera.v1.AiProviderService` over the shared services.
pub struct AiProvidersGrpc {
    services: Services,
}

impl AiProvidersGrpc {
    pub fn new(services: Services) -> Self {
        AiProvidersGrpc { services }
    }
}

fn to_proto(p: AiProvider) -> proto::AiProvider {
    proto::AiProvider {
        id: p.id,
        name: p.name,
        api_base_url: p.api_base_url,
        api_key: p.api_key_masked,
        model_name: p.model_name,
        default_system_prompt: p.default_system_prompt,
        is_active: p.is_active,
        created_at_utc: Some(timestamp(p.created_at)),
        updated_at_utc: Some(timestamp(p.updated_at)),
    }
}

#[tonic::async_trait]
impl AiProviderService for AiProvidersGrpc {
    async fn list_ai_providers(
        &self,
        request: Request<ListAiProvidersRequest>,
    ) -> Result<Response<ListAiProvidersResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let providers = self
            .services
            .ai_providers
            .list(&call.principal)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(ListAiProvidersResponse {
            providers: providers.into_iter().map(to_proto).collect(),
        }))
    }

    async fn get_ai_provider(
        &self,
        request: Request<GetAiProviderRequest>,
    ) -> Result<Response<GetAiProviderResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let provider = self
            .services
            .ai_providers
            .get(&call.principal, &request.into_inner().id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(GetAiProviderResponse {
            provider: Some(to_proto(provider)),
        }))
    }

    async fn create_ai_provider(
        &self,
        request: Request<CreateAiProviderRequest>,
    ) -> Result<Response<CreateAiProviderResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let r = request.into_inner();
        let input = NewAiProvider {
            name: r.name,
            api_base_url: r.api_base_url,
            api_key: r.api_key,
            model_name: r.model_name,
            default_system_prompt: r.default_system_prompt,
            is_active: r.is_active,
        };
        let provider = self
            .services
            .ai_providers
            .create(&call.principal, input)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(CreateAiProviderResponse {
            provider: Some(to_proto(provider)),
        }))
    }

    async fn update_ai_provider(
        &self,
        request: Request<UpdateAiProviderRequest>,
    ) -> Result<Response<UpdateAiProviderResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let r = request.into_inner();
        let patch = AiProviderPatch {
            name: r.name,
            api_base_url: r.api_base_url,
            api_key: cleared(r.api_key),
            model_name: r.model_name,
            default_system_prompt: cleared(r.default_system_prompt),
            is_active: r.is_active,
        };
        let provider = self
            .services
            .ai_providers
            .update(&call.principal, &r.id, patch)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(UpdateAiProviderResponse {
            provider: Some(to_proto(provider)),
        }))
    }

    async fn delete_ai_provider(
        &self,
        request: Request<DeleteAiProviderRequest>,
    ) -> Result<Response<DeleteAiProviderResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let deleted = self
            .services
            .ai_providers
            .delete(&call.principal, &request.into_inner().id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(DeleteAiProviderResponse {
            id: deleted.id,
            was_active: deleted.was_active,
            deleted_at_utc: Some(timestamp(deleted.deleted_at)),
        }))
    }

    async fn activate_ai_provider(
        &self,
        request: Request<ActivateAiProviderRequest>,
    ) -> Result<Response<ActivateAiProviderResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let provider = self
            .services
            .ai_providers
            .activate(&call.principal, &request.into_inner().id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(ActivateAiProviderResponse {
            provider: Some(to_proto(provider)),
        }))
    }

    async fn test_ai_provider(
        &self,
        request: Request<TestAiProviderRequest>,
    ) -> Result<Response<TestAiProviderResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let r = request.into_inner();
        let test = AiProviderTestRequest {
            profile_id: Some(r.id).filter(|id| !id.is_empty()),
            api_base_url: r.api_base_url,
            api_key: r.api_key,
            model_name: r.model_name,
            default_system_prompt: r.default_system_prompt,
        };
        let outcome = self
            .services
            .ai_providers
            .test(&call.principal, test)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(TestAiProviderResponse {
            succeeded: outcome.succeeded,
            caption: outcome.caption,
            error_message: outcome.error_message,
            resolved_model_name: outcome.model_name.clone(),
            resolved_api_base_url: outcome.api_base_url,
            model_name: outcome.model_name,
            latency_ms: i64::try_from(outcome.latency_ms).unwrap_or(i64::MAX),
        }))
    }

    async fn get_active_ai_provider(
        &self,
        request: Request<GetActiveAiProviderRequest>,
    ) -> Result<Response<GetActiveAiProviderResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let provider = self
            .services
            .ai_providers
            .active(&call.principal)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(GetActiveAiProviderResponse {
            provider: provider.map(to_proto),
        }))
    }
}
