//! What operators rely on: `/metrics` in Prometheus format with bounded
//! labels, JSON logs where a job's lines carry the trace id of the request
//! that created it, and one access-log line per request.

use std::time::{Duration, Instant};

use serde_json::Value;
use tessera::api::grpc::proto::GetAssetRequest;

use crate::common::process::Process;
use crate::common::{Backend, TestServer, read_fixture};
use crate::on_both_databases;

on_both_databases!(
    metrics_are_served,
    job_logs_carry_the_request_trace_id,
    every_request_has_an_access_log_line,
    running_out_of_file_descriptors_backs_off
);

/// The value of the first series line starting with `prefix`.
fn series(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn metrics_are_served(backend: Backend) {
    let server = TestServer::start(backend).await;
    let photo = read_fixture("normal/rocket_falcon9.jpg");
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
        .upload("rocket.jpg", read_fixture("normal/rocket_falcon9.jpg"))
        .await;
    assert_eq!(response.status(), 202);
    let trace_id = trace_id_of(response.headers());
    // The error body carries the trace id of its request too.
    let failed = process
        .http
        .get(format!("{}/api/v1/assets/not-a-uuid", process.base))
        .bearer_auth(crate::common::API_KEY)
        .send()
        .await
        .unwrap();
    let header = trace_id_of(failed.headers());
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

/// The access-log lines (JSON) in a process's log.
fn access_lines(process: &Process) -> Vec<Value> {
    std::fs::read_to_string(&process.log)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "tessera::access")
        .collect()
}

/// Waits for the access line of `trace_id` (written when the response body ends).
async fn access_line(process: &Process, trace_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(line) = access_lines(process)
            .into_iter()
            .find(|line| line["fields"]["trace_id"] == trace_id)
        {
            return line;
        }
        assert!(
            Instant::now() < deadline,
            "no access line for {trace_id}:\n{}",
            std::fs::read_to_string(&process.log).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn every_request_has_an_access_log_line(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = backend.database_url(dir.path()).await;
    let process = Process::start(
        &dir.path().join("json"),
        &database_url,
        &[("TESSERA_LOG_FORMAT", "json"), ("TESSERA_LOG", "info")],
    )
    .await;

    // REST: an error's trace id finds its line, with the route template.
    let missing = uuid::Uuid::now_v7();
    let response = process
        .http
        .get(format!("{}/api/v1/assets/{missing}", process.base))
        .bearer_auth(crate::common::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    let trace_id = body["error"]["traceId"].as_str().unwrap().to_string();
    let line = access_line(&process, &trace_id).await;
    assert_eq!(line["level"], "INFO");
    let fields = &line["fields"];
    assert_eq!(fields["protocol"], "rest", "{line}");
    assert_eq!(fields["method"], "GET");
    assert_eq!(fields["route"], "/api/v1/assets/{id}");
    assert_eq!(fields["status"], 404);
    assert_eq!(fields["caller"], "api_key:configured");
    assert_eq!(fields["client_ip"], "127.0.0.1");
    assert!(fields["response_bytes"].as_u64().unwrap() > 0);
    assert!(fields["latency_ms"].as_f64().unwrap() >= 0.0);
    let text = line.to_string();
    assert!(!text.contains(crate::common::API_KEY), "never the secret");

    // An upload counts its request bytes; anonymous callers are named so.
    let photo = read_fixture("normal/rocket_falcon9.jpg");
    let response = process.upload("rocket.jpg", photo.clone()).await;
    let trace_id = trace_id_of(response.headers());
    let fields = access_line(&process, &trace_id).await["fields"].clone();
    assert_eq!(
        (fields["method"].as_str(), fields["status"].as_u64()),
        (Some("POST"), Some(202))
    );
    assert!(fields["request_bytes"].as_u64().unwrap() > photo.len() as u64);
    let response = process
        .http
        .get(format!("{}/healthz", process.base))
        .send()
        .await
        .unwrap();
    let trace_id = trace_id_of(response.headers());
    assert_eq!(
        access_line(&process, &trace_id).await["fields"]["caller"],
        "anonymous"
    );

    // gRPC: the RPC, and the status from the trailers.
    let channel = tonic::transport::Channel::from_shared(process.base.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client =
        tessera::api::grpc::proto::asset_service_client::AssetServiceClient::new(channel);
    let mut request = tonic::Request::new(GetAssetRequest {
        id: missing.to_string(),
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", crate::common::API_KEY)
            .parse()
            .unwrap(),
    );
    let status = client.get_asset(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    let trace_id = status
        .metadata()
        .get("x-trace-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let fields = access_line(&process, &trace_id).await["fields"].clone();
    assert_eq!(fields["protocol"], "grpc");
    assert_eq!(fields["route"], "/tessera.v1.AssetService/GetAsset");
    assert_eq!(fields["grpc_status"], 5);

    // The text format carries the same line; TESSERA_LOG can silence it.
    let text = Process::start(
        &dir.path().join("text"),
        &database_url,
        &[("TESSERA_LOG", "info")],
    )
    .await;
    let response = text
        .http
        .get(format!("{}/healthz", text.base))
        .send()
        .await
        .unwrap();
    let trace_id = trace_id_of(response.headers());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = std::fs::read_to_string(&text.log).unwrap();
        if let Some(line) = log
            .lines()
            .find(|l| l.contains(&format!("trace_id={trace_id}")))
        {
            assert!(
                line.contains("tessera::access") && line.contains("route=/healthz"),
                "{line}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no access line in\n{log}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(text);
    let quiet = Process::start(
        &dir.path().join("quiet"),
        &database_url,
        &[
            ("TESSERA_LOG_FORMAT", "json"),
            ("TESSERA_LOG", "info,tessera::access=off"),
        ],
    )
    .await;
    quiet
        .http
        .get(format!("{}/healthz", quiet.base))
        .send()
        .await
        .unwrap();
    // The JSON process above logged its lines within milliseconds; this one has none.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(access_lines(&quiet), Vec::<Value>::new());
}

/// CPU time (user + system, in clock ticks) a process has used so far.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// At its open-file limit the server stops accepting for a moment instead of
/// retrying at once (which burned a whole core), logs it, counts it, and
/// serves again as soon as descriptors are free.
async fn running_out_of_file_descriptors_backs_off(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = backend.database_url(dir.path()).await;
    let process = Process::start_limited(
        dir.path(),
        &database_url,
        &[("TESSERA_WORKERS", "0")],
        Some(64),
    )
    .await;
    let pid = process.child.id();
    let address = process.base.trim_start_matches("http://").to_string();
    let mut held = Vec::new();
    for _ in 0..150 {
        held.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&process.log)
        .unwrap()
        .contains("out of file descriptors")
    {
        assert!(Instant::now() < deadline, "the limit was never reached");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_ticks(pid) - before;
    // 200 ticks would be a core spinning; resting costs next to nothing.
    assert!(used < 50, "{used} ticks of CPU in 2 s at the limit");
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        if let Ok(response) = process
            .http
            .get(format!("{}/metrics", process.base))
            .send()
            .await
        {
            break response.text().await.unwrap();
        }
        assert!(Instant::now() < deadline, "serving again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let refused = series(
        &text,
        r#"tessera_accept_errors_total{kind="out_of_file_descriptors"}"#,
    );
    assert!(refused.is_some_and(|n| n >= 1.0), "{text}");
}

/// The trace id a response carries in its `x-trace-id` header.
fn trace_id_of(headers: &reqwest::header::HeaderMap) -> String {
    headers["x-trace-id"].to_str().unwrap().to_string()
}
