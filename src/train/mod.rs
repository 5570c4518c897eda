//! Training loops. They report through [`progress::Progress`] and print nothing themselves.

pub mod autoencoder;
pub mod progress;

/// Per-epoch figures, as Keras reports them: the mean training loss over the epoch's
/// batches (train mode) and the validation loss (eval mode).
#[derive(Clone, Debug, PartialEq)]
pub struct EpochStats {
    pub epoch: usize,
    pub loss: f64,
    pub val_loss: f64,
    pub seconds: f64,
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
}
