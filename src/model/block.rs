//! One conv block, shared by encoder and decoder: Conv2d (same padding) -> ReLU -> BatchNorm.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

use super::batch_norm::BatchNorm2d;

/// Keras' BatchNormalization defaults, which the seed used. burn's `momentum` is the weight
/// of the new batch, so Keras' moving-average momentum 0.99 is 0.01 here.
const BATCH_NORM_EPSILON: f64 = 1e-3;
const BATCH_NORM_MOMENTUM: f64 = 0.01;

#[derive(Module, Debug)]
pub struct ConvBlock<B: Backend> {
    conv: Conv2d<B>,
    norm: BatchNorm2d<B>,
}

impl<B: Backend> ConvBlock<B> {
    pub fn new(channels_in: usize, channels_out: usize, kernel: usize, device: &B::Device) -> Self {
        let conv = Conv2dConfig::new([channels_in, channels_out], [kernel, kernel])
            .with_padding(PaddingConfig2d::Same)
            .init(device);
        let norm = BatchNorm2d::new(
            channels_out,
            BATCH_NORM_EPSILON,
            BATCH_NORM_MOMENTUM,
            device,
        );
        Self { conv, norm }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.norm.forward(relu(self.conv.forward(x)))
    }
}

/// Output channels of layer `index` when filters double per layer.
pub fn layer_width(filters: usize, index: usize) -> usize {
    filters << index
}
