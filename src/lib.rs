//! tessera: a self-hosted image asset service. One core service, three doors
//! (REST, gRPC, grpc-web) on one port. See docs/architecture.md.

#![forbid(unsafe_code)]

pub mod ai;
pub mod api;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod imaging;
pub mod jobs;
pub mod service;
pub mod skills;
pub mod storage;
pub mod telemetry;

use std::future::Future;

use tokio::net::TcpListener;

pub use config::Config;
use service::{Services, StartError};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Server(#[from] api::server::ServerError),
}

/// Starts tessera on `listener` with `config` until `shutdown` completes.
/// Used by `main` and by the tests, which run many servers in one process.
pub async fn serve(
    listener: TcpListener,
    mut config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    // The address actually bound (port 0 in tests), for links made outside requests.
    if let Ok(address) = listener.local_addr() {
        config.listen = address;
    }
    // Installed before the first request so every request is counted.
    if telemetry::prometheus().is_none() {
        tracing::warn!("another metrics recorder is installed; /metrics will fail");
    }
    let (services, workers) = Services::start(&config).await?;
    if let Some(created) = services
        .auth
        .ensure_quickstart_key()
        .await
        .map_err(StartError::Setup)?
    {
        // Printed once, on the first start, so the README's examples work at once.
        println!(
            "\nNo API key was configured, so one was created (shown only now):\n\n    {}\n\n\
             Use it as 'Authorization: Bearer <key>'. Create more with 'tessera apikey create --name NAME'.\n",
            created.key.expose()
        );
    }
    let router = api::server::router(
        services.clone(),
        &config.cors_origins,
        &config.trusted_proxies,
        config.forwarded_headers,
        api::mcp::McpOrigins::new(&config.cors_origins, config.public_base(), config.listen),
    )
    .await?;
    let address = listener.local_addr().ok();
    tracing::info!(?address, "tessera listening (REST, gRPC, grpc-web)");
    let served = api::server::serve(listener, router, shutdown).await;
    workers.shutdown(std::time::Duration::from_secs(20)).await;
    services.db.close().await;
    served?;
    Ok(())
}
