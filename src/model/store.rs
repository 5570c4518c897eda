//! Saving and loading a model: `NAME.mpk` holds the weights (burn's named MessagePack, full
//! precision) and `NAME.json` the model card (kind, architecture, image size, aelab version,
//! model format, how it was trained). Both are written atomically; loading rebuilds the model from the card
//! and rejects weights that do not fit it.

use std::fmt::{self, Debug};
use std::fs;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use burn::record::{
    FullPrecisionSettings, NamedMpkBytesRecorder, NamedMpkFileRecorder, Recorder, RecorderError,
};
use burn::tensor::DType;
use serde::de::{self, DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::autoencoder::{Autoencoder, AutoencoderConfig, AutoencoderRecord};
use super::backend::ModelBackend;
use super::classifier::{Classifier, ClassifierConfig, ClassifierRecord};
use super::format::MODEL_FORMAT;
use crate::exit::{ExitKind, InputError};
use crate::fsutil;

/// The kinds of model aelab saves; a card says which one its weights are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Autoencoder,
    Classifier,
}

impl ModelKind {
    /// How a message names the kind: "autoencoder".
    pub fn noun(self) -> &'static str {
        match self {
            Self::Autoencoder => "autoencoder",
            Self::Classifier => "classifier",
        }
    }

    /// The subcommand that trains one: `aelab classify`.
    pub fn command(self) -> &'static str {
        match self {
            Self::Autoencoder => "autoencoder",
            Self::Classifier => "classify",
        }
    }

    /// "an autoencoder", "a classifier".
    fn with_article(self) -> String {
        let article = if self.noun().starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {}", self.noun())
    }
}

/// An architecture that can be saved and rebuilt from its card.
pub trait Architecture: Copy + Debug + PartialEq + Serialize + DeserializeOwned {
    const KIND: ModelKind;
    type Model<B: ModelBackend>: Module<B>;
    /// Whether the architecture and image size make sense (a hand-edited card may not).
    fn check(&self, height: usize, width: usize) -> Result<(), InputError>;
    fn init<B: ModelBackend>(&self, device: &B::Device) -> Self::Model<B>;
    /// The length of every list of blocks: burn panics when a record's lengths differ, so
    /// they are compared before loading.
    fn block_counts(&self) -> Vec<usize>;
    fn record_block_counts<B: ModelBackend>(
        record: &<Self::Model<B> as Module<B>>::Record,
    ) -> Vec<usize>;
}

impl Architecture for AutoencoderConfig {
    const KIND: ModelKind = ModelKind::Autoencoder;
    type Model<B: ModelBackend> = Autoencoder<B>;

    fn check(&self, height: usize, width: usize) -> Result<(), InputError> {
        self.validate()?;
        self.check_for_images(height, width)
    }

    fn init<B: ModelBackend>(&self, device: &B::Device) -> Autoencoder<B> {
        AutoencoderConfig::init(self, device)
    }

    /// Encoder and decoder blocks, and whether there is a fully connected code (1) or not.
    fn block_counts(&self) -> Vec<usize> {
        let layers = self.stack.layers;
        vec![layers, layers, usize::from(self.code.is_some())]
    }

    fn record_block_counts<B: ModelBackend>(record: &AutoencoderRecord<B>) -> Vec<usize> {
        vec![
            record.encoder.blocks.len(),
            record.decoder.blocks.len(),
            usize::from(record.code.is_some()),
        ]
    }
}

impl Architecture for ClassifierConfig {
    const KIND: ModelKind = ModelKind::Classifier;
    type Model<B: ModelBackend> = Classifier<B>;

    fn check(&self, height: usize, width: usize) -> Result<(), InputError> {
        self.validate()?;
        if (height, width) != (self.height, self.width) {
            return Err(InputError::new(format!(
                "the card gives {height}x{width} images, its architecture {}x{}",
                self.height, self.width
            )));
        }
        Ok(())
    }

    fn init<B: ModelBackend>(&self, device: &B::Device) -> Classifier<B> {
        ClassifierConfig::init(self, device)
    }

    fn block_counts(&self) -> Vec<usize> {
        vec![self.encoder.layers]
    }

    fn record_block_counts<B: ModelBackend>(record: &ClassifierRecord<B>) -> Vec<usize> {
        vec![record.encoder.blocks.len()]
    }
}

/// How a saved model was trained: for the user, and for the classifier's records.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// Epochs (a classifier: per stage).
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    /// RMSprop's learning rate; cards written before `--lr` existed have none (they
    /// trained at 0.001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
    pub images: usize,
    pub loss: f64,
    pub val_loss: f64,
    pub train_seconds: f64,
    /// An autoencoder's mean PSNR (dB) and SSIM on its validation images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_psnr: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_ssim: Option<f64>,
    /// A classifier's final accuracy and validation accuracy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_accuracy: Option<f64>,
    /// A classifier's loss function and the autoencoder file its encoder came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder_from: Option<String>,
}

/// Everything needed to rebuild a saved model, stored as `NAME.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard<A> {
    pub kind: ModelKind,
    pub aelab_version: String,
    /// See [`MODEL_FORMAT`]; cards written before it are format 1.
    #[serde(default = "first_format")]
    pub model_format: u32,
    pub architecture: A,
    pub height: usize,
    pub width: usize,
    pub training: Option<TrainingInfo>,
}

impl<A: Architecture> ModelCard<A> {
    pub fn new(
        architecture: A,
        height: usize,
        width: usize,
        training: Option<TrainingInfo>,
    ) -> Self {
        Self {
            kind: A::KIND,
            aelab_version: env!("CARGO_PKG_VERSION").to_string(),
            model_format: MODEL_FORMAT,
            architecture,
            height,
            width,
            training,
        }
    }
}

fn first_format() -> u32 {
    1
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

impl StoreError {
    /// A missing or damaged model is bad input; a model that cannot be written is a failure.
    pub fn exit_kind(&self) -> ExitKind {
        match self {
            Self::NotFound { .. } | Self::Invalid { .. } => ExitKind::BadInput,
            Self::Write { .. } => ExitKind::Failure,
        }
    }
}

fn invalid(path: &Path, what: impl ToString) -> StoreError {
    StoreError::Invalid {
        path: path.to_owned(),
        what: what.to_string(),
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

/// A module's weights as the bytes of a `.mpk` file (full precision, named MessagePack).
pub fn weights_bytes<B: Backend, M: Module<B>>(module: &M) -> Vec<u8> {
    let recorder = NamedMpkBytesRecorder::<FullPrecisionSettings>::new();
    Recorder::<B>::record(&recorder, module.clone().into_record(), ())
        .expect("serialising weights in memory cannot fail")
}

/// Save `model` as `dir/NAME.mpk` + `dir/NAME.json`. An existing model of that name is
/// replaced only once both new files are complete; a failed write (a full disk) leaves it
/// as it was and no temp file behind.
pub fn save<A: Architecture, B: ModelBackend>(
    model: &A::Model<B>,
    card: &ModelCard<A>,
    dir: &Path,
    name: &str,
) -> Result<(PathBuf, PathBuf), StoreError> {
    let (mpk, json) = model_paths(&dir.join(name));
    let weights = weights_bytes::<B, _>(model);
    let card_text = serde_json::to_string_pretty(card).expect("a model card always serializes");
    fsutil::write_all_atomic(&[(&mpk, &weights), (&json, card_text.as_bytes())]).map_err(
        |source| StoreError::Write {
            path: mpk.clone(),
            source,
        },
    )?;
    Ok((mpk, json))
}

/// The part of a card read first, to name the kind before anything else is checked.
#[derive(Deserialize)]
struct KindOnly {
    kind: ModelKind,
}

/// Which kind of model a card describes (before reading it as that kind's card).
pub fn read_kind(json: &Path) -> Result<ModelKind, StoreError> {
    let text = read_card_text(json)?;
    let KindOnly { kind } = serde_json::from_str(&text).map_err(|e| not_a_card(json, e))?;
    Ok(kind)
}

fn read_card_text(json: &Path) -> Result<String, StoreError> {
    fs::read_to_string(json).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::NotFound {
            path: json.to_owned(),
        },
        _ => invalid(json, format!("cannot read: {e}")),
    })
}

fn not_a_card(json: &Path, e: serde_json::Error) -> StoreError {
    invalid(json, format!("not a valid aelab model card: {e}"))
}

/// Read and check a model card of architecture `A`.
pub fn read_card<A: Architecture>(json: &Path) -> Result<ModelCard<A>, StoreError> {
    let text = read_card_text(json)?;
    let not_a_card = |e: serde_json::Error| not_a_card(json, e);
    let KindOnly { kind } = serde_json::from_str(&text).map_err(not_a_card)?;
    if kind != A::KIND {
        return Err(invalid(
            json,
            format!(
                "this is {}, not {}",
                kind.with_article(),
                A::KIND.with_article()
            ),
        ));
    }
    let card: ModelCard<A> = serde_json::from_str(&text).map_err(not_a_card)?;
    if card.model_format > MODEL_FORMAT {
        return Err(invalid(
            json,
            format!(
                "written by a newer aelab (model format {}; this one knows up to {MODEL_FORMAT})",
                card.model_format
            ),
        ));
    }
    card.architecture
        .check(card.height, card.width)
        .map_err(|e| invalid(json, e))?;
    Ok(card)
}

/// Load a model saved by [`save`], given `NAME`, `NAME.mpk` or `NAME.json`.
pub fn load<A: Architecture, B: ModelBackend>(
    path: &Path,
    device: &B::Device,
) -> Result<(A::Model<B>, ModelCard<A>), StoreError> {
    let card = read_card::<A>(&model_paths(path).1)?;
    let model = load_weights::<A, B>(path, &card, device)?;
    Ok((model, card))
}

/// Load the weights of a model whose card was read already (by [`read_card`]).
pub fn load_weights<A: Architecture, B: ModelBackend>(
    path: &Path,
    card: &ModelCard<A>,
    device: &B::Device,
) -> Result<A::Model<B>, StoreError> {
    let (mpk, json) = model_paths(path);
    if !mpk.exists() {
        return Err(StoreError::NotFound { path: mpk });
    }
    // Its weights stay undrawn until loading replaces them (`param_shapes` reads lazy shapes).
    let fresh = card.architecture.init::<B>(device);
    let expected = param_shapes(&fresh);
    let unreadable = |e: RecorderError| {
        let (RecorderError::FileNotFound(e)
        | RecorderError::DeserializeError(e)
        | RecorderError::Unknown(e)) = e;
        let why = e.lines().next().unwrap_or_default();
        invalid(&mpk, format!("not a readable aelab model: {why}"))
    };
    // burn panics on some damaged files (a bad parameter id, bytes that do not fit a
    // tensor's shape), so a first pass rejects those.
    Recorder::<B>::load_item::<Loadable>(&recorder(), &mut mpk.clone()).map_err(unreadable)?;
    let record = Recorder::<B>::load(&recorder(), mpk.clone(), device).map_err(unreadable)?;
    // burn panics on a layer-count mismatch, so compare the depths before loading.
    let described = card.architecture.block_counts();
    let held = A::record_block_counts::<B>(&record);
    if described != held {
        return Err(invalid(
            &mpk,
            format!(
                "weights do not match {}: it describes {} layers, the weights hold {}",
                json.display(),
                counts(&described),
                counts(&held)
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
    Ok(model)
}

/// Block counts for a message: "4", or "4 + 4" for encoder and decoder.
fn counts(blocks: &[usize]) -> String {
    blocks
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" + ")
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
            self.0.push(param.lazy_shape().dims::<D>().to_vec());
        }
    }
    let mut shapes = Shapes(Vec::new());
    module.visit(&mut shapes);
    shapes.0
}

/// Any part of a weights file, accepted only if burn can load it without panicking and the
/// model can be used: every parameter id decodes and every tensor holds exactly its shape's
/// worth of finite f32 values (what aelab saves).
struct Loadable;

impl<'de> Deserialize<'de> for Loadable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Loadable)
    }
}

impl<'de> Visitor<'de> for Loadable {
    type Value = Loadable;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a burn record")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_bytes<E>(self, _: &[u8]) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<Loadable>()?.is_some() {}
        Ok(self)
    }

    /// A parameter is a map of `id` and `param` (the tensor); anything else is walked.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            let checked = match key.as_str() {
                "id" => check_param_id(&map.next_value::<String>()?),
                "param" => check_tensor(&map.next_value::<TensorData>()?),
                _ => map.next_value::<Loadable>().map(|_| Ok(()))?,
            };
            checked.map_err(de::Error::custom)?;
        }
        Ok(self)
    }
}

/// burn decodes ids of up to 13 base-32 characters (8 bytes) and panics on longer ones.
fn check_param_id(id: &str) -> Result<(), String> {
    if id.len() > 13 || ParamId::try_deserialize(id).is_none() {
        return Err(format!("{id:?} is not a parameter id"));
    }
    Ok(())
}

fn check_tensor(data: &TensorData) -> Result<(), String> {
    let values = data.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let bytes = values.and_then(|n| n.checked_mul(DType::F32.size()));
    if data.dtype != DType::F32 || bytes != Some(data.bytes.len()) {
        return Err(format!(
            "a tensor of shape {:?} holds {} bytes of {:?}, not that many f32 values",
            data.shape.as_slice(),
            data.bytes.len(),
            data.dtype
        ));
    }
    // A flipped bit can make a weight NaN or infinite: training on it would diverge at once,
    // with an error that blames the batch size.
    let mut values = data.bytes.chunks_exact(4);
    if !values.all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite()) {
        return Err(format!(
            "a tensor of shape {:?} holds NaN or infinite values",
            data.shape.as_slice()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ConvStack;

    #[test]
    fn a_card_of_a_newer_model_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ae = dir.path().join("ae.json");
        let card = format!(
            r#"{{"kind":"autoencoder","aelab_version":"9.0.0","model_format":{},"architecture":{{"layers":2,"filter_size":3,"filters":8}},"height":28,"width":28,"training":null}}"#,
            MODEL_FORMAT + 1
        );
        fs::write(&ae, card).unwrap();
        let err = read_card::<AutoencoderConfig>(&ae).unwrap_err().to_string();
        assert!(err.contains("ae.json: written by a newer aelab"), "{err}");
    }

    /// Cards exactly as aelab wrote them before the encoder, decoder and autoencoder
    /// configs became one `ConvStack`: the saved format must not have moved.
    #[test]
    fn cards_written_before_the_one_conv_stack_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let ae = dir.path().join("ae.json");
        fs::write(
            &ae,
            r#"{"kind":"autoencoder","aelab_version":"0.1.0","architecture":{"layers":4,"filter_size":3,"filters":8},"height":28,"width":28,"training":null}"#,
        )
        .unwrap();
        let stack = ConvStack {
            layers: 4,
            filter_size: 3,
            filters: 8,
        };
        assert_eq!(
            read_card::<AutoencoderConfig>(&ae).unwrap().architecture,
            AutoencoderConfig::convolutional(stack)
        );

        let cl = dir.path().join("classifier.json");
        fs::write(
            &cl,
            r#"{"kind":"classifier","aelab_version":"0.1.0","architecture":{"encoder":{"layers":2,"filter_size":3,"filters":8},"fc_units":32,"classes":10,"height":28,"width":28},"height":28,"width":28,"training":null}"#,
        )
        .unwrap();
        let card = read_card::<ClassifierConfig>(&cl).unwrap();
        assert_eq!(card.architecture.encoder, ConvStack { layers: 2, ..stack });
        assert_eq!(card.architecture.features(), 16 * 7 * 7);
        // And what is written today reads back as the same card.
        let today = serde_json::to_string(&card).unwrap();
        assert_eq!(
            serde_json::from_str::<ModelCard<ClassifierConfig>>(&today).unwrap(),
            card
        );
    }
}
