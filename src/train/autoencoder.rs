//! Training the autoencoder: RMSprop on the MSE between images and their reconstructions,
//! and a validation pass per epoch.

use burn::nn::loss::{MseLoss, Reduction};
use burn::prelude::*;

use super::epochs::{Epochs, Start, Steps};
use super::progress::Progress;
use super::{NoMetrics, Run, Schedule, TrainError, VALIDATION_BATCH, read_scalar};
use crate::data::dataset::{Split, image_batch};
use crate::data::idx::Images;
use crate::model::seeded::init_seeded;
use crate::model::{Autoencoder, AutoencoderConfig, ModelBackend, TrainBackend};

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
        device,
    };
    let rate = schedule.learning_rate;
    let model = epochs.run(&mut steps, model, 0, rate, device, progress)?;
    Ok(AutoencoderRun {
        config: *config,
        schedule: *schedule,
        train_seconds: epochs.seconds(),
        history: epochs.history,
        stages: epochs.stages,
        model,
    })
}

/// The autoencoder's steps: reconstruct the batch, MSE against itself.
struct Reconstruction<'a, D> {
    images: &'a Images,
    valid: &'a [usize],
    device: &'a D,
}

impl<B: TrainBackend> Steps<B> for Reconstruction<'_, B::Device> {
    type Model = Autoencoder<B>;
    type Metrics = NoMetrics;

    fn train_step(&mut self, model: &Autoencoder<B>, batch: &[usize]) -> Tensor<B, 1> {
        reconstruction_loss(model, image_batch::<B>(self.images, batch, self.device))
    }

    fn validation_pass(
        &mut self,
        model: &Autoencoder<B::InnerBackend>,
        _trained: usize,
    ) -> (f64, NoMetrics) {
        let loss = validation_loss(model, self.images, self.valid, self.device);
        (loss, NoMetrics)
    }
}

/// Mean squared error between a batch and its reconstruction.
pub fn reconstruction_loss<B: ModelBackend>(
    model: &Autoencoder<B>,
    batch: Tensor<B, 4>,
) -> Tensor<B, 1> {
    let reconstruction = model.forward(batch.clone());
    MseLoss::new().forward(reconstruction, batch, Reduction::Mean)
}

/// Mean reconstruction loss over `indices`, in eval mode (BatchNorm uses running statistics).
pub fn validation_loss<B: ModelBackend>(
    model: &Autoencoder<B>,
    images: &Images,
    indices: &[usize],
    device: &B::Device,
) -> f64 {
    let mut sum = Tensor::<B, 1>::zeros([1], device);
    for chunk in indices.chunks(VALIDATION_BATCH) {
        let batch = image_batch::<B>(images, chunk, device);
        sum = sum + reconstruction_loss(model, batch).mul_scalar(chunk.len() as f64);
    }
    read_scalar(sum) / indices.len() as f64
}
