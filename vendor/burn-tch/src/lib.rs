#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![allow(clippy::single_range_in_vec_init)]

//! Burn Tch Backend

mod backend;
mod element;
mod ops;
mod tensor;

pub use backend::*;
pub use element::*;
pub use tensor::*;

/// aelab: libtorch's fused training-mode batch norm, forward and backward.
pub mod batch_norm {
    pub use crate::ops::batch_norm::*;
}
