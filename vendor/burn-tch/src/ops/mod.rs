mod activation;
mod base;
pub(crate) mod batch_norm;
mod channels_last;
mod bool_tensor;
#[cfg(native_shims)]
mod conv_backward;
mod int_tensor;
mod module;
mod qtensor;
#[cfg(native_shims)]
mod shim;
mod tensor;
mod transaction;

pub(crate) use base::*;
