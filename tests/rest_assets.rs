//! The assets API through REST, as docs/api.md fixes it.

use serde_json::{Value, json};

use crate::common::{API_KEY, Backend, TestServer, read_fixture, sha256_hex};
use crate::on_both_databases;

on_both_databases!(
    upload_read_download_and_delete,
    list_filters_sort_and_page,
    patch_changes_only_present_fields,
    batch_delete_accepts_both_shapes,
    usage_stats_sum_by_content_type,
    generated_api_keys_work_and_are_stored_hashed,
);

async fn upload_read_download_and_delete(backend: Backend) {
    let server = TestServer::start(backend).await;
    let bytes = read_fixture("normal/rocket_falcon9.jpg");
    let mut form = reqwest::multipart::Form::new()
        .text("description", "A rocket launch")
        .text("isPublic", "false");
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(bytes.clone()).file_name("../../secret/rocket.jpg"),
    );
    let response = server
        .post("/api/v1/assets")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let asset: Value = response.json::<Value>().await.unwrap()["data"].clone();
    let id = asset["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/api/v1/assets/{id}"));
    assert_eq!(asset["status"], "pending");
    assert_eq!(asset["type"], "image");
    assert_eq!(asset["contentType"], "image/jpeg");
    assert_eq!(asset["extension"], "jpg");
    assert_eq!(asset["size"], bytes.len());
    assert_eq!(
        (asset["width"].as_u64(), asset["height"].as_u64()),
        (Some(640), Some(427))
    );
    assert_eq!(asset["checksumSha256"], sha256_hex(&bytes));
    assert_eq!(asset["originalFileName"], "rocket.jpg");
    assert_eq!(asset["storedFileName"], format!("{id}.jpg"));
    assert_eq!(asset["description"], "A rocket launch");
    assert_eq!(asset["altText"], Value::Null);
    assert_eq!(asset["isPublic"], false);
    assert_eq!(asset["publicUrl"], Value::Null);
    assert_eq!(asset["storageProvider"], "local");
    assert_eq!(asset["derivatives"], json!([]));
    assert_eq!(asset["structuredResults"], json!([]));
    assert_eq!(asset["latestExecutionSummary"], Value::Null);
    let key = asset["storageKey"].as_str().unwrap().to_string();
    assert!(
        key.starts_with("originals/") && key.ends_with(&format!("/{id}.jpg")),
        "{key}"
    );
    assert!(!key.contains("rocket") && !key.contains(".."));
    assert!(asset["createdAtUtc"].as_str().unwrap().ends_with('Z'));

    // Background processing: a thumbnail and an execution record; the AI
    // steps fail cleanly without a provider and the asset is still ready.
    let (_, processed) = server.wait_settled(&id).await;
    assert_eq!(processed["status"], "ready");
    for field in [
        "checksumSha256",
        "size",
        "width",
        "height",
        "storageKey",
        "description",
        "createdAtUtc",
    ] {
        assert_eq!(processed[field], asset[field], "{field}");
    }
    let thumbnail = &processed["derivatives"][0];
    assert_eq!(thumbnail["kind"], "thumbnail_256");
    assert_eq!(thumbnail["contentType"], "image/webp");
    assert_eq!(
        (thumbnail["width"].as_u64(), thumbnail["height"].as_u64()),
        (Some(256), Some(171))
    );
    assert_eq!(
        thumbnail["publicUrl"],
        Value::Null,
        "private asset, private derivative"
    );
    let execution = &processed["latestExecutionSummary"];
    assert_eq!(execution["skillName"], "basic_image_enrich");
    assert_eq!(execution["triggerSource"], "upload");
    // No AI provider on a default install: the AI steps had nothing to do.
    assert_eq!(execution["succeeded"], true);
    let steps: Vec<(&str, bool, Option<&str>, bool)> = execution["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stepName"].as_str().unwrap(),
                s["succeeded"].as_bool().unwrap(),
                s["errorMessage"].as_str(),
                s["skipped"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("generate_thumbnail", true, None, false),
            ("generate_caption", true, None, true),
            ("generate_alt_text", true, None, true),
        ]
    );
    let derivative_key = format!("derivatives/{id}/thumbnail_256.webp");
    let (status, fetched) = server.get_json(&location).await;
    assert_eq!(status, 200);
    assert_eq!(fetched["data"], processed);

    // Private: the bytes stream with their headers, and ranges work.
    let response = server
        .get(&format!("{location}/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(
        response.headers()["content-length"],
        bytes.len().to_string().as_str()
    );
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", sha256_hex(&bytes)));
    assert_eq!(response.bytes().await.unwrap().as_ref(), bytes.as_slice());

    let response = server
        .get(&format!("{location}/content"))
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 206);
    assert_eq!(
        response.headers()["content-range"],
        format!("bytes 100-199/{}", bytes.len()).as_str()
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), &bytes[100..200]);

    let response = server
        .get(&format!("{location}/content"))
        .header("range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 206);
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        &bytes[bytes.len() - 10..]
    );

    let response = server
        .get(&format!("{location}/content"))
        .header("range", format!("bytes={}-", bytes.len() + 5))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 416);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "range_not_satisfiable");

    let response = server
        .get(&format!("{location}/content"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304);

    // A private asset's key never answers anonymously.
    let anonymous = server
        .http
        .get(server.url(&format!("/content/{key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 404);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"]["code"], "content_not_found");

    // Made public: the content route redirects and the public URL serves bytes.
    let response = server
        .patch(&location)
        .json(&json!({ "isPublic": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let public_url = server.url(&format!("/content/{key}"));
    assert_eq!(
        response.json::<Value>().await.unwrap()["data"]["publicUrl"],
        public_url.as_str()
    );
    let response = server
        .get(&format!("{location}/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 307);
    assert_eq!(response.headers()["location"], public_url.as_str());
    let response = server.http.get(&public_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let response = server.http.head(&public_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-length"],
        bytes.len().to_string().as_str()
    );

    let (_, public) = server.get_json(&location).await;
    let thumbnail_url = server.url(&format!("/content/{derivative_key}"));
    assert_eq!(
        public["data"]["derivatives"][0]["publicUrl"],
        thumbnail_url.as_str()
    );
    let response = server.http.get(&thumbnail_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/webp");
    let thumbnail =
        image::load_from_memory(&response.bytes().await.unwrap()).expect("thumbnail decodes");
    assert_eq!((thumbnail.width(), thumbnail.height()), (256, 171));

    // Private again: the public URLs stop answering at once.
    let response = server
        .patch(&location)
        .json(&json!({ "isPublic": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        server.http.get(&public_url).send().await.unwrap().status(),
        404
    );
    assert_eq!(
        server
            .http
            .get(&thumbnail_url)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Delete with a commit message removes the row and the files.
    assert_eq!(
        server
            .stored_files()
            .iter()
            .filter(|p| p.ends_with(&key))
            .count(),
        1
    );
    assert_eq!(
        server
            .stored_files()
            .iter()
            .filter(|p| p.ends_with(&derivative_key))
            .count(),
        1
    );
    let response = server
        .delete(&location)
        .json(&json!({ "commitMessage": "remove rocket" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let deleted: Value = response.json().await.unwrap();
    assert_eq!(deleted["data"]["id"], id.as_str());
    assert_eq!(deleted["data"]["status"], "deleted");
    assert!(deleted["data"]["deletedAtUtc"].is_string());
    let (status, body) = server.get_json(&location).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("asset_not_found"))
    );
    assert!(
        body["error"]["traceId"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(body["error"]["status"], 404);
    assert!(
        server.stored_files().is_empty(),
        "{:?}",
        server.stored_files()
    );
    let response = server.delete(&location).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

async fn upload_set(server: &TestServer) -> Vec<Value> {
    let mut assets = Vec::new();
    for (file, description) in [
        ("normal/rocket_falcon9.jpg", "Rocket 100% launch"),
        ("normal/chelsea_cat.png", "A CAT named Chelsea"),
        ("normal/rotating_squares_animated.gif", "spinning squares"),
        ("normal/flower_lossy.webp", "a flower"),
        ("normal/coffee.png", "coffee_cup"),
    ] {
        let fields = [("description", description), ("runEnrichment", "false")];
        assets.push(server.upload_ok(file, &fields).await);
    }
    assets
}

fn ids(body: &Value) -> Vec<String> {
    body["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect()
}

async fn list_filters_sort_and_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    let assets = upload_set(&server).await;
    let id = |i: usize| assets[i]["id"].as_str().unwrap().to_string();

    let (status, body) = server.get_json("/api/v1/assets").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["total"], 5);
    assert_eq!(body["data"]["page"], 1);
    assert_eq!(body["data"]["pageSize"], 20);
    // Newest first by default.
    assert_eq!(ids(&body), (0..5).rev().map(id).collect::<Vec<_>>());
    let item = &body["data"]["items"][0];
    for field in [
        "id",
        "type",
        "status",
        "originalFileName",
        "contentType",
        "size",
        "width",
        "height",
        "storageProvider",
        "storageProviderProfileId",
        "publicUrl",
        "isPublic",
        "createdAtUtc",
        "updatedAtUtc",
    ] {
        assert!(item.get(field).is_some(), "list item lacks {field}: {item}");
    }

    let (_, body) = server
        .get_json("/api/v1/assets?contentType=image/png")
        .await;
    assert_eq!(ids(&body), vec![id(4), id(1)]);
    let (_, body) = server
        .get_json("/api/v1/assets?contentType=image/*&pageSize=2&page=2")
        .await;
    assert_eq!(body["data"]["total"], 5);
    assert_eq!(ids(&body), vec![id(2), id(1)]);
    let (_, body) = server.get_json("/api/v1/assets?query=cat").await;
    assert_eq!(ids(&body), vec![id(1)]);
    let (_, body) = server
        .get_json("/api/v1/assets?keyword=ROCKET_FALCON")
        .await;
    assert_eq!(ids(&body), vec![id(0)]);
    // LIKE wildcards in the query match literally.
    let (_, body) = server.get_json("/api/v1/assets?query=100%25").await;
    assert_eq!(ids(&body), vec![id(0)]);
    let (_, body) = server.get_json("/api/v1/assets?query=e_c").await;
    assert_eq!(ids(&body), vec![id(4)]);
    let (_, body) = server
        .get_json("/api/v1/assets?status=ready&contentType=image/gif")
        .await;
    assert_eq!(ids(&body), vec![id(2)]);
    let (_, body) = server.get_json("/api/v1/assets?status=pending").await;
    assert_eq!(body["data"]["total"], 0);
    // NekoHub's `deleted` (any case) is a status a client may ask for; deleted
    // assets are gone here, so it matches nothing.
    for status in ["deleted", "Deleted"] {
        let (code, body) = server
            .get_json(&format!(
                "/api/v1/assets?status={status}&sortBy=size&sortDirection=ASC"
            ))
            .await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(
            (
                body["data"]["total"].as_u64(),
                body["data"]["items"].as_array().map(Vec::len)
            ),
            (Some(0), Some(0))
        );
    }

    let mut by_size: Vec<(u64, String)> = assets
        .iter()
        .map(|a| {
            (
                a["size"].as_u64().unwrap(),
                a["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    by_size.sort();
    let (_, body) = server
        .get_json("/api/v1/assets?sortBy=size&sortDirection=asc")
        .await;
    assert_eq!(
        ids(&body),
        by_size.iter().map(|(_, id)| id.clone()).collect::<Vec<_>>()
    );
    let (_, body) = server
        .get_json("/api/v1/assets?orderBy=size&orderDirection=desc&pageSize=1")
        .await;
    assert_eq!(ids(&body), vec![by_size[4].1.clone()]);
    let (_, body) = server
        .get_json("/api/v1/assets?orderBy=createdAtUtc&orderDirection=asc&pageSize=1")
        .await;
    assert_eq!(ids(&body), vec![id(0)]);

    // NekoHub's casing rules: names and values match in any case, and
    // `createdAt` is `createdAtUtc`.
    for query in [
        "sortBy=createdAt&sortDirection=Asc",
        "SortBy=CreatedAtUtc&SortDirection=ASC",
        "orderBy=CREATEDATUTC&orderDirection=asc&status=READY",
    ] {
        let (code, body) = server
            .get_json(&format!("/api/v1/assets?{query}&pageSize=1"))
            .await;
        assert_eq!((code, ids(&body)), (200, vec![id(0)]), "{query}: {body}");
    }
    let (_, body) = server
        .get_json("/api/v1/assets?sortBy=SIZE&sortDirection=Desc&pageSize=1")
        .await;
    assert_eq!(ids(&body), vec![by_size[4].1.clone()]);

    let (_, body) = server.get_json("/api/v1/assets?pageSize=1000").await;
    assert_eq!(body["data"]["pageSize"], 100);

    for (query, code) in [
        ("page=0", "invalid_page"),
        ("page=abc", "invalid_page"),
        ("pageSize=0", "invalid_page_size"),
        ("pageSize=-3", "invalid_page_size"),
        ("status=done", "invalid_status"),
        ("orderBy=name", "invalid_order_by"),
        ("sortDirection=sideways", "invalid_order_direction"),
        ("contentType=png", "invalid_content_type"),
    ] {
        let (status, body) = server.get_json(&format!("/api/v1/assets?{query}")).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some(code)),
            "{query}: {body}"
        );
    }
}

async fn patch_changes_only_present_fields(backend: Backend) {
    let server = TestServer::start(backend).await;
    let asset = server
        .upload_ok(
            "normal/chelsea_cat.png",
            // No background processing: this test is about patches alone.
            &[
                ("description", "cat"),
                ("altText", "a cat"),
                ("runEnrichment", "false"),
            ],
        )
        .await;
    let path = format!("/api/v1/assets/{}", asset["id"].as_str().unwrap());

    let response = server
        .patch(&path)
        .json(&json!({ "altText": "a tabby cat" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let patched = response.json::<Value>().await.unwrap()["data"].clone();
    assert_eq!(patched["altText"], "a tabby cat");
    assert_eq!(patched["description"], "cat");
    assert_eq!(patched["originalFileName"], "chelsea_cat.png");
    assert_eq!(patched["isPublic"], true);
    assert!(patched["updatedAtUtc"].as_str() > asset["updatedAtUtc"].as_str());

    let response = server
        .patch(&path)
        .json(&json!({ "description": null, "originalFileName": "renamed.png", "isPublic": false }))
        .send()
        .await
        .unwrap();
    let patched = response.json::<Value>().await.unwrap()["data"].clone();
    assert_eq!(patched["description"], Value::Null);
    assert_eq!(patched["altText"], "a tabby cat");
    assert_eq!(patched["originalFileName"], "renamed.png");
    assert_eq!(patched["isPublic"], false);
    assert_eq!(patched["publicUrl"], Value::Null);
    let (_, fetched) = server.get_json(&path).await;
    assert_eq!(fetched["data"], patched);

    for (body, status, code) in [
        (
            json!({ "originalFileName": "  " }),
            400,
            "asset_original_file_name_invalid",
        ),
        (
            json!({ "description": "x".repeat(1001) }),
            400,
            "asset_description_too_long",
        ),
        (
            json!({ "altText": "x".repeat(1001) }),
            400,
            "asset_alt_text_too_long",
        ),
        (json!({ "colour": "blue" }), 400, "request_invalid"),
        (json!({ "isPublic": "yes" }), 400, "request_invalid"),
    ] {
        let response = server.patch(&path).json(&body).send().await.unwrap();
        assert_eq!(response.status(), status, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{body}");
    }
    let response = server
        .patch(&path)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // A refused patch changed nothing.
    let (_, after) = server.get_json(&path).await;
    assert_eq!(after["data"], patched);

    // `null` clears the name, as for the other text fields; the list agrees.
    let response = server
        .patch(&path)
        .json(&json!({ "originalFileName": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cleared = response.json::<Value>().await.unwrap()["data"].clone();
    assert_eq!(cleared["originalFileName"], Value::Null);
    assert_eq!(cleared["altText"], "a tabby cat");
    let (_, list) = server.get_json("/api/v1/assets").await;
    let item = list["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == cleared["id"])
        .unwrap()
        .clone();
    assert_eq!(item["originalFileName"], Value::Null);
    let response = server
        .patch(&path)
        .json(&json!({ "originalFileName": "back.png" }))
        .send()
        .await
        .unwrap();
    let renamed = response.json::<Value>().await.unwrap()["data"].clone();
    assert_eq!(renamed["originalFileName"], "back.png");

    let missing = format!("/api/v1/assets/{}", uuid::Uuid::now_v7());
    let response = server
        .patch(&missing)
        .json(&json!({ "altText": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

async fn batch_delete_accepts_both_shapes(backend: Backend) {
    let server = TestServer::start(backend).await;
    let assets = upload_set(&server).await;
    let id = |i: usize| assets[i]["id"].as_str().unwrap().to_string();
    let missing = uuid::Uuid::now_v7().to_string();

    let response = server
        .post("/api/v1/assets/batch-delete")
        .json(&json!([id(0), id(1), missing, "not-a-uuid", id(0)]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["requestedCount"], 4);
    assert_eq!(body["data"]["deletedCount"], 2);
    assert_eq!(body["data"]["notFoundIds"], json!([missing, "not-a-uuid"]));

    let response = server
        .post("/api/v1/assets/batch-delete")
        .json(&json!({ "ids": [id(2), id(0)] }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["deletedCount"], 1);
    assert_eq!(body["data"]["notFoundIds"], json!([id(0)]));

    let (_, list) = server.get_json("/api/v1/assets").await;
    assert_eq!(ids(&list), vec![id(4), id(3)]);
    assert_eq!(server.stored_files().len(), 2);

    let too_many: Vec<String> = (0..1001)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let response = server
        .post("/api/v1/assets/batch-delete")
        .json(&too_many)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "asset_batch_too_large"
    );
    let response = server
        .post("/api/v1/assets/batch-delete")
        .json(&json!({ "ids": "all" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "request_invalid"
    );
}

async fn usage_stats_sum_by_content_type(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, empty) = server.get_json("/api/v1/assets/usage-stats").await;
    assert_eq!(status, 200);
    assert_eq!(
        empty["data"],
        json!({ "totalAssets": 0, "totalBytes": 0, "totalDerivatives": 0, "contentTypeBreakdown": [], "mostActiveSkill": null })
    );
    let assets = upload_set(&server).await;
    let (_, stats) = server.get_json("/api/v1/assets/usage-stats").await;
    let stats = &stats["data"];
    let total: u64 = assets.iter().map(|a| a["size"].as_u64().unwrap()).sum();
    assert_eq!(stats["totalAssets"], 5);
    assert_eq!(stats["totalBytes"], total);
    assert_eq!(stats["totalDerivatives"], 0);
    assert_eq!(stats["mostActiveSkill"], Value::Null);
    let png = stats["contentTypeBreakdown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contentType"] == "image/png")
        .unwrap();
    let png_bytes = assets[1]["size"].as_u64().unwrap() + assets[4]["size"].as_u64().unwrap();
    assert_eq!(png["count"], 2);
    assert_eq!(png["totalBytes"], png_bytes);
    assert_eq!(stats["contentTypeBreakdown"][0]["contentType"], "image/png");
    assert_eq!(stats["contentTypeBreakdown"].as_array().unwrap().len(), 4);
}

/// A key made the way `tessera apikey create` makes it authenticates, and
/// only its hash is in the database.
async fn generated_api_keys_work_and_are_stored_hashed(backend: Backend) {
    let server = TestServer::start_with(backend, |config| config.api_keys.clear()).await;
    // The server has started (and skipped or created its quickstart key) once it answers.
    assert_eq!(
        server
            .http
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let db = tessera::db::Db::connect(&server.database_url)
        .await
        .unwrap();
    let config = tessera::Config {
        data_dir: server.data_dir.path().to_path_buf(),
        ..tessera::Config::default()
    };
    let created = tessera::service::auth_service(&config, db.clone())
        .unwrap()
        .create_api_key("ci", tessera::domain::Permissions::all())
        .await
        .unwrap();
    let key = created.key.expose().to_string();
    assert!(key.starts_with("tsk_"));

    let response = server
        .http
        .get(server.url("/api/v1/assets"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The static key of the other tests is not configured here.
    let response = server
        .http
        .get(server.url("/api/v1/assets"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let mut forged = key.clone();
    forged.pop();
    forged.push(if key.ends_with('A') { 'B' } else { 'A' });
    let response = server
        .http
        .get(server.url("/api/v1/assets"))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "api_key_invalid"
    );

    let stored: Vec<(String, String)> = sqlx::query_as("SELECT prefix, key_hash FROM api_keys")
        .fetch_all(&pool(&server.database_url).await)
        .await
        .unwrap();
    // The quickstart key and the one created here.
    assert_eq!(stored.len(), 2);
    for (prefix, hash) in stored {
        assert!(!hash.contains(&key) && !key.contains(&hash));
        assert_eq!(prefix.len(), 12);
    }
}

async fn pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.unwrap()
}
