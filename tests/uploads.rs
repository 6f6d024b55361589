//! Resumable uploads: gRPC `UploadService` and tus at `/api/v1/uploads`,
//! one mechanism behind both. Offsets, resumes (also on another instance
//! and after a dropped connection), limits, sniffing, checksums, foreign
//! and cancelled uploads, and no staged bytes left behind.

use std::path::Path;

use futures_util::stream;
use serde_json::{Value, json};
use tessera::api::grpc::proto::{
    self, AppendUploadRequest, CancelUploadRequest, CompleteUploadRequest, CreateUploadRequest,
    GetUploadRequest, UploadAssetMetadata, upload_service_client::UploadServiceClient,
};
use tonic::{Code, service::interceptor::InterceptedService, transport::Channel};

use crate::common::{
    API_KEY, AuthInterceptor, Backend, TestServer, read_fixture, reason, sha256_hex,
};
use crate::on_both_databases;

on_both_databases!(
    resumable_uploads_through_grpc,
    refused_uploads_leave_nothing,
    tus_clients_upload_and_resume,
    an_upload_resumes_on_another_instance,
    an_s3_upload_resumes_on_an_instance_without_shared_disk,
    unfinished_uploads_expire
);

type Uploads = UploadServiceClient<InterceptedService<Channel, AuthInterceptor>>;

async fn uploads(server: &TestServer, key: &str) -> Uploads {
    let (channel, interceptor) = server.grpc_parts(Some(key)).await;
    UploadServiceClient::with_interceptor(channel, interceptor)
}

/// Files staged under the local store's `uploads/` folder.
fn staged_files(root: &Path) -> Vec<String> {
    files_under(&root.join("assets").join("uploads"))
}

/// Every file below `top`, at any depth; none when it does not exist.
fn files_under(top: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut folders = vec![top.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

fn metadata(file_name: &str) -> UploadAssetMetadata {
    UploadAssetMetadata {
        file_name: file_name.into(),
        description: Some("sent in pieces".into()),
        is_public: Some(false),
        run_enrichment: Some(false),
        ..Default::default()
    }
}

async fn create(client: &mut Uploads, size: u64, sha: Option<String>) -> proto::Upload {
    client
        .create_upload(CreateUploadRequest {
            metadata: Some(metadata("rocket.jpg")),
            size,
            expected_sha256: sha,
        })
        .await
        .expect("create")
        .into_inner()
        .upload
        .expect("upload")
}

async fn append(
    client: &mut Uploads,
    id: &str,
    offset: u64,
    data: &[u8],
) -> Result<proto::Upload, tonic::Status> {
    client
        .append_upload(AppendUploadRequest {
            upload_id: id.into(),
            offset,
            data: data.to_vec().into(),
        })
        .await
        .map(|r| r.into_inner().upload.expect("upload"))
}

/// Completes an upload that must complete; the asset it became.
async fn complete(client: &mut Uploads, id: &str) -> proto::Asset {
    client
        .complete_upload(CompleteUploadRequest {
            upload_id: id.into(),
        })
        .await
        .expect("complete")
        .into_inner()
        .asset
        .expect("asset")
}

async fn asset_count(server: &TestServer) -> u64 {
    let (_, list) = server.get_json("/api/v1/assets?pageSize=1").await;
    list["data"]["total"].as_u64().unwrap()
}

async fn resumable_uploads_through_grpc(backend: Backend) {
    let server = TestServer::start(backend).await;
    let file = read_fixture("normal/rocket_falcon9.jpg");
    let size = file.len() as u64;
    let mut client = uploads(&server, API_KEY).await;
    let upload = create(&mut client, size, Some(sha256_hex(&file).to_uppercase())).await;
    assert_eq!((upload.offset, upload.size), (0, size));
    assert_eq!(upload.state(), proto::UploadState::Open);
    let id = upload.id.clone();

    let first = append(&mut client, &id, 0, &file[..1000]).await.unwrap();
    assert_eq!(first.offset, 1000);
    // A wrong offset says where to resume.
    let wrong = append(&mut client, &id, 0, &file[..1000])
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::FailedPrecondition);
    assert_eq!(reason(&wrong), "upload_offset_mismatch");
    let info = tonic_types::StatusExt::get_details_error_info(&wrong).expect("ErrorInfo");
    assert_eq!(info.metadata["currentOffset"], "1000");
    let early = client
        .complete_upload(CompleteUploadRequest {
            upload_id: id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (early.code(), reason(&early)),
        (Code::FailedPrecondition, "upload_incomplete".into())
    );
    // A chunk of at most 4 MiB; past the declared size is refused.
    let too_big = append(&mut client, &id, 1000, &vec![0u8; 4 * 1024 * 1024 + 1])
        .await
        .unwrap_err();
    assert_eq!(reason(&too_big), "upload_chunk_too_large");
    let mut past = file[1000..].to_vec();
    past.push(0);
    let past = append(&mut client, &id, 1000, &past).await.unwrap_err();
    assert_eq!(
        (past.code(), reason(&past)),
        (Code::OutOfRange, "upload_size_exceeded".into())
    );

    // Resume: ask where it stands, then send the rest in pieces.
    let stands = client
        .get_upload(GetUploadRequest {
            upload_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .upload
        .unwrap();
    let mut offset = stands.offset;
    for piece in file[offset as usize..].chunks(64 * 1024) {
        offset = append(&mut client, &id, offset, piece)
            .await
            .unwrap()
            .offset;
    }
    assert_eq!(offset, size);
    let done = client
        .complete_upload(CompleteUploadRequest {
            upload_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let asset = done.asset.unwrap();
    assert_eq!(done.upload.unwrap().state(), proto::UploadState::Completed);
    assert_eq!(asset.checksum_sha256, sha256_hex(&file));
    assert_eq!(asset.original_file_name, "rocket.jpg");
    assert_eq!(asset.description.as_deref(), Some("sent in pieces"));
    assert_eq!(asset.status(), proto::AssetStatus::Ready);
    server.assert_serves(&asset.id, &file).await;
    // Asked again (the answer was lost), the same asset; appends are over.
    let again = client
        .complete_upload(CompleteUploadRequest {
            upload_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.asset.unwrap().id, asset.id);
    let late = append(&mut client, &id, size, b"x").await.unwrap_err();
    assert_eq!(reason(&late), "upload_already_completed");
    assert_eq!(asset_count(&server).await, 1);
    assert!(staged_files(server.data_dir.path()).is_empty());

    // Two appends at the same offset at once: one lands, the other is told
    // where the upload now stands; the bytes are never interleaved.
    let racing = create(&mut client, size, None).await;
    let (mut a, mut b) = (
        uploads(&server, API_KEY).await,
        uploads(&server, API_KEY).await,
    );
    let (first, second) = tokio::join!(
        append(&mut a, &racing.id, 0, &file[..20_000]),
        append(&mut b, &racing.id, 0, &file[..30_000]),
    );
    let landed: Vec<u64> = [&first, &second]
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|u| u.offset))
        .collect();
    assert_eq!(landed.len(), 1, "{first:?} {second:?}");
    let refused = [first, second].into_iter().find_map(Result::err).unwrap();
    assert_eq!(reason(&refused), "upload_offset_mismatch");
    let mut offset = landed[0];
    offset = append(&mut client, &racing.id, offset, &file[offset as usize..])
        .await
        .unwrap()
        .offset;
    assert_eq!(offset, size);
    let raced = complete(&mut client, &racing.id).await;
    assert_eq!(raced.checksum_sha256, sha256_hex(&file), "byte-identical");
}

async fn refused_uploads_leave_nothing(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.max_upload_bytes = 1_000_000;
    })
    .await;
    let mut client = uploads(&server, API_KEY).await;
    let file = read_fixture("normal/rocket_falcon9.jpg");
    let size = file.len() as u64;

    // Limits apply at creation.
    let huge = client
        .create_upload(CreateUploadRequest {
            metadata: Some(metadata("huge.jpg")),
            size: 1_000_001,
            expected_sha256: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        (huge.code(), reason(&huge)),
        (Code::ResourceExhausted, "asset_file_too_large".into())
    );
    for (size, sha, code) in [
        (0, None, "upload_size_invalid"),
        (10, Some("abc".to_string()), "upload_checksum_invalid"),
    ] {
        let refused = client
            .create_upload(CreateUploadRequest {
                metadata: Some(metadata("x.jpg")),
                size,
                expected_sha256: sha,
            })
            .await
            .unwrap_err();
        assert_eq!(reason(&refused), code);
    }

    // A type uploads may not have ends the upload at its first bytes.
    let text = vec![b'a'; 2000];
    let upload = create(&mut client, text.len() as u64, None).await;
    let sniffed = append(&mut client, &upload.id, 0, &text[..600])
        .await
        .unwrap_err();
    assert_eq!(reason(&sniffed), "asset_content_type_not_allowed");
    let gone = client
        .get_upload(GetUploadRequest {
            upload_id: upload.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (gone.code(), reason(&gone)),
        (Code::NotFound, "upload_not_found".into())
    );
    // Also when the first bytes come in pieces smaller than the sniffing length.
    let upload = create(&mut client, text.len() as u64, None).await;
    append(&mut client, &upload.id, 0, &text[..100])
        .await
        .unwrap();
    let sniffed = append(&mut client, &upload.id, 100, &text[100..700])
        .await
        .unwrap_err();
    assert_eq!(reason(&sniffed), "asset_content_type_not_allowed");

    // A checksum that does not match: no asset, the upload ends.
    let upload = create(&mut client, size, Some("0".repeat(64))).await;
    append(&mut client, &upload.id, 0, &file).await.unwrap();
    let mismatch = client
        .complete_upload(CompleteUploadRequest {
            upload_id: upload.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (mismatch.code(), reason(&mismatch)),
        (Code::DataLoss, "upload_checksum_mismatch".into())
    );
    assert_eq!(asset_count(&server).await, 0);

    // Another caller's upload does not exist for them; the owner can cancel.
    let response = server
        .post("/api/v1/apikeys")
        .json(&json!({"name": "other", "scopes": ["assets.create", "assets.read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let key: Value = response.json().await.unwrap();
    let mut stranger = uploads(&server, key["data"]["key"].as_str().unwrap()).await;
    let upload = create(&mut client, size, None).await;
    append(&mut client, &upload.id, 0, &file[..5000])
        .await
        .unwrap();
    let foreign = append(&mut stranger, &upload.id, 5000, &file[5000..6000])
        .await
        .unwrap_err();
    assert_eq!(reason(&foreign), "upload_not_found");
    let foreign = stranger
        .cancel_upload(CancelUploadRequest {
            upload_id: upload.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&foreign), "upload_not_found");
    assert!(!staged_files(server.data_dir.path()).is_empty());
    client
        .cancel_upload(CancelUploadRequest {
            upload_id: upload.id.clone(),
        })
        .await
        .unwrap();
    let cancelled = append(&mut client, &upload.id, 5000, &file[5000..6000])
        .await
        .unwrap_err();
    assert_eq!(reason(&cancelled), "upload_not_found");

    assert!(
        staged_files(server.data_dir.path()).is_empty(),
        "{:?}",
        staged_files(server.data_dir.path())
    );
    assert_eq!(asset_count(&server).await, 0);
    assert!(server.stored_files().is_empty(), "no original was kept");
}

/// A tus request with the version header and the test key.
fn tus(server: &TestServer, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    server
        .http
        .request(method, server.url(path))
        .bearer_auth(API_KEY)
        .header("Tus-Resumable", "1.0.0")
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn tus_metadata(pairs: &[(&str, &str)]) -> String {
    use base64::Engine;
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k} {}",
                base64::engine::general_purpose::STANDARD.encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

async fn tus_clients_upload_and_resume(backend: Backend) {
    use reqwest::Method;
    let server = TestServer::start(backend).await;
    let file = read_fixture("normal/rocket_falcon9.jpg");
    let size = file.len();

    let discovery = server
        .http
        .request(Method::OPTIONS, server.url("/api/v1/uploads"))
        .send()
        .await
        .unwrap();
    assert_eq!(discovery.status(), 204);
    assert_eq!(header(&discovery, "tus-version"), "1.0.0");
    assert!(header(&discovery, "tus-extension").contains("creation-with-upload"));
    assert_eq!(header(&discovery, "tus-max-size"), "26214400");

    let unversioned = server
        .http
        .post(server.url("/api/v1/uploads"))
        .bearer_auth(API_KEY)
        .header("Upload-Length", size.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(header(&unversioned, "tus-version"), "1.0.0");
    assert_eq!(
        error_code(unversioned).await,
        (412, "upload_tus_version_unsupported".into())
    );
    let anonymous = server
        .http
        .post(server.url("/api/v1/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", size.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(anonymous).await,
        (401, "auth_unauthorized".into())
    );
    let too_large = tus(&server, Method::POST, "/api/v1/uploads")
        .header("Upload-Length", "26214401")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(too_large).await,
        (413, "asset_file_too_large".into())
    );

    // Creation, then the file in two PATCHes with a broken one between.
    let created = tus(&server, Method::POST, "/api/v1/uploads")
        .header("Upload-Length", size.to_string())
        .header(
            "Upload-Metadata",
            tus_metadata(&[
                ("filename", "falcon.jpg"),
                ("isPublic", "false"),
                ("runEnrichment", "false"),
                ("altText", "A rocket on the pad"),
                ("filetype", "image/jpeg"),
            ]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert!(!header(&created, "upload-expires").is_empty());
    let location = header(&created, "location");
    assert!(location.starts_with("/api/v1/uploads/"), "{location}");
    let head = |server: &TestServer| {
        let location = location.clone();
        let request = tus(server, Method::HEAD, &location);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(header(&response, "cache-control"), "no-store");
            (
                header(&response, "upload-offset").parse::<usize>().unwrap(),
                header(&response, "upload-length").parse::<usize>().unwrap(),
            )
        }
    };
    assert_eq!(head(&server).await, (0, size));

    let wrong_type = tus(&server, Method::PATCH, &location)
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/octet-stream")
        .body(file[..100].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(wrong_type).await,
        (415, "upload_content_type_invalid".into())
    );
    let patch = |offset: usize, body: reqwest::Body| {
        tus(&server, Method::PATCH, &location)
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(body)
    };
    let half = size / 2;
    let first = patch(0, file[..half].to_vec().into()).send().await.unwrap();
    assert_eq!(first.status(), 204);
    assert_eq!(header(&first, "upload-offset"), half.to_string());
    assert_eq!(header(&first, "tus-resumable"), "1.0.0");
    let stale = patch(0, file[..10].to_vec().into()).send().await.unwrap();
    assert_eq!(
        error_code(stale).await,
        (409, "upload_offset_mismatch".into())
    );

    // The connection breaks in the middle of a PATCH: what arrived is kept.
    let sent = 20_000;
    let piece = bytes::Bytes::copy_from_slice(&file[half..half + sent]);
    let breaking = stream::unfold(0, move |step| {
        let piece = piece.clone();
        async move {
            match step {
                0 => Some((Ok(piece), 1)),
                1 => {
                    // The bytes are on the wire before the cable is pulled.
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                    Some((Err(std::io::Error::other("cable pulled")), 2))
                }
                _ => None,
            }
        }
    });
    let broken = patch(half, reqwest::Body::wrap_stream(breaking))
        .send()
        .await;
    assert!(broken.is_err(), "the client saw the break");
    let mut resumed = head(&server).await.0;
    for _ in 0..100 {
        if resumed > half {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        resumed = head(&server).await.0;
    }
    assert!(resumed > half && resumed <= half + sent, "{resumed}");

    let last = patch(resumed, file[resumed..].to_vec().into())
        .send()
        .await
        .unwrap();
    assert_eq!(last.status(), 204);
    assert_eq!(header(&last, "upload-offset"), size.to_string());
    let asset_id = header(&last, "tessera-asset-id");
    assert!(!asset_id.is_empty());
    let (status, view) = server.get_json(&location).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            &view["data"]["state"],
            &view["data"]["assetId"],
            &view["data"]["offset"]
        ),
        (&json!("completed"), &json!(asset_id), &json!(size))
    );
    let (_, asset) = server.get_json(&format!("/api/v1/assets/{asset_id}")).await;
    assert_eq!(asset["data"]["originalFileName"], "falcon.jpg");
    assert_eq!(asset["data"]["isPublic"], false);
    assert_eq!(asset["data"]["altText"], "A rocket on the pad");
    assert_eq!(asset["data"]["checksumSha256"], sha256_hex(&file));
    server.assert_serves(&asset_id, &file).await;

    // creation-with-upload: the whole file in the POST.
    let whole = tus(&server, Method::POST, "/api/v1/uploads")
        .header("Upload-Length", size.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), 201);
    assert_eq!(header(&whole, "upload-offset"), size.to_string());
    assert!(!header(&whole, "tessera-asset-id").is_empty());

    // Termination.
    let doomed = tus(&server, Method::POST, "/api/v1/uploads")
        .header("Upload-Length", size.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(file[..5000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(header(&doomed, "upload-offset"), "5000");
    let doomed = header(&doomed, "location");
    let ended = tus(&server, Method::DELETE, &doomed).send().await.unwrap();
    assert_eq!(ended.status(), 204);
    let gone = tus(&server, Method::HEAD, &doomed).send().await.unwrap();
    assert_eq!(gone.status(), 404);
    let (status, body) = server.get_json(&doomed).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("upload_not_found"))
    );
    assert!(staged_files(server.data_dir.path()).is_empty());
}

/// Two instances behind a load balancer: the upload continues where it
/// stopped, whichever instance takes the next request.
async fn an_upload_resumes_on_another_instance(backend: Backend) {
    let first = TestServer::start(backend).await;
    let second = TestServer::start_beside(&first, |_| {}).await;
    let file = read_fixture("normal/flower_canon_s40.jpg");
    let size = file.len() as u64;
    let mut on_first = uploads(&first, API_KEY).await;
    let mut on_second = uploads(&second, API_KEY).await;
    let upload = create(&mut on_first, size, Some(sha256_hex(&file))).await;
    let third = size as usize / 3;
    append(&mut on_first, &upload.id, 0, &file[..third])
        .await
        .unwrap();
    let stands = on_second
        .get_upload(GetUploadRequest {
            upload_id: upload.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .upload
        .unwrap();
    assert_eq!(stands.offset, third as u64);
    append(&mut on_second, &upload.id, third as u64, &file[third..])
        .await
        .unwrap();
    let asset = complete(&mut on_first, &upload.id).await;
    assert_eq!(asset.checksum_sha256, sha256_hex(&file));
    second.assert_serves(&asset.id, &file).await;
}

/// Scaled out on S3 with no disk in common: the chunks are staged in the
/// bucket, so an upload begun on one instance is continued on another, and
/// completing it leaves no staged object behind anywhere.
async fn an_s3_upload_resumes_on_an_instance_without_shared_disk(backend: Backend) {
    const ACCESS_KEY: &str = "AKIASTAGINGTEST";
    const SECRET_KEY: &str = "staging-secret-value-123";
    let key = || Some(tessera::config::Secret::new("5a".repeat(32)));
    let first = TestServer::start_with(backend, |config| config.encryption_key = key()).await;
    let own_disk = tempfile::tempdir().unwrap();
    let own_root = own_disk.path().to_path_buf();
    let second = TestServer::start_beside(&first, |config| {
        config.encryption_key = key();
        config.storage_local_root = Some(own_root);
    })
    .await;
    let s3_root = tempfile::tempdir().unwrap();
    let endpoint = crate::common::s3_server(s3_root.path(), ACCESS_KEY, SECRET_KEY).await;
    let response = first
        .post("/api/v1/system/storage/providers")
        .json(&json!({
            "name": "shared-s3",
            "providerType": "s3-compatible",
            "configuration": { "endpoint": endpoint, "bucket": "tessera-bucket", "region": "us-east-1" },
            "secretConfiguration": { "accessKey": ACCESS_KEY, "secretKey": SECRET_KEY },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let profile: Value = response.json().await.unwrap();
    let profile_id = profile["data"]["id"].as_str().unwrap().to_string();
    let staged_in_bucket = || files_under(&s3_root.path().join("tessera-bucket").join("uploads"));

    let file = read_fixture("normal/flower_canon_s40.jpg");
    let mut on_first = uploads(&first, API_KEY).await;
    let mut on_second = uploads(&second, API_KEY).await;
    let upload = on_first
        .create_upload(CreateUploadRequest {
            metadata: Some(UploadAssetMetadata {
                storage_provider_profile_id: Some(profile_id.clone()),
                ..metadata("flower.jpg")
            }),
            size: file.len() as u64,
            expected_sha256: Some(sha256_hex(&file)),
        })
        .await
        .unwrap()
        .into_inner()
        .upload
        .unwrap();
    let half = file.len() / 2;
    append(&mut on_first, &upload.id, 0, &file[..half])
        .await
        .unwrap();
    assert!(!staged_in_bucket().is_empty(), "the chunk is staged in S3");
    append(&mut on_second, &upload.id, half as u64, &file[half..])
        .await
        .unwrap();
    let asset = complete(&mut on_second, &upload.id).await;
    assert_eq!(asset.checksum_sha256, sha256_hex(&file));
    assert_eq!(asset.storage_provider_profile_id, profile_id);
    first.assert_serves(&asset.id, &file).await;
    assert_eq!(staged_in_bucket(), Vec::<String>::new());
    assert!(staged_files(first.data_dir.path()).is_empty());
    assert!(files_under(&own_disk.path().join("uploads")).is_empty());
}

/// An upload left unfinished is gone after its expiry, with its bytes.
async fn unfinished_uploads_expire(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.upload_expiry_seconds = 2;
    })
    .await;
    let file = read_fixture("normal/rocket_falcon9.jpg");
    let mut client = uploads(&server, API_KEY).await;
    let upload = create(&mut client, file.len() as u64, None).await;
    append(&mut client, &upload.id, 0, &file[..10_000])
        .await
        .unwrap();
    assert!(!staged_files(server.data_dir.path()).is_empty());
    let expires = upload.expires_at.unwrap();
    let created_to_expiry = expires.seconds - chrono::Utc::now().timestamp();
    assert!((0..=2).contains(&created_to_expiry), "{created_to_expiry}");

    let mut left = staged_files(server.data_dir.path());
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = staged_files(server.data_dir.path());
    }
    assert!(left.is_empty(), "swept: {left:?}");
    let gone = append(&mut client, &upload.id, 10_000, &file[10_000..20_000])
        .await
        .unwrap_err();
    assert_eq!(reason(&gone), "upload_not_found");
}
