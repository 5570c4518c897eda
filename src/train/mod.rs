//! Training loops. They report through [`progress::Progress`] and print nothing themselves.

use burn::optim::RmsPropConfig;
use burn::prelude::*;

pub mod autoencoder;
pub mod classifier;
pub mod progress;

/// Keras' RMSprop defaults, which the seed used: learning rate 0.001, rho 0.9, epsilon 1e-7,
/// no momentum.
pub const LEARNING_RATE: f64 = 1e-3;
const RMSPROP_ALPHA: f32 = 0.9;
const RMSPROP_EPSILON: f32 = 1e-7;

/// Validation runs without gradients, so it can take larger batches than training.
pub const VALIDATION_BATCH: usize = 256;

/// Training batches between two reads of the running loss for the progress bar.
const LOSS_READ_INTERVAL: usize = 10;

/// Keeps the shuffling stream apart from the weight-initialisation stream of the same seed.
const SHUFFLE_STREAM: u64 = 0x5eed_5eed;

/// The optimiser both trainers use.
pub fn rmsprop() -> RmsPropConfig {
    RmsPropConfig::new()
        .with_alpha(RMSPROP_ALPHA)
        .with_epsilon(RMSPROP_EPSILON)
        .with_momentum(0.0)
}

fn read_scalar<B: Backend>(tensor: Tensor<B, 1>) -> f64 {
    tensor.into_scalar().elem::<f64>()
}

/// Stop after this batch of `epoch` when Ctrl-C asked to.
fn check_interrupt(epoch: usize) -> Result<(), TrainError> {
    if crate::interrupt::requested() {
        return Err(TrainError::Interrupted { epoch });
    }
    Ok(())
}

fn check_finite(value: f64, epoch: usize) -> Result<f64, TrainError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(TrainError::NonFinite { epoch, value })
    }
}

/// An epoch's training loss, summed on the device and read rarely: each read waits for
/// the device.
struct LossSum<B: Backend> {
    sum: Tensor<B, 1>,
    seen: usize,
}

impl<B: Backend> LossSum<B> {
    fn new(device: &B::Device) -> Self {
        Self {
            sum: Tensor::zeros([1], device),
            seen: 0,
        }
    }

    /// Add a batch of `images` whose mean loss is `loss`.
    fn add(&mut self, loss: Tensor<B, 1>, images: usize) {
        self.sum = self.sum.clone() + loss.mul_scalar(images as f64);
        self.seen += images;
    }

    fn mean(&self) -> f64 {
        read_scalar(self.sum.clone()) / self.seen as f64
    }

    /// Report batch `done` of `batches` (with the running loss every few batches, when
    /// someone watches), and stop if Ctrl-C asked to.
    fn batch_done(
        &self,
        progress: &mut dyn progress::Progress,
        done: usize,
        batches: usize,
        epoch: usize,
    ) -> Result<(), TrainError> {
        let read_now = done.is_multiple_of(LOSS_READ_INTERVAL) || done == batches;
        let running = (progress.wants_batch_loss() && read_now).then(|| self.mean());
        progress.batches_done(done, running);
        check_interrupt(epoch)
    }
}

/// Per-epoch figures, as Keras reports them: the mean training loss over the epoch's
/// batches (train mode) and the validation loss (eval mode).
#[derive(Clone, Debug, PartialEq)]
pub struct EpochStats {
    pub epoch: usize,
    pub loss: f64,
    pub val_loss: f64,
    /// A classifier's accuracy and validation accuracy.
    pub accuracy: Option<Accuracy>,
    pub seconds: f64,
}

/// The fraction of correctly classified images, in training and in validation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Accuracy {
    pub train: f64,
    pub valid: f64,
}

/// How long and in what batches to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(
        "training diverged: the loss became {value} in epoch {epoch}; try a smaller batch size or fewer filters"
    )]
    NonFinite { epoch: usize, value: f64 },
    #[error("stopped by Ctrl-C during epoch {epoch}")]
    Interrupted { epoch: usize },
}
