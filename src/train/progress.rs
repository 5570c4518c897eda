//! How training reports its progress: an indicatif bar per epoch on a terminal, one summary
//! line per epoch otherwise, or nothing at all (tests, benchmarks).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::{EpochStats, Metrics};

pub trait Progress {
    /// A training stage begins (the classifier trains in two).
    fn stage_started(&mut self, _description: &str) {}
    /// A stage ended; `summary` says how when it stopped early or kept an earlier epoch
    /// (empty otherwise).
    fn stage_ended(&mut self, _summary: &str) {}
    /// An epoch of `batches` batches begins.
    fn epoch_started(&mut self, epoch: usize, epochs: usize, batches: usize);
    /// `done` batches of the epoch are finished; `loss` is the running mean when known.
    fn batches_done(&mut self, done: usize, loss: Option<f64>);
    /// The epoch ended; `summary` is its line of figures (see [`epoch_line`]).
    fn epoch_finished(&mut self, summary: &str);
    /// Whether anyone watches per-batch updates (reading the loss costs a device sync).
    fn wants_batch_loss(&self) -> bool {
        false
    }
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn epoch_started(&mut self, _: usize, _: usize, _: usize) {}
    fn batches_done(&mut self, _: usize, _: Option<f64>) {}
    fn epoch_finished(&mut self, _: &str) {}
}

/// The summary line printed after each epoch.
pub fn epoch_line<M: Metrics>(stats: &EpochStats<M>, epochs: usize) -> String {
    let rate = stats
        .learning_rate
        .map_or_else(String::new, |rate| format!("  lr {rate:.2e}"));
    format!(
        "epoch {}/{epochs}  loss {:.5}  val_loss {:.5}{}{rate}  {:.1} s",
        stats.epoch,
        stats.loss,
        stats.val_loss,
        stats.metrics.summary(),
        stats.seconds
    )
}

/// A bar on stderr when it is a terminal, and a summary line on stdout per epoch.
pub struct Console {
    bar: Option<ProgressBar>,
    interactive: bool,
}

impl Console {
    pub fn new() -> Self {
        Self {
            bar: None,
            interactive: std::io::stderr().is_terminal(),
        }
    }
}

impl Default for Console {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for Console {
    fn stage_started(&mut self, description: &str) {
        println!("{description}");
    }

    fn stage_ended(&mut self, summary: &str) {
        if !summary.is_empty() {
            println!("{summary}");
        }
    }

    fn epoch_started(&mut self, epoch: usize, epochs: usize, batches: usize) {
        if !self.interactive {
            return;
        }
        let bar = ProgressBar::new(batches as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} batches  {msg}  ETA {eta}",
            )
            .expect("the bar template is valid")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("epoch {epoch}/{epochs}"));
        self.bar = Some(bar);
    }

    fn batches_done(&mut self, done: usize, loss: Option<f64>) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            if let Some(loss) = loss {
                bar.set_message(format!("loss {loss:.5}"));
            }
        }
    }

    fn epoch_finished(&mut self, summary: &str) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        println!("{summary}");
    }

    fn wants_batch_loss(&self) -> bool {
        self.interactive
    }
}
