//! Decoding under the pixel cap (what every thumbnail does), resizing the
//! result, and the lossless metadata strip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::imaging;

const MAX_PIXELS: u64 = 4_000_000;

fuzz_target!(|data: &[u8]| {
    if let Ok(image) = imaging::decode_for_size(data, 64, MAX_PIXELS) {
        assert!(u64::from(image.width()) * u64::from(image.height()) <= MAX_PIXELS);
        let _ = imaging::fit_within(&image, 32);
    }
    if let Ok(header) = imaging::read_header(data, MAX_PIXELS) {
        let _ = imaging::metadata::strip_metadata(data, header.format);
    }
});
