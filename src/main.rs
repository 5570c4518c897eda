//! aelab's entry point: parse the command line, resolve it into a job, run it, and turn an
//! error into one line and its exit code.

use std::process::ExitCode;

use clap::Parser;

use aelab::cli::{Cli, rewrite_report_flags};
use aelab::error::ExitKind;
use aelab::heap;
use aelab::job::Job;

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
    match Job::resolve(cli.command).and_then(Job::run) {
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

fn is_bad_value(err: &clap::Error) -> bool {
    use clap::error::ErrorKind::{InvalidValue, ValueValidation};
    matches!(err.kind(), InvalidValue | ValueValidation)
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
