//! aelab's entry point: parse the command line, check every input before any training,
//! pick the device, run, and turn errors into one line and an exit code.

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use aelab::cli::{AutoencoderArgs, Cli, Command, rewrite_seed_flags};
use aelab::data::idx::{self, Images};
use aelab::device::{self, dispatch};
use aelab::error::{InputError, exit_code};
use aelab::experiment::autoencoder::{Experiment, Plan, validate_model_name};
use aelab::experiment::hyper::{AeHyper, AeParam, HyperSet, parse_sweep};
use aelab::experiment::menu;
use aelab::model::AutoencoderConfig;

fn main() -> ExitCode {
    quiet_panics();
    let cli = match Cli::try_parse_from(rewrite_seed_flags(std::env::args_os())) {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout with success; usage errors exit 2.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Autoencoder(args) => autoencoder(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(exit_code(&err) as u8)
        }
    }
}

fn autoencoder(args: AutoencoderArgs) -> anyhow::Result<()> {
    let base = args.hyper();
    base.validate().map_err(InputError::new)?;
    validate_model_name(&args.save).map_err(|e| InputError::new(format!("--save: {e}")))?;
    let sweeps = parse_sweeps(&args.sweep, &base)?;
    let data_path = args.data_path();
    let images = load_training_images(&data_path, args.limit)?;
    prepare_output_folder(&args.out)?;
    let (compute, note) = device::resolve(args.device)?;
    if let Some(note) = note {
        println!("{note}");
    }
    println!(
        "{} images of {}x{} from {}, on {compute}",
        images.count,
        images.height,
        images.width,
        data_path.display()
    );

    let plan = if !sweeps.is_empty() {
        Plan::Sweep(sweeps)
    } else if args.no_menu {
        Plan::Once
    } else {
        Plan::Menu {
            prompter: menu::for_stdin(),
            ask_base: !args.any_hyper_flag(),
        }
    };
    let experiment = Experiment {
        images: &images,
        base,
        seed: args.seed,
        out: &args.out,
        model_name: &args.save,
        plan,
    };
    dispatch(compute, experiment)
}

/// Parse every `--sweep` and check each variation now, not after hours of training.
fn parse_sweeps(texts: &[String], base: &AeHyper) -> anyhow::Result<Vec<(AeParam, Vec<usize>)>> {
    let mut sweeps = Vec::new();
    for text in texts {
        let (param, values) = parse_sweep::<AeHyper>(text).map_err(InputError::new)?;
        for &value in &values {
            base.with(param, value)
                .validate()
                .map_err(|e| InputError::new(format!("--sweep '{text}': {e}")))?;
        }
        sweeps.push((param, values));
    }
    Ok(sweeps)
}

/// Load the images, keep the first `limit`, and check they suit the autoencoder.
fn load_training_images(path: &Path, limit: Option<usize>) -> anyhow::Result<Images> {
    let mut images = idx::read_images(path)?;
    if let Some(limit) = limit {
        images.truncate(limit);
    }
    let bad = |what: String| InputError::new(format!("{}: {what}", path.display()));
    AutoencoderConfig::check_image_size(images.height, images.width).map_err(bad)?;
    if images.count < 2 {
        return Err(bad(format!(
            "{} image(s) to use; training needs at least 2 (one to train, one to validate)",
            images.count
        ))
        .into());
    }
    Ok(images)
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
