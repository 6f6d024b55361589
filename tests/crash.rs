//! Crash safety: a server killed with SIGKILL while jobs run loses nothing.
//! The real binary runs as a child process, twice, on the same data.

use std::time::{Duration, Instant};

use crate::common::process::{Process, assert_processed_once};
use crate::common::{Backend, read_fixture};
use crate::on_both_databases;

on_both_databases!(killed_server_loses_nothing);

async fn killed_server_loses_nothing(backend: Backend) {
    const UPLOADS: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let database_url = backend.database_url(dir.path()).await;
    let first = Process::start(dir.path(), &database_url, &[]).await;
    let photo = read_fixture("generated/large_4032x3024.jpg");
    for i in 0..UPLOADS {
        let response = first.upload(&format!("photo-{i}.jpg"), photo.clone()).await;
        assert_eq!(response.status(), 202);
    }
    // Kill it once processing is under way and work is left.
    let deadline = Instant::now() + Duration::from_secs(60);
    while first.count("ready").await == 0 {
        assert!(Instant::now() < deadline, "processing never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill();

    let second = Process::start(dir.path(), &database_url, &[]).await;
    let left = second.count("ready").await;
    assert!(
        left < UPLOADS as u64,
        "the kill came too late to prove anything"
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while second.count("ready").await < UPLOADS as u64 {
        assert!(Instant::now() < deadline, "not every asset reached ready");
        assert_eq!(second.count("failed").await, 0);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Each job ran to completion once; no temp or orphan files.
    assert_processed_once(&database_url, UPLOADS, &dir.path().join("assets")).await;
}
