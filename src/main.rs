//! aelab's entry point: parse the command line, check every input before any training,
//! pick the device, run, and turn errors into one line and an exit code.

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use aelab::cli::{AutoencoderArgs, ClassifyArgs, Cli, Command, RunArgs, rewrite_report_flags};
use aelab::data::idx::{self, Images};
use aelab::device::{self, Compute, dispatch};
use aelab::error::{INTERRUPTED, InputError, exit_code};
use aelab::experiment::hyper::{HyperSet, parse_sweep};
use aelab::experiment::runner::Plan;
use aelab::experiment::{autoencoder, classifier, menu};
use aelab::heap;
use aelab::model::AutoencoderConfig;
use aelab::model::store::{self, StoreError};
use aelab::train::classifier::Labelled;

fn main() -> ExitCode {
    #[cfg(feature = "tch")]
    device::openmp_spins_briefly();
    heap::keep_freed_memory();
    quiet_panics();
    let cli = match Cli::try_parse_from(rewrite_report_flags(std::env::args_os())) {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout with success; usage errors exit 2.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Autoencoder(args) => run_autoencoder(args),
        Command::Classify(args) => run_classify(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = exit_code(&err);
            let kind = if code == INTERRUPTED {
                "interrupted"
            } else {
                "error"
            };
            eprintln!("{kind}: {err:#}");
            ExitCode::from(code as u8)
        }
    }
}

fn run_autoencoder(args: AutoencoderArgs) -> anyhow::Result<()> {
    let base = args.hyper();
    base.validate().map_err(InputError::new)?;
    check_model_name(&args.save)?;
    let sweeps = parse_sweeps(&args.run.sweep, &base)?;
    let data_path = args.data_path()?;
    let images = load_images(&data_path, args.run.limit)?;
    AutoencoderConfig::check_image_size(images.height, images.width)
        .map_err(|e| InputError::new(format!("{}: {e}", data_path.display())))?;
    check_enough_to_split(&images, &data_path)?;
    let compute = prepare(&args.run)?;
    println!(
        "{} images of {}x{} from {}, on {compute}",
        images.count,
        images.height,
        images.width,
        data_path.display()
    );
    let experiment = autoencoder::Experiment {
        images: &images,
        base,
        seed: args.run.seed,
        out: &args.run.out,
        model_name: &args.save,
        plan: plan(&args.run, sweeps, args.any_hyper_flag()),
    };
    dispatch(compute, experiment)
}

fn run_classify(args: ClassifyArgs) -> anyhow::Result<()> {
    check_model_name(&args.save)?;
    let model_path = args.model_path();
    let card = read_autoencoder_card(&model_path, args.model.is_none())?;
    let base = args.hyper(card.architecture.layers);
    base.validate()
        .map_err(|e| InputError::new(format!("{e} ({})", model_path.display())))?;
    let sweeps = parse_sweeps(&args.run.sweep, &base)?;

    let [train_path, train_labels_path, test_path, test_labels_path] = args.data_paths()?;
    let limit = args.run.limit;
    let train_images = load_images(&train_path, limit)?;
    let train_labels = load_labels(&train_labels_path, &train_images, &train_path, limit)?;
    let test_images = load_images(&test_path, limit)?;
    let test_labels = load_labels(&test_labels_path, &test_images, &test_path, limit)?;
    check_enough_to_split(&train_images, &train_path)?;
    let trained_on = (card.height, card.width);
    for (images, path) in [(&train_images, &train_path), (&test_images, &test_path)] {
        if (images.height, images.width) != trained_on {
            return Err(InputError::new(format!(
                "{}: images are {}x{}, but the autoencoder {} was trained on {}x{} images",
                path.display(),
                images.height,
                images.width,
                model_path.display(),
                trained_on.0,
                trained_on.1
            ))
            .into());
        }
    }
    let classes = class_count(&train_labels);
    if let Some((index, &label)) = test_labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| usize::from(l) >= classes)
    {
        return Err(InputError::new(format!(
            "{}: label {label} (item {index}) is not one of the {classes} classes of the training labels {}",
            test_labels_path.display(),
            train_labels_path.display()
        ))
        .into());
    }

    let compute = prepare(&args.run)?;
    println!(
        "{} training and {} test images of {}x{}, {classes} classes, encoder from {}, on {compute}",
        train_images.count,
        test_images.count,
        train_images.height,
        train_images.width,
        model_path.display()
    );
    let experiment = classifier::Experiment {
        train: Labelled {
            images: &train_images,
            labels: &train_labels,
        },
        test: Labelled {
            images: &test_images,
            labels: &test_labels,
        },
        autoencoder: &model_path,
        classes,
        base,
        seed: args.run.seed,
        loss: args.loss,
        out: &args.run.out,
        model_name: &args.save,
        plan: plan(&args.run, sweeps, args.any_hyper_flag()),
    };
    dispatch(compute, experiment)
}

/// The autoencoder's card, checked now (weights are loaded on the device later). When the
/// path was the default, a missing file gets a hint on how to make one.
fn read_autoencoder_card(
    model_path: &Path,
    defaulted: bool,
) -> anyhow::Result<store::ModelCard<AutoencoderConfig>> {
    let (mpk, json) = store::model_paths(model_path);
    let missing = |path: &Path| -> anyhow::Error {
        let hint = if defaulted {
            "; train one first with `aelab autoencoder`, or give its file with --model"
        } else {
            ""
        };
        InputError::new(format!("{}: file not found{hint}", path.display())).into()
    };
    if !mpk.exists() {
        return Err(missing(&mpk));
    }
    match store::read_card::<AutoencoderConfig>(&json) {
        Err(StoreError::NotFound { path }) => Err(missing(&path)),
        other => Ok(other?),
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

fn check_model_name(name: &str) -> anyhow::Result<()> {
    autoencoder::validate_model_name(name)
        .map_err(|e| InputError::new(format!("--save: {e}")).into())
}

/// Make the output folder and pick the device; says on stderr what `auto` chose and why.
fn prepare(run: &RunArgs) -> anyhow::Result<Compute> {
    prepare_output_folder(&run.out)?;
    let (compute, note) = device::resolve(run.device)?;
    if let Some(note) = note {
        eprintln!("{note}");
    }
    Ok(compute)
}

/// What to do: the sweeps if any, else one run with `--no-menu`, else the menu (which asks
/// for the base values when no hyperparameter flag was given).
fn plan<P>(run: &RunArgs, sweeps: Vec<(P, Vec<usize>)>, any_hyper_flag: bool) -> Plan<P> {
    if !sweeps.is_empty() {
        Plan::Sweep(sweeps)
    } else if run.no_menu {
        Plan::Once
    } else {
        Plan::Menu {
            prompter: menu::for_stdin(),
            ask_base: !any_hyper_flag,
        }
    }
}

/// Parse every `--sweep` and check each variation now, not after hours of training.
fn parse_sweeps<H: HyperSet>(
    texts: &[String],
    base: &H,
) -> anyhow::Result<Vec<(H::Param, Vec<usize>)>> {
    let mut sweeps = Vec::new();
    for text in texts {
        let (param, values) = parse_sweep::<H>(text).map_err(InputError::new)?;
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
fn load_images(path: &Path, limit: Option<usize>) -> anyhow::Result<Images> {
    let mut images = idx::read_images(path)?;
    if let Some(limit) = limit {
        images.truncate(limit);
    }
    Ok(images)
}

/// Load the labels of `images` (read from `images_path`), keep the first `limit`, and check
/// there is one per image.
fn load_labels(
    path: &Path,
    images: &Images,
    images_path: &Path,
    limit: Option<usize>,
) -> anyhow::Result<Vec<u8>> {
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

fn check_enough_to_split(images: &Images, path: &Path) -> anyhow::Result<()> {
    if images.count < 2 {
        return Err(InputError::new(format!(
            "{}: {} image(s) to use; training needs at least 2 (one to train, one to validate)",
            path.display(),
            images.count
        ))
        .into());
    }
    Ok(())
}

/// Make the output folder and prove it writable now, not after hours of training.
fn prepare_output_folder(out: &Path) -> anyhow::Result<()> {
    let unwritable = |e: std::io::Error| {
        InputError::new(format!("{}: cannot write results here: {e}", out.display()))
    };
    fs::create_dir_all(out).map_err(unwritable)?;
    let probe = aelab::fsutil::temp_path_for(&out.join("write-check"));
    fs::write(&probe, b"").map_err(unwritable)?;
    fs::remove_file(&probe).with_context(|| format!("{}: cannot clean up", probe.display()))?;
    Ok(())
}

/// A panic is a bug, but the user still gets one line instead of a backtrace.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let message = message.lines().next().unwrap_or_default().to_string();
        eprintln!(
            "error: internal failure: {message} (at {})",
            info.location().map(|l| l.to_string()).unwrap_or_default()
        );
        std::process::exit(1);
    }));
}
