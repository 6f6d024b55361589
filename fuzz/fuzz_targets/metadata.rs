//! The hand-written metadata parsers (EXIF summary, lossless strip of JPEG,
//! PNG and WebP) on any bytes, whatever the header says: they must refuse,
//! never panic.
#![no_main]

use image::ImageFormat;
use libfuzzer_sys::fuzz_target;
use tessera::imaging::metadata::{exif_summary, strip_metadata};

fuzz_target!(|data: &[u8]| {
    let _ = exif_summary(data);
    for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
        if let Ok(stripped) = strip_metadata(data, format) {
            // What comes out is stripped again without trouble.
            let _ = strip_metadata(&stripped, format);
        }
    }
});
