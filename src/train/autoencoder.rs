//! Training the autoencoder: RMSprop on the MSE between images and their reconstructions,
//! and a validation pass per epoch.

use std::time::Instant;

use crate::model::{ModelBackend, TrainBackend};
use burn::module::AutodiffModule;
use burn::nn::loss::{MseLoss, Reduction};
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;

use super::progress::Progress;
use super::{
    EpochStats, LEARNING_RATE, LossSum, SHUFFLE_STREAM, Schedule, TrainError, VALIDATION_BATCH,
    check_finite, read_scalar, rmsprop,
};
use crate::data::dataset::{Rng, Split, image_batch};
use crate::data::idx::Images;
use crate::model::seeded::init_seeded;
use crate::model::{Autoencoder, AutoencoderConfig};

/// A finished training run.
pub struct AutoencoderRun<B: TrainBackend> {
    pub config: AutoencoderConfig,
    pub schedule: Schedule,
    pub history: Vec<EpochStats>,
    /// Wall time of the whole fit, validation included (the seed's Train_Time).
    pub train_seconds: f64,
    pub model: Autoencoder<B>,
}

impl<B: TrainBackend> AutoencoderRun<B> {
    pub fn last(&self) -> &EpochStats {
        self.history.last().expect("a run has at least one epoch")
    }
}

/// Train a fresh autoencoder on `split.train`, validating on `split.valid` after each epoch.
pub fn train_autoencoder<B: TrainBackend>(
    images: &Images,
    split: &Split,
    config: &AutoencoderConfig,
    schedule: &Schedule,
    device: &B::Device,
    progress: &mut dyn Progress,
) -> Result<AutoencoderRun<B>, TrainError> {
    let started = Instant::now();
    let mut model = init_seeded::<_, B>(config, schedule.seed, device);
    let mut optimizer = rmsprop().init();
    let mut rng = Rng::new(schedule.seed ^ SHUFFLE_STREAM);
    let mut order = split.train.clone();
    let batches = order.len().div_ceil(schedule.batch_size);
    let mut history = Vec::with_capacity(schedule.epochs);

    for epoch in 1..=schedule.epochs {
        let epoch_started = Instant::now();
        rng.shuffle(&mut order);
        progress.epoch_started(epoch, schedule.epochs, batches);
        let mut loss_sum = LossSum::<B::InnerBackend>::new(device);
        for (index, chunk) in order.chunks(schedule.batch_size).enumerate() {
            let batch = image_batch::<B>(images, chunk, device);
            let loss = reconstruction_loss(&model, batch);
            loss_sum.add(loss.clone().inner(), chunk.len());
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(LEARNING_RATE, model, grads);
            loss_sum.batch_done(progress, index + 1, batches, epoch)?;
        }
        let loss = check_finite(loss_sum.mean(), epoch)?;
        let val_loss = check_finite(
            validation_loss(&model.valid(), images, &split.valid, device),
            epoch,
        )?;
        let stats = EpochStats {
            epoch,
            loss,
            val_loss,
            accuracy: None,
            seconds: epoch_started.elapsed().as_secs_f64(),
        };
        progress.epoch_finished(&stats, schedule.epochs);
        history.push(stats);
    }

    Ok(AutoencoderRun {
        config: *config,
        schedule: *schedule,
        history,
        train_seconds: started.elapsed().as_secs_f64(),
        model,
    })
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
