//! The autoencoder: encoder then decoder; reconstructs its `[batch, 1, H, W]` input.

use burn::prelude::*;

use super::backend::ModelBackend;
use super::block::ConvStack;
use super::decoder::Decoder;
use super::encoder::{Encoder, POOLED_LAYERS};
use super::seeded::Build;
use crate::exit::InputError;

/// The widest layer we accept; past this a model no longer fits a GPU's memory anyway.
const MAX_LAYER_WIDTH: usize = 1 << 16;

/// The architecture's hyperparameters: the encoder's conv stack, which the decoder mirrors.
pub type AutoencoderConfig = ConvStack;

impl AutoencoderConfig {
    /// Check the hyperparameters; the message says what is wrong and what is allowed.
    pub fn validate(&self) -> Result<(), InputError> {
        if self.layers < POOLED_LAYERS {
            return Err(InputError::new(format!(
                "layers must be at least {POOLED_LAYERS} (got {})",
                self.layers
            )));
        }
        if self.filter_size == 0 {
            return Err(InputError::new("filter size must be at least 1"));
        }
        if self.filters == 0 {
            return Err(InputError::new("filters per layer must be at least 1"));
        }
        let widest = u32::try_from(self.layers - 1)
            .ok()
            .and_then(|shift| self.filters.checked_mul(1usize.checked_shl(shift)?));
        match widest {
            Some(w) if w <= MAX_LAYER_WIDTH => Ok(()),
            _ => Err(InputError::new(format!(
                "{} filters doubling over {} layers exceeds {MAX_LAYER_WIDTH} filters in the last layer",
                self.filters, self.layers
            ))),
        }
    }

    /// Images must survive two 2x2 poolings and two 2x upsamplings unchanged in size.
    pub fn check_image_size(height: usize, width: usize) -> Result<(), InputError> {
        let factor = 1 << POOLED_LAYERS;
        if !height.is_multiple_of(factor) || !width.is_multiple_of(factor) {
            return Err(InputError::new(format!(
                "images are {height}x{width}; the autoencoder needs height and width divisible by {factor}"
            )));
        }
        Ok(())
    }

    pub fn init<B: ModelBackend>(&self, device: &B::Device) -> Autoencoder<B> {
        Autoencoder {
            encoder: Encoder::new(self, device),
            decoder: Decoder::new(self, device),
        }
    }
}

impl Build for AutoencoderConfig {
    type Module<B: ModelBackend> = Autoencoder<B>;
    fn build<B: ModelBackend>(&self, device: &B::Device) -> Autoencoder<B> {
        self.init(device)
    }
}

#[derive(Module, Debug)]
pub struct Autoencoder<B: ModelBackend> {
    pub encoder: Encoder<B>,
    pub decoder: Decoder<B>,
}

impl<B: ModelBackend> Autoencoder<B> {
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        self.decoder.forward(self.encoder.forward(images))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    fn config(layers: usize, filter_size: usize, filters: usize) -> AutoencoderConfig {
        AutoencoderConfig {
            layers,
            filter_size,
            filters,
        }
    }

    #[test]
    fn output_shape_equals_input_shape() {
        let device = Default::default();
        for (cfg, [h, w]) in [
            (config(2, 3, 2), [28, 28]),
            (config(3, 5, 2), [28, 28]),
            (config(4, 2, 1), [28, 28]),
            (config(2, 3, 2), [32, 32]),
            (config(2, 1, 2), [12, 20]),
        ] {
            let model = cfg.init::<Flex>(&device);
            let x = Tensor::<Flex, 4>::ones([3, 1, h, w], &device);
            assert_eq!(model.forward(x).dims(), [3, 1, h, w], "{cfg:?}");
        }
    }

    #[test]
    fn encoder_widths_double_per_layer() {
        let device = Default::default();
        let model = config(4, 3, 2).init::<Flex>(&device);
        let code = model
            .encoder
            .forward(Tensor::<Flex, 4>::zeros([1, 1, 28, 28], &device));
        assert_eq!(code.dims(), [1, 16, 7, 7]);
    }

    #[test]
    fn bad_hyperparameters_are_explained() {
        assert!(
            config(1, 3, 32)
                .validate()
                .unwrap_err()
                .0
                .contains("layers")
        );
        assert!(
            config(4, 0, 32)
                .validate()
                .unwrap_err()
                .0
                .contains("filter size")
        );
        assert!(
            config(4, 3, 0)
                .validate()
                .unwrap_err()
                .0
                .contains("filters")
        );
        assert!(
            config(40, 3, 32)
                .validate()
                .unwrap_err()
                .0
                .contains("exceeds")
        );
        assert!(config(4, 3, 32).validate().is_ok());
        assert!(AutoencoderConfig::check_image_size(30, 28).is_err());
        assert!(AutoencoderConfig::check_image_size(32, 28).is_ok());
    }
}
