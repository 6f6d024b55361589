//! Health, readiness and bootstrap endpoints.

use serde_json::Value;

use crate::common::{Backend, TestServer};
use crate::on_both_databases;

on_both_databases!(system_endpoints_answer_anonymously);

async fn system_endpoints_answer_anonymously(backend: Backend) {
    let server = TestServer::start_with(backend, |config| config.max_upload_bytes = 1234).await;
    let get = |path: &str| {
        let request = server.http.get(server.url(path));
        async move {
            let response = request.send().await.unwrap();
            assert!(response.headers().contains_key("x-trace-id"));
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    assert_eq!(
        get("/healthz").await,
        (200, serde_json::json!({ "data": { "status": "ok" } }))
    );
    let (status, ready) = get("/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(ready["data"]["ready"], true);
    assert_eq!(ready["data"]["database"], "ok");
    let (status, ping) = get("/api/v1/system/ping").await;
    assert_eq!(
        (status, ping["data"]["message"].as_str()),
        (200, Some("pong"))
    );
    let (status, bootstrap) = get("/api/v1/system/bootstrap").await;
    assert_eq!(status, 200);
    assert_eq!(
        bootstrap["data"],
        serde_json::json!({
            "apiKeyRequired": true,
            "maxUploadSizeBytes": 1234,
            "allowedContentTypes": ["image/jpeg", "image/png", "image/gif", "image/webp"],
        })
    );
}
