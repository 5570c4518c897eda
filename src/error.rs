//! Everything aelab reports: each layer's own error, gathered so that the commands can use
//! `?` across layers. Only the layers above them (jobs, experiments, predictions, `main`)
//! use it; the layers below know only their own errors and the leaf [`crate::exit`].

use crate::data::idx::IdxError;
use crate::interrupt::Interrupted;
use crate::model::store::StoreError;
use crate::train::TrainError;

pub use crate::exit::{ExitKind, InputError, WriteError};

/// Any error aelab reports: one line on stderr and an exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Idx(#[from] IdxError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
    /// Anything else that failed while running (the device, the signal handler).
    #[error("{0}")]
    Failed(String),
}

impl Error {
    pub fn exit_kind(&self) -> ExitKind {
        match self {
            Self::Input(_) | Self::Idx(_) => ExitKind::BadInput,
            Self::Store(e) => e.exit_kind(),
            Self::Train(e) => e.exit_kind(),
            Self::Write(_) | Self::Failed(_) => ExitKind::Failure,
            Self::Interrupted(_) => ExitKind::Interrupted,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
