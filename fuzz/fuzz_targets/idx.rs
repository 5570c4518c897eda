//! Arbitrary bytes into the IDX parser, as images and as labels, with and without the
//! length hint. Run (stable toolchain, see docs/reliability-idx.md):
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run idx -- -max_total_time=300 -malloc_limit_mb=64`
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/fsutil.rs"]
mod fsutil;
#[allow(dead_code)]
#[path = "../../src/data/idx.rs"]
mod idx;

fuzz_target!(|data: &[u8]| {
    let name = Path::new("fuzz.idx");
    for hint in [Some(data.len() as u64), None] {
        match idx::parse_images(name, data, hint) {
            Ok(images) => {
                assert!(images.count > 0 && images.height > 0 && images.width > 0);
                assert_eq!(
                    images.pixels.len(),
                    images.count * images.height * images.width
                );
            }
            Err(err) => check_message(&err),
        }
        match idx::parse_labels(name, data, hint) {
            Ok(labels) => assert!(!labels.is_empty()),
            Err(err) => check_message(&err),
        }
    }
});

/// One line, naming the file (the project's error convention).
fn check_message(err: &idx::IdxError) {
    let message = err.to_string();
    assert!(message.starts_with("fuzz.idx: "), "{message}");
    assert!(!message.contains('\n'), "{message}");
}
