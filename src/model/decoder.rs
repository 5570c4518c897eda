//! The decoder, the encoder's mirror: conv blocks from `filters * 2^(layers-1)` channels
//! halving down to `filters`, nearest 2x upsampling after the last two, then a conv to one
//! channel and a sigmoid, so pixels come out in [0, 1] like the input.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

use super::backend::ModelBackend;
use super::block::{ConvBlock, ConvStack, convolve};
use super::encoder::POOLED_LAYERS;

#[derive(Module, Debug)]
pub struct Decoder<B: ModelBackend> {
    pub(crate) blocks: Vec<ConvBlock<B>>,
    pub(crate) output: Conv2d<B>,
}

impl<B: ModelBackend> Decoder<B> {
    /// The encoder's mirror: from its widest block's channels down to `filters`, then the
    /// output conv to one channel.
    pub fn new(stack: &ConvStack, device: &B::Device) -> Self {
        let top = stack.layers - 1;
        let widths =
            (0..stack.layers).map(|i| (stack.width(top + 1 - i.max(1)), stack.width(top - i)));
        // Blocks first, then the output conv: the order weights are drawn in (a seed's
        // initial weights must not change between versions).
        let blocks = stack.blocks(widths, device);
        let output = Conv2dConfig::new([stack.filters, 1], [stack.filter_size, stack.filter_size])
            .with_padding(PaddingConfig2d::Same)
            .init(device);
        Self { blocks, output }
    }

    pub fn forward(&self, mut x: Tensor<B, 4>) -> Tensor<B, 4> {
        let first_upsampled = self.blocks.len() - POOLED_LAYERS;
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward(x);
            if i >= first_upsampled {
                x = upsample_nearest_2x(x);
            }
        }
        sigmoid(convolve(&self.output, x))
    }
}

/// Nearest-neighbour 2x upsampling: each pixel repeated along the width, then each row
/// repeated, so each pixel becomes a 2x2 block. Built from reshape and `repeat_dim` rather
/// than burn's interpolate, whose nearest-mode backward kernel failed on CUDA (burn 0.21) for
/// the default model; autodiff handles these ops on every backend. On flex, `repeat_dim`
/// copies whole runs, where the same thing as a broadcast (`expand`) was copied element by
/// element: forward + backward 12.0 -> 6.9 ms at [64, 32, 14, 14]. LibTorch takes its own
/// nearest upsampling ([ModelBackend::NATIVE_BIAS_AND_UPSAMPLING]).
pub fn upsample_nearest_2x<B: ModelBackend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [batch, channels, height, width] = x.dims();
    if B::NATIVE_BIAS_AND_UPSAMPLING {
        let options = InterpolateOptions::new(InterpolateMode::Nearest);
        return interpolate(x, [height * 2, width * 2], options);
    }
    x.reshape([batch, channels, height, 1, width, 1])
        .repeat_dim(5, 2)
        .repeat_dim(3, 2)
        .reshape([batch, channels, height * 2, width * 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::nn::interpolate::{Interpolate2dConfig, InterpolateMode};

    #[test]
    fn upsampling_matches_nearest_interpolation_and_its_gradient() {
        type A = Autodiff<Flex>;
        let device = Default::default();
        let x = Tensor::<A, 4>::random([2, 3, 5, 7], burn::tensor::Distribution::Default, &device)
            .require_grad();
        let ours = upsample_nearest_2x(x.clone());
        let theirs = Interpolate2dConfig::new()
            .with_scale_factor(Some([2.0, 2.0]))
            .with_mode(InterpolateMode::Nearest)
            .init()
            .forward(x.clone());
        ours.clone()
            .into_data()
            .assert_eq(&theirs.clone().into_data(), true);

        let weights =
            Tensor::<A, 4>::random([2, 3, 10, 14], burn::tensor::Distribution::Default, &device);
        let g_ours = (ours * weights.clone()).sum().backward();
        let g_theirs = (theirs * weights).sum().backward();
        x.grad(&g_ours)
            .unwrap()
            .into_data()
            .assert_approx_eq::<f32>(&x.grad(&g_theirs).unwrap().into_data(), Default::default());
    }
}
