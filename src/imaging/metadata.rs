//! EXIF: a readable summary, and lossless removal of metadata containers.

use std::io::Cursor;

use image::ImageFormat;
use serde_json::{Map, Value, json};

use super::ImagingError;

/// The EXIF fields people look for, plus whether GPS data is present.
pub fn exif_summary(bytes: &[u8]) -> Value {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return json!({ "present": false });
    };
    let mut summary = Map::new();
    summary.insert("present".into(), true.into());
    let fields = [
        (exif::Tag::Make, "make"),
        (exif::Tag::Model, "model"),
        (exif::Tag::LensModel, "lensModel"),
        (exif::Tag::Software, "software"),
        (exif::Tag::DateTimeOriginal, "dateTimeOriginal"),
        (exif::Tag::ExposureTime, "exposureTime"),
        (exif::Tag::FNumber, "fNumber"),
        (exif::Tag::PhotographicSensitivity, "iso"),
        (exif::Tag::FocalLength, "focalLength"),
        (exif::Tag::Orientation, "orientation"),
    ];
    for (tag, name) in fields {
        if let Some(field) = exif.get_field(tag, exif::In::PRIMARY) {
            let text = field.display_value().with_unit(&exif).to_string();
            summary.insert(
                name.into(),
                text.trim_matches('"').trim().to_string().into(),
            );
        }
    }
    let has_gps = exif
        .fields()
        .any(|f| f.ifd_num == exif::In::PRIMARY && matches!(f.tag.context(), exif::Context::Gps));
    summary.insert("hasGps".into(), has_gps.into());
    Value::Object(summary)
}

/// Removes EXIF/XMP/IPTC and comments without re-encoding pixels. ICC
/// profiles and the Adobe marker (needed for CMYK) are kept.
pub fn strip_metadata(bytes: &[u8], format: ImageFormat) -> Result<Vec<u8>, ImagingError> {
    match format {
        ImageFormat::Jpeg => strip_jpeg(bytes),
        ImageFormat::Png => strip_png(bytes),
        ImageFormat::WebP => strip_webp(bytes),
        _ => Ok(bytes.to_vec()),
    }
}

fn malformed(what: &str) -> ImagingError {
    ImagingError::Undecodable(format!("malformed {what} structure"))
}

fn strip_jpeg(bytes: &[u8]) -> Result<Vec<u8>, ImagingError> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(malformed("JPEG"));
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut pos = 2;
    while pos + 4 <= bytes.len() {
        if bytes[pos] != 0xFF {
            return Err(malformed("JPEG"));
        }
        let marker = bytes[pos + 1];
        if marker == 0xFF {
            pos += 1;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]));
        let end = pos + 2 + len;
        if len < 2 || end > bytes.len() {
            return Err(malformed("JPEG"));
        }
        if marker == 0xDA {
            // Start of scan: the rest is image data, copied as is.
            out.extend_from_slice(&bytes[pos..]);
            return Ok(out);
        }
        // APP1 (EXIF, XMP), APP13 (IPTC/Photoshop) and comments go.
        let drop = matches!(marker, 0xE1 | 0xED | 0xFE);
        if !drop {
            out.extend_from_slice(&bytes[pos..end]);
        }
        pos = end;
    }
    Err(malformed("JPEG"))
}

fn strip_png(bytes: &[u8]) -> Result<Vec<u8>, ImagingError> {
    const SIGNATURE: usize = 8;
    if bytes.len() < SIGNATURE {
        return Err(malformed("PNG"));
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..SIGNATURE]);
    let mut pos = SIGNATURE;
    while pos + 12 <= bytes.len() {
        let len = u32::from_be_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]])
            as usize;
        let end = pos
            .checked_add(12 + len)
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| malformed("PNG"))?;
        let kind = &bytes[pos + 4..pos + 8];
        if !matches!(kind, b"eXIf" | b"tEXt" | b"iTXt" | b"zTXt" | b"tIME") {
            out.extend_from_slice(&bytes[pos..end]);
        }
        pos = end;
        if kind == b"IEND" {
            return Ok(out);
        }
    }
    Err(malformed("PNG"))
}

fn strip_webp(bytes: &[u8]) -> Result<Vec<u8>, ImagingError> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return Err(malformed("WebP"));
    }
    let mut chunks = Vec::with_capacity(bytes.len());
    let mut pos = 12;
    while pos + 8 <= bytes.len() {
        let kind = &bytes[pos..pos + 4];
        let len = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]) as usize;
        let end = (pos + 8)
            .checked_add(len + (len & 1))
            .ok_or_else(|| malformed("WebP"))?;
        let end = end.min(bytes.len());
        if kind == b"VP8X" {
            // The flags are the chunk's first byte; a chunk too short to
            // hold them is not a WebP this can rewrite.
            if end < pos + 9 {
                return Err(malformed("WebP"));
            }
            let mut chunk = bytes[pos..end].to_vec();
            // Clear the EXIF (0x08) and XMP (0x04) flags.
            chunk[8] &= !0x0C;
            chunks.extend_from_slice(&chunk);
        } else if kind != b"EXIF" && kind != b"XMP " {
            chunks.extend_from_slice(&bytes[pos..end]);
        }
        pos = end;
    }
    let size = u32::try_from(chunks.len() + 4).map_err(|_| malformed("WebP"))?;
    let mut out = Vec::with_capacity(chunks.len() + 12);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&chunks);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A RIFF/WEBP container around `chunks`.
    fn webp(chunks: &[u8]) -> Vec<u8> {
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&u32::try_from(chunks.len() + 4).unwrap_or(0).to_le_bytes());
        out.extend_from_slice(b"WEBP");
        out.extend_from_slice(chunks);
        out
    }

    #[test]
    fn an_empty_vp8x_chunk_is_malformed_not_a_panic() {
        let mut empty = b"VP8X".to_vec();
        empty.extend_from_slice(&0u32.to_le_bytes());
        assert!(strip_metadata(&webp(&empty), ImageFormat::WebP).is_err());
        // Followed by more chunks, too.
        empty.extend_from_slice(b"VP8L");
        empty.extend_from_slice(&4u32.to_le_bytes());
        empty.extend_from_slice(&[0x2F, 0, 0, 0]);
        assert!(strip_metadata(&webp(&empty), ImageFormat::WebP).is_err());
    }

    #[test]
    fn vp8x_flags_for_exif_and_xmp_are_cleared() {
        let mut chunks = b"VP8X".to_vec();
        chunks.extend_from_slice(&10u32.to_le_bytes());
        chunks.extend_from_slice(&[0x0C | 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        chunks.extend_from_slice(b"EXIF");
        chunks.extend_from_slice(&2u32.to_le_bytes());
        chunks.extend_from_slice(b"II");
        let stripped = strip_metadata(&webp(&chunks), ImageFormat::WebP).expect("strip");
        assert_eq!(stripped[20], 0x10, "only the EXIF and XMP flags go");
        assert!(!stripped.windows(4).any(|w| w == b"EXIF"));
    }
}
