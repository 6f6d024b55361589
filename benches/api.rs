//! Ingest and API benchmarks against the real binary, reported as ratios to
//! baselines measured in the same run (the machines are noisy):
//! - ingest: REST upload of a 20 MB file vs `sha256sum` / `openssl dgst` of
//!   the same file; peak server RSS during 50 concurrent uploads of 20 MB and
//!   of 2 MB (flat memory means the two peaks are close);
//! - API: `GET /api/v1/assets/{id}` and a filtered list at 100 000 assets
//!   under `wrk`, vs `/healthz` of the same server; the same detail read
//!   through REST and gRPC from one in-process client; on SQLite, and on
//!   PostgreSQL when `TESSERA_BENCH_DATABASE_URL` names a server.
//!
//! Run: `cargo bench --bench api` (needs Debian's `wrk`; missing tools are
//! reported and their rows skipped).

#![allow(dead_code)]

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use futures_util::{StreamExt, stream};

const API_KEY: &str = "bench-static-key-0123456789";
const ASSETS: u64 = 100_000;
const MIB: usize = 1024 * 1024;

#[path = "../tests/common/fixtures.rs"]
mod fixtures;
#[path = "../tests/common/process.rs"]
mod process;
#[path = "../tests/common/seed.rs"]
mod seed;

use process::Process;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn mb_per_s(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / MIB as f64 / time.as_secs_f64()
}

/// Median wall time of `runs` runs of a command; `None` when it is missing.
fn time_command(program: &str, args: &[&str], runs: usize) -> Option<Duration> {
    let mut samples = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let ok = Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|out| out.status.success());
        if !ok {
            return None;
        }
        samples.push(start.elapsed());
    }
    Some(median(samples))
}

/// Peak resident memory of a process (`VmHWM`), in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// A JPEG's first 64 KiB (so it sniffs as one) padded with noise to `size`.
fn upload_file(dir: &Path, size: usize) -> std::path::PathBuf {
    let photo = fixtures::read_fixture("generated/large_4032x3024.jpg");
    let mut bytes = photo[..64 * 1024].to_vec();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    while bytes.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(size);
    let path = dir.join(format!("upload-{size}.jpg"));
    std::fs::write(&path, bytes).expect("write upload file");
    path
}

async fn start(dir: &Path, database_url: &str, env: &[(&str, &str)]) -> Process {
    let mut all = vec![
        ("TESSERA_MAX_UPLOAD_BYTES", "67108864"),
        ("TESSERA_WORKERS", "0"),
    ];
    all.extend_from_slice(env);
    Process::start(dir, database_url, &all).await
}

async fn upload(server: &Process, bytes: Vec<u8>) {
    let form = reqwest::multipart::Form::new()
        .text("runEnrichment", "false")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("bench.jpg"),
        );
    let response = server
        .http
        .post(format!("{}/api/v1/assets", server.base))
        .bearer_auth(API_KEY)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), 202, "upload refused");
}

async fn ingest(work: &Path) {
    println!("## Ingest (REST upload, SQLite + local disk)");
    let size = 20 * MIB;
    let file = upload_file(work, size);
    let file_arg = file.to_string_lossy().to_string();
    let sha256sum = time_command("sha256sum", &[&file_arg], 5);
    let openssl = time_command("openssl", &["dgst", "-sha256", &file_arg], 5);

    let data = work.join("ingest");
    let database_url = tessera::db::Db::sqlite_url(&data.join("tessera.db"));
    let server = start(&data, &database_url, &[]).await;
    let bytes = std::fs::read(&file).expect("read upload file");
    upload(&server, bytes.clone()).await; // warm-up
    let mut samples = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        upload(&server, bytes.clone()).await;
        samples.push(started.elapsed());
    }
    let ours = median(samples);
    println!(
        "20 MB upload answered in {:.0} ms: {:.0} MB/s",
        ours.as_secs_f64() * 1000.0,
        mb_per_s(size, ours)
    );
    for (name, time) in [("sha256sum", sha256sum), ("openssl dgst -sha256", openssl)] {
        match time {
            Some(time) => println!(
                "  vs {name}: {:.0} MB/s -> tessera at {:.0} % of its throughput",
                mb_per_s(size, time),
                100.0 * time.as_secs_f64() / ours.as_secs_f64()
            ),
            None => println!("  {name}: not installed, skipped"),
        }
    }
    drop(server);

    for file_mib in [20, 2] {
        let data = work.join(format!("rss-{file_mib}"));
        let database_url = tessera::db::Db::sqlite_url(&data.join("tessera.db"));
        let server = start(&data, &database_url, &[]).await;
        let idle = peak_rss_mib(server.child.id());
        let bytes = std::fs::read(upload_file(work, file_mib * MIB)).expect("file");
        let started = Instant::now();
        stream::iter(0..50)
            .for_each_concurrent(50, |_| upload(&server, bytes.clone()))
            .await;
        let elapsed = started.elapsed();
        println!(
            "50 concurrent uploads of {file_mib} MB: peak server RSS {:.0} MiB (idle {:.0} MiB), {:.1} s",
            peak_rss_mib(server.child.id()),
            idle,
            elapsed.as_secs_f64()
        );
        drop(server);
        let _ = std::fs::remove_dir_all(&data);
    }
}

/// 100 000 asset rows written straight into the database (an API upload per
/// row would take the whole benchmark's time).
struct Load {
    requests_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn latency_ms(text: &str) -> f64 {
    let (number, unit) = text.split_at(
        text.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len()),
    );
    let value: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        _ => f64::NAN,
    }
}

/// `wrk` with keep-alive: 2 threads, `connections` connections, 10 s.
fn wrk(url: &str, connections: u32) -> Option<Load> {
    let output = Command::new("wrk")
        .args(["-t2", &format!("-c{connections}"), "-d10s", "--latency"])
        .args(["-H", &format!("Authorization: Bearer {API_KEY}"), url])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix))
            .map(|rest| {
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
    };
    if text.contains("Non-2xx") {
        println!("  wrk saw non-2xx answers for {url}");
    }
    Some(Load {
        requests_per_s: field("Requests/sec:")?.parse().ok()?,
        p50_ms: latency_ms(&field("50%")?),
        p99_ms: latency_ms(&field("99%")?),
    })
}

async fn api(work: &Path, label: &str, database_url: &str) {
    println!("## API at {ASSETS} assets ({label})");
    let data = work.join(format!("api-{label}"));
    let server = start(&data, database_url, &[]).await;
    seed::seed_assets(database_url, ASSETS).await;
    let routes = [
        ("baseline GET /healthz", "/healthz".to_string()),
        (
            "GET /api/v1/assets/{id}",
            "/api/v1/assets/00000000-0000-7000-8000-000000050000".to_string(),
        ),
        (
            "filtered list (status, contentType, newest first)",
            "/api/v1/assets?status=ready&contentType=image/png&orderBy=createdAtUtc&orderDirection=desc&pageSize=20".to_string(),
        ),
    ];
    // Throughput under 32 connections; latency also under a light load of 4.
    for connections in [32, 4] {
        println!("  {connections} connections:");
        let mut baseline = None;
        for (name, path) in &routes {
            let Some(load) = wrk(&format!("{}{path}", server.base), connections) else {
                println!("  wrk not installed (apt-get install wrk): skipped");
                return;
            };
            let ratio = baseline.map_or(String::new(), |base: f64| {
                format!(
                    " ({:.0} % of the baseline)",
                    100.0 * load.requests_per_s / base
                )
            });
            baseline.get_or_insert(load.requests_per_s);
            println!(
                "    {name}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms{ratio}",
                load.requests_per_s, load.p50_ms, load.p99_ms
            );
        }
    }
    rest_and_grpc(&server, "00000000-0000-7000-8000-000000050000").await;
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

/// Requests per second of `request` run by `tasks` tasks for 5 s, all in
/// this process: one client harness for REST and gRPC, so their ratio
/// compares the two doors and not two load tools.
async fn closed_loop<F, Fut>(tasks: usize, request: F) -> f64
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let until = Instant::now() + Duration::from_secs(5);
    let start = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|task| {
            let request = request.clone();
            tokio::spawn(async move {
                let mut done = 0_u64;
                while Instant::now() < until {
                    assert!(request(task).await, "a read failed");
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.await.expect("load task");
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// The detail read through REST and through gRPC (`GetAsset`), 32 at a
/// time: REST over keep-alive HTTP/1.1 (a connection per request in
/// flight), gRPC over 4 HTTP/2 connections.
async fn rest_and_grpc(server: &Process, id: &str) {
    use tessera::api::grpc::proto::{GetAssetRequest, asset_service_client::AssetServiceClient};

    const TASKS: usize = 32;
    const CONNECTIONS: usize = 4;
    let url = format!("{}/api/v1/assets/{id}", server.base);
    let client = reqwest::Client::new();
    let rest = closed_loop(TASKS, move |_| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            client
                .get(&url)
                .bearer_auth(API_KEY)
                .send()
                .await
                .is_ok_and(|response| response.status() == 200)
        }
    })
    .await;
    let mut channels = Vec::new();
    for _ in 0..CONNECTIONS {
        let channel = tonic::transport::Channel::from_shared(server.base.clone())
            .expect("uri")
            .connect()
            .await
            .expect("connect");
        channels.push(AssetServiceClient::new(channel));
    }
    let id = id.to_string();
    let grpc = closed_loop(TASKS, move |task| {
        let mut client = channels[task % CONNECTIONS].clone();
        let mut request = tonic::Request::new(GetAssetRequest { id: id.clone() });
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {API_KEY}").parse().expect("metadata"),
        );
        async move { client.get_asset(request).await.is_ok() }
    })
    .await;
    println!(
        "  detail read, one in-process client for both ({TASKS} at a time; gRPC on {CONNECTIONS} connections):"
    );
    println!("    REST GET /api/v1/assets/{{id}}: {rest:.0} req/s");
    println!(
        "    gRPC GetAsset: {grpc:.0} req/s ({:.2}x REST)",
        grpc / rest
    );
}

async fn postgres_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("tessera_bench_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&mut conn)
    .await
    .expect("drop");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create");
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url, |(server, _)| server);
    format!("{base}/{name}")
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let work = tempfile::tempdir().expect("temp dir");
    println!(
        "tessera API benchmarks, {} CPUs, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        chrono::Utc::now().format("%Y-%m-%d")
    );
    // `TESSERA_BENCH_ONLY=api` or `=ingest` runs one half.
    let only = std::env::var("TESSERA_BENCH_ONLY").unwrap_or_default();
    runtime.block_on(async {
        if only.is_empty() || only == "ingest" {
            ingest(work.path()).await;
        }
        if only == "ingest" {
            return;
        }
        let sqlite = tessera::db::Db::sqlite_url(&work.path().join("api.db"));
        api(work.path(), "SQLite", &sqlite).await;
        match std::env::var("TESSERA_BENCH_DATABASE_URL") {
            Ok(admin) if !admin.is_empty() => {
                let url = postgres_database(&admin).await;
                api(work.path(), "PostgreSQL", &url).await;
            }
            _ => println!("## PostgreSQL: set TESSERA_BENCH_DATABASE_URL to include it"),
        }
    });
}
