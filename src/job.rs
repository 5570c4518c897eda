//! Each command's flags resolved, once, into one job: defaults applied, files loaded and
//! cross-checked, the output folder made and proven writable, the plan, checkpointing, the
//! model's name and the device chosen (as ripgrep turns its `LowArgs` into `HiArgs`). Below
//! this module nothing reads a clap struct; `main` is parse, resolve, run, exit code.

mod inputs;

use std::path::PathBuf;

use crate::cli::{
    AutoencoderArgs, AutoencoderInputArgs, ClassifyArgs, Command, ExportArgs, ExportFormat,
    GraphsArgs, LatentArgs, PredictArgs, RunArgs, ScoreArgs, SetupArgs,
};
use crate::data::idx::Images;
use crate::device::{self, Compute};
use crate::error::{InputError, Result};
use crate::experiment::autoencoder::{AutoencoderExperiment, validate_model_name};
use crate::experiment::classifier::ClassifierExperiment;
use crate::experiment::graphs;
use crate::experiment::hyper::{Hyper, ParamSet, Sweeps, parse_sweeps};
use crate::experiment::kinds::{EncoderDepth, Kind};
use crate::experiment::plan::{Plan, Setup};
use crate::experiment::prompt;
use crate::experiment::resume::Checkpointing;
use crate::experiment::source::{RunSource, fingerprint};
use crate::export::{ExportJob, SavedModel};
use crate::latent::LatentJob;
use crate::model::store::{self, Architecture, ModelCard, ModelKind};
use crate::model::{AutoencoderConfig, ClassifierConfig, ModelBackend};
use crate::predictions::PredictJob;
use crate::scores::ScoreJob;

use inputs::{
    BUNDLED_TEST_IMAGES, BUNDLED_TEST_LABELS, BUNDLED_TRAIN_IMAGES, BUNDLED_TRAIN_LABELS,
    check_enough_to_split, check_labels_within, check_size_fits, class_count, given_or_bundled,
    load_images, load_labelled, load_labels, of_classes, prepare_output_folder, saved_model,
    weights_fingerprint,
};

/// What a command does, fully resolved (the experiments boxed: they hold their data).
pub enum Job {
    Autoencoder(Box<AutoencoderExperiment>, Compute),
    Classify(Box<ClassifierExperiment>, Compute),
    Predict(Box<PredictJob>, Compute),
    Score(Box<ScoreJob>, Compute),
    Latent(Box<LatentJob>, Compute),
    /// `aelab graphs`: every error graph the tables in this folder support.
    Graphs(PathBuf),
    /// `aelab export`: on the CPU, whatever the device flags (nothing is computed).
    Export(Box<ExportJob>),
}

impl Job {
    /// Resolve `command`; a bad flag value or input file is refused here, before anything
    /// is computed.
    pub fn resolve(command: Command) -> Result<Self> {
        match command {
            Command::Autoencoder(args) => autoencoder(args),
            Command::Classify(args) => classify(args),
            Command::Predict(args) => predict(args),
            Command::Score(args) => score(args),
            Command::Latent(args) => latent(args),
            Command::Graphs(GraphsArgs { out }) => Ok(Self::Graphs(out)),
            Command::Export(args) => export(args),
        }
    }

    /// Do the job: on its device, saying first on what.
    pub fn run(self) -> Result<()> {
        match self {
            Self::Autoencoder(experiment, compute) => {
                println!("{}, on {compute}", experiment.describe());
                device::dispatch(compute, *experiment)
            }
            Self::Classify(experiment, compute) => {
                println!("{}, on {compute}", experiment.describe());
                device::dispatch(compute, *experiment)
            }
            Self::Predict(job, compute) => {
                println!("{}, on {compute}", job.describe());
                device::dispatch(compute, *job)
            }
            Self::Score(job, compute) => {
                println!("{}, on {compute}", job.describe());
                device::dispatch(compute, *job)
            }
            Self::Latent(job, compute) => {
                println!("{}, on {compute}", job.describe());
                device::dispatch(compute, *job)
            }
            Self::Graphs(out) => {
                let written = graphs::draw_all(&out)?;
                if written.is_empty() {
                    return Err(InputError::new(format!(
                        "{}: no results table there holds runs that vary one hyperparameter",
                        out.display()
                    ))
                    .into());
                }
                graphs::print_written(&written);
                Ok(())
            }
            Self::Export(job) => job.run(),
        }
    }
}

fn autoencoder(args: AutoencoderArgs) -> Result<Job> {
    let base = Hyper::given(&args.hyper.given);
    base.validate(())?;
    check_model_name(&args.save)?;
    let sweeps = parse_sweeps(&args.run.sweep, &base, ())?;
    check_shard(&args.run, &sweeps)?;
    let bundled = args.data.is_none();
    let data_path = given_or_bundled(args.data, BUNDLED_TRAIN_IMAGES, "-d")?;
    let limit = args.run.setup.limit;
    let mut images = load_images(&data_path, limit)?;
    AutoencoderConfig::check_image_size(images.height, images.width)
        .map_err(|e| e.in_file(&data_path))?;
    let classes = match args.classes.is_empty() {
        true => None,
        false => {
            let labels_path = match (args.labels, bundled) {
                (Some(path), _) => path,
                (None, true) => given_or_bundled(None, BUNDLED_TRAIN_LABELS, "--dl")?,
                (None, false) => {
                    return Err(InputError::new(
                        "--classes needs the training images' labels: give --dl FILE",
                    )
                    .into());
                }
            };
            let labels = load_labels(&labels_path, &images, &data_path, limit)?;
            images = of_classes(&images, &labels, &args.classes, &labels_path)?;
            Some((args.classes, fingerprint(labels.iter().copied())))
        }
    };
    check_enough_to_split(&images, &data_path)?;
    let compute = prepare(&args.run.setup)?;
    let source = RunSource::new(&data_path, &images, args.run.seed, compute.flag());
    let source = match classes {
        None => source,
        Some((classes, labels_fingerprint)) => RunSource {
            classes: Some(
                classes
                    .iter()
                    .map(u8::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            labels_fingerprint: Some(labels_fingerprint),
            ..source
        },
    };
    let any_hyper_flag = !args.hyper.given.is_empty();
    let setup = setup(
        args.run,
        base,
        (),
        sweeps,
        any_hyper_flag,
        source,
        args.save,
    );
    let experiment = AutoencoderExperiment {
        setup,
        data_path,
        images,
    };
    Ok(Job::Autoencoder(Box::new(experiment), compute))
}

fn classify(args: ClassifyArgs) -> Result<Job> {
    check_model_name(&args.save)?;
    let defaulted = args.model.is_none();
    let model_path = args
        .model
        .unwrap_or_else(|| args.run.setup.out.join("ae.mpk"));
    let card = saved_model::<AutoencoderConfig>(&model_path, defaulted)?;
    let depth = EncoderDepth(card.architecture.stack.layers);
    let base = Hyper::on_encoder(&args.hyper.given, depth);
    base.validate(depth)
        .map_err(|e| InputError::new(format!("{e} ({})", model_path.display())))?;
    let sweeps = parse_sweeps(&args.run.sweep, &base, depth)?;
    check_shard(&args.run, &sweeps)?;

    let train_images = given_or_bundled(args.data, BUNDLED_TRAIN_IMAGES, "-d")?;
    let train_labels = given_or_bundled(args.labels, BUNDLED_TRAIN_LABELS, "--dl")?;
    let test_images = given_or_bundled(args.test, BUNDLED_TEST_IMAGES, "-t")?;
    let test_labels = given_or_bundled(args.test_labels, BUNDLED_TEST_LABELS, "--tl")?;
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

    let compute = prepare(&args.run.setup)?;
    let source = RunSource {
        loss: Some(args.loss.flag().to_string()),
        encoder: Some(model_path.display().to_string()),
        labels_fingerprint: Some(fingerprint(train.labels.iter().copied())),
        encoder_fingerprint: Some(weights_fingerprint(&model_path)?),
        ..RunSource::new(
            &train.images_path,
            &train.images,
            args.run.seed,
            compute.flag(),
        )
    };
    let any_hyper_flag = !args.hyper.given.is_empty();
    let setup = setup(
        args.run,
        base,
        depth,
        sweeps,
        any_hyper_flag,
        source,
        args.save,
    );
    let experiment = ClassifierExperiment {
        setup,
        train,
        test,
        classes,
        loss: args.loss,
        autoencoder: model_path,
        autoencoder_card: card,
    };
    Ok(Job::Classify(Box::new(experiment), compute))
}

fn predict(args: PredictArgs) -> Result<Job> {
    let inputs: ModelOnImages<ClassifierConfig> = ModelOnImages::resolve(
        args.model,
        "classifier.mpk",
        args.images,
        args.labels,
        &args.setup,
    )?;
    if let Some(labels) = &inputs.labels {
        let source = format!("the classifier {}", inputs.model_path.display());
        let classes = inputs.card.architecture.classes;
        check_labels_within(&labels.path, &labels.values, classes, &source)?;
    }
    let compute = prepare(&args.setup)?;
    let job = PredictJob {
        inputs,
        out: args.setup.out,
    };
    Ok(Job::Predict(Box::new(job), compute))
}

fn score(args: ScoreArgs) -> Result<Job> {
    let inputs = autoencoder_on_images(args.inputs, &args.setup)?;
    if let Some(normal) = args.normal {
        let Some(Labels {
            path,
            values: labels,
        }) = &inputs.labels
        else {
            return Err(InputError::new(format!(
                "--normal {normal} needs the images' labels: give --tl FILE"
            ))
            .into());
        };
        let nothing_to_tell_apart = |which: &str| {
            InputError::new(format!(
                "{}: {which} of class {normal}, so --normal {normal} has nothing to tell apart",
                path.display()
            ))
        };
        if !labels.contains(&normal) {
            return Err(nothing_to_tell_apart("no image is").into());
        }
        if labels.iter().all(|&l| l == normal) {
            return Err(nothing_to_tell_apart("every image is").into());
        }
    }
    let compute = prepare(&args.setup)?;
    let job = ScoreJob {
        inputs,
        normal: args.normal,
        out: args.setup.out,
    };
    Ok(Job::Score(Box::new(job), compute))
}

/// A saved model and the images (and labels) it is to look at: `predict`'s, `score`'s and
/// `latent`'s inputs, defaulted and checked alike.
pub struct ModelOnImages<A> {
    pub model_path: PathBuf,
    /// The model's card, read and checked already.
    pub card: ModelCard<A>,
    pub images_path: PathBuf,
    pub images: Images,
    pub labels: Option<Labels>,
}

/// The images' labels, one per image, and the file they came from.
pub struct Labels {
    pub path: PathBuf,
    pub values: Vec<u8>,
}

impl<A: Architecture> ModelOnImages<A> {
    /// The model given (else `default_file` under `--out`), the images given (else the
    /// bundled test images) and their labels if given.
    fn resolve(
        model: Option<PathBuf>,
        default_file: &str,
        images: Option<PathBuf>,
        labels: Option<PathBuf>,
        setup: &SetupArgs,
    ) -> Result<Self> {
        let defaulted = model.is_none();
        let model_path = model.unwrap_or_else(|| setup.out.join(default_file));
        let card: ModelCard<A> = saved_model(&model_path, defaulted)?;
        let images_path = given_or_bundled(images, BUNDLED_TEST_IMAGES, "-t")?;
        let images = load_images(&images_path, setup.limit)?;
        check_size_fits(&images, &images_path, &card, &model_path)?;
        let labels = match labels {
            None => None,
            Some(path) => {
                let values = load_labels(&path, &images, &images_path, setup.limit)?;
                Some(Labels { path, values })
            }
        };
        Ok(Self {
            model_path,
            card,
            images_path,
            images,
            labels,
        })
    }

    /// What is about to be looked at, for stdout.
    pub fn describe(&self) -> String {
        format!(
            "{} images of {}x{} from {}, {} {}",
            self.images.count,
            self.images.height,
            self.images.width,
            self.images_path.display(),
            A::KIND.noun(),
            self.model_path.display()
        )
    }

    /// The saved model's weights, on `device`.
    pub fn load<B: ModelBackend>(&self, device: &B::Device) -> Result<A::Model<B>> {
        Ok(store::load_weights::<A, B>(
            &self.model_path,
            &self.card,
            device,
        )?)
    }

    /// Each image's label, when labels were given.
    pub fn label_values(&self) -> Option<&[u8]> {
        self.labels.as_ref().map(|labels| labels.values.as_slice())
    }

    /// Every image's index, in order.
    pub fn every_image(&self) -> Vec<usize> {
        (0..self.images.count).collect()
    }
}

/// `score`'s and `latent`'s inputs.
fn autoencoder_on_images(
    args: AutoencoderInputArgs,
    setup: &SetupArgs,
) -> Result<ModelOnImages<AutoencoderConfig>> {
    ModelOnImages::resolve(args.model, "ae.mpk", args.images, args.labels, setup)
}

fn latent(args: LatentArgs) -> Result<Job> {
    let inputs = autoencoder_on_images(args.inputs, &args.setup)?;
    let compute = prepare(&args.setup)?;
    let job = LatentJob {
        inputs,
        out: args.setup.out,
    };
    Ok(Job::Latent(Box::new(job), compute))
}

fn export(args: ExportArgs) -> Result<Job> {
    let ExportFormat::Safetensors = args.format;
    let (mpk, json) = store::model_paths(&args.model);
    if let Some(missing) = [&mpk, &json].into_iter().find(|path| !path.exists()) {
        return Err(InputError::new(format!("{}: file not found", missing.display())).into());
    }
    let model = match store::read_kind(&json)? {
        ModelKind::Autoencoder => SavedModel::Autoencoder(saved_model(&args.model, false)?),
        ModelKind::Classifier => SavedModel::Classifier(saved_model(&args.model, false)?),
    };
    let output = args
        .output
        .unwrap_or_else(|| mpk.with_extension("safetensors"));
    if let Some(folder) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        prepare_output_folder(folder)?;
    }
    Ok(Job::Export(Box::new(ExportJob {
        model_path: mpk,
        model,
        output,
    })))
}

/// An experiment's settings from the flags both training commands share.
fn setup<K: Kind>(
    run: RunArgs,
    base: Hyper<K::Param>,
    limits: <K::Param as ParamSet>::Limits,
    sweeps: Sweeps<K::Param>,
    any_hyper_flag: bool,
    source: RunSource,
    save_as: String,
) -> Setup<K> {
    Setup {
        base,
        limits,
        plan: plan_of(&run, sweeps, any_hyper_flag),
        checkpointing: Checkpointing {
            resume: run.resume,
            keep: run.keep_checkpoints,
        },
        out: run.setup.out,
        source,
        save_as,
    }
}

/// What to do: the sweeps if any, else one run with `--no-menu`, else the menu (which asks
/// for the base values when no hyperparameter flag was given).
fn plan_of<P>(run: &RunArgs, sweeps: Sweeps<P>, any_hyper_flag: bool) -> Plan<P> {
    if !sweeps.is_empty() {
        Plan::Sweep {
            sweeps,
            shard: run.shard,
        }
    } else if run.no_menu {
        Plan::Once
    } else {
        Plan::Menu {
            prompter: prompt::for_stdin(),
            ask_base: !any_hyper_flag,
        }
    }
}

/// Make the output folder, proven writable, and pick the device; says on stderr what
/// `auto` chose and why.
fn prepare(setup: &SetupArgs) -> Result<Compute> {
    prepare_output_folder(&setup.out)?;
    let (compute, note) = device::resolve(setup.device)?;
    if let Some(note) = note {
        eprintln!("{note}");
    }
    Ok(compute)
}

fn check_model_name(name: &str) -> Result<(), InputError> {
    validate_model_name(name).map_err(|e| InputError::new(format!("--save: {e}")))
}

/// `--shard` divides a sweep's runs: without `--sweep` there is nothing to divide.
fn check_shard<P>(run: &RunArgs, sweeps: &Sweeps<P>) -> Result<(), InputError> {
    match run.shard {
        Some(shard) if sweeps.is_empty() => Err(InputError::new(format!(
            "--shard {shard} divides the runs of a --sweep: give one (e.g. --sweep filters=16,64)"
        ))),
        _ => Ok(()),
    }
}
