//! The one layer both transports share: a trace id and the caller's identity
//! for every request. Authentication happens here; authorization in the service.

use axum::{
    extract::{Request, State},
    http::{HeaderValue, header::AUTHORIZATION},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;

use crate::{domain::Principal, error::Error, service::AuthService};

/// Why credentials were refused; kept small so the context stays cheap to clone.
#[derive(Clone, Copy, Debug)]
enum Rejection {
    Malformed,
    InvalidKey,
    Expired,
    Unavailable,
}

/// Per-request facts put into the request extensions for the adapters.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub trace_id: String,
    /// The peer address, for per-client limits (login attempts).
    pub client_ip: Option<std::net::IpAddr>,
    caller: Result<Principal, Rejection>,
}

impl RequestContext {
    /// The authenticated caller (or anonymous); refused credentials are an error
    /// even on routes that allow anonymous access.
    pub fn principal(&self) -> Result<Principal, Error> {
        match &self.caller {
            Ok(principal) => Ok(principal.clone()),
            Err(Rejection::Malformed) => Err(Error::Unauthorized),
            Err(Rejection::InvalidKey) => Err(Error::ApiKeyInvalid),
            Err(Rejection::Expired) => Err(Error::AuthTokenExpired),
            Err(Rejection::Unavailable) => {
                Err(Error::Internal("authentication unavailable".into()))
            }
        }
    }
}

pub const TRACE_ID_HEADER: &str = "x-trace-id";

pub async fn request_context(
    State(auth): State<AuthService>,
    mut request: Request,
    next: Next,
) -> Response {
    let trace_id = uuid::Uuid::now_v7().simple().to_string();
    let caller = match request.headers().get(AUTHORIZATION) {
        None => Ok(Principal::Anonymous),
        Some(value) => match bearer_token(value) {
            None => Err(Rejection::Malformed),
            Some(token) => auth.authenticate(token).await.map_err(|err| match err {
                Error::ApiKeyInvalid => Rejection::InvalidKey,
                Error::AuthTokenExpired => Rejection::Expired,
                Error::Unauthorized => Rejection::Malformed,
                _ => Rejection::Unavailable,
            }),
        },
    };
    let span = tracing::info_span!(
        "request",
        trace_id = %trace_id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let client_ip = request
        .extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(|info| info.remote_addr())
        .map(|addr| addr.ip());
    request.extensions_mut().insert(RequestContext {
        trace_id: trace_id.clone(),
        client_ip,
        caller,
    });
    let mut response = next.run(request).instrument(span.clone()).await;
    crate::api::rest::render_error_body(&mut response, &trace_id);
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response.headers_mut().insert(TRACE_ID_HEADER, value);
    }
    span.in_scope(|| tracing::debug!(status = response.status().as_u16(), "request done"));
    response
}

fn bearer_token(value: &HeaderValue) -> Option<&str> {
    let value = value.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
