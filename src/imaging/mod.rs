//! Pure functions over image bytes and pixels: sniffing, header probing,
//! capped decoding, resizing, encoding, metadata, watermarks and analysis.

pub mod analysis;
mod decode;
pub mod metadata;
mod transform;
pub mod watermark;

pub use decode::{ImageHeader, decode, decode_for_size, normalize, read_header};
pub use transform::{OutputFormat, encode, fit_within, resize_exact};

/// Why an image could not be processed. These describe the file, not the
/// server: they make an asset `failed` rather than being retried.
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    #[error("the image is {width}x{height}, over the limit of {max_pixels} pixels")]
    TooManyPixels {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    #[error("the image cannot be decoded: {0}")]
    Undecodable(String),
    #[error("the image is truncated")]
    Truncated,
    #[error("the image cannot be encoded: {0}")]
    Encode(String),
}

/// How many leading bytes `sniff` needs to decide.
pub const SNIFF_LEN: usize = 512;

/// The content type of `head` (the first bytes of a file), from magic numbers
/// only: file names and client-declared types are never trusted.
pub fn sniff(head: &[u8]) -> &'static str {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return "image/jpeg";
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return "image/png";
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return "image/gif";
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return "image/webp";
    }
    if starts(b"BM") {
        return "image/bmp";
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return "image/tiff";
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return match &head[8..12] {
            b"avif" | b"avis" => "image/avif",
            b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"mif1" | b"msf1" => "image/heic",
            _ => "application/octet-stream",
        };
    }
    if starts(b"%PDF-") {
        return "application/pdf";
    }
    sniff_text(head)
}

/// Markup is recognised so that the refusal can say what was sent.
fn sniff_text(head: &[u8]) -> &'static str {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.contains("<svg") {
        "image/svg+xml"
    } else if trimmed.starts_with("<!doctype html")
        || trimmed.starts_with("<html")
        || trimmed.contains("<script")
        || trimmed.contains("<body")
    {
        "text/html"
    } else if trimmed.starts_with("<?xml") {
        "application/xml"
    } else {
        "application/octet-stream"
    }
}

/// The file extension tessera gives a content type (never the client's).
pub fn extension_for(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/bmp" => "bmp",
        "image/tiff" => "tiff",
        "image/heic" => "heic",
        "image/avif" => "avif",
        _ => "bin",
    }
}

/// Width and height as displayed (EXIF orientation applied), from the header
/// in `head`, without decoding pixels. `None` when the header is not within
/// `head` or is unreadable.
pub fn probe_dimensions(head: &[u8]) -> Option<(u32, u32)> {
    read_header(head, u64::MAX)
        .ok()
        .map(|header| header.display_dimensions())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_ignores_names_and_spots_markup() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), "image/jpeg");
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><svg xmlns="),
            "image/svg+xml"
        );
        assert_eq!(sniff(b"  <!DOCTYPE html><html>"), "text/html");
        assert_eq!(sniff(b"%PDF-1.7"), "application/pdf");
        assert_eq!(sniff(b""), "application/octet-stream");
        assert_eq!(extension_for("image/jpeg"), "jpg");
    }
}
