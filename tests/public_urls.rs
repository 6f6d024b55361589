//! Public links point where clients reach tessera: without
//! `TESSERA_PUBLIC_BASE_URL` they are built from the request (never from
//! forwarded headers of an untrusted peer); with it, it wins. The test
//! servers listen on a random port, never the default one.

use futures_util::StreamExt;
use serde_json::Value;
use tessera::api::grpc::proto::{self, GetAssetRequest, WatchAssetRequest};

use crate::common::{Backend, TestServer, read_fixture};
use crate::on_both_databases;

on_both_databases!(
    public_urls_follow_the_request,
    a_configured_public_base_wins
);

async fn public_urls_follow_the_request(backend: Backend) {
    let server = TestServer::start(backend).await;
    assert_ne!(server.addr.port(), 5121);
    let photo = read_fixture("normal/rocket_falcon9.jpg");
    let (status, body) = server.upload("rocket.jpg", photo.clone(), &[]).await;
    assert_eq!(status, 202, "{body}");
    let asset = &body["data"];
    let id = asset["id"].as_str().unwrap().to_string();
    let expected = server.url(&format!(
        "/content/{}",
        asset["storageKey"].as_str().unwrap()
    ));
    assert_eq!(asset["publicUrl"], expected.as_str());

    // The link works as handed out, anonymously, once the asset is ready.
    let (_, settled) = server.wait_settled(&id).await;
    assert_eq!(settled["status"], "ready");
    let response = reqwest::get(&expected).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap() == photo);

    // A client that reached the server under another name gets links with it.
    let port = server.addr.port();
    let (_, named) = json(
        server
            .get(&format!("/api/v1/assets/{id}"))
            .header("host", format!("img.example.test:{port}")),
    )
    .await;
    assert_eq!(
        named["data"]["publicUrl"],
        format!(
            "http://img.example.test:{port}/content/{}",
            asset["storageKey"].as_str().unwrap()
        )
    );
    // Forwarded headers from a peer that is not a trusted proxy change nothing.
    let (_, forwarded) = json(
        server
            .get(&format!("/api/v1/assets/{id}"))
            .header("x-forwarded-host", "evil.example")
            .header("x-forwarded-proto", "https")
            .header("forwarded", "host=evil.example;proto=https"),
    )
    .await;
    assert_eq!(forwarded["data"]["publicUrl"], expected.as_str());

    // The anonymous gallery and gRPC agree.
    let (_, gallery) = server
        .get_json(&format!("/api/v1/public/assets/{id}"))
        .await;
    assert_eq!(gallery["data"]["publicUrl"], expected.as_str());
    let mut client = server.grpc().await;
    let fetched = client
        .get_asset(GetAssetRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner()
        .asset
        .unwrap();
    assert_eq!(fetched.public_url.as_deref(), Some(expected.as_str()));
    let thumbnail = &fetched.derivatives[0];
    let thumbnail_url = thumbnail.public_url.clone().unwrap();
    assert_eq!(
        thumbnail_url,
        server.url(&format!("/content/derivatives/{id}/thumbnail_256.webp"))
    );
    assert_eq!(reqwest::get(&thumbnail_url).await.unwrap().status(), 200);

    // Updates streamed after the call returned keep the caller's origin.
    let upload = server.upload_ok("normal/flower_canon_s40.jpg", &[]).await;
    let mut updates = client
        .watch_asset(WatchAssetRequest {
            id: upload["id"].as_str().unwrap().into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut last = None;
    while let Some(update) = updates.next().await {
        last = update.unwrap().asset;
    }
    let last = last.unwrap();
    assert_eq!(last.status(), proto::AssetStatus::Ready);
    assert!(
        last.derivatives[0]
            .public_url
            .as_deref()
            .is_some_and(|url| url.starts_with(&server.url("/content/"))),
        "{last:?}"
    );
}

async fn a_configured_public_base_wins(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.public_base_url = Some("https://cdn.example.test/".into());
    })
    .await;
    let asset = server
        .upload_ok("normal/rocket_falcon9.jpg", &[("runEnrichment", "false")])
        .await;
    let expected = format!(
        "https://cdn.example.test/content/{}",
        asset["storageKey"].as_str().unwrap()
    );
    assert_eq!(asset["publicUrl"], expected.as_str());
    let id = asset["id"].as_str().unwrap();
    let port = server.addr.port();
    let (_, named) = json(
        server
            .get(&format!("/api/v1/assets/{id}"))
            .header("host", format!("img.example.test:{port}")),
    )
    .await;
    assert_eq!(named["data"]["publicUrl"], expected.as_str());
    let fetched = server
        .grpc()
        .await
        .get_asset(GetAssetRequest { id: id.into() })
        .await
        .unwrap()
        .into_inner()
        .asset
        .unwrap();
    assert_eq!(fetched.public_url.as_deref(), Some(expected.as_str()));
}

async fn json(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}
