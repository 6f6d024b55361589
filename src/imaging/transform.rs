//! Resizing (SIMD, via fast_image_resize) and encoding.

use std::io::Cursor;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, GenericImageView, ImageEncoder, codecs};

use super::ImagingError;

/// Fits the image inside `max_side`×`max_side`, keeping its aspect ratio and
/// never upscaling.
pub fn fit_within(image: &DynamicImage, max_side: u32) -> Result<DynamicImage, ImagingError> {
    let (width, height) = image.dimensions();
    if width <= max_side && height <= max_side {
        return Ok(image.clone());
    }
    let scale = f64::from(max_side) / f64::from(width.max(height));
    let side = |v: u32| ((f64::from(v) * scale).round() as u32).clamp(1, max_side);
    resize_exact(image, side(width), side(height))
}

pub fn resize_exact(
    image: &DynamicImage,
    width: u32,
    height: u32,
) -> Result<DynamicImage, ImagingError> {
    let mut target = DynamicImage::new(width, height, image.color());
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new()
        .resize(image, &mut target, &options)
        .map_err(|e| ImagingError::Encode(format!("resize failed: {e}")))?;
    Ok(target)
}

/// Formats tessera writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Webp,
    Jpeg,
    Png,
    Gif,
}

impl OutputFormat {
    pub fn parse(name: &str) -> Option<OutputFormat> {
        match name.trim().to_ascii_lowercase().as_str() {
            "webp" => Some(OutputFormat::Webp),
            "jpeg" | "jpg" => Some(OutputFormat::Jpeg),
            "png" => Some(OutputFormat::Png),
            "gif" => Some(OutputFormat::Gif),
            _ => None,
        }
    }

    pub fn from_content_type(content_type: &str) -> Option<OutputFormat> {
        match content_type {
            "image/webp" => Some(OutputFormat::Webp),
            "image/jpeg" => Some(OutputFormat::Jpeg),
            "image/png" => Some(OutputFormat::Png),
            "image/gif" => Some(OutputFormat::Gif),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            OutputFormat::Webp => "image/webp",
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Png => "image/png",
            OutputFormat::Gif => "image/gif",
        }
    }

    pub fn extension(self) -> &'static str {
        super::extension_for(self.content_type())
    }
}

/// Encodes compactly: lossy WebP (alpha kept), JPEG (alpha flattened),
/// PNG, or single-frame GIF. `quality` is 1–100 for the lossy formats.
pub fn encode(
    image: &DynamicImage,
    format: OutputFormat,
    quality: u8,
) -> Result<Vec<u8>, ImagingError> {
    let quality = quality.clamp(1, 100);
    let (width, height) = image.dimensions();
    let failed = |e: image::ImageError| ImagingError::Encode(e.to_string());
    let mut out = Vec::new();
    match format {
        OutputFormat::Webp => {
            let memory = if image.color().has_alpha() {
                let rgba = image.to_rgba8();
                webp::Encoder::from_rgba(rgba.as_raw(), width, height).encode(f32::from(quality))
            } else {
                let rgb = image.to_rgb8();
                webp::Encoder::from_rgb(rgb.as_raw(), width, height).encode(f32::from(quality))
            };
            out.extend_from_slice(&memory);
        }
        OutputFormat::Jpeg => {
            let rgb = flatten(image);
            codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
                .write_image(rgb.as_raw(), width, height, image::ExtendedColorType::Rgb8)
                .map_err(failed)?;
        }
        OutputFormat::Png => {
            let image = super::decode::normalize(image.clone());
            codecs::png::PngEncoder::new(&mut Cursor::new(&mut out))
                .write_image(image.as_bytes(), width, height, image.color().into())
                .map_err(failed)?;
        }
        OutputFormat::Gif => {
            let rgba = image.to_rgba8();
            let mut encoder = codecs::gif::GifEncoder::new_with_speed(&mut out, 10);
            encoder
                .encode(
                    rgba.as_raw(),
                    width,
                    height,
                    image::ExtendedColorType::Rgba8,
                )
                .map_err(failed)?;
        }
    }
    if out.is_empty() {
        return Err(ImagingError::Encode("the encoder produced no data".into()));
    }
    Ok(out)
}

/// RGB over a white background (JPEG has no alpha).
fn flatten(image: &DynamicImage) -> image::RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let blend =
            |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        image::Rgb([blend(r), blend(g), blend(b)])
    })
}
