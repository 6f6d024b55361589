//! Crash safety: a server killed with SIGKILL while jobs run loses nothing.
//! The real binary runs as a child process, twice, on the same data.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::common::{API_KEY, Backend, read_testdata};
use crate::on_both_databases;

on_both_databases!(killed_server_loses_nothing);

struct Instance {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(data_dir: &std::path::Path, database_url: &str) -> Instance {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env_clear()
        .env("TESSERA_LISTEN", format!("127.0.0.1:{port}"))
        .env("TESSERA_PUBLIC_BASE_URL", &base)
        .env("TESSERA_DATA_DIR", data_dir)
        .env("TESSERA_DATABASE_URL", database_url)
        .env("TESSERA_API_KEYS", API_KEY)
        .env("TESSERA_WORKERS", "1")
        .env("TESSERA_JOB_LEASE_SECONDS", "2")
        .env("TESSERA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tessera");
    let instance = Instance {
        child,
        base,
        http: reqwest::Client::new(),
    };
    // A process needs a moment to listen; retry the connection until it does.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = instance
            .http
            .get(format!("{}/readyz", instance.base))
            .send()
            .await;
        if ready.is_ok_and(|response| response.status() == 200) {
            return instance;
        }
        assert!(Instant::now() < deadline, "tessera did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Instance {
    async fn list(&self, query: &str) -> Value {
        self.http
            .get(format!("{}/api/v1/assets?pageSize=100&{query}", self.base))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    }

    async fn count(&self, status: &str) -> u64 {
        self.list(&format!("status={status}")).await["data"]["total"]
            .as_u64()
            .unwrap()
    }
}

async fn killed_server_loses_nothing(backend: Backend) {
    const UPLOADS: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let database_url = backend.database_url(dir.path()).await;
    let first = start(dir.path(), &database_url).await;
    let photo = read_testdata("normal/large_olympus_ep3_4032x3024.jpg");
    for i in 0..UPLOADS {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(photo.clone()).file_name(format!("photo-{i}.jpg")),
        );
        let response = first
            .http
            .post(format!("{}/api/v1/assets", first.base))
            .bearer_auth(API_KEY)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
    // Kill it once processing is under way and work is left.
    let deadline = Instant::now() + Duration::from_secs(60);
    while first.count("ready").await == 0 {
        assert!(Instant::now() < deadline, "processing never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut first = first;
    first.child.kill().expect("SIGKILL");
    first.child.wait().unwrap();
    drop(first);

    let second = start(dir.path(), &database_url).await;
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

    // Each job ran to completion once: one execution and one thumbnail per asset.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&database_url).await.unwrap();
    let scalar = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        scalar("SELECT COUNT(*) FROM skill_executions").await,
        UPLOADS as i64
    );
    assert_eq!(
        scalar("SELECT COUNT(*) FROM derivatives").await,
        UPLOADS as i64
    );
    assert_eq!(
        scalar("SELECT COUNT(*) FROM jobs WHERE status = 'succeeded'").await,
        UPLOADS as i64
    );
    assert_eq!(scalar("SELECT COUNT(*) FROM jobs").await, UPLOADS as i64);

    // No orphan files: exactly the recorded originals and thumbnails are stored.
    let mut recorded: Vec<String> = sqlx::query_scalar(
        "SELECT storage_key FROM assets UNION ALL SELECT storage_key FROM derivatives",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    recorded.sort();
    let root = dir.path().join("assets");
    let mut stored = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                stored.push(
                    path.strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .to_string(),
                );
            }
        }
    }
    stored.sort();
    assert_eq!(
        stored, recorded,
        "stored files match the recorded keys (no temp or orphan files)"
    );
}
