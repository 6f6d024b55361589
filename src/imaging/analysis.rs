//! Colour palette, blurhash and perceptual hash of a decoded image.

use image::DynamicImage;
use serde_json::{Value, json};

use super::{ImagingError, transform};

/// Up to five dominant colours with their share of the image.
pub fn dominant_colors(image: &DynamicImage) -> Result<Value, ImagingError> {
    let small = transform::fit_within(image, 64)?.to_rgb8();
    let mut buckets = vec![(0u32, [0u64; 3]); 4096];
    for pixel in small.pixels() {
        let [r, g, b] = pixel.0;
        let index = (usize::from(r >> 4) << 8) | (usize::from(g >> 4) << 4) | usize::from(b >> 4);
        let bucket = &mut buckets[index];
        bucket.0 += 1;
        for (sum, value) in bucket.1.iter_mut().zip([r, g, b]) {
            *sum += u64::from(value);
        }
    }
    let total = small.pixels().len().max(1) as f64;
    buckets.sort_by_key(|bucket| std::cmp::Reverse(bucket.0));
    let colours: Vec<Value> = buckets
        .iter()
        .take_while(|(count, _)| *count > 0)
        .take(5)
        .map(|(count, sums)| {
            let avg = |i: usize| (sums[i] / u64::from(*count)) as u8;
            json!({
                "hex": format!("#{:02x}{:02x}{:02x}", avg(0), avg(1), avg(2)),
                "share": (f64::from(*count) / total * 1000.0).round() / 1000.0,
            })
        })
        .collect();
    Ok(Value::Array(colours))
}

pub fn blurhash(image: &DynamicImage) -> Result<String, ImagingError> {
    let small = transform::fit_within(image, 32)?.to_rgba8();
    blurhash::encode(4, 3, small.width(), small.height(), small.as_raw())
        .map_err(|e| ImagingError::Encode(format!("blurhash: {e}")))
}

/// 64-bit DCT perceptual hash as 16 hex digits; similar images differ in few bits.
pub fn perceptual_hash(image: &DynamicImage) -> Result<String, ImagingError> {
    const N: usize = 32;
    let gray = transform::resize_exact(
        &DynamicImage::ImageRgb8(image.to_rgb8()),
        N as u32,
        N as u32,
    )?
    .to_luma8();
    let pixels: Vec<f64> = gray.pixels().map(|p| f64::from(p.0[0])).collect();
    let cosines: Vec<f64> = (0..8 * N)
        .map(|i| {
            let (u, x) = (i / N, i % N);
            (std::f64::consts::PI * (2.0 * x as f64 + 1.0) * u as f64 / (2.0 * N as f64)).cos()
        })
        .collect();
    let mut coefficients = [0f64; 64];
    for u in 0..8 {
        for v in 0..8 {
            let mut sum = 0.0;
            for y in 0..N {
                for x in 0..N {
                    sum += pixels[y * N + x] * cosines[u * N + y] * cosines[v * N + x];
                }
            }
            coefficients[u * 8 + v] = sum;
        }
    }
    let mut sorted: Vec<f64> = coefficients[1..].to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let bits = coefficients
        .iter()
        .fold(0u64, |acc, c| (acc << 1) | u64::from(*c > median));
    Ok(format!("{bits:016x}"))
}

/// Bits that differ between two hashes from `perceptual_hash`.
pub fn hash_distance(a: &str, b: &str) -> Option<u32> {
    let a = u64::from_str_radix(a, 16).ok()?;
    let b = u64::from_str_radix(b, 16).ok()?;
    Some((a ^ b).count_ones())
}
