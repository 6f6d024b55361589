//! Bad input gets a clear 4xx with a stable code and leaves nothing behind.

use serde_json::Value;

use crate::common::{Backend, TestServer, read_fixture};
use crate::on_both_databases;

on_both_databases!(
    refused_uploads_leave_no_row_and_no_file,
    content_is_sniffed_not_trusted,
    hostile_files_never_crash_anything,
    credentials_ids_and_routes_fail_clearly,
    hostile_metadata_fails_a_skill_not_the_server,
    a_missing_original_is_not_found_not_an_outage,
);

async fn assert_nothing_stored(server: &TestServer) {
    let (_, list) = server.get_json("/api/v1/assets").await;
    assert_eq!(list["data"]["total"], 0, "{list}");
    assert!(
        server.stored_files().is_empty(),
        "{:?}",
        server.stored_files()
    );
}

async fn refused_uploads_leave_no_row_and_no_file(backend: Backend) {
    let server = TestServer::start_with(backend, |config| config.max_upload_bytes = 100_000).await;
    let big = read_fixture("normal/hubble_deep_field.jpg");
    let small = read_fixture("normal/flower_canon_s40.jpg");

    let (status, body) = server.upload("hubble.jpg", big, &[]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("asset_file_too_large")),
        "{body}"
    );
    assert_nothing_stored(&server).await;

    let (status, body) = server
        .upload("empty.jpg", read_fixture("generated/zero_bytes.jpg"), &[])
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("asset_file_empty"))
    );

    let long = "d".repeat(1001);
    // The text field after the file: the file was already stored and must go.
    // Without processing, so the only file is the original.
    let (status, body) = server
        .upload("flower.jpg", small.clone(), &[("runEnrichment", "false")])
        .await;
    assert_eq!(status, 202);
    let id = body["data"]["id"].as_str().unwrap().to_string();
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(small.clone()).file_name("f.jpg"),
        )
        .text("description", long.clone());
    let (status, body) = server.post_form(form).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("asset_description_too_long"))
    );
    let (status, body) = server
        .upload("f.jpg", small.clone(), &[("altText", &long)])
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("asset_alt_text_too_long"))
    );
    let missing_profile = uuid::Uuid::now_v7().to_string();
    let (status, body) = server
        .upload(
            "f.jpg",
            small.clone(),
            &[("storageProviderProfileId", &missing_profile)],
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("storage_provider_profile_not_found"))
    );
    let (status, body) = server
        .upload("f.jpg", small.clone(), &[("isPublic", "perhaps")])
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("request_invalid"))
    );

    let form = reqwest::multipart::Form::new().text("description", "no file");
    let (status, body) = server.post_form(form).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("asset_file_required"))
    );
    let response = server
        .post("/api/v1/assets")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // Two files in one upload: the first was already stored and must go.
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(small.clone()).file_name("one.jpg"),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(small.clone()).file_name("two.jpg"),
        );
    let (status, body) = server.post_form(form).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("request_invalid"))
    );

    let (_, list) = server.get_json("/api/v1/assets").await;
    assert_eq!(list["data"]["total"], 1);
    assert_eq!(list["data"]["items"][0]["id"], id.as_str());
    assert_eq!(
        server.stored_files().len(),
        1,
        "{:?}",
        server.stored_files()
    );
}

async fn content_is_sniffed_not_trusted(backend: Backend) {
    let server = TestServer::start(backend).await;
    for (file, detected) in [
        ("edge/not_an_image.pdf", "application/pdf"),
        ("edge/not_an_image.html", "text/html"),
        ("edge/svg_with_script.svg", "image/svg+xml"),
        ("generated/bitmap.bmp", "image/bmp"),
        ("normal/hopper.tif", "image/tiff"),
        ("generated/iphone.heic", "image/heic"),
    ] {
        // Named .png to prove the name is not trusted.
        let (status, body) = server.upload("innocent.png", read_fixture(file), &[]).await;
        assert_eq!(status, 415, "{file}: {body}");
        assert_eq!(body["error"]["code"], "asset_content_type_not_allowed");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(detected),
            "{body}"
        );
    }
    assert_nothing_stored(&server).await;

    let (status, body) = server
        .upload(
            "photo.png",
            read_fixture("edge/jpeg_content_named.png"),
            &[],
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(body["data"]["contentType"], "image/jpeg");
    assert_eq!(body["data"]["extension"], "jpg");
    assert!(
        body["data"]["storageKey"]
            .as_str()
            .unwrap()
            .ends_with(".jpg")
    );
    assert_eq!(body["data"]["originalFileName"], "photo.png");

    for (file, content_type, width, height) in [
        ("normal/logo_rgba_alpha.png", "image/png", 500, 500),
        ("normal/lossless.webp", "image/webp", 300, 300),
        ("normal/animated.webp", "image/webp", 245, 245),
        ("normal/rotating_squares_animated.gif", "image/gif", 80, 80),
        ("generated/large_4032x3024.jpg", "image/jpeg", 4032, 3024),
        ("exif/orientation_6.jpg", "image/jpeg", 1800, 1200),
        ("exif/orientation_5.jpg", "image/jpeg", 1800, 1200),
        ("exif/cmyk_adobe.jpg", "image/jpeg", 100, 100),
        ("generated/rgb_16bit.png", "image/png", 149, 227),
    ] {
        let asset = server.upload_ok(file, &[]).await;
        assert_eq!(asset["contentType"], content_type, "{file}");
        assert_eq!(
            (asset["width"].as_u64(), asset["height"].as_u64()),
            (Some(width), Some(height)),
            "{file}"
        );
    }
}

/// Broken and hostile images are stored as plain bytes or refused; the
/// server keeps answering and nothing is a 5xx.
async fn hostile_files_never_crash_anything(backend: Backend) {
    let server = TestServer::start(backend).await;
    for file in [
        "generated/bomb_65536x65536.png",
        "generated/huge_20000x14000.jpg",
        "generated/truncated.jpg",
        "generated/truncated.png",
        "generated/bad_crc_idat.png",
        "exif/gps_malformed_8x8.jpg",
    ] {
        let name = file.rsplit('/').next().unwrap();
        let (status, body) = server.upload(name, read_fixture(file), &[]).await;
        assert!(
            status == 202 || (400..500).contains(&status),
            "{file}: {status} {body}"
        );
        if status == 202 {
            let id = body["data"]["id"].as_str().unwrap();
            let response = server
                .get(&format!("/api/v1/assets/{id}/content"))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success() || response.status().is_redirection());
        }
    }
    let (_, bomb) = server.get_json("/api/v1/assets?query=bomb").await;
    let bomb = &bomb["data"]["items"][0];
    assert_eq!(
        (bomb["width"].as_u64(), bomb["height"].as_u64()),
        (Some(65536), Some(65536))
    );
    assert_eq!(
        server
            .http
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

async fn credentials_ids_and_routes_fail_clearly(backend: Backend) {
    let server = TestServer::start(backend).await;
    let expect = |status: u16, code: &'static str| {
        move |(s, body): (u16, Value)| {
            assert_eq!(
                (s, body["error"]["code"].as_str()),
                (status, Some(code)),
                "{body}"
            );
            assert_eq!(body["error"]["status"], status);
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
        }
    };
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    let url = server.url("/api/v1/assets");
    expect(401, "auth_unauthorized")(send(server.http.get(&url)).await);
    expect(401, "api_key_invalid")(
        send(
            server
                .http
                .get(&url)
                .bearer_auth("tsk_wrongwrongwrongwrongwrongwrongwrongwrong"),
        )
        .await,
    );
    expect(401, "api_key_invalid")(send(server.http.get(&url).bearer_auth("nonsense")).await);
    expect(401, "auth_unauthorized")(
        send(
            server
                .http
                .get(&url)
                .header("authorization", "Basic Zm9vOmJhcg=="),
        )
        .await,
    );
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(read_fixture("normal/flower_canon_s40.jpg"))
            .file_name("f.jpg"),
    );
    expect(401, "auth_unauthorized")(send(server.http.post(&url).multipart(form)).await);
    expect(401, "auth_unauthorized")(
        send(server.http.get(server.url("/api/v1/assets/usage-stats"))).await,
    );

    expect(400, "asset_id_invalid")(send(server.get("/api/v1/assets/not-a-uuid")).await);
    // Segments that are not UTF-8 get the envelope, not a plain-text answer.
    for path in [
        "/api/v1/assets/%FF%FE",
        "/api/v1/assets/%C3%28/content",
        "/api/v1/users/%FF",
        "/content/originals/%FF.jpg",
    ] {
        let response = server.get(path).send().await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "application/json",
            "{path}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "request_invalid", "{path}: {body}");
        assert!(body["error"]["traceId"].as_str().is_some(), "{body}");
    }
    expect(400, "asset_id_invalid")(send(server.get("/api/v1/assets/..%2F..%2Fetc/content")).await);
    let missing = uuid::Uuid::now_v7();
    expect(404, "asset_not_found")(send(server.get(&format!("/api/v1/assets/{missing}"))).await);
    expect(404, "asset_not_found")(
        send(server.get(&format!("/api/v1/assets/{missing}/content"))).await,
    );
    expect(404, "asset_not_found")(send(server.delete(&format!("/api/v1/assets/{missing}"))).await);
    expect(404, "route_not_found")(send(server.get("/api/v1/nothing-here")).await);
    expect(405, "method_not_allowed")(
        send(
            server
                .http
                .put(server.url("/api/v1/assets"))
                .bearer_auth(crate::common::API_KEY),
        )
        .await,
    );
    expect(404, "content_not_found")(
        send(
            server
                .http
                .get(server.url("/content/..%2F..%2Fetc%2Fpasswd")),
        )
        .await,
    );
    expect(404, "content_not_found")(
        send(
            server
                .http
                .get(server.url("/content/originals/2026/01/01/x.jpg")),
        )
        .await,
    );
    expect(400, "request_invalid")(
        send(
            server
                .delete(&format!("/api/v1/assets/{missing}"))
                .body("{oops"),
        )
        .await,
    );
}

/// A real WebP (300x300 lossless) in the extended format, followed by an
/// empty extended-header chunk: decoders ignore it, the hand-written metadata
/// strip once indexed past it and panicked.
fn webp_with_an_empty_trailing_vp8x() -> Vec<u8> {
    let simple = read_fixture("normal/lossless.webp");
    let mut chunks = b"VP8X".to_vec();
    chunks.extend_from_slice(&10u32.to_le_bytes());
    chunks.extend_from_slice(&[0, 0, 0, 0]);
    chunks.extend_from_slice(&299u32.to_le_bytes()[..3]);
    chunks.extend_from_slice(&299u32.to_le_bytes()[..3]);
    chunks.extend_from_slice(&simple[12..]);
    chunks.extend_from_slice(b"VP8X");
    chunks.extend_from_slice(&0u32.to_le_bytes());
    chunks.extend_from_slice(b"ZZZZ");
    chunks.extend_from_slice(&0u32.to_le_bytes());
    let mut bytes = b"RIFF".to_vec();
    bytes.extend_from_slice(&u32::try_from(chunks.len() + 4).unwrap().to_le_bytes());
    bytes.extend_from_slice(b"WEBP");
    bytes.extend_from_slice(&chunks);
    bytes
}

/// Hostile metadata fails the step with a clear message, never the server;
/// through REST and gRPC.
async fn hostile_metadata_fails_a_skill_not_the_server(backend: Backend) {
    let server = TestServer::start(backend).await;
    let bytes = webp_with_an_empty_trailing_vp8x();
    let (status, body) = server
        .upload("odd.webp", bytes, &[("runEnrichment", "false")])
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_string();
    let response = server
        .post(&format!("/api/v1/assets/{id}/skills/exif-strip/run"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let run: Value = response.json().await.unwrap();
    assert_eq!(run["data"]["succeeded"], false, "{run}");
    assert!(
        run["data"]["steps"][0]["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("WebP")),
        "{run}"
    );
    let run = server
        .grpc()
        .await
        .run_skill(tessera::api::grpc::proto::RunSkillRequest {
            id: id.clone(),
            skill_name: "exif-strip".into(),
            parameters: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!run.succeeded);
    let (status, _) = server.get_json(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(status, 200, "the server still answers");
}

/// A recorded original that vanished from storage is `404 content_not_found`
/// everywhere (a skill run too, which once answered 503 with the backend's
/// own words); REST and gRPC.
async fn a_missing_original_is_not_found_not_an_outage(backend: Backend) {
    let server = TestServer::start(backend).await;
    let asset = server
        .upload_ok(
            "normal/rocket_falcon9.jpg",
            &[("runEnrichment", "false"), ("isPublic", "false")],
        )
        .await;
    let id = asset["id"].as_str().unwrap().to_string();
    let key = asset["storageKey"].as_str().unwrap();
    std::fs::remove_file(server.data_dir.path().join("assets").join(key)).unwrap();
    let response = server
        .get(&format!("/api/v1/assets/{id}/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = server
        .post(&format!("/api/v1/assets/{id}/skills/thumbnail/run"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "content_not_found", "{body}");
    let err = server
        .grpc()
        .await
        .run_skill(tessera::api::grpc::proto::RunSkillRequest {
            id: id.clone(),
            skill_name: "thumbnail".into(),
            parameters: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), crate::common::reason(&err).as_str()),
        (tonic::Code::NotFound, "content_not_found")
    );
}
