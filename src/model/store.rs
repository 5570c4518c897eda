//! Saving and loading a model: `NAME.mpk` holds the weights (burn's named MessagePack, full
//! precision) and `NAME.json` the model card (architecture, image size, aelab version, how it
//! was trained). Both are written atomically; loading rebuilds the model from the card and
//! rejects weights that do not fit it.

use std::fs;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use serde::{Deserialize, Serialize};

use super::autoencoder::{Autoencoder, AutoencoderConfig, AutoencoderRecord};
use crate::fsutil;

/// The kinds of model aelab saves; a card says which one its weights are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Autoencoder,
}

/// How a saved model was trained: for the user, and for the classifier's records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    pub images: usize,
    pub loss: f64,
    pub val_loss: f64,
    pub train_seconds: f64,
}

/// Everything needed to rebuild a saved model, stored as `NAME.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub kind: ModelKind,
    pub aelab_version: String,
    pub architecture: AutoencoderConfig,
    pub height: usize,
    pub width: usize,
    pub training: Option<TrainingInfo>,
}

impl ModelCard {
    pub fn autoencoder(
        architecture: AutoencoderConfig,
        height: usize,
        width: usize,
        training: Option<TrainingInfo>,
    ) -> Self {
        Self {
            kind: ModelKind::Autoencoder,
            aelab_version: env!("CARGO_PKG_VERSION").to_string(),
            architecture,
            height,
            width,
            training,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: file not found", path.display())]
    NotFound { path: PathBuf },
    #[error("{}: {what}", path.display())]
    Invalid { path: PathBuf, what: String },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn invalid(path: &Path, what: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        path: path.to_owned(),
        what: what.into(),
    }
}

/// The `.mpk` and `.json` paths for a model given as `NAME`, `NAME.mpk` or `NAME.json`.
pub fn model_paths(path: &Path) -> (PathBuf, PathBuf) {
    let base = match path.extension().and_then(|e| e.to_str()) {
        Some("mpk" | "json") => path.with_extension(""),
        _ => path.to_owned(),
    };
    let with = |ext: &str| {
        let mut name = base.clone().into_os_string();
        name.push(".");
        name.push(ext);
        PathBuf::from(name)
    };
    (with("mpk"), with("json"))
}

fn recorder() -> NamedMpkFileRecorder<FullPrecisionSettings> {
    NamedMpkFileRecorder::new()
}

/// Save `model` as `dir/NAME.mpk` + `dir/NAME.json`. An existing model of that name is
/// replaced only once both new files are complete.
pub fn save_autoencoder<B: Backend>(
    model: &Autoencoder<B>,
    card: &ModelCard,
    dir: &Path,
    name: &str,
) -> Result<(PathBuf, PathBuf), StoreError> {
    let (mpk, json) = model_paths(&dir.join(name));
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| StoreError::Write { path, source }
    };

    // The recorder appends ".mpk" itself, so give it a temp name without an extension.
    let temp_mpk = fsutil::temp_path_for(&mpk.with_extension(""));
    Recorder::<B>::record(&recorder(), model.clone().into_record(), temp_mpk.clone()).map_err(
        |e| StoreError::Write {
            path: mpk.clone(),
            source: std::io::Error::other(e.to_string()),
        },
    )?;
    let temp_mpk = temp_mpk.with_extension("mpk");

    let card_text = serde_json::to_string_pretty(card).expect("a model card always serializes");
    let temp_json = fsutil::temp_path_for(&json);
    let written = fs::write(&temp_json, card_text)
        .map_err(write_err(&json))
        .and_then(|_| fs::rename(&temp_mpk, &mpk).map_err(write_err(&mpk)))
        .and_then(|_| fs::rename(&temp_json, &json).map_err(write_err(&json)));
    if written.is_err() {
        let _ = fs::remove_file(&temp_mpk);
        let _ = fs::remove_file(&temp_json);
    }
    written.map(|_| (mpk, json))
}

/// Read and check a model card.
pub fn read_card(json: &Path) -> Result<ModelCard, StoreError> {
    let text = fs::read_to_string(json).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::NotFound {
            path: json.to_owned(),
        },
        _ => invalid(json, format!("cannot read: {e}")),
    })?;
    let card: ModelCard = serde_json::from_str(&text)
        .map_err(|e| invalid(json, format!("not a valid aelab model card: {e}")))?;
    card.architecture.validate().map_err(|e| invalid(json, e))?;
    AutoencoderConfig::check_image_size(card.height, card.width).map_err(|e| invalid(json, e))?;
    Ok(card)
}

/// Load an autoencoder saved by [`save_autoencoder`], given `NAME`, `NAME.mpk` or `NAME.json`.
pub fn load_autoencoder<B: Backend>(
    path: &Path,
    device: &B::Device,
) -> Result<(Autoencoder<B>, ModelCard), StoreError> {
    let (mpk, json) = model_paths(path);
    let card = read_card(&json)?;
    if !mpk.exists() {
        return Err(StoreError::NotFound { path: mpk });
    }
    let fresh = card.architecture.init::<B>(device);
    let expected = param_shapes(&fresh);
    let record: AutoencoderRecord<B> = Recorder::<B>::load(&recorder(), mpk.clone(), device)
        .map_err(|e| invalid(&mpk, format!("not a readable aelab model: {e}")))?;
    // burn panics on a layer-count mismatch, so compare the depths before loading.
    let depths = (record.encoder.blocks.len(), record.decoder.blocks.len());
    let layers = card.architecture.layers;
    if depths != (layers, layers) {
        return Err(invalid(
            &mpk,
            format!(
                "weights do not match {}: it describes {layers} layers, the weights hold {} encoder and {} decoder layers",
                json.display(),
                depths.0,
                depths.1
            ),
        ));
    }
    let model = fresh.load_record(record);
    let found = param_shapes(&model);
    if let Some(what) = describe_mismatch(&expected, &found) {
        return Err(invalid(
            &mpk,
            format!("weights do not match {}: {what}", json.display()),
        ));
    }
    Ok((model, card))
}

/// What differs between the shapes a card describes and the shapes the weights hold.
fn describe_mismatch(expected: &[Vec<usize>], found: &[Vec<usize>]) -> Option<String> {
    if expected.len() != found.len() {
        return Some(format!(
            "the card describes {} parameter tensors, the weights hold {}",
            expected.len(),
            found.len()
        ));
    }
    expected
        .iter()
        .zip(found)
        .position(|(e, f)| e != f)
        .map(|i| {
            format!(
                "parameter {i} should be {:?} but is {:?}",
                expected[i], found[i]
            )
        })
}

/// The shape of every parameter tensor, in module order.
fn param_shapes<B: Backend, M: Module<B>>(module: &M) -> Vec<Vec<usize>> {
    struct Shapes(Vec<Vec<usize>>);
    impl<B: Backend> ModuleVisitor<B> for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.0.push(param.shape().dims::<D>().to_vec());
        }
    }
    let mut shapes = Shapes(Vec::new());
    module.visit(&mut shapes);
    shapes.0
}
