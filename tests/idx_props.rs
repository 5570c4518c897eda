//! Hostile IDX files: generated valid files (random small shapes, raw and gzip) must
//! round-trip exactly; mutated ones (truncated, bit-flipped, huge or zero dimensions, wrong
//! magic, garbage, cut or corrupted gzip streams) must load exactly as a simple reference
//! decoder says, or fail with a one-line `IdxError` naming the file. Never a panic, and
//! never more memory than the input justifies: a counting allocator measures each parse.
//!
//! Each proptest runs proptest's default 256 cases (a few seconds for the whole file);
//! proptest reads the `PROPTEST_CASES` environment variable natively, so a longer run is
//! `PROPTEST_CASES=20000 cargo test --test idx_props`. Failures are not persisted to a file:
//! each one found becomes a plain #[test] regression here or in tests/idx.rs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::path::Path;

use aelab::data::idx::{self, IdxError, Images};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use proptest::sample::Index;

// ---- A counting allocator: live and peak bytes per thread ----------------------------

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // try_with: the allocator also runs while thread-locals are torn down.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        new
    }
}

// Overcommit lets a huge `Vec::with_capacity` succeed without touching memory, so only
// counting catches it.
#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Run `f`; return its result and the most bytes this thread held on top of what it held before.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(base));
    let out = f();
    let peak = PEAK.with(Cell::get);
    (out, (peak - base).max(0) as usize)
}

/// What the loader may use besides the data: the gzip decoder's window and buffers, errors.
const OVERHEAD: usize = 256 << 10;

// ---- Building files ------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Images,
    Labels,
}

fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn images_bytes(images: &Images) -> Vec<u8> {
    let dims = [images.count, images.height, images.width].map(|d| d as u32);
    idx_bytes(idx::IMAGES_MAGIC, &dims, &images.pixels)
}

fn labels_bytes(labels: &[u8]) -> Vec<u8> {
    idx_bytes(idx::LABELS_MAGIC, &[labels.len() as u32], labels)
}

fn images() -> impl Strategy<Value = Images> {
    (1usize..6, 1usize..9, 1usize..9).prop_flat_map(|(count, height, width)| {
        prop::collection::vec(any::<u8>(), count * height * width).prop_map(move |pixels| Images {
            count,
            height,
            width,
            pixels,
        })
    })
}

fn labels() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..40)
}

/// A valid file, uncompressed.
fn valid_plain() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        images().prop_map(|i| images_bytes(&i)),
        labels().prop_map(|l| labels_bytes(&l)),
    ]
}

/// Header words worth trying: huge claims, zeros, the other kind's magic, anything.
fn word() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(65_535),
        Just(4_000_000_000),
        Just(u32::MAX),
        Just(idx::IMAGES_MAGIC),
        Just(idx::LABELS_MAGIC),
        0u32..64,
        any::<u32>(),
    ]
}

/// A change to the uncompressed IDX bytes (then gzip, if chosen, wraps the result).
#[derive(Clone, Debug)]
enum Plain {
    Truncate(Index),
    FlipBit(Index, u8),
    /// Replace the magic (word 0) or a dimension (words 1..=3).
    SetWord(usize, u32),
    /// Set a dimension, then resize the data to match when that is small: consistent
    /// files of new shapes, zero dimensions included.
    Reshape(usize, u32),
    Append(Vec<u8>),
}

/// A change to the final bytes: the gzip stream itself when compressed.
#[derive(Clone, Debug)]
enum Stream {
    Truncate(Index),
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Append(Vec<u8>),
}

fn plain_mutation() -> impl Strategy<Value = Plain> {
    prop_oneof![
        any::<Index>().prop_map(Plain::Truncate),
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| Plain::FlipBit(i, b)),
        (0usize..4, word()).prop_map(|(i, w)| Plain::SetWord(i, w)),
        (1usize..4, prop_oneof![Just(0u32), 0u32..16]).prop_map(|(i, w)| Plain::Reshape(i, w)),
        prop::collection::vec(any::<u8>(), 1..16).prop_map(Plain::Append),
    ]
}

fn stream_mutation() -> impl Strategy<Value = Stream> {
    prop_oneof![
        any::<Index>().prop_map(Stream::Truncate),
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| Stream::FlipBit(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Stream::SetByte(i, b)),
        prop::collection::vec(any::<u8>(), 1..16).prop_map(Stream::Append),
    ]
}

fn apply_plain(bytes: &mut Vec<u8>, mutation: &Plain) {
    let len = bytes.len();
    match mutation {
        Plain::Truncate(at) if len > 0 => bytes.truncate(at.index(len)),
        Plain::FlipBit(at, bit) if len > 0 => bytes[at.index(len)] ^= 1 << bit,
        Plain::SetWord(word, value) => {
            let at = 4 * word;
            if len >= at + 4 {
                bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
            }
        }
        Plain::Reshape(word, value) => {
            apply_plain(bytes, &Plain::SetWord(*word, *value));
            let ndims = match bytes.get(0..4) {
                Some(m) if m == idx::IMAGES_MAGIC.to_be_bytes() => 3,
                Some(m) if m == idx::LABELS_MAGIC.to_be_bytes() => 1,
                _ => return,
            };
            let header = 4 + 4 * ndims;
            if len < header {
                return;
            }
            // u128: three u32 dimensions overflow u64.
            let size: u128 = bytes[4..header]
                .chunks(4)
                .map(|c| u128::from(u32::from_be_bytes(c.try_into().unwrap())))
                .product();
            if size <= 4096 {
                bytes.resize(header + size as usize, 0);
            }
        }
        Plain::Append(extra) => bytes.extend_from_slice(extra),
        _ => {}
    }
}

fn apply_stream(bytes: &mut Vec<u8>, mutation: &Stream) {
    let len = bytes.len();
    match mutation {
        Stream::Truncate(at) if len > 0 => bytes.truncate(at.index(len)),
        Stream::FlipBit(at, bit) if len > 0 => bytes[at.index(len)] ^= 1 << bit,
        Stream::SetByte(at, value) if len > 0 => bytes[at.index(len)] = *value,
        Stream::Append(extra) => bytes.extend_from_slice(extra),
        _ => {}
    }
}

/// A hostile file: a valid one, changed before and/or after the optional gzip.
fn hostile() -> impl Strategy<Value = Vec<u8>> {
    (
        valid_plain(),
        prop::collection::vec(plain_mutation(), 0..3),
        any::<bool>(),
        prop::collection::vec(stream_mutation(), 0..2),
    )
        .prop_map(|(mut bytes, plain, gz, stream)| {
            for m in &plain {
                apply_plain(&mut bytes, m);
            }
            if gz {
                bytes = gzip(&bytes);
            }
            for m in &stream {
                apply_stream(&mut bytes, m);
            }
            bytes
        })
}

/// Bytes with no IDX structure: raw garbage, garbage behind the gzip magic, gzip of garbage,
/// and a valid header over garbage.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    let junk = || prop::collection::vec(any::<u8>(), 0..300);
    prop_oneof![
        junk(),
        junk().prop_map(|j| [&[0x1f, 0x8b][..], &j].concat()),
        junk().prop_map(|j| gzip(&j)),
        (word(), word(), word(), word(), junk()).prop_map(|(m, a, b, c, j)| {
            let magic = if m % 2 == 0 {
                idx::IMAGES_MAGIC
            } else {
                idx::LABELS_MAGIC
            };
            let bytes = idx_bytes(magic, &[a, b, c], &j);
            if m % 3 == 0 { gzip(&bytes) } else { bytes }
        }),
    ]
}

// ---- The oracle ----------------------------------------------------------------------

/// The uncompressed bytes, decoded the simple way (whole stream at once: the inputs here
/// are small), or None when the gzip stream is bad.
fn reference_plain(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Some(bytes.to_vec());
    }
    let mut out = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut out).ok()?;
    Some(out)
}

/// What a correct loader returns: the dimensions and the data, or None for an error.
fn reference(bytes: &[u8], kind: Kind) -> Option<(Vec<u32>, Vec<u8>)> {
    let plain = reference_plain(bytes)?;
    let (magic, ndims) = match kind {
        Kind::Images => (idx::IMAGES_MAGIC, 3),
        Kind::Labels => (idx::LABELS_MAGIC, 1),
    };
    let header = 4 + 4 * ndims;
    if plain.len() < header || plain[0..4] != magic.to_be_bytes() {
        return None;
    }
    let dims: Vec<u32> = plain[4..header]
        .chunks(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
        .collect();
    let size: u128 = dims.iter().map(|&d| d as u128).product();
    (size != 0 && size == (plain.len() - header) as u128).then(|| (dims, plain[header..].to_vec()))
}

/// The most a parse of `bytes` may allocate: twice the decoded size (a growing Vec), plus
/// the decoder's fixed overhead. A bad gzip stream is bounded by deflate's 1032:1 ratio.
fn allocation_limit(bytes: &[u8]) -> usize {
    let decoded = reference_plain(bytes).map_or(1032 * bytes.len(), |p| p.len());
    2 * decoded + OVERHEAD
}

const NAME: &str = "gen.idx";

fn check_error(err: &IdxError) -> Result<(), TestCaseError> {
    let message = err.to_string();
    prop_assert!(message.starts_with(NAME), "{message}");
    prop_assert!(!message.contains('\n'), "{message}");
    Ok(())
}

/// Parse `bytes` as both kinds, with and without a length hint, and hold each result
/// against the reference and the allocation limit.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let name = Path::new(NAME);
    let limit = allocation_limit(bytes);
    for hint in [Some(bytes.len() as u64), None] {
        let (result, peak) = peak_during(|| idx::parse_images(name, bytes, hint));
        prop_assert!(
            peak <= limit,
            "images: {peak} bytes allocated, limit {limit}"
        );
        match (result, reference(bytes, Kind::Images)) {
            (Ok(images), Some((dims, data))) => {
                prop_assert_eq!(
                    [images.count, images.height, images.width].map(|d| d as u32),
                    [dims[0], dims[1], dims[2]]
                );
                prop_assert_eq!(
                    images.pixels.len(),
                    images.count * images.height * images.width
                );
                prop_assert_eq!(images.pixels, data);
            }
            (Err(err), None) => check_error(&err)?,
            (result, expected) => prop_assert!(
                false,
                "images, hint {hint:?}: got {result:?}, reference {:?}",
                expected.map(|(dims, _)| dims)
            ),
        }

        let (result, peak) = peak_during(|| idx::parse_labels(name, bytes, hint));
        prop_assert!(
            peak <= limit,
            "labels: {peak} bytes allocated, limit {limit}"
        );
        match (result, reference(bytes, Kind::Labels)) {
            (Ok(labels), Some((_, data))) => prop_assert_eq!(labels, data),
            (Err(err), None) => check_error(&err)?,
            (result, expected) => prop_assert!(
                false,
                "labels, hint {hint:?}: got {result:?}, reference {:?}",
                expected.map(|(dims, _)| dims)
            ),
        }
    }
    Ok(())
}

fn config() -> ProptestConfig {
    // Default (or PROPTEST_CASES) case count; no regression file, see the header.
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn valid_images_round_trip(images in images(), gz in any::<bool>()) {
        let mut bytes = images_bytes(&images);
        if gz {
            bytes = gzip(&bytes);
        }
        let len = Some(bytes.len() as u64);
        prop_assert_eq!(idx::parse_images(Path::new(NAME), bytes.as_slice(), len).unwrap(), images.clone());
        prop_assert_eq!(idx::parse_images(Path::new(NAME), bytes.as_slice(), None).unwrap(), images);
    }

    #[test]
    fn valid_labels_round_trip(labels in labels(), gz in any::<bool>()) {
        let mut bytes = labels_bytes(&labels);
        if gz {
            bytes = gzip(&bytes);
        }
        let len = Some(bytes.len() as u64);
        prop_assert_eq!(idx::parse_labels(Path::new(NAME), bytes.as_slice(), len).unwrap(), labels.clone());
        prop_assert_eq!(idx::parse_labels(Path::new(NAME), bytes.as_slice(), None).unwrap(), labels);
    }

    #[test]
    fn hostile_files_load_exactly_or_fail_typed(bytes in hostile()) {
        check(&bytes)?;
    }

    #[test]
    fn garbage_fails_typed(bytes in garbage()) {
        check(&bytes)?;
    }

    /// The same through real files: `read_images`/`read_labels` open them and take the
    /// length from the file's metadata.
    #[test]
    fn files_on_disk_agree_with_the_reference(bytes in prop_oneof![hostile(), garbage()]) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(NAME);
        std::fs::write(&path, &bytes).unwrap();
        let limit = allocation_limit(&bytes);
        let (result, peak) = peak_during(|| idx::read_images(&path));
        prop_assert!(peak <= limit, "{peak} bytes allocated, limit {limit}");
        prop_assert_eq!(result.is_ok(), reference(&bytes, Kind::Images).is_some(), "{:?}", result);
        let (result, peak) = peak_during(|| idx::read_labels(&path));
        prop_assert!(peak <= limit, "{peak} bytes allocated, limit {limit}");
        prop_assert_eq!(result.is_ok(), reference(&bytes, Kind::Labels).is_some(), "{:?}", result);
    }
}

// ---- Huge claims, deterministic ------------------------------------------------------

/// Parse images from `bytes` with and without a length hint; each must fail, allocating
/// next to nothing. Returns the two errors.
fn refused_cheaply(bytes: &[u8]) -> [IdxError; 2] {
    [Some(bytes.len() as u64), None].map(|hint| {
        let (result, peak) = peak_during(|| idx::parse_images(Path::new(NAME), bytes, hint));
        assert!(peak <= OVERHEAD, "{peak} bytes allocated");
        result.unwrap_err()
    })
}

#[test]
fn huge_claims_raw_are_refused_before_reading() {
    for dims in [
        [4_000_000_000, 28, 28],
        [u32::MAX; 3],
        [4_000_000_000, 1, 1],
    ] {
        let bytes = idx_bytes(idx::IMAGES_MAGIC, &dims, &[7; 16]);
        let [hinted, streamed] = refused_cheaply(&bytes);
        // With the length known, the header is compared with it first.
        assert!(matches!(hinted, IdxError::SizeMismatch { .. }), "{hinted}");
        assert!(
            matches!(
                streamed,
                IdxError::SizeMismatch { .. } | IdxError::TooLarge { .. }
            ),
            "{streamed}"
        );
    }
}

#[test]
fn gzip_claims_over_the_cap_are_too_large() {
    let bytes = gzip(&idx_bytes(
        idx::IMAGES_MAGIC,
        &[4_000_000_000, 28, 28],
        &[7; 16],
    ));
    for err in refused_cheaply(&bytes) {
        assert!(matches!(err, IdxError::TooLarge { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "gen.idx: header claims 3136000000000 bytes of data, more than aelab loads (16 GiB)"
        );
    }
}

#[test]
fn gzip_claims_under_the_cap_allocate_only_what_decodes() {
    // 4 GB claimed (under the cap), 16 bytes present: a mismatch, not a 4 GB buffer.
    let bytes = gzip(&idx_bytes(
        idx::IMAGES_MAGIC,
        &[4_000_000_000, 1, 1],
        &[7; 16],
    ));
    for err in refused_cheaply(&bytes) {
        assert!(
            matches!(err, IdxError::SizeMismatch { actual: 16, .. }),
            "{err}"
        );
    }
}

#[test]
fn gzip_bomb_beyond_the_claim_is_counted_not_kept() {
    // One 1x1 image claimed, 16 MiB decoded: the excess streams through, counted.
    let data = vec![0u8; 16 << 20];
    let bytes = gzip(&idx_bytes(idx::IMAGES_MAGIC, &[1, 1, 1], &data));
    for err in refused_cheaply(&bytes) {
        assert!(
            matches!(err, IdxError::SizeMismatch { actual, .. } if actual == 16 << 20),
            "{err}"
        );
    }
}

#[test]
fn zero_dimensions_are_bad_dimensions_raw_and_gzip() {
    for dims in [[0, 28, 28], [3, 0, 28], [3, 28, 0]] {
        let raw = idx_bytes(idx::IMAGES_MAGIC, &dims, &[]);
        for bytes in [gzip(&raw), raw] {
            for err in refused_cheaply(&bytes) {
                assert!(matches!(err, IdxError::BadDimensions { .. }), "{err}");
            }
        }
    }
}

#[test]
fn gzip_of_nothing_is_empty() {
    for err in refused_cheaply(&gzip(&[])) {
        assert!(matches!(err, IdxError::Empty { .. }), "{err}");
    }
}

/// A reader failure under the gzip decoder is a read error, not a bad gzip stream.
#[test]
fn read_errors_under_gzip_are_io_errors() {
    struct Failing(Vec<u8>);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
            Ok(n)
        }
    }
    let mut bytes = gzip(&idx_bytes(idx::IMAGES_MAGIC, &[2, 2, 2], &[1; 8]));
    bytes.truncate(bytes.len() / 2);
    let err = idx::parse_images(Path::new(NAME), Failing(bytes), None).unwrap_err();
    assert!(matches!(err, IdxError::Io { .. }), "{err}");
    assert!(err.to_string().contains("disk on fire"), "{err}");
}
