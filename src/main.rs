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
use aelab::experiment::autoencoder::SingleRun;
use aelab::model::AutoencoderConfig;
use aelab::train::progress::Console;

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
    let hyper = args.hyper();
    hyper.validate().map_err(InputError::new)?;
    validate_model_name(&args.save)?;
    let data_path = args.data_path();
    let images = load_training_images(&data_path, args.limit)?;
    prepare_output_folder(&args.out)?;
    let (compute, note) = device::resolve(args.device)?;
    if let Some(note) = note {
        println!("{note}");
    }

    let validation = (images.count as f64 * aelab::data::dataset::VALIDATION_FRACTION).ceil();
    println!(
        "Training {} on {} images of {}x{} from {} ({} train, {} validation) on {compute}",
        hyper.run_name(),
        images.count,
        images.height,
        images.width,
        data_path.display(),
        images.count - validation as usize,
        validation,
    );
    let mut progress = Console::new();
    let record = dispatch(
        compute,
        SingleRun {
            images: &images,
            hyper,
            seed: args.seed,
            out: &args.out,
            model_name: &args.save,
            progress: &mut progress,
        },
    )?;
    println!(
        "Trained {} in {:.1} s: loss {:.5}, val_loss {:.5}",
        record.run_name, record.train_seconds, record.loss, record.val_loss
    );
    println!(
        "Wrote {} ({} rows), {} + {}, {}",
        record.table.display(),
        record.table_rows,
        record.model_files.0.display(),
        record.model_files.1.display(),
        record.curves.display()
    );
    Ok(())
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

fn validate_model_name(name: &str) -> Result<(), InputError> {
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(InputError::new(format!(
            "--save '{name}': give a plain file name (no folders, not starting with a dot); the model goes under --out"
        )));
    }
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
