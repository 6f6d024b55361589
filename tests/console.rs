//! The web console beside the API, and the derivative reads it is built on:
//! a private asset's preview through both doors.

use tessera::api::grpc::proto::GetAssetContentRequest;
use tonic::Code;

use crate::common::{Backend, TestServer, grpc_content, read_fixture, reason};
use crate::on_both_databases;

on_both_databases!(
    derivatives_stream_through_both_doors,
    the_console_is_served_beside_the_api,
);

async fn derivatives_stream_through_both_doors(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, body) = server
        .upload(
            "rocket.jpg",
            read_fixture("normal/rocket_falcon9.jpg"),
            &[("isPublic", "false")],
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["data"]["id"].as_str().expect("id").to_string();
    let (_, asset) = server.wait_settled(&id).await;
    assert_eq!(asset["status"], "ready", "{asset}");
    let thumbnail = asset["derivatives"]
        .as_array()
        .expect("derivatives")
        .iter()
        .find(|d| d["kind"] == "thumbnail_256")
        .expect("the upload made its thumbnail")
        .clone();
    let size = thumbnail["size"].as_u64().expect("size") as usize;

    // gRPC: by its kind, and as "thumbnail", the preview.
    let mut client = server.grpc().await;
    let ask = |kind: &str| GetAssetContentRequest {
        id: id.clone(),
        derivative_kind: Some(kind.into()),
    };
    let (info, bytes) = grpc_content(&mut client, ask("thumbnail_256"))
        .await
        .expect("the thumbnail by kind");
    assert_eq!(info.content_type, "image/webp");
    assert_eq!(bytes.len(), size);
    assert!(bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP");
    let (_, preview) = grpc_content(&mut client, ask("thumbnail"))
        .await
        .expect("the preview");
    assert!(
        preview == bytes,
        "\"thumbnail\" is the thumbnail_256 derivative"
    );
    let missing = grpc_content(&mut client, ask("poster_9000"))
        .await
        .expect_err("no such derivative");
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(reason(&missing), "content_not_found");
    let mut anonymous = server.grpc_with_key(None).await;
    let refused = grpc_content(&mut anonymous, ask("thumbnail"))
        .await
        .expect_err("private previews need a credential");
    assert_eq!(refused.code(), Code::Unauthenticated);

    // REST: the same bytes, the parameter's name in any case.
    for query in ["derivativeKind=thumbnail", "DERIVATIVEKIND=thumbnail_256"] {
        let response = server
            .get(&format!("/api/v1/assets/{id}/content?{query}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200, "{query}");
        assert_eq!(response.headers()["content-type"], "image/webp");
        assert!(response.bytes().await.expect("body") == bytes, "{query}");
    }
    let (status, body) = server
        .get_json(&format!(
            "/api/v1/assets/{id}/content?derivativeKind=poster_9000"
        ))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("content_not_found"))
    );
    let anonymous = reqwest::get(server.url(&format!(
        "/api/v1/assets/{id}/content?derivativeKind=thumbnail"
    )))
    .await
    .expect("GET");
    assert_eq!(anonymous.status(), 401);

    // Once public, REST hands out the derivative's own public link.
    let (status, _) = {
        let response = server
            .patch(&format!("/api/v1/assets/{id}"))
            .json(&serde_json::json!({"isPublic": true}))
            .send()
            .await
            .expect("PATCH");
        (response.status(), ())
    };
    assert_eq!(status, 200);
    let (_, public) = server.get_json(&format!("/api/v1/assets/{id}")).await;
    let link = public["data"]["derivatives"]
        .as_array()
        .expect("derivatives")
        .iter()
        .find(|d| d["kind"] == "thumbnail_256")
        .and_then(|d| d["publicUrl"].as_str())
        .expect("a public derivative has a link")
        .to_string();
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(server.url(&format!(
            "/api/v1/assets/{id}/content?derivativeKind=thumbnail"
        )))
        .bearer_auth(crate::common::API_KEY)
        .send()
        .await
        .expect("GET");
    assert_eq!(redirect.status(), 307);
    assert_eq!(redirect.headers()["location"], link.as_str());
}

async fn the_console_is_served_beside_the_api(backend: Backend) {
    let server = TestServer::start(backend).await;
    let browser = reqwest::Client::new();
    let page = |path: &str| {
        browser
            .get(server.url(path))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
    };

    let index = page("/").await.expect("GET /");
    assert_eq!(index.status(), 200);
    assert_eq!(index.headers()["content-type"], "text/html; charset=utf-8");
    let policy = index.headers()["content-security-policy"]
        .to_str()
        .expect("text")
        .to_string();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));
    let html = index.text().await.expect("body");
    assert!(html.contains(r#"src="/_console/app.js""#), "{html}");

    // Console pages opened directly are the console, for the app to route.
    for path in [
        "/gallery",
        "/assets/0b6f9f49-5d7e-4c1e-9d36-6f4fb1a1e0a1",
        "/a/b/c",
    ] {
        let response = page(path).await.expect("GET");
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.text().await.expect("body"), html, "{path}");
    }

    // The bundle, revalidated by its ETag.
    let script = browser
        .get(server.url("/_console/app.js"))
        .send()
        .await
        .expect("GET");
    assert_eq!(script.status(), 200);
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(script.headers()["cache-control"], "no-cache");
    let etag = script.headers()["etag"].clone();
    assert!(!script.bytes().await.expect("body").is_empty());
    let again = browser
        .get(server.url("/_console/app.js"))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("GET");
    assert_eq!(again.status(), 304);

    // Never over the API, the content route or a missing console file; and
    // a client that does not ask for a page gets the API's answer.
    for (path, code) in [
        ("/api/v1/nope", "route_not_found"),
        ("/content/nope", "content_not_found"),
        ("/_console/nope.js", "route_not_found"),
    ] {
        let response = page(path).await.expect("GET");
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], code, "{path}");
    }
    let (status, body) = server.get_json("/gallery").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("route_not_found"))
    );
    let post = browser
        .post(server.url("/gallery"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("POST");
    assert_eq!(post.status(), 404);

    // The API beside it is untouched.
    let (status, _) = server.get_json("/api/v1/assets").await;
    assert_eq!(status, 200);
}
