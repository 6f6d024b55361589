use tonic::{Request, Response, Status};

use super::{
    Authenticated,
    auth::user_to_proto,
    proto::{
        CreateUserRequest, CreateUserResponse, GetUserRequest, GetUserResponse, ListUsersRequest,
        ListUsersResponse, ResetUserPasswordRequest, ResetUserPasswordResponse, UpdateUserRequest,
        UpdateUserResponse, user_service_server::UserService,
    },
};
use crate::{
    domain::Role,
    service::{Services, UserChange},
};

/// `tessera.v1.UserService` over the shared services.
pub struct UsersGrpc {
    services: Services,
}

impl UsersGrpc {
    pub fn new(services: Services) -> Self {
        UsersGrpc { services }
    }
}

#[tonic::async_trait]
impl UserService for UsersGrpc {
    async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let users = self
            .services
            .users
            .list(&call.principal)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(ListUsersResponse {
            users: users.into_iter().map(user_to_proto).collect(),
        }))
    }

    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<GetUserResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let user = self
            .services
            .users
            .get(&call.principal, &request.into_inner().id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(GetUserResponse {
            user: Some(user_to_proto(user)),
        }))
    }

    async fn create_user(
        &self,
        request: Request<CreateUserRequest>,
    ) -> Result<Response<CreateUserResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        let role_name = if body.role.is_empty() {
            "user"
        } else {
            &body.role
        };
        let role: Role = role_name.parse().map_err(|e| call.fail(e))?;
        let user = self
            .services
            .users
            .create(&call.principal, &body.username, &body.password, role)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(CreateUserResponse {
            user: Some(user_to_proto(user)),
        }))
    }

    async fn update_user(
        &self,
        request: Request<UpdateUserRequest>,
    ) -> Result<Response<UpdateUserResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        let permissions = if body.reset_permissions {
            Some(None)
        } else {
            body.permissions.map(|list| Some(list.permissions))
        };
        let change = UserChange {
            role: body
                .role
                .as_deref()
                .map(str::parse::<Role>)
                .transpose()
                .map_err(|e| call.fail(e))?,
            permissions,
            is_enabled: body.is_enabled,
            password: None,
        };
        let user = self
            .services
            .users
            .update(&call.principal, &body.id, change)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(UpdateUserResponse {
            user: Some(user_to_proto(user)),
        }))
    }

    async fn reset_user_password(
        &self,
        request: Request<ResetUserPasswordRequest>,
    ) -> Result<Response<ResetUserPasswordResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        let change = UserChange {
            password: Some(body.password),
            ..UserChange::default()
        };
        let user = self
            .services
            .users
            .update(&call.principal, &body.id, change)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(ResetUserPasswordResponse {
            user: Some(user_to_proto(user)),
        }))
    }
}
