//! Test images. Real files live under `tests/fixtures/images` (source and
//! licence of each in the README there); what can be made from them is made
//! here instead of shipped: a 12 MP photo, a photo with GPS tags, a 16-bit
//! PNG, formats the allow-list refuses, and the hostile files (bombs,
//! truncations, a bad CRC, an empty file).
//!
//! Names: `normal/…`, `exif/…`, `edge/…` are files; `generated/…` are made
//! on first use and cached for the process. Shared by the tests and benches.

#![allow(dead_code)]

use std::{
    collections::HashMap,
    io::Cursor,
    path::{Path, PathBuf},
    sync::{Mutex, OnceLock},
};

use image::{ImageBuffer, Rgb, RgbImage, codecs::jpeg::JpegEncoder};

/// The folder of the real images.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images")
}

/// The bytes of a fixture, read or generated.
pub fn read_fixture(name: &str) -> Vec<u8> {
    match name.strip_prefix("generated/") {
        Some(generated) => cached(generated),
        None => std::fs::read(fixture_dir().join(name))
            .unwrap_or_else(|e| panic!("test image {name}: {e}")),
    }
}

/// Every hostile or broken input with the name it is uploaded under: the
/// files in `edge/` and the generated ones.
pub fn hostile() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(fixture_dir().join("edge"))
        .expect("edge fixtures")
        .map(|entry| {
            let path = entry.expect("edge fixture").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .to_string();
            (name, std::fs::read(&path).expect("edge fixture"))
        })
        .collect();
    for name in HOSTILE {
        files.push((name.to_string(), cached(name)));
    }
    files.sort();
    files
}

/// The generated hostile files.
pub const HOSTILE: [&str; 6] = [
    "bomb_65536x65536.png",
    "huge_20000x14000.jpg",
    "truncated.jpg",
    "truncated.png",
    "bad_crc_idat.png",
    "zero_bytes.jpg",
];

fn cached(name: &str) -> Vec<u8> {
    static CACHE: OnceLock<Mutex<HashMap<String, Vec<u8>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(bytes) = cache.lock().expect("fixture cache").get(name) {
        return bytes.clone();
    }
    let bytes = generate(name);
    cache
        .lock()
        .expect("fixture cache")
        .insert(name.to_string(), bytes.clone());
    bytes
}

fn generate(name: &str) -> Vec<u8> {
    match name {
        "large_4032x3024.jpg" => large_photo(),
        "big_6000x6000.png" => big_png(),
        "gps.jpg" => with_gps(&jpeg(&decode("normal/coffee.png"), 90)),
        "rgb_16bit.png" => rgb16_png(149, 227),
        "bitmap.bmp" => bmp(4, 3),
        "iphone.heic" => heic(),
        "bomb_65536x65536.png" => png_bomb(),
        "huge_20000x14000.jpg" => huge_jpeg(),
        "truncated.jpg" => {
            // Cut inside the last scan: no end-of-image marker.
            let bytes = read_fixture("exif/progressive.jpg");
            bytes[..bytes.len() * 7 / 10].to_vec()
        }
        "truncated.png" => {
            // Cut inside the image data: no IEND.
            let bytes = read_fixture("normal/coffee.png");
            bytes[..bytes.len() * 6 / 10].to_vec()
        }
        "bad_crc_idat.png" => bad_crc(&png(&decode("normal/chelsea_cat.png"))),
        "zero_bytes.jpg" => Vec::new(),
        other => panic!("no generated fixture named {other}"),
    }
}

fn decode(name: &str) -> RgbImage {
    image::load_from_memory(&read_fixture(name))
        .unwrap_or_else(|e| panic!("decode {name}: {e}"))
        .to_rgb8()
}

pub fn jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .expect("encode JPEG");
    out
}

fn png(image: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode PNG");
    out.into_inner()
}

/// A camera-sized photo (4032x3024): a public-domain Hubble photo tiled
/// with mirroring, so it has a photo's detail (and size) everywhere.
fn large_photo() -> Vec<u8> {
    jpeg(
        &mirrored_tiles(&decode("normal/hubble_deep_field.jpg"), 4032, 3024),
        90,
    )
}

/// 36 Mpx of grayscale gradient in a PNG:
/// well under a megabyte to send, a second or more of pixel work.
fn big_png() -> Vec<u8> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let big = ImageBuffer::from_fn(6_000, 6_000, |x, y| {
        image::Luma([u8::try_from((x / 40 + y / 40) % 256).unwrap_or(0)])
    });
    let mut out = Vec::new();
    big.write_with_encoder(PngEncoder::new_with_quality(
        &mut out,
        CompressionType::Fast,
        FilterType::Sub,
    ))
    .expect("encode big PNG");
    out
}

/// `tile` repeated to `width` x `height`, every other copy mirrored so the
/// seams are invisible.
pub fn mirrored_tiles<P: image::Pixel>(
    tile: &ImageBuffer<P, Vec<P::Subpixel>>,
    width: u32,
    height: u32,
) -> ImageBuffer<P, Vec<P::Subpixel>> {
    let (tw, th) = tile.dimensions();
    ImageBuffer::from_fn(width, height, |x, y| {
        let (mut tx, mut ty) = (x % tw, y % th);
        if (x / tw) % 2 == 1 {
            tx = tw - 1 - tx;
        }
        if (y / th) % 2 == 1 {
            ty = th - 1 - ty;
        }
        *tile.get_pixel(tx, ty)
    })
}

/// Adds an EXIF segment with a GPS position (43°28'N 11°53'E) after the
/// JFIF header of `jpeg`.
fn with_gps(jpeg: &[u8]) -> Vec<u8> {
    use exif::{Field, In, Rational, Tag, Value};
    let degrees = |d: u32, m: u32, s: u32| {
        Value::Rational(vec![
            Rational { num: d, denom: 1 },
            Rational { num: m, denom: 1 },
            Rational { num: s, denom: 10 },
        ])
    };
    let fields = [
        Field {
            tag: Tag::Make,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"tessera tests".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: degrees(43, 28, 28),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"E".to_vec()]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: degrees(11, 53, 65),
        },
    ];
    let mut writer = exif::experimental::Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).expect("write EXIF");
    let tiff = tiff.into_inner();

    let mut segment = vec![0xFF, 0xE1];
    let length = u16::try_from(2 + 6 + tiff.len()).expect("small EXIF");
    segment.extend_from_slice(&length.to_be_bytes());
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(&tiff);
    // After SOI and, when present, the JFIF APP0 segment.
    let mut at = 2;
    if jpeg[2..4] == [0xFF, 0xE0] {
        at += 2 + usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]]));
    }
    let mut out = jpeg[..at].to_vec();
    out.extend_from_slice(&segment);
    out.extend_from_slice(&jpeg[at..]);
    out
}

/// A 16-bit-per-channel RGB PNG with a smooth gradient.
fn rgb16_png(width: u32, height: u32) -> Vec<u8> {
    let image: ImageBuffer<Rgb<u16>, Vec<u16>> = ImageBuffer::from_fn(width, height, |x, y| {
        let scale = |v: u32, max: u32| u16::try_from(v * 65535 / max.max(1)).unwrap_or(u16::MAX);
        Rgb([scale(x, width), scale(y, height), 40000])
    });
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode 16-bit PNG");
    out.into_inner()
}

/// A valid 24-bit Windows bitmap (a format the default allow-list refuses).
fn bmp(width: u32, height: u32) -> Vec<u8> {
    let row = (width * 3).div_ceil(4) * 4;
    let pixels = row * height;
    let mut out = Vec::new();
    out.extend_from_slice(b"BM");
    out.extend_from_slice(&(54 + pixels).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&54u32.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&pixels.to_le_bytes());
    out.extend_from_slice(&[0; 16]);
    out.resize(out.len() + pixels as usize, 0x7F);
    out
}

/// The start of an HEIF file as phones write it (`ftyp` brand `heic`).
fn heic() -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&24u32.to_be_bytes());
    out.extend_from_slice(b"ftypheic");
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(b"mif1heic");
    out.extend_from_slice(&16u32.to_be_bytes());
    out.extend_from_slice(b"mdat");
    out.extend_from_slice(&[0; 8]);
    out
}

/// A PNG whose header declares 65536x65536 (4.3 Gpx) over a few hundred
/// bytes of image data: must be refused from the header.
fn png_bomb() -> Vec<u8> {
    let small = png(&RgbImage::new(64, 64));
    let mut bytes = small.clone();
    // IHDR data starts at byte 16: width, height (big-endian).
    bytes[16..20].copy_from_slice(&65536u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&65536u32.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// A JPEG whose frame header declares 20000x14000 (280 Mpx): refused from
/// the header by the default pixel cap. Benches that need a real one of
/// that size make it with [`mirrored_tiles`].
fn huge_jpeg() -> Vec<u8> {
    let mut bytes = jpeg(&RgbImage::from_pixel(64, 64, Rgb([90, 90, 90])), 80);
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline frame header");
    // FF C0, length (2), precision (1), height (2), width (2).
    bytes[sof + 5..sof + 7].copy_from_slice(&14000u16.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&20000u16.to_be_bytes());
    bytes
}

/// `png` with the CRC of its first IDAT chunk broken.
fn bad_crc(png: &[u8]) -> Vec<u8> {
    let mut bytes = png.to_vec();
    let idat = bytes
        .windows(4)
        .position(|w| w == b"IDAT")
        .expect("IDAT chunk");
    let length = u32::from_be_bytes(bytes[idat - 4..idat].try_into().expect("length")) as usize;
    let crc = idat + 4 + length;
    bytes[crc] ^= 0xFF;
    bytes
}

/// CRC-32 as PNG chunks use it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Mean absolute difference of two same-sized images, as RGB, 0–255.
pub fn mean_difference(a: &image::DynamicImage, b: &image::DynamicImage) -> f64 {
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    assert_eq!(a.dimensions(), b.dimensions());
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.as_raw().len() as f64
}
