//! Everything a command reads before it computes, loaded and cross-checked here, each check
//! once: hyperparameters and sweeps, images and labels (counts, label range, image size
//! against the model's card), the model's card, the output folder and the device. A bad
//! input is refused now, in one line, not after hours of training.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cli::{AutoencoderArgs, ClassifyArgs, PredictArgs, RunArgs, SetupArgs};
use crate::data::idx::{self, Images};
use crate::device::{self, Compute};
use crate::error::{InputError, Result};
use crate::experiment::autoencoder::validate_model_name;
use crate::experiment::hyper::{AeHyper, ClHyper, HyperSet, parse_sweep};
use crate::model::store::{self, Architecture, ModelCard, ModelKind, StoreError};
use crate::model::{AutoencoderConfig, ClassifierConfig};

/// Each `--sweep`: the hyperparameter and its values.
pub type Sweeps<H> = Vec<(<H as HyperSet>::Param, Vec<usize>)>;

/// What `aelab autoencoder` trains on.
pub struct AutoencoderInputs {
    pub base: AeHyper,
    pub sweeps: Sweeps<AeHyper>,
    pub data_path: PathBuf,
    pub images: Images,
}

pub fn autoencoder(args: &AutoencoderArgs) -> Result<AutoencoderInputs> {
    let base = args.hyper();
    base.validate()?;
    check_model_name(&args.save)?;
    let sweeps = parse_sweeps(&args.run.sweep, &base)?;
    check_shard(&args.run, &sweeps)?;
    let data_path = args.data_path()?;
    let images = load_images(&data_path, args.run.setup.limit)?;
    AutoencoderConfig::check_image_size(images.height, images.width)
        .map_err(|e| e.in_file(&data_path))?;
    check_enough_to_split(&images, &data_path)?;
    Ok(AutoencoderInputs {
        base,
        sweeps,
        data_path,
        images,
    })
}

/// Images with one label each, and where they came from.
pub struct LabelledFiles {
    pub images_path: PathBuf,
    pub images: Images,
    pub labels_path: PathBuf,
    pub labels: Vec<u8>,
}

/// What `aelab classify` trains and tests on, and the autoencoder it starts from.
pub struct ClassifyInputs {
    pub model_path: PathBuf,
    pub card: ModelCard<AutoencoderConfig>,
    pub base: ClHyper,
    pub sweeps: Sweeps<ClHyper>,
    pub train: LabelledFiles,
    pub test: LabelledFiles,
    /// The largest training label plus one, at least 2.
    pub classes: usize,
}

pub fn classify(args: &ClassifyArgs) -> Result<ClassifyInputs> {
    check_model_name(&args.save)?;
    let model_path = args.model_path();
    let card = read_card::<AutoencoderConfig>(&model_path, args.model.is_none())?;
    let base = args.hyper(card.architecture.layers);
    base.validate()
        .map_err(|e| InputError::new(format!("{e} ({})", model_path.display())))?;
    let sweeps = parse_sweeps(&args.run.sweep, &base)?;
    check_shard(&args.run, &sweeps)?;

    let [train_images, train_labels, test_images, test_labels] = args.data_paths()?;
    let limit = args.run.setup.limit;
    let train = load_labelled(train_images, train_labels, limit)?;
    let test = load_labelled(test_images, test_labels, limit)?;
    check_enough_to_split(&train.images, &train.images_path)?;
    for files in [&train, &test] {
        check_size_fits(&files.images, &files.images_path, &card, &model_path)?;
    }
    let classes = class_count(&train.labels);
    let source = format!("the training labels {}", train.labels_path.display());
    check_labels_within(&test.labels_path, &test.labels, classes, &source)?;
    Ok(ClassifyInputs {
        model_path,
        card,
        base,
        sweeps,
        train,
        test,
        classes,
    })
}

/// What `aelab predict` labels, and with which classifier.
pub struct PredictInputs {
    pub model_path: PathBuf,
    pub card: ModelCard<ClassifierConfig>,
    pub images_path: PathBuf,
    pub images: Images,
    pub labels: Option<Vec<u8>>,
}

pub fn predict(args: &PredictArgs) -> Result<PredictInputs> {
    let model_path = args.model_path();
    let card = read_card::<ClassifierConfig>(&model_path, args.model.is_none())?;
    let images_path = args.images_path()?;
    let limit = args.setup.limit;
    let images = load_images(&images_path, limit)?;
    check_size_fits(&images, &images_path, &card, &model_path)?;
    let source = format!("the classifier {}", model_path.display());
    let labels = match &args.labels {
        None => None,
        Some(labels_path) => {
            let labels = load_labels(labels_path, &images, &images_path, limit)?;
            check_labels_within(labels_path, &labels, card.architecture.classes, &source)?;
            Some(labels)
        }
    };
    Ok(PredictInputs {
        model_path,
        card,
        images_path,
        images,
        labels,
    })
}

/// Make the output folder, proven writable, and pick the device; says on stderr what
/// `auto` chose and why.
pub fn prepare(setup: &SetupArgs) -> Result<Compute> {
    prepare_output_folder(&setup.out)?;
    let (compute, note) = device::resolve(setup.device)?;
    if let Some(note) = note {
        eprintln!("{note}");
    }
    Ok(compute)
}

/// A saved model's card of kind `A`, checked now (weights are loaded on the device later).
/// When the path was the default, a missing file gets a hint on how to make one.
fn read_card<A: Architecture>(model_path: &Path, defaulted: bool) -> Result<ModelCard<A>> {
    let (mpk, json) = store::model_paths(model_path);
    let command = match A::KIND {
        ModelKind::Autoencoder => "autoencoder",
        ModelKind::Classifier => "classify",
    };
    let missing = |path: &Path| {
        let hint = if defaulted {
            format!("; train one first with `aelab {command}`, or give its file with --model")
        } else {
            String::new()
        };
        InputError::new(format!("{}: file not found{hint}", path.display())).into()
    };
    if !mpk.exists() {
        return Err(missing(&mpk));
    }
    match store::read_card::<A>(&json) {
        Err(StoreError::NotFound { path }) => Err(missing(&path)),
        other => Ok(other?),
    }
}

/// How a message names a model of architecture `A`.
fn kind_word<A: Architecture>() -> &'static str {
    match A::KIND {
        ModelKind::Autoencoder => "autoencoder",
        ModelKind::Classifier => "classifier",
    }
}

/// Images must be the size the model was trained on.
fn check_size_fits<A: Architecture>(
    images: &Images,
    path: &Path,
    card: &ModelCard<A>,
    model_path: &Path,
) -> Result<(), InputError> {
    let kind = kind_word::<A>();
    if (images.height, images.width) != (card.height, card.width) {
        return Err(InputError::new(format!(
            "{}: images are {}x{}, but the {kind} {} was trained on {}x{} images",
            path.display(),
            images.height,
            images.width,
            model_path.display(),
            card.height,
            card.width
        )));
    }
    Ok(())
}

/// Every label in `labels_path` must be one of the `classes` that `source` knows.
fn check_labels_within(
    labels_path: &Path,
    labels: &[u8],
    classes: usize,
    source: &str,
) -> Result<(), InputError> {
    match labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| usize::from(l) >= classes)
    {
        Some((index, &label)) => Err(InputError::new(format!(
            "{}: label {label} (item {index}) is not one of the {classes} classes of {source}",
            labels_path.display(),
        ))),
        None => Ok(()),
    }
}

/// The number of classes: the largest label plus one, at least 2.
fn class_count(labels: &[u8]) -> usize {
    labels
        .iter()
        .map(|&l| usize::from(l) + 1)
        .max()
        .unwrap_or(0)
        .max(2)
}

fn check_model_name(name: &str) -> Result<(), InputError> {
    validate_model_name(name).map_err(|e| InputError::new(format!("--save: {e}")))
}

/// `--shard` divides a sweep's runs: without `--sweep` there is nothing to divide.
fn check_shard<P>(run: &RunArgs, sweeps: &[(P, Vec<usize>)]) -> Result<(), InputError> {
    match run.shard {
        Some(shard) if sweeps.is_empty() => Err(InputError::new(format!(
            "--shard {shard} divides the runs of a --sweep: give one (e.g. --sweep filters=16,64)"
        ))),
        _ => Ok(()),
    }
}

/// Parse every `--sweep` and check each variation now, not after hours of training.
fn parse_sweeps<H: HyperSet>(texts: &[String], base: &H) -> Result<Sweeps<H>, InputError> {
    let mut sweeps = Vec::new();
    for text in texts {
        let (param, values) = parse_sweep::<H>(text)?;
        for &value in &values {
            base.with(param, value)
                .validate()
                .map_err(|e| InputError::new(format!("--sweep '{text}': {e}")))?;
        }
        sweeps.push((param, values));
    }
    Ok(sweeps)
}

/// Load images and keep the first `limit`.
fn load_images(path: &Path, limit: Option<usize>) -> Result<Images> {
    let mut images = idx::read_images(path)?;
    if let Some(limit) = limit {
        images.truncate(limit);
    }
    Ok(images)
}

/// Images and their labels, the first `limit` of each.
fn load_labelled(
    images_path: PathBuf,
    labels_path: PathBuf,
    limit: Option<usize>,
) -> Result<LabelledFiles> {
    let images = load_images(&images_path, limit)?;
    let labels = load_labels(&labels_path, &images, &images_path, limit)?;
    Ok(LabelledFiles {
        images_path,
        images,
        labels_path,
        labels,
    })
}

/// Load the labels of `images` (read from `images_path`), keep the first `limit`, and check
/// there is one per image.
fn load_labels(
    path: &Path,
    images: &Images,
    images_path: &Path,
    limit: Option<usize>,
) -> Result<Vec<u8>> {
    let mut labels = idx::read_labels(path)?;
    if let Some(limit) = limit {
        labels.truncate(limit);
    }
    if labels.len() != images.count {
        return Err(InputError::new(format!(
            "{}: {} labels for the {} images of {}",
            path.display(),
            labels.len(),
            images.count,
            images_path.display()
        ))
        .into());
    }
    Ok(labels)
}

fn check_enough_to_split(images: &Images, path: &Path) -> Result<(), InputError> {
    if images.count < 2 {
        return Err(InputError::new(format!(
            "{}: {} image(s) to use; training needs at least 2 (one to train, one to validate)",
            path.display(),
            images.count
        )));
    }
    Ok(())
}

/// Make the output folder and prove it writable now, not after hours of training.
fn prepare_output_folder(out: &Path) -> Result<(), InputError> {
    let unwritable = |e: std::io::Error| {
        InputError::new(format!("{}: cannot write results here: {e}", out.display()))
    };
    fs::create_dir_all(out).map_err(unwritable)?;
    let probe = crate::fsutil::temp_path_for(&out.join("write-check"));
    fs::write(&probe, b"").map_err(unwritable)?;
    fs::remove_file(&probe).map_err(unwritable)?;
    Ok(())
}
