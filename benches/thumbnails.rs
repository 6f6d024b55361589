//! Thumbnail benchmark: tessera's 256 px thumbnail against `vipsthumbnail`
//! and ImageMagick on the same files, measured in the same run, reported as
//! ratios; plus upload -> ready latency and peak memory on the 280 MP JPEG.
//!
//! Run: `cargo bench --bench thumbnails` (needs Debian's libvips-tools and
//! imagemagick; missing tools are reported and skipped).

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use tessera::imaging::{self, OutputFormat};

const RUNS: usize = 9;

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

fn compare(label: &str, file: &Path, max_pixels: u64) {
    let bytes = std::fs::read(file).expect("test image");
    let out = std::env::temp_dir().join("tessera-bench-thumb.jpg");
    let out_arg = out.to_string_lossy().to_string();
    let input = file.to_string_lossy().to_string();
    let ours = time(|| !tessera_thumbnail(&bytes, max_pixels).is_empty()).expect("tessera runs");
    let vips = time(|| command_ok("vipsthumbnail", &[&input, "--size", "256", "-o", &out_arg]));
    let magick = time(|| {
        command_ok(
            "/usr/bin/convert",
            &[&input, "-thumbnail", "256x256", &out_arg],
        )
    });
    println!("{label}");
    println!("  tessera         {:>10}", millis(ours));
    let ratio = |name: &str, other: Option<Duration>| match other {
        Some(other) => println!(
            "  {name:<15} {:>10}   tessera takes {:.2}x its time ({:.2}x faster)",
            millis(other),
            ours.as_secs_f64() / other.as_secs_f64(),
            other.as_secs_f64() / ours.as_secs_f64()
        ),
        None => println!("  {name:<15} not measured (missing, or it refused the file)"),
    };
    ratio("vipsthumbnail", vips);
    ratio("convert", magick);
}

/// Upload -> `ready` (with its thumbnail) through the real server, in-process.
async fn upload_to_ready(file: &Path) -> Duration {
    use futures_util::StreamExt;
    use tessera::api::grpc::proto::{WatchAssetRequest, asset_service_client::AssetServiceClient};

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
    let http = reqwest::Client::new();
    let bytes = std::fs::read(file).expect("test image");
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_lazy();
    let mut samples = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name("photo.jpg"),
        );
        let body: serde_json::Value = http
            .post(format!("http://{addr}/api/v1/assets"))
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
        let mut updates = AssetServiceClient::new(channel.clone())
            .watch_asset(request)
            .await
            .expect("watch")
            .into_inner();
        while updates.next().await.is_some() {}
        samples.push(start.elapsed());
    }
    median(samples)
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
    compare(
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
    let latency = runtime.block_on(upload_to_ready(&testdata("generated/large_4032x3024.jpg")));
    println!(
        "\nUpload -> ready with thumbnail, 12 MP JPEG, REST upload + WatchAsset: {}",
        millis(latency)
    );
}
