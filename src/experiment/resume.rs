//! The checkpoint policy: when a run goes on from the checkpoint it finds, when it refuses
//! to start rather than overwrite one, when a recorded run's checkpoint goes, and what to
//! tell the user after Ctrl-C.

use super::prompt::{Prompter, Reply};
use crate::error::{InputError, Result};
use crate::train::checkpoint::{Checkpoint, OnDisk};

/// What to do with checkpoints: `--resume` and `--keep-checkpoints`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Checkpointing {
    /// Continue runs from their checkpoints (and skip a sweep's runs already recorded).
    pub resume: bool,
    /// Keep each run's last checkpoint once it is recorded.
    pub keep: bool,
}

impl Checkpointing {
    /// Whether to go on from the checkpoint there: `--resume` says yes, the menu
    /// (`prompter`) asks, and a scripted run without `--resume` stops rather than overwrite
    /// it. Another run's checkpoint is never resumed: the menu may replace it.
    pub fn should_resume(
        &self,
        checkpoint: &Checkpoint,
        prompter: Option<&mut dyn Prompter>,
    ) -> Result<bool> {
        let path = checkpoint.path.display();
        let (question, refusal, resumable) = match checkpoint.find()? {
            OnDisk::Nothing => return Ok(false),
            OnDisk::Resumable { .. } if self.resume => return Ok(true),
            OnDisk::Resumable { done, total } => (
                format!("{path} holds epoch {done} of {total} of this run: resume it?"),
                format!(
                    "{path}: a checkpoint of this run is there (epoch {done} of {total}): give --resume to go on from it, or delete it to start over"
                ),
                true,
            ),
            OnDisk::OtherRun(why) => (
                format!("{path} is another run's checkpoint ({why}): replace it?"),
                format!(
                    "{path}: cannot resume: {why}; delete it, or use another --out, to start this run"
                ),
                false,
            ),
        };
        let Some(prompter) = prompter else {
            return Err(InputError::new(refusal).into());
        };
        match prompter.confirm(&question, resumable) {
            // Yes to resuming goes on from it; yes to replacing another run's starts afresh.
            Reply::Value(answer) if resumable => Ok(answer),
            Reply::Value(true) => Ok(false),
            _ => Err(InputError::new(refusal).into()),
        }
    }

    /// A recorded run's checkpoint is removed, unless `--keep-checkpoints`.
    pub fn done_with(&self, checkpoint: &Checkpoint) -> Result<()> {
        if !self.keep {
            checkpoint.remove()?;
        }
        Ok(())
    }
}

/// What to tell the user after Ctrl-C: the command that goes on from the checkpoint, if
/// one was written.
pub fn resume_hint(checkpoint: &Checkpoint) -> Option<String> {
    let done = match checkpoint.find() {
        Ok(OnDisk::Resumable { done, .. }) => done,
        _ => return None,
    };
    let mut args: Vec<String> = std::env::args().map(|a| shell_quoted(&a)).collect();
    if !args.iter().any(|a| a == "--resume") {
        args.push("--resume".into());
    }
    Some(format!(
        "epochs 1-{done} are saved in {}; go on with: {}",
        checkpoint.path.display(),
        args.join(" ")
    ))
}

/// `text` as a shell reads it back: plain words as they are, anything else single-quoted.
fn shell_quoted(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dataset::Rng;
    use crate::train::NoMetrics;
    use crate::train::checkpoint::{Identity, Position, Records};

    /// Answers every confirmation with `answer`.
    struct Always(bool);

    impl Prompter for Always {
        fn select(&mut self, _: &str, _: &[String], _: usize) -> Reply<usize> {
            Reply::Quit
        }
        fn text(&mut self, _: &str, _: &str, _: super::super::prompt::Check) -> Reply<String> {
            Reply::Quit
        }
        fn confirm(&mut self, _: &str, _: bool) -> Reply<bool> {
            Reply::Value(self.0)
        }
    }

    /// The decision follows what is on disk, whatever the folder is called: a path that
    /// spells "cannot resume" is still a resumable checkpoint.
    #[test]
    fn resuming_is_decided_by_what_is_there_not_by_its_words() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("cannot resume");
        let identity = |seed: &str| Identity(vec![("seed".into(), seed.into())]);
        let mine = Checkpoint::in_folder(&out, "run", identity("13"));
        let position = Position::<NoMetrics> {
            epochs_done: 1,
            epochs_total: 2,
            train_seconds: 1.0,
            history: vec![],
            rng: Rng::new(1),
            order: vec![0],
            stages: vec![],
            stage: None,
        };
        let records = Records {
            model: b"m".to_vec(),
            optimizer: b"o".to_vec(),
            best: None,
        };
        mine.save(&position, &records).unwrap();
        let policy = Checkpointing::default();
        assert!(
            policy
                .should_resume(&mine, Some(&mut Always(true)))
                .unwrap()
        );
        assert!(
            !policy
                .should_resume(&mine, Some(&mut Always(false)))
                .unwrap()
        );
        let err = policy.should_resume(&mine, None).unwrap_err().to_string();
        assert!(err.contains("give --resume"), "{err}");
        let resume = Checkpointing {
            resume: true,
            ..policy
        };
        assert!(resume.should_resume(&mine, None).unwrap());

        let other = Checkpoint {
            identity: identity("7"),
            ..mine.clone()
        };
        // Replacing another run's checkpoint starts afresh; declining stops.
        assert!(
            !resume
                .should_resume(&other, Some(&mut Always(true)))
                .unwrap()
        );
        assert!(
            resume
                .should_resume(&other, Some(&mut Always(false)))
                .is_err()
        );
        let err = resume.should_resume(&other, None).unwrap_err().to_string();
        assert!(err.contains("seed 13, this run has seed 7"), "{err}");
    }
}
