//! One conv block, shared by encoder and decoder: Conv2d (same padding) -> ReLU -> BatchNorm.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::module::conv2d;
use burn::tensor::ops::PaddedConvOptions;
use serde::{Deserialize, Serialize};

use super::backend::ModelBackend;
use super::batch_norm::BatchNorm2d;

/// Keras' BatchNormalization defaults, which the original report used. burn's `momentum` is the weight
/// of the new batch, so Keras' moving-average momentum 0.99 is 0.01 here.
const BATCH_NORM_EPSILON: f64 = 1e-3;
const BATCH_NORM_MOMENTUM: f64 = 0.01;

#[derive(Module, Debug)]
pub struct ConvBlock<B: ModelBackend> {
    pub(crate) conv: Conv2d<B>,
    pub(crate) norm: BatchNorm2d<B>,
}

impl<B: ModelBackend> ConvBlock<B> {
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
        self.norm.forward(relu(convolve(&self.conv, x)))
    }

    /// The same with BatchNorm on its running statistics while training too.
    pub fn forward_on_running_statistics(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = relu(convolve(&self.conv, x));
        self.norm.forward_on_running_statistics(x)
    }
}

/// `conv.forward(x)`, on flex (and CUDA) with the bias added here rather than inside the
/// convolution. burn's bias gradient transposes the whole output gradient (`swap_dims(0,
/// 1)`), which flex copies element by element; a bias repeated per (image, channel) is added
/// as one SIMD pass over rows of `H x W`, and its gradient is a sum along those rows. Same
/// parameters and values. Backends whose own bias is fast keep it inside
/// ([ModelBackend::NATIVE_BIAS_AND_UPSAMPLING]).
pub fn convolve<B: ModelBackend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    // Every conv here is stride 1 with "same" padding; an even kernel pads one more after.
    debug_assert!(
        conv.stride == [1, 1]
            && conv.dilation == [1, 1]
            && conv.groups == 1
            && matches!(conv.padding, PaddingConfig2d::Same),
        "convolve handles stride-1, same-padded convs only"
    );
    let [kernel_h, kernel_w] = conv.kernel_size;
    let before = [(kernel_h - 1) / 2, (kernel_w - 1) / 2];
    let after = [kernel_h - 1 - before[0], kernel_w - 1 - before[1]];
    let options = PaddedConvOptions::asymmetric([1, 1], before, after, [1, 1], 1);
    let bias = conv.bias.as_ref().map(|bias| bias.val());
    if B::NATIVE_BIAS_AND_UPSAMPLING {
        return conv2d(x, conv.weight.val(), bias, options);
    }
    let y = conv2d(x, conv.weight.val(), None, options);
    let Some(bias) = bias else {
        return y;
    };
    let [batch, channels, height, width] = y.dims();
    let per_row = bias.reshape([1, channels, 1]).repeat_dim(0, batch);
    (y.reshape([batch, channels, height * width]) + per_row)
        .reshape([batch, channels, height, width])
}

/// The shape of a stack of conv blocks: how many, the kernel size, and the first block's
/// filters (doubling per block). The encoder and its mirrored decoder share it, so it is the
/// autoencoder's whole architecture ([crate::model::AutoencoderConfig]) and, with `layers`
/// the blocks kept, the classifier's encoder. A saved card stores it as these three fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvStack {
    pub layers: usize,
    pub filter_size: usize,
    pub filters: usize,
}

impl ConvStack {
    /// Output channels of block `index`.
    pub fn width(&self, index: usize) -> usize {
        layer_width(self.filters, index)
    }

    /// Channels of the last block's output (the encoder's code).
    pub fn output_channels(&self) -> usize {
        self.width(self.layers - 1)
    }

    /// One block for each `(channels in, channels out)`, all with this stack's kernel.
    pub fn blocks<B: ModelBackend>(
        &self,
        channels: impl Iterator<Item = (usize, usize)>,
        device: &B::Device,
    ) -> Vec<ConvBlock<B>> {
        channels
            .map(|(from, to)| ConvBlock::new(from, to, self.filter_size, device))
            .collect()
    }
}

/// Output channels of layer `index` when filters double per layer.
pub fn layer_width(filters: usize, index: usize) -> usize {
    filters << index
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::{Distribution, Tolerance};

    type A = Autodiff<Flex>;

    #[test]
    fn convolve_matches_burns_conv2d_in_values_and_gradients() {
        let device = Default::default();
        for kernel in [1, 2, 3, 4, 5] {
            let conv: Conv2d<A> = Conv2dConfig::new([3, 5], [kernel, kernel])
                .with_padding(PaddingConfig2d::Same)
                .init(&device);
            let x =
                Tensor::<A, 4>::random([4, 3, 7, 6], Distribution::Default, &device).require_grad();
            let weights = Tensor::<A, 4>::random([4, 5, 7, 6], Distribution::Default, &device);

            let ours = convolve(&conv, x.clone());
            let theirs = conv.forward(x.clone());
            ours.clone()
                .inner()
                .into_data()
                .assert_approx_eq::<f32>(&theirs.clone().inner().into_data(), Tolerance::default());

            let g_ours = (ours * weights.clone()).sum().backward();
            let g_theirs = (theirs * weights).sum().backward();
            let same = |a: Tensor<Flex, 4>, b: Tensor<Flex, 4>| {
                a.into_data()
                    .assert_approx_eq::<f32>(&b.into_data(), Tolerance::default())
            };
            same(x.grad(&g_ours).unwrap(), x.grad(&g_theirs).unwrap());
            same(
                conv.weight.val().grad(&g_ours).unwrap(),
                conv.weight.val().grad(&g_theirs).unwrap(),
            );
            let bias = conv.bias.as_ref().unwrap().val();
            bias.grad(&g_ours)
                .unwrap()
                .into_data()
                .assert_approx_eq::<f32>(
                    &bias.grad(&g_theirs).unwrap().into_data(),
                    Tolerance::default(),
                );
        }
    }
}
