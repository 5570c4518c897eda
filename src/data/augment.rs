//! What a training batch's images go through before the model sees them: random shifts,
//! rotations and zoom (as Keras' RandomTranslation, RandomRotation and RandomZoom), and
//! Gaussian noise on the inputs of a denoising autoencoder. Computed per batch on the CPU,
//! drawn from the batch's own stream (see [`batch_stream`]), so a resumed run draws the
//! same as an uninterrupted one.

use super::dataset::Rng;
use super::idx::Images;

/// Keeps the batches' streams apart from the other streams of the same seed.
const BATCH_STREAM: u64 = 0xa09e_4e47;
/// The fixed noise on each validation image of a denoising autoencoder.
const VALIDATION_NOISE_STREAM: u64 = 0x0715_e5ed;

/// The random stream of batch `batch` (from 0) of epoch `epoch` (from 1): what its
/// augmentation, noise and dropout draw from.
pub fn batch_stream(seed: u64, epoch: usize, batch: usize) -> Rng {
    Rng::new(mix(mix(seed ^ BATCH_STREAM, epoch as u64), batch as u64))
}

/// The stream of validation image `index`'s noise: the same every epoch, so epochs compare.
pub fn validation_noise_stream(seed: u64, index: usize) -> Rng {
    Rng::new(mix(seed ^ VALIDATION_NOISE_STREAM, index as u64))
}

/// A seed for the pair (`a`, `b`), each bit of both mixed in.
fn mix(a: u64, b: u64) -> u64 {
    Rng::new(a ^ Rng::new(b).next_u64()).next_u64()
}

/// Random moves of each training image, each drawn uniformly up to its limit; all 0 (the
/// default) leaves the images as they are.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Augment {
    /// The largest shift each way, as a fraction of the image's width (across) and height.
    pub shift: f64,
    /// The largest rotation each way, in degrees.
    pub rotation: f64,
    /// The largest change of size: scales within 1 ± zoom.
    pub zoom: f64,
}

impl Augment {
    pub const NONE: Self = Self {
        shift: 0.0,
        rotation: 0.0,
        zoom: 0.0,
    };

    /// Whether it moves images at all.
    pub fn moves(&self) -> bool {
        *self != Self::NONE
    }

    /// The images `indices` as pixels in [0, 1], back to back, each moved by its own draw
    /// from `rng` (none drawn when nothing moves).
    pub fn pixels(&self, images: &Images, indices: &[usize], rng: &mut Rng) -> Vec<f32> {
        let (height, width) = (images.height, images.width);
        let mut out = Vec::with_capacity(indices.len() * height * width);
        for &index in indices {
            let image = images.image(index);
            if self.moves() {
                self.draw(rng, height, width)
                    .resample(image, height, width, &mut out);
            } else {
                out.extend(image.iter().map(|&p| unit_pixel(p)));
            }
        }
        out
    }

    /// One image's move: four uniform draws, always in this order.
    fn draw(&self, rng: &mut Rng, height: usize, width: usize) -> Affine {
        let angle = self.rotation.to_radians() * rng.symmetric();
        let scale = 1.0 + self.zoom * rng.symmetric();
        let shift_x = self.shift * width as f64 * rng.symmetric();
        let shift_y = self.shift * height as f64 * rng.symmetric();
        Affine {
            cos: angle.cos() / scale,
            sin: angle.sin() / scale,
            shift: (shift_x, shift_y),
        }
    }
}

/// What each training image goes through: moved, then noise on what the model gets.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Inputs {
    pub augment: Augment,
    /// The standard deviation of the Gaussian noise on the model's inputs (0: none).
    pub noise: f64,
}

/// A training batch's pixels, back to back.
pub struct TrainingBatch {
    /// The images as moved: an autoencoder's targets.
    pub clean: Vec<f32>,
    /// With noise added, when there is noise: what the model gets.
    pub noisy: Option<Vec<f32>>,
}

impl Inputs {
    pub const NONE: Self = Self {
        augment: Augment::NONE,
        noise: 0.0,
    };

    /// The batch of images `indices`, drawn from `rng`: moves first, then noise.
    pub fn batch(&self, images: &Images, indices: &[usize], rng: &mut Rng) -> TrainingBatch {
        let clean = self.augment.pixels(images, indices, rng);
        let noisy = (self.noise > 0.0).then(|| {
            let mut noisy = clean.clone();
            add_noise(&mut noisy, self.noise, rng);
            noisy
        });
        TrainingBatch { clean, noisy }
    }
}

impl TrainingBatch {
    /// What the model gets.
    pub fn input(self) -> Vec<f32> {
        self.noisy.unwrap_or(self.clean)
    }
}

/// A pixel's byte as the models see it.
pub fn unit_pixel(byte: u8) -> f32 {
    f32::from(byte) / 255.0
}

/// Rotation by an angle and scaling about the image's centre, then a shift, kept as its
/// inverse: where each output pixel comes from.
struct Affine {
    /// cos and sin of the angle, over the scale.
    cos: f64,
    sin: f64,
    shift: (f64, f64),
}

impl Affine {
    /// Append the moved image to `out`: each output pixel sampled bilinearly from where the
    /// inverse map puts it; outside the image is background (0).
    fn resample(&self, image: &[u8], height: usize, width: usize, out: &mut Vec<f32>) {
        let (cx, cy) = ((width as f64 - 1.0) / 2.0, (height as f64 - 1.0) / 2.0);
        let at = |row: isize, col: isize| -> f64 {
            if row < 0 || col < 0 || row >= height as isize || col >= width as isize {
                0.0
            } else {
                f64::from(image[row as usize * width + col as usize])
            }
        };
        for row in 0..height {
            for col in 0..width {
                let x = col as f64 - cx - self.shift.0;
                let y = row as f64 - cy - self.shift.1;
                let source_x = self.cos * x + self.sin * y + cx;
                let source_y = -self.sin * x + self.cos * y + cy;
                let (x0, y0) = (source_x.floor(), source_y.floor());
                let (fx, fy) = (source_x - x0, source_y - y0);
                let (c, r) = (x0 as isize, y0 as isize);
                let top = at(r, c) * (1.0 - fx) + at(r, c + 1) * fx;
                let bottom = at(r + 1, c) * (1.0 - fx) + at(r + 1, c + 1) * fx;
                out.push(((top * (1.0 - fy) + bottom * fy) / 255.0) as f32);
            }
        }
    }
}

/// Add Gaussian noise of standard deviation `std` to each pixel and clip to [0, 1], as
/// Keras' denoising autoencoder example does.
pub fn add_noise(pixels: &mut [f32], std: f64, rng: &mut Rng) {
    for pair in pixels.chunks_mut(2) {
        let (a, b) = rng.normal_pair();
        for (pixel, draw) in pair.iter_mut().zip([a, b]) {
            *pixel = (f64::from(*pixel) + std * draw).clamp(0.0, 1.0) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 28x28 image with one bright 4x4 square at rows and columns 10..14.
    fn square() -> Images {
        let mut pixels = vec![0u8; 28 * 28];
        for row in 10..14 {
            for col in 10..14 {
                pixels[row * 28 + col] = 255;
            }
        }
        Images {
            count: 1,
            height: 28,
            width: 28,
            pixels,
        }
    }

    fn centre_of_mass(pixels: &[f32]) -> (f64, f64) {
        let total: f64 = pixels.iter().map(|&p| f64::from(p)).sum();
        let moment = |coordinate: fn(usize) -> usize| {
            let sum: f64 = pixels
                .iter()
                .enumerate()
                .map(|(i, &p)| coordinate(i) as f64 * f64::from(p))
                .sum();
            sum / total
        };
        (moment(|i| i / 28), moment(|i| i % 28))
    }

    #[test]
    fn no_augmentation_is_the_plain_batch_and_draws_nothing() {
        let images = square();
        let mut rng = Rng::new(3);
        let pixels = Augment::NONE.pixels(&images, &[0], &mut rng);
        let plain: Vec<f32> = images.pixels.iter().map(|&p| unit_pixel(p)).collect();
        assert_eq!(pixels, plain);
        assert_eq!(rng, Rng::new(3));
    }

    #[test]
    fn moves_stay_within_their_limits_and_follow_the_seed() {
        let images = square();
        let shift = Augment {
            shift: 0.1,
            ..Augment::NONE
        };
        let mut rng = Rng::new(5);
        let mut offsets = Vec::new();
        for _ in 0..200 {
            let (row, col) = centre_of_mass(&shift.pixels(&images, &[0], &mut rng));
            let (dy, dx) = (row - 11.5, col - 11.5);
            assert!(
                dy.abs() <= 2.8 + 1e-9 && dx.abs() <= 2.8 + 1e-9,
                "{dy}, {dx}"
            );
            offsets.push(dx);
        }
        // The draws spread over the range, both ways.
        assert!(offsets.iter().any(|&d| d > 2.0) && offsets.iter().any(|&d| d < -2.0));
        let again = shift.pixels(&images, &[0], &mut Rng::new(5));
        assert_eq!(again, shift.pixels(&images, &[0], &mut Rng::new(5)));
        assert_ne!(again, shift.pixels(&images, &[0], &mut Rng::new(6)));
    }

    #[test]
    fn rotation_and_zoom_keep_the_centre_and_change_the_size() {
        // A square at the centre: rotating keeps its centre and roughly its ink; zooming
        // changes the ink by the scale squared.
        let mut images = square();
        images.pixels.fill(0);
        for row in 12..16 {
            for col in 12..16 {
                images.pixels[row * 28 + col] = 255;
            }
        }
        let ink = |pixels: &[f32]| pixels.iter().map(|&p| f64::from(p)).sum::<f64>();
        let turn = Augment {
            rotation: 30.0,
            ..Augment::NONE
        };
        let mut rng = Rng::new(1);
        for _ in 0..20 {
            let pixels = turn.pixels(&images, &[0], &mut rng);
            let (row, col) = centre_of_mass(&pixels);
            assert!((row - 13.5).abs() < 1e-6 && (col - 13.5).abs() < 1e-6);
            assert!((ink(&pixels) - 16.0).abs() < 2.0, "{}", ink(&pixels));
        }
        let zoom = Augment {
            zoom: 0.5,
            ..Augment::NONE
        };
        let inks: Vec<f64> = (0..50)
            .map(|_| ink(&zoom.pixels(&images, &[0], &mut rng)))
            .collect();
        assert!(
            inks.iter()
                .all(|&i| (16.0 * 0.25 - 1.0..16.0 * 2.25 + 4.0).contains(&i))
        );
        assert!(inks.iter().any(|&i| i > 25.0) && inks.iter().any(|&i| i < 10.0));
    }

    #[test]
    fn noise_has_the_asked_spread_and_stays_in_range() {
        let mut pixels = vec![0.5f32; 20_000];
        add_noise(&mut pixels, 0.1, &mut Rng::new(9));
        let n = pixels.len() as f64;
        let mean = pixels.iter().map(|&p| f64::from(p)).sum::<f64>() / n;
        let var = pixels
            .iter()
            .map(|&p| (f64::from(p) - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
        assert!((var.sqrt() - 0.1).abs() < 0.005, "{}", var.sqrt());
        let mut dark = vec![0.0f32; 1000];
        add_noise(&mut dark, 0.5, &mut Rng::new(9));
        assert!(dark.iter().all(|p| (0.0..=1.0).contains(p)));
        assert!(dark.iter().any(|&p| p > 0.0));
    }

    #[test]
    fn batch_streams_differ_by_seed_epoch_and_batch() {
        let first = |mut rng: Rng| rng.next_u64();
        let a = first(batch_stream(1, 1, 0));
        assert_eq!(a, first(batch_stream(1, 1, 0)));
        for other in [
            batch_stream(2, 1, 0),
            batch_stream(1, 2, 0),
            batch_stream(1, 1, 1),
        ] {
            assert_ne!(a, first(other));
        }
        assert_ne!(
            first(validation_noise_stream(1, 0)),
            first(validation_noise_stream(1, 1))
        );
    }
}
