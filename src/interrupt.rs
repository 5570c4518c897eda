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
    /// Fails, saying why, when Ctrl-C cannot be handled at all.
    pub fn start() -> Result<Self, String> {
        let flags = FLAGS
            .get_or_init(|| register().map_err(|e| format!("cannot handle Ctrl-C: {e}")))
            .as_ref()
            .map_err(Clone::clone)?;
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

/// A run stopped by Ctrl-C, the one type for it: training says when, and the experiment
/// runner adds, on the way up, which run it was and how to go on.
#[derive(Debug)]
pub struct Interrupted {
    /// The epoch it stopped in; `None` when Ctrl-C came while the run was being recorded,
    /// which then finished.
    pub epoch: Option<usize>,
    /// Which run it was; `None` when training was called on its own (tests, benches).
    pub run: Option<StoppedRun>,
}

/// What the user needs to know of an interrupted run.
#[derive(Debug)]
pub struct StoppedRun {
    pub name: String,
    /// The results table.
    pub results: PathBuf,
    /// Where its finished epochs are and the command that goes on from them, if any.
    pub resume: Option<String>,
}

impl Interrupted {
    /// Stopped during `epoch` of a run not yet named.
    pub fn during(epoch: usize) -> Self {
        Self {
            epoch: Some(epoch),
            run: None,
        }
    }
}

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(run) = &self.run else {
            return match self.epoch {
                Some(epoch) => write!(f, "stopped by Ctrl-C during epoch {epoch}"),
                None => write!(f, "stopped by Ctrl-C"),
            };
        };
        match self.epoch {
            Some(epoch) => write!(f, "stopped during epoch {epoch} of {}", run.name)?,
            None => write!(f, "stopped after {}", run.name)?,
        }
        write!(f, "; every finished run is in {}", run.results.display())?;
        match (&run.resume, self.epoch) {
            (Some(resume), Some(_)) => write!(f, "; {resume}"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for Interrupted {}
