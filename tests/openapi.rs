//! `/openapi.json` is the contract other languages generate clients from: every
//! REST route is in it, and real responses, successes and errors alike, match
//! the schemas it gives for their status.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::common::fake_github::FakeGitHub;
use crate::common::{Backend, TestServer, read_fixture};
use crate::on_both_databases;

on_both_databases!(
    every_documented_operation_is_routed,
    real_responses_match_the_document
);

/// The served document, with each object schema closed (see `close`) so that
/// a field the document does not declare fails validation too.
struct Contract {
    document: Value,
}

impl Contract {
    async fn fetch(server: &TestServer) -> Contract {
        let response = reqwest::get(server.url("/openapi.json")).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let mut document: Value = response.json().await.unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        close(&mut document);
        Contract { document }
    }

    fn operations(&self) -> Vec<(String, String)> {
        let mut operations = Vec::new();
        for (path, item) in self.document["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                operations.push((method.to_uppercase(), path.clone()));
            }
        }
        operations
    }

    /// What in `body`, answered with `status` by `method template`, the
    /// document does not allow for that status (or its `default`).
    fn violations(&self, method: &str, template: &str, status: u16, body: &Value) -> Vec<String> {
        let operation = &self.document["paths"][template][method.to_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {template} is not documented"
        );
        let responses = &operation["responses"];
        let response = match &responses[status.to_string()] {
            Value::Null => &responses["default"],
            documented => documented,
        };
        let schema = &response["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {template} documents no JSON body for {status}"
        );
        let mut root = schema.clone();
        root["components"] = self.document["components"].clone();
        let validator = jsonschema::draft202012::new(&root).expect("a valid JSON Schema");
        validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    fn check(&self, method: &str, template: &str, status: u16, body: &Value) {
        let violations = self.violations(method, template, status, body);
        assert!(
            violations.is_empty(),
            "{method} {template} answered {status} with a body the document does not allow:\n{}\nbody: {body}",
            violations.join("\n")
        );
    }

    /// Sends `request`, checks its answer against the document and returns it.
    async fn call(
        &self,
        request: reqwest::RequestBuilder,
        template: &str,
        expected_status: u16,
    ) -> Value {
        let request = request.build().unwrap();
        let method = request.method().to_string();
        let response = reqwest::Client::new().execute(request).await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected_status, "{method} {template}: {body}");
        if status == 204 {
            // No content: the document must say so, and the answer be empty.
            let operation = &self.document["paths"][template][method.to_lowercase()];
            assert!(
                operation["responses"]["204"].is_object(),
                "{method} {template} does not document 204"
            );
            assert_eq!(
                body,
                Value::Null,
                "{method} {template} answered 204 with a body"
            );
        } else {
            self.check(&method, template, status, &body);
        }
        body
    }
}

/// Adds `unevaluatedProperties: false` wherever an object is complete: on
/// schemas with `properties` or `allOf`, and on references to schemas that
/// other schemas extend through `allOf` (those stay open where they are
/// defined, so that the extension can add its fields).
fn close(document: &mut Value) {
    let mut extended = BTreeSet::new();
    collect_extended(document, &mut extended);
    let schemas = document["components"]["schemas"]
        .as_object_mut()
        .expect("component schemas");
    for (name, schema) in schemas.iter_mut() {
        close_schema(schema, extended.contains(name), &extended);
    }
    if let Some(paths) = document["paths"].as_object_mut() {
        for item in paths.values_mut() {
            close_schema(item, false, &extended);
        }
    }
}

fn collect_extended(node: &Value, extended: &mut BTreeSet<String>) {
    match node {
        Value::Object(object) => {
            if let Some(Value::Array(members)) = object.get("allOf") {
                for member in members {
                    if let Some(reference) = member["$ref"].as_str() {
                        extended.insert(reference.rsplit('/').next().unwrap().to_string());
                    }
                }
            }
            object.values().for_each(|v| collect_extended(v, extended));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_extended(v, extended)),
        _ => {}
    }
}

fn close_schema(node: &mut Value, open: bool, extended: &BTreeSet<String>) {
    match node {
        Value::Object(object) => {
            let extends_another = object
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.rsplit('/').next())
                .is_some_and(|name| extended.contains(name));
            let complete = object.contains_key("allOf")
                || object.contains_key("properties")
                || extends_another;
            if complete && !open && !object.contains_key("additionalProperties") {
                object.insert("unevaluatedProperties".into(), Value::Bool(false));
            }
            for (key, child) in object.iter_mut() {
                match (key.as_str(), child) {
                    ("allOf", Value::Array(members)) => members
                        .iter_mut()
                        .for_each(|m| close_schema(m, true, extended)),
                    (_, child) => close_schema(child, false, extended),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| close_schema(v, false, extended)),
        _ => {}
    }
}

/// The other direction (every route is documented) holds by construction: the
/// router is built from the documented handlers.
async fn every_documented_operation_is_routed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let contract = Contract::fetch(&server).await;
    let operations = contract.operations();
    assert!(operations.len() >= 49, "{operations:?}");
    for (method, template) in operations {
        let path = template
            .replace("{id}", &uuid::Uuid::now_v7().to_string())
            .replace("{skillName}", "thumbnail")
            .replace("{storageKey}", "no/such/key.jpg");
        let request = server
            .http
            .request(method.parse().unwrap(), server.url(&path))
            .bearer_auth(crate::common::API_KEY)
            .header("content-type", "application/json")
            .body("{}");
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let code = body["error"]["code"].as_str().unwrap_or_default();
        assert!(
            code != "route_not_found" && code != "method_not_allowed",
            "{method} {template} is documented but not routed: {status} {body}"
        );
    }
}

async fn real_responses_match_the_document(backend: Backend) {
    let server = TestServer::start(backend).await;
    let contract = Contract::fetch(&server).await;
    let anonymous = reqwest::Client::new();

    for (path, status) in [
        ("/healthz", 200),
        ("/readyz", 200),
        ("/api/v1/system/ping", 200),
        ("/api/v1/system/bootstrap", 200),
    ] {
        contract
            .call(anonymous.get(server.url(path)), path, status)
            .await;
    }

    // An asset through its whole life: upload, processing, reads, changes.
    let form = reqwest::multipart::Form::new()
        .text("description", "a rocket")
        .part(
            "file",
            reqwest::multipart::Part::bytes(read_fixture("normal/rocket_falcon9.jpg"))
                .file_name("rocket.jpg"),
        );
    let uploaded = contract
        .call(
            server.post("/api/v1/assets").multipart(form),
            "/api/v1/assets",
            202,
        )
        .await;
    let id = uploaded["data"]["id"].as_str().unwrap().to_string();
    server.wait_settled(&id).await;
    let asset = contract
        .call(
            server.get(&format!("/api/v1/assets/{id}")),
            "/api/v1/assets/{id}",
            200,
        )
        .await;
    assert!(
        !asset["data"]["derivatives"].as_array().unwrap().is_empty(),
        "a processed asset has derivatives to check: {asset}"
    );
    assert!(asset["data"]["latestExecutionSummary"].is_object());
    // The check itself is strict: an undeclared field, a missing required one
    // or a wrong type in a nested object each fail it.
    for tamper in [
        (|a: &mut Value| a["data"]["unexpected"] = json!(1)) as fn(&mut Value),
        |a| a["data"]["derivatives"][0]["size"] = json!("12"),
        |a| {
            a["data"].as_object_mut().unwrap().remove("checksumSha256");
        },
        |a| a["data"]["latestExecutionSummary"]["steps"][0]["extra"] = json!(true),
    ] {
        let mut tampered = asset.clone();
        tamper(&mut tampered);
        assert!(
            !contract
                .violations("GET", "/api/v1/assets/{id}", 200, &tampered)
                .is_empty(),
            "accepted: {tampered}"
        );
    }
    contract
        .call(
            server.get("/api/v1/assets?status=ready&orderBy=size&orderDirection=asc&pageSize=5"),
            "/api/v1/assets",
            200,
        )
        .await;
    contract
        .call(
            server
                .patch(&format!("/api/v1/assets/{id}"))
                .json(&json!({"altText": "a rocket on the pad", "description": null})),
            "/api/v1/assets/{id}",
            200,
        )
        .await;
    contract
        .call(
            anonymous.get(server.url("/api/v1/public/assets")),
            "/api/v1/public/assets",
            200,
        )
        .await;
    contract
        .call(
            anonymous.get(server.url(&format!("/api/v1/public/assets/{id}"))),
            "/api/v1/public/assets/{id}",
            200,
        )
        .await;
    contract
        .call(
            server.get("/api/v1/assets/skills"),
            "/api/v1/assets/skills",
            200,
        )
        .await;
    contract
        .call(
            server
                .post(&format!("/api/v1/assets/{id}/skills/thumbnail/run"))
                .json(&json!({"parameters": {"size": 64}})),
            "/api/v1/assets/{id}/skills/{skillName}/run",
            200,
        )
        .await;
    contract
        .call(
            server.get("/api/v1/assets/usage-stats"),
            "/api/v1/assets/usage-stats",
            200,
        )
        .await;

    // Administration: users, sessions, keys, storage and AI profiles.
    let user = contract
        .call(
            server.post("/api/v1/users").json(&json!({
                "username": "contract-user",
                "password": "a long enough password",
                "role": "admin",
            })),
            "/api/v1/users",
            201,
        )
        .await;
    let user_id = user["data"]["id"].as_str().unwrap();
    let user = contract
        .call(
            server
                .patch(&format!("/api/v1/users/{user_id}"))
                .json(&json!({"username": "contract-person", "role": "user"})),
            "/api/v1/users/{id}",
            200,
        )
        .await;
    assert_eq!(user["data"]["lastLoginAtUtc"], Value::Null);
    contract
        .call(
            server
                .patch(&format!("/api/v1/users/{user_id}/permissions"))
                .json(&json!({"permissions": ["assets.read", "assets.create"]})),
            "/api/v1/users/{id}/permissions",
            200,
        )
        .await;
    contract
        .call(
            server
                .post(&format!("/api/v1/users/{user_id}/status"))
                .json(&json!({"isActive": true})),
            "/api/v1/users/{id}/status",
            200,
        )
        .await;
    let reset = server
        .post(&format!("/api/v1/users/{user_id}/reset-password"))
        .json(&json!({"newPassword": "a long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204, "no body to check");
    contract
        .call(
            server.post("/api/v1/users").json(&json!({
                "username": "contract-root",
                "password": "a long enough password",
                "role": "superAdmin",
            })),
            "/api/v1/users",
            403,
        )
        .await;
    let session = contract
        .call(
            anonymous.post(server.url("/api/v1/auth/login")).json(
                &json!({"username": "contract-person", "password": "a long enough password"}),
            ),
            "/api/v1/auth/login",
            200,
        )
        .await;
    let access_token = session["data"]["accessToken"].as_str().unwrap();
    contract
        .call(
            anonymous
                .get(server.url("/api/v1/auth/me"))
                .bearer_auth(access_token),
            "/api/v1/auth/me",
            200,
        )
        .await;
    contract
        .call(
            server
                .post("/api/v1/apikeys")
                .json(&json!({"name": "contract", "scopes": ["assets.read"]})),
            "/api/v1/apikeys",
            201,
        )
        .await;
    contract
        .call(server.get("/api/v1/apikeys"), "/api/v1/apikeys", 200)
        .await;
    contract
        .call(
            server.get("/api/v1/system/storage/providers"),
            "/api/v1/system/storage/providers",
            200,
        )
        .await;
    let storage = contract
        .call(
            server
                .post("/api/v1/system/storage/providers")
                .json(&json!({
                    "name": "contract-disk",
                    "providerType": "local",
                    "configuration": { "rootPath": "contract" },
                })),
            "/api/v1/system/storage/providers",
            201,
        )
        .await;
    let storage_id = storage["data"]["id"].as_str().unwrap();
    contract
        .call(
            server
                .patch(&format!("/api/v1/system/storage/providers/{storage_id}"))
                .json(&json!({ "displayName": "Contract disk", "secretConfiguration": null })),
            "/api/v1/system/storage/providers/{id}",
            200,
        )
        .await;
    contract
        .call(
            server.get(&format!("/api/v1/system/storage/providers/{storage_id}")),
            "/api/v1/system/storage/providers/{id}",
            200,
        )
        .await;
    contract
        .call(
            server.post(&format!(
                "/api/v1/system/storage/providers/{storage_id}/disable"
            )),
            "/api/v1/system/storage/providers/{id}/disable",
            200,
        )
        .await;
    contract
        .call(
            server.post(&format!(
                "/api/v1/system/storage/providers/{storage_id}/set-default"
            )),
            "/api/v1/system/storage/providers/{id}/set-default",
            400,
        )
        .await;
    contract
        .call(
            server.post(&format!(
                "/api/v1/system/storage/providers/{storage_id}/enable"
            )),
            "/api/v1/system/storage/providers/{id}/enable",
            200,
        )
        .await;
    contract
        .call(
            server.delete(&format!("/api/v1/system/storage/providers/{storage_id}")),
            "/api/v1/system/storage/providers/{id}",
            200,
        )
        .await;
    let provider = contract
        .call(
            server.post("/api/v1/system/ai/providers").json(&json!({
                "name": "contract",
                "apiBaseUrl": "http://127.0.0.1:9/v1",
                "modelName": "vision",
                "apiKey": "sk-contract-0123456789",
            })),
            "/api/v1/system/ai/providers",
            201,
        )
        .await;
    assert_eq!(provider["data"]["apiKey"], "sk-***");
    contract
        .call(
            server.get("/api/v1/system/ai/providers"),
            "/api/v1/system/ai/providers",
            200,
        )
        .await;
    contract
        .call(
            server.get("/api/v1/system/ai/providers/active"),
            "/api/v1/system/ai/providers/active",
            200,
        )
        .await;
    contract
        .call(
            server
                .post("/api/v1/system/ai/providers/test")
                .json(&json!({ "apiBaseUrl": "ftp://x", "modelName": "m" })),
            "/api/v1/system/ai/providers/test",
            400,
        )
        .await;
    let provider_id = provider["data"]["id"].as_str().unwrap();
    contract
        .call(
            server.delete(&format!("/api/v1/system/ai/providers/{provider_id}")),
            "/api/v1/system/ai/providers/{id}",
            200,
        )
        .await;

    // A GitHub repository profile: browse and write through the contents API.
    let github = FakeGitHub::start("octo-org", "image-host", "ghp_contractToken0123").await;
    github.put_file("main", "assets/cat.png", b"a cat");
    let repository = contract
        .call(
            server
                .post("/api/v1/system/storage/providers")
                .json(&json!({
                    "name": "repository", "providerType": "github-repo",
                    "configuration": {
                        "owner": "octo-org", "repo": "image-host", "ref": "main",
                        "basePath": "assets", "visibilityPolicy": "public-only",
                        "apiBaseUrl": github.api_base_url, "rawBaseUrl": "https://raw.example"
                    },
                    "secretConfiguration": {"token": "ghp_contractToken0123"}
                })),
            "/api/v1/system/storage/providers",
            201,
        )
        .await;
    let repository_id = repository["data"]["id"].as_str().unwrap();
    contract
        .call(
            server.get(&format!(
                "/api/v1/system/storage/providers/{repository_id}/github-repo/browse?recursive=true"
            )),
            "/api/v1/system/storage/providers/{id}/github-repo/browse",
            200,
        )
        .await;
    contract
        .call(
            server
                .post(&format!(
                    "/api/v1/system/storage/providers/{repository_id}/github-repo/upsert"
                ))
                .json(&json!({"path": "dog.txt", "contentBase64": "ZG9n", "commitMessage": "add dog"})),
            "/api/v1/system/storage/providers/{id}/github-repo/upsert",
            200,
        )
        .await;
    contract
        .call(
            server
                .post(&format!(
                    "/api/v1/system/storage/providers/{repository_id}/github-repo/upsert"
                ))
                .json(&json!({"path": "cat.png", "contentBase64": "ZG9n", "expectedSha": "0000"})),
            "/api/v1/system/storage/providers/{id}/github-repo/upsert",
            409,
        )
        .await;

    // Workflows: the editor's graph, saved, listed, run and removed.
    let graph = json!({"nodes": [{"type": "thumbnail"}, {"data": {"skillId": "ai-caption"}}]});
    let workflow = contract
        .call(
            server.post("/api/v1/system/workflows").json(&json!({
                "name": "contract",
                "description": "thumbnail then caption",
                "isAutoRun": false,
                "graphJson": graph.to_string(),
            })),
            "/api/v1/system/workflows",
            201,
        )
        .await;
    let workflow_id = workflow["data"]["id"].as_str().unwrap();
    contract
        .call(
            server.get("/api/v1/system/workflows"),
            "/api/v1/system/workflows",
            200,
        )
        .await;
    contract
        .call(
            server
                .put(&format!("/api/v1/system/workflows/{workflow_id}"))
                .json(&json!({"name": "contract", "graphJson": graph.to_string()})),
            "/api/v1/system/workflows/{id}",
            200,
        )
        .await;
    contract
        .call(
            server.patch(&format!("/api/v1/system/workflows/{workflow_id}/autorun")),
            "/api/v1/system/workflows/{id}/autorun",
            200,
        )
        .await;
    contract
        .call(
            server.get(&format!("/api/v1/system/workflows/{workflow_id}")),
            "/api/v1/system/workflows/{id}",
            200,
        )
        .await;
    contract
        .call(
            server.post(&format!("/api/v1/assets/{id}/workflows/{workflow_id}/run")),
            "/api/v1/assets/{id}/workflows/{workflowId}/run",
            202,
        )
        .await;
    contract
        .call(
            server
                .post("/api/v1/system/workflows")
                .json(&json!({"name": "broken", "graphJson": "{\"nodes\": ["})),
            "/api/v1/system/workflows",
            400,
        )
        .await;
    contract
        .call(
            server.delete(&format!("/api/v1/system/workflows/{workflow_id}")),
            "/api/v1/system/workflows/{id}",
            204,
        )
        .await;

    // Failures carry the error envelope the document gives as `default`.
    contract
        .call(
            anonymous.get(server.url("/api/v1/assets")),
            "/api/v1/assets",
            401,
        )
        .await;
    contract
        .call(
            server.get(&format!("/api/v1/assets/{}", uuid::Uuid::now_v7())),
            "/api/v1/assets/{id}",
            404,
        )
        .await;
    contract
        .call(
            server.get("/api/v1/assets?pageSize=0"),
            "/api/v1/assets",
            400,
        )
        .await;
    contract
        .call(
            server
                .patch(&format!("/api/v1/assets/{id}"))
                .json(&json!(["not", "an", "object"])),
            "/api/v1/assets/{id}",
            400,
        )
        .await;
    contract
        .call(
            server
                .delete(&format!("/api/v1/assets/{id}"))
                .json(&json!(["not", "an", "object"])),
            "/api/v1/assets/{id}",
            400,
        )
        .await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"plain text, not an image".to_vec()).file_name("a.txt"),
    );
    contract
        .call(
            server.post("/api/v1/assets").multipart(form),
            "/api/v1/assets",
            415,
        )
        .await;

    // And the end of an asset.
    contract
        .call(
            server
                .post("/api/v1/assets/batch-delete")
                .json(&json!({"ids": [uuid::Uuid::now_v7().to_string()]})),
            "/api/v1/assets/batch-delete",
            200,
        )
        .await;
    contract
        .call(
            server.delete(&format!("/api/v1/assets/{id}")),
            "/api/v1/assets/{id}",
            200,
        )
        .await;
}
