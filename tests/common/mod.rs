//! Helpers shared by the integration tests: small IDX files made on the fly.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use aelab::data::idx::{self, Images};

/// The bundled MNIST test images (smaller than the training file, same format).
pub fn mnist_test_images() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist/t10k-images-idx3-ubyte.gz")
}

/// The first `n` real MNIST images.
pub fn mnist_images(n: usize) -> Images {
    let mut images = idx::read_images(&mnist_test_images()).unwrap();
    images.truncate(n);
    images
}

/// `count` images of `height` x `width` with a simple moving-blob pattern.
pub fn synthetic_images(count: usize, height: usize, width: usize) -> Images {
    let mut pixels = Vec::with_capacity(count * height * width);
    for i in 0..count {
        let (cy, cx) = ((i * 7) % height, (i * 11) % width);
        for y in 0..height {
            for x in 0..width {
                let d2 = (y as i64 - cy as i64).pow(2) + (x as i64 - cx as i64).pow(2);
                pixels.push(if d2 < 16 { 255 } else { (i % 5) as u8 * 10 });
            }
        }
    }
    Images {
        count,
        height,
        width,
        pixels,
    }
}

/// Write `images` as a gzip IDX file in `dir` and return its path.
pub fn write_images(dir: &Path, name: &str, images: &Images) -> PathBuf {
    let path = dir.join(name);
    idx::write_images(&path, images, true).unwrap();
    path
}

/// The bundled MNIST test labels.
pub fn mnist_test_labels() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist/t10k-labels-idx1-ubyte.gz")
}

/// The first `n` real MNIST labels (of the test set, matching [`mnist_images`]).
pub fn mnist_labels(n: usize) -> Vec<u8> {
    let mut labels = idx::read_labels(&mnist_test_labels()).unwrap();
    labels.truncate(n);
    labels
}

/// Write `labels` as a gzip IDX file in `dir` and return its path.
pub fn write_labels(dir: &Path, name: &str, labels: &[u8]) -> PathBuf {
    let path = dir.join(name);
    idx::write_labels(&path, labels, true).unwrap();
    path
}
