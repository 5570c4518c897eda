//! Error kinds that decide the exit code: bad usage or input exits 2, anything else 1.

use crate::data::idx::IdxError;
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

/// Exit code for an error: 2 when the input was at fault, 1 when running failed.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    let bad_input = err.chain().any(|cause| {
        cause.is::<InputError>() || cause.is::<IdxError>() || cause.is::<StoreError>()
    });
    if bad_input { 2 } else { 1 }
}
