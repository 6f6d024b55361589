//! Starts real tessera servers on 127.0.0.1:0 with a temp data dir, on SQLite
//! or on a fresh PostgreSQL database, and gives clients for each door.

#![allow(dead_code)]

pub mod fake_ai;
pub mod fake_github;
pub mod fixtures;
pub mod process;
pub mod seed;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::OnceLock,
};

use reqwest::multipart;
use sqlx::Connection;
use tessera::{
    Config,
    api::grpc::proto::{
        self, asset_service_client::AssetServiceClient,
        storage_profile_service_client::StorageProfileServiceClient,
    },
    config::Secret,
};
use tokio::{net::TcpListener, sync::oneshot};
use tonic::{
    metadata::MetadataValue, service::interceptor::InterceptedService, transport::Channel,
};

pub const API_KEY: &str = "test-static-key-0123456789";

pub use fixtures::read_fixture;

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Which database a test runs on.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// PostgreSQL from `TESSERA_TEST_DATABASE_URL`; when it is unset the
    /// PostgreSQL variant is skipped, unless `TESSERA_REQUIRE_POSTGRES=1`
    /// (set by `.ci/run`) makes that a failure.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("TESSERA_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ => {
                assert!(
                    std::env::var("TESSERA_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                    "TESSERA_REQUIRE_POSTGRES=1 but TESSERA_TEST_DATABASE_URL is unset"
                );
                eprintln!("skipped: TESSERA_TEST_DATABASE_URL is unset");
                None
            }
        }
    }

    /// A database URL of its own for one test: a SQLite file in `dir`, or a
    /// new PostgreSQL database.
    pub async fn database_url(&self, dir: &Path) -> String {
        match self {
            Backend::Sqlite => tessera::db::Db::sqlite_url(&dir.join("tessera.db")),
            Backend::Postgres(admin_url) => {
                let name = format!("tessera_t_{}", uuid::Uuid::now_v7().simple());
                let mut conn = sqlx::PgConnection::connect(admin_url)
                    .await
                    .expect("connect to TESSERA_TEST_DATABASE_URL");
                drop_stale_databases(&mut conn).await;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let (base, query) = match admin_url.split_once('?') {
                    Some((base, query)) => (base, format!("?{query}")),
                    None => (admin_url.as_str(), String::new()),
                };
                let base = base.rsplit_once('/').map_or(base, |(server, _)| server);
                format!("{base}/{name}{query}")
            }
        }
    }
}

/// Databases left by earlier runs are dropped once per test binary.
async fn drop_stale_databases(conn: &mut sqlx::PgConnection) {
    static ONCE: OnceLock<()> = OnceLock::new();
    if ONCE.set(()).is_err() {
        return;
    }
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'tessera\\_t\\_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for name in names {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut *conn)
        .await;
    }
}

/// Runs a scenario on SQLite and (when configured) on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$scenario($crate::common::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(backend) = $crate::common::Backend::postgres() {
                        super::$scenario(backend).await;
                    }
                }
            }
        )*
    };
}

/// A running server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: tempfile::TempDir,
    pub database_url: String,
    pub http: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
}

/// Adds the bearer token to every gRPC call.
pub type AuthInterceptor =
    Box<dyn FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Send>;

pub type GrpcClient = AssetServiceClient<InterceptedService<Channel, AuthInterceptor>>;

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a server after `adjust` has changed the test configuration.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let database_url = backend.database_url(data_dir.path()).await;
        Self::start_on(data_dir, database_url, adjust).await
    }

    /// A second instance on the same database and storage as `other`, as in
    /// a scaled-out deployment.
    pub async fn start_beside(other: &TestServer, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let root = other.data_dir.path().join("assets");
        Self::start_on(
            tempfile::tempdir().expect("temp dir"),
            other.database_url.clone(),
            move |config| {
                config.storage_local_root = Some(root);
                adjust(config);
            },
        )
        .await
    }

    /// A server on an existing database and data dir (made by the CLI, say).
    pub async fn start_beside_database(database_url: String, data_dir: PathBuf) -> TestServer {
        Self::start_on(
            tempfile::tempdir().expect("temp dir"),
            database_url,
            move |config| {
                config.storage_local_root = Some(data_dir.join("assets"));
                config.jwt_secret = None;
                config.data_dir = data_dir;
            },
        )
        .await
    }

    async fn start_on(
        data_dir: tempfile::TempDir,
        database_url: String,
        adjust: impl FnOnce(&mut Config),
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let mut config = Config {
            listen: addr,
            data_dir: data_dir.path().to_path_buf(),
            database_url: Some(Secret::new(database_url.clone())),
            api_keys: vec![Secret::new(API_KEY)],
            ..Config::default()
        };
        adjust(&mut config);
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let stop = async {
                let _ = stopped.await;
            };
            if let Err(err) = tessera::serve(listener, config, stop).await {
                panic!("server failed: {err}");
            }
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        // The listener already accepts; the first request is answered once
        // startup (migrations, bootstrap) is done, so tests may use the
        // database directly after this.
        let ready = http
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .expect("server answers");
        assert_eq!(ready.status(), 200);
        TestServer {
            addr,
            data_dir,
            database_url,
            http,
            _shutdown: shutdown,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(API_KEY)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(self.url(path)).bearer_auth(API_KEY)
    }

    pub fn patch(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.patch(self.url(path)).bearer_auth(API_KEY)
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.delete(self.url(path)).bearer_auth(API_KEY)
    }

    pub fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.put(self.url(path)).bearer_auth(API_KEY)
    }

    /// Uploads `bytes` as `file_name`, the text fields first; the raw response.
    pub async fn upload_response(
        &self,
        file_name: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        form = form.part(
            "file",
            multipart::Part::bytes(bytes).file_name(file_name.to_string()),
        );
        self.post("/api/v1/assets")
            .multipart(form)
            .send()
            .await
            .expect("upload")
    }

    /// Uploads `bytes` as `file_name` with extra text fields; returns status and body.
    pub async fn upload(
        &self,
        file_name: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let response = self.upload_response(file_name, bytes, fields).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// Posts a multipart form to the upload route as it is, fields in its order.
    pub async fn post_form(&self, form: reqwest::multipart::Form) -> (u16, serde_json::Value) {
        let response = self
            .post("/api/v1/assets")
            .multipart(form)
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// Uploads a test image and returns the asset JSON (`data`).
    pub async fn upload_ok(&self, relative: &str, fields: &[(&str, &str)]) -> serde_json::Value {
        let name = relative.rsplit('/').next().unwrap_or(relative);
        let (status, body) = self.upload(name, read_fixture(relative), fields).await;
        assert_eq!(status, 202, "upload of {relative}: {body}");
        body["data"].clone()
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).send().await.expect("GET");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// A channel to this server and an interceptor sending `key` (or nothing)
    /// as the bearer token: what every service's client is built from.
    pub async fn grpc_parts(&self, key: Option<&str>) -> (Channel, AuthInterceptor) {
        let channel = Channel::from_shared(self.url(""))
            .expect("uri")
            .connect()
            .await
            .expect("gRPC connect");
        let header: Option<MetadataValue<_>> =
            key.map(|k| format!("Bearer {k}").parse().expect("metadata"));
        let interceptor: AuthInterceptor = Box::new(move |mut request: tonic::Request<()>| {
            if let Some(header) = &header {
                request
                    .metadata_mut()
                    .insert("authorization", header.clone());
            }
            Ok(request)
        });
        (channel, interceptor)
    }

    /// A gRPC client that sends `key` (or nothing) as the bearer token.
    pub async fn grpc_with_key(&self, key: Option<&str>) -> GrpcClient {
        let (channel, interceptor) = self.grpc_parts(key).await;
        AssetServiceClient::with_interceptor(channel, interceptor)
    }

    /// `StorageProfileService` with the test key.
    pub async fn storage_profiles_grpc(
        &self,
    ) -> StorageProfileServiceClient<InterceptedService<Channel, AuthInterceptor>> {
        let (channel, interceptor) = self.grpc_parts(Some(API_KEY)).await;
        StorageProfileServiceClient::with_interceptor(channel, interceptor)
    }

    /// `WorkflowService` with the test key.
    pub async fn workflows_grpc(
        &self,
    ) -> tessera::api::grpc::proto::workflow_service_client::WorkflowServiceClient<
        InterceptedService<Channel, AuthInterceptor>,
    > {
        let (channel, interceptor) = self.grpc_parts(Some(API_KEY)).await;
        tessera::api::grpc::proto::workflow_service_client::WorkflowServiceClient::with_interceptor(
            channel,
            interceptor,
        )
    }

    /// The default storage profile as `GET /system/storage/providers` shows it.
    pub async fn default_storage_profile(&self) -> serde_json::Value {
        let (status, overview) = self.get_json("/api/v1/system/storage/providers").await;
        assert_eq!(status, 200, "{overview}");
        let defaults: Vec<&serde_json::Value> = overview["data"]["profiles"]
            .as_array()
            .expect("profiles")
            .iter()
            .filter(|p| p["isDefault"] == true)
            .collect();
        assert_eq!(defaults.len(), 1, "exactly one default: {overview}");
        assert_eq!(&overview["data"]["defaultProfile"], defaults[0]);
        defaults[0].clone()
    }

    /// The asset's content is served whole and by range, equal to `expected`.
    pub async fn assert_serves(&self, id: &str, expected: &[u8]) {
        let path = format!("/api/v1/assets/{id}/content");
        let response = self.get(&path).send().await.expect("GET content");
        assert_eq!(response.status(), 200);
        assert!(response.bytes().await.expect("body").as_ref() == expected);
        let response = self
            .get(&path)
            .header("range", "bytes=10-109")
            .send()
            .await
            .expect("GET range");
        assert_eq!(response.status(), 206);
        assert_eq!(
            response.bytes().await.expect("body").as_ref(),
            &expected[10..110]
        );
    }

    pub async fn grpc(&self) -> GrpcClient {
        self.grpc_with_key(Some(API_KEY)).await
    }

    /// Follows `WatchAsset` until processing is over; returns the statuses seen
    /// and the asset as REST shows it then.
    pub async fn wait_settled(&self, id: &str) -> (Vec<proto::AssetStatus>, serde_json::Value) {
        use futures_util::StreamExt;
        let mut client = self.grpc().await;
        let mut updates = client
            .watch_asset(proto::WatchAssetRequest { id: id.into() })
            .await
            .expect("watch")
            .into_inner();
        let mut seen = Vec::new();
        while let Some(update) =
            tokio::time::timeout(std::time::Duration::from_secs(60), updates.next())
                .await
                .expect("processing finishes within a minute")
        {
            seen.push(update.expect("update").asset.expect("asset").status());
        }
        let (status, body) = self.get_json(&format!("/api/v1/assets/{id}")).await;
        assert_eq!(status, 200, "{body}");
        (seen, body["data"].clone())
    }

    /// Every regular file under the local storage root (temp files included).
    pub fn stored_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(&self.data_dir.path().join("assets"), &mut files);
        files
    }
}

/// The `reason` of the `google.rpc.ErrorInfo` in a gRPC status.
pub fn reason(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

/// Uploads over gRPC: the metadata, then the bytes in 16 KiB chunks.
pub async fn grpc_upload(
    client: &mut GrpcClient,
    metadata: proto::UploadAssetMetadata,
    bytes: &[u8],
) -> Result<proto::Asset, tonic::Status> {
    use proto::{UploadAssetRequest, upload_asset_request::Payload};
    let mut messages = vec![UploadAssetRequest {
        payload: Some(Payload::Metadata(metadata)),
    }];
    messages.extend(bytes.chunks(16 * 1024).map(|chunk| UploadAssetRequest {
        payload: Some(Payload::Chunk(bytes::Bytes::copy_from_slice(chunk))),
    }));
    client
        .upload_asset(futures_util::stream::iter(messages))
        .await
        .map(|response| response.into_inner().asset.expect("asset"))
}

/// Downloads over gRPC: the content info, then the bytes.
pub async fn grpc_download(
    client: &mut GrpcClient,
    id: &str,
) -> (proto::AssetContentInfo, Vec<u8>) {
    grpc_content(
        client,
        proto::GetAssetContentRequest {
            id: id.into(),
            derivative_kind: None,
        },
    )
    .await
    .expect("content")
}

/// `GetAssetContent` as asked: the content info and the bytes, or the status
/// that refused it.
pub async fn grpc_content(
    client: &mut GrpcClient,
    request: proto::GetAssetContentRequest,
) -> Result<(proto::AssetContentInfo, Vec<u8>), tonic::Status> {
    use futures_util::StreamExt;
    use proto::get_asset_content_response::Payload;
    let mut stream = client.get_asset_content(request).await?.into_inner();
    let first = stream.next().await.expect("first message")?;
    let Some(Payload::Info(info)) = first.payload else {
        panic!("the first message must be the content info");
    };
    let mut bytes = Vec::new();
    while let Some(message) = stream.next().await {
        match message?.payload {
            Some(Payload::Chunk(chunk)) => bytes.extend_from_slice(&chunk),
            other => panic!("unexpected message {other:?}"),
        }
    }
    Ok((info, bytes))
}

/// A JSON object of strings as a protobuf `Struct` (profile configurations).
pub fn proto_struct(value: &serde_json::Value) -> prost_types::Struct {
    let fields = value
        .as_object()
        .expect("a JSON object")
        .iter()
        .map(|(k, v)| {
            let text = v.as_str().expect("a string value").to_string();
            let kind = prost_types::value::Kind::StringValue(text);
            (k.clone(), prost_types::Value { kind: Some(kind) })
        })
        .collect();
    prost_types::Struct { fields }
}

/// An S3 server in this process: s3s over a directory, with SigV4 checked.
pub async fn s3_server(root: &std::path::Path, access_key: &str, secret_key: &str) -> String {
    std::fs::create_dir_all(root.join("tessera-bucket")).unwrap();
    let fs = s3s_fs::FileSystem::new(root).unwrap();
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(access_key, secret_key));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}
