//! A gRPC call past its deadline (`grpc-timeout`) ends with
//! `DEADLINE_EXCEEDED`, unary or streaming (a watch, a health watch), over
//! gRPC and grpc-web, and grpc-web callers get the answer with their CORS
//! headers. Calls are made with a raw HTTP/2 client: tonic's own client
//! enforces the deadline on its side and would hide the server's answer.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;
use tessera::api::grpc::proto::{GetAssetRequest, RunSkillRequest, WatchAssetRequest};

use crate::common::{API_KEY, Backend, TestServer};
use crate::grpc_web::{frame, parse_frames};
use crate::on_both_databases;

on_both_databases!(deadlines_end_every_call_with_deadline_exceeded);

/// The answer of one raw gRPC call: head, data and the grpc-status wherever
/// it came (trailers, or the head of a trailers-only answer).
struct Answer {
    head: hyper::HeaderMap,
    data: Vec<u8>,
    grpc_status: Option<String>,
}

async fn grpc_call(
    server: &TestServer,
    path: &str,
    message: &impl Message,
    timeout: &str,
) -> Answer {
    let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::post(server.url(path))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-timeout", timeout)
        .header("authorization", format!("Bearer {API_KEY}"))
        .body(Full::new(Bytes::from(frame(message))))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let head = response.headers().clone();
    // A server that does not enforce the deadline would hold a stream open.
    let collected = tokio::time::timeout(Duration::from_secs(15), response.into_body().collect())
        .await
        .expect("the call ends")
        .unwrap();
    let trailers = collected.trailers().cloned();
    let data = collected.to_bytes().to_vec();
    let grpc_status = trailers
        .as_ref()
        .and_then(|t| t.get("grpc-status"))
        .or_else(|| head.get("grpc-status"))
        .map(|v| v.to_str().unwrap().to_string());
    Answer {
        head,
        data,
        grpc_status,
    }
}

async fn deadlines_end_every_call_with_deadline_exceeded(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.workers = 0;
        config.cors_origins = vec!["https://app.example".into()];
    })
    .await;
    let asset = server.upload_ok("normal/rocket_falcon9.jpg", &[]).await;
    let id = asset["id"].as_str().unwrap().to_string();

    // A call that arrives with (almost) no time left is not started.
    let answer = grpc_call(
        &server,
        "/tessera.v1.AssetService/GetAsset",
        &GetAssetRequest { id: id.clone() },
        "1m",
    )
    .await;
    assert_eq!(
        answer.grpc_status.as_deref(),
        Some("4"),
        "{:?}",
        answer.head
    );
    // A unary call whose deadline passes while it works: the analysis of a
    // 12 MP photo takes far longer than 20 ms.
    let large = server
        .upload_ok(
            "generated/large_4032x3024.jpg",
            &[("runEnrichment", "false")],
        )
        .await;
    let started = Instant::now();
    let answer = grpc_call(
        &server,
        "/tessera.v1.AssetService/RunSkill",
        &RunSkillRequest {
            id: large["id"].as_str().unwrap().into(),
            skill_name: "analyze".into(),
            parameters: None,
        },
        "20m",
    )
    .await;
    assert_eq!(
        answer.grpc_status.as_deref(),
        Some("4"),
        "{:?}",
        answer.head
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered at the deadline"
    );
    // With time enough, the same call works.
    let answer = grpc_call(
        &server,
        "/tessera.v1.AssetService/GetAsset",
        &GetAssetRequest { id: id.clone() },
        "10S",
    )
    .await;
    assert_eq!(answer.grpc_status.as_deref(), Some("0"));

    // Streams end at their deadline: a watch of an asset that stays pending
    // (no workers) and the health watch.
    let started = Instant::now();
    let answer = grpc_call(
        &server,
        "/tessera.v1.AssetService/WatchAsset",
        &WatchAssetRequest { id: id.clone() },
        "400m",
    )
    .await;
    assert_eq!(answer.grpc_status.as_deref(), Some("4"));
    assert!(
        !answer.data.is_empty(),
        "the first update arrived before the end"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let answer = grpc_call(
        &server,
        "/grpc.health.v1.Health/Watch",
        &tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        },
        "300m",
    )
    .await;
    assert_eq!(answer.grpc_status.as_deref(), Some("4"));

    // grpc-web: the same answers, with the CORS headers a browser needs.
    let grpc_web = |path: &'static str, body: Vec<u8>, timeout: &'static str| {
        server
            .http
            .post(server.url(path))
            .header("content-type", "application/grpc-web+proto")
            .header("x-grpc-web", "1")
            .header("origin", "https://app.example")
            .header("grpc-timeout", timeout)
            .bearer_auth(API_KEY)
            .body(body)
            .send()
    };
    let response = grpc_web(
        "/tessera.v1.AssetService/GetAsset",
        frame(&GetAssetRequest { id: id.clone() }),
        "1m",
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("grpc-status")
            .map(|v| v.to_str().unwrap()),
        Some("4"),
        "{:?}",
        response.headers()
    );
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let response = grpc_web(
        "/tessera.v1.AssetService/WatchAsset",
        frame(&WatchAssetRequest { id }),
        "400m",
    )
    .await
    .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let body = response.bytes().await.unwrap();
    let (messages, trailers) = parse_frames(&body);
    assert_eq!(messages.len(), 1, "the current state, then the deadline");
    assert!(trailers.contains("grpc-status:4"), "{trailers}");
}
