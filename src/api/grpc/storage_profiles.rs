use tonic::{Request, Response, Status};

use super::{
    Authenticated, json_to_struct,
    proto::{
        self, BrowseGitHubRepositoryRequest, BrowseGitHubRepositoryResponse,
        CreateStorageProfileRequest, CreateStorageProfileResponse, DeleteStorageProfileRequest,
        DeleteStorageProfileResponse, GetStorageProfileRequest, GetStorageProfileResponse,
        ListStorageProfilesRequest, ListStorageProfilesResponse, SetDefaultStorageProfileRequest,
        SetDefaultStorageProfileResponse, UpdateStorageProfileRequest,
        UpdateStorageProfileResponse, UpsertGitHubRepositoryFileRequest,
        UpsertGitHubRepositoryFileResponse, storage_profile_service_server::StorageProfileService,
    },
    struct_to_json, timestamp,
};
use crate::{
    domain::{
        FileContent, NewStorageProfile, RepositoryBrowseRequest, RepositoryUpsertRequest,
        StorageOverview, StorageProfile, StorageProfilePatch,
    },
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

    async fn browse_git_hub_repository(
        &self,
        request: Request<BrowseGitHubRepositoryRequest>,
    ) -> Result<Response<BrowseGitHubRepositoryResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        let browse = RepositoryBrowseRequest {
            path: body.path,
            recursive: body.recursive,
            max_depth: body.max_depth,
            entry_type: body.r#type,
            keyword: body.keyword,
            page: body.page,
            page_size: body.page_size,
        };
        let b = self
            .services
            .storage_profiles
            .browse_repository(&call.principal, &body.id, browse)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(BrowseGitHubRepositoryResponse {
            profile_id: b.profile_id,
            requested_path: b.requested_path,
            recursive: b.recursive,
            max_depth: b.max_depth,
            r#type: b.entry_type.into(),
            keyword: b.keyword,
            total: b.total,
            page: b.page,
            page_size: b.page_size,
            has_more: b.has_more,
            visibility_policy: b.visibility_policy,
            uses_controlled_read: b.uses_controlled_read,
            items: b
                .items
                .into_iter()
                .map(|item| proto::GitHubRepositoryEntry {
                    r#type: if item.is_directory { "dir" } else { "file" }.into(),
                    name: item.name,
                    path: item.path,
                    size: item.size,
                    sha: item.sha,
                    public_url: item.public_url,
                })
                .collect(),
        }))
    }

    async fn upsert_git_hub_repository_file(
        &self,
        request: Request<UpsertGitHubRepositoryFileRequest>,
    ) -> Result<Response<UpsertGitHubRepositoryFileResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        let upsert = RepositoryUpsertRequest {
            path: Some(body.path),
            content: FileContent::Raw(body.content),
            commit_message: body.commit_message,
            expected_sha: body.expected_sha,
        };
        let u = self
            .services
            .storage_profiles
            .upsert_repository_file(&call.principal, &body.id, upsert)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(UpsertGitHubRepositoryFileResponse {
            operation: if u.created { "created" } else { "updated" }.into(),
            profile_id: u.profile_id,
            path: u.path,
            size: u.size,
            sha: u.sha,
            visibility_policy: u.visibility_policy,
            uses_controlled_read: u.uses_controlled_read,
            public_url: u.public_url,
        }))
    }
}
