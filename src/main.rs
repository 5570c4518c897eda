//! aelab's entry point: parse the command line, load and check the inputs, pick the device,
//! run, and turn an error into one line and its exit code.

use std::process::ExitCode;

use clap::Parser;

use aelab::cli::{
    AutoencoderArgs, ClassifyArgs, Cli, Command, GraphsArgs, PredictArgs, RunArgs,
    rewrite_report_flags,
};
use aelab::device::dispatch;
use aelab::error::{Error, ExitKind, InputError};
use aelab::experiment::runner::{Plan, print_written};
use aelab::experiment::{autoencoder, classifier, graphs, menu};
use aelab::heap;
use aelab::inputs;
use aelab::predictions::PredictJob;
use aelab::train::classifier::Labelled;

fn main() -> ExitCode {
    #[cfg(feature = "tch")]
    aelab::device::openmp_spins_briefly();
    heap::keep_freed_memory();
    quiet_panics();
    let cli = match Cli::try_parse_from(rewrite_report_flags(std::env::args_os())) {
        Ok(cli) => cli,
        Err(err) if is_bad_value(&err) => {
            // A bad flag value is one line, like every other bad input.
            let text = err.render().to_string();
            eprintln!("{}", text.lines().next().unwrap_or_default());
            return ExitCode::from(ExitKind::BadInput.code());
        }
        Err(err) => {
            // Help and version go to stdout with success; usage errors exit 2.
            let _ = err.print();
            let kind = if err.use_stderr() {
                ExitKind::BadInput
            } else {
                ExitKind::Success
            };
            return ExitCode::from(kind.code());
        }
    };
    let result = match cli.command {
        Command::Autoencoder(args) => run_autoencoder(args),
        Command::Classify(args) => run_classify(args),
        Command::Predict(args) => run_predict(args),
        Command::Graphs(args) => run_graphs(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let kind = err.exit_kind();
            let word = match kind {
                ExitKind::Interrupted => "interrupted",
                _ => "error",
            };
            eprintln!("{word}: {err}");
            ExitCode::from(kind.code())
        }
    }
}

fn run_autoencoder(args: AutoencoderArgs) -> Result<(), Error> {
    let inputs = inputs::autoencoder(&args)?;
    let compute = inputs::prepare(&args.run.setup)?;
    let images = &inputs.images;
    println!(
        "{} images of {}x{} from {}, on {compute}",
        images.count,
        images.height,
        images.width,
        inputs.data_path.display()
    );
    let experiment = autoencoder::Experiment {
        images,
        base: inputs.base,
        seed: args.run.seed,
        out: &args.run.setup.out,
        model_name: &args.save,
        plan: plan(&args.run, inputs.sweeps, args.any_hyper_flag()),
        device_name: compute.flag(),
        data_name: inputs.data_path.display().to_string(),
        checkpointing: args.run.checkpointing(),
    };
    dispatch(compute, experiment)
}

fn run_classify(args: ClassifyArgs) -> Result<(), Error> {
    let inputs = inputs::classify(&args)?;
    let compute = inputs::prepare(&args.run.setup)?;
    let (train, test) = (&inputs.train, &inputs.test);
    println!(
        "{} training and {} test images of {}x{}, {} classes, encoder from {}, on {compute}",
        train.images.count,
        test.images.count,
        train.images.height,
        train.images.width,
        inputs.classes,
        inputs.model_path.display()
    );
    let experiment = classifier::Experiment {
        train: Labelled {
            images: &train.images,
            labels: &train.labels,
        },
        test: Labelled {
            images: &test.images,
            labels: &test.labels,
        },
        autoencoder: &inputs.model_path,
        autoencoder_card: &inputs.card,
        classes: inputs.classes,
        base: inputs.base,
        seed: args.run.seed,
        loss: args.loss,
        out: &args.run.setup.out,
        model_name: &args.save,
        plan: plan(&args.run, inputs.sweeps, args.any_hyper_flag()),
        device_name: compute.flag(),
        data_name: inputs.train.images_path.display().to_string(),
        checkpointing: args.run.checkpointing(),
    };
    dispatch(compute, experiment)
}

fn run_predict(args: PredictArgs) -> Result<(), Error> {
    let inputs = inputs::predict(&args)?;
    let compute = inputs::prepare(&args.setup)?;
    println!(
        "{} images of {}x{} from {}, classifier {}, on {compute}",
        inputs.images.count,
        inputs.images.height,
        inputs.images.width,
        inputs.images_path.display(),
        inputs.model_path.display()
    );
    let job = PredictJob {
        model_path: &inputs.model_path,
        card: &inputs.card,
        images: &inputs.images,
        labels: inputs.labels.as_deref(),
        out: &args.setup.out,
    };
    dispatch(compute, job)
}

fn is_bad_value(err: &clap::Error) -> bool {
    use clap::error::ErrorKind::{InvalidValue, ValueValidation};
    matches!(err.kind(), InvalidValue | ValueValidation)
}

fn run_graphs(args: GraphsArgs) -> Result<(), Error> {
    let written = graphs::draw_all(&args.out)?;
    if written.is_empty() {
        return Err(InputError::new(format!(
            "{}: no results table there holds runs that vary one hyperparameter",
            args.out.display()
        ))
        .into());
    }
    print_written(&written);
    Ok(())
}

/// What to do: the sweeps if any, else one run with `--no-menu`, else the menu (which asks
/// for the base values when no hyperparameter flag was given).
fn plan<P>(run: &RunArgs, sweeps: Vec<(P, Vec<usize>)>, any_hyper_flag: bool) -> Plan<P> {
    if !sweeps.is_empty() {
        Plan::Sweep {
            sweeps,
            shard: run.shard,
        }
    } else if run.no_menu {
        Plan::Once
    } else {
        Plan::Menu {
            prompter: menu::for_stdin(),
            ask_base: !any_hyper_flag,
        }
    }
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
        std::process::exit(i32::from(ExitKind::Failure.code()));
    }));
}
