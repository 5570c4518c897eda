//! The models' weights named and laid out as the equivalent PyTorch modules keep them
//! (`scripts/pytorch_model.py` defines those modules): `encoder.blocks.0.conv.weight`,
//! `encoder.blocks.0.norm.running_var`, `decoder.output.bias`, `code.down.weight`,
//! `head.fc.weight`, ... so that
//! `load_state_dict(strict=True)` takes them as they are. Conv weights are
//! `[out, in, kh, kw]` in both; a burn `Linear` keeps `[in, out]` where PyTorch keeps
//! `[out, in]`, so those are transposed; PyTorch's BatchNorm also counts its batches
//! (`num_batches_tracked`), which nothing here uses (its momentum is fixed), so it is 0.

use burn::module::Param;
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::prelude::*;

use super::backend::ModelBackend;
use super::batch_norm::BatchNorm2d;
use super::block::ConvBlock;
use super::{Autoencoder, Classifier};

/// One tensor of a PyTorch state dict.
#[derive(Clone, Debug, PartialEq)]
pub struct TorchTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: TorchValues,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TorchValues {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

/// A model's state dict in PyTorch's names, order and layouts.
pub trait TorchLayout {
    fn torch_tensors(&self) -> Vec<TorchTensor>;
}

impl<B: ModelBackend> TorchLayout for Autoencoder<B> {
    fn torch_tensors(&self) -> Vec<TorchTensor> {
        let mut tensors = Vec::new();
        blocks("encoder", &self.encoder.blocks, &mut tensors);
        blocks("decoder", &self.decoder.blocks, &mut tensors);
        conv("decoder.output", &self.decoder.output, &mut tensors);
        if let Some(code) = &self.code {
            linear("code.down", &code.down, &mut tensors);
            linear("code.up", &code.up, &mut tensors);
        }
        tensors
    }
}

impl<B: ModelBackend> TorchLayout for Classifier<B> {
    fn torch_tensors(&self) -> Vec<TorchTensor> {
        let mut tensors = Vec::new();
        blocks("encoder", &self.encoder.blocks, &mut tensors);
        linear("head.fc", &self.head.fc, &mut tensors);
        linear("head.out", &self.head.out, &mut tensors);
        tensors
    }
}

fn blocks<B: ModelBackend>(prefix: &str, blocks: &[ConvBlock<B>], tensors: &mut Vec<TorchTensor>) {
    for (i, block) in blocks.iter().enumerate() {
        conv(&format!("{prefix}.blocks.{i}.conv"), &block.conv, tensors);
        norm(&format!("{prefix}.blocks.{i}.norm"), &block.norm, tensors);
    }
}

fn conv<B: ModelBackend>(prefix: &str, conv: &Conv2d<B>, tensors: &mut Vec<TorchTensor>) {
    tensors.push(float(format!("{prefix}.weight"), conv.weight.val()));
    if let Some(bias) = &conv.bias {
        tensors.push(float(format!("{prefix}.bias"), bias.val()));
    }
}

fn norm<B: ModelBackend>(prefix: &str, norm: &BatchNorm2d<B>, tensors: &mut Vec<TorchTensor>) {
    let param = |p: &Param<Tensor<B, 1>>| p.val();
    tensors.push(float(format!("{prefix}.weight"), param(&norm.gamma)));
    tensors.push(float(format!("{prefix}.bias"), param(&norm.beta)));
    tensors.push(float(
        format!("{prefix}.running_mean"),
        norm.running_mean.value(),
    ));
    tensors.push(float(
        format!("{prefix}.running_var"),
        norm.running_var.value(),
    ));
    tensors.push(TorchTensor {
        name: format!("{prefix}.num_batches_tracked"),
        shape: Vec::new(),
        values: TorchValues::I64(vec![0]),
    });
}

fn linear<B: ModelBackend>(prefix: &str, linear: &Linear<B>, tensors: &mut Vec<TorchTensor>) {
    tensors.push(float(
        format!("{prefix}.weight"),
        linear.weight.val().transpose(),
    ));
    if let Some(bias) = &linear.bias {
        tensors.push(float(format!("{prefix}.bias"), bias.val()));
    }
}

fn float<B: ModelBackend, const D: usize>(name: String, tensor: Tensor<B, D>) -> TorchTensor {
    let shape = tensor.dims().to_vec();
    let values = tensor
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("converted to f32 just before");
    TorchTensor {
        name,
        shape,
        values: TorchValues::F32(values),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AutoencoderConfig, ClassifierConfig, ConvStack};
    use burn::backend::Flex;

    fn stack(layers: usize) -> ConvStack {
        ConvStack {
            layers,
            filter_size: 3,
            filters: 2,
        }
    }

    fn shapes(tensors: &[TorchTensor]) -> Vec<(&str, Vec<usize>)> {
        tensors
            .iter()
            .map(|t| (t.name.as_str(), t.shape.clone()))
            .collect()
    }

    #[test]
    fn the_autoencoder_has_pytorchs_names_and_shapes() {
        let model = AutoencoderConfig::convolutional(stack(2)).init::<Flex>(&Default::default());
        let tensors = model.torch_tensors();
        let names = shapes(&tensors);
        assert_eq!(names.len(), 2 * 2 * 7 + 2);
        assert_eq!(names[0], ("encoder.blocks.0.conv.weight", vec![2, 1, 3, 3]));
        assert_eq!(names[3], ("encoder.blocks.0.norm.bias", vec![2]));
        assert_eq!(
            names[6],
            ("encoder.blocks.0.norm.num_batches_tracked", vec![])
        );
        assert_eq!(
            names[14],
            ("decoder.blocks.0.conv.weight", vec![4, 4, 3, 3])
        );
        assert_eq!(
            names[21],
            ("decoder.blocks.1.conv.weight", vec![2, 4, 3, 3])
        );
        assert_eq!(names[28], ("decoder.output.weight", vec![1, 2, 3, 3]));
        assert_eq!(names[29], ("decoder.output.bias", vec![1]));
    }

    #[test]
    fn a_linear_weight_is_transposed_to_out_by_in() {
        let config = ClassifierConfig {
            encoder: stack(1),
            fc_units: 5,
            classes: 3,
            height: 4,
            width: 4,
        };
        let model = config.init::<Flex>(&Default::default());
        let tensors = model.torch_tensors();
        let fc = tensors.iter().find(|t| t.name == "head.fc.weight").unwrap();
        // 2 channels of 2x2 after one pooled block: 8 inputs.
        assert_eq!(fc.shape, vec![5, 8]);
        let burn_layout = model
            .head
            .fc
            .weight
            .val()
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let TorchValues::F32(torch_layout) = &fc.values else {
            panic!("a weight is f32");
        };
        // PyTorch's [o][i] is burn's [i][o].
        for o in 0..5 {
            for i in 0..8 {
                assert_eq!(torch_layout[o * 8 + i], burn_layout[i * 5 + o]);
            }
        }
        let names: Vec<_> = tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names[names.len() - 4..],
            [
                "head.fc.weight",
                "head.fc.bias",
                "head.out.weight",
                "head.out.bias"
            ]
        );
    }
}
