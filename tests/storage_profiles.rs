//! Storage provider profiles: uploads, derivatives, reads and deletes go to
//! the chosen backend (a real S3-protocol server in process).

use serde_json::{Value, json};

use crate::common::{
    Backend, TestServer, grpc_download, grpc_upload, proto_struct, read_fixture, s3_server,
};
use crate::on_both_databases;

on_both_databases!(uploads_live_on_the_chosen_s3_profile);

const ACCESS_KEY: &str = "AKIAPROFILETEST";
const SECRET_KEY: &str = "profile-secret-value-123";
const PROFILES: &str = "/api/v1/system/storage/providers";

async fn post(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let response = server.post(path).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn uploads_live_on_the_chosen_s3_profile(backend: Backend) {
    let server = TestServer::start(backend).await;
    let s3_root = tempfile::tempdir().unwrap();
    let endpoint = s3_server(s3_root.path(), ACCESS_KEY, SECRET_KEY).await;
    let bucket_dir = s3_root.path().join("tessera-bucket");
    let config = json!({ "endpoint": endpoint, "bucket": "tessera-bucket", "accessKeyId": ACCESS_KEY, "secretAccessKey": SECRET_KEY });

    for (body, code) in [
        (
            json!({ "name": "Bad Name", "providerType": "s3", "configuration": config }),
            "storage_profile_name_invalid",
        ),
        (
            json!({ "name": "s3main", "providerType": "ftp", "configuration": config }),
            "storage_provider_type_invalid",
        ),
        (
            json!({ "name": "s3main", "providerType": "s3", "configuration": { "endpoint": endpoint, "bucket": "tessera-bucket", "accessKeyId": ACCESS_KEY } }),
            "storage_profile_configuration_invalid",
        ),
        (
            json!({ "name": "s3main", "providerType": "s3", "configuration": { "endpoint": "not-a-url", "bucket": "tessera-bucket", "accessKeyId": ACCESS_KEY, "secretAccessKey": "x" } }),
            "storage_profile_configuration_invalid",
        ),
        (
            json!({ "name": "s3main", "providerType": "s3", "configuration": { "endpoint": endpoint, "bucket": "Bad_Bucket", "accessKeyId": ACCESS_KEY, "secretAccessKey": "x" } }),
            "storage_profile_configuration_invalid",
        ),
    ] {
        let (status, error) = post(&server, PROFILES, body.clone()).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
    }
    let (status, created) = post(&server, PROFILES, json!({ "name": "s3main", "displayName": "Main bucket", "providerType": "s3-compatible", "configuration": config })).await;
    assert_eq!(status, 201, "{created}");
    assert!(
        !created.to_string().contains(SECRET_KEY),
        "the secret is never returned"
    );
    let profile = &created["data"];
    let profile_id = profile["id"].as_str().unwrap().to_string();
    assert_eq!(profile["providerType"], "s3");
    assert_eq!(profile["isEnabled"], true);
    assert_eq!(profile["isDefault"], false);
    assert_eq!(profile["configurationSummary"]["hasSecret"], true);
    assert_eq!(profile["configurationSummary"]["bucket"], "tessera-bucket");
    assert_eq!(profile["capabilities"]["multipartUpload"], true);
    let (status, taken) = post(
        &server,
        PROFILES,
        json!({ "name": "s3main", "providerType": "s3", "configuration": config }),
    )
    .await;
    assert_eq!(
        (status, taken["error"]["code"].as_str()),
        (409, Some("storage_profile_name_taken"))
    );

    // An upload naming the profile lands in the bucket, thumbnail included.
    let photo = read_fixture("normal/rocket_falcon9.jpg");
    let (status, uploaded) = server
        .upload(
            "rocket.jpg",
            photo.clone(),
            &[
                ("storageProviderProfileId", &profile_id),
                ("isPublic", "false"),
            ],
        )
        .await;
    assert_eq!(status, 202, "{uploaded}");
    assert_eq!(uploaded["data"]["storageProvider"], "s3");
    assert_eq!(
        uploaded["data"]["storageProviderProfileId"],
        profile_id.as_str()
    );
    let id = uploaded["data"]["id"].as_str().unwrap().to_string();
    let (_, asset) = server.wait_settled(&id).await;
    assert_eq!(asset["status"], "ready", "{asset}");
    let key = asset["storageKey"].as_str().unwrap().to_string();
    let thumbnail_key = format!("derivatives/{id}/thumbnail_256.webp");
    assert!(
        bucket_dir.join(&key).exists(),
        "the original is in the bucket"
    );
    assert!(
        bucket_dir.join(&thumbnail_key).exists(),
        "the derivative follows its asset"
    );
    assert!(server.stored_files().is_empty(), "nothing on local disk");

    // Private content streams through tessera, with ranges.
    server.assert_serves(&id, &photo).await;

    // In use: cannot be deleted. Disabled: no uploads, but reads still work.
    let response = server
        .delete(&format!("{PROFILES}/{profile_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "storage_profile_in_use"
    );
    let (status, _) = post(
        &server,
        &format!("{PROFILES}/{profile_id}/disable"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, refused) = server
        .upload(
            "again.jpg",
            photo.clone(),
            &[("storageProviderProfileId", &profile_id)],
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("storage_profile_disabled"))
    );
    let response = server
        .get(&format!("/api/v1/assets/{id}/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Deleting the asset removes its objects from the bucket; then the profile can go.
    assert_eq!(
        server
            .delete(&format!("/api/v1/assets/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(!bucket_dir.join(&key).exists() && !bucket_dir.join(&thumbnail_key).exists());
    assert_eq!(
        server
            .delete(&format!("{PROFILES}/{profile_id}"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let (_, list) = server.get_json(PROFILES).await;
    let profiles = list["data"].as_array().unwrap();
    assert_eq!(profiles.len(), 1);
    let local_id = profiles[0]["id"].as_str().unwrap();
    assert_eq!(profiles[0]["isDefault"], true);
    let response = server
        .delete(&format!("{PROFILES}/{local_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "storage_profile_is_default"
    );
}

on_both_databases!(profiles_and_s3_uploads_through_grpc);

async fn profiles_and_s3_uploads_through_grpc(backend: Backend) {
    use tessera::api::grpc::proto::{
        CreateStorageProfileRequest, DeleteStorageProfileRequest, ListStorageProfilesRequest,
        SetDefaultStorageProfileRequest, UpdateStorageProfileRequest, UploadAssetMetadata,
    };
    use tonic::Code;

    let server = TestServer::start(backend).await;
    let s3_root = tempfile::tempdir().unwrap();
    let endpoint = s3_server(s3_root.path(), ACCESS_KEY, SECRET_KEY).await;
    let mut profiles = server.storage_profiles_grpc().await;
    let config = |secret: bool| {
        let mut value =
            json!({ "endpoint": endpoint, "bucket": "tessera-bucket", "accessKeyId": ACCESS_KEY });
        if secret {
            value["secretAccessKey"] = json!(SECRET_KEY);
        }
        proto_struct(&value)
    };
    let err = profiles
        .create_storage_profile(CreateStorageProfileRequest {
            name: "grpc-s3".into(),
            provider_type: "s3".into(),
            configuration: Some(config(false)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), crate::common::reason(&err).as_str()),
        (
            Code::InvalidArgument,
            "storage_profile_configuration_invalid"
        )
    );
    let profile = profiles
        .create_storage_profile(CreateStorageProfileRequest {
            name: "grpc-s3".into(),
            provider_type: "s3".into(),
            configuration: Some(config(true)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .profile
        .unwrap();
    let summary = format!("{:?}", profile.configuration_summary);
    assert!(!summary.contains(SECRET_KEY) && summary.contains("tessera-bucket"));

    let photo = read_fixture("normal/flower_canon_s40.jpg");
    let metadata = UploadAssetMetadata {
        file_name: "flower.jpg".into(),
        storage_provider_profile_id: Some(profile.id.clone()),
        run_enrichment: Some(false),
        is_public: Some(false),
        ..Default::default()
    };
    let mut assets = server.grpc().await;
    let asset = grpc_upload(&mut assets, metadata, &photo).await.unwrap();
    assert_eq!(asset.storage_provider, "s3");
    assert!(
        s3_root
            .path()
            .join("tessera-bucket")
            .join(&asset.storage_key)
            .exists()
    );
    let (_, bytes) = grpc_download(&mut assets, &asset.id).await;
    assert!(bytes == photo, "streamed back from the bucket");

    let disabled = profiles
        .update_storage_profile(UpdateStorageProfileRequest {
            id: profile.id.clone(),
            is_enabled: Some(false),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .profile
        .unwrap();
    assert!(!disabled.is_enabled);
    let err = profiles
        .set_default_storage_profile(SetDefaultStorageProfileRequest {
            id: profile.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(crate::common::reason(&err), "storage_profile_disabled");
    let err = profiles
        .delete_storage_profile(DeleteStorageProfileRequest {
            id: profile.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), crate::common::reason(&err).as_str()),
        (Code::FailedPrecondition, "storage_profile_in_use")
    );
    let listed = profiles
        .list_storage_profiles(ListStorageProfilesRequest {})
        .await
        .unwrap()
        .into_inner()
        .profiles;
    assert_eq!(listed.len(), 2);
}

on_both_databases!(s3_default_profile_from_the_environment);

/// `TESSERA_STORAGE_PROVIDER=s3`: uploads without a profile go to the bucket.
async fn s3_default_profile_from_the_environment(backend: Backend) {
    let s3_root = tempfile::tempdir().unwrap();
    let endpoint = s3_server(s3_root.path(), ACCESS_KEY, SECRET_KEY).await;
    let env = move |name: &str| {
        Some(match name {
            "TESSERA_STORAGE_PROVIDER" => "s3".to_string(),
            "TESSERA_STORAGE_S3_ENDPOINT" => endpoint.clone(),
            "TESSERA_STORAGE_S3_BUCKET" => "tessera-bucket".into(),
            "TESSERA_STORAGE_S3_ACCESS_KEY_ID" => ACCESS_KEY.into(),
            "TESSERA_STORAGE_S3_SECRET_ACCESS_KEY" => SECRET_KEY.into(),
            _ => return None,
        })
    };
    let loaded = tessera::Config::load(None, env).expect("valid configuration");
    let server = TestServer::start_with(backend, move |config| {
        config.storage_default = loaded.storage_default
    })
    .await;
    let asset = server
        .upload_ok("normal/rocket_falcon9.jpg", &[("runEnrichment", "false")])
        .await;
    assert_eq!(asset["storageProvider"], "s3");
    assert!(
        s3_root
            .path()
            .join("tessera-bucket")
            .join(asset["storageKey"].as_str().unwrap())
            .exists()
    );
    assert_eq!(server.default_storage_profile().await["name"], "s3");
    let (_, profiles) = server.get_json(PROFILES).await;
    assert!(!profiles.to_string().contains(SECRET_KEY));
    let (status, ready) = server.get_json("/readyz").await;
    assert_eq!(
        (status, ready["data"]["ready"].as_bool()),
        (200, Some(true)),
        "{ready}"
    );
}

on_both_databases!(an_unreachable_bucket_fails_cleanly);

/// A backend outage is a 503 `storage_unavailable`, and leaves no row.
async fn an_unreachable_bucket_fails_cleanly(backend: Backend) {
    let server = TestServer::start(backend).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = json!({ "endpoint": format!("http://{closed}"), "bucket": "gone", "accessKeyId": ACCESS_KEY, "secretAccessKey": SECRET_KEY });
    let (status, created) = post(
        &server,
        PROFILES,
        json!({ "name": "down", "providerType": "s3", "configuration": config }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_string();
    let (status, body) = server
        .upload(
            "x.jpg",
            read_fixture("normal/flower_canon_s40.jpg"),
            &[("storageProviderProfileId", &id)],
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("storage_unavailable")),
        "{body}"
    );
    let (_, list) = server.get_json("/api/v1/assets").await;
    assert_eq!(list["data"]["total"], 0);
    let (status, ready) = server.get_json("/readyz").await;
    assert_eq!(
        (status, ready["data"]["ready"].as_bool()),
        (503, Some(false)),
        "readiness reports the outage"
    );
    assert!(
        ready["data"]["storage"]["down"]
            .as_str()
            .unwrap()
            .starts_with("error"),
        "reported by profile name: {ready}"
    );
    assert_eq!(ready["data"]["storage"]["local"], "ok", "{ready}");
    // A disabled profile is not checked.
    let (status, _) = post(&server, &format!("{PROFILES}/{id}/disable"), json!({})).await;
    assert_eq!(status, 200);
    let (status, ready) = server.get_json("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert!(ready["data"]["storage"].get("down").is_none());
}
