//! The decoder, the encoder's mirror: conv blocks from `filters * 2^(layers-1)` channels
//! halving down to `filters`, nearest 2x upsampling after the last two, then a conv to one
//! channel and a sigmoid, so pixels come out in [0, 1] like the input.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::interpolate::{Interpolate2d, Interpolate2dConfig, InterpolateMode};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use serde::{Deserialize, Serialize};

use super::block::{ConvBlock, layer_width};
use super::encoder::POOLED_LAYERS;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecoderConfig {
    pub layers: usize,
    pub filter_size: usize,
    pub filters: usize,
}

impl DecoderConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> Decoder<B> {
        let top = self.layers - 1;
        let blocks = (0..self.layers)
            .map(|i| {
                let channels_in = layer_width(self.filters, top + 1 - i.max(1));
                ConvBlock::new(
                    channels_in,
                    layer_width(self.filters, top - i),
                    self.filter_size,
                    device,
                )
            })
            .collect();
        let output = Conv2dConfig::new([self.filters, 1], [self.filter_size, self.filter_size])
            .with_padding(PaddingConfig2d::Same)
            .init(device);
        let upsample = Interpolate2dConfig::new()
            .with_scale_factor(Some([2.0, 2.0]))
            .with_mode(InterpolateMode::Nearest)
            .init();
        Decoder {
            blocks,
            upsample,
            output,
        }
    }
}

#[derive(Module, Debug)]
pub struct Decoder<B: Backend> {
    blocks: Vec<ConvBlock<B>>,
    upsample: Interpolate2d,
    output: Conv2d<B>,
}

impl<B: Backend> Decoder<B> {
    pub fn forward(&self, mut x: Tensor<B, 4>) -> Tensor<B, 4> {
        let first_upsampled = self.blocks.len() - POOLED_LAYERS;
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward(x);
            if i >= first_upsampled {
                x = self.upsample.forward(x);
            }
        }
        sigmoid(self.output.forward(x))
    }
}
