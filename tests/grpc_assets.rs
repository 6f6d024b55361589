//! The same assets API through gRPC, with the same rules and codes as REST.

use bytes::Bytes;
use tessera::api::grpc::proto::{
    self, BatchDeleteAssetsRequest, DeleteAssetRequest, GetAssetRequest, GetUsageStatsRequest,
    ListAssetsRequest, UpdateAssetRequest, UploadAssetMetadata, UploadAssetRequest,
    upload_asset_request,
};
use tonic::Code;

use crate::common::{
    Backend, TestServer, grpc_download as download, grpc_upload as upload, read_fixture, reason,
    sha256_hex,
};
use crate::on_both_databases;

on_both_databases!(
    upload_read_update_download_delete,
    list_and_usage_match_rest,
    errors_carry_the_rest_code,
);

/// Metadata of an upload without background processing, so these tests see
/// exactly the files they upload.
fn metadata(file_name: &str) -> UploadAssetMetadata {
    UploadAssetMetadata {
        file_name: file_name.into(),
        content_type: "image/png".into(),
        run_enrichment: Some(false),
        ..Default::default()
    }
}

async fn upload_read_update_download_delete(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut client = server.grpc().await;
    let bytes = read_fixture("generated/large_4032x3024.jpg");
    let asset = upload(
        &mut client,
        UploadAssetMetadata {
            description: Some("Olympus sample".into()),
            alt_text: Some("a street".into()),
            is_public: Some(false),
            ..metadata("dir/olympus.jpg")
        },
        &bytes,
    )
    .await
    .expect("upload");
    assert_eq!(asset.status(), proto::AssetStatus::Ready);
    assert_eq!(asset.content_type, "image/jpeg");
    assert_eq!(asset.size, bytes.len() as i64);
    assert_eq!((asset.width, asset.height), (Some(4032), Some(3024)));
    assert_eq!(asset.checksum_sha256, sha256_hex(&bytes));
    assert_eq!(asset.original_file_name, "olympus.jpg");
    assert_eq!(asset.public_url, None);
    assert!(asset.storage_key.starts_with("originals/") && !asset.storage_key.contains("olympus"));

    // The REST view of the same asset agrees field by field.
    let (_, rest) = server
        .get_json(&format!("/api/v1/assets/{}", asset.id))
        .await;
    let rest = &rest["data"];
    assert_eq!(rest["checksumSha256"], asset.checksum_sha256.as_str());
    assert_eq!(rest["storageKey"], asset.storage_key.as_str());
    assert_eq!(rest["size"], asset.size);
    assert_eq!(rest["description"], "Olympus sample");
    assert_eq!(
        rest["storageProviderProfileId"],
        asset.storage_provider_profile_id.as_str()
    );

    let fetched = client
        .get_asset(GetAssetRequest {
            id: asset.id.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .asset
        .expect("asset");
    assert_eq!(fetched, asset);

    let (info, content) = download(&mut client, &asset.id).await;
    assert_eq!(info.content_type, "image/jpeg");
    assert_eq!(info.size, bytes.len() as i64);
    assert_eq!(info.checksum_sha256, asset.checksum_sha256);
    assert!(content == bytes, "downloaded bytes differ");

    // Absent fields stay; an empty string clears.
    let updated = client
        .update_asset(UpdateAssetRequest {
            id: asset.id.clone(),
            description: Some(String::new()),
            is_public: Some(true),
            ..Default::default()
        })
        .await
        .expect("update")
        .into_inner()
        .asset
        .expect("asset");
    assert_eq!(updated.description, None);
    assert_eq!(updated.alt_text.as_deref(), Some("a street"));
    assert_eq!(
        updated.public_url,
        Some(server.url(&format!("/content/{}", asset.storage_key)))
    );
    // Public assets still stream over gRPC (there is no redirect in gRPC).
    let (_, content) = download(&mut client, &asset.id).await;
    assert_eq!(content.len(), bytes.len());

    let err = client
        .update_asset(UpdateAssetRequest {
            id: asset.id.clone(),
            original_file_name: Some("  ".into()),
            ..Default::default()
        })
        .await
        .expect_err("blank name");
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::InvalidArgument, "asset_original_file_name_invalid")
    );
    // An empty string clears the name, as for the other text fields.
    let cleared = client
        .update_asset(UpdateAssetRequest {
            id: asset.id.clone(),
            original_file_name: Some(String::new()),
            ..Default::default()
        })
        .await
        .expect("clear the name")
        .into_inner()
        .asset
        .expect("asset");
    assert_eq!(cleared.original_file_name, "");
    let (_, rest) = server
        .get_json(&format!("/api/v1/assets/{}", asset.id))
        .await;
    assert_eq!(rest["data"]["originalFileName"], serde_json::Value::Null);

    let deleted = client
        .delete_asset(DeleteAssetRequest {
            id: asset.id.clone(),
            commit_message: Some("bye".into()),
        })
        .await
        .expect("delete")
        .into_inner();
    assert_eq!(deleted.id, asset.id);
    assert_eq!(deleted.status(), proto::AssetStatus::Ready);
    assert!(deleted.deleted_at_utc.is_some());
    let err = client
        .get_asset(GetAssetRequest {
            id: asset.id.clone(),
        })
        .await
        .expect_err("gone");
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::NotFound, "asset_not_found")
    );
    assert!(server.stored_files().is_empty());
}

async fn list_and_usage_match_rest(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut client = server.grpc().await;
    let mut ids = Vec::new();
    for file in [
        "normal/chelsea_cat.png",
        "normal/rocket_falcon9.jpg",
        "normal/coffee.png",
    ] {
        let name = file.rsplit('/').next().unwrap();
        let asset = upload(&mut client, metadata(name), &read_fixture(file))
            .await
            .expect("upload");
        ids.push(asset.id);
    }
    let list = client
        .list_assets(ListAssetsRequest {
            content_type: "image/png".into(),
            order_by: proto::AssetOrderBy::Size.into(),
            order_direction: proto::OrderDirection::Asc.into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(list.total, 2);
    assert_eq!((list.page, list.page_size), (1, 20));
    let listed: Vec<&str> = list.items.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(listed, vec![ids[0].as_str(), ids[2].as_str()]);

    let (_, rest) = server
        .get_json("/api/v1/assets?contentType=image/png&orderBy=size&orderDirection=asc")
        .await;
    let rest_ids: Vec<&str> = rest["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(rest_ids, listed);

    let list = client
        .list_assets(ListAssetsRequest {
            query: "ROCKET".into(),
            status: proto::AssetStatus::Ready.into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].id, ids[1]);

    let err = client
        .list_assets(ListAssetsRequest {
            page: -1,
            ..Default::default()
        })
        .await
        .expect_err("bad page");
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::InvalidArgument, "invalid_page")
    );
    let err = client
        .list_assets(ListAssetsRequest {
            content_type: "png".into(),
            ..Default::default()
        })
        .await
        .expect_err("bad type");
    assert_eq!(reason(&err), "invalid_content_type");

    let stats = client
        .get_usage_stats(GetUsageStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    let (_, rest) = server.get_json("/api/v1/assets/usage-stats").await;
    assert_eq!(stats.total_assets, 3);
    assert_eq!(rest["data"]["totalBytes"], stats.total_bytes);
    assert_eq!(stats.content_type_breakdown[0].content_type, "image/png");
    assert_eq!(stats.content_type_breakdown[0].count, 2);
    assert_eq!(stats.most_active_skill, None);

    let missing = uuid::Uuid::now_v7().to_string();
    let outcome = client
        .batch_delete_assets(BatchDeleteAssetsRequest {
            ids: vec![ids[0].clone(), missing.clone(), ids[1].clone()],
            commit_message: None,
        })
        .await
        .expect("batch")
        .into_inner();
    assert_eq!((outcome.requested_count, outcome.deleted_count), (3, 2));
    assert_eq!(outcome.not_found_ids, vec![missing]);
    assert_eq!(server.stored_files().len(), 1);
}

async fn errors_carry_the_rest_code(backend: Backend) {
    let server = TestServer::start_with(backend, |config| config.max_upload_bytes = 50_000).await;
    let mut client = server.grpc().await;

    let mut anonymous = server.grpc_with_key(None).await;
    let err = anonymous
        .get_usage_stats(GetUsageStatsRequest {})
        .await
        .expect_err("anonymous");
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::Unauthenticated, "auth_unauthorized")
    );
    // A method nobody serves: gRPC's UNIMPLEMENTED, with the code like any error.
    let (channel, _) = server.grpc_parts(None).await;
    let mut raw = tonic::client::Grpc::new(channel);
    raw.ready().await.expect("channel ready");
    let err = raw
        .unary::<GetUsageStatsRequest, proto::GetUsageStatsResponse, _>(
            tonic::Request::new(GetUsageStatsRequest {}),
            http::uri::PathAndQuery::from_static("/tessera.v1.NoSuchService/NoSuchMethod"),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .expect_err("unknown method");
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::Unimplemented, "rpc_not_found")
    );
    let mut wrong = server.grpc_with_key(Some("tsk_not_a_real_key")).await;
    let err = wrong
        .get_asset(GetAssetRequest { id: "x".into() })
        .await
        .expect_err("wrong key");
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::Unauthenticated, "api_key_invalid")
    );
    let err = anonymous
        .upload_asset(futures_util::stream::iter(vec![UploadAssetRequest {
            payload: Some(upload_asset_request::Payload::Metadata(metadata("a.png"))),
        }]))
        .await
        .expect_err("anonymous upload");
    assert_eq!(err.code(), Code::Unauthenticated);

    let err = client
        .get_asset(GetAssetRequest { id: "nope".into() })
        .await
        .expect_err("bad id");
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::InvalidArgument, "asset_id_invalid")
    );

    for (file, code, expected) in [
        (
            "edge/not_an_image.pdf",
            Code::InvalidArgument,
            "asset_content_type_not_allowed",
        ),
        (
            "edge/svg_with_script.svg",
            Code::InvalidArgument,
            "asset_content_type_not_allowed",
        ),
        (
            "generated/zero_bytes.jpg",
            Code::InvalidArgument,
            "asset_file_empty",
        ),
        (
            "normal/chelsea_cat.png",
            Code::ResourceExhausted,
            "asset_file_too_large",
        ),
    ] {
        let err = upload(&mut client, metadata("x.png"), &read_fixture(file))
            .await
            .expect_err(file);
        assert_eq!(
            (err.code(), reason(&err).as_str()),
            (code, expected),
            "{file}"
        );
    }
    let err = upload(
        &mut client,
        UploadAssetMetadata {
            description: Some("d".repeat(1001)),
            ..metadata("f.jpg")
        },
        &read_fixture("normal/flower_canon_s40.jpg"),
    )
    .await
    .expect_err("too long");
    assert_eq!(reason(&err), "asset_description_too_long");
    let err = upload(
        &mut client,
        UploadAssetMetadata {
            storage_provider_profile_id: Some("missing".into()),
            ..metadata("f.jpg")
        },
        &read_fixture("normal/flower_canon_s40.jpg"),
    )
    .await
    .expect_err("profile");
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::NotFound, "storage_provider_profile_not_found")
    );

    let chunk_first = vec![UploadAssetRequest {
        payload: Some(upload_asset_request::Payload::Chunk(Bytes::from_static(
            b"\x89PNG",
        ))),
    }];
    let err = client
        .upload_asset(futures_util::stream::iter(chunk_first))
        .await
        .expect_err("no metadata");
    assert_eq!(reason(&err), "request_invalid");
    let err = client
        .upload_asset(futures_util::stream::iter(Vec::<UploadAssetRequest>::new()))
        .await
        .expect_err("empty stream");
    assert_eq!(reason(&err), "asset_file_required");

    let (_, list) = server.get_json("/api/v1/assets").await;
    assert_eq!(list["data"]["total"], 0);
    assert!(
        server.stored_files().is_empty(),
        "{:?}",
        server.stored_files()
    );
}
