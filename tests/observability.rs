//! What operators rely on: `/metrics` in Prometheus format with bounded
//! labels, and JSON logs where a job's lines carry the trace id of the
//! request that created it.

use std::time::{Duration, Instant};

use serde_json::Value;
use tessera::api::grpc::proto::GetAssetRequest;

use crate::common::process::Process;
use crate::common::{Backend, TestServer, read_testdata};
use crate::on_both_databases;

on_both_databases!(metrics_are_served, job_logs_carry_the_request_trace_id);

/// The value of the first series line starting with `prefix`.
fn series(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn metrics_are_served(backend: Backend) {
    let server = TestServer::start(backend).await;
    let photo = read_testdata("normal/rocket_falcon9.jpg");
    let asset = server.upload_ok("normal/rocket_falcon9.jpg", &[]).await;
    let id = asset["id"].as_str().unwrap().to_string();
    let (_, settled) = server.wait_settled(&id).await;
    assert_eq!(settled["status"], "ready");
    let (status, _) = server.get_json(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(status, 200);
    let (status, _) = server.get_json(&format!("/no/such/{id}")).await;
    assert_eq!(status, 404);
    let mut client = server.grpc().await;
    client
        .get_asset(GetAssetRequest { id: id.clone() })
        .await
        .unwrap();

    let response = server.get("/metrics").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(!text.contains(&id), "no raw ids in labels");
    for prefix in [
        r#"tessera_requests_total{protocol="rest",method="GET",route="/api/v1/assets/{id}",status="200"}"#,
        r#"tessera_requests_total{protocol="rest",method="POST",route="/api/v1/assets",status="202"}"#,
        r#"tessera_requests_total{protocol="rest",method="GET",route="unmatched",status="404"}"#,
        r#"tessera_requests_total{protocol="grpc",method="POST",route="/tessera.v1.AssetService/GetAsset",status="0"}"#,
        r#"tessera_request_duration_seconds_bucket{protocol="rest",route="/api/v1/assets/{id}",le="+Inf"}"#,
        r#"tessera_job_duration_seconds_count{kind="process_asset",outcome="succeeded"}"#,
        r#"tessera_storage_operation_duration_seconds_count{backend="local",operation="put"}"#,
        r#"tessera_jobs{status="succeeded"}"#,
    ] {
        let value = series(&text, prefix);
        assert!(value.is_some_and(|v| v >= 1.0), "{prefix} in\n{text}");
    }
    let received = series(&text, r#"tessera_request_bytes_total{protocol="rest"}"#).unwrap();
    assert!(received >= photo.len() as f64, "upload bytes counted");
    let sent = series(&text, r#"tessera_response_bytes_total{protocol="rest"}"#).unwrap();
    assert!(sent > 0.0);
    assert!(text.contains("# TYPE tessera_request_duration_seconds histogram"));
}

async fn job_logs_carry_the_request_trace_id(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = backend.database_url(dir.path()).await;
    let process = Process::start(
        dir.path(),
        &database_url,
        &[("TESSERA_LOG_FORMAT", "json"), ("TESSERA_LOG", "info")],
    )
    .await;
    let response = process
        .upload("rocket.jpg", read_testdata("normal/rocket_falcon9.jpg"))
        .await;
    assert_eq!(response.status(), 202);
    let trace_id = response.headers()["x-trace-id"]
        .to_str()
        .unwrap()
        .to_string();
    // The error body carries the trace id of its request too.
    let failed = process
        .http
        .get(format!("{}/api/v1/assets/not-a-uuid", process.base))
        .bearer_auth(crate::common::API_KEY)
        .send()
        .await
        .unwrap();
    let header = failed.headers()["x-trace-id"].to_str().unwrap().to_string();
    let body: Value = failed.json().await.unwrap();
    assert_eq!(body["error"]["traceId"], header.as_str());

    let deadline = Instant::now() + Duration::from_secs(60);
    let job_line = loop {
        let log = std::fs::read_to_string(&process.log).unwrap();
        let found = log
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| line["fields"]["message"] == "job finished");
        if let Some(line) = found {
            break line;
        }
        assert!(Instant::now() < deadline, "no job log line:\n{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(job_line["span"]["name"], "job", "{job_line}");
    assert_eq!(
        job_line["span"]["trace_id"],
        trace_id.as_str(),
        "{job_line}"
    );
    assert_eq!(job_line["fields"]["outcome"], "succeeded", "{job_line}");
}
