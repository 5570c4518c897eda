//! The seeded train/validation split, per-epoch shuffling, and image and label batches as
//! tensors.

use std::f64::consts::PI;

use burn::tensor::{Int, Tensor, TensorData, backend::Backend};

use super::augment::unit_pixel;
use super::idx::Images;

/// Fraction of the images held out for validation, as in the original report (80/20).
pub const VALIDATION_FRACTION: f64 = 0.2;

/// A small, fast, seedable generator (SplitMix64). Ours, so a seed gives the same split
/// whatever version of a random-number crate is installed.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0), by rejection so there is no modulo bias.
    pub fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return (x % n) as usize;
            }
        }
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [-1, 1).
    pub fn symmetric(&mut self) -> f64 {
        2.0 * self.unit() - 1.0
    }

    /// Two independent standard normal draws (Box-Muller).
    pub fn normal_pair(&mut self) -> (f64, f64) {
        let radius = (-2.0 * (1.0 - self.unit()).ln()).sqrt();
        let angle = 2.0 * PI * self.unit();
        (radius * angle.cos(), radius * angle.sin())
    }
}

/// Which images train and which validate; disjoint, covering `0..n`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<usize>,
    pub valid: Vec<usize>,
}

impl Split {
    /// Shuffle `0..n` with `seed`; the first ceil(20%) validate, the rest train.
    /// Needs `n >= 2` so that both parts hold at least one image.
    pub fn new(n: usize, seed: u64) -> Self {
        assert!(n >= 2, "a split needs at least two images");
        let mut order: Vec<usize> = (0..n).collect();
        Rng::new(seed).shuffle(&mut order);
        let valid_len = ((n as f64 * VALIDATION_FRACTION).ceil() as usize).clamp(1, n - 1);
        let train = order.split_off(valid_len);
        Self {
            train,
            valid: order,
        }
    }
}

/// Images `indices` as a `[batch, 1, H, W]` tensor of f32 in [0, 1].
pub fn image_batch<B: Backend>(
    images: &Images,
    indices: &[usize],
    device: &B::Device,
) -> Tensor<B, 4> {
    let size = images.height * images.width;
    let mut values = Vec::with_capacity(indices.len() * size);
    for &index in indices {
        values.extend(images.image(index).iter().map(|&p| unit_pixel(p)));
    }
    pixel_batch(values, images, device)
}

/// Pixels of whole images of `like`'s size, back to back, as a `[batch, 1, H, W]` tensor.
pub fn pixel_batch<B: Backend>(
    pixels: Vec<f32>,
    like: &Images,
    device: &B::Device,
) -> Tensor<B, 4> {
    let (height, width) = (like.height, like.width);
    let count = pixels.len() / (height * width);
    Tensor::from_data(TensorData::new(pixels, [count, 1, height, width]), device)
}

/// Labels `indices` as a `[batch]` tensor of class indices.
pub fn label_batch<B: Backend>(
    labels: &[u8],
    indices: &[usize],
    device: &B::Device,
) -> Tensor<B, 1, Int> {
    let values: Vec<i64> = indices.iter().map(|&i| i64::from(labels[i])).collect();
    Tensor::from_data(TensorData::new(values, [indices.len()]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_deterministic_disjoint_and_complete() {
        let a = Split::new(1000, 13);
        assert_eq!(a, Split::new(1000, 13));
        assert_ne!(a, Split::new(1000, 14));
        assert_eq!(a.valid.len(), 200);
        assert_eq!(a.train.len(), 800);
        let mut all: Vec<usize> = a.train.iter().chain(&a.valid).copied().collect();
        all.sort();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn tiny_split_keeps_both_parts() {
        let s = Split::new(2, 1);
        assert_eq!((s.train.len(), s.valid.len()), (1, 1));
    }

    #[test]
    fn rng_below_stays_in_range() {
        let mut rng = Rng::new(7);
        assert!((0..10_000).all(|_| rng.below(3) < 3));
    }
}
