//! Error kinds that decide the exit code: bad usage or input exits 2, a run stopped by
//! Ctrl-C 130, anything else 1.

use crate::data::idx::IdxError;
use crate::interrupt::Interrupted;
use crate::model::store::StoreError;

/// A problem with what the user gave us (a flag value, a file's contents): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// The exit code of a run stopped by Ctrl-C: 128 + SIGINT, as shells report it.
pub const INTERRUPTED: i32 = 130;

/// Exit code for an error: 2 when the input was at fault, 130 when Ctrl-C stopped training,
/// 1 when running failed.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    if err.is::<Interrupted>() {
        return INTERRUPTED;
    }
    let bad_input = err.chain().any(|cause| {
        cause.is::<InputError>() || cause.is::<IdxError>() || cause.is::<StoreError>()
    });
    if bad_input { 2 } else { 1 }
}
