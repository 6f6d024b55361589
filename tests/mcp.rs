//! MCP at `/mcp` on its wire format (JSON-RPC over Streamable HTTP): the
//! same rules and codes as REST, errors in-band, and the guards around it
//! (credentials, browser origins, fetching by URL). The official SDK
//! clients are driven against the binary by `.ci/clients`.

use axum::{Router, http::StatusCode, response::Redirect, routing::get};
use base64::Engine;
use serde_json::{Value, json};

use crate::common::{API_KEY, Backend, TestServer, read_fixture, sha256_hex};
use crate::on_both_databases;

on_both_databases!(
    tools_follow_the_rest_rules,
    uploads_from_urls_are_guarded,
    strangers_are_refused_before_any_tool_runs,
);

const PROTOCOL: &str = "2025-11-25";

/// One JSON-RPC request; the HTTP status and the parsed answer.
async fn rpc(server: &TestServer, method: &str, params: Value) -> (u16, Value) {
    let (status, _, answer) = rpc_with_headers(server, method, params).await;
    (status, answer)
}

async fn rpc_with_headers(
    server: &TestServer,
    method: &str,
    params: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = server
        .post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", PROTOCOL)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
        .expect("POST /mcp");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// A tool call's result (`isError`, `structuredContent`).
async fn tool(server: &TestServer, name: &str, arguments: Value) -> (bool, Value) {
    let (status, answer) = rpc(
        server,
        "tools/call",
        json!({"name": name, "arguments": arguments}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let result = &answer["result"];
    assert!(result.is_object(), "{name}: {answer}");
    (
        result["isError"].as_bool().unwrap_or(false),
        result["structuredContent"].clone(),
    )
}

fn code(error: &Value) -> &str {
    error["error"]["code"].as_str().unwrap_or_default()
}

async fn tools_follow_the_rest_rules(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, headers, init) = rpc_with_headers(
        &server,
        "initialize",
        json!({"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}),
    )
    .await;
    assert_eq!(status, 200, "{init}");
    assert_eq!(headers["mcp-protocol-version"], PROTOCOL);
    assert_eq!(init["result"]["protocolVersion"], PROTOCOL);
    assert_eq!(init["result"]["serverInfo"]["name"], "tessera");
    let (_, listed) = rpc(&server, "tools/list", json!({})).await;
    let tools = listed["result"]["tools"].as_array().expect("tools").clone();
    assert_eq!(tools.len(), 16, "{listed}");
    let get_asset = tools
        .iter()
        .find(|t| t["name"] == "get_asset")
        .expect("get_asset");
    assert!(get_asset["outputSchema"]["properties"]["derivatives"].is_object());
    assert_eq!(get_asset["inputSchema"]["required"], json!(["id"]));

    // Upload as an agent does, and find the same asset through REST.
    let bytes = read_fixture("normal/rocket_falcon9.jpg");
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let (failed, asset) = tool(
        &server,
        "upload_asset",
        json!({"fileName": "rocket.jpg", "contentType": "image/jpeg", "contentBase64": encoded,
               "altText": "a rocket", "isPublic": false, "runEnrichment": false}),
    )
    .await;
    assert!(!failed, "{asset}");
    assert_eq!(asset["checksumSha256"], sha256_hex(&bytes).as_str());
    assert!(asset.get("storageKey").is_none() && asset.get("storageProvider").is_none());
    let id = asset["id"].as_str().expect("id").to_string();
    let (_, rest) = server.get_json(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(rest["data"]["altText"], "a rocket");

    let (_, patched) = tool(
        &server,
        "patch_asset",
        json!({"id": id, "description": "patched-from-mcp", "altText": null}),
    )
    .await;
    assert_eq!(patched["description"], "patched-from-mcp");
    assert_eq!(patched["altText"], Value::Null);
    let (_, waited) = tool(
        &server,
        "wait_for_asset",
        json!({"id": id, "timeoutSeconds": 30}),
    )
    .await;
    assert_eq!(
        (
            waited["settled"].as_bool(),
            waited["asset"]["status"].as_str()
        ),
        (Some(true), Some("ready"))
    );
    let (failed, private) = tool(&server, "get_asset_content_url", json!({"id": id})).await;
    assert!(failed);
    assert_eq!(code(&private), "asset_not_found");
    let (_, run) = tool(
        &server,
        "run_asset_skill",
        json!({"assetId": id, "skillName": "thumbnail", "parameters": {"size": 32}}),
    )
    .await;
    assert_eq!(run["succeeded"], true, "{run}");
    let (_, resource) = rpc(
        &server,
        "resources/read",
        json!({"uri": format!("asset://{id}/derivatives")}),
    )
    .await;
    let text = resource["result"]["contents"][0]["text"]
        .as_str()
        .expect("text");
    assert!(text.contains("thumbnail_32"), "{text}");

    // Refusals: in-band, with REST's codes, and nothing half-made.
    let before = server.get_json("/api/v1/assets").await.1["data"]["total"].clone();
    for (name, arguments, expected) in [
        ("get_asset", json!({}), "tool_arguments_invalid"),
        ("get_asset", json!({"id": 7}), "tool_arguments_invalid"),
        (
            "get_asset",
            json!({"id": id, "extra": true}),
            "tool_arguments_invalid",
        ),
        ("get_asset", json!({"id": "nope"}), "asset_id_invalid"),
        (
            "upload_asset",
            json!({"fileName": "a.png", "contentType": "image/png", "contentBase64": "@@"}),
            "asset_base64_invalid",
        ),
        (
            "upload_asset",
            json!({"fileName": "a.png", "contentType": " ", "contentBase64": encoded}),
            "asset_content_type_missing",
        ),
        (
            "upload_asset",
            json!({"fileName": "a.txt", "contentType": "text/plain", "contentBase64": "aGVsbG8="}),
            "asset_content_type_not_allowed",
        ),
        (
            "run_asset_skill",
            json!({"assetId": id, "skillName": "unknown_skill"}),
            "skill_not_found",
        ),
        (
            "batch_delete_assets",
            json!({"ids": "not a list"}),
            "tool_arguments_invalid",
        ),
    ] {
        let (failed, answer) = tool(&server, name, arguments.clone()).await;
        assert!(failed, "{name} {arguments}");
        assert_eq!(code(&answer), expected, "{name} {arguments}: {answer}");
    }
    let after = server.get_json("/api/v1/assets").await.1["data"]["total"].clone();
    assert_eq!(before, after, "a refused upload leaves no asset");
    let (_, unknown) = rpc(
        &server,
        "tools/call",
        json!({"name": "no_such_tool", "arguments": {}}),
    )
    .await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    let (_, prompt) = rpc(&server, "prompts/get", json!({"name": "nope"})).await;
    assert_eq!(
        (
            prompt["error"]["code"].as_i64(),
            prompt["error"]["data"]["code"].as_str()
        ),
        (Some(-32601), Some("prompt_not_found"))
    );
    let (_, skill) = rpc(
        &server,
        "resources/read",
        json!({"uri": "skill://unknown_skill"}),
    )
    .await;
    assert_eq!(skill["error"]["data"]["code"], "skill_not_found", "{skill}");

    let (_, deleted) = tool(&server, "delete_asset", json!({"id": id})).await;
    assert_eq!(deleted["status"], "deleted");
    let (failed, gone) = tool(&server, "get_asset", json!({"id": id})).await;
    assert!(failed);
    assert_eq!(code(&gone), "asset_not_found");
}

/// A small web server for the fetch tests: an image, a redirect to it, a
/// text file and a file larger than the upload limit.
async fn image_host() -> String {
    let image = read_fixture("exif/progressive.jpg");
    let app = Router::new()
        .route("/pics/cat.jpg", get(move || async move { image.clone() }))
        .route(
            "/go",
            get(|| async { Redirect::temporary("/pics/cat.jpg") }),
        )
        .route("/notes.txt", get(|| async { "plain text, not an image" }))
        .route("/huge.jpg", get(|| async { vec![0xffu8; 3_000_000] }))
        .route("/missing.jpg", get(|| async { StatusCode::NOT_FOUND }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}")
}

async fn uploads_from_urls_are_guarded(backend: Backend) {
    let host = image_host().await;
    // By default an agent cannot make tessera reach loopback or private hosts.
    let guarded = TestServer::start(backend.clone()).await;
    for url in [
        format!("{host}/pics/cat.jpg"),
        "http://localhost:9/x.jpg".to_string(),
        "http://[::1]:9/x.jpg".to_string(),
        "http://10.0.0.1/x.jpg".to_string(),
    ] {
        let (failed, answer) = tool(&guarded, "upload_asset_from_url", json!({"url": url})).await;
        assert!(failed);
        assert_eq!(code(&answer), "asset_url_forbidden", "{url}: {answer}");
    }
    let (_, answer) = tool(
        &guarded,
        "upload_asset_from_url",
        json!({"url": "ftp://example.com/a.jpg"}),
    )
    .await;
    assert_eq!(code(&answer), "asset_url_invalid");

    // Where the operator allows it (a closed network), the fetch works,
    // follows redirects and keeps every upload rule.
    let open = TestServer::start_with(backend, |config| {
        config.url_fetch_allow_private = true;
        config.max_upload_bytes = 1_000_000;
    })
    .await;
    let (failed, asset) = tool(
        &open,
        "upload_asset_from_url",
        json!({"url": format!("{host}/go"), "description": "fetched", "runEnrichment": false}),
    )
    .await;
    assert!(!failed, "{asset}");
    assert_eq!(asset["originalFileName"], "cat.jpg");
    assert_eq!(
        asset["checksumSha256"],
        sha256_hex(&read_fixture("exif/progressive.jpg")).as_str()
    );
    for (path, expected) in [
        ("/notes.txt", "asset_content_type_not_allowed"),
        ("/huge.jpg", "asset_file_too_large"),
        ("/missing.jpg", "asset_url_fetch_failed"),
    ] {
        let (failed, answer) = tool(
            &open,
            "upload_asset_from_url",
            json!({"url": format!("{host}{path}")}),
        )
        .await;
        assert!(failed, "{path}");
        assert_eq!(code(&answer), expected, "{path}: {answer}");
    }
    let (_, page) = open.get_json("/api/v1/assets").await;
    assert_eq!(page["data"]["total"], 1, "refused fetches leave no asset");
}

async fn strangers_are_refused_before_any_tool_runs(backend: Backend) {
    let server = TestServer::start(backend).await;
    let client = reqwest::Client::new();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let send = |key: Option<&str>, origin: Option<&str>| {
        let mut request = client
            .post(server.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    let anonymous = send(None, None).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(
        anonymous.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let wrong = send(Some("tsk_wrong"), None).await.unwrap();
    assert_eq!(wrong.status(), 401);
    let foreign = send(Some(API_KEY), Some("http://evil.example"))
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let refusal: Value = foreign.json().await.unwrap();
    assert_eq!(refusal["error"]["code"], "origin_not_allowed");
    // A revision the server does not speak is refused as the spec says.
    let unknown = client
        .post(server.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "1999-01-01")
        .bearer_auth(API_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    // A page served by tessera itself may call it.
    let own = format!("http://{}", server.addr);
    let same = send(Some(API_KEY), Some(&own)).await.unwrap();
    assert_eq!(same.status(), 200);
}
