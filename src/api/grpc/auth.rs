use tonic::{Request, Response, Status};

use super::{
    Authenticated,
    proto::{
        self, GetMeRequest, GetMeResponse, LoginRequest, LoginResponse, LogoutRequest,
        LogoutResponse, RefreshSessionRequest, RefreshSessionResponse,
        auth_service_server::AuthService,
    },
    timestamp,
};
use crate::{
    api::middleware::RequestContext,
    domain::{Session, User},
    service::Services,
};

/// `tessera.v1.AuthService` over the shared services.
pub struct AuthGrpc {
    services: Services,
}

impl AuthGrpc {
    pub fn new(services: Services) -> Self {
        AuthGrpc { services }
    }
}

pub fn user_to_proto(u: User) -> proto::User {
    proto::User {
        id: u.id,
        username: u.username,
        role: u.role.as_str().into(),
        permissions: u
            .permissions
            .names()
            .into_iter()
            .map(String::from)
            .collect(),
        is_active: u.is_active,
        created_at_utc: Some(timestamp(u.created_at)),
        updated_at_utc: Some(timestamp(u.updated_at)),
        last_login_at_utc: u.last_login_at.map(timestamp),
    }
}

fn session_to_proto(s: Session) -> proto::Session {
    proto::Session {
        access_token: s.access_token,
        refresh_token: s.refresh_token,
        access_token_expires_at_utc: Some(timestamp(s.access_token_expires_at)),
        refresh_token_expires_at_utc: Some(timestamp(s.refresh_token_expires_at)),
        user: Some(user_to_proto(s.user)),
    }
}

#[tonic::async_trait]
impl AuthService for AuthGrpc {
    async fn login(
        &self,
        request: Request<LoginRequest>,
    ) -> Result<Response<LoginResponse>, Status> {
        let call = Authenticated::lenient(&request);
        let client = request
            .extensions()
            .get::<RequestContext>()
            .and_then(|c| c.client_ip);
        let body = request.into_inner();
        let session = self
            .services
            .auth
            .login(&body.username, &body.password, client)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(LoginResponse {
            session: Some(session_to_proto(session)),
        }))
    }

    async fn refresh_session(
        &self,
        request: Request<RefreshSessionRequest>,
    ) -> Result<Response<RefreshSessionResponse>, Status> {
        let call = Authenticated::lenient(&request);
        let session = self
            .services
            .auth
            .refresh(&request.into_inner().refresh_token)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(RefreshSessionResponse {
            session: Some(session_to_proto(session)),
        }))
    }

    async fn logout(
        &self,
        request: Request<LogoutRequest>,
    ) -> Result<Response<LogoutResponse>, Status> {
        let call = Authenticated::lenient(&request);
        self.services
            .auth
            .logout(&request.into_inner().refresh_token)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(LogoutResponse {}))
    }

    async fn get_me(
        &self,
        request: Request<GetMeRequest>,
    ) -> Result<Response<GetMeResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let user = self
            .services
            .auth
            .me(&call.principal)
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(GetMeResponse {
            user: Some(user_to_proto(user)),
        }))
    }
}
