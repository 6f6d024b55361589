use tonic::{Request, Response, Status};

use super::{
    Authenticated, json_to_struct,
    proto::{
        self, CreateStorageProfileRequest, CreateStorageProfileResponse,
        DeleteStorageProfileRequest, DeleteStorageProfileResponse, GetStorageProfileRequest,
        GetStorageProfileResponse, ListStorageProfilesRequest, ListStorageProfilesResponse,
        SetDefaultStorageProfileRequest, SetDefaultStorageProfileResponse,
        UpdateStorageProfileRequest, UpdateStorageProfileResponse,
        storage_profile_service_server::StorageProfileService,
    },
    struct_to_json, timestamp,
};
use crate::{
    domain::{NewStorageProfile, StorageOverview, StorageProfile, StorageProfilePatch},
    service::Services,
};

/// `tessera.v1.StorageProfileService` over the shared services.
pub struct StorageProfilesGrpc {
    services: Services,
}

impl StorageProfilesGrpc {
    pub fn new(services: Services) -> Self {
        StorageProfilesGrpc { services }
    }
}

fn to_proto(p: StorageProfile) -> proto::StorageProfile {
    proto::StorageProfile {
        id: p.id,
        name: p.name,
        display_name: p.display_name,
        provider_type: p.provider_type.as_str().into(),
        is_enabled: p.is_enabled,
        is_default: p.is_default,
        capabilities: Some(json_to_struct(p.capabilities)),
        configuration_summary: Some(json_to_struct(p.configuration_summary)),
        created_at_utc: Some(timestamp(p.created_at)),
        updated_at_utc: Some(timestamp(p.updated_at)),
    }
}

fn overview_to_proto(o: StorageOverview) -> ListStorageProfilesResponse {
    ListStorageProfilesResponse {
        default_profile_id: o.default_profile.map(|p| p.id),
        profiles: o.profiles.into_iter().map(to_proto).collect(),
        runtime: Some(proto::StorageRuntime {
            provider_type: o.runtime.provider_type.as_str().into(),
            provider_name: o.runtime.provider_name,
            capabilities: Some(json_to_struct(o.runtime.capabilities)),
            is_configuration_driven: o.runtime.is_configuration_driven,
            matches_default_profile_type: o.runtime.matches_default_profile_type,
        }),
        alignment: Some(proto::StorageAlignment {
            runtime_selection_source: o.alignment.runtime_selection_source.into(),
            has_default_profile: o.alignment.has_default_profile,
            is_default_profile_enabled: o.alignment.is_default_profile_enabled,
            provider_type_matches_default_profile: o
                .alignment
                .provider_type_matches_default_profile,
            code: o.alignment.code.into(),
            message: o.alignment.message.into(),
        }),
    }
}

#[tonic::async_trait]
impl StorageProfileService for StorageProfilesGrpc {
    async fn list_storage_profiles(
        &self,
        request: Request<ListStorageProfilesRequest>,
    ) -> Result<Response<ListStorageProfilesResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let overview = self
            .services
            .storage_profiles
            .overview(&call.principal)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(overview_to_proto(overview)))
    }

    async fn get_storage_profile(
        &self,
        request: Request<GetStorageProfileRequest>,
    ) -> Result<Response<GetStorageProfileResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let profile = self
            .services
            .storage_profiles
            .get(&call.principal, &request.into_inner().id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(GetStorageProfileResponse {
            profile: Some(to_proto(profile)),
        }))
    }

    async fn create_storage_profile(
        &self,
        request: Request<CreateStorageProfileRequest>,
    ) -> Result<Response<CreateStorageProfileResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        let input = NewStorageProfile {
            name: body.name,
            display_name: body.display_name,
            provider_type: body.provider_type,
            is_default: body.is_default,
            is_enabled: body.is_enabled,
            configuration: body.configuration.map(struct_to_json),
            secret_configuration: body.secret_configuration.map(struct_to_json),
        };
        let profile = self
            .services
            .storage_profiles
            .create(&call.principal, input)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(CreateStorageProfileResponse {
            profile: Some(to_proto(profile)),
        }))
    }

    async fn update_storage_profile(
        &self,
        request: Request<UpdateStorageProfileRequest>,
    ) -> Result<Response<UpdateStorageProfileResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        let patch = StorageProfilePatch {
            name: body.name,
            display_name: body.display_name.map(Some),
            is_enabled: body.is_enabled,
            configuration: body.configuration.map(struct_to_json),
            secret_configuration: body.secret_configuration.map(struct_to_json),
        };
        let profile = self
            .services
            .storage_profiles
            .update(&call.principal, &body.id, patch)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(UpdateStorageProfileResponse {
            profile: Some(to_proto(profile)),
        }))
    }

    async fn delete_storage_profile(
        &self,
        request: Request<DeleteStorageProfileRequest>,
    ) -> Result<Response<DeleteStorageProfileResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let deleted = self
            .services
            .storage_profiles
            .delete(&call.principal, &request.into_inner().id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(DeleteStorageProfileResponse {
            id: deleted.id,
            was_default: deleted.was_default,
            status: deleted.status.as_str().into(),
            deleted_at_utc: Some(timestamp(deleted.deleted_at)),
        }))
    }

    async fn set_default_storage_profile(
        &self,
        request: Request<SetDefaultStorageProfileRequest>,
    ) -> Result<Response<SetDefaultStorageProfileResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let profile = self
            .services
            .storage_profiles
            .set_default(&call.principal, &request.into_inner().id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(SetDefaultStorageProfileResponse {
            profile: Some(to_proto(profile)),
        }))
    }
}
