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
    let config = json!({ "endpoint": endpoint, "bucket": "tessera-bucket", "region": "us-east-1" });
    let secrets = json!({ "accessKey": ACCESS_KEY, "secretKey": SECRET_KEY });
    let with = |field: &str, value: Value| {
        let mut changed = config.clone();
        changed[field] = value;
        changed
    };

    // NekoHub's order: type, name, uniqueness, type known, configuration, fields.
    for (body, code) in [
        (
            json!({ "name": "s3main", "configuration": config }),
            "provider_type_required",
        ),
        (
            json!({ "providerType": "s3-compatible", "configuration": config }),
            "name_required",
        ),
        (
            json!({ "name": "x".repeat(101), "providerType": "s3-compatible", "configuration": config }),
            "name_invalid",
        ),
        (
            json!({ "name": "LOCAL", "providerType": "ftp" }),
            "name_conflict",
        ),
        (
            json!({ "name": "s3main", "providerType": "ftp", "configuration": config }),
            "provider_type_unsupported",
        ),
        (
            json!({ "name": "s3main", "providerType": "s3-compatible", "configuration": "endpoint" }),
            "configuration_required",
        ),
        (
            json!({ "name": "s3main", "providerType": "s3-compatible", "configuration": config, "secretConfiguration": "key" }),
            "secret_configuration_invalid",
        ),
        (
            json!({ "name": "s3main", "providerType": "s3-compatible", "configuration": with("endpoint", json!("not-a-url")), "secretConfiguration": secrets }),
            "endpoint_invalid",
        ),
        (
            json!({ "name": "s3main", "providerType": "s3-compatible", "configuration": with("bucket", json!(" ")), "secretConfiguration": secrets }),
            "bucket_required",
        ),
        (
            json!({ "name": "s3main", "providerType": "s3-compatible", "configuration": with("bucket", json!("Bad_Bucket")), "secretConfiguration": secrets }),
            "configuration_invalid",
        ),
        (
            json!({ "name": "s3main", "providerType": "s3-compatible", "configuration": with("region", Value::Null), "secretConfiguration": secrets }),
            "region_required",
        ),
        (
            json!({ "name": "s3main", "providerType": "s3-compatible", "configuration": with("publicBaseUrl", json!("cdn.example")), "secretConfiguration": secrets }),
            "public_base_url_invalid",
        ),
        (
            json!({ "name": "s3main", "providerType": "s3-compatible", "configuration": config }),
            "access_key_required",
        ),
        (
            json!({ "name": "s3main", "providerType": "s3", "configuration": config, "secretConfiguration": { "accessKey": ACCESS_KEY } }),
            "secret_key_required",
        ),
        (
            json!({ "name": "s3main", "providerType": "s3-compatible", "configuration": config, "secretConfiguration": secrets, "isDefault": true, "isEnabled": false }),
            "default_requires_enabled",
        ),
    ] {
        let (status, error) = post(&server, PROFILES, body.clone()).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (
                400,
                Some(format!("storage_provider_profile_{code}").as_str())
            ),
            "{body}"
        );
    }
    let (_, overview) = server.get_json(PROFILES).await;
    assert_eq!(
        overview["data"]["profiles"].as_array().unwrap().len(),
        1,
        "refused profiles leave no row: {overview}"
    );

    let (status, created) = post(&server, PROFILES, json!({ "name": "s3main", "displayName": "Main bucket", "providerType": "s3-compatible", "configuration": config, "secretConfiguration": secrets })).await;
    assert_eq!(status, 201, "{created}");
    assert!(
        !created.to_string().contains(SECRET_KEY) && !created.to_string().contains(ACCESS_KEY),
        "credentials are never returned"
    );
    let profile = &created["data"];
    let profile_id = profile["id"].as_str().unwrap().to_string();
    assert_eq!(profile["providerType"], "s3-compatible");
    assert_eq!(profile["isEnabled"], true);
    assert_eq!(profile["isDefault"], false);
    assert_eq!(profile["configurationSummary"]["hasSecret"], true);
    assert_eq!(
        profile["configurationSummary"]["bucketOrContainer"],
        "tessera-bucket"
    );
    assert_eq!(profile["capabilities"]["supportsDirectPublicUrl"], true);
    let (status, taken) = post(
        &server,
        PROFILES,
        json!({ "name": "S3Main", "providerType": "s3", "configuration": config, "secretConfiguration": secrets }),
    )
    .await;
    assert_eq!(
        (status, taken["error"]["code"].as_str()),
        (400, Some("storage_provider_profile_name_conflict"))
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

    // In use: DELETE disables it. Disabled: no uploads, but reads still work.
    let response = server
        .delete(&format!("{PROFILES}/{profile_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let deleted: Value = response.json().await.unwrap();
    assert_eq!(deleted["data"]["id"], profile_id.as_str());
    assert_eq!(deleted["data"]["wasDefault"], false);
    assert_eq!(deleted["data"]["status"], "disabled");
    assert!(
        deleted["data"]["deletedAtUtc"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let (status, refused) = server
        .upload(
            "again.jpg",
            photo.clone(),
            &[("storageProviderProfileId", &profile_id)],
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("storage_provider_profile_disabled"))
    );
    server.assert_serves(&id, &photo).await;

    // Deleting the asset removes its objects from the bucket; then the profile goes.
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
    let response = server
        .delete(&format!("{PROFILES}/{profile_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap()["data"]["status"],
        "deleted"
    );
    let response = server
        .delete(&format!("{PROFILES}/{profile_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let (_, overview) = server.get_json(PROFILES).await;
    let profiles = overview["data"]["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 1, "{overview}");
    assert_eq!(profiles[0]["name"], "local");
    assert_eq!(profiles[0]["isDefault"], true);
}

on_both_databases!(profiles_and_s3_uploads_through_grpc);

async fn profiles_and_s3_uploads_through_grpc(backend: Backend) {
    use tessera::api::grpc::proto::{
        CreateStorageProfileRequest, DeleteAssetRequest, DeleteStorageProfileRequest,
        ListStorageProfilesRequest, SetDefaultStorageProfileRequest, UpdateStorageProfileRequest,
        UploadAssetMetadata,
    };
    use tonic::Code;

    let server = TestServer::start(backend).await;
    let s3_root = tempfile::tempdir().unwrap();
    let endpoint = s3_server(s3_root.path(), ACCESS_KEY, SECRET_KEY).await;
    let mut profiles = server.storage_profiles_grpc().await;
    let config = proto_struct(
        &json!({ "endpoint": endpoint, "bucket": "tessera-bucket", "region": "us-east-1" }),
    );
    let create = |secrets: Value| CreateStorageProfileRequest {
        name: "grpc-s3".into(),
        provider_type: "s3-compatible".into(),
        configuration: Some(config.clone()),
        secret_configuration: Some(proto_struct(&secrets)),
        ..Default::default()
    };
    let err = profiles
        .create_storage_profile(create(json!({ "accessKey": ACCESS_KEY })))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), crate::common::reason(&err).as_str()),
        (
            Code::InvalidArgument,
            "storage_provider_profile_secret_key_required"
        )
    );
    let profile = profiles
        .create_storage_profile(create(
            json!({ "accessKey": ACCESS_KEY, "secretKey": SECRET_KEY }),
        ))
        .await
        .unwrap()
        .into_inner()
        .profile
        .unwrap();
    assert_eq!(profile.provider_type, "s3-compatible");
    let summary = format!("{:?}", profile.configuration_summary);
    assert!(!summary.contains(SECRET_KEY) && summary.contains("tessera-bucket"));
    let err = profiles
        .create_storage_profile(create(
            json!({ "accessKey": ACCESS_KEY, "secretKey": SECRET_KEY }),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), crate::common::reason(&err).as_str()),
        (
            Code::AlreadyExists,
            "storage_provider_profile_name_conflict"
        )
    );

    let photo = read_fixture("normal/flower_canon_s40.jpg");
    let metadata = UploadAssetMetadata {
        file_name: "flower.jpg".into(),
        storage_provider_profile_id: Some(profile.id.clone()),
        run_enrichment: Some(false),
        is_public: Some(false),
        ..Default::default()
    };
    let mut assets = server.grpc().await;
    let asset = grpc_upload(&mut assets, metadata.clone(), &photo)
        .await
        .unwrap();
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

    // The overview: the local default, the runtime it gives, the alignment.
    let overview = profiles
        .list_storage_profiles(ListStorageProfilesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(overview.profiles.len(), 2);
    assert_eq!(overview.profiles[0].name, "local");
    assert_eq!(
        overview.default_profile_id.as_deref(),
        Some(overview.profiles[0].id.as_str())
    );
    let runtime = overview.runtime.unwrap();
    assert_eq!(
        (
            runtime.provider_type.as_str(),
            runtime.is_configuration_driven
        ),
        ("local", false)
    );
    assert_eq!(
        overview.alignment.unwrap().code,
        "runtime_matches_db_default_provider_type"
    );

    // Set default; then a disabled default cannot be, and refuses uploads without a profile.
    let made_default = profiles
        .set_default_storage_profile(SetDefaultStorageProfileRequest {
            id: profile.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .profile
        .unwrap();
    assert!(made_default.is_default);
    let err = profiles
        .update_storage_profile(UpdateStorageProfileRequest {
            id: profile.id.clone(),
            is_enabled: Some(false),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        crate::common::reason(&err),
        "storage_provider_profile_default_requires_enabled"
    );
    let renamed = profiles
        .update_storage_profile(UpdateStorageProfileRequest {
            id: profile.id.clone(),
            name: Some("grpc-bucket".into()),
            display_name: Some("The bucket".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .profile
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.display_name.as_str()),
        ("grpc-bucket", "The bucket")
    );
    let (_, bytes) = grpc_download(&mut assets, &asset.id).await;
    assert!(bytes == photo, "the secret survives a rename");

    // In use: DELETE disables it and clears the default.
    let deleted = profiles
        .delete_storage_profile(DeleteStorageProfileRequest {
            id: profile.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            deleted.id.as_str(),
            deleted.was_default,
            deleted.status.as_str()
        ),
        (profile.id.as_str(), true, "disabled")
    );
    assert!(deleted.deleted_at_utc.is_some());
    let overview = profiles
        .list_storage_profiles(ListStorageProfilesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(overview.default_profile_id, None);
    assert!(overview.runtime.unwrap().is_configuration_driven);
    assert_eq!(
        overview.alignment.unwrap().code,
        "db_default_profile_missing"
    );
    let err = grpc_upload(&mut assets, metadata, &photo)
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), crate::common::reason(&err).as_str()),
        (
            Code::FailedPrecondition,
            "storage_provider_profile_disabled"
        )
    );
    let err = profiles
        .set_default_storage_profile(SetDefaultStorageProfileRequest {
            id: profile.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        crate::common::reason(&err),
        "storage_provider_profile_default_requires_enabled"
    );
    let (_, bytes) = grpc_download(&mut assets, &asset.id).await;
    assert!(bytes == photo, "a disabled profile's assets stay readable");

    // Unused: DELETE removes it.
    assets
        .delete_asset(DeleteAssetRequest {
            id: asset.id.clone(),
            commit_message: None,
        })
        .await
        .unwrap();
    let deleted = profiles
        .delete_storage_profile(DeleteStorageProfileRequest {
            id: profile.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (deleted.was_default, deleted.status.as_str()),
        (false, "deleted")
    );
    let err = profiles
        .delete_storage_profile(DeleteStorageProfileRequest { id: profile.id })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), crate::common::reason(&err).as_str()),
        (Code::NotFound, "storage_provider_profile_not_found")
    );
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
    // The legacy shape: credentials inside `configuration`.
    let config = json!({ "endpoint": format!("http://{closed}"), "bucket": "gone", "region": "us-east-1", "accessKeyId": ACCESS_KEY, "secretAccessKey": SECRET_KEY });
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
