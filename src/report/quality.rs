//! Reconstruction quality in image-restoration units, as scikit-image computes them:
//! `peak_signal_noise_ratio` and `structural_similarity` (its defaults: a 7x7 uniform
//! window, K1 0.01, K2 0.03, the sample covariance), both with `data_range=1` for pixels
//! in [0, 1]. Computed in f64 like scikit-image, so the figures compare to its digits.

use crate::data::augment::unit_pixel;
use crate::data::idx::Images;

/// scikit-image's default window side.
const WINDOW: usize = 7;
const K1: f64 = 0.01;
const K2: f64 = 0.03;

/// One image's reconstruction error, in the three units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImageScore {
    pub mse: f64,
    pub psnr: f64,
    pub ssim: f64,
}

/// Images `indices` of `images` against their reconstructions (`reconstructions`: one
/// image after another, pixels in [0, 1], in the order of `indices`).
pub fn score_images(
    images: &Images,
    indices: &[usize],
    reconstructions: &[f32],
) -> Vec<ImageScore> {
    let (height, width) = (images.height, images.width);
    let size = height * width;
    assert_eq!(
        reconstructions.len(),
        indices.len() * size,
        "one reconstruction per image"
    );
    indices
        .iter()
        .zip(reconstructions.chunks(size))
        .map(|(&index, output)| {
            let target: Vec<f32> = images.image(index).iter().map(|&p| unit_pixel(p)).collect();
            let mse = mse(&target, output);
            ImageScore {
                mse,
                psnr: psnr_of(mse),
                ssim: ssim(&target, output, height, width),
            }
        })
        .collect()
}

/// A set of reconstructions' mean PSNR (of each image's) and mean SSIM: the units of
/// image-restoration work, beside the loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quality {
    pub psnr: f64,
    pub ssim: f64,
}

impl Quality {
    /// The means over `scores` (not empty).
    pub fn mean(scores: &[ImageScore]) -> Self {
        let mean =
            |f: fn(&ImageScore) -> f64| scores.iter().map(f).sum::<f64>() / scores.len() as f64;
        Self {
            psnr: mean(|s| s.psnr),
            ssim: mean(|s| s.ssim),
        }
    }
}

/// The mean squared error of `output` against `target`, in f64.
pub fn mse(target: &[f32], output: &[f32]) -> f64 {
    assert_eq!(target.len(), output.len(), "two images of one size");
    let sum: f64 = target
        .iter()
        .zip(output)
        .map(|(&t, &o)| (f64::from(t) - f64::from(o)).powi(2))
        .sum();
    sum / target.len() as f64
}

/// Peak signal-to-noise ratio in dB of `output` against `target` (pixels in [0, 1]):
/// `10 log10(1 / MSE)`; infinite for a perfect reconstruction.
pub fn psnr(target: &[f32], output: &[f32]) -> f64 {
    psnr_of(mse(target, output))
}

/// The PSNR in dB of a mean squared error of pixels in [0, 1].
pub fn psnr_of(mse: f64) -> f64 {
    -10.0 * mse.log10()
}

/// The mean structural similarity of two `height` x `width` images (pixels in [0, 1]).
/// scikit-image averages the SSIM map over the pixels at least half a window from every
/// edge, whose windows lie inside the image, so no edge handling enters the figure.
/// Needs both sides of at least 7 pixels.
pub fn ssim(target: &[f32], output: &[f32], height: usize, width: usize) -> f64 {
    assert_eq!(target.len(), height * width, "target is height x width");
    assert_eq!(output.len(), height * width, "output is height x width");
    assert!(
        height >= WINDOW && width >= WINDOW,
        "SSIM needs images of at least {WINDOW}x{WINDOW}"
    );
    let n = (WINDOW * WINDOW) as f64;
    // The sample covariance, as scikit-image's `use_sample_covariance=True`.
    let sample = n / (n - 1.0);
    let (c1, c2) = (K1 * K1, K2 * K2);
    let half = WINDOW / 2;
    let mut sum = 0.0;
    let mut count = 0usize;
    for row in half..height - half {
        for column in half..width - half {
            let [mut x, mut y, mut xx, mut yy, mut xy] = [0f64; 5];
            for r in row - half..=row + half {
                for c in column - half..=column + half {
                    let (a, b) = (
                        f64::from(target[r * width + c]),
                        f64::from(output[r * width + c]),
                    );
                    x += a;
                    y += b;
                    xx += a * a;
                    yy += b * b;
                    xy += a * b;
                }
            }
            let (ux, uy) = (x / n, y / n);
            let vx = sample * (xx / n - ux * ux);
            let vy = sample * (yy / n - uy * uy);
            let vxy = sample * (xy / n - ux * uy);
            let numerator = (2.0 * ux * uy + c1) * (2.0 * vxy + c2);
            let denominator = (ux * ux + uy * uy + c1) * (vx + vy + c2);
            sum += numerator / denominator;
            count += 1;
        }
    }
    sum / count as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_against_itself_is_perfect() {
        let image: Vec<f32> = (0..64).map(|i| (i % 7) as f32 / 7.0).collect();
        assert_eq!(psnr(&image, &image), f64::INFINITY);
        assert!((ssim(&image, &image, 8, 8) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn psnr_is_ten_log_of_one_over_the_mse() {
        let target = vec![0.0f32; 4];
        let output = vec![0.1f32; 4];
        // MSE 0.01: 20 dB (to f32's 0.1).
        assert!((psnr(&target, &output) - 20.0).abs() < 1e-5);
    }
}
