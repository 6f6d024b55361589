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

/// A JPEG's markers up to its first scan (sizes, EXIF orientation) are at
/// its front, and the JPEG decoder behind `ImageReader` copies its whole
/// input before reading them: a large file's header is read from this much
/// of it first (the 280 MP benchmark file is 47 MiB).
const JPEG_HEADER_PREFIX: usize = 1 << 20;

/// Reads format, size and orientation, and refuses images over `max_pixels`.
pub fn read_header(bytes: &[u8], max_pixels: u64) -> Result<ImageHeader, ImagingError> {
    if bytes.len() > JPEG_HEADER_PREFIX && bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        match read_whole_header(&bytes[..JPEG_HEADER_PREFIX], max_pixels) {
            // Markers past the prefix: read the whole file.
            Err(ImagingError::Undecodable(_)) => {}
            known => return known,
        }
    }
    read_whole_header(bytes, max_pixels)
}

fn read_whole_header(bytes: &[u8], max_pixels: u64) -> Result<ImageHeader, ImagingError> {
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

/// A JPEG whose scans are not followed by an end-of-image marker was cut
/// short; decoders fill the rest in silently, so this is checked by hand.
/// The segments are walked from the start, so what follows the end-of-image
/// marker (a Motion Photo's video, say) is never read. A file whose
/// structure cannot be followed is left to the decoder to judge.
fn check_jpeg_complete(bytes: &[u8]) -> Result<(), ImagingError> {
    let mut at = 2;
    loop {
        // Markers may be preceded by fill bytes (0xFF).
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
            return if at + 1 >= bytes.len() {
                Err(ImagingError::Truncated)
            } else {
                Ok(())
            };
        };
        at += 2;
        match marker {
            0xD9 => return Ok(()),
            0x01 | 0xD0..=0xD8 => continue,
            _ => {}
        }
        let Some(length) = bytes
            .get(at..at + 2)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
        else {
            return Err(ImagingError::Truncated);
        };
        at += length;
        if at > bytes.len() {
            return Err(ImagingError::Truncated);
        }
        if marker == 0xDA {
            // Entropy-coded data: 0xFF is followed by 0x00 (stuffing) or a
            // restart marker; anything else is the next marker.
            let mut search = at;
            at = loop {
                let Some(offset) = memchr::memchr(0xFF, &bytes[search..]) else {
                    return Err(ImagingError::Truncated);
                };
                let found = search + offset;
                match bytes.get(found + 1) {
                    None => return Err(ImagingError::Truncated),
                    Some(0x00 | 0xD0..=0xD7) => search = found + 2,
                    Some(_) => break found,
                }
            };
        }
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
        if let Some(mut image) = decode_jpeg_scaled(bytes, &header, target) {
            image.apply_orientation(header.orientation);
            return Ok(image);
        }
    }
    decode(bytes, max_pixels)
}

/// Decodes with libjpeg-turbo (vendored by `mozjpeg`): its Huffman decoding
/// is what bounds a scaled decode, and it is a third faster than
/// jpeg-decoder's. `None` when the result would not be smaller, for CMYK
/// (the general decoder converts it) and for anything libjpeg refuses, so
/// the general decoder has the last word on a strange file. Corrupt scan
/// data decodes as browsers show it (grey where data is missing); a file
/// cut short is refused before this by `check_jpeg_complete`.
fn decode_jpeg_scaled(bytes: &[u8], header: &ImageHeader, target: u32) -> Option<DynamicImage> {
    let longer = header.width.max(header.height);
    // The smallest n/8 whose output still covers `target` on the longer side.
    let numerator = (1..8u8).find(|&n| (longer * u32::from(n)).div_ceil(8) >= target)?;
    // libjpeg reports fatal errors by unwinding (no panic hook runs); catch it here.
    let decoded = std::panic::catch_unwind(|| -> std::io::Result<Option<image::RgbImage>> {
        let mut decompress = mozjpeg::Decompress::new_mem(bytes)?;
        // The pixel cap was checked on the other parser's reading of the header.
        let same_size = u32::try_from(decompress.width()) == Ok(header.width)
            && u32::try_from(decompress.height()) == Ok(header.height);
        if !same_size
            || !matches!(
                decompress.color_space(),
                mozjpeg::ColorSpace::JCS_YCbCr
                    | mozjpeg::ColorSpace::JCS_RGB
                    | mozjpeg::ColorSpace::JCS_GRAYSCALE
            )
        {
            return Ok(None);
        }
        decompress.scale(numerator);
        let mut started = decompress.rgb()?;
        let (width, height) = (started.width(), started.height());
        let pixels = started.read_scanlines::<u8>()?;
        started.finish()?;
        let (Ok(width), Ok(height)) = (u32::try_from(width), u32::try_from(height)) else {
            return Ok(None);
        };
        Ok(image::RgbImage::from_raw(width, height, pixels))
    });
    decoded.ok()?.ok()?.map(DynamicImage::ImageRgb8)
}

/// 8-bit RGB when opaque, RGBA when the image has alpha.
pub fn normalize(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => image,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/images")
            .join(name);
        std::fs::read(path).expect("fixture")
    }

    #[test]
    fn the_scaled_decode_still_covers_the_requested_size() {
        let bytes = fixture("normal/hubble_deep_field.jpg");
        let header = read_header(&bytes, 100_000_000).expect("header");
        for target in [16, 100, 256] {
            let image = decode_jpeg_scaled(&bytes, &header, target).expect("libjpeg decodes it");
            assert!(image.width() < header.width, "decoded scaled");
            assert!(image.width().max(image.height()) >= target);
        }
    }

    #[test]
    fn corrupt_scan_data_is_an_error_or_an_image_never_a_panic() {
        let mut bytes = fixture("normal/flower_canon_s40.jpg");
        let start = bytes.len() / 3;
        for (i, byte) in bytes[start..start + 4096].iter_mut().enumerate() {
            *byte = (i * 37 % 251) as u8;
        }
        let _ = decode_for_size(&bytes, 32, 100_000_000);
        let mut headers_only = fixture("normal/flower_canon_s40.jpg");
        headers_only.truncate(headers_only.len() / 2);
        headers_only.extend_from_slice(&[0xFF, 0xD9]);
        let _ = decode_for_size(&headers_only, 32, 100_000_000);
    }

    #[test]
    fn a_large_jpeg_header_is_read_from_its_front() {
        // Past the prefix, padded with a comment after the header markers.
        let photo = fixture("exif/orientation_6.jpg");
        let header = read_header(&photo, 100_000_000).expect("header");
        let mut padded = photo[..2].to_vec();
        let filler = vec![b'x'; 60_000];
        for _ in 0..(JPEG_HEADER_PREFIX / filler.len() + 1) {
            padded.extend_from_slice(&[0xFF, 0xFE]);
            padded.extend_from_slice(&u16::try_from(filler.len() + 2).expect("len").to_be_bytes());
            padded.extend_from_slice(&filler);
        }
        padded.extend_from_slice(&photo[2..]);
        assert!(padded.len() > JPEG_HEADER_PREFIX);
        assert_eq!(
            read_header(&padded, 100_000_000).expect("padded header"),
            header
        );
        let big = [photo.clone(), vec![0; JPEG_HEADER_PREFIX]].concat();
        assert_eq!(read_header(&big, 100_000_000).expect("big header"), header);
        assert!(matches!(
            read_header(&big, 1000),
            Err(ImagingError::TooManyPixels { .. })
        ));
    }

    #[test]
    fn what_follows_the_end_of_image_is_not_read() {
        // A Motion Photo carries a video after the JPEG; its bytes may hold
        // anything, markers included.
        for name in ["normal/flower_canon_s40.jpg", "exif/progressive.jpg"] {
            let photo = fixture(name);
            let mut motion = photo.clone();
            motion.extend_from_slice(&[0x00, 0x00, 0x00, 0x18, b'f', b't', b'y', b'p']);
            motion.extend_from_slice(&[0xFF, 0xDA, 0x12, 0x34, 0xFF, 0xD8]);
            assert!(check_jpeg_complete(&motion).is_ok(), "{name}");
            for cut in [photo.len() / 2, photo.len() - 2, 400] {
                assert!(
                    matches!(
                        check_jpeg_complete(&photo[..cut]),
                        Err(ImagingError::Truncated)
                    ),
                    "{name} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn a_cut_short_jpeg_is_truncated() {
        let mut bytes = fixture("normal/flower_canon_s40.jpg");
        bytes.truncate(bytes.len() - 100);
        assert!(matches!(
            decode_for_size(&bytes, 32, 100_000_000),
            Err(ImagingError::Truncated)
        ));
        assert!(check_jpeg_complete(&fixture("exif/progressive.jpg")).is_ok());
    }
}
