//! What crashes leave behind is swept: partial files of unfinished writes,
//! and stored objects no row refers to (a process died between storing an
//! object and recording it), once older than `TESSERA_ORPHAN_GRACE_SECONDS`.
//! Anything an asset or derivative refers to, and anything younger (an
//! upload in progress), stays. Local disk and S3, on both databases.

use std::{
    path::Path,
    time::{Duration, Instant, SystemTime},
};

use serde_json::json;

use crate::common::{Backend, TestServer, fake_github::FakeGitHub, read_fixture, s3_server};
use crate::on_both_databases;

on_both_databases!(
    leftovers_are_swept_and_nothing_else,
    github_leftovers_are_swept_once_seen_long_enough
);

const ACCESS_KEY: &str = "orphan-access";
const SECRET_KEY: &str = "orphan-secret-key-123";

/// Writes `bytes` at `path`, last modified `age` ago.
fn plant(path: &Path, age: Duration) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b"leftover").unwrap();
    age_file(path, age);
}

fn age_file(path: &Path, age: Duration) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - age)
        .unwrap();
}

const OLD: Duration = Duration::from_secs(2 * 3600);

async fn leftovers_are_swept_and_nothing_else(backend: Backend) {
    // Instances that share a database share the key of its stored secrets.
    let key = || Some(tessera::config::Secret::new("11".repeat(32)));
    let first = TestServer::start_with(backend, |config| config.encryption_key = key()).await;
    // An S3 profile as well as the local default.
    let s3_root = tempfile::tempdir().unwrap();
    let endpoint = s3_server(s3_root.path(), ACCESS_KEY, SECRET_KEY).await;
    let response = first
        .post("/api/v1/system/storage/providers")
        .json(&json!({
            "name": "bucket",
            "providerType": "s3-compatible",
            "configuration": {
                "endpoint": endpoint, "bucket": "tessera-bucket", "region": "us-east-1"
            },
            "secretConfiguration": { "accessKey": ACCESS_KEY, "secretKey": SECRET_KEY }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let profile: serde_json::Value = response.json().await.unwrap();
    let profile_id = profile["data"]["id"].as_str().unwrap().to_string();

    // Recorded files, made old: they must stay whatever their age.
    let local = first
        .upload_ok(
            "normal/rocket_falcon9.jpg",
            &[("runEnrichment", "false"), ("isPublic", "false")],
        )
        .await;
    let in_bucket = first
        .upload_ok(
            "normal/flower_canon_s40.jpg",
            &[
                ("runEnrichment", "false"),
                ("isPublic", "false"),
                ("storageProviderProfileId", profile_id.as_str()),
            ],
        )
        .await;
    let root = first.data_dir.path().join("assets");
    let bucket = s3_root.path().join("tessera-bucket");
    age_file(&root.join(local["storageKey"].as_str().unwrap()), OLD);
    age_file(&bucket.join(in_bucket["storageKey"].as_str().unwrap()), OLD);

    // What a crash leaves: objects without rows, partial files.
    let orphan = |name: &str| format!("originals/2020/01/01/{name}.jpg");
    let old_orphans = [
        root.join(orphan("old-local")),
        root.join("derivatives/0190a1b2-0000-7000-8000-000000000000/thumbnail_256.webp"),
        root.join(".tmp/partial-old"),
        bucket.join(orphan("old-s3")),
    ];
    let young = [
        root.join(orphan("young-local")),
        root.join(".tmp/partial-young"),
        bucket.join(orphan("young-s3")),
    ];
    // Not tessera's: outside its prefixes, it is never looked at.
    let foreign = bucket.join("backups/old.tar");
    for path in old_orphans.iter().chain([&foreign]) {
        plant(path, OLD);
    }
    for path in &young {
        plant(path, Duration::ZERO);
    }

    // Another instance starts and sweeps.
    let _second = TestServer::start_beside(&first, |config| config.encryption_key = key()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while old_orphans.iter().any(|p| p.exists()) {
        assert!(
            Instant::now() < deadline,
            "not swept: {:?}",
            old_orphans
                .iter()
                .filter(|p| p.exists())
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for path in young.iter().chain([&foreign]) {
        assert!(path.exists(), "{path:?} was removed");
    }
    for asset in [&local, &in_bucket] {
        let id = asset["id"].as_str().unwrap();
        let expected = if asset == &local {
            read_fixture("normal/rocket_falcon9.jpg")
        } else {
            read_fixture("normal/flower_canon_s40.jpg")
        };
        first.assert_serves(id, &expected).await;
    }
}

/// GitHub gives no times for a repository's files: an unrecorded file is
/// removed once this instance has seen it for longer than the grace period
/// (one second here), while recorded files and files outside tessera's
/// prefixes stay.
async fn github_leftovers_are_swept_once_seen_long_enough(backend: Backend) {
    let fake = FakeGitHub::start("octo-org", "image-host", "ghp_orphanToken0123456789").await;
    let server = TestServer::start_with(backend, |config| config.orphan_grace_seconds = 1).await;
    let response = server
        .post("/api/v1/system/storage/providers")
        .json(&json!({
            "name": "repo",
            "providerType": "github-repo",
            "configuration": {
                "owner": "octo-org", "repo": "image-host", "ref": "images",
                "basePath": "cdn", "apiBaseUrl": fake.api_base_url
            },
            "secretConfiguration": { "token": "ghp_orphanToken0123456789" }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let profile: serde_json::Value = response.json().await.unwrap();
    let asset = server
        .upload_ok(
            "normal/flower_canon_s40.jpg",
            &[
                ("runEnrichment", "false"),
                (
                    "storageProviderProfileId",
                    profile["data"]["id"].as_str().unwrap(),
                ),
            ],
        )
        .await;
    let recorded = format!("cdn/{}", asset["storageKey"].as_str().unwrap());
    let orphan = "cdn/originals/2020/01/01/left-behind.jpg";
    fake.put_file("images", orphan, b"leftover");
    fake.put_file("images", "cdn/README.md", b"not tessera's");
    fake.put_file(
        "images",
        "originals/outside-the-base-path.jpg",
        b"not tessera's",
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.file("images", orphan).is_some() {
        assert!(
            Instant::now() < deadline,
            "not swept: {:?}",
            fake.files("images")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for path in [
        recorded.as_str(),
        "cdn/README.md",
        "originals/outside-the-base-path.jpg",
    ] {
        assert!(fake.file("images", path).is_some(), "{path} was removed");
    }
}
