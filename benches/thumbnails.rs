//! Thumbnail benchmark: tessera's 256 px thumbnail against sharp (libvips
//! in-process), `vipsthumbnail` and ImageMagick on the same files, measured
//! in the same run, reported as ratios; a burst of 40 uploads against sharp
//! two at a time; upload -> ready latency; peak memory on the 280 MP JPEG.
//!
//! Run: `benches/run` (installs the peers), or `cargo bench --bench
//! thumbnails` with whichever peers are there (missing ones are skipped;
//! sharp is found through `NODE_PATH`).

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use tessera::imaging::{self, OutputFormat};

const RUNS: usize = 9;
/// Uploads sent at once in the burst figure.
const BURST: usize = 40;

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

/// A fixture as a file the command-line peers can read: the repository's
/// images, or generated ones written to the temp dir once per run.
fn testdata(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("tessera-bench-{}", name.replace('/', "-")));
    if !path.exists() {
        let bytes = if name == "generated/giant_20000x14000.jpg" {
            giant_jpeg()
        } else {
            fixtures::read_fixture(name)
        };
        std::fs::write(&path, bytes).expect("write bench fixture");
    }
    path
}

/// A real 280 MP grayscale JPEG: a CC0 photo tiled to 20000x14000.
fn giant_jpeg() -> Vec<u8> {
    let tile = image::load_from_memory(&fixtures::read_fixture("exif/grayscale_camera.png"))
        .expect("decode tile")
        .to_luma8();
    let giant = fixtures::mirrored_tiles(&tile, 20000, 14000);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&giant)
        .expect("encode giant JPEG");
    out
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time(mut run: impl FnMut() -> bool) -> Option<Duration> {
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        if !run() {
            return None;
        }
        samples.push(start.elapsed());
    }
    Some(median(samples))
}

/// tessera's pipeline: scaled decode, resize, lossy WebP, as the thumbnail step runs it.
fn tessera_thumbnail(bytes: &[u8], max_pixels: u64) -> Vec<u8> {
    let image = imaging::decode_for_size(bytes, 256, max_pixels).expect("decode");
    let thumbnail = imaging::fit_within(&image, 256).expect("resize");
    imaging::encode(&thumbnail, OutputFormat::Webp, 80).expect("encode")
}

/// Where tessera's time goes: each stage of `tessera_thumbnail` on its own.
fn stages(bytes: &[u8], max_pixels: u64) {
    let header = time(|| imaging::read_header(bytes, max_pixels).is_ok()).expect("header");
    let decoded = imaging::decode_for_size(bytes, 256, max_pixels).expect("decode");
    let decode = time(|| imaging::decode_for_size(bytes, 256, max_pixels).is_ok()).expect("decode");
    let resized = imaging::fit_within(&decoded, 256).expect("resize");
    let resize = time(|| imaging::fit_within(&decoded, 256).is_ok()).expect("resize");
    let encode =
        time(|| imaging::encode(&resized, OutputFormat::Webp, 80).is_ok()).expect("encode");
    let (width, height) = (decoded.width(), decoded.height());
    println!(
        "  stages: header {}, scaled decode to {width}x{height} {}, resize {}, WebP encode {}",
        millis(header),
        millis(decode),
        millis(resize),
        millis(encode)
    );
}

/// sharp's figures on the same file, from `benches/peers/sharp.cjs`.
struct SharpRun {
    single: Duration,
    burst_images_per_second: f64,
}

fn sharp(file: &Path) -> Option<SharpRun> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/sharp.cjs");
    let out = Command::new("node")
        .arg(script)
        .arg(file)
        .args([RUNS.to_string(), BURST.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(SharpRun {
        single: Duration::from_secs_f64(report["single_ms"].as_f64()? / 1000.0),
        burst_images_per_second: report["burst_images_per_s"].as_f64()?,
    })
}

fn command_ok(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|out| out.status.success())
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// tessera's median and sharp's run on one file.
struct Comparison {
    ours: Duration,
    sharp: Option<SharpRun>,
}

fn compare(label: &str, file: &Path, max_pixels: u64) -> Comparison {
    let bytes = std::fs::read(file).expect("test image");
    let out = std::env::temp_dir().join("tessera-bench-thumb.jpg");
    let out_arg = out.to_string_lossy().to_string();
    let input = file.to_string_lossy().to_string();
    let ours = time(|| !tessera_thumbnail(&bytes, max_pixels).is_empty()).expect("tessera runs");
    let sharp = sharp(file);
    let vips = time(|| command_ok("vipsthumbnail", &[&input, "--size", "256", "-o", &out_arg]));
    let magick = time(|| {
        command_ok(
            "/usr/bin/convert",
            &[&input, "-thumbnail", "256x256", &out_arg],
        )
    });
    println!("{label}");
    println!("  tessera         {:>10}", millis(ours));
    stages(&bytes, max_pixels);
    let ratio = |name: &str, other: Option<Duration>| match other {
        Some(other) => println!(
            "  {name:<15} {:>10}   tessera takes {:.2}x its time ({:.2}x faster)",
            millis(other),
            ours.as_secs_f64() / other.as_secs_f64(),
            other.as_secs_f64() / ours.as_secs_f64()
        ),
        None => println!("  {name:<15} not measured (missing, or it refused the file)"),
    };
    ratio("sharp", sharp.as_ref().map(|run| run.single));
    ratio("vipsthumbnail", vips);
    ratio("convert", magick);
    Comparison { ours, sharp }
}

/// The real server, in-process, on the embedded default.
struct Server {
    addr: std::net::SocketAddr,
    http: reqwest::Client,
    channel: tonic::transport::Channel,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let config = tessera::Config {
            listen: addr,
            data_dir: dir.path().to_path_buf(),
            api_keys: vec![tessera::config::Secret::new("bench-key")],
            ..tessera::Config::default()
        };
        tokio::spawn(tessera::serve(listener, config, std::future::pending()));
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect_lazy();
        Server {
            addr,
            http: reqwest::Client::new(),
            channel,
            _dir: dir,
        }
    }

    /// One REST upload, then WatchAsset until the asset is `ready` (with its thumbnail).
    async fn upload_until_ready(&self, bytes: Vec<u8>) {
        use futures_util::StreamExt;
        use tessera::api::grpc::proto::{
            AssetStatus, WatchAssetRequest, asset_service_client::AssetServiceClient,
        };

        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("photo.jpg"),
        );
        let body: serde_json::Value = self
            .http
            .post(format!("http://{}/api/v1/assets", self.addr))
            .bearer_auth("bench-key")
            .multipart(form)
            .send()
            .await
            .expect("upload")
            .json()
            .await
            .expect("json");
        let id = body["data"]["id"].as_str().expect("id").to_string();
        let mut request = tonic::Request::new(WatchAssetRequest { id });
        request.metadata_mut().insert(
            "authorization",
            "Bearer bench-key".parse().expect("metadata"),
        );
        let mut updates = AssetServiceClient::new(self.channel.clone())
            .watch_asset(request)
            .await
            .expect("watch")
            .into_inner();
        let mut last = None;
        while let Some(update) = updates.next().await {
            last = update.ok().and_then(|u| u.asset).map(|a| a.status());
        }
        assert_eq!(
            last,
            Some(AssetStatus::Ready),
            "the asset did not become ready"
        );
    }

    /// Median upload -> `ready`, one upload at a time.
    async fn upload_to_ready(&self, bytes: &[u8]) -> Duration {
        let mut samples = Vec::new();
        for _ in 0..RUNS {
            let start = Instant::now();
            self.upload_until_ready(bytes.to_vec()).await;
            samples.push(start.elapsed());
        }
        median(samples)
    }

    /// `BURST` uploads sent at once; images per second until the last is `ready`.
    async fn burst(self: &std::sync::Arc<Self>, bytes: &[u8]) -> f64 {
        let start = Instant::now();
        let uploads: Vec<_> = (0..BURST)
            .map(|_| {
                let (server, bytes) = (self.clone(), bytes.to_vec());
                tokio::spawn(async move { server.upload_until_ready(bytes).await })
            })
            .collect();
        for upload in uploads {
            upload.await.expect("upload task");
        }
        BURST as f64 / start.elapsed().as_secs_f64()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // Child mode: one thumbnail of the giant JPEG, then report this process's peak memory.
    if let Some(position) = args.iter().position(|a| a == "--peak-rss-of") {
        let file = &args[position + 1];
        let bytes = std::fs::read(file).expect("test image");
        let thumbnail = tessera_thumbnail(&bytes, 400_000_000);
        println!("{} {}", thumbnail.len(), peak_rss_kib().unwrap_or(0));
        return;
    }
    if args.iter().any(|a| a == "--list") {
        println!("thumbnails: benchmark");
        return;
    }

    println!("Thumbnail benchmark ({RUNS} runs each, medians)\n");
    let twelve_mp = compare(
        "4032x3024 JPEG (12 MP) -> 256 px",
        &testdata("generated/large_4032x3024.jpg"),
        100_000_000,
    );
    compare(
        "20000x14000 JPEG (280 MP) -> 256 px, pixel cap raised",
        &testdata("generated/giant_20000x14000.jpg"),
        400_000_000,
    );

    let giant = testdata("generated/giant_20000x14000.jpg");
    let child = Command::new(std::env::current_exe().expect("self"))
        .args(["--peak-rss-of", &giant.to_string_lossy()])
        .output()
        .expect("child run");
    let report = String::from_utf8_lossy(&child.stdout);
    let peak = report
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let vips_peak = Command::new("/usr/bin/time")
        .args([
            "-f",
            "%M",
            "vipsthumbnail",
            &giant.to_string_lossy(),
            "--size",
            "256",
            "-o",
            "/tmp/tessera-bench-vips.jpg",
        ])
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .lines()
                .last()
                .and_then(|l| l.parse::<u64>().ok())
        });
    println!("\nPeak memory, 280 MP JPEG thumbnail");
    println!("  tessera         {:>7.1} MiB", peak as f64 / 1024.0);
    match vips_peak {
        Some(kib) => println!("  vipsthumbnail   {:>7.1} MiB", kib as f64 / 1024.0),
        None => println!("  vipsthumbnail   not measured (needs /usr/bin/time)"),
    }

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let bytes = std::fs::read(testdata("generated/large_4032x3024.jpg")).expect("test image");
    let server = std::sync::Arc::new(runtime.block_on(Server::start()));
    let latency = runtime.block_on(server.upload_to_ready(&bytes));
    println!(
        "\nUpload -> ready with thumbnail, 12 MP JPEG, REST upload + WatchAsset: {} (its thumbnail alone: {}, so {} of waiting and ingest)",
        millis(latency),
        millis(twelve_mp.ours),
        millis(latency.saturating_sub(twelve_mp.ours))
    );
    let throughput = runtime.block_on(server.burst(&bytes));
    println!("\n{BURST} uploads of the 12 MP JPEG at once -> all ready");
    println!("  tessera         {throughput:>7.1} images/s");
    match twelve_mp.sharp {
        Some(sharp) => println!(
            "  sharp, 2 at a time {:>4.1} images/s   tessera reaches {:.2}x its throughput",
            sharp.burst_images_per_second,
            throughput / sharp.burst_images_per_second
        ),
        None => {
            println!("  sharp           not measured (set NODE_PATH to a node_modules with sharp)")
        }
    }
}
