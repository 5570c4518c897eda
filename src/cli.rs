//! The command line as the user typed it: clap's flags, nothing resolved (defaults that
//! depend on other flags or on files are `job`'s). Each hyperparameter's flag comes from its
//! kind's table ([`HyperFlags`]). The original report's single-dash long flags (`-dl`,
//! `-tl`, `-model`) are rewritten to `--dl`, `--tl`, `--model` before clap sees them, since
//! clap would read `-dl` as `-d l`.

use std::ffi::OsString;
use std::marker::PhantomData;
use std::path::PathBuf;

use clap::{Arg, ArgMatches, Args, FromArgMatches, Parser, Subcommand};

use crate::device::DeviceRequest;
use crate::experiment::hyper::{ParamSet, Value};
use crate::experiment::kinds::{AutoencoderParam, ClassifierParam};
use crate::experiment::shard::Shard;
use crate::train::classifier::LossKind;

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
    /// Score IDX images by how badly a saved autoencoder reconstructs them (MSE, PSNR,
    /// SSIM): an anomaly score per image, and with --normal K the ROC AUC of class K
    Score(ScoreArgs),
    /// Map a saved autoencoder's codes of IDX images: their principal components as a
    /// picture coloured by label, latent.csv, and TSV files for TensorBoard's projector
    Latent(LatentArgs),
    /// Draw every error graph the results tables under --out support (after sharded sweeps)
    Graphs(GraphsArgs),
    /// Write a saved autoencoder's or classifier's weights as a file PyTorch loads
    /// (safetensors; scripts/pytorch_model.py defines the modules)
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The saved model, NAME.mpk with NAME.json beside it (also -model)
    #[arg(long = "model", value_name = "FILE")]
    pub model: PathBuf,
    /// The file format: safetensors (PyTorch's names and layouts)
    #[arg(long, value_name = "FORMAT", default_value = "safetensors")]
    pub format: ExportFormat,
    /// Where to write it [default: NAME.safetensors beside the model]
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Safetensors,
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

/// One flag per hyperparameter of kind `P`, from its table: name, value name, help with
/// the table's default; the values given, checked for their type (bounds are checked once
/// the inputs are known).
#[derive(Clone, Debug)]
pub struct HyperFlags<P> {
    /// The hyperparameters given on the command line, and their values.
    pub given: Vec<(P, Value)>,
    set: PhantomData<P>,
}

impl<P: ParamSet> FromArgMatches for HyperFlags<P> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = Self {
            given: Vec::new(),
            set: PhantomData,
        };
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for &param in P::ALL {
            if let Some(&value) = matches.get_one::<Value>(param.spec().flag) {
                self.given.retain(|(p, _)| *p != param);
                self.given.push((param, value));
            }
        }
        Ok(())
    }
}

impl<P: ParamSet> Args for HyperFlags<P> {
    fn augment_args(command: clap::Command) -> clap::Command {
        P::ALL.iter().fold(command, |command, &param| {
            let spec = param.spec();
            command.arg(
                Arg::new(spec.flag)
                    .long(spec.flag)
                    .value_name(spec.value_name)
                    .help(format!("{} [default: {}]", spec.help, spec.default_text()))
                    .value_parser(move |text: &str| spec.parse_flag(text)),
            )
        })
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

#[derive(Debug, Args)]
pub struct AutoencoderArgs {
    /// Training images (IDX, raw or gzip) [default: the bundled MNIST training images]
    #[arg(short = 'd', long = "data", value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Train on the images of these classes only, e.g. --classes 3 for a one-class
    /// (anomaly-detecting) autoencoder; after --limit
    #[arg(long, value_name = "K,...", value_delimiter = ',')]
    pub classes: Vec<u8>,
    /// The training images' labels, for --classes (also -dl) [default: the bundled MNIST
    /// training labels, when -d is not given]
    #[arg(long = "dl", value_name = "FILE")]
    pub labels: Option<PathBuf>,
    #[command(flatten)]
    pub hyper: HyperFlags<AutoencoderParam>,
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
    #[command(flatten)]
    pub hyper: HyperFlags<ClassifierParam>,
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

#[derive(Debug, Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub inputs: AutoencoderInputArgs,
    /// The class the autoencoder was trained on: the ROC AUC of telling it from the other
    /// classes by reconstruction error (needs --tl)
    #[arg(long, value_name = "K")]
    pub normal: Option<u8>,
    #[command(flatten)]
    pub setup: SetupArgs,
}

#[derive(Debug, Args)]
pub struct LatentArgs {
    #[command(flatten)]
    pub inputs: AutoencoderInputArgs,
    #[command(flatten)]
    pub setup: SetupArgs,
}

/// A saved autoencoder and the images it is to look at: `score`'s and `latent`'s.
#[derive(Debug, Args)]
pub struct AutoencoderInputArgs {
    /// The saved autoencoder, NAME.mpk with NAME.json beside it (also -model)
    /// [default: ae.mpk under --out]
    #[arg(long = "model", value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// The images (IDX, raw or gzip; also -d) [default: the bundled MNIST test images]
    #[arg(
        short = 't',
        long = "test",
        visible_short_alias = 'd',
        value_name = "FILE"
    )]
    pub images: Option<PathBuf>,
    /// The images' labels (also -tl): results split or coloured by class
    #[arg(long = "tl", value_name = "FILE")]
    pub labels: Option<PathBuf>,
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
        let paths = [
            args.data,
            args.labels,
            args.test,
            args.test_labels,
            args.model,
        ];
        assert_eq!(
            paths,
            ["a", "b", "c", "d", "m"].map(|p| Some(PathBuf::from(p)))
        );
        assert_eq!(args.loss, LossKind::Mse);
        assert_eq!(
            args.hyper.given,
            [(ClassifierParam::FcUnits, Value::Whole(64))]
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

    /// Every hyperparameter's flag, help and default come from its kind's table, and a
    /// flag given twice takes its last value.
    #[test]
    fn hyperparameter_flags_come_from_the_tables() {
        let cli = Cli::parse_from([
            "aelab",
            "autoencoder",
            "--filters",
            "8",
            "--lr",
            "3e-4",
            "--filters",
            "16",
        ]);
        let Command::Autoencoder(args) = cli.command else {
            panic!("parsed as another subcommand");
        };
        assert_eq!(
            args.hyper.given,
            [
                (AutoencoderParam::Filters, Value::Whole(16)),
                (AutoencoderParam::LearningRate, Value::Decimal(3e-4)),
            ]
        );
        let mut command = <Cli as clap::CommandFactory>::command();
        let help = command
            .find_subcommand_mut("autoencoder")
            .unwrap()
            .render_long_help()
            .to_string();
        for line in [
            "--filter-size <K>",
            "Conv filter size K (K x K kernels) [default: 3]",
            "--lr <RATE>",
            "RMSprop's learning rate [default: 0.001]",
        ] {
            assert!(help.contains(line), "{line:?} not in {help}");
        }
        let err = Cli::try_parse_from(["aelab", "classify", "--lr", "fast"]).unwrap_err();
        assert!(err.to_string().contains("'fast' is not a number"), "{err}");
    }
}
