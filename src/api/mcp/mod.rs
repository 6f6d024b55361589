//! MCP (the Model Context Protocol) at `/mcp`: the door for AI agents, beside
//! REST and gRPC, on the official SDK (`rmcp`) over Streamable HTTP. Like the
//! other adapters it only translates: tools, resources and prompts call the
//! services as the caller, and refusals carry the REST error codes.
//!
//! The transport is stateless (no `Mcp-Session-Id`), so any instance behind
//! a load balancer answers any request. Requests are authenticated before
//! the SDK sees them, and browsers' `Origin` is checked against an allow-list
//! so a web page cannot reach a local tessera through DNS rebinding.

mod catalog;
mod prompts;
mod resources;
mod tools;

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Router,
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse,
        Implementation, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
        ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
        ServerCapabilities, ServerConfig,
    },
    service::RequestContext,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::never::NeverSessionManager,
    },
};

use super::{middleware::RequestContext as CallContext, rest::ApiError};
use crate::{
    domain::Principal,
    error::{Error, Result},
    service::Services,
    storage::with_request_origin,
};

/// Browser origins allowed to call `/mcp`: `TESSERA_CORS_ORIGINS` when set,
/// else only tessera's own origin (its public base URL, or the listen
/// address and, on loopback, `localhost`). Never the request's own `Host`,
/// which a rebinding attacker controls.
#[derive(Clone, Debug)]
pub struct McpOrigins {
    any: bool,
    allowed: Vec<String>,
}

impl McpOrigins {
    pub fn new(cors_origins: &[String], public_base: Option<&str>, listen: SocketAddr) -> Self {
        if !cors_origins.is_empty() {
            return McpOrigins {
                any: cors_origins.iter().any(|o| o == "*"),
                allowed: cors_origins.iter().map(|o| normalize(o)).collect(),
            };
        }
        let mut allowed = Vec::new();
        if let Some(base) = public_base {
            allowed.push(origin_of(base));
        }
        let port = listen.port();
        allowed.push(normalize(&format!("http://{listen}")));
        if listen.ip().is_loopback() || listen.ip().is_unspecified() {
            for host in ["localhost", "127.0.0.1", "[::1]"] {
                allowed.push(format!("http://{host}:{port}"));
            }
        }
        McpOrigins {
            any: false,
            allowed,
        }
    }

    fn allows(&self, origin: &str) -> bool {
        self.any || self.allowed.iter().any(|a| *a == normalize(origin))
    }
}

fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    let normalized = normalize(url);
    match normalized.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split('/').next().unwrap_or(rest);
            format!("{scheme}://{authority}")
        }
        None => normalized,
    }
}

/// The caller of one MCP request, as the request layer authenticated it.
#[derive(Clone)]
struct Caller {
    principal: Principal,
    /// Where the client reached tessera, for the links in answers.
    origin: Option<Arc<str>>,
}

/// `/mcp`, ready to merge into the application router (inside the request
/// layer, which authenticates).
pub fn router(services: Services, origins: McpOrigins) -> Router {
    // A file travels inside the JSON as base64: 4/3 of the upload limit, and
    // room for the rest of the message.
    let max_body = usize::try_from(services.assets.max_upload_bytes())
        .unwrap_or(usize::MAX)
        .saturating_mul(4)
        / 3
        + 1024 * 1024;
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .disable_allowed_hosts()
        .with_max_request_body_bytes(max_body);
    let service = StreamableHttpService::new(
        move || {
            Ok(McpServer {
                services: services.clone(),
            })
        },
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .route_service("/mcp", service)
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::new(origins),
            admit,
        ))
}

/// Refuses foreign browser origins (403 `origin_not_allowed`) and anonymous
/// or refused credentials (401) before any tool runs.
async fn admit(
    State(origins): State<Arc<McpOrigins>>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes()).into_owned();
        if !origins.allows(&origin) {
            return ApiError(Error::OriginNotAllowed(origin)).into_response();
        }
    }
    let principal = request
        .extensions()
        .get::<CallContext>()
        .map_or(Ok(Principal::Anonymous), CallContext::principal);
    let principal = match principal {
        Ok(Principal::Anonymous) => return ApiError(Error::Unauthorized).into_response(),
        Ok(principal) => principal,
        Err(err) => return ApiError(err).into_response(),
    };
    request.extensions_mut().insert(Caller {
        principal,
        origin: crate::storage::request_origin(),
    });
    let version = request.headers().get(PROTOCOL_VERSION).cloned();
    let mut response = next.run(request).await;
    // The SDK refuses revisions it does not speak (400); an accepted one is
    // echoed, as NekoHub does, so a client sees what was used.
    if let Some(version) = version
        && response.status().is_success()
    {
        response.headers_mut().insert(PROTOCOL_VERSION, version);
    }
    response
}

const PROTOCOL_VERSION: &str = "mcp-protocol-version";

/// One handler per request (the transport is stateless): cheap to make.
struct McpServer {
    services: Services,
}

impl McpServer {
    fn caller(context: &RequestContext<RoleServer>) -> Result<Caller, ErrorData> {
        context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>())
            .cloned()
            .ok_or_else(|| ErrorData::internal_error("the request was not authenticated", None))
    }
}

/// A JSON-RPC error carrying tessera's code, for prompts and resources
/// (tools answer their errors in-band).
fn protocol_error(err: Error) -> ErrorData {
    let data = serde_json::json!({ "code": err.code().as_str() });
    if err.code().http_status().is_server_error() {
        ErrorData::internal_error(err.to_string(), Some(data))
    } else {
        ErrorData::invalid_params(err.to_string(), Some(data))
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(Implementation::new("tessera", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "tessera stores images and processes them in the background. Upload with \
             upload_asset (base64) or upload_asset_from_url, wait_for_asset until it is ready, \
             run_asset_skill to caption or transform it, get_asset_content_url for a link.",
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(catalog::catalog()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = Self::caller(&context)?;
        let call = tools::call(
            &self.services,
            &caller.principal,
            &request.name,
            request.arguments.unwrap_or_default(),
        );
        Ok(with_request_origin(caller.origin, call).await?.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let caller = Self::caller(&context)?;
        Ok(ListResourcesResult::with_all_items(resources::concrete(
            &self.services,
            &caller.principal,
        )))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(
            resources::templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let caller = Self::caller(&context)?;
        let read = resources::read(&self.services, &caller.principal, &request.uri);
        Ok(with_request_origin(caller.origin, read)
            .await
            .map_err(protocol_error)?
            .into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(prompts::catalog()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        prompts::get(&request.name, request.arguments.unwrap_or_default()).map(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_default_to_the_server_itself() {
        let listen: SocketAddr = "127.0.0.1:5121".parse().unwrap();
        let own = McpOrigins::new(&[], None, listen);
        for allowed in [
            "http://127.0.0.1:5121",
            "http://localhost:5121",
            "HTTP://LOCALHOST:5121/",
        ] {
            assert!(own.allows(allowed), "{allowed}");
        }
        for refused in [
            "http://evil.example:5121",
            "http://localhost:8080",
            "https://localhost:5121",
            "null",
        ] {
            assert!(!own.allows(refused), "{refused}");
        }
        let public = McpOrigins::new(&[], Some("https://img.example.com/base"), listen);
        assert!(public.allows("https://img.example.com"));
        let listed = McpOrigins::new(&["https://app.example.com".into()], None, listen);
        assert!(listed.allows("https://app.example.com"));
        assert!(!listed.allows("http://127.0.0.1:5121"));
        assert!(McpOrigins::new(&["*".into()], None, listen).allows("https://any.example"));
    }
}
