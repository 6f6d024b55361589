use tonic::{Request, Response, Status};

use super::{
    Authenticated,
    auth::user_to_proto,
    proto::{
        CreateUserRequest, CreateUserResponse, GetUserRequest, GetUserResponse, ListUsersRequest,
        ListUsersResponse, ResetUserPasswordRequest, ResetUserPasswordResponse,
        SetUserPermissionsRequest, SetUserPermissionsResponse, SetUserStatusRequest,
        SetUserStatusResponse, UpdateUserRequest, UpdateUserResponse,
        user_service_server::UserService,
    },
};
use crate::{
    domain::Role,
    service::{NewUser, Services, UserChange},
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
        let new = NewUser {
            username: body.username,
            password: body.password,
            role: body.role.parse().map_err(|e| call.fail(e))?,
            is_active: body.is_active.unwrap_or(true),
            permissions: Some(body.permissions),
        };
        let user = self
            .services
            .users
            .create(&call.principal, new)
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
        let change = UserChange {
            username: body.username,
            role: body
                .role
                .as_deref()
                .map(str::parse::<Role>)
                .transpose()
                .map_err(|e| call.fail(e))?,
            is_active: body.is_active,
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

    async fn set_user_status(
        &self,
        request: Request<SetUserStatusRequest>,
    ) -> Result<Response<SetUserStatusResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        let user = self
            .services
            .users
            .set_status(&call.principal, &body.id, body.is_active)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(SetUserStatusResponse {
            user: Some(user_to_proto(user)),
        }))
    }

    async fn reset_user_password(
        &self,
        request: Request<ResetUserPasswordRequest>,
    ) -> Result<Response<ResetUserPasswordResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        self.services
            .users
            .reset_password(&call.principal, &body.id, &body.new_password)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(ResetUserPasswordResponse {}))
    }

    async fn set_user_permissions(
        &self,
        request: Request<SetUserPermissionsRequest>,
    ) -> Result<Response<SetUserPermissionsResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        let user = self
            .services
            .users
            .set_permissions(&call.principal, &body.id, &body.permissions)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(SetUserPermissionsResponse {
            user: Some(user_to_proto(user)),
        }))
    }
}
