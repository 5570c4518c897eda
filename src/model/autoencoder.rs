//! The autoencoder: encoder, an optional fully connected code, then decoder; reconstructs
//! its `[batch, 1, H, W]` input.

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

use super::backend::ModelBackend;
use super::block::ConvStack;
use super::classifier::dense;
use super::decoder::Decoder;
use super::encoder::{Encoder, POOLED_LAYERS};
use super::seeded::Build;
use crate::exit::InputError;

/// The widest layer we accept; past this a model no longer fits a GPU's memory anyway.
pub const MAX_LAYER_WIDTH: usize = 1 << 16;

/// The architecture: the encoder's conv stack, which the decoder mirrors, and the code
/// between them. A saved card stores the stack's three fields, and `code` when there is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoencoderConfig {
    #[serde(flatten)]
    pub stack: ConvStack,
    /// A code of a few numbers, fully connected to the conv stack's output; none: that
    /// output is the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<DenseCode>,
}

/// A fully connected code: `size` numbers drawn from the `features` numbers of the
/// encoder's output (its channels times a quarter of the image's height and width), and
/// back. A bottleneck this narrow reconstructs the images it was trained on and few others,
/// which is what anomaly scores need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenseCode {
    pub size: usize,
    pub features: usize,
}

impl AutoencoderConfig {
    /// The stack with no code between encoder and decoder.
    pub const fn convolutional(stack: ConvStack) -> Self {
        Self { stack, code: None }
    }

    /// The stack, with a fully connected code of `code_size` numbers if given, for images
    /// of `height x width`.
    pub fn new(stack: ConvStack, code_size: Option<usize>, height: usize, width: usize) -> Self {
        let code = code_size.map(|size| DenseCode {
            size,
            features: Self::code_features(&stack, height, width),
        });
        Self { stack, code }
    }

    /// The numbers of the encoder's output for one image of `height x width`.
    fn code_features(stack: &ConvStack, height: usize, width: usize) -> usize {
        stack.output_channels() * (height >> POOLED_LAYERS) * (width >> POOLED_LAYERS)
    }

    /// Check the hyperparameters; the message says what is wrong and what is allowed.
    pub fn validate(&self) -> Result<(), InputError> {
        Self::validate_stack(&self.stack)?;
        match self.code {
            Some(code) if code.size == 0 || code.size > MAX_LAYER_WIDTH => {
                Err(InputError::new(format!(
                    "code size must be between 1 and {MAX_LAYER_WIDTH} (got {})",
                    code.size
                )))
            }
            _ => Ok(()),
        }
    }

    /// Check the conv stack's hyperparameters.
    pub fn validate_stack(stack: &ConvStack) -> Result<(), InputError> {
        if stack.layers < POOLED_LAYERS {
            return Err(InputError::new(format!(
                "layers must be at least {POOLED_LAYERS} (got {})",
                stack.layers
            )));
        }
        if stack.filter_size == 0 {
            return Err(InputError::new("filter size must be at least 1"));
        }
        if stack.filters == 0 {
            return Err(InputError::new("filters per layer must be at least 1"));
        }
        let widest = u32::try_from(stack.layers - 1)
            .ok()
            .and_then(|shift| stack.filters.checked_mul(1usize.checked_shl(shift)?));
        match widest {
            Some(w) if w <= MAX_LAYER_WIDTH => Ok(()),
            _ => Err(InputError::new(format!(
                "{} filters doubling over {} layers exceeds {MAX_LAYER_WIDTH} filters in the last layer",
                stack.filters, stack.layers
            ))),
        }
    }

    /// Whether this architecture is the one for `height x width` images: its code, if any,
    /// is drawn from as many numbers as the encoder gives for them.
    pub fn check_for_images(&self, height: usize, width: usize) -> Result<(), InputError> {
        Self::check_image_size(height, width)?;
        match self.code {
            Some(code) if code.features != Self::code_features(&self.stack, height, width) => {
                Err(InputError::new(format!(
                    "the code is drawn from {} numbers, but the encoder gives {} for {height}x{width} images",
                    code.features,
                    Self::code_features(&self.stack, height, width)
                )))
            }
            _ => Ok(()),
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

    /// Encoder, decoder, then the code: the order weights are drawn in, so that a seed
    /// gives a model with a code the same conv weights as one without.
    pub fn init<B: ModelBackend>(&self, device: &B::Device) -> Autoencoder<B> {
        let encoder = Encoder::new(&self.stack, device);
        let decoder = Decoder::new(&self.stack, device);
        let code = self.code.map(|code| Code::new(&code, device));
        Autoencoder {
            encoder,
            decoder,
            code,
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
    pub code: Option<Code<B>>,
}

impl<B: ModelBackend> Autoencoder<B> {
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        let features = self.encoder.forward(images);
        let features = match &self.code {
            Some(code) => {
                let shape = features.dims();
                code.decode(code.encode(features), shape)
            }
            None => features,
        };
        self.decoder.forward(features)
    }

    /// Each image's code as one row: the fully connected code's numbers, or the encoder's
    /// output flattened.
    pub fn encode(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let features = self.encoder.forward(images);
        match &self.code {
            Some(code) => code.encode(features),
            None => features.flatten(1, 3),
        }
    }
}

/// The fully connected code: the encoder's output flattened, to `size` numbers (linear),
/// and back (ReLU), shaped as the encoder's output for the decoder.
#[derive(Module, Debug)]
pub struct Code<B: ModelBackend> {
    pub(crate) down: Linear<B>,
    pub(crate) up: Linear<B>,
}

impl<B: ModelBackend> Code<B> {
    fn new(code: &DenseCode, device: &B::Device) -> Self {
        Self {
            down: dense(code.features, code.size, device),
            up: dense(code.size, code.features, device),
        }
    }

    /// The encoder's output `[batch, C, H, W]` to codes `[batch, size]`.
    pub fn encode(&self, features: Tensor<B, 4>) -> Tensor<B, 2> {
        self.down.forward(features.flatten(1, 3))
    }

    /// Codes back to the encoder's output's `shape`.
    pub fn decode(&self, code: Tensor<B, 2>, shape: [usize; 4]) -> Tensor<B, 4> {
        relu(self.up.forward(code)).reshape(shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    fn config(layers: usize, filter_size: usize, filters: usize) -> AutoencoderConfig {
        AutoencoderConfig::convolutional(ConvStack {
            layers,
            filter_size,
            filters,
        })
    }

    #[test]
    fn a_dense_code_is_as_narrow_as_asked_and_reconstructs_the_input_shape() {
        let device = Default::default();
        let cfg = AutoencoderConfig::new(config(2, 3, 2).stack, Some(5), 12, 20);
        assert_eq!(cfg.code.unwrap().features, 4 * 3 * 5);
        let model = cfg.init::<Flex>(&device);
        let x = Tensor::<Flex, 4>::ones([3, 1, 12, 20], &device);
        assert_eq!(model.encode(x.clone()).dims(), [3, 5]);
        assert_eq!(model.forward(x).dims(), [3, 1, 12, 20]);
        // Without a code, the code is the encoder's output, flattened.
        let plain = config(2, 3, 2).init::<Flex>(&device);
        let x = Tensor::<Flex, 4>::ones([3, 1, 12, 20], &device);
        assert_eq!(plain.encode(x).dims(), [3, 4 * 3 * 5]);
    }

    #[test]
    fn a_code_made_for_other_images_is_refused() {
        let cfg = AutoencoderConfig::new(config(2, 3, 2).stack, Some(5), 28, 28);
        assert!(cfg.check_for_images(28, 28).is_ok());
        let err = cfg.check_for_images(32, 32).unwrap_err().0;
        assert!(err.contains("code is drawn from 196 numbers"), "{err}");
        let mut zero = cfg;
        zero.code.as_mut().unwrap().size = 0;
        assert!(zero.validate().unwrap_err().0.contains("code size"));
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
        let features = model
            .encoder
            .forward(Tensor::<Flex, 4>::zeros([1, 1, 28, 28], &device));
        assert_eq!(features.dims(), [1, 16, 7, 7]);
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
