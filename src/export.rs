//! `aelab export`: a saved model's weights as a safetensors file that PyTorch loads into the
//! modules of `scripts/pytorch_model.py` (names and layouts: [crate::model::torch_layout]).
//! The model's card goes into the file's metadata (`aelab_card`), so the script builds the
//! right module from the file alone.
//!
//! safetensors is 8 bytes of header length (little-endian), a JSON header naming each
//! tensor's dtype, shape and byte range, then the tensors' bytes, little-endian
//! (<https://github.com/huggingface/safetensors>). It is written here rather than through
//! burn-store, whose PyTorch adapter knows burn's own BatchNorm and not this crate's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use burn::backend::Flex;
use serde_json::{Value, json};

use crate::error::{Result, WriteError};
use crate::fsutil;
use crate::model::store::{self, ModelCard};
use crate::model::torch_layout::{TorchLayout, TorchTensor, TorchValues};
use crate::model::{AutoencoderConfig, ClassifierConfig};

/// A saved model, its card read and checked.
pub enum SavedModel {
    Autoencoder(ModelCard<AutoencoderConfig>),
    Classifier(ModelCard<ClassifierConfig>),
}

/// `aelab export`, resolved: which model, and the file to write.
pub struct ExportJob {
    pub model_path: PathBuf,
    pub model: SavedModel,
    /// The safetensors file; its folder exists.
    pub output: PathBuf,
}

impl ExportJob {
    /// Load the weights (on the CPU: nothing is computed), write the file, say so.
    pub fn run(self) -> Result<()> {
        let device = Default::default();
        let (tensors, card) = match &self.model {
            SavedModel::Autoencoder(card) => (
                store::load_weights::<_, Flex>(&self.model_path, card, &device)?.torch_tensors(),
                serde_json::to_string(card),
            ),
            SavedModel::Classifier(card) => (
                store::load_weights::<_, Flex>(&self.model_path, card, &device)?.torch_tensors(),
                serde_json::to_string(card),
            ),
        };
        let card = card.expect("a model card always serializes");
        let metadata = BTreeMap::from([("format", "pt".to_string()), ("aelab_card", card)]);
        let bytes = safetensors(&tensors, &metadata);
        fsutil::write_atomic(&self.output, &bytes)
            .map_err(|e| WriteError::new(&self.output, "write the exported weights", e))?;
        println!(
            "{} tensors of {} written to {} (safetensors, PyTorch's names and layouts; \
             load them with scripts/pytorch_model.py)",
            tensors.len(),
            self.model_path.display(),
            self.output.display()
        );
        Ok(())
    }
}

/// The bytes of a safetensors file holding `tensors` in their order, with `metadata`.
pub fn safetensors(tensors: &[TorchTensor], metadata: &BTreeMap<&str, String>) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), json!(metadata));
    let mut data = Vec::new();
    for tensor in tensors {
        let start = data.len();
        let dtype = match &tensor.values {
            TorchValues::F32(values) => {
                data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
                "F32"
            }
            TorchValues::I64(values) => {
                data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
                "I64"
            }
        };
        header.insert(
            tensor.name.clone(),
            json!({"dtype": dtype, "shape": tensor.shape, "data_offsets": [start, data.len()]}),
        );
    }
    let mut header = serde_json::to_vec(&Value::Object(header)).expect("JSON of plain values");
    // The tensors start 8-byte aligned, as the format recommends (padded with spaces).
    header.resize(header.len().next_multiple_of(8), b' ');
    let mut bytes = Vec::with_capacity(8 + header.len() + data.len());
    bytes.extend((header.len() as u64).to_le_bytes());
    bytes.extend(header);
    bytes.extend(data);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_safetensors_file_is_its_header_length_header_and_little_endian_data() {
        let tensors = [
            TorchTensor {
                name: "a.weight".into(),
                shape: vec![2, 1],
                values: TorchValues::F32(vec![1.0, -2.5]),
            },
            TorchTensor {
                name: "a.count".into(),
                shape: vec![],
                values: TorchValues::I64(vec![7]),
            },
        ];
        let bytes = safetensors(&tensors, &BTreeMap::from([("format", "pt".into())]));
        let length = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(length % 8, 0);
        let header: Value = serde_json::from_slice(&bytes[8..8 + length]).unwrap();
        assert_eq!(header["__metadata__"]["format"], "pt");
        assert_eq!(header["a.weight"]["dtype"], "F32");
        assert_eq!(header["a.weight"]["shape"], json!([2, 1]));
        assert_eq!(header["a.weight"]["data_offsets"], json!([0, 8]));
        assert_eq!(header["a.count"]["data_offsets"], json!([8, 16]));
        let data = &bytes[8 + length..];
        assert_eq!(data.len(), 16);
        assert_eq!(f32::from_le_bytes(data[4..8].try_into().unwrap()), -2.5);
        assert_eq!(i64::from_le_bytes(data[8..].try_into().unwrap()), 7);
    }
}
