//! Training loops. They report through [`progress::Progress`] and print nothing themselves.

use burn::optim::RmsPropConfig;
use burn::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::exit::{ExitKind, InputError, WriteError};
use crate::interrupt::Interrupted;

pub mod autoencoder;
pub mod checkpoint;
pub mod classifier;
pub mod epochs;
pub mod progress;
pub mod stage;

use crate::data::augment::Inputs;
use crate::report::quality::Quality;
use stage::{Controls, Keep, Score, StageEnd};

/// Keras' RMSprop defaults, which the original report used: learning rate 0.001, rho 0.9, epsilon 1e-7,
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

/// Per-epoch figures, as Keras reports them: the mean training loss over the epoch's
/// batches (train mode), the validation loss (eval mode), and what else the kind measures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochStats<M> {
    pub epoch: usize,
    pub loss: f64,
    pub val_loss: f64,
    /// [`NoMetrics`] for the autoencoder, [`Accuracy`] for the classifier.
    pub metrics: M,
    pub seconds: f64,
    /// The learning rate the epoch trained at (unknown in checkpoints older than it).
    #[serde(default)]
    pub learning_rate: Option<f64>,
}

/// What a kind measures per epoch besides the loss.
pub trait Metrics: Copy + std::fmt::Debug + PartialEq + Serialize + DeserializeOwned {
    /// Its part of the epoch's summary line (empty for none), e.g. "  accuracy 0.9812".
    fn summary(&self) -> String;
    /// How good an epoch with these metrics and `val_loss` is on validation, lower better:
    /// what the best epoch and early stopping go by.
    fn score(&self, val_loss: f64) -> Score;
}

/// The autoencoder measures the loss only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn summary(&self) -> String {
        String::new()
    }

    /// The validation loss.
    fn score(&self, val_loss: f64) -> Score {
        Score(val_loss, 0.0)
    }
}

/// The fraction of correctly classified images, in training and in validation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    pub train: f64,
    pub valid: f64,
}

impl Metrics for Accuracy {
    fn summary(&self) -> String {
        format!(
            "  accuracy {:.4}  val_accuracy {:.4}",
            self.train, self.valid
        )
    }

    /// The validation accuracy, then the validation loss among equal accuracies.
    fn score(&self, val_loss: f64) -> Score {
        Score(-self.valid, val_loss)
    }
}

/// The most stages a run trains in (the classifier's two).
pub const MAX_STAGES: usize = 2;

/// A finished run's figures: those of the epoch it kept (its last stage's best or last),
/// how each stage ended, and the wall time of the whole fit with validation included (the
/// original report's Train_Time). What the results tables and the error graphs show.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figures<M> {
    pub loss: f64,
    pub val_loss: f64,
    pub metrics: M,
    pub train_seconds: f64,
    /// Each stage's best and last epoch; unknown in tables older than these columns.
    pub stages: [Option<StageEnd>; MAX_STAGES],
    /// The kept autoencoder's mean PSNR and SSIM on the validation images; none for a
    /// classifier, unknown in tables older than these columns.
    pub quality: Option<Quality>,
}

/// The figures of a run whose epochs were `history`, whose stages ended as `stages`,
/// keeping `keep`, and which took `train_seconds`.
pub fn final_figures<M: Metrics>(
    history: &[EpochStats<M>],
    stages: &[StageEnd],
    keep: Keep,
    train_seconds: f64,
    quality: Option<Quality>,
) -> Figures<M> {
    let last = history.last().expect("a run has at least one epoch");
    let kept = stages.last().map_or(last.epoch, |end| end.kept(keep));
    let kept = history.iter().find(|e| e.epoch == kept).unwrap_or(last);
    let mut ends = [None; MAX_STAGES];
    for (slot, end) in ends.iter_mut().zip(stages) {
        *slot = Some(*end);
    }
    Figures {
        loss: kept.loss,
        val_loss: kept.val_loss,
        metrics: kept.metrics,
        train_seconds,
        stages: ends,
        quality,
    }
}

/// How long, in what batches and at what learning rate to train, and what each stage
/// does between epochs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    /// RMSprop's learning rate (the classifier's first stage's).
    pub learning_rate: f64,
    pub controls: Controls,
    /// What each training image goes through.
    pub inputs: Inputs,
}

/// A finished training run: what was trained and how, its epochs, and the trained model.
pub struct Run<C, M, Model> {
    /// The architecture.
    pub config: C,
    pub schedule: Schedule,
    /// Every epoch, numbered from 1 (a classifier's both stages).
    pub history: Vec<EpochStats<M>>,
    /// How each stage ended.
    pub stages: Vec<StageEnd>,
    /// Wall time of the whole fit, validation included (the original report's Train_Time).
    pub train_seconds: f64,
    /// The autoencoder's, of the model kept (see [`Figures::quality`]).
    pub quality: Option<Quality>,
    pub model: Model,
}

impl<C, M: Metrics, Model> Run<C, M, Model> {
    pub fn figures(&self) -> Figures<M> {
        let keep = self.schedule.controls.keep;
        final_figures(
            &self.history,
            &self.stages,
            keep,
            self.train_seconds,
            self.quality,
        )
    }

    /// The last epoch of the first stage, when there are two.
    pub fn stage_boundary(&self) -> Option<usize> {
        (self.stages.len() > 1).then(|| self.stages[0].last)
    }
}

/// Why training stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(
        "training diverged: the loss became {value} in epoch {epoch}; try a smaller batch size or fewer filters"
    )]
    NonFinite { epoch: usize, value: f64 },
    #[error(transparent)]
    Interrupted(Interrupted),
    /// A checkpoint could not be written.
    #[error(transparent)]
    Checkpoint(#[from] WriteError),
    /// The checkpoint to resume from cannot be used.
    #[error(transparent)]
    Resume(InputError),
}

impl TrainError {
    pub fn exit_kind(&self) -> ExitKind {
        match self {
            Self::NonFinite { .. } | Self::Checkpoint(_) => ExitKind::Failure,
            Self::Interrupted(_) => ExitKind::Interrupted,
            Self::Resume(_) => ExitKind::BadInput,
        }
    }
}
