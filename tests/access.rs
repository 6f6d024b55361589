//! Access control across every door: scoped API keys, the anonymous gallery,
//! CORS, and the auth matrix through REST, gRPC and grpc-web.

use serde_json::{Value, json};
use tessera::{
    api::grpc::proto::{
        self, CreateApiKeyRequest, GetPublicAssetRequest, ListAiProvidersRequest,
        ListApiKeysRequest, ListAssetsRequest, ListPublicAssetsRequest, RevokeApiKeyRequest,
        ai_provider_service_client::AiProviderServiceClient,
        api_key_service_client::ApiKeyServiceClient,
        public_asset_service_client::PublicAssetServiceClient,
    },
    auth::tokens::JwtKeys,
    domain::Role,
};
use tonic::{Code, transport::Channel};

use crate::common::{API_KEY, Backend, TestServer, reason};
use crate::on_both_databases;

on_both_databases!(
    api_keys_are_scoped_and_revocable,
    public_gallery_shows_only_public_ready_assets,
    failed_uploads_are_never_served_anonymously,
    cors_answers_preflight_for_rest_and_grpc_web,
    auth_matrix_holds_on_every_door,
);

async fn create_key(server: &TestServer, with: &str, body: Value) -> (u16, Value) {
    let response = server
        .http
        .post(server.url("/api/v1/apikeys"))
        .bearer_auth(with)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn status_with(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> (u16, Option<String>) {
    let mut request = server.http.request(method, server.url(path));
    if let Some(token) = token {
        request = if token.starts_with("Basic ") {
            request.header("authorization", token)
        } else {
            request.bearer_auth(token)
        };
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenges: Vec<_> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|value| value.to_str().unwrap().to_string())
        .collect();
    if status == 401 {
        assert_eq!(
            challenges,
            ["Bearer realm=\"tessera\""],
            "one challenge per 401"
        );
    } else {
        assert!(challenges.is_empty(), "{status} carries no challenge");
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["error"]["code"].as_str().map(str::to_string))
}

async fn channel(server: &TestServer) -> Channel {
    Channel::from_shared(server.url(""))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn with_token<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        let value = if token.starts_with("Basic ") {
            token.to_string()
        } else {
            format!("Bearer {token}")
        };
        request
            .metadata_mut()
            .insert("authorization", value.parse().unwrap());
    }
    request
}

async fn api_keys_are_scoped_and_revocable(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, created) = create_key(
        &server,
        API_KEY,
        json!({ "name": "reader", "scopes": ["assets.read"] }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let reader = created["data"]["key"].as_str().unwrap().to_string();
    assert!(reader.starts_with("tsk_"));
    assert_eq!(created["data"]["scopes"], json!(["assets.read"]));
    assert_eq!(created["data"]["prefix"], &reader[..12]);

    let (status, list) = server.get_json("/api/v1/apikeys").await;
    assert_eq!(status, 200);
    assert!(
        !list.to_string().contains(&reader),
        "the key is shown once only"
    );
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("keyHash").is_none() && k.get("key").is_none())
    );

    let (status, code) = status_with(
        &server,
        reqwest::Method::GET,
        "/api/v1/assets",
        Some(&reader),
    )
    .await;
    assert_eq!((status, code), (200, None));
    let missing = format!("/api/v1/assets/{}", uuid::Uuid::now_v7());
    let (status, code) =
        status_with(&server, reqwest::Method::DELETE, &missing, Some(&reader)).await;
    assert_eq!((status, code.as_deref()), (403, Some("auth_forbidden")));
    let (status, code) = status_with(
        &server,
        reqwest::Method::GET,
        "/api/v1/apikeys",
        Some(&reader),
    )
    .await;
    assert_eq!((status, code.as_deref()), (403, Some("auth_forbidden")));
    let mut assets = server.grpc_with_key(Some(&reader)).await;
    assets
        .list_assets(ListAssetsRequest::default())
        .await
        .expect("read allowed");
    let err = assets
        .delete_asset(proto::DeleteAssetRequest {
            id: uuid::Uuid::now_v7().to_string(),
            commit_message: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "auth_forbidden")
    );

    let (status, body) = create_key(
        &server,
        API_KEY,
        json!({ "name": "x", "scopes": ["assets.everything"] }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("api_key_scope_invalid"))
    );
    // A key may hand out only what it holds.
    let (_, manager) = create_key(
        &server,
        API_KEY,
        json!({ "name": "manager", "scopes": ["apiKeys.manage", "assets.read"] }),
    )
    .await;
    let manager = manager["data"]["key"].as_str().unwrap().to_string();
    let (status, body) = create_key(
        &server,
        &manager,
        json!({ "name": "escalate", "scopes": ["assets.delete"] }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("auth_forbidden"))
    );
    let (status, _) = create_key(
        &server,
        &manager,
        json!({ "name": "ok", "scopes": ["assets.read"] }),
    )
    .await;
    assert_eq!(status, 201);

    // gRPC: create, list (last use recorded), revoke; a revoked key stops at once.
    let mut keys = ApiKeyServiceClient::new(channel(&server).await);
    let made = keys
        .create_api_key(with_token(
            CreateApiKeyRequest {
                name: "grpc".into(),
                scopes: vec!["assets.read".into()],
            },
            Some(API_KEY),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(made.key.starts_with("tsk_"));
    let id = made.api_key.unwrap().id;
    let listed = keys
        .list_api_keys(with_token(ListApiKeysRequest {}, Some(API_KEY)))
        .await
        .unwrap()
        .into_inner()
        .api_keys;
    let reader_listed = listed.iter().find(|k| k.name == "reader").unwrap();
    assert!(reader_listed.last_used_at_utc.is_some(), "use is recorded");
    keys.revoke_api_key(with_token(
        RevokeApiKeyRequest { id: id.clone() },
        Some(API_KEY),
    ))
    .await
    .unwrap();
    let (status, code) = status_with(
        &server,
        reqwest::Method::GET,
        "/api/v1/assets",
        Some(&made.key),
    )
    .await;
    assert_eq!((status, code.as_deref()), (401, Some("api_key_invalid")));
    let err = keys
        .revoke_api_key(with_token(RevokeApiKeyRequest { id }, Some(API_KEY)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::NotFound, "api_key_not_found")
    );
}

async fn public_gallery_shows_only_public_ready_assets(backend: Backend) {
    let server = TestServer::start_with(backend, |config| config.workers = 0).await;
    let public = server
        .upload_ok(
            "normal/rocket_falcon9.jpg",
            &[("runEnrichment", "false"), ("description", "rocket")],
        )
        .await;
    let private = server
        .upload_ok(
            "normal/chelsea_cat.png",
            &[("runEnrichment", "false"), ("isPublic", "false")],
        )
        .await;
    let pending = server.upload_ok("normal/coffee.png", &[]).await;
    assert_eq!(pending["status"], "pending", "no workers: it stays pending");
    let id = |a: &Value| a["id"].as_str().unwrap().to_string();

    let response = server
        .http
        .get(server.url("/api/v1/public/assets"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["total"], 1);
    assert_eq!(body["data"]["items"][0]["id"], id(&public).as_str());
    let text = body.to_string();
    for hidden in [
        "storageKey",
        "checksumSha256",
        "storageProvider",
        "structuredResults",
        "latestExecutionSummary",
        "status",
    ] {
        assert!(!text.contains(hidden), "{hidden} leaked: {text}");
    }
    let (status, detail) = {
        let response = server
            .http
            .get(server.url(&format!("/api/v1/public/assets/{}", id(&public))))
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 200);
    assert_eq!(detail["data"]["description"], "rocket");
    assert!(
        detail["data"]["publicUrl"]
            .as_str()
            .unwrap()
            .contains("/content/")
    );
    for other in [&private, &pending] {
        let response = server
            .http
            .get(server.url(&format!("/api/v1/public/assets/{}", id(other))))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
    }
    // Anonymous content follows the same rule: a public asset that is not
    // `ready` is not served; its owner still reads it (streamed, no redirect).
    let content = |key: &str| server.http.get(server.url(&format!("/content/{key}")));
    let key = |a: &Value| a["storageKey"].as_str().unwrap().to_string();
    assert_eq!(content(&key(&public)).send().await.unwrap().status(), 200);
    for hidden in [&private, &pending] {
        let response = content(&key(hidden)).send().await.unwrap();
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "content_not_found");
    }
    let response = server
        .get(&format!("/api/v1/assets/{}/content", id(&pending)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "streamed to its owner, not redirected"
    );
    assert!(response.bytes().await.unwrap() == crate::common::read_fixture("normal/coffee.png"));

    // Going private takes effect at once, everywhere.
    let response = server
        .patch(&format!("/api/v1/assets/{}", id(&public)))
        .json(&json!({ "isPublic": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = server
        .http
        .get(server.url("/api/v1/public/assets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["total"], 0);
    let response = server
        .patch(&format!("/api/v1/assets/{}", id(&public)))
        .json(&json!({ "isPublic": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // gRPC, anonymously.
    let mut gallery = PublicAssetServiceClient::new(channel(&server).await);
    let list = gallery
        .list_public_assets(ListPublicAssetsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        list.items.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
        vec![id(&public)]
    );
    let one = gallery
        .get_public_asset(GetPublicAssetRequest { id: id(&public) })
        .await
        .unwrap()
        .into_inner()
        .asset
        .unwrap();
    assert_eq!(one.description.as_deref(), Some("rocket"));
    let err = gallery
        .get_public_asset(GetPublicAssetRequest { id: id(&private) })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::NotFound, "asset_not_found")
    );
}

async fn cors_answers_preflight_for_rest_and_grpc_web(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.cors_origins = vec!["https://app.example".into()]
    })
    .await;
    for (path, method, headers) in [
        ("/api/v1/assets", "POST", "authorization,content-type"),
        (
            "/tessera.v1.AssetService/GetAsset",
            "POST",
            "authorization,content-type,x-grpc-web,grpc-timeout",
        ),
        // What browser apps add: request ids, tracing, compression negotiation.
        (
            "/tessera.v1.AssetService/GetAsset",
            "POST",
            "content-type,x-grpc-web,x-request-id,traceparent,grpc-accept-encoding",
        ),
        (
            "/api/v1/assets",
            "GET",
            "authorization,x-request-id,traceparent,tracestate,x-custom-app-header",
        ),
    ] {
        let response = server
            .http
            .request(reqwest::Method::OPTIONS, server.url(path))
            .header("origin", "https://app.example")
            .header("access-control-request-method", method)
            .header("access-control-request-headers", headers)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "https://app.example"
        );
        let allowed = response.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        for header in headers.split(',') {
            assert!(allowed.contains(header), "{header} not allowed: {allowed}");
        }
    }
    let response = server
        .get("/api/v1/assets")
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("grpc-status") && exposed.contains("grpc-message"),
        "{exposed}"
    );
    let response = server
        .get("/api/v1/assets")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // A preflight from an origin that is not allowed is not allowed either.
    let response = server
        .http
        .request(reqwest::Method::OPTIONS, server.url("/api/v1/assets"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .header(
            "access-control-request-headers",
            "authorization,x-request-id",
        )
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

/// Every kind of caller against each group of routes, on each door, with
/// the exact status and code.
async fn auth_matrix_holds_on_every_door(backend: Backend) {
    let server = TestServer::start(backend).await;
    let db = tessera::db::Db::connect(&server.database_url)
        .await
        .unwrap();
    let config = tessera::Config {
        data_dir: server.data_dir.path().to_path_buf(),
        ..tessera::Config::default()
    };
    let auth = tessera::service::auth_service(&config, db.clone()).unwrap();
    let password = "a-very-good-password";
    let mut tokens = std::collections::HashMap::new();
    for (name, role) in [
        ("member", Role::User),
        ("boss", Role::Admin),
        ("gone", Role::User),
    ] {
        let user = auth.create_user(name, password, role).await.unwrap();
        let session = auth.login(name, password, None).await.unwrap();
        tokens.insert(name, (user.id, session.access_token));
    }
    db.set_user_active(&tokens["gone"].0, false, 0)
        .await
        .unwrap();
    // A plain user reads assets only, unless granted more.
    let (status, editor) = {
        let response = server
            .post("/api/v1/users")
            .json(&json!({
                "username": "editor",
                "password": password,
                "role": "user",
                "permissions": ["assets.read", "assets.delete"],
            }))
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 201, "{editor}");
    let session = auth.login("editor", password, None).await.unwrap();
    tokens.insert(
        "editor",
        (
            editor["data"]["id"].as_str().unwrap().to_string(),
            session.access_token,
        ),
    );
    let (_, reader) = create_key(
        &server,
        API_KEY,
        json!({ "name": "reader", "scopes": ["assets.read"] }),
    )
    .await;
    let reader = reader["data"]["key"].as_str().unwrap().to_string();
    let (_, revoked) = create_key(&server, API_KEY, json!({ "name": "old" })).await;
    let revoked_key = revoked["data"]["key"].as_str().unwrap().to_string();
    let response = server
        .delete(&format!(
            "/api/v1/apikeys/{}",
            revoked["data"]["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let keys = JwtKeys::load(None, server.data_dir.path()).unwrap();
    let now = chrono::Utc::now().timestamp();
    let expired = keys.issue(&tokens["boss"].0, now - 3600, 60);
    let foreign = JwtKeys::from_secret(b"not the server's secret, but long")
        .unwrap()
        .issue(&tokens["boss"].0, now, 600);
    let payload = tokens["boss"].1.split('.').nth(1).unwrap().to_string();
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");

    let missing_asset = format!("/api/v1/assets/{}", uuid::Uuid::now_v7());
    type Expect = (u16, Option<&'static str>);
    let unauth: Expect = (401, Some("auth_unauthorized"));
    let invalid_key: Expect = (401, Some("api_key_invalid"));
    let forbidden: Expect = (403, Some("auth_forbidden"));
    let ok: Expect = (200, None);
    let not_found: Expect = (404, Some("asset_not_found"));
    // (caller, token, [read assets, delete an asset, manage keys, read AI providers])
    let cases: Vec<(&str, Option<String>, [Expect; 4])> = vec![
        ("nobody", None, [unauth; 4]),
        ("malformed", Some("Basic Zm9vOmJhcg==".into()), [unauth; 4]),
        (
            "wrong key",
            Some("tsk_wrongwrongwrongwrongwrongwrongwrongwrong".into()),
            [invalid_key; 4],
        ),
        ("revoked key", Some(revoked_key), [invalid_key; 4]),
        (
            "read-only key",
            Some(reader),
            [ok, forbidden, forbidden, forbidden],
        ),
        (
            "expired JWT",
            Some(expired),
            [(401, Some("auth_token_expired")); 4],
        ),
        ("foreign JWT", Some(foreign), [unauth; 4]),
        ("alg none", Some(alg_none), [unauth; 4]),
        ("disabled user", Some(tokens["gone"].1.clone()), [unauth; 4]),
        (
            "user role",
            Some(tokens["member"].1.clone()),
            [ok, forbidden, forbidden, forbidden],
        ),
        (
            "user granted delete",
            Some(tokens["editor"].1.clone()),
            [ok, not_found, forbidden, forbidden],
        ),
        (
            "admin role",
            Some(tokens["boss"].1.clone()),
            [ok, not_found, ok, ok],
        ),
        ("static key", Some(API_KEY.into()), [ok, not_found, ok, ok]),
    ];
    let grpc_code = |(status, _): Expect| match status {
        200 => Code::Ok,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        other => panic!("unexpected {other}"),
    };
    let chan = channel(&server).await;
    for (caller, token, expected) in &cases {
        let token = token.as_deref();
        let routes = [
            (reqwest::Method::GET, "/api/v1/assets".to_string()),
            (reqwest::Method::DELETE, missing_asset.clone()),
            (reqwest::Method::GET, "/api/v1/apikeys".to_string()),
            (
                reqwest::Method::GET,
                "/api/v1/system/ai/providers".to_string(),
            ),
        ];
        for ((method, path), want) in routes.into_iter().zip(expected) {
            let got = status_with(&server, method.clone(), &path, token).await;
            assert_eq!(
                (got.0, got.1.as_deref()),
                *want,
                "REST {caller} {method} {path}"
            );
        }

        let mut assets = proto::asset_service_client::AssetServiceClient::new(chan.clone());
        let outcomes = [
            assets
                .list_assets(with_token(ListAssetsRequest::default(), token))
                .await
                .map(|_| ()),
            assets
                .delete_asset(with_token(
                    proto::DeleteAssetRequest {
                        id: missing_asset.rsplit('/').next().unwrap().into(),
                        commit_message: None,
                    },
                    token,
                ))
                .await
                .map(|_| ()),
            ApiKeyServiceClient::new(chan.clone())
                .list_api_keys(with_token(ListApiKeysRequest {}, token))
                .await
                .map(|_| ()),
            AiProviderServiceClient::new(chan.clone())
                .list_ai_providers(with_token(ListAiProvidersRequest {}, token))
                .await
                .map(|_| ()),
        ];
        for (index, (outcome, want)) in outcomes.into_iter().zip(expected).enumerate() {
            match outcome {
                Ok(()) => assert_eq!(grpc_code(*want), Code::Ok, "gRPC {caller} #{index}"),
                Err(status) => {
                    assert_eq!(status.code(), grpc_code(*want), "gRPC {caller} #{index}");
                    assert_eq!(
                        Some(reason(&status).as_str()),
                        want.1,
                        "gRPC {caller} #{index}"
                    );
                }
            }
        }

        // grpc-web: ListAssets over HTTP/1.1.
        let mut request = server
            .http
            .post(server.url("/tessera.v1.AssetService/ListAssets"))
            .header("content-type", "application/grpc-web+proto")
            .body(vec![0u8, 0, 0, 0, 0]);
        if let Some(token) = token {
            request = if token.starts_with("Basic ") {
                request.header("authorization", token)
            } else {
                request.bearer_auth(token)
            };
        }
        let response = request.send().await.unwrap();
        let header_status = response
            .headers()
            .get("grpc-status")
            .map(|v| v.to_str().unwrap().to_string());
        let body = response.bytes().await.unwrap();
        let trailer = String::from_utf8_lossy(&body).to_string();
        let want = grpc_code(expected[0]) as i32;
        assert!(
            header_status.as_deref() == Some(&want.to_string())
                || trailer.contains(&format!("grpc-status:{want}")),
            "grpc-web {caller}: {header_status:?} {trailer}"
        );
    }
}

/// A public upload whose processing failed is hidden from anonymous readers
/// everywhere, `/content` included, while its owner can still fetch it.
async fn failed_uploads_are_never_served_anonymously(backend: Backend) {
    let server = TestServer::start(backend).await;
    let bytes = crate::common::read_fixture("generated/truncated.png");
    let (status, body) = server.upload("cut.png", bytes.clone(), &[]).await;
    assert_eq!(status, 202, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_string();
    let (_, settled) = server.wait_settled(&id).await;
    assert_eq!(settled["status"], "failed");
    let key = settled["storageKey"].as_str().unwrap();
    let response = server
        .http
        .get(server.url(&format!("/content/{key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = server
        .http
        .head(server.url(&format!("/content/{key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = server
        .get(&format!("/api/v1/assets/{id}/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap() == bytes);
}
