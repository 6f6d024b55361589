//! Decoding with the pixel cap checked from the header first, so a
//! decompression bomb costs a header read, never its declared allocation.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, metadata::Orientation};

use super::ImagingError;

/// What the header says, read without decoding pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageHeader {
    pub format: ImageFormat,
    /// As stored (before orientation).
    pub width: u32,
    pub height: u32,
    pub orientation: Orientation,
}

impl ImageHeader {
    /// Width and height as displayed, after the EXIF orientation.
    pub fn display_dimensions(&self) -> (u32, u32) {
        match self.orientation {
            Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH => (self.height, self.width),
            _ => (self.width, self.height),
        }
    }
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, ImagingError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImagingError::Undecodable(e.to_string()))?;
    if reader.format().is_none() {
        return Err(ImagingError::Undecodable("unknown image format".into()));
    }
    Ok(reader)
}

/// Reads format, size and orientation, and refuses images over `max_pixels`.
pub fn read_header(bytes: &[u8], max_pixels: u64) -> Result<ImageHeader, ImagingError> {
    let reader = reader(bytes)?;
    let format = reader
        .format()
        .ok_or(ImagingError::Undecodable("unknown image format".into()))?;
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| ImagingError::Undecodable(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    check_pixels(width, height, max_pixels)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    Ok(ImageHeader {
        format,
        width,
        height,
        orientation,
    })
}

fn check_pixels(width: u32, height: u32, max_pixels: u64) -> Result<(), ImagingError> {
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(ImagingError::TooManyPixels {
            width,
            height,
            max_pixels,
        });
    }
    if width == 0 || height == 0 {
        return Err(ImagingError::Undecodable("the image has no pixels".into()));
    }
    Ok(())
}

/// A JPEG whose last scan is not followed by an end-of-image marker was cut
/// short; decoders fill the rest in silently, so this is checked by hand.
fn check_jpeg_complete(bytes: &[u8]) -> Result<(), ImagingError> {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    let complete =
        last_scan.is_some_and(|start| bytes[start..].windows(2).any(|w| w == [0xFF, 0xD9]));
    if complete {
        Ok(())
    } else {
        Err(ImagingError::Truncated)
    }
}

/// Decodes the whole image (first frame of animations), applies the EXIF
/// orientation and normalises to 8-bit RGB or RGBA.
pub fn decode(bytes: &[u8], max_pixels: u64) -> Result<DynamicImage, ImagingError> {
    let header = read_header(bytes, max_pixels)?;
    if header.format == ImageFormat::Jpeg {
        check_jpeg_complete(bytes)?;
    }
    let mut reader = reader(bytes)?;
    let mut limits = Limits::default();
    // Second guard behind the header check: 8 bytes a pixel covers RGBA16.
    limits.max_alloc = Some(max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| ImagingError::Undecodable(e.to_string()))?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder)
        .map_err(|e| ImagingError::Undecodable(e.to_string()))?;
    image.apply_orientation(orientation);
    Ok(normalize(image))
}

/// Like `decode`, but big JPEGs are decoded at 1/2, 1/4 or 1/8 scale (DCT
/// scaling) when the result still covers `target` pixels on its longer side:
/// the large win for thumbnails.
pub fn decode_for_size(
    bytes: &[u8],
    target: u32,
    max_pixels: u64,
) -> Result<DynamicImage, ImagingError> {
    let header = read_header(bytes, max_pixels)?;
    if header.format == ImageFormat::Jpeg {
        check_jpeg_complete(bytes)?;
        if let Some(mut image) = decode_jpeg_scaled(bytes, &header, target)? {
            image.apply_orientation(header.orientation);
            return Ok(image);
        }
    }
    decode(bytes, max_pixels)
}

/// `None` when the JPEG is not a plain RGB/gray one (CMYK goes through the
/// general decoder, which converts it).
fn decode_jpeg_scaled(
    bytes: &[u8],
    header: &ImageHeader,
    target: u32,
) -> Result<Option<DynamicImage>, ImagingError> {
    let longer = header.width.max(header.height);
    if longer <= target.saturating_mul(2) {
        return Ok(None);
    }
    let scale = f64::from(target) / f64::from(longer);
    let request = |side: u32| {
        u16::try_from(((f64::from(side) * scale).ceil() as u32).max(1)).unwrap_or(u16::MAX)
    };
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder
        .scale(request(header.width), request(header.height))
        .map_err(|e| ImagingError::Undecodable(e.to_string()))?;
    let pixels = decoder
        .decode()
        .map_err(|e| ImagingError::Undecodable(e.to_string()))?;
    let Some(info) = decoder.info() else {
        return Ok(None);
    };
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let image = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => {
            image::RgbImage::from_raw(width, height, pixels).map(DynamicImage::ImageRgb8)
        }
        jpeg_decoder::PixelFormat::L8 => image::GrayImage::from_raw(width, height, pixels)
            .map(|gray| DynamicImage::ImageRgb8(DynamicImage::ImageLuma8(gray).to_rgb8())),
        _ => None,
    };
    Ok(image)
}

/// 8-bit RGB when opaque, RGBA when the image has alpha.
pub fn normalize(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => image,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}
