//! The classifier: the first K blocks of a trained encoder, then Flatten -> Linear (ReLU)
//! -> Linear to one score per class. `forward` gives the scores (logits); the loss and the
//! predictions apply the softmax.

use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

use super::backend::ModelBackend;
use super::block::ConvStack;
use super::encoder::{Encoder, POOLED_LAYERS};
use super::seeded::{Build, init_seeded, numbered};
use crate::exit::InputError;

/// The widest fully connected layer we accept.
pub const MAX_FC_UNITS: usize = 1 << 16;

/// The architecture: which encoder (and how many of its blocks), the head, the image size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    /// The encoder as used: `layers` is the number of blocks kept (K).
    pub encoder: ConvStack,
    pub fc_units: usize,
    pub classes: usize,
    pub height: usize,
    pub width: usize,
}

impl ClassifierConfig {
    /// Check the hyperparameters; the message says what is wrong.
    pub fn validate(&self) -> Result<(), InputError> {
        if self.encoder.layers == 0 {
            return Err(InputError::new(
                "the classifier needs at least 1 encoder layer",
            ));
        }
        if self.encoder.filter_size == 0 || self.encoder.filters == 0 {
            return Err(InputError::new(
                "the encoder's filter size and filters must be at least 1",
            ));
        }
        if self.fc_units == 0 || self.fc_units > MAX_FC_UNITS {
            return Err(InputError::new(format!(
                "FC units must be between 1 and {MAX_FC_UNITS} (got {})",
                self.fc_units
            )));
        }
        if self.classes < 2 {
            return Err(InputError::new(format!(
                "a classifier needs at least 2 classes (got {})",
                self.classes
            )));
        }
        if self.features() == 0 {
            return Err(InputError::new(format!(
                "{}x{} images are too small for {} pooled layers",
                self.height,
                self.width,
                self.encoder.layers.min(POOLED_LAYERS)
            )));
        }
        Ok(())
    }

    /// Inputs of the first fully connected layer: the flattened encoder output.
    pub fn features(&self) -> usize {
        let pooled = self.encoder.layers.min(POOLED_LAYERS);
        self.encoder.output_channels() * (self.height >> pooled) * (self.width >> pooled)
    }

    pub fn head(&self) -> HeadConfig {
        HeadConfig {
            inputs: self.features(),
            fc_units: self.fc_units,
            classes: self.classes,
        }
    }

    /// A classifier with fresh weights everywhere (the shape a saved one is loaded into).
    pub fn init<B: ModelBackend>(&self, device: &B::Device) -> Classifier<B> {
        Classifier {
            encoder: Encoder::new(&self.encoder, device),
            head: self.head().build(device),
        }
    }

    /// A classifier on a trained encoder (its first K blocks), with a head drawn from `seed`.
    pub fn on_encoder<B: ModelBackend>(
        &self,
        encoder: Encoder<B>,
        seed: u64,
        device: &B::Device,
    ) -> Classifier<B> {
        let classifier = Classifier {
            encoder: encoder.truncated(self.encoder.layers),
            head: init_seeded(&self.head(), seed, device),
        };
        // The encoder's and the head's ids were numbered apart, so some are the same.
        numbered(classifier, device)
    }
}

/// Flatten -> Linear(fc_units) -> ReLU -> Linear(classes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadConfig {
    pub inputs: usize,
    pub fc_units: usize,
    pub classes: usize,
}

impl Build for HeadConfig {
    type Module<B: ModelBackend> = Head<B>;

    fn build<B: ModelBackend>(&self, device: &B::Device) -> Head<B> {
        Head {
            fc: dense(self.inputs, self.fc_units, device),
            out: dense(self.fc_units, self.classes, device),
        }
    }
}

/// A fully connected layer started Glorot uniform, as Keras' Dense layers start.
pub(crate) fn dense<B: ModelBackend>(
    inputs: usize,
    outputs: usize,
    device: &B::Device,
) -> Linear<B> {
    LinearConfig::new(inputs, outputs)
        .with_initializer(Initializer::XavierUniform { gain: 1.0 })
        .init(device)
}

#[derive(Module, Debug)]
pub struct Head<B: ModelBackend> {
    pub(crate) fc: Linear<B>,
    pub(crate) out: Linear<B>,
}

impl<B: ModelBackend> Head<B> {
    /// Encoder features `[batch, C, H, W]` to class scores `[batch, classes]`.
    pub fn forward(&self, features: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward_dropped(features, None)
    }

    /// As [`Self::forward`], the flattened features multiplied by `kept` (a dropout mask
    /// of the same shape) when there is one.
    pub fn forward_dropped(
        &self,
        features: Tensor<B, 4>,
        kept: Option<Tensor<B, 2>>,
    ) -> Tensor<B, 2> {
        let flat: Tensor<B, 2> = features.flatten(1, 3);
        let flat = match kept {
            Some(mask) => flat * mask,
            None => flat,
        };
        self.out.forward(relu(self.fc.forward(flat)))
    }
}

#[derive(Module, Debug)]
pub struct Classifier<B: ModelBackend> {
    pub encoder: Encoder<B>,
    pub head: Head<B>,
}

impl<B: ModelBackend> Classifier<B> {
    /// Images `[batch, 1, H, W]` to class scores `[batch, classes]`.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.head.forward(self.encoder.forward(images))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    fn config(layers: usize, fc_units: usize, classes: usize) -> ClassifierConfig {
        ClassifierConfig {
            encoder: ConvStack {
                layers,
                filter_size: 3,
                filters: 2,
            },
            fc_units,
            classes,
            height: 28,
            width: 28,
        }
    }

    #[test]
    fn scores_have_one_column_per_class_for_any_depth() {
        let device = Default::default();
        for (layers, features) in [(1, 2 * 14 * 14), (2, 4 * 7 * 7), (3, 8 * 7 * 7)] {
            let cfg = config(layers, 5, 3);
            assert_eq!(cfg.features(), features);
            let model = cfg.init::<Flex>(&device);
            let scores = model.forward(Tensor::zeros([4, 1, 28, 28], &device));
            assert_eq!(scores.dims(), [4, 3], "{layers} layers");
        }
    }

    #[test]
    fn the_encoder_is_cut_to_k_blocks() {
        let device = Default::default();
        let full = Encoder::<Flex>::new(&config(4, 5, 10).encoder, &device);
        let model = config(2, 5, 10).on_encoder(full, 1, &device);
        assert_eq!(model.encoder.depth(), 2);
    }

    #[test]
    fn bad_settings_are_explained() {
        assert!(config(0, 5, 10).validate().unwrap_err().0.contains("layer"));
        assert!(
            config(2, 0, 10)
                .validate()
                .unwrap_err()
                .0
                .contains("FC units")
        );
        assert!(
            config(2, 5, 1)
                .validate()
                .unwrap_err()
                .0
                .contains("classes")
        );
        assert!(config(2, 5, 10).validate().is_ok());
    }
}
