//! Ctrl-C during training: the first one asks the run to stop after its current batch, so
//! that everything finished is written and nothing is half-written; a second one ends the
//! process at once. Outside training Ctrl-C keeps its default and ends the process, so a
//! prompt blocked on stdin still ends.
//!
//! signal-hook cannot give SIGINT its default back (unregistering the last action leaves
//! the signal ignored), so the actions are registered once and a flag says whether a
//! training run is in progress.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};

use signal_hook::consts::SIGINT;
use signal_hook::flag;

struct Flags {
    /// No training in progress: Ctrl-C does what it does by default.
    idle: Arc<AtomicBool>,
    /// Ctrl-C came during training.
    requested: Arc<AtomicBool>,
}

/// Registered on first use, once (a second registration would bring its own flags).
static FLAGS: OnceLock<Result<Flags, String>> = OnceLock::new();

fn register() -> std::io::Result<Flags> {
    let flags = Flags {
        idle: Arc::new(AtomicBool::new(true)),
        requested: Arc::new(AtomicBool::new(false)),
    };
    // Each SIGINT runs these in order: the default when idle, the default when one came
    // before, else note the request.
    flag::register_conditional_default(SIGINT, flags.idle.clone())?;
    flag::register_conditional_default(SIGINT, flags.requested.clone())?;
    flag::register(SIGINT, flags.requested.clone())?;
    Ok(flags)
}

/// While this lives, Ctrl-C asks training to stop instead of ending the process.
pub struct Training(&'static Flags);

impl Training {
    pub fn start() -> Result<Self, crate::error::Error> {
        let flags = FLAGS
            .get_or_init(|| register().map_err(|e| format!("cannot handle Ctrl-C: {e}")))
            .as_ref()
            .map_err(|e| crate::error::Error::Failed(e.clone()))?;
        flags.idle.store(false, SeqCst);
        Ok(Self(flags))
    }
}

impl Drop for Training {
    fn drop(&mut self) {
        self.0.idle.store(true, SeqCst);
    }
}

/// Whether Ctrl-C asked the training run to stop.
pub fn requested() -> bool {
    let flags = FLAGS.get().and_then(|flags| flags.as_ref().ok());
    flags.is_some_and(|flags| flags.requested.load(SeqCst))
}

/// A run stopped by Ctrl-C: which one, when, and where the finished runs are.
#[derive(Debug)]
pub struct Interrupted {
    /// The epoch it stopped in; `None` when Ctrl-C came while the run was being recorded,
    /// which then finished.
    pub epoch: Option<usize>,
    pub run: String,
    /// The results table.
    pub results: PathBuf,
    /// Where its finished epochs are and the command that goes on from them, if any.
    pub resume: Option<String>,
}

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.epoch {
            Some(epoch) => write!(f, "stopped during epoch {epoch} of {}", self.run)?,
            None => write!(f, "stopped after {}", self.run)?,
        }
        write!(f, "; every finished run is in {}", self.results.display())?;
        match (&self.resume, self.epoch) {
            (Some(resume), Some(_)) => write!(f, "; {resume}"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for Interrupted {}
