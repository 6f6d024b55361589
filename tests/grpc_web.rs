//! grpc-web over plain HTTP/1.1 frames (as browsers send it), plus the gRPC
//! health and reflection services that make `grpcurl` work.

use bytes::{Buf, BufMut, BytesMut};
use futures_util::StreamExt;
use prost::Message;
use tessera::api::grpc::proto::{GetAssetRequest, GetAssetResponse};

use crate::common::{API_KEY, Backend, TestServer};
use crate::on_both_databases;

on_both_databases!(get_asset_through_grpc_web, health_and_reflection_answer);

/// One length-prefixed grpc-web data frame.
pub fn frame(message: &impl Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut out = BytesMut::with_capacity(body.len() + 5);
    out.put_u8(0);
    out.put_u32(u32::try_from(body.len()).expect("small message"));
    out.put_slice(&body);
    out.to_vec()
}

/// Splits a grpc-web response body into its data frames and trailer text.
pub fn parse_frames(mut body: &[u8]) -> (Vec<Vec<u8>>, String) {
    let mut messages = Vec::new();
    let mut trailers = String::new();
    while body.len() >= 5 {
        let flags = body.get_u8();
        let len = body.get_u32() as usize;
        let (payload, rest) = body.split_at(len);
        if flags & 0x80 != 0 {
            trailers.push_str(&String::from_utf8_lossy(payload));
        } else {
            messages.push(payload.to_vec());
        }
        body = rest;
    }
    (messages, trailers)
}

async fn grpc_web_get(server: &TestServer, id: &str, key: Option<&str>) -> reqwest::Response {
    let mut request = server
        .http
        .post(server.url("/tessera.v1.AssetService/GetAsset"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(frame(&GetAssetRequest { id: id.into() }));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.expect("grpc-web request")
}

async fn get_asset_through_grpc_web(backend: Backend) {
    let server = TestServer::start(backend).await;
    let asset = server
        .upload_ok("normal/flower_lossy.webp", &[("description", "flower")])
        .await;
    let id = asset["id"].as_str().unwrap();

    let response = grpc_web_get(&server, id, Some(API_KEY)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/grpc-web")
    );
    let (messages, trailers) = parse_frames(&response.bytes().await.unwrap());
    assert!(trailers.contains("grpc-status:0"), "{trailers}");
    let decoded = GetAssetResponse::decode(messages[0].as_slice())
        .expect("decode")
        .asset
        .expect("asset");
    assert_eq!(decoded.id, id);
    assert_eq!(
        decoded.checksum_sha256,
        asset["checksumSha256"].as_str().unwrap()
    );
    assert_eq!(decoded.description.as_deref(), Some("flower"));
    assert_eq!((decoded.width, decoded.height), (Some(480), Some(360)));

    // Errors arrive as grpc-status with the same reason as REST.
    let response = grpc_web_get(&server, &uuid::Uuid::now_v7().to_string(), Some(API_KEY)).await;
    let headers = response.headers().clone();
    let (_, trailers) = parse_frames(&response.bytes().await.unwrap());
    let status = headers
        .get("grpc-status")
        .map(|v| v.to_str().unwrap().to_string());
    assert!(
        status.as_deref() == Some("5") || trailers.contains("grpc-status:5"),
        "{headers:?} {trailers}"
    );
    let response = grpc_web_get(&server, id, None).await;
    let headers = response.headers().clone();
    let (_, trailers) = parse_frames(&response.bytes().await.unwrap());
    let status = headers
        .get("grpc-status")
        .map(|v| v.to_str().unwrap().to_string());
    assert!(
        status.as_deref() == Some("16") || trailers.contains("grpc-status:16"),
        "{headers:?} {trailers}"
    );

    // Plain HTTP/1.1 REST on the same port still works next to grpc-web.
    let (status, _) = server.get_json(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(status, 200);
}

async fn health_and_reflection_answer(backend: Backend) {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };

    let server = TestServer::start(backend).await;
    let channel = tonic::transport::Channel::from_shared(server.url(""))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel.clone());
    for service in ["", "tessera.v1.AssetService"] {
        let response = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health")
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }

    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(futures_util::stream::iter(vec![request]))
        .await
        .expect("reflection")
        .into_inner();
    let response = responses.next().await.expect("one answer").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in ["tessera.v1.AssetService", "grpc.health.v1.Health"] {
        assert!(names.iter().any(|n| n == expected), "{names:?}");
    }
}
