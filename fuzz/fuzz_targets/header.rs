//! Header probing (the pixel cap is checked here, before decoding) and the
//! EXIF summary read from whole uploads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::imaging;

const MAX_PIXELS: u64 = 4_000_000;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = imaging::read_header(data, MAX_PIXELS) {
        assert!(
            u64::from(header.width) * u64::from(header.height) <= MAX_PIXELS,
            "the pixel cap holds"
        );
    }
    let _ = imaging::metadata::exif_summary(data);
});
