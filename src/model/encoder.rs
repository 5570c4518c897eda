//! The encoder: `layers` conv blocks, filters doubling per layer, 2x2 max pooling after the
//! first two (a 28x28 image becomes 7x7 with `filters * 2^(layers-1)` channels).

use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::prelude::*;

use super::backend::ModelBackend;
use super::block::{ConvBlock, ConvStack};

/// How many of the first layers are followed by 2x2 max pooling (and, mirrored, how many
/// of the decoder's last layers by upsampling).
pub const POOLED_LAYERS: usize = 2;

#[derive(Module, Debug)]
pub struct Encoder<B: ModelBackend> {
    pub(crate) blocks: Vec<ConvBlock<B>>,
    pool: MaxPool2d,
}

impl<B: ModelBackend> Encoder<B> {
    /// The stack's blocks from one input channel up, each twice as wide as the last.
    pub fn new(stack: &ConvStack, device: &B::Device) -> Self {
        let widths = (0..stack.layers).map(|i| {
            let from = if i == 0 { 1 } else { stack.width(i - 1) };
            (from, stack.width(i))
        });
        Self {
            blocks: stack.blocks(widths, device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
        }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_blocks(x, self.blocks.len())
    }

    /// Run only the first `count` blocks (the classifier may use fewer than all).
    pub fn forward_blocks(&self, x: Tensor<B, 4>, count: usize) -> Tensor<B, 4> {
        self.through_blocks(x, count, ConvBlock::forward)
    }

    /// Every block with BatchNorm on its running statistics, while training too (a
    /// classifier's encoder fine-tuned in inference mode).
    pub fn forward_on_running_statistics(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.through_blocks(
            x,
            self.blocks.len(),
            ConvBlock::forward_on_running_statistics,
        )
    }

    fn through_blocks(
        &self,
        mut x: Tensor<B, 4>,
        count: usize,
        block_forward: impl Fn(&ConvBlock<B>, Tensor<B, 4>) -> Tensor<B, 4>,
    ) -> Tensor<B, 4> {
        for (i, block) in self.blocks.iter().take(count).enumerate() {
            x = block_forward(block, x);
            if i < POOLED_LAYERS {
                x = self.pool.forward(x);
            }
        }
        x
    }

    /// The same encoder with only its first `count` blocks.
    pub fn truncated(mut self, count: usize) -> Self {
        self.blocks.truncate(count);
        self
    }

    pub fn depth(&self) -> usize {
        self.blocks.len()
    }
}
