//! The IDX loader: round trips, and a typed, named error for every kind of bad file.

mod common;

use std::fs;
use std::io::Write;

use aelab::data::idx::{self, IdxError, Images};

fn sample() -> Images {
    common::synthetic_images(5, 6, 4)
}

#[test]
fn images_round_trip_raw_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    for gzip in [false, true] {
        let path = dir.path().join(format!("imgs-{gzip}.idx"));
        idx::write_images(&path, &sample(), gzip).unwrap();
        let raw = fs::read(&path).unwrap();
        assert_eq!(raw.starts_with(&[0x1f, 0x8b]), gzip);
        assert_eq!(idx::read_images(&path).unwrap(), sample());
    }
}

#[test]
fn labels_round_trip_raw_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let labels = vec![3u8, 1, 4, 1, 5, 9];
    for gzip in [false, true] {
        let path = dir.path().join(format!("labels-{gzip}"));
        idx::write_labels(&path, &labels, gzip).unwrap();
        assert_eq!(idx::read_labels(&path).unwrap(), labels);
    }
}

#[test]
fn bundled_mnist_has_the_published_shape() {
    let images = idx::read_images(&common::mnist_test_images()).unwrap();
    assert_eq!(
        (images.count, images.height, images.width),
        (10_000, 28, 28)
    );
    let labels_path = common::mnist_test_images().with_file_name("t10k-labels-idx1-ubyte.gz");
    let labels = idx::read_labels(&labels_path).unwrap();
    assert_eq!(labels.len(), 10_000);
    assert_eq!(labels.iter().max(), Some(&9));
}

/// Write `bytes` to a file and read it as images; the error must name the file.
fn read_bytes_as_images(bytes: &[u8]) -> IdxError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.idx");
    fs::write(&path, bytes).unwrap();
    let err = idx::read_images(&path).unwrap_err();
    assert!(err.to_string().contains("bad.idx"), "{err}");
    assert!(!err.to_string().contains('\n'), "{err}");
    err
}

fn header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes
}

#[test]
fn missing_file_is_not_found() {
    let err = idx::read_images(std::path::Path::new("/no/such/file.idx")).unwrap_err();
    assert!(matches!(err, IdxError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("/no/such/file.idx"));
}

#[test]
fn empty_file_is_reported() {
    assert!(matches!(read_bytes_as_images(b""), IdxError::Empty { .. }));
}

#[test]
fn truncated_header_is_reported() {
    let err = read_bytes_as_images(&header(idx::IMAGES_MAGIC, &[1, 2]));
    assert!(matches!(err, IdxError::TruncatedHeader { .. }), "{err}");
}

#[test]
fn truncated_data_is_a_size_mismatch() {
    let mut bytes = header(idx::IMAGES_MAGIC, &[2, 4, 4]);
    bytes.extend_from_slice(&[0; 31]);
    let err = read_bytes_as_images(&bytes);
    assert!(matches!(err, IdxError::SizeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("32 bytes"), "{err}");
}

#[test]
fn trailing_bytes_are_a_size_mismatch() {
    let mut bytes = header(idx::IMAGES_MAGIC, &[1, 2, 2]);
    bytes.extend_from_slice(&[0; 5]);
    assert!(matches!(
        read_bytes_as_images(&bytes),
        IdxError::SizeMismatch { .. }
    ));
}

#[test]
fn wrong_magic_is_reported() {
    let mut bytes = header(0x1234_5678, &[1, 1, 1]);
    bytes.push(0);
    let err = read_bytes_as_images(&bytes);
    assert!(matches!(err, IdxError::BadMagic { .. }), "{err}");
}

#[test]
fn zero_images_are_reported() {
    let err = read_bytes_as_images(&header(idx::IMAGES_MAGIC, &[0, 28, 28]));
    assert!(err.to_string().contains("zero images"), "{err}");
}

#[test]
fn zero_sized_images_are_reported() {
    let err = read_bytes_as_images(&header(idx::IMAGES_MAGIC, &[3, 0, 28]));
    assert!(matches!(err, IdxError::BadDimensions { .. }), "{err}");
}

#[test]
fn huge_claimed_dimensions_do_not_allocate_or_panic() {
    let mut bytes = header(idx::IMAGES_MAGIC, &[4_000_000_000, 65_535, 65_535]);
    bytes.extend_from_slice(&[0; 16]);
    assert!(matches!(
        read_bytes_as_images(&bytes),
        IdxError::SizeMismatch { .. }
    ));
}

#[test]
fn labels_file_given_for_images_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels.idx");
    idx::write_labels(&path, &[1, 2, 3], false).unwrap();
    let err = idx::read_images(&path).unwrap_err();
    assert!(matches!(err, IdxError::LabelsNotImages { .. }), "{err}");
    let err = idx::read_labels(&dir.path().join("labels.idx")).map(|_| ());
    assert!(err.is_ok());
}

#[test]
fn images_file_given_for_labels_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imgs.idx");
    idx::write_images(&path, &sample(), false).unwrap();
    let err = idx::read_labels(&path).unwrap_err();
    assert!(matches!(err, IdxError::ImagesNotLabels { .. }), "{err}");
}

#[test]
fn corrupt_gzip_is_reported() {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(&header(idx::IMAGES_MAGIC, &[1, 2, 2]))
        .unwrap();
    encoder.write_all(&[1, 2, 3, 4]).unwrap();
    let mut gz = encoder.finish().unwrap();
    gz.truncate(gz.len() - 6);
    let err = read_bytes_as_images(&gz);
    assert!(matches!(err, IdxError::Gzip { .. }), "{err}");
}
