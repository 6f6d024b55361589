//! The one layer both transports share: a trace id and the caller's identity
//! for every request. Authentication happens here; authorization in the service.

use std::time::Instant;

use axum::{
    body::Body,
    extract::{MatchedPath, Request, State},
    http::{
        HeaderValue,
        header::{AUTHORIZATION, CONTENT_TYPE},
    },
    middleware::Next,
    response::Response,
};
use http_body_util::BodyExt;
use tracing::Instrument;

use crate::{domain::Principal, error::Error, service::AuthService, telemetry};

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
    let protocol = protocol(&request);
    let method = request.method().to_string();
    // REST routes come from the router; gRPC ones are the request path.
    let grpc_path = (protocol != "rest").then(|| request.uri().path().to_string());
    let request = request.map(|body| counted(body, telemetry::REQUEST_BYTES, protocol));
    let started = Instant::now();
    let response =
        telemetry::with_trace_id(trace_id.clone(), next.run(request).instrument(span.clone()))
            .await;
    record(protocol, method, grpc_path, started, &response);
    let mut response = response.map(|body| counted(body, telemetry::RESPONSE_BYTES, protocol));
    crate::api::rest::render_error_body(&mut response, &trace_id);
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response.headers_mut().insert(TRACE_ID_HEADER, value);
    }
    span.in_scope(|| tracing::debug!(status = response.status().as_u16(), "request done"));
    response
}

/// `rest`, `grpc` or `grpc-web`, from the content type.
fn protocol(request: &Request) -> &'static str {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/grpc-web") {
        "grpc-web"
    } else if content_type.starts_with("application/grpc") {
        "grpc"
    } else {
        "rest"
    }
}

/// Counts the body's bytes as they pass (streamed uploads and downloads too).
fn counted(body: Body, name: &'static str, protocol: &'static str) -> Body {
    let counter = metrics::counter!(name, "protocol" => protocol);
    Body::new(body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            counter.increment(data.len() as u64);
        }
        frame
    }))
}

/// One request in the metrics. Routes are templates (`/api/v1/assets/{id}`)
/// or gRPC methods, never raw paths, so label values stay few; anything
/// unmatched is `unmatched`. gRPC statuses sent in trailers (errors in the
/// middle of a stream) are not seen here: the status is the head's.
fn record(
    protocol: &'static str,
    method: String,
    grpc_path: Option<String>,
    started: Instant,
    response: &Response,
) {
    let (route, status) = match grpc_path {
        None => {
            let route = response
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched".to_string(), |p| p.as_str().to_string());
            (route, response.status().as_u16().to_string())
        }
        Some(path) => {
            let status = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("0")
                .to_string();
            let known = status != "12" && path.matches('/').count() == 2;
            let route = if known { path } else { "unmatched".into() };
            (route, status)
        }
    };
    telemetry::observe(
        telemetry::REQUEST_DURATION,
        started.elapsed(),
        &[("protocol", protocol.to_string()), ("route", route.clone())],
    );
    metrics::counter!(
        telemetry::REQUESTS,
        "protocol" => protocol,
        "method" => method,
        "route" => route,
        "status" => status,
    )
    .increment(1);
}

/// Keeps the matched route template on the response for the metrics
/// (installed as a route layer, so it runs only for matched routes).
pub async fn remember_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

fn bearer_token(value: &HeaderValue) -> Option<&str> {
    let value = value.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
