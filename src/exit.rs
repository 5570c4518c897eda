//! The exit codes aelab promises scripts and schedulers, and the two errors every layer
//! shares: bad input (exit 2) and a file that could not be written (exit 1). A leaf: it
//! imports nothing of the crate, so any module can use it without an import circle. Each
//! module's own error type says which [`ExitKind`] it leads to; `main` maps that to the
//! process's exit code once.

use std::path::{Path, PathBuf};

/// What the process tells its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitKind {
    /// Everything asked for was done.
    Success = 0,
    /// Running failed: a diverged loss, a device fault, a file that could not be written.
    Failure = 1,
    /// Bad usage or bad input: a flag value, a file's contents. Nothing was trained.
    BadInput = 2,
    /// Ctrl-C stopped a run (128 + SIGINT, as shells report it).
    Interrupted = 130,
}

impl ExitKind {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A problem with what the user gave (a flag value, a file's contents): exit code 2.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The same problem, said of `path`: `PATH: message`.
    pub fn in_file(self, path: &Path) -> Self {
        Self(format!("{}: {}", path.display(), self.0))
    }
}

/// A file aelab makes (a table, a plot, a report) could not be written: exit code 1, since
/// the run itself was fine and the input was not at fault.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot {action}: {reason}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    /// What was being done, e.g. "write the results table" or "draw plot".
    pub action: &'static str,
    pub reason: String,
}

impl WriteError {
    pub fn new(path: &Path, action: &'static str, reason: impl ToString) -> Self {
        Self {
            path: path.to_owned(),
            action,
            reason: reason.to_string(),
        }
    }
}
