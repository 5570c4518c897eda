//! Training runs one after another, each the same way whatever its kind: say what it
//! trains, train it (on from its checkpoint when the policy says so, checkpointed after
//! every epoch), record it the moment it ends (its row in the results table, its curves),
//! say what it reached, and stop cleanly on Ctrl-C.

use super::graphs;
use super::kinds::{Kind, Recorded};
use super::lab::{HyperOf, Lab, MetricsOf, Outcome, RunOf, SessionOf};
use super::prompt::Prompter;
use super::resume::{Checkpointing, resume_hint};
use super::table::{self, Row};
use crate::error::{Error, Result};
use crate::interrupt::{self, Interrupted, StoppedRun};
use crate::train::TrainError;
use crate::train::checkpoint::Checkpoint;
use crate::train::epochs::Start;

/// Where the run `hyper` keeps its checkpoint, and what it must match.
pub fn checkpoint<L: Lab>(lab: &L, hyper: &HyperOf<L>) -> Checkpoint {
    let name = hyper.run_name();
    let identity = lab
        .context()
        .source
        .identity(<L::Kind as Kind>::NAME, &name);
    Checkpoint::in_folder(lab.out(), &name, identity)
}

/// Train and record one run, checkpointed after every epoch and resumed from its
/// checkpoint when the policy (or the menu, through `prompter`) says so; the checkpoint
/// goes once the run is recorded, unless `keep_checkpoint` or `--keep-checkpoints`.
/// Ctrl-C stops it after the current batch (its finished epochs stay in the checkpoint)
/// or, when it came while the run was being recorded, once that is done.
pub fn train<L: Lab>(
    lab: &mut L,
    session: &mut SessionOf<L>,
    hyper: &HyperOf<L>,
    checkpointing: Checkpointing,
    prompter: Option<&mut dyn Prompter>,
    keep_checkpoint: bool,
) -> Result<RunOf<L>> {
    let checkpoint = checkpoint(lab, hyper);
    let resume = checkpointing.should_resume(&checkpoint, prompter)?;
    let start = Start {
        resume: resume.then(|| checkpoint.load()).transpose()?,
        checkpoint: Some(checkpoint.clone()),
    };
    let training = interrupt::Training::start().map_err(Error::Failed)?;
    let trained = train_and_record(lab, hyper, start);
    drop(training);
    let stopped = |epoch| Interrupted {
        epoch,
        run: Some(StoppedRun {
            name: hyper.run_name(),
            results: lab.results(),
            resume: resume_hint(&checkpoint),
        }),
    };
    let (run, figures) = match trained {
        Err(Error::Train(TrainError::Interrupted(during))) => {
            return Err(stopped(during.epoch).into());
        }
        other => other?,
    };
    session.record(hyper.clone(), figures);
    if !keep_checkpoint {
        checkpointing.done_with(&checkpoint)?;
    }
    if interrupt::requested() {
        return Err(stopped(None).into());
    }
    Ok(run)
}

/// A sweep's run: with `--resume`, one already in the results table is not trained again
/// (its figures come from the table).
pub fn train_or_skip<L: Lab>(
    lab: &mut L,
    session: &mut SessionOf<L>,
    hyper: &HyperOf<L>,
    checkpointing: Checkpointing,
) -> Result<()> {
    if checkpointing.resume && !checkpoint(lab, hyper).path.exists() {
        let table = lab.results();
        let source = &lab.context().source;
        if let Some(row) = table::recorded::<L::Kind>(&table, hyper, source)? {
            println!(
                "Skipping {}: already in {}",
                hyper.run_name(),
                table.display()
            );
            session.record(hyper.clone(), row.figures);
            return Ok(());
        }
    }
    train(lab, session, hyper, checkpointing, None, false).map(|_| ())
}

/// Say what is trained, train it, then record it at once: its row, its curves.
fn train_and_record<L: Lab>(
    lab: &mut L,
    hyper: &HyperOf<L>,
    start: Start<MetricsOf<L>>,
) -> Result<(RunOf<L>, Outcome<L>)> {
    let name = hyper.run_name();
    let (train_images, valid_images) = lab.context().split;
    println!(
        "Training {name} ({train_images} train, {valid_images} validation images{}){}",
        lab.run_note(),
        resuming(&start)
    );
    let run = lab.train(hyper, start)?;
    let figures = run.figures();
    let context = lab.context();
    let table = lab.results();
    let rows = record_row(
        &table,
        Row::<L::Kind>::new(hyper, &figures, &context.source),
    )?;
    let curves =
        graphs::epoch_curves::<L::Kind, _, _>(&context.out, &name, &context.loss_name, &run)?;
    let mut metrics: String = <MetricsOf<L> as Recorded>::PANELS
        .iter()
        .map(|panel| {
            let (train, valid) = (panel.value)(&figures.metrics);
            format!(
                ", {} {train:.4}, {} {valid:.4}",
                panel.summary.0, panel.summary.1
            )
        })
        .collect();
    if let Some(quality) = figures.quality {
        metrics.push_str(&format!(
            ", val_psnr {:.2} dB, val_ssim {:.4}",
            quality.psnr, quality.ssim
        ));
    }
    let curves: Vec<String> = curves.iter().map(|p| p.display().to_string()).collect();
    println!(
        "Trained {name} in {:.1} s: loss {:.5}, val_loss {:.5}{metrics}; wrote {} ({} rows), {}",
        figures.train_seconds,
        figures.loss,
        figures.val_loss,
        table.display(),
        rows,
        curves.join(", ")
    );
    Ok((run, figures))
}

/// ", resuming from epoch 3 of 10" when `start` resumes a checkpoint; else nothing.
fn resuming<M>(start: &Start<M>) -> String {
    start.resume.as_ref().map_or_else(String::new, |saved| {
        format!(
            ", resuming from epoch {} of {}",
            saved.position.epochs_done, saved.position.epochs_total
        )
    })
}

/// Add a run's row to its results table; says so when an unreadable table was moved aside.
/// Returns the number of rows now in the table.
fn record_row<K: Kind>(table: &std::path::Path, row: Row<K>) -> Result<usize> {
    let update = table::add_row(table, row)?;
    if let Some((aside, why)) = update.moved_aside {
        eprintln!(
            "warning: {} was not a valid results table ({why}); kept it as {} and started a new one",
            table.display(),
            aside.display()
        );
    }
    Ok(update.rows.len())
}
