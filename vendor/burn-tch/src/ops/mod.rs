mod activation;
mod base;
mod bool_tensor;
#[cfg(native_conv_backward)]
mod conv_backward;
mod int_tensor;
mod module;
mod qtensor;
mod tensor;
mod transaction;

pub(crate) use base::*;
