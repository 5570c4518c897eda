//! The command line. The original report's single-dash long flags (`-dl`, `-tl`, `-model`) are rewritten
//! to `--dl`, `--tl`, `--model` before clap sees them, since clap would read `-dl` as `-d l`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::device::DeviceRequest;
use crate::error::InputError;
use crate::experiment::hyper::{AeHyper, ClHyper};
use crate::experiment::runner::Checkpointing;
use crate::experiment::shard::Shard;
use crate::train::classifier::LossKind;

/// The bundled MNIST files, relative to the repository.
pub const BUNDLED_TRAIN_IMAGES: &str = "data/mnist/train-images-idx3-ubyte.gz";
pub const BUNDLED_TRAIN_LABELS: &str = "data/mnist/train-labels-idx1-ubyte.gz";
pub const BUNDLED_TEST_IMAGES: &str = "data/mnist/t10k-images-idx3-ubyte.gz";
pub const BUNDLED_TEST_LABELS: &str = "data/mnist/t10k-labels-idx1-ubyte.gz";

const REPORT_STYLE_FLAGS: [&str; 3] = ["-dl", "-tl", "-model"];

#[derive(Debug, Parser)]
#[command(
    name = "aelab",
    version,
    // A flag given twice takes its last value, so scripts can append overrides.
    args_override_self = true,
    about = "Convolutional autoencoder and classifier experiments on IDX image datasets (MNIST)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a convolutional autoencoder on an IDX images file
    Autoencoder(AutoencoderArgs),
    /// Train a classifier on a trained autoencoder's encoder, and predict a test set
    Classify(ClassifyArgs),
    /// Label IDX images with a saved classifier (and, given their labels, report how well)
    Predict(PredictArgs),
    /// Draw every error graph the results tables under --out support (after sharded sweeps)
    Graphs(GraphsArgs),
}

#[derive(Debug, Args)]
pub struct GraphsArgs {
    /// Folder of the results tables; the graphs are written there
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub out: PathBuf,
}

/// Flags every subcommand has: how much data, where to compute, where results go.
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Use only the first N images (of each file)
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Where to compute: auto, cpu, cuda[:N], libtorch, libtorch-cuda[:N], wgpu[:N] or ndarray
    #[arg(long, value_name = "D", default_value = "auto")]
    pub device: DeviceRequest,
    /// Folder for the results table, models and plots (made if missing)
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub out: PathBuf,
}

/// Flags both training subcommands share: seeding, the loop's plan, and the setup.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Seed for the train/validation split, shuffling and initialisation
    #[arg(long, value_name = "S", default_value_t = 13)]
    pub seed: u64,
    #[command(flatten)]
    pub setup: SetupArgs,
    /// Run the base, then the base with one hyperparameter set to each value, draw the error
    /// graphs and exit (no menu); repeatable, e.g. --sweep epochs=5,10 --sweep batch_size=32
    #[arg(long, value_name = "NAME=V1,V2,...")]
    pub sweep: Vec<String>,
    /// Train the base run once and exit (no menu)
    #[arg(long)]
    pub no_menu: bool,
    /// Go on from the checkpoint of an interrupted run (DIR/checkpoints/RUN.ckpt); a sweep
    /// also skips its runs already in the results table
    #[arg(long)]
    pub resume: bool,
    /// Keep each run's last checkpoint after it is recorded (they are removed by default)
    #[arg(long)]
    pub keep_checkpoints: bool,
    /// Run only shard K of N of a --sweep (runs numbered base first, then each --sweep's
    /// values in order; shard K takes numbers K-1 mod N); draws no error graphs: `aelab
    /// graphs` does, once every shard is done
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
}

impl RunArgs {
    pub fn checkpointing(&self) -> Checkpointing {
        Checkpointing {
            resume: self.resume,
            keep: self.keep_checkpoints,
        }
    }
}

#[derive(Debug, Args)]
pub struct AutoencoderArgs {
    /// Training images (IDX, raw or gzip) [default: the bundled MNIST training images]
    #[arg(short = 'd', long = "data", value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Conv layers in the encoder (and in the decoder), at least 2 [default: 4]
    #[arg(long, value_name = "L")]
    pub layers: Option<usize>,
    /// Conv filter size K (K x K kernels) [default: 3]
    #[arg(long, value_name = "K")]
    pub filter_size: Option<usize>,
    /// Filters in the first layer; they double per layer [default: 32]
    #[arg(long, value_name = "F")]
    pub filters: Option<usize>,
    /// Training epochs [default: 100]
    #[arg(long, value_name = "E")]
    pub epochs: Option<usize>,
    /// Images per training batch [default: 64]
    #[arg(long, value_name = "B")]
    pub batch_size: Option<usize>,
    /// Name of the model saved by --no-menu and --sweep: NAME.mpk and NAME.json under --out
    #[arg(long, value_name = "NAME", default_value = "ae")]
    pub save: String,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Training images (IDX, raw or gzip) [default: the bundled MNIST training images]
    #[arg(short = 'd', long = "data", value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Training labels (also -dl) [default: the bundled MNIST training labels]
    #[arg(long = "dl", value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Test images [default: the bundled MNIST test images]
    #[arg(short = 't', long = "test", value_name = "FILE")]
    pub test: Option<PathBuf>,
    /// Test labels (also -tl) [default: the bundled MNIST test labels]
    #[arg(long = "tl", value_name = "FILE")]
    pub test_labels: Option<PathBuf>,
    /// The trained autoencoder, NAME.mpk with NAME.json beside it (also -model)
    /// [default: ae.mpk under --out]
    #[arg(long = "model", value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Encoder layers to use, from the first [default: all of the autoencoder's]
    #[arg(long, value_name = "K")]
    pub layers: Option<usize>,
    /// Units of the fully connected layer [default: 32]
    #[arg(long, value_name = "N")]
    pub fc_units: Option<usize>,
    /// Epochs of each stage: encoder frozen, then everything [default: 20]
    #[arg(long, value_name = "E")]
    pub epochs: Option<usize>,
    /// Images per training batch [default: 64]
    #[arg(long, value_name = "B")]
    pub batch_size: Option<usize>,
    /// Loss: ce (cross-entropy) or mse (on one-hot targets, as the original report did)
    #[arg(long, value_name = "LOSS", default_value = "ce")]
    pub loss: LossKind,
    /// Name of the saved classifier: NAME.mpk and NAME.json under --out, replaced by each run
    #[arg(long, value_name = "NAME", default_value = "classifier")]
    pub save: String,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The saved classifier, NAME.mpk with NAME.json beside it (also -model)
    /// [default: classifier.mpk under --out]
    #[arg(long = "model", value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Images to label (IDX, raw or gzip; also -d) [default: the bundled MNIST test images]
    #[arg(
        short = 't',
        long = "test",
        visible_short_alias = 'd',
        value_name = "FILE"
    )]
    pub images: Option<PathBuf>,
    /// The images' labels (also -tl): adds the classification report, image grids and
    /// confusion matrix
    #[arg(long = "tl", value_name = "FILE")]
    pub labels: Option<PathBuf>,
    #[command(flatten)]
    pub setup: SetupArgs,
}

impl PredictArgs {
    /// The classifier: `--model`, else `classifier.mpk` under `--out`.
    pub fn model_path(&self) -> PathBuf {
        self.model
            .clone()
            .unwrap_or_else(|| self.setup.out.join("classifier.mpk"))
    }

    /// The images: `-t`, else the bundled MNIST test images.
    pub fn images_path(&self) -> Result<PathBuf, InputError> {
        given_or_bundled(&self.images, BUNDLED_TEST_IMAGES, "-t")
    }
}

impl ClassifyArgs {
    /// The hyperparameters on an encoder of `encoder_layers` blocks: the flags given, the
    /// original report's base run for the rest.
    pub fn hyper(&self, encoder_layers: usize) -> ClHyper {
        let base = ClHyper::report_base(encoder_layers);
        ClHyper {
            layers: self.layers.unwrap_or(base.layers),
            fc_units: self.fc_units.unwrap_or(base.fc_units),
            epochs: self.epochs.unwrap_or(base.epochs),
            batch_size: self.batch_size.unwrap_or(base.batch_size),
            encoder_layers,
        }
    }

    /// Whether any hyperparameter was given on the command line (if none, the menu asks).
    pub fn any_hyper_flag(&self) -> bool {
        [self.layers, self.fc_units, self.epochs, self.batch_size]
            .iter()
            .any(Option::is_some)
    }

    /// The autoencoder: `--model`, else `ae.mpk` under `--out`.
    pub fn model_path(&self) -> PathBuf {
        self.model
            .clone()
            .unwrap_or_else(|| self.run.setup.out.join("ae.mpk"))
    }

    /// The four data files, each the flag's or the bundled MNIST file.
    pub fn data_paths(&self) -> Result<[PathBuf; 4], InputError> {
        Ok([
            given_or_bundled(&self.data, BUNDLED_TRAIN_IMAGES, "-d")?,
            given_or_bundled(&self.labels, BUNDLED_TRAIN_LABELS, "--dl")?,
            given_or_bundled(&self.test, BUNDLED_TEST_IMAGES, "-t")?,
            given_or_bundled(&self.test_labels, BUNDLED_TEST_LABELS, "--tl")?,
        ])
    }
}

impl AutoencoderArgs {
    /// The hyperparameters: the flags given, the original report's base run for the rest.
    pub fn hyper(&self) -> AeHyper {
        let base = AeHyper::REPORT_BASE;
        AeHyper {
            layers: self.layers.unwrap_or(base.layers),
            filter_size: self.filter_size.unwrap_or(base.filter_size),
            filters: self.filters.unwrap_or(base.filters),
            epochs: self.epochs.unwrap_or(base.epochs),
            batch_size: self.batch_size.unwrap_or(base.batch_size),
        }
    }

    /// Whether any hyperparameter was given on the command line (if none, the menu asks).
    pub fn any_hyper_flag(&self) -> bool {
        [
            self.layers,
            self.filter_size,
            self.filters,
            self.epochs,
            self.batch_size,
        ]
        .iter()
        .any(Option::is_some)
    }

    /// The images file: `-d`, else the bundled MNIST.
    pub fn data_path(&self) -> Result<PathBuf, InputError> {
        given_or_bundled(&self.data, BUNDLED_TRAIN_IMAGES, "-d")
    }
}

/// The source tree this binary was built from, where the bundled MNIST lies.
const SOURCE_TREE: &str = env!("CARGO_MANIFEST_DIR");

/// A data file: the one given, else the bundled MNIST file `relative` (see [find_bundled]).
/// An installed binary whose source tree is gone (or moved) finds none, and says to give
/// `flag`.
fn given_or_bundled(
    given: &Option<PathBuf>,
    relative: &str,
    flag: &str,
) -> Result<PathBuf, InputError> {
    if let Some(path) = given {
        return Ok(path.clone());
    }
    find_bundled(relative, Path::new(SOURCE_TREE)).ok_or_else(|| {
        InputError::new(format!(
            "no {flag} given, and the bundled MNIST file {relative} is in neither the working \
             folder nor the source tree aelab was built from ({SOURCE_TREE}): give {flag} FILE"
        ))
    })
}

/// A bundled data file: `relative` to the working folder if it is there, else to
/// `source_tree`, else none.
pub fn find_bundled(relative: &str, source_tree: &Path) -> Option<PathBuf> {
    [PathBuf::from(relative), source_tree.join(relative)]
        .into_iter()
        .find(|path| path.exists())
}

/// Rewrite the original report's `-dl X`, `-tl X`, `-model X` (and `-dl=X` forms) to double-dash flags.
pub fn rewrite_report_flags(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    args.into_iter()
        .map(|arg| {
            let Some(text) = arg.to_str() else {
                return arg;
            };
            let flag = text.split('=').next().unwrap_or(text);
            if REPORT_STYLE_FLAGS.contains(&flag) {
                OsString::from(format!("-{text}"))
            } else {
                arg
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_takes_the_report_flags() {
        let cli = Cli::parse_from(rewrite_report_flags(
            [
                "aelab",
                "classify",
                "-d",
                "a",
                "-dl",
                "b",
                "-t",
                "c",
                "-tl",
                "d",
                "-model",
                "m",
                "--fc-units",
                "64",
                "--loss",
                "mse",
            ]
            .map(OsString::from),
        ));
        let Command::Classify(args) = cli.command else {
            panic!("parsed as another subcommand");
        };
        assert_eq!(
            args.data_paths().unwrap(),
            ["a", "b", "c", "d"].map(PathBuf::from)
        );
        assert_eq!(args.model_path(), PathBuf::from("m"));
        assert_eq!(args.loss, LossKind::Mse);
        assert_eq!(
            args.hyper(3),
            ClHyper {
                fc_units: 64,
                ..ClHyper::report_base(3)
            }
        );
    }

    fn strings(args: &[&str]) -> Vec<String> {
        rewrite_report_flags(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn report_flags_get_a_second_dash() {
        assert_eq!(
            strings(&[
                "aelab", "classify", "-d", "a", "-dl", "b", "-tl=c", "-model", "m", "-t", "t"
            ]),
            [
                "aelab", "classify", "-d", "a", "--dl", "b", "--tl=c", "--model", "m", "-t", "t"
            ]
        );
    }

    #[test]
    fn bundled_data_is_found_in_the_working_folder_or_the_source_tree() {
        let tree = tempfile::tempdir().unwrap();
        let relative = "data/mnist/no-such-file-here.gz";
        assert_eq!(find_bundled(relative, tree.path()), None);
        std::fs::create_dir_all(tree.path().join("data/mnist")).unwrap();
        std::fs::write(tree.path().join(relative), b"").unwrap();
        assert_eq!(
            find_bundled(relative, tree.path()),
            Some(tree.path().join(relative))
        );
        // The working folder's copy comes first, as a relative path.
        assert_eq!(
            find_bundled("Cargo.toml", tree.path()),
            Some(PathBuf::from("Cargo.toml"))
        );
    }

    #[test]
    fn unset_hyperparameters_take_the_report_base() {
        let cli = Cli::parse_from(["aelab", "autoencoder", "--filters", "8"]);
        let Command::Autoencoder(args) = cli.command else {
            panic!("parsed as another subcommand");
        };
        assert_eq!(
            args.hyper(),
            AeHyper {
                filters: 8,
                ..AeHyper::REPORT_BASE
            }
        );
    }
}
