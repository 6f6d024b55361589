//! Background processing: the status lifecycle, derivatives, execution
//! records, and the hostile corpus ending refused or `failed`.

use bytes::Bytes;
use serde_json::Value;
use tessera::api::grpc::proto::{
    self, UploadAssetMetadata, UploadAssetRequest, upload_asset_request,
};

use crate::common::{Backend, TestServer, fixtures::mean_difference, read_fixture};
use crate::on_both_databases;

on_both_databases!(
    uploads_move_pending_processing_ready,
    run_enrichment_false_is_ready_at_once,
    another_instance_processes_uploads,
    every_kind_of_image_gets_a_thumbnail,
    hostile_files_end_refused_or_failed,
    a_job_whose_worker_dies_on_every_attempt_fails_its_asset,
);

async fn grpc_upload(server: &TestServer, file: &str) -> proto::Asset {
    let bytes = read_fixture(file);
    let mut messages = vec![UploadAssetRequest {
        payload: Some(upload_asset_request::Payload::Metadata(
            UploadAssetMetadata {
                file_name: file.rsplit('/').next().unwrap().into(),
                ..Default::default()
            },
        )),
    }];
    messages.extend(bytes.chunks(64 * 1024).map(|chunk| UploadAssetRequest {
        payload: Some(upload_asset_request::Payload::Chunk(
            Bytes::copy_from_slice(chunk),
        )),
    }));
    let mut client = server.grpc().await;
    client
        .upload_asset(futures_util::stream::iter(messages))
        .await
        .expect("upload")
        .into_inner()
        .asset
        .expect("asset")
}

/// One worker and a queue of large photos ahead: the watched upload is still
/// `pending` when the watch starts, and every transition is reported.
async fn uploads_move_pending_processing_ready(backend: Backend) {
    let server = TestServer::start_with(backend, |config| config.workers = 1).await;
    for _ in 0..5 {
        server.upload_ok("generated/large_4032x3024.jpg", &[]).await;
    }
    let asset = grpc_upload(&server, "exif/orientation_6.jpg").await;
    assert_eq!(asset.status(), proto::AssetStatus::Pending);
    assert_eq!(
        (asset.width, asset.height),
        (Some(1800), Some(1200)),
        "display dimensions"
    );
    let (seen, processed) = server.wait_settled(&asset.id).await;
    assert_eq!(
        seen,
        vec![
            proto::AssetStatus::Pending,
            proto::AssetStatus::Processing,
            proto::AssetStatus::Ready
        ]
    );
    assert_eq!(processed["status"], "ready");
    let thumbnail = &processed["derivatives"][0];
    assert_eq!(
        (thumbnail["width"].as_u64(), thumbnail["height"].as_u64()),
        (Some(256), Some(171))
    );

    // No AI provider on this install: the AI steps had nothing to do and the
    // run succeeded (gRPC says so as REST does).
    let mut client = server.grpc().await;
    let fetched = client
        .get_asset(proto::GetAssetRequest {
            id: asset.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .asset
        .unwrap();
    let summary = fetched.latest_execution_summary.unwrap();
    assert!(summary.succeeded);
    let steps: Vec<(&str, bool, bool, Option<&str>)> = summary
        .steps
        .iter()
        .map(|s| {
            (
                s.step_name.as_str(),
                s.succeeded,
                s.skipped,
                s.error_message.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("generate_thumbnail", true, false, None),
            ("generate_caption", true, true, None),
            ("generate_alt_text", true, true, None),
        ]
    );
    // Asked for by name, a caption without a provider is a failure.
    let run = client
        .run_skill(proto::RunSkillRequest {
            id: asset.id.clone(),
            skill_name: "caption".into(),
            parameters: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!run.succeeded);
    assert!(!run.steps[0].skipped);
    assert_eq!(
        run.steps[0].error_message.as_deref(),
        Some("no active AI provider")
    );

    // The REST upload of the same kind ends the same way.
    let rest = server
        .upload_ok("exif/interlaced_adam7_rgba.png", &[])
        .await;
    assert_eq!(rest["status"], "pending");
    let (_, rest) = server.wait_settled(rest["id"].as_str().unwrap()).await;
    assert_eq!(rest["status"], "ready");
    assert_eq!(rest["derivatives"][0]["kind"], "thumbnail_256");
    assert_eq!(
        (
            rest["derivatives"][0]["width"].as_u64(),
            rest["derivatives"][0]["height"].as_u64()
        ),
        (Some(162), Some(150)),
        "never upscaled"
    );
    // Transparency survives in the thumbnail.
    let key = format!(
        "derivatives/{}/thumbnail_256.webp",
        rest["id"].as_str().unwrap()
    );
    let bytes = server
        .http
        .get(server.url(&format!("/content/{key}")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let thumbnail = image::load_from_memory(&bytes).expect("decodes");
    assert!(thumbnail.color().has_alpha());
    assert!(
        thumbnail.to_rgba8().get_pixel(0, 0).0[3] < 16,
        "the toucan's corner stays transparent"
    );

    let (_, stats) = server.get_json("/api/v1/assets/usage-stats").await;
    assert_eq!(stats["data"]["totalDerivatives"], 7);
    assert_eq!(
        stats["data"]["mostActiveSkill"]["skillName"],
        "basic_image_enrich"
    );
    assert_eq!(stats["data"]["mostActiveSkill"]["runCount"], 7);
}

async fn run_enrichment_false_is_ready_at_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let asset = server
        .upload_ok("normal/rocket_falcon9.jpg", &[("runEnrichment", "false")])
        .await;
    assert_eq!(asset["status"], "ready");
    let (seen, settled) = server.wait_settled(asset["id"].as_str().unwrap()).await;
    assert_eq!(seen, vec![proto::AssetStatus::Ready]);
    assert_eq!(settled["derivatives"], serde_json::json!([]));
    assert_eq!(settled["structuredResults"], serde_json::json!([]));
    assert_eq!(settled["latestExecutionSummary"], Value::Null);
    // And no job was queued for it.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.database_url).await.unwrap();
    let jobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(jobs, 0);
}

/// Every hostile file is refused at upload or ends `failed` with the reason
/// in the execution; the server keeps serving and nothing is retried forever.
async fn hostile_files_end_refused_or_failed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut failed = Vec::new();
    for (name, bytes) in crate::common::fixtures::hostile() {
        let (status, body) = server.upload(&name, bytes, &[]).await;
        if status != 202 {
            assert!((400..500).contains(&status), "{name}: {status} {body}");
            continue;
        }
        let (_, settled) = server
            .wait_settled(body["data"]["id"].as_str().unwrap())
            .await;
        if name == "jpeg_content_named.png" {
            assert_eq!(settled["status"], "ready", "a real JPEG under a .png name");
            continue;
        }
        assert_eq!(settled["status"], "failed", "{name}");
        let step = &settled["latestExecutionSummary"]["steps"][0];
        assert_eq!(step["succeeded"], false);
        assert!(
            step["errorMessage"]
                .as_str()
                .unwrap()
                .contains("cannot be processed"),
            "{name}: {step}"
        );
        failed.push(name);
    }
    failed.sort();
    assert_eq!(
        failed,
        [
            "bad_crc_idat.png",
            "bomb_65536x65536.png",
            "huge_20000x14000.jpg",
            "truncated.jpg",
            "truncated.png"
        ]
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

/// Instances share the queue: an upload taken by an instance without
/// workers stays `pending` (that instance only serves) until another one
/// processes it (woken by NOTIFY on PostgreSQL, by polling on SQLite).
async fn another_instance_processes_uploads(backend: Backend) {
    let front = TestServer::start_with(backend, |config| config.workers = 0).await;
    let asset = front.upload_ok("normal/flower_canon_s40.jpg", &[]).await;
    let id = asset["id"].as_str().unwrap();
    // A worker in this process would have been woken at once; give it ample time.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (_, waiting) = front.get_json(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(waiting["data"]["status"], "pending", "no worker took it");
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&front.database_url).await.unwrap();
    let (status, attempts): (String, i64) =
        sqlx::query_as("SELECT status, CAST(attempts AS BIGINT) FROM jobs WHERE asset_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("queued", 0));
    pool.close().await;

    let worker = TestServer::start_beside(&front, |config| config.workers = 1).await;
    let (_, settled) = worker.wait_settled(id).await;
    assert_eq!(settled["status"], "ready");
    assert_eq!(settled["derivatives"][0]["kind"], "thumbnail_256");
    let (_, seen_by_front) = front.get_json(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(seen_by_front["data"]["status"], "ready");
    let thumbnail = front
        .get(&format!(
            "/content/{}",
            settled["derivatives"][0]["publicUrl"]
                .as_str()
                .unwrap()
                .split("/content/")
                .nth(1)
                .unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(thumbnail.status(), 200);
}

/// CMYK, 16-bit, grayscale, progressive, interlaced, animated and lossless
/// inputs all end `ready` with a thumbnail of the right shape.
async fn every_kind_of_image_gets_a_thumbnail(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cases = [
        ("exif/cmyk_adobe.jpg", (100, 100)),
        ("generated/rgb_16bit.png", (149, 227)),
        ("exif/grayscale_camera.png", (256, 256)),
        ("exif/progressive.jpg", (256, 185)),
        ("exif/interlaced_adam7_rgba.png", (162, 150)),
        ("exif/icc_adobe_rgb_1998.jpg", (256, 137)),
        ("normal/rotating_squares_animated.gif", (80, 80)),
        ("normal/animated.webp", (245, 245)),
        ("normal/lossless.webp", (256, 256)),
        ("normal/hubble_deep_field.jpg", (256, 223)),
    ];
    let mut ids = Vec::new();
    for (file, _) in cases {
        ids.push(
            server.upload_ok(file, &[]).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    for ((file, expected), id) in cases.iter().zip(ids) {
        let (_, settled) = server.wait_settled(&id).await;
        assert_eq!(
            settled["status"], "ready",
            "{file}: {}",
            settled["latestExecutionSummary"]
        );
        let thumbnail = &settled["derivatives"][0];
        let key = format!("derivatives/{id}/thumbnail_256.webp");
        let bytes = server
            .http
            .get(server.url(&format!("/content/{key}")))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let decoded = image::load_from_memory(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!((decoded.width(), decoded.height()), *expected, "{file}");
        assert_eq!(
            (thumbnail["width"].as_u64(), thumbnail["height"].as_u64()),
            (Some(u64::from(expected.0)), Some(u64::from(expected.1))),
            "{file}"
        );
    }
}

/// A job that kills its worker every time: once its lease expires on the
/// last attempt, whichever instance notices fails the asset, records why,
/// and ends every watch (instead of `processing` forever).
async fn a_job_whose_worker_dies_on_every_attempt_fails_its_asset(backend: Backend) {
    use futures_util::StreamExt;
    let front = TestServer::start_with(backend, |config| config.workers = 0).await;
    let asset = front.upload_ok("normal/flower_canon_s40.jpg", &[]).await;
    let id = asset["id"].as_str().unwrap().to_string();
    // The state a worker leaves behind when its process dies on the last attempt.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&front.database_url).await.unwrap();
    let expired = tessera::domain::to_micros(tessera::domain::now()) - 1_000_000;
    sqlx::query(
        "UPDATE jobs SET status = 'running', attempts = max_attempts, lease_owner = 'worker-gone', \
         lease_expires_at = $1 WHERE asset_id = $2",
    )
    .bind(expired)
    .bind(&id)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE assets SET status = 'processing' WHERE id = $1")
        .bind(&id)
        .execute(&pool)
        .await
        .unwrap();
    let mut updates = front
        .grpc()
        .await
        .watch_asset(proto::WatchAssetRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner();

    // Another instance notices.
    let _other = TestServer::start_beside(&front, |config| {
        config.workers = 1;
        config.job_lease_seconds = 1;
    })
    .await;
    let mut seen = Vec::new();
    while let Some(update) =
        tokio::time::timeout(std::time::Duration::from_secs(30), updates.next())
            .await
            .expect("the watch ends")
    {
        seen.push(update.unwrap().asset.unwrap().status());
    }
    assert_eq!(seen.last(), Some(&proto::AssetStatus::Failed), "{seen:?}");
    let (_, failed) = front.get_json(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(failed["data"]["status"], "failed");
    let step = &failed["data"]["latestExecutionSummary"]["steps"][0];
    assert_eq!(step["succeeded"], false);
    assert!(
        step["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("gave up after 5 attempts")),
        "{step}"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM jobs WHERE asset_id = $1")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "failed");
}

/// The thumbnail's DCT-scaled decode (libjpeg-turbo) shows the same picture,
/// the same way up, as the general decoder's full-size one.
#[test]
fn a_scaled_decode_looks_like_the_full_decode_made_small() {
    use tessera::imaging::{decode, decode_for_size, fit_within};

    for name in [
        "normal/hubble_deep_field.jpg",
        "exif/progressive.jpg",
        "exif/orientation_6.jpg",
    ] {
        let bytes = read_fixture(name);
        let scaled = decode_for_size(&bytes, 64, 100_000_000).expect("scaled decode");
        let full = decode(&bytes, 100_000_000).expect("full decode");
        assert!(
            scaled.width() < full.width(),
            "{name} was not decoded scaled"
        );
        // Compared small. A side that is not a multiple of 8 ends in a
        // part-block pixel, a sub-pixel shift; a wrong orientation or colour
        // is tens.
        let (a, b) = (
            fit_within(&scaled, 16).expect("resize"),
            fit_within(&full, 16).expect("resize"),
        );
        let difference = mean_difference(&a, &b);
        assert!(difference < 6.0, "{name}: mean difference {difference}");
    }
}
