//! One port: REST, native gRPC (h2c) and grpc-web, plus health and
//! reflection, behind the shared request layer.

use std::{future::Future, time::Duration};

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use axum::Router;
use ipnet::IpNet;
use tokio::net::TcpListener;
use tonic::service::{LayerExt, Routes};
use tonic_web::GrpcWebLayer;

use super::{
    grpc::{
        AiProvidersGrpc, ApiKeysGrpc, AssetsGrpc, AuthGrpc, PublicAssetsGrpc, StorageProfilesGrpc,
        UploadsGrpc, UsersGrpc, WorkflowsGrpc, proto,
    },
    middleware, rest,
};
use crate::{
    config::ForwardedHeaders,
    service::{MAX_GRPC_CHUNK_BYTES, Services},
    telemetry,
};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot build gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("cannot render the OpenAPI document: {0}")]
    OpenApi(#[from] serde_json::Error),
    #[error("server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// CORS for browsers (REST and grpc-web), answered outside authentication so
/// preflight requests never need credentials.
fn cors(origins: &[String]) -> CorsLayer {
    let origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let names = |list: &[&'static str]| {
        list.iter()
            .map(|n| HeaderName::from_static(n))
            .collect::<Vec<_>>()
    };
    CorsLayer::new()
        .allow_origin(origin)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        // Browser apps add their own headers (request ids, `traceparent`,
        // `grpc-accept-encoding`): whatever a preflight from an allowed origin
        // asks for is allowed; other origins get no CORS headers at all.
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(names(&[
            "grpc-status",
            "grpc-message",
            "grpc-status-details-bin",
            "x-trace-id",
            "location",
            "etag",
            "content-range",
            "content-length",
            // tus: where to resume, and the asset a finished upload became.
            "upload-offset",
            "upload-length",
            "upload-expires",
            "upload-metadata",
            "tus-resumable",
            "tus-version",
            "tus-extension",
            "tus-max-size",
            "tessera-asset-id",
            // MCP: the revision in use, and a session when a server keeps one.
            "mcp-protocol-version",
            "mcp-session-id",
        ]))
        .max_age(Duration::from_secs(3600))
}

/// The whole application as one router.
pub async fn router(
    services: Services,
    cors_origins: &[String],
    trusted_proxies: &[IpNet],
    forwarded_headers: ForwardedHeaders,
    mcp_origins: super::mcp::McpOrigins,
) -> Result<Router, ServerError> {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<proto::asset_service_server::AssetServiceServer<AssetsGrpc>>()
        .await;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;
    health_reporter
        .set_serving::<proto::ai_provider_service_server::AiProviderServiceServer<AiProvidersGrpc>>(
        )
        .await;
    let assets =
        proto::asset_service_server::AssetServiceServer::new(AssetsGrpc::new(services.clone()));
    health_reporter
        .set_serving::<proto::auth_service_server::AuthServiceServer<AuthGrpc>>()
        .await;
    let auth = proto::auth_service_server::AuthServiceServer::new(AuthGrpc::new(services.clone()));
    health_reporter
        .set_serving::<proto::api_key_service_server::ApiKeyServiceServer<ApiKeysGrpc>>()
        .await;
    health_reporter
        .set_serving::<proto::public_asset_service_server::PublicAssetServiceServer<PublicAssetsGrpc>>()
        .await;
    let public_assets = proto::public_asset_service_server::PublicAssetServiceServer::new(
        PublicAssetsGrpc::new(services.clone()),
    );
    health_reporter
        .set_serving::<proto::user_service_server::UserServiceServer<UsersGrpc>>()
        .await;
    let users =
        proto::user_service_server::UserServiceServer::new(UsersGrpc::new(services.clone()));
    health_reporter
        .set_serving::<proto::storage_profile_service_server::StorageProfileServiceServer<StorageProfilesGrpc>>()
        .await;
    let storage_profiles = proto::storage_profile_service_server::StorageProfileServiceServer::new(
        StorageProfilesGrpc::new(services.clone()),
    );
    health_reporter
        .set_serving::<proto::workflow_service_server::WorkflowServiceServer<WorkflowsGrpc>>()
        .await;
    let workflows = proto::workflow_service_server::WorkflowServiceServer::new(WorkflowsGrpc::new(
        services.clone(),
    ));
    health_reporter
        .set_serving::<proto::upload_service_server::UploadServiceServer<UploadsGrpc>>()
        .await;
    // A chunk of 4 MiB plus the message around it.
    let uploads =
        proto::upload_service_server::UploadServiceServer::new(UploadsGrpc::new(services.clone()))
            .max_decoding_message_size(MAX_GRPC_CHUNK_BYTES as usize + 64 * 1024);
    let api_keys =
        proto::api_key_service_server::ApiKeyServiceServer::new(ApiKeysGrpc::new(services.clone()));
    let ai_providers = proto::ai_provider_service_server::AiProviderServiceServer::new(
        AiProvidersGrpc::new(services.clone()),
    );

    // `Routes::from(Router::new())` has no fallback, so it merges with the REST
    // router's; each service is wrapped for grpc-web on its own routes only.
    let web = GrpcWebLayer::new();
    let grpc = Routes::from(Router::new())
        .add_service(web.named_layer(assets))
        .add_service(web.named_layer(ai_providers))
        .add_service(web.named_layer(auth))
        .add_service(web.named_layer(api_keys))
        .add_service(web.named_layer(public_assets))
        .add_service(web.named_layer(users))
        .add_service(web.named_layer(storage_profiles))
        .add_service(web.named_layer(workflows))
        .add_service(web.named_layer(uploads))
        .add_service(web.named_layer(health))
        .add_service(web.named_layer(reflection_v1))
        .add_service(web.named_layer(reflection_v1alpha))
        .into_axum_router();

    Ok(rest::router(services.clone())?
        .merge(grpc)
        .merge(super::console::router())
        .merge(super::mcp::router(services.clone(), mcp_origins))
        .layer(axum::middleware::from_fn_with_state(
            middleware::RequestLayer {
                auth: services.auth.clone(),
                trusted_proxies: trusted_proxies.into(),
                forwarded_headers,
            },
            middleware::request_context,
        ))
        .layer(cors(cors_origins))
        .layer(axum::middleware::from_fn_with_state(
            services,
            rest::uploads::discovery,
        )))
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes
/// in-flight requests. tonic's server hosts it so gRPC deadlines are enforced.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    tonic::transport::Server::builder()
        .accept_http1(true)
        .add_routes(Routes::from(router))
        .serve_with_incoming_shutdown(accepted(listener), shutdown)
        .await?;
    Ok(())
}

/// How long the accept loop rests when the process is out of file
/// descriptors: retrying at once would spin a core and free nothing.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Accepted connections. Accept errors never reach the server: running out
/// of file descriptors (`EMFILE`/`ENFILE`) backs off, is logged at most every
/// ten seconds and counted in `/metrics`; other errors belong to one
/// connection that is already gone.
fn accepted(
    listener: TcpListener,
) -> impl futures_util::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures_util::stream::unfold(
        (listener, None::<std::time::Instant>),
        |(listener, mut last_warning)| async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        return Some((Ok(stream), (listener, last_warning)));
                    }
                    Err(err) if err.raw_os_error().is_some_and(is_out_of_descriptors) => {
                        metrics::counter!(telemetry::ACCEPT_ERRORS, "kind" => "out_of_file_descriptors")
                            .increment(1);
                        if last_warning.is_none_or(|at| at.elapsed() >= Duration::from_secs(10)) {
                            tracing::warn!(error = %err, "out of file descriptors: not accepting connections for now");
                            last_warning = Some(std::time::Instant::now());
                        }
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                    Err(err) => {
                        metrics::counter!(telemetry::ACCEPT_ERRORS, "kind" => "connection")
                            .increment(1);
                        tracing::debug!(error = %err, "a connection failed while being accepted");
                    }
                }
            }
        },
    )
}

/// `EMFILE` (this process) or `ENFILE` (the whole system), on Linux and the BSDs alike.
fn is_out_of_descriptors(code: i32) -> bool {
    code == 24 || code == 23
}
