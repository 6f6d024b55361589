//! The real `tessera` binary as a child process, for what only a process
//! shows: SIGKILL, several instances, the logs it writes.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use super::API_KEY;

pub struct Process {
    pub child: Child,
    pub base: String,
    pub http: reqwest::Client,
    /// Where the process's stdout and stderr go.
    pub log: PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Starts the binary on `data_dir` and `database_url` with the test key,
    /// one worker and a 2 s job lease, plus `env`; waits until `/readyz` is 200.
    pub async fn start(data_dir: &Path, database_url: &str, env: &[(&str, &str)]) -> Process {
        Self::start_limited(data_dir, database_url, env, None).await
    }

    /// As `start`, with at most `max_open_files` file descriptors (`ulimit -n`).
    pub async fn start_limited(
        data_dir: &Path,
        database_url: &str,
        env: &[(&str, &str)],
        max_open_files: Option<u32>,
    ) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        std::fs::create_dir_all(data_dir).unwrap();
        let log = data_dir.join(format!("tessera-{port}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let binary = env!("CARGO_BIN_EXE_tessera");
        let mut command = match max_open_files {
            None => Command::new(binary),
            Some(limit) => {
                let mut shell = Command::new("/bin/sh");
                shell.args(["-c", &format!("ulimit -n {limit} && exec \"$0\""), binary]);
                shell
            }
        };
        command
            .env_clear()
            .env("TESSERA_LISTEN", format!("127.0.0.1:{port}"))
            .env("TESSERA_PUBLIC_BASE_URL", &base)
            .env("TESSERA_DATA_DIR", data_dir)
            .env("TESSERA_DATABASE_URL", database_url)
            .env("TESSERA_API_KEYS", API_KEY)
            .env("TESSERA_WORKERS", "1")
            .env("TESSERA_JOB_LEASE_SECONDS", "2")
            .env("TESSERA_LOG", "warn");
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .stdin(Stdio::null())
            .spawn()
            .expect("start tessera");
        let process = Process {
            child,
            base,
            http: reqwest::Client::new(),
            log,
        };
        // A process needs a moment to listen; retry until it answers.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = process
                .http
                .get(format!("{}/readyz", process.base))
                .send()
                .await;
            if ready.is_ok_and(|response| response.status() == 200) {
                return process;
            }
            assert!(
                Instant::now() < deadline,
                "tessera did not become ready: {}",
                std::fs::read_to_string(&process.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown, no cleanup.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }

    /// Uploads `bytes`; returns the response.
    pub async fn upload(&self, file_name: &str, bytes: Vec<u8>) -> reqwest::Response {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string()),
        );
        self.http
            .post(format!("{}/api/v1/assets", self.base))
            .bearer_auth(API_KEY)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn list(&self, query: &str) -> Value {
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

    pub async fn count(&self, status: &str) -> u64 {
        self.list(&format!("status={status}")).await["data"]["total"]
            .as_u64()
            .unwrap()
    }
}

/// Every upload was processed exactly once: `uploads` assets, executions,
/// thumbnails and succeeded jobs, and no other job; the objects in
/// `storage_root` are exactly the recorded keys (no temp or orphan file).
pub async fn assert_processed_once(database_url: &str, uploads: usize, storage_root: &Path) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database_url).await.unwrap();
    for sql in [
        "SELECT COUNT(*) FROM assets",
        "SELECT COUNT(*) FROM skill_executions",
        "SELECT COUNT(*) FROM derivatives",
        "SELECT COUNT(*) FROM jobs WHERE status = 'succeeded'",
        "SELECT COUNT(*) FROM jobs",
    ] {
        let count: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        assert_eq!(count, uploads as i64, "{sql}");
    }
    pool.close().await;
    assert_eq!(
        files_below(storage_root),
        recorded_keys(database_url).await,
        "stored objects match the recorded keys"
    );
}

/// The storage keys the database records (originals and derivatives), sorted.
pub async fn recorded_keys(database_url: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database_url).await.unwrap();
    let mut keys: Vec<String> = sqlx::query_scalar(
        "SELECT storage_key FROM assets UNION ALL SELECT storage_key FROM derivatives",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    keys.sort();
    keys
}

/// Every file below `root`, as sorted relative paths.
pub fn files_below(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .to_string(),
                );
            }
        }
    }
    files.sort();
    files
}
