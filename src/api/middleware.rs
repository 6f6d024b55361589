//! The one layer both transports share: a trace id and the caller's identity
//! for every request. Authentication happens here; authorization in the service.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

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

use ipnet::IpNet;

use super::{deadline, forwarded::client_view};
use crate::{
    config::ForwardedHeaders, domain::Principal, error::Error, service::AuthService,
    storage::with_request_origin, telemetry,
};

/// Per-request facts put into the request extensions for the adapters.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub trace_id: String,
    /// The peer address, for per-client limits (login attempts).
    pub client_ip: Option<std::net::IpAddr>,
    principal: Result<Principal, Error>,
}

impl RequestContext {
    /// The authenticated caller (or anonymous); refused credentials are an error
    /// even on routes that allow anonymous access.
    pub fn principal(&self) -> Result<Principal, Error> {
        self.principal.clone()
    }
}

pub const TRACE_ID_HEADER: &str = "x-trace-id";

/// What the request layer needs: authentication, and whose forwarding
/// headers to believe.
#[derive(Clone)]
pub struct RequestLayer {
    pub auth: AuthService,
    pub trusted_proxies: Arc<[IpNet]>,
    pub forwarded_headers: ForwardedHeaders,
}

pub async fn request_context(
    State(layer): State<RequestLayer>,
    mut request: Request,
    next: Next,
) -> Response {
    let auth = &layer.auth;
    // The clock of a gRPC call starts when it arrives, before authentication.
    let framing = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(deadline::Framing::of);
    let deadline = framing.and_then(|_| deadline::deadline(request.headers()));
    let trace_id = uuid::Uuid::now_v7().simple().to_string();
    let principal = match request.headers().get(AUTHORIZATION) {
        None => Ok(Principal::Anonymous),
        Some(value) => match bearer_token(value) {
            None => Err(Error::Unauthorized),
            Some(token) => auth.authenticate(token).await,
        },
    };
    let span = tracing::info_span!(
        "request",
        trace_id = %trace_id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let peer = request
        .extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(|info| info.remote_addr())
        .map(|addr| addr.ip());
    let client = client_view(
        peer,
        request.uri().authority(),
        request.headers(),
        &layer.trusted_proxies,
        layer.forwarded_headers,
    );
    let client_ip = client.ip;
    let origin: Option<Arc<str>> = client.origin.map(Arc::from);
    let protocol = protocol(framing);
    let method = request.method().to_string();
    // REST routes come from the router; gRPC ones are the request path.
    let grpc_path = (protocol != "rest").then(|| request.uri().path().to_string());
    let mut entry = AccessEntry {
        started: Instant::now(),
        protocol,
        method: method.clone(),
        route: grpc_path.clone().unwrap_or_default(),
        status: 0,
        grpc_status: None,
        request_bytes: Arc::new(AtomicU64::new(0)),
        response_bytes: 0,
        trace_id: trace_id.clone(),
        caller: caller_label(&principal),
        client_ip,
        response_counter: metrics::counter!(telemetry::RESPONSE_BYTES, "protocol" => protocol),
    };
    request.extensions_mut().insert(RequestContext {
        trace_id: trace_id.clone(),
        client_ip,
        principal,
    });
    let request_bytes = entry.request_bytes.clone();
    let request = request.map(|body| counted_request(body, protocol, request_bytes));
    let handled = telemetry::with_trace_id(
        trace_id.clone(),
        with_request_origin(origin, next.run(request).instrument(span)),
    );
    let response = match (deadline, framing) {
        // Already past its deadline (or within the margin): not started at all.
        (Some(deadline), Some(framing)) if deadline <= tokio::time::Instant::now() => {
            deadline::exceeded(framing)
        }
        (Some(deadline), Some(framing)) => match tokio::time::timeout_at(deadline, handled).await {
            Ok(response) => response.map(|body| deadline::bounded(body, deadline, framing)),
            Err(_) => deadline::exceeded(framing),
        },
        _ => handled.await,
    };
    let route = record(protocol, method, grpc_path, entry.started, &response);
    entry.route = route;
    entry.status = response.status().as_u16();
    entry.grpc_status = grpc_status(response.headers());
    let mut response = response.map(|body| logged(body, entry));
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response.headers_mut().insert(TRACE_ID_HEADER, value);
    }
    response
}

/// Who called, for the access log: never a secret.
fn caller_label(principal: &Result<Principal, Error>) -> String {
    match principal {
        Ok(Principal::Anonymous) => "anonymous".into(),
        Ok(Principal::User(user)) => format!("user:{}", user.id),
        Ok(Principal::ApiKey {
            key_id: Some(id), ..
        }) => format!("api_key:{id}"),
        Ok(Principal::ApiKey { key_id: None, .. }) => "api_key:configured".into(),
        Err(_) => "refused".into(),
    }
}

fn grpc_status(headers: &http::HeaderMap) -> Option<u16> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// One request as the access log shows it. Logged when the response body is
/// done (or dropped), so streamed bytes and a gRPC status sent in trailers
/// are known.
struct AccessEntry {
    started: Instant,
    protocol: &'static str,
    method: String,
    route: String,
    status: u16,
    grpc_status: Option<u16>,
    request_bytes: Arc<AtomicU64>,
    response_bytes: u64,
    trace_id: String,
    caller: String,
    client_ip: Option<std::net::IpAddr>,
    response_counter: metrics::Counter,
}

impl Drop for AccessEntry {
    fn drop(&mut self) {
        let client_ip = self.client_ip.map(|ip| ip.to_string()).unwrap_or_default();
        tracing::info!(
            target: ACCESS_LOG,
            protocol = self.protocol,
            method = %self.method,
            route = %self.route,
            status = self.status,
            grpc_status = self.grpc_status,
            latency_ms = self.started.elapsed().as_secs_f64() * 1000.0,
            request_bytes = self.request_bytes.load(Ordering::Relaxed),
            response_bytes = self.response_bytes,
            trace_id = %self.trace_id,
            caller = %self.caller,
            client_ip = %client_ip,
            "request"
        );
    }
}

/// The `tracing` target of the access log (`TESSERA_LOG=tessera::access=off` silences it).
pub const ACCESS_LOG: &str = "tessera::access";

/// Counts the response body as it streams, for the metrics and the access
/// log, and picks up a gRPC status sent in trailers.
fn logged(body: Body, mut entry: AccessEntry) -> Body {
    Body::new(body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            let length = data.len() as u64;
            entry.response_bytes += length;
            entry.response_counter.increment(length);
        } else if let Some(trailers) = frame.trailers_ref()
            && let Some(status) = grpc_status(trailers)
        {
            entry.grpc_status = Some(status);
        }
        frame
    }))
}

/// `rest`, `grpc` or `grpc-web`, from the content type's framing.
fn protocol(framing: Option<deadline::Framing>) -> &'static str {
    match framing {
        None => "rest",
        Some(deadline::Framing::Grpc) => "grpc",
        Some(deadline::Framing::GrpcWeb | deadline::Framing::GrpcWebText) => "grpc-web",
    }
}

/// Counts the request body's bytes as they pass (streamed uploads too).
fn counted_request(body: Body, protocol: &'static str, tally: Arc<AtomicU64>) -> Body {
    let counter = metrics::counter!(telemetry::REQUEST_BYTES, "protocol" => protocol);
    Body::new(body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            counter.increment(data.len() as u64);
            tally.fetch_add(data.len() as u64, Ordering::Relaxed);
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
) -> String {
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
        "route" => route.clone(),
        "status" => status,
    )
    .increment(1);
    route
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
