//! What a stage of training decides between its epochs: the learning rate of the next
//! epoch (constant, Keras' `ReduceLROnPlateau`, or cosine decay), which epoch's weights it
//! keeps (the best by the validation figure, or the last), and whether it stops early (no
//! better validation figure for `patience` epochs, as Keras' `EarlyStopping`). Bookkeeping
//! only, kept in checkpoints, so a resumed run decides as the uninterrupted one would.

use serde::{Deserialize, Serialize};

/// How the learning rate moves within a stage.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Decay {
    /// The stage's rate throughout (the original report's).
    Constant,
    /// The rate times `factor` after `patience` epochs without a lower validation loss
    /// (Keras' `ReduceLROnPlateau`, monitoring `val_loss`).
    Plateau { factor: f64, patience: usize },
    /// From the stage's rate towards zero along half a cosine, one step per epoch: epoch
    /// `k` of `n` (from 0) at `rate * (1 + cos(pi k / n)) / 2`.
    Cosine,
}

/// Which epoch's weights a stage ends with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Keep {
    /// The epoch with the best validation figure (Keras' `restore_best_weights`).
    Best,
    /// The last epoch trained (the original report's).
    Last,
}

/// What every stage of a run does between epochs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Controls {
    pub decay: Decay,
    pub keep: Keep,
    /// End a stage after this many epochs without a better validation figure.
    pub patience: Option<usize>,
}

impl Controls {
    /// The original report's: a constant rate, the last epoch kept, no early stopping.
    pub const REPORT: Self = Self {
        decay: Decay::Constant,
        keep: Keep::Last,
        patience: None,
    };
}

/// How good an epoch's validation figures are; lower is better. The kind's main figure,
/// then a tie-breaker (the classifier's accuracy, then its validation loss).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Score(pub f64, pub f64);

impl Score {
    fn better_than(self, other: Score) -> bool {
        self.0 < other.0 || (self.0 == other.0 && self.1 < other.1)
    }
}

/// A finished stage: its best epoch and its last (early stopping may end it before its
/// planned last). Epochs are numbered across the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageEnd {
    pub best: usize,
    pub last: usize,
}

impl StageEnd {
    /// The epoch whose weights the stage ended with.
    pub fn kept(&self, keep: Keep) -> usize {
        match keep {
            Keep::Best => self.best,
            Keep::Last => self.last,
        }
    }
}

/// A stage in progress, after each of its epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageState {
    /// Which stage of the run (from 0).
    pub index: usize,
    /// Epochs of the run finished before the stage began.
    pub before: usize,
    /// Epochs planned for the stage.
    pub planned: usize,
    /// The stage's starting rate, and the rate of its next epoch.
    pub base_rate: f64,
    pub rate: f64,
    /// The best epoch so far and its score, and the epochs since it.
    pub best: Option<(usize, Score)>,
    pub since_best: usize,
    /// The lowest validation loss so far, and the epochs since it (for `Plateau`).
    pub lowest_val_loss: f64,
    pub since_lowest: usize,
    /// Early stopping ended the stage.
    pub stopped: bool,
}

impl StageState {
    pub fn new(index: usize, before: usize, planned: usize, rate: f64) -> Self {
        Self {
            index,
            before,
            planned,
            base_rate: rate,
            rate,
            best: None,
            since_best: 0,
            lowest_val_loss: f64::INFINITY,
            since_lowest: 0,
            stopped: false,
        }
    }

    /// The learning rate of the stage's next epoch, after `done` of the run's.
    pub fn next_rate(&self, decay: Decay, done: usize) -> f64 {
        match decay {
            Decay::Constant | Decay::Plateau { .. } => self.rate,
            Decay::Cosine => {
                let k = (done - self.before) as f64;
                let progress = std::f64::consts::PI * k / self.planned as f64;
                self.base_rate * 0.5 * (1.0 + progress.cos())
            }
        }
    }

    /// After the run's epoch `epoch` with these validation figures: whether it is the
    /// stage's best so far.
    pub fn epoch_done(
        &mut self,
        controls: &Controls,
        epoch: usize,
        val_loss: f64,
        score: Score,
    ) -> bool {
        let improved = self.best.is_none_or(|(_, best)| score.better_than(best));
        if improved {
            self.best = Some((epoch, score));
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        if val_loss < self.lowest_val_loss {
            self.lowest_val_loss = val_loss;
            self.since_lowest = 0;
        } else {
            self.since_lowest += 1;
        }
        if let Decay::Plateau { factor, patience } = controls.decay
            && self.since_lowest >= patience
        {
            self.rate *= factor;
            self.since_lowest = 0;
        }
        self.stopped = controls.patience.is_some_and(|p| self.since_best >= p);
        improved
    }

    /// Whether the stage has no epoch left after `done` of the run's.
    pub fn finished(&self, done: usize) -> bool {
        self.stopped || done >= self.before + self.planned
    }

    /// The stage as it ended after `done` of the run's epochs.
    pub fn end(&self, done: usize) -> StageEnd {
        StageEnd {
            best: self.best.map_or(done, |(epoch, _)| epoch),
            last: done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controls(decay: Decay, patience: Option<usize>) -> Controls {
        Controls {
            decay,
            keep: Keep::Best,
            patience,
        }
    }

    /// Feed validation losses through a stage of `planned` epochs; the rates it trained
    /// each epoch at, and how it ended.
    fn run(controls: &Controls, planned: usize, losses: &[f64]) -> (Vec<f64>, StageEnd) {
        let mut state = StageState::new(0, 0, planned, 0.01);
        let mut rates = Vec::new();
        let mut done = 0;
        for &loss in losses {
            if state.finished(done) {
                break;
            }
            rates.push(state.next_rate(controls.decay, done));
            done += 1;
            state.epoch_done(controls, done, loss, Score(loss, 0.0));
        }
        (rates, state.end(done))
    }

    #[test]
    fn a_constant_rate_stays_and_the_best_epoch_is_kept() {
        let (rates, end) = run(&controls(Decay::Constant, None), 4, &[0.5, 0.3, 0.4, 0.35]);
        assert_eq!(rates, vec![0.01; 4]);
        assert_eq!(end, StageEnd { best: 2, last: 4 });
        assert_eq!((end.kept(Keep::Best), end.kept(Keep::Last)), (2, 4));
    }

    #[test]
    fn a_plateau_multiplies_the_rate_after_patience_epochs_without_a_lower_loss() {
        let plateau = Decay::Plateau {
            factor: 0.5,
            patience: 2,
        };
        let (rates, _) = run(
            &controls(plateau, None),
            7,
            &[0.5, 0.4, 0.45, 0.41, 0.3, 0.31, 0.32],
        );
        // Epochs 3 and 4 are no lower than 0.4: epoch 5 trains at half the rate; epochs 6
        // and 7 are no lower than epoch 5's 0.3, which halves it again after epoch 7.
        assert_eq!(rates, vec![0.01, 0.01, 0.01, 0.01, 0.005, 0.005, 0.005]);
    }

    #[test]
    fn cosine_decays_from_the_rate_towards_zero_over_the_stage() {
        let (rates, _) = run(&controls(Decay::Cosine, None), 4, &[0.5; 4]);
        let expected = [1.0, 0.853_553_390_593_273_7, 0.5, 0.146_446_609_406_726_3];
        for (rate, want) in rates.iter().zip(expected) {
            assert!((rate - 0.01 * want).abs() < 1e-15, "{rates:?}");
        }
    }

    #[test]
    fn patience_ends_a_stage_without_a_better_epoch() {
        let (rates, end) = run(
            &controls(Decay::Constant, Some(2)),
            10,
            &[0.5, 0.4, 0.41, 0.42, 0.3, 0.2],
        );
        assert_eq!(
            rates.len(),
            4,
            "stopped after two epochs no better than the 2nd"
        );
        assert_eq!(end, StageEnd { best: 2, last: 4 });
        let (rates, end) = run(
            &controls(Decay::Constant, Some(3)),
            4,
            &[0.5, 0.6, 0.7, 0.8],
        );
        assert_eq!(
            (rates.len(), end.last),
            (4, 4),
            "the planned end comes first"
        );
    }

    #[test]
    fn ties_go_to_the_tie_breaker_then_to_the_earlier_epoch() {
        let mut state = StageState::new(0, 0, 5, 0.01);
        let c = controls(Decay::Constant, None);
        assert!(state.epoch_done(&c, 1, 0.3, Score(-0.9, 0.3)));
        assert!(state.epoch_done(&c, 2, 0.2, Score(-0.9, 0.2)));
        assert!(!state.epoch_done(&c, 3, 0.2, Score(-0.9, 0.2)));
        assert!(!state.epoch_done(&c, 4, f64::NAN, Score(f64::NAN, f64::NAN)));
        assert_eq!(state.end(4).best, 2);
    }
}
