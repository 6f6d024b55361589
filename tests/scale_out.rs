//! Scale-out: two tessera processes on one PostgreSQL and one S3-compatible
//! store share the uploads and the background work. One is killed with
//! SIGKILL mid-processing; the other finishes everything, exactly once,
//! leaving no orphan object or row.

use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};

use crate::common::process::{Process, assert_processed_once, files_below};
use crate::common::{Backend, read_fixture, s3_server};

const UPLOADS: usize = 300;
const ACCESS_KEY: &str = "AKIASCALEOUT";
const SECRET_KEY: &str = "scale-out-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_work_and_survive_a_kill() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let database_url = backend.database_url(dir.path()).await;
    let s3_root = dir.path().join("s3");
    let endpoint = s3_server(&s3_root, ACCESS_KEY, SECRET_KEY).await;
    let key = "5c".repeat(32);
    let env = [
        ("TESSERA_STORAGE_PROVIDER", "s3"),
        ("TESSERA_STORAGE_S3_ENDPOINT", endpoint.as_str()),
        ("TESSERA_STORAGE_S3_BUCKET", "tessera-bucket"),
        ("TESSERA_STORAGE_S3_ACCESS_KEY_ID", ACCESS_KEY),
        ("TESSERA_STORAGE_S3_SECRET_ACCESS_KEY", SECRET_KEY),
        ("TESSERA_ENCRYPTION_KEY", key.as_str()),
    ];
    // Each instance has its own data dir: nothing is shared but the database and the bucket.
    let first = Process::start(&dir.path().join("a"), &database_url, &env).await;
    let second = Process::start(&dir.path().join("b"), &database_url, &env).await;

    // Mostly small photos (debug builds process slowly), a few 12 MP ones.
    let small = read_fixture("normal/flower_canon_s40.jpg");
    let medium = read_fixture("normal/rocket_falcon9.jpg");
    let large = read_fixture("generated/large_4032x3024.jpg");
    let instances = [&first, &second];
    let statuses: Vec<u16> = stream::iter(0..UPLOADS)
        .map(|i| {
            let bytes = match i % 100 {
                0 => large.clone(),
                1..=30 => medium.clone(),
                _ => small.clone(),
            };
            let instance = instances[i % 2];
            async move {
                instance
                    .upload(&format!("photo-{i}.jpg"), bytes)
                    .await
                    .status()
                    .as_u16()
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");

    let uploaded = Instant::now();
    let ready = second.count("ready").await;
    assert!(
        ready < UPLOADS as u64,
        "processing finished before the kill; nothing would be proven"
    );
    first.kill();

    let deadline = Instant::now() + Duration::from_secs(300);
    while second.count("ready").await < UPLOADS as u64 {
        assert!(
            Instant::now() < deadline,
            "not every asset reached ready: {}",
            second.list("").await
        );
        assert_eq!(second.count("failed").await, 0);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    eprintln!(
        "{ready} of {UPLOADS} ready at the kill; the rest took {:?}",
        uploaded.elapsed()
    );

    // Every job ran to completion exactly once; the bucket holds exactly the
    // recorded objects, and nothing went to either instance's disk.
    assert_processed_once(&database_url, UPLOADS, &s3_root.join("tessera-bucket")).await;
    for data in ["a", "b"] {
        assert!(files_below(&dir.path().join(data).join("assets")).is_empty());
    }
}
