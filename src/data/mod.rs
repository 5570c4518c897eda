//! Reading image datasets: IDX files in, u8 images in memory, f32 tensors out per batch.

pub mod augment;
pub mod dataset;
pub mod idx;
