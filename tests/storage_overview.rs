//! NekoHub's storage contract: the overview with its runtime and alignment,
//! the four provider types with their summaries and capability flags,
//! secrets never shown, updates that keep a secret, set-default, and what
//! DELETE does to a default and to a profile assets use.

use serde_json::{Value, json};

use crate::common::{Backend, TestServer};
use crate::on_both_databases;

on_both_databases!(
    the_overview_follows_the_default,
    github_profiles_as_nekohub_shows_them,
    local_profiles_and_changes,
    creating_a_default_takes_the_set_default_permission
);

const PROFILES: &str = "/api/v1/system/storage/providers";
const ACCESS_KEY: &str = "AKIA_TEST";
const SECRET_KEY: &str = "super-secret";
const TOKEN: &str = "ghp_contractToken0123";

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn create(server: &TestServer, body: Value) -> Value {
    let (status, created) = send(server.post(PROFILES).json(&body)).await;
    assert_eq!(status, 201, "{created}");
    created["data"].clone()
}

async fn refused(server: &TestServer, body: Value) -> String {
    let (status, error) = send(server.post(PROFILES).json(&body)).await;
    assert_eq!(status, 400, "{body} -> {error}");
    error["error"]["code"].as_str().unwrap().to_string()
}

async fn overview(server: &TestServer) -> Value {
    let (status, overview) = server.get_json(PROFILES).await;
    assert_eq!(status, 200, "{overview}");
    overview["data"].clone()
}

fn s3_body(name: &str) -> Value {
    json!({
        "name": name, "displayName": "Backup bucket", "providerType": "s3-compatible",
        "configuration": {
            "endpoint": "http://minio.internal:9000", "bucket": "nekohub", "region": "us-east-1",
            "publicBaseUrl": "https://cdn.example.com/assets/", "forcePathStyle": true
        },
        "secretConfiguration": { "accessKey": ACCESS_KEY, "secretKey": SECRET_KEY }
    })
}

/// Where uploads without a profile go, as the overview tells: the database
/// default while there is one, else the configured local storage.
async fn the_overview_follows_the_default(backend: Backend) {
    let server = TestServer::start(backend).await;
    let s3 = create(&server, s3_body("s3-backup")).await;

    let view = overview(&server).await;
    let raw = view.to_string();
    for secret in [ACCESS_KEY, SECRET_KEY, "accessKey", "secretKey"] {
        assert!(!raw.contains(secret), "{secret} in {raw}");
    }
    let profiles = view["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 2);
    assert_eq!(profiles[0]["name"], "local", "the default first");
    assert_eq!(view["defaultProfile"]["name"], "local");
    assert_eq!(view["defaultWriteProfile"], view["defaultProfile"]);
    assert_eq!(
        view["runtime"],
        json!({
            "providerType": "local", "providerName": "local",
            "capabilities": profiles[0]["capabilities"],
            "isConfigurationDriven": false, "matchesDefaultProfileType": true
        })
    );
    assert_eq!(view["runtime"]["capabilities"]["requiresAccessProxy"], true);
    assert_eq!(
        view["alignment"],
        json!({
            "runtimeSelectionSource": "database-default-profile", "hasDefaultProfile": true,
            "isDefaultProfileEnabled": true, "providerTypeMatchesDefaultProfile": true,
            "code": "runtime_matches_db_default_provider_type",
            "message": "Runtime write target is resolved from the database default write profile."
        })
    );

    // The s3 summary: all eighteen keys, null where they do not apply.
    let summary = &s3["configurationSummary"];
    assert_eq!(summary.as_object().unwrap().len(), 19, "{summary}");
    assert_eq!(summary["providerName"], "s3");
    assert_eq!(summary["endpointHost"], "minio.internal:9000");
    assert_eq!(summary["bucketOrContainer"], "nekohub");
    assert_eq!(summary["region"], "us-east-1");
    assert_eq!(summary["publicBaseUrl"], "https://cdn.example.com/assets");
    assert_eq!(summary["forcePathStyle"], true);
    assert_eq!(summary["hasSecret"], true);
    assert!(summary["owner"].is_null() && summary["rootPath"].is_null());
    let capabilities = &s3["capabilities"];
    assert_eq!(capabilities["supportsDirectPublicUrl"], true);
    assert_eq!(capabilities["isPlatformBacked"], false);
    assert_eq!(capabilities["isExperimental"], false);
    assert_eq!(capabilities["requiresTokenForPrivateRead"], false);
    assert_eq!(view["profiles"][1], s3, "listed as created");

    // set-default moves the runtime to the bucket.
    let id = s3["id"].as_str().unwrap();
    let (status, made) = send(server.post(&format!("{PROFILES}/{id}/set-default"))).await;
    assert_eq!(
        (status, made["data"]["isDefault"].as_bool()),
        (200, Some(true))
    );
    let view = overview(&server).await;
    assert_eq!(view["defaultProfile"]["id"], id);
    assert_eq!(view["profiles"][0]["id"], id);
    assert_eq!(view["profiles"][1]["isDefault"], false);
    assert_eq!(view["runtime"]["providerType"], "s3-compatible");
    assert_eq!(view["runtime"]["providerName"], "s3");
    assert_eq!(view["runtime"]["isConfigurationDriven"], false);
    assert_eq!(view["runtime"]["matchesDefaultProfileType"], true);
    assert_eq!(
        view["alignment"]["code"],
        "runtime_matches_db_default_provider_type"
    );

    // The default cannot be disabled; a default disabled behind tessera's
    // back (another tool, a restored backup) refuses uploads without a profile.
    let (status, error) = send(
        server
            .patch(&format!("{PROFILES}/{id}"))
            .json(&json!({ "isEnabled": false })),
    )
    .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (
            400,
            Some("storage_provider_profile_default_requires_enabled")
        )
    );
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.database_url).await.unwrap();
    sqlx::query("UPDATE storage_profiles SET is_enabled = 0 WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let view = overview(&server).await;
    assert_eq!(view["defaultProfile"]["isEnabled"], false);
    assert_eq!(view["runtime"]["isConfigurationDriven"], false);
    assert_eq!(
        view["alignment"],
        json!({
            "runtimeSelectionSource": "database-default-profile", "hasDefaultProfile": true,
            "isDefaultProfileEnabled": false, "providerTypeMatchesDefaultProfile": true,
            "code": "db_default_profile_disabled",
            "message": "Database default write profile is disabled. Uploads without an explicit storage profile will be rejected until the default profile is enabled or replaced."
        })
    );
    let (status, error) = server
        .upload(
            "f.jpg",
            crate::common::read_fixture("normal/flower_canon_s40.jpg"),
            &[],
        )
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("storage_provider_default_write_profile_disabled"))
    );
    let (status, _) = send(server.post(&format!("{PROFILES}/{id}/enable"))).await;
    assert_eq!(status, 200);

    // Deleting the unused default: gone, and the runtime falls back to configuration.
    let (status, deleted) = send(server.delete(&format!("{PROFILES}/{id}"))).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["data"]["id"], id);
    assert_eq!(deleted["data"]["wasDefault"], true);
    assert_eq!(deleted["data"]["status"], "deleted");
    let view = overview(&server).await;
    assert_eq!(view["profiles"].as_array().unwrap().len(), 1);
    assert!(view["defaultProfile"].is_null() && view["defaultWriteProfile"].is_null());
    assert_eq!(
        view["runtime"],
        json!({
            "providerType": "local", "providerName": "local",
            "capabilities": view["profiles"][0]["capabilities"],
            "isConfigurationDriven": true, "matchesDefaultProfileType": null
        })
    );
    assert_eq!(
        view["alignment"],
        json!({
            "runtimeSelectionSource": "configuration", "hasDefaultProfile": false,
            "isDefaultProfileEnabled": null, "providerTypeMatchesDefaultProfile": null,
            "code": "db_default_profile_missing",
            "message": "No default write profile is set in database. Runtime provider is selected from configuration."
        })
    );
    let asset = server
        .upload_ok(
            "normal/flower_canon_s40.jpg",
            &[("runEnrichment", "false"), ("isPublic", "false")],
        )
        .await;
    let local_id = view["profiles"][0]["id"].as_str().unwrap();
    assert_eq!(asset["storageProviderProfileId"], local_id);

    // The local profile is this instance's own storage: DELETE disables it
    // (its assets stay readable) and uploads still go to the configured disk.
    let (status, deleted) = send(server.delete(&format!("{PROFILES}/{local_id}"))).await;
    assert_eq!(
        (status, deleted["data"]["status"].as_str()),
        (200, Some("disabled"))
    );
    let id = asset["id"].as_str().unwrap();
    server
        .assert_serves(
            id,
            &crate::common::read_fixture("normal/flower_canon_s40.jpg"),
        )
        .await;
    let view = overview(&server).await;
    assert_eq!(view["profiles"][0]["isEnabled"], false);
    assert_eq!(view["alignment"]["code"], "db_default_profile_missing");
}

/// github-repo and the read-only github-releases: validation codes, summary,
/// capabilities; tokens never shown; an update without a secret keeps it.
async fn github_profiles_as_nekohub_shows_them(backend: Backend) {
    let server = TestServer::start(backend).await;
    let releases = |extra: Value| {
        let mut configuration = json!({
            "owner": "nekohub", "repo": "assets", "releaseTagMode": "fixed", "fixedTag": "v1.0.0",
            "assetPathPrefix": "/images/public/", "visibilityPolicy": "public-first"
        });
        for (key, value) in extra.as_object().unwrap() {
            configuration[key] = value.clone();
        }
        json!({ "name": "releases", "providerType": "github-releases", "configuration": configuration,
                "secretConfiguration": { "token": TOKEN } })
    };
    for (extra, code) in [
        (json!({ "owner": "" }), "github_owner_required"),
        (json!({ "repo": "a/b" }), "github_repo_invalid"),
        (
            json!({ "releaseTagMode": "newest" }),
            "github_releases_release_tag_mode_invalid",
        ),
        (
            json!({ "fixedTag": null }),
            "github_releases_fixed_tag_required",
        ),
        (
            json!({ "assetPathPrefix": "a/../b" }),
            "github_path_prefix_invalid",
        ),
        (
            json!({ "visibilityPolicy": "private-token" }),
            "github_visibility_policy_invalid",
        ),
        (
            json!({ "allowDelete": true }),
            "github_releases_delete_not_supported",
        ),
    ] {
        assert_eq!(
            refused(&server, releases(extra.clone())).await,
            format!("storage_provider_profile_{code}"),
            "{extra}"
        );
    }
    let made = create(&server, releases(json!({}))).await;
    assert!(!made.to_string().contains(TOKEN));
    let summary = &made["configurationSummary"];
    assert_eq!(made["providerType"], "github-releases");
    assert_eq!(
        (&summary["owner"], &summary["repository"]),
        (&json!("nekohub"), &json!("assets"))
    );
    assert_eq!(summary["releaseTagMode"], "fixed");
    assert_eq!(summary["fixedTag"], "v1.0.0");
    assert_eq!(summary["pathPrefix"], "images/public");
    assert_eq!(summary["assetPathPrefix"], "images/public");
    assert_eq!(summary["visibilityPolicy"], "public-first");
    assert_eq!(summary["apiBaseUrl"], "https://api.github.com");
    assert_eq!(summary["rawBaseUrl"], "https://raw.githubusercontent.com");
    assert_eq!(
        made["capabilities"],
        json!({
            "supportsPublicRead": true, "supportsPrivateRead": false,
            "supportsVisibilityToggle": false, "supportsDelete": false,
            "supportsDirectPublicUrl": true, "requiresAccessProxy": false,
            "recommendedForPrimaryStorage": false, "isPlatformBacked": true,
            "isExperimental": true, "requiresTokenForPrivateRead": false
        })
    );
    // Read-only: uploads to it, or through it as the default, are refused.
    let releases_id = made["id"].as_str().unwrap();
    let photo = crate::common::read_fixture("normal/flower_canon_s40.jpg");
    let (status, error) = server
        .upload(
            "f.jpg",
            photo.clone(),
            &[("storageProviderProfileId", releases_id)],
        )
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("storage_provider_profile_write_not_supported"))
    );
    let (status, _) = send(server.post(&format!("{PROFILES}/{releases_id}/set-default"))).await;
    assert_eq!(status, 200);
    let (status, error) = server.upload("f.jpg", photo, &[]).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("storage_provider_profile_write_not_supported"))
    );
    let view = overview(&server).await;
    assert_eq!(view["runtime"]["providerType"], "github-releases");
    assert_eq!(view["runtime"]["providerName"], "github-releases");
    assert!(!view.to_string().contains(TOKEN));

    // github-repo: a private policy needs a token; the token is kept by updates.
    let repo = |policy: &str, secret: Option<&str>| {
        json!({
            "name": "repo", "providerType": "github-repo",
            "configuration": {
                "owner": "org", "repo": "assets-repo", "ref": "main", "basePath": "media/images",
                "visibilityPolicy": policy, "apiBaseUrl": "https://github.example.com/api/v3/",
                "rawBaseUrl": "https://raw.github.example.com"
            },
            "secretConfiguration": secret.map(|token| json!({ "token": token }))
        })
    };
    assert_eq!(
        refused(&server, repo("private-token", None)).await,
        "storage_provider_profile_github_repo_token_required_for_private"
    );
    assert_eq!(
        refused(&server, repo("public-only", Some("short"))).await,
        "storage_provider_profile_github_token_invalid"
    );
    let made = create(&server, repo("private-token", Some(TOKEN))).await;
    assert!(!made.to_string().contains(TOKEN) && !made.to_string().contains("\"token\""));
    let summary = &made["configurationSummary"];
    assert_eq!(summary["repository"], "assets-repo");
    assert_eq!(summary["reference"], "main");
    assert_eq!(summary["pathPrefix"], "media/images");
    assert_eq!(summary["basePath"], "media/images");
    assert_eq!(summary["visibilityPolicy"], "private-token");
    assert_eq!(summary["apiBaseUrl"], "https://github.example.com/api/v3");
    let capabilities = &made["capabilities"];
    for (flag, value) in [
        ("requiresAccessProxy", true),
        ("supportsPrivateRead", true),
        ("supportsDelete", true),
        ("recommendedForPrimaryStorage", false),
        ("isPlatformBacked", true),
        ("isExperimental", true),
        ("requiresTokenForPrivateRead", true),
    ] {
        assert_eq!(capabilities[flag], value, "{flag}");
    }
    let repo_id = made["id"].as_str().unwrap();
    let (status, updated) = send(server.patch(&format!("{PROFILES}/{repo_id}")).json(&json!({
        "displayName": "Repo updated",
        "configuration": {
            "owner": "org", "repo": "assets-repo", "ref": "release/v2", "basePath": "media/optimized",
            "visibilityPolicy": "private-token"
        }
    })))
    .await;
    assert_eq!(
        status, 200,
        "the stored token still satisfies private-token: {updated}"
    );
    let updated = &updated["data"];
    assert_eq!(updated["displayName"], "Repo updated");
    assert_eq!(updated["configurationSummary"]["reference"], "release/v2");
    assert_eq!(
        updated["configurationSummary"]["pathPrefix"],
        "media/optimized"
    );
    assert_eq!(
        updated["configurationSummary"]["apiBaseUrl"], "https://api.github.com",
        "the configuration is replaced whole"
    );
    assert_eq!(updated["configurationSummary"]["hasSecret"], true);
    // `secretConfiguration: null` clears the token, which private-token needs.
    let (status, error) = send(
        server
            .patch(&format!("{PROFILES}/{repo_id}"))
            .json(&json!({ "secretConfiguration": null })),
    )
    .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (
            400,
            Some("storage_provider_profile_github_repo_token_required_for_private")
        )
    );
    let (_, still) = server.get_json(&format!("{PROFILES}/{repo_id}")).await;
    assert_eq!(still["data"], *updated, "a refused change changes nothing");
}

/// Local profiles (NekoHub's `rootPath` rules) and the PATCH rules shared by all types.
async fn local_profiles_and_changes(backend: Backend) {
    let server = TestServer::start(backend).await;
    let local = |configuration: Value, secret: Value| {
        json!({ "name": "disk-two", "providerType": "local", "configuration": configuration,
                "secretConfiguration": secret })
    };
    for (body, code) in [
        (local(json!({}), Value::Null), "root_path_required"),
        (
            local(
                json!({ "rootPath": "second" }),
                json!({ "token": "abcdefgh" }),
            ),
            "secret_not_supported",
        ),
        (
            local(
                json!({ "rootPath": "second", "publicBaseUrl": "/content" }),
                Value::Null,
            ),
            "public_base_url_invalid",
        ),
        (
            json!({ "name": "disk-two", "providerType": "local" }),
            "configuration_required",
        ),
    ] {
        assert_eq!(
            refused(&server, body.clone()).await,
            format!("storage_provider_profile_{code}"),
            "{body}"
        );
    }
    let made = create(
        &server,
        json!({ "name": "disk-two", "providerType": "LOCAL", "isDefault": true,
                "configuration": { "rootPath": "second", "publicBaseUrl": "http://test-server/content" } }),
    )
    .await;
    assert_eq!(made["providerType"], "local");
    assert_eq!(made["isDefault"], true);
    assert_eq!(made["configurationSummary"]["rootPath"], "second");
    assert_eq!(
        made["configurationSummary"]["publicBaseUrl"],
        "http://test-server/content"
    );
    assert_eq!(made["configurationSummary"]["hasSecret"], false);
    assert_eq!(made["capabilities"]["requiresAccessProxy"], true);
    let id = made["id"].as_str().unwrap();
    let asset = server
        .upload_ok(
            "normal/flower_canon_s40.jpg",
            &[("runEnrichment", "false"), ("isPublic", "false")],
        )
        .await;
    assert_eq!(asset["storageProviderProfileId"], id, "the new default");
    let key = asset["storageKey"].as_str().unwrap();
    assert!(
        server.data_dir.path().join("second").join(key).exists(),
        "a relative root is under the data directory"
    );

    for (body, status, code) in [
        (
            json!({ "configuration": null }),
            400,
            "storage_provider_profile_configuration_required",
        ),
        (
            json!({ "name": "Local" }),
            400,
            "storage_provider_profile_name_conflict",
        ),
        (
            json!({ "name": " " }),
            400,
            "storage_provider_profile_name_required",
        ),
        (json!({ "providerType": "s3" }), 400, "request_invalid"),
    ] {
        let (got, error) = send(server.patch(&format!("{PROFILES}/{id}")).json(&body)).await;
        assert_eq!(
            (got, error["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    let (status, error) = send(
        server
            .patch(&format!("{PROFILES}/{}", uuid::Uuid::now_v7()))
            .json(&json!({ "displayName": "x" })),
    )
    .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (404, Some("storage_provider_profile_not_found"))
    );
    let (status, renamed) = send(
        server
            .patch(&format!("{PROFILES}/{id}"))
            .json(&json!({ "name": "Disk-Two", "displayName": null })),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["data"]["name"], "Disk-Two");
    assert_eq!(renamed["data"]["displayName"], "Disk-Two");

    // Bound to an asset: DELETE disables it and it stops being the default;
    // the asset stays readable and deletable.
    let (status, deleted) = send(server.delete(&format!("{PROFILES}/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&deleted["data"]["wasDefault"], &deleted["data"]["status"]),
        (&json!(true), &json!("disabled"))
    );
    let view = overview(&server).await;
    let profile = view["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap();
    assert_eq!(
        (&profile["isEnabled"], &profile["isDefault"]),
        (&json!(false), &json!(false))
    );
    assert!(view["defaultProfile"].is_null());
    let asset_id = asset["id"].as_str().unwrap();
    let (status, read) = server.get_json(&format!("/api/v1/assets/{asset_id}")).await;
    assert_eq!(
        (status, &read["data"]["storageProviderProfileId"]),
        (200, &json!(id))
    );
    server
        .assert_serves(
            asset_id,
            &crate::common::read_fixture("normal/flower_canon_s40.jpg"),
        )
        .await;
    let (status, _) = send(server.delete(&format!("/api/v1/assets/{asset_id}"))).await;
    assert_eq!(status, 200);
    assert!(!server.data_dir.path().join("second").join(key).exists());
}

/// `isDefault` on create moves every later upload, as `set-default` does: a
/// credential that may only create profiles cannot do it, and its refused
/// request leaves no profile behind.
async fn creating_a_default_takes_the_set_default_permission(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, key) = send(
        server
            .post("/api/v1/apikeys")
            .json(&json!({"name": "creator", "scopes": ["providers.create", "providers.read"]})),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let creator = key["data"]["key"].as_str().unwrap().to_string();
    let as_creator = |body: Value| {
        server
            .http
            .post(server.url(PROFILES))
            .bearer_auth(&creator)
            .json(&body)
    };
    let before = overview(&server).await;

    let body = json!({
        "name": "takeover", "providerType": "local", "isDefault": true,
        "configuration": {"rootPath": "takeover"}
    });
    let (status, error) = send(as_creator(body.clone())).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (403, Some("auth_forbidden")),
        "{error}"
    );
    assert_eq!(overview(&server).await, before, "nothing was written");

    let mut plain = body.clone();
    plain["isDefault"] = json!(false);
    let (status, created) = send(as_creator(plain)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["isDefault"], false);
    // The same request with the permission makes it the default.
    let mut other = body;
    other["name"] = json!("takeover-2");
    let made = create(&server, other).await;
    assert_eq!(made["isDefault"], true);
    assert_eq!(overview(&server).await["defaultProfile"]["id"], made["id"]);

    // A disabled profile cannot become the default, and the refusal moves nothing.
    let plain_id = created["data"]["id"].as_str().unwrap();
    let (status, _) = send(server.post(&format!("{PROFILES}/{plain_id}/disable"))).await;
    assert_eq!(status, 200);
    let (status, error) = send(server.post(&format!("{PROFILES}/{plain_id}/set-default"))).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (
            400,
            Some("storage_provider_profile_default_requires_enabled")
        ),
        "{error}"
    );
    assert_eq!(overview(&server).await["defaultProfile"]["id"], made["id"]);
}
