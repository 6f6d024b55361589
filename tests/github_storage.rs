//! GitHub repository profiles end to end: uploads become commits in the
//! repository (a stand-in for the contents API), derivatives follow, reads go
//! through tessera with the token, deletes remove the files, and GitHub's
//! refusals reach clients as specific codes.

use serde_json::{Value, json};
use tonic::Code;

use crate::common::fake_github::{Failure, FakeGitHub};
use crate::common::{
    Backend, TestServer, grpc_download, grpc_upload, proto_struct, read_fixture, reason,
};
use crate::on_both_databases;

on_both_databases!(
    github_profile_through_rest,
    github_profile_through_grpc,
    github_default_profile_from_the_environment,
    profiles_made_on_one_instance_work_on_another
);

const PROFILES: &str = "/api/v1/system/storage/providers";
const OWNER: &str = "octo-org";
const REPO: &str = "image-host";
const TOKEN: &str = "ghp_e2eTokenValue0123456789";

async fn post(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let response = server.post(path).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn configuration(fake: &FakeGitHub, extra: Value) -> Value {
    let mut config = json!({
        "owner": OWNER, "repo": REPO, "ref": "images", "basePath": "/cdn/", "token": TOKEN,
        "apiBaseUrl": fake.api_base_url, "rawBaseUrl": "https://raw.example/"
    });
    for (key, value) in extra.as_object().unwrap() {
        config[key] = value.clone();
    }
    config
}

async fn asset_count(server: &TestServer) -> u64 {
    let (_, list) = server.get_json("/api/v1/assets").await;
    list["data"]["total"].as_u64().unwrap()
}

async fn stored_secrets(url: &str) -> String {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let rows: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT name, configuration_json, secret_ciphertext FROM storage_profiles")
            .fetch_all(&pool)
            .await
            .unwrap();
    format!("{rows:?}")
}

async fn github_profile_through_rest(backend: Backend) {
    let server = TestServer::start(backend).await;
    let fake = FakeGitHub::start(OWNER, REPO, TOKEN).await;

    for (extra, code) in [
        (json!({ "owner": null }), "github_owner_required"),
        (json!({ "owner": "bad owner" }), "github_owner_invalid"),
        (json!({ "token": "has space" }), "github_token_invalid"),
        (json!({ "ref": "../main" }), "github_repo_ref_invalid"),
        (
            json!({ "basePath": "a/../b" }),
            "github_path_prefix_invalid",
        ),
        (
            json!({ "apiBaseUrl": "ftp://x" }),
            "github_repo_api_base_url_invalid",
        ),
        (
            json!({ "visibilityPolicy": "everyone" }),
            "github_visibility_policy_invalid",
        ),
    ] {
        let mut config = configuration(&fake, extra.clone());
        if config["owner"].is_null() {
            config.as_object_mut().unwrap().remove("owner");
        }
        let (status, error) = post(
            &server,
            PROFILES,
            json!({ "name": "gallery", "providerType": "github-repo", "configuration": config }),
        )
        .await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (
                400,
                Some(format!("storage_provider_profile_{code}").as_str())
            ),
            "{extra}"
        );
    }
    let (_, overview) = server.get_json(PROFILES).await;
    assert_eq!(
        overview["data"]["profiles"].as_array().unwrap().len(),
        1,
        "refused profiles leave no row: {overview}"
    );

    let (status, created) = post(
        &server,
        PROFILES,
        json!({ "name": "gallery", "providerType": "github-repo", "configuration": configuration(&fake, json!({})) }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert!(
        !created.to_string().contains(TOKEN),
        "the token is never returned"
    );
    let profile = &created["data"];
    let profile_id = profile["id"].as_str().unwrap().to_string();
    let summary = &profile["configurationSummary"];
    assert_eq!(profile["providerType"], "github-repo");
    assert_eq!(summary["hasSecret"], true);
    assert_eq!(summary["visibilityPolicy"], "public-only");
    assert_eq!(summary["basePath"], "cdn");
    assert_eq!(summary["pathPrefix"], "cdn");
    assert_eq!(summary["reference"], "images");
    assert_eq!(summary["rawBaseUrl"], "https://raw.example");
    // NekoHub's catalog for the type, whatever the policy.
    assert_eq!(profile["capabilities"]["supportsPrivateRead"], true);
    assert_eq!(profile["capabilities"]["supportsVisibilityToggle"], false);
    assert_eq!(profile["capabilities"]["maxObjectBytes"], 104_857_600);
    assert!(
        !stored_secrets(&server.database_url).await.contains(TOKEN),
        "the token is encrypted at rest"
    );

    // The upload is a commit with the caller's message; the thumbnail follows.
    let photo = read_fixture("normal/rocket_falcon9.jpg");
    let (status, uploaded) = server
        .upload(
            "rocket.jpg",
            photo.clone(),
            &[
                ("storageProviderProfileId", &profile_id),
                ("commitMessage", "Add the Falcon 9 photo"),
            ],
        )
        .await;
    assert_eq!(status, 202, "{uploaded}");
    let asset = &uploaded["data"];
    let id = asset["id"].as_str().unwrap().to_string();
    let key = asset["storageKey"].as_str().unwrap().to_string();
    assert_eq!(asset["storageProvider"], "github-repo");
    assert_eq!(
        asset["publicUrl"],
        format!("https://raw.example/{OWNER}/{REPO}/images/cdn/{key}")
    );
    assert!(fake.file("images", &format!("cdn/{key}")).unwrap() == photo);
    let first = &fake.commits()[0];
    assert_eq!(
        (first.message.as_str(), first.branch.as_str()),
        ("Add the Falcon 9 photo", "images")
    );
    let (_, settled) = server.wait_settled(&id).await;
    assert_eq!(settled["status"], "ready", "{settled}");
    let thumbnail = format!("cdn/derivatives/{id}/thumbnail_256.webp");
    assert!(
        fake.file("images", &thumbnail).is_some(),
        "{:?}",
        fake.files("images")
    );
    assert!(
        fake.commits().iter().any(|c| c.path == thumbnail
            && c.message == format!("tessera: upload derivatives/{id}/thumbnail_256.webp")),
        "derivatives are committed with the template"
    );
    assert!(server.stored_files().is_empty(), "nothing on local disk");

    // A public asset's content redirects to the raw URL.
    let response = server
        .get(&format!("/api/v1/assets/{id}/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 307);
    assert_eq!(
        response.headers()["location"],
        asset["publicUrl"].as_str().unwrap()
    );

    // With private-token, private assets are read through the API with the
    // token; ranges are cut from the stream.
    let (status, private) = post(
        &server,
        PROFILES,
        json!({ "name": "private-gallery", "providerType": "github", "configuration": configuration(&fake, json!({ "visibilityPolicy": "private-token", "basePath": "" })) }),
    )
    .await;
    assert_eq!(status, 201, "{private}");
    assert_eq!(private["data"]["capabilities"]["supportsPrivateRead"], true);
    let private_id = private["data"]["id"].as_str().unwrap().to_string();
    let hidden = server
        .upload_ok(
            "normal/rocket_falcon9.jpg",
            &[
                ("storageProviderProfileId", &private_id),
                ("isPublic", "false"),
                ("runEnrichment", "false"),
            ],
        )
        .await;
    let hidden_id = hidden["id"].as_str().unwrap();
    let hidden_key = hidden["storageKey"].as_str().unwrap();
    assert!(hidden["publicUrl"].is_null());
    assert!(fake.file("images", hidden_key).is_some(), "no base path");
    server.assert_serves(hidden_id, &photo).await;
    let response = server
        .delete(&format!("/api/v1/assets/{hidden_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(fake.file("images", hidden_key).is_none());

    // A public asset in a private repository has no public URL (its raw URL
    // needs the token): tessera serves it.
    let shown = server
        .upload_ok(
            "normal/rocket_falcon9.jpg",
            &[
                ("storageProviderProfileId", &private_id),
                ("runEnrichment", "false"),
            ],
        )
        .await;
    assert_eq!(shown["isPublic"], true);
    assert!(shown["publicUrl"].is_null(), "{shown}");
    let shown_id = shown["id"].as_str().unwrap();
    server.assert_serves(shown_id, &photo).await;
    let response = server
        .delete(&format!("/api/v1/assets/{shown_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // The public-only policy refuses private assets, before anything is committed.
    let commits = fake.commits().len();
    let count = asset_count(&server).await;
    let (status, refused) = server
        .upload(
            "private.jpg",
            photo.clone(),
            &[
                ("storageProviderProfileId", &profile_id),
                ("isPublic", "false"),
            ],
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("storage_provider_profile_public_only")),
        "{refused}"
    );
    let response = server
        .patch(&format!("/api/v1/assets/{id}"))
        .json(&json!({ "isPublic": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "storage_provider_profile_public_only"
    );
    assert_eq!(fake.commits().len(), commits);
    assert_eq!(asset_count(&server).await, count);

    // GitHub's refusals: specific codes, no row, no file.
    let files = fake.files("images");
    for (failure, status, code) in [
        (Failure::Status(401), 502, "storage_auth_failed"),
        (Failure::Status(404), 502, "storage_target_not_found"),
        (Failure::RateLimited, 503, "storage_rate_limited"),
    ] {
        fake.fail_next(failure, 1);
        let fields = [
            ("storageProviderProfileId", profile_id.as_str()),
            ("runEnrichment", "false"),
        ];
        let response = server
            .upload_response("x.jpg", photo.clone(), &fields)
            .await;
        assert_eq!(response.status().as_u16(), status, "{failure:?}");
        let retry_after = response.headers().get("retry-after").cloned();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{body}");
        if code == "storage_rate_limited" {
            let seconds: u64 = retry_after.unwrap().to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&seconds));
        }
    }
    assert_eq!(fake.files("images"), files);
    assert_eq!(asset_count(&server).await, count);

    // As the default profile, uploads without a profile land in the repository.
    let (status, _) = post(
        &server,
        &format!("{PROFILES}/{profile_id}/default"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let second = server
        .upload_ok("normal/flower_canon_s40.jpg", &[("runEnrichment", "false")])
        .await;
    assert_eq!(second["storageProviderProfileId"], profile_id.as_str());
    let second_key = second["storageKey"].as_str().unwrap();
    assert!(fake.file("images", &format!("cdn/{second_key}")).is_some());

    // Delete with a commit message: every file of the asset leaves the repository.
    let response = server
        .delete(&format!("/api/v1/assets/{id}"))
        .json(&json!({ "commitMessage": "Remove the Falcon 9 photo" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let left = fake.files("images");
    assert_eq!(left, [format!("cdn/{second_key}")], "{left:?}");
    assert!(fake.commits().iter().any(|c| c.operation == "delete"
        && c.path == format!("cdn/{key}")
        && c.message == "Remove the Falcon 9 photo"));
}

async fn github_profile_through_grpc(backend: Backend) {
    use tessera::api::grpc::proto::{
        CreateStorageProfileRequest, DeleteAssetRequest, RunSkillRequest, UploadAssetMetadata,
    };

    let server = TestServer::start(backend).await;
    let fake = FakeGitHub::start(OWNER, REPO, TOKEN).await;
    let mut profiles = server.storage_profiles_grpc().await;
    let config = |extra: Value| proto_struct(&configuration(&fake, extra));
    let err = profiles
        .create_storage_profile(CreateStorageProfileRequest {
            name: "private-repo".into(),
            provider_type: "github-repo".into(),
            configuration: Some(config(json!({ "repo": "no/slash" }))),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (
            Code::InvalidArgument,
            "storage_provider_profile_github_repo_invalid"
        )
    );
    let profile = profiles
        .create_storage_profile(CreateStorageProfileRequest {
            name: "private-repo".into(),
            provider_type: "github-repo".into(),
            configuration: Some(config(json!({
                "visibilityPolicy": "private-token",
                "commitMessageTemplate": "assets: {operation} {fileName}"
            }))),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .profile
        .unwrap();
    assert!(!format!("{profile:?}").contains(TOKEN));

    let photo = read_fixture("normal/flower_canon_s40.jpg");
    let metadata = |commit_message: Option<&str>| UploadAssetMetadata {
        file_name: "flower.jpg".into(),
        storage_provider_profile_id: Some(profile.id.clone()),
        run_enrichment: Some(false),
        is_public: Some(false),
        commit_message: commit_message.map(str::to_string),
        ..Default::default()
    };
    let mut assets = server.grpc().await;

    // A private asset is allowed by the private-token policy.
    let asset = grpc_upload(&mut assets, metadata(Some("Add a flower")), &photo)
        .await
        .unwrap();
    assert_eq!(asset.storage_provider, "github-repo");
    assert!(
        asset.public_url.is_none(),
        "private assets have no public URL"
    );
    let path = format!("cdn/{}", asset.storage_key);
    assert!(fake.file("images", &path).unwrap() == photo);
    assert_eq!(fake.commits()[0].message, "Add a flower");

    let (_, bytes) = grpc_download(&mut assets, &asset.id).await;
    assert!(bytes == photo, "streamed back from the repository");

    // The thumbnail skill writes its derivative to the same repository.
    let outcome = assets
        .run_skill(RunSkillRequest {
            id: asset.id.clone(),
            skill_name: "thumbnail".into(),
            parameters: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(outcome.succeeded);
    let thumbnail = format!("cdn/derivatives/{}/thumbnail_256.webp", asset.id);
    assert!(fake.file("images", &thumbnail).is_some());
    assert!(
        fake.commits()
            .iter()
            .any(|c| c.path == thumbnail && c.message == "assets: upload thumbnail_256.webp")
    );

    // GitHub's refusal, as a gRPC status with the same reason as REST.
    fake.fail_next(Failure::Status(401), 1);
    let err = grpc_upload(&mut assets, metadata(None), &photo)
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "storage_auth_failed")
    );
    fake.fail_next(Failure::RateLimited, 1);
    let err = grpc_upload(&mut assets, metadata(None), &photo)
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::Unavailable, "storage_rate_limited")
    );

    assets
        .delete_asset(DeleteAssetRequest {
            id: asset.id.clone(),
            commit_message: Some("Remove the flower".into()),
        })
        .await
        .unwrap();
    assert!(
        fake.files("images").is_empty(),
        "{:?}",
        fake.files("images")
    );
    assert!(
        fake.commits()
            .iter()
            .any(|c| c.operation == "delete" && c.path == path && c.message == "Remove the flower")
    );
}

/// `TESSERA_STORAGE_PROVIDER=github-repo`: uploads without a profile become
/// commits; `/readyz` reports the repository when GitHub refuses the token.
async fn github_default_profile_from_the_environment(backend: Backend) {
    let fake = FakeGitHub::start(OWNER, REPO, TOKEN).await;
    let api = fake.api_base_url.clone();
    let env = move |name: &str| {
        Some(match name {
            "TESSERA_STORAGE_PROVIDER" => "github-repo".to_string(),
            "TESSERA_STORAGE_GITHUB_OWNER" => OWNER.into(),
            "TESSERA_STORAGE_GITHUB_REPO" => REPO.into(),
            "TESSERA_STORAGE_GITHUB_BRANCH" => "images".into(),
            "TESSERA_STORAGE_GITHUB_BASE_PATH" => "uploads".into(),
            "TESSERA_STORAGE_GITHUB_TOKEN" => TOKEN.into(),
            "TESSERA_STORAGE_GITHUB_API_BASE_URL" => api.clone(),
            _ => return None,
        })
    };
    let loaded = tessera::Config::load(None, env).expect("valid configuration");
    assert!(
        !format!("{loaded:?}").contains(TOKEN),
        "the token is redacted"
    );
    let server = TestServer::start_with(backend, move |config| {
        config.storage_default = loaded.storage_default
    })
    .await;
    let asset = server
        .upload_ok("normal/rocket_falcon9.jpg", &[("runEnrichment", "false")])
        .await;
    assert_eq!(asset["storageProvider"], "github-repo");
    let key = asset["storageKey"].as_str().unwrap();
    assert!(fake.file("images", &format!("uploads/{key}")).is_some());
    assert_eq!(
        asset["publicUrl"],
        format!("https://raw.githubusercontent.com/{OWNER}/{REPO}/images/uploads/{key}")
    );
    assert_eq!(server.default_storage_profile().await["name"], "github");
    let (_, profiles) = server.get_json(PROFILES).await;
    assert!(!profiles.to_string().contains(TOKEN));
    let (status, ready) = server.get_json("/readyz").await;
    assert_eq!(
        (status, ready["data"]["ready"].as_bool()),
        (200, Some(true)),
        "{ready}"
    );
    fake.fail_next(Failure::Status(401), 1);
    let (status, ready) = server.get_json("/readyz").await;
    assert_eq!(status, 503, "{ready}");
    // Anonymous readers learn what failed, never the backend's own words.
    assert_eq!(
        ready["data"]["storage"]["github"], "error: unauthorized",
        "{ready}"
    );
    assert!(!ready.to_string().contains("Bad credentials"), "{ready}");
}

/// Two instances on one database: a profile created (and made the default)
/// through one is used at once by the other, without a restart.
async fn profiles_made_on_one_instance_work_on_another(backend: Backend) {
    // Instances share the encryption key, as a deployment must.
    let key = || Some(tessera::config::Secret::new("7e".repeat(32)));
    let first = TestServer::start_with(backend, |config| config.encryption_key = key()).await;
    let second = TestServer::start_beside(&first, |config| config.encryption_key = key()).await;
    let fake = FakeGitHub::start(OWNER, REPO, TOKEN).await;
    let (status, created) = post(
        &first,
        PROFILES,
        json!({ "name": "shared", "providerType": "github-repo", "configuration": configuration(&fake, json!({})) }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let profile_id = created["data"]["id"].as_str().unwrap().to_string();

    let asset = second
        .upload_ok(
            "normal/rocket_falcon9.jpg",
            &[
                ("storageProviderProfileId", &profile_id),
                ("runEnrichment", "false"),
            ],
        )
        .await;
    assert_eq!(asset["storageProvider"], "github-repo");
    let key = asset["storageKey"].as_str().unwrap();
    assert!(fake.file("images", &format!("cdn/{key}")).is_some());

    // NekoHub's path for the same operation, on the other instance.
    let (status, made_default) = post(
        &first,
        &format!("{PROFILES}/{profile_id}/set-default"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{made_default}");
    assert_eq!(made_default["data"]["isDefault"], true);
    let asset = second
        .upload_ok("normal/flower_canon_s40.jpg", &[("runEnrichment", "false")])
        .await;
    assert_eq!(asset["storageProviderProfileId"], profile_id.as_str());
    assert!(
        asset["publicUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://raw.example/")
    );
    let (_, list) = second.get_json("/api/v1/assets").await;
    assert_eq!(list["data"]["total"], 2);
}
