//! Training the autoencoder: RMSprop on the MSE between images and their reconstructions,
//! and a validation pass per epoch. With noise on the inputs (`--noise`) it is a denoising
//! autoencoder: noisy images in, the clean ones as targets, in validation too (each
//! validation image with the same noise every epoch). The kept model's reconstructions of
//! the validation images are scored at the end in PSNR and SSIM.

use burn::module::AutodiffModule;
use burn::nn::loss::{MseLoss, Reduction};
use burn::prelude::*;

use super::epochs::{Epochs, Start, Steps};
use super::progress::Progress;
use super::{NoMetrics, Run, Schedule, TrainError, VALIDATION_BATCH, read_scalar};
use crate::data::augment::{Inputs, add_noise, unit_pixel, validation_noise_stream};
use crate::data::dataset::{Rng, Split, image_batch, pixel_batch};
use crate::data::idx::Images;
use crate::model::seeded::init_seeded;
use crate::model::{Autoencoder, AutoencoderConfig, ModelBackend, TrainBackend};
use crate::report::quality::{Quality, score_images};

/// A finished autoencoder run.
pub type AutoencoderRun<B> = Run<AutoencoderConfig, NoMetrics, Autoencoder<B>>;

/// Train an autoencoder on `split.train`, validating on `split.valid` after each epoch:
/// from fresh weights, or on from a checkpoint, as `start` says.
pub fn train_autoencoder<B: TrainBackend>(
    images: &Images,
    split: &Split,
    config: &AutoencoderConfig,
    schedule: &Schedule,
    start: Start<NoMetrics>,
    device: &B::Device,
    progress: &mut dyn Progress,
) -> Result<AutoencoderRun<B>, TrainError> {
    let mut epochs = Epochs::new(&split.train, schedule, &[schedule.epochs], start.checkpoint);
    let model = match start.resume {
        Some(saved) => epochs.resume(saved, config.init::<B>(device), device)?,
        None => init_seeded::<_, B>(config, schedule.seed, device),
    };
    let mut steps = Reconstruction {
        images,
        valid: &split.valid,
        inputs: schedule.inputs,
        noise: ValidationNoise::of(schedule),
        device,
    };
    let rate = schedule.learning_rate;
    let model = epochs.run(&mut steps, model, 0, rate, device, progress)?;
    let noise = ValidationNoise::of(schedule);
    let reconstructions = reconstruct(&model.valid(), images, &split.valid, noise, device);
    let quality = Quality::mean(&score_images(images, &split.valid, &reconstructions));
    Ok(AutoencoderRun {
        config: *config,
        schedule: *schedule,
        train_seconds: epochs.seconds(),
        history: epochs.history,
        stages: epochs.stages,
        quality: Some(quality),
        model,
    })
}

/// The autoencoder's steps: reconstruct the batch (as moved, with noise), MSE against the
/// clean batch.
struct Reconstruction<'a, D> {
    images: &'a Images,
    valid: &'a [usize],
    inputs: Inputs,
    noise: ValidationNoise,
    device: &'a D,
}

impl<B: TrainBackend> Steps<B> for Reconstruction<'_, B::Device> {
    type Model = Autoencoder<B>;
    type Metrics = NoMetrics;

    fn train_step(
        &mut self,
        model: &Autoencoder<B>,
        batch: &[usize],
        rng: &mut Rng,
    ) -> Tensor<B, 1> {
        let batch = self.inputs.batch(self.images, batch, rng);
        let target = pixel_batch::<B>(batch.clean, self.images, self.device);
        let input = batch
            .noisy
            .map(|noisy| pixel_batch(noisy, self.images, self.device));
        denoising_loss(model, input, target)
    }

    fn validation_pass(
        &mut self,
        model: &Autoencoder<B::InnerBackend>,
        _trained: usize,
    ) -> (f64, NoMetrics) {
        let loss = validation_loss(model, self.images, self.valid, self.noise, self.device);
        (loss, NoMetrics)
    }
}

/// Mean squared error between a batch and its reconstruction.
pub fn reconstruction_loss<B: ModelBackend>(
    model: &Autoencoder<B>,
    batch: Tensor<B, 4>,
) -> Tensor<B, 1> {
    denoising_loss(model, None, batch)
}

/// Mean squared error between `target` and the reconstruction of `input` (of `target`
/// itself when there is none).
fn denoising_loss<B: ModelBackend>(
    model: &Autoencoder<B>,
    input: Option<Tensor<B, 4>>,
    target: Tensor<B, 4>,
) -> Tensor<B, 1> {
    let reconstruction = model.forward(input.unwrap_or_else(|| target.clone()));
    MseLoss::new().forward(reconstruction, target, Reduction::Mean)
}

/// The noise on validation images: standard deviation `std` (0: none), each image's own
/// from `seed`, the same every epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValidationNoise {
    pub std: f64,
    pub seed: u64,
}

impl ValidationNoise {
    pub const NONE: Self = Self { std: 0.0, seed: 0 };

    /// The noise a run of `schedule` validates with.
    pub fn of(schedule: &Schedule) -> Self {
        Self {
            std: schedule.inputs.noise,
            seed: schedule.seed,
        }
    }

    /// The images `indices` with their noise, or `None` when there is none.
    pub fn noisy(&self, images: &Images, indices: &[usize]) -> Option<Vec<f32>> {
        (self.std > 0.0).then(|| {
            let size = images.height * images.width;
            let mut pixels = Vec::with_capacity(indices.len() * size);
            for &index in indices {
                let start = pixels.len();
                pixels.extend(images.image(index).iter().map(|&p| unit_pixel(p)));
                let mut rng = validation_noise_stream(self.seed, index);
                add_noise(&mut pixels[start..], self.std, &mut rng);
            }
            pixels
        })
    }

    /// The same as a batch on `device`.
    pub fn batch<B: Backend>(
        &self,
        images: &Images,
        indices: &[usize],
        device: &B::Device,
    ) -> Option<Tensor<B, 4>> {
        self.noisy(images, indices)
            .map(|noisy| pixel_batch(noisy, images, device))
    }
}

/// The model's reconstructions of images `indices` (with `noise`), in eval mode: one image
/// after another, in the order of `indices`.
pub fn reconstruct<B: ModelBackend>(
    model: &Autoencoder<B>,
    images: &Images,
    indices: &[usize],
    noise: ValidationNoise,
    device: &B::Device,
) -> Vec<f32> {
    let mut pixels = Vec::with_capacity(indices.len() * images.height * images.width);
    for chunk in indices.chunks(VALIDATION_BATCH) {
        let input = noise
            .batch(images, chunk, device)
            .unwrap_or_else(|| image_batch::<B>(images, chunk, device));
        pixels.extend(model.forward(input).into_data().iter::<f32>());
    }
    pixels
}

/// Mean reconstruction loss over `indices`, in eval mode (BatchNorm uses running
/// statistics), of the images with `noise` against the clean ones.
pub fn validation_loss<B: ModelBackend>(
    model: &Autoencoder<B>,
    images: &Images,
    indices: &[usize],
    noise: ValidationNoise,
    device: &B::Device,
) -> f64 {
    let mut sum = Tensor::<B, 1>::zeros([1], device);
    for chunk in indices.chunks(VALIDATION_BATCH) {
        let target = image_batch::<B>(images, chunk, device);
        let input = noise.batch(images, chunk, device);
        sum = sum + denoising_loss(model, input, target).mul_scalar(chunk.len() as f64);
    }
    read_scalar(sum) / indices.len() as f64
}
