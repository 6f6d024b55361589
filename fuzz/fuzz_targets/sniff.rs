//! Content sniffing and the dimension probe run on the first bytes of every
//! upload, before anything else has looked at them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::imaging;

fuzz_target!(|data: &[u8]| {
    let content_type = imaging::sniff(data);
    let _ = imaging::extension_for(content_type);
    if let Some((width, height)) = imaging::probe_dimensions(data) {
        assert!(width > 0 && height > 0, "a probed image has an area");
    }
});
