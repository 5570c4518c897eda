//! The experiment loop both kinds share: train the base run, then rerun with one
//! hyperparameter changed at a time (from the menu or a `--sweep`), and draw the error
//! graphs. What a run records and what the menu's third choice does belong to the kind.

use std::path::{Path, PathBuf};

use super::hyper::HyperSet;
use super::menu::{Prompter, Reply};
use super::session::Session;
use super::shard::Shard;
use super::source::RunSource;
use super::table::{self, ResultRow};
use crate::error::{Error, InputError, Result};
use crate::interrupt::{self, Interrupted};
use crate::report::charts::{self, ErrorPanel, Pair};
use crate::train::checkpoint::{Checkpoint, Found};
use crate::train::epochs::Start;
use crate::train::{Accuracy, EpochStats, Figures, Metrics, NoMetrics, TrainError};

/// What to do after (and around) the base run.
pub enum Plan<P> {
    /// Train the base once, finish (save, predict) and exit.
    Once,
    /// Train the base and each listed variation, draw the graphs, finish with the base, exit;
    /// with a shard, only the shard's runs, and no graphs.
    Sweep {
        sweeps: Vec<(P, Vec<usize>)>,
        shard: Option<Shard>,
    },
    /// The interactive loop; `ask_base` first asks for every base value.
    Menu {
        prompter: Box<dyn Prompter>,
        ask_base: bool,
    },
}

/// One panel that a kind's metrics add to its error graphs, beside the loss.
pub struct MetricPanel<M> {
    /// For the graph's title: "accuracy".
    pub name: &'static str,
    pub y_desc: &'static str,
    pub labels: (&'static str, &'static str),
    /// A run's training and validation value.
    pub value: fn(&M) -> (f64, f64),
}

/// Metrics that error graphs can show: one panel each.
pub trait GraphedMetrics: Metrics + 'static {
    const PANELS: &'static [MetricPanel<Self>];
}

impl GraphedMetrics for NoMetrics {
    const PANELS: &'static [MetricPanel<Self>] = &[];
}

impl GraphedMetrics for Accuracy {
    const PANELS: &'static [MetricPanel<Self>] = &[MetricPanel {
        name: "accuracy",
        y_desc: "Final accuracy",
        labels: ("Accuracy", "Validation accuracy"),
        value: |a| (a.train, a.valid),
    }];
}

/// One kind of experiment (autoencoder, classifier) on a chosen backend.
pub trait Kind {
    type Hyper: HyperSet;
    /// What a run measures besides the loss.
    type Metrics: GraphedMetrics;
    /// A finished run, trained model included.
    type Run;
    /// Its results table's rows.
    type Row: ResultRow<Hyper = Self::Hyper, Metrics = Self::Metrics>;
    /// "autoencoder" or "classifier", for checkpoints.
    const NAME: &'static str;
    /// The results table's file name under the output folder.
    const TABLE_FILE: &'static str;

    /// Train `hyper` (from fresh weights or a checkpoint, as `start` says) and record it
    /// at once (results table row, curves).
    fn train(
        &mut self,
        hyper: Self::Hyper,
        start: Start<Self::Metrics>,
    ) -> Result<(Self::Run, Figures<Self::Metrics>)>;
    /// What identifies this experiment's runs besides their hyperparameters.
    fn source(&self) -> &RunSource;
    /// The output folder.
    fn out(&self) -> &Path;
    /// The loss function, for axis titles: "MSE".
    fn loss_name(&self) -> String;
    /// Pictures of the current run beside the error graphs (reconstructions, curves).
    fn pictures(&self, hyper: Self::Hyper, run: &Self::Run) -> Result<Vec<PathBuf>>;
    /// The menu's third choice, e.g. "Save the model".
    fn action_label(&self) -> &'static str;
    fn action(
        &mut self,
        prompter: &mut dyn Prompter,
        hyper: Self::Hyper,
        run: &Self::Run,
    ) -> Result<Reply<()>>;
    /// What the run that becomes the current one leaves behind at once (the classifier
    /// saves itself, so the saved model is always the one the menu predicts with).
    fn keep(&mut self, _hyper: Self::Hyper, _run: &Self::Run) -> Result<()> {
        Ok(())
    }
    /// What a run without the menu leaves behind (a saved model, predictions).
    fn finish(&mut self, hyper: Self::Hyper, run: &Self::Run) -> Result<()>;
    /// The results table every finished run is recorded in.
    fn results(&self) -> PathBuf {
        self.out().join(Self::TABLE_FILE)
    }
    /// Where the run `hyper` keeps its checkpoint, and what it must match.
    fn checkpoint(&self, hyper: Self::Hyper) -> Checkpoint {
        let name = hyper.run_name();
        let identity = self.source().identity(Self::NAME, &name);
        Checkpoint::in_folder(self.out(), &name, identity)
    }
}

/// What to do with checkpoints: `--resume` and `--keep-checkpoints`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Checkpointing {
    /// Continue runs from their checkpoints (and skip a sweep's runs already recorded).
    pub resume: bool,
    /// Keep each run's last checkpoint once it is recorded.
    pub keep: bool,
}

/// The figures the session keeps of each run.
type Outcome<K> = Figures<<K as Kind>::Metrics>;

type Param<K> = <<K as Kind>::Hyper as HyperSet>::Param;

/// Run `plan` from the base hyperparameters `base`.
pub fn run<K: Kind>(
    kind: &mut K,
    base: K::Hyper,
    plan: Plan<Param<K>>,
    checkpointing: Checkpointing,
) -> Result<()> {
    let mut session = Session::new(base);
    let mut runs = Runs {
        checkpointing,
        prompter: None,
    };
    match plan {
        Plan::Once => {
            let current = runs.train(kind, &mut session, base)?;
            kind.keep(base, &current)?;
            kind.finish(base, &current)
        }
        Plan::Sweep { sweeps, shard } => {
            let order = sweep_order(&session, &sweeps)?;
            let mine = |index: usize| shard.is_none_or(|s| s.takes(index));
            // The base's model is needed at the end: its checkpoint stays until then, so a
            // resumed sweep need not train it again.
            let base_run = if mine(0) {
                Some(runs.train_keeping(kind, &mut session, base, true)?)
            } else {
                None
            };
            for (index, &hyper) in order.iter().enumerate().skip(1) {
                if mine(index) {
                    runs.train_or_skip(kind, &mut session, hyper)?;
                }
            }
            if let Some(shard) = shard {
                println!(
                    "Shard {shard} ran {} of the sweep's {} runs; once every shard is done, `aelab graphs --out {}` draws the error graphs",
                    (0..order.len()).filter(|&i| mine(i)).count(),
                    order.len(),
                    kind.out().display()
                );
            }
            let Some(base_run) = base_run else {
                return Ok(());
            };
            if shard.is_none() {
                print_written(&draw_graphs(kind, &session, base, &base_run)?);
            }
            kind.keep(base, &base_run)?;
            kind.finish(base, &base_run)?;
            runs.done_with(&kind.checkpoint(base))
        }
        Plan::Menu {
            mut prompter,
            ask_base,
        } => {
            let base = if ask_base {
                match ask_base_values(prompter.as_mut(), base) {
                    Some(base) => base,
                    None => return Ok(()),
                }
            } else {
                base
            };
            runs.prompter = Some(prompter);
            menu(kind, Session::new(base), &mut runs)
        }
    }
}

/// A sweep's runs in their documented order: the base, then each sweep's values in the
/// order given, leaving out values equal to the base's.
fn sweep_order<H: HyperSet, O: Clone>(
    session: &Session<H, O>,
    sweeps: &[(H::Param, Vec<usize>)],
) -> Result<Vec<H>> {
    let base = session.base();
    let mut order = vec![base];
    for (param, values) in sweeps {
        for &value in values.iter().filter(|&&v| v != base.get(*param)) {
            order.push(session.variant(*param, value)?);
        }
    }
    Ok(order)
}

/// Training runs one after another, with their checkpoints.
struct Runs {
    checkpointing: Checkpointing,
    /// The menu's, to ask about a checkpoint found; `None` for scripted runs.
    prompter: Option<Box<dyn Prompter>>,
}

impl Runs {
    fn train<K: Kind>(
        &mut self,
        kind: &mut K,
        session: &mut Session<K::Hyper, Outcome<K>>,
        hyper: K::Hyper,
    ) -> Result<K::Run> {
        self.train_keeping(kind, session, hyper, false)
    }

    /// A sweep's run: with `--resume`, one already in the results table is not trained
    /// again (its figures come from the table).
    fn train_or_skip<K: Kind>(
        &mut self,
        kind: &mut K,
        session: &mut Session<K::Hyper, Outcome<K>>,
        hyper: K::Hyper,
    ) -> Result<()> {
        if self.checkpointing.resume && !kind.checkpoint(hyper).path.exists() {
            let table = kind.results();
            if let Some(row) = table::recorded::<K::Row>(&table, &hyper, kind.source())? {
                println!(
                    "Skipping {}: already in {}",
                    hyper.run_name(),
                    table.display()
                );
                session.record(hyper, row.figures());
                return Ok(());
            }
        }
        self.train(kind, session, hyper).map(|_| ())
    }

    /// Train and record one run, checkpointed after every epoch and resumed from its
    /// checkpoint when that is asked for; the checkpoint goes once the run is recorded,
    /// unless `keep_checkpoint` or `--keep-checkpoints`. Ctrl-C stops it after the current
    /// batch (its finished epochs stay in the checkpoint) or, when it came while the run
    /// was being recorded, once that is done.
    fn train_keeping<K: Kind>(
        &mut self,
        kind: &mut K,
        session: &mut Session<K::Hyper, Outcome<K>>,
        hyper: K::Hyper,
        keep_checkpoint: bool,
    ) -> Result<K::Run> {
        let checkpoint = kind.checkpoint(hyper);
        let resume = self.should_resume(&checkpoint)?;
        let start = Start {
            resume: resume.then(|| checkpoint.load()).transpose()?,
            checkpoint: Some(checkpoint.clone()),
        };
        let training = interrupt::Training::start()?;
        let trained = kind.train(hyper, start);
        drop(training);
        let interrupted = |epoch| Interrupted {
            epoch,
            run: hyper.run_name(),
            results: kind.results(),
            resume: resume_hint(&checkpoint),
        };
        let (run, outcome) = match trained {
            Err(Error::Train(TrainError::Interrupted { epoch })) => {
                return Err(interrupted(Some(epoch)).into());
            }
            Err(e) => return Err(e),
            Ok(done) => done,
        };
        session.record(hyper, outcome);
        if !keep_checkpoint {
            self.done_with(&checkpoint)?;
        }
        if interrupt::requested() {
            return Err(interrupted(None).into());
        }
        Ok(run)
    }

    /// Whether to go on from the checkpoint there: `--resume` says yes, the menu asks, and
    /// a scripted run without `--resume` stops rather than overwrite it. Another run's
    /// checkpoint is never resumed.
    fn should_resume(&mut self, checkpoint: &Checkpoint) -> Result<bool> {
        let path = checkpoint.path.display();
        let (question, refusal) = match checkpoint.find()? {
            Found::None => return Ok(false),
            Found::Resumable { .. } if self.checkpointing.resume => return Ok(true),
            Found::Resumable { done, total } => (
                format!("{path} holds epoch {done} of {total} of this run: resume it?"),
                format!(
                    "{path}: a checkpoint of this run is there (epoch {done} of {total}): give --resume to go on from it, or delete it to start over"
                ),
            ),
            Found::Other(why) => (
                format!("{path} is another run's checkpoint ({why}): replace it?"),
                format!(
                    "{path}: cannot resume: {why}; delete it, or use another --out, to start this run"
                ),
            ),
        };
        let resumable = !refusal.contains("cannot resume");
        let Some(prompter) = self.prompter.as_mut() else {
            return Err(InputError::new(refusal).into());
        };
        match prompter.confirm(&question, resumable) {
            Reply::Value(answer) if resumable => Ok(answer),
            Reply::Value(true) => Ok(false),
            _ => Err(InputError::new(refusal).into()),
        }
    }

    /// A recorded run's checkpoint is removed, unless `--keep-checkpoints`.
    fn done_with(&self, checkpoint: &Checkpoint) -> Result<()> {
        if !self.checkpointing.keep {
            checkpoint.remove()?;
        }
        Ok(())
    }
}

/// ", resuming from epoch 3 of 10" when `start` resumes a checkpoint; else nothing.
pub(super) fn resuming<M>(start: &Start<M>) -> String {
    start.resume.as_ref().map_or_else(String::new, |saved| {
        format!(
            ", resuming from epoch {} of {}",
            saved.position.epochs_done, saved.position.epochs_total
        )
    })
}

/// What to tell the user after Ctrl-C: the command that goes on from the checkpoint, if
/// one was written.
fn resume_hint(checkpoint: &Checkpoint) -> Option<String> {
    let done = match checkpoint.find() {
        Ok(Found::Resumable { done, .. }) => done,
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

/// One error graph per hyperparameter varied so far, then the current run's pictures.
fn draw_graphs<K: Kind>(
    kind: &K,
    session: &Session<K::Hyper, Outcome<K>>,
    hyper: K::Hyper,
    run: &K::Run,
) -> Result<Vec<PathBuf>> {
    let varied = session.varied();
    if varied.is_empty() {
        println!("No hyperparameter varied yet: run again with one changed to get error graphs.");
    }
    let mut written = Vec::new();
    for param in varied {
        written.push(error_graph::<K::Hyper, K::Metrics>(
            kind.out(),
            &session.base().graph_name(param),
            &kind.loss_name(),
            param,
            &session.series(param),
        )?);
    }
    written.extend(kind.pictures(hyper, run)?);
    Ok(written)
}

/// The error graph `name` (`L4_FS3_FLx_E100_B64`) of the runs that varied `param`: the
/// final loss, and each panel of the metrics `M`, against its values; `DIR/NAME.png`.
pub(super) fn error_graph<H: HyperSet, M: GraphedMetrics>(
    out: &Path,
    name: &str,
    loss_name: &str,
    param: H::Param,
    points: &[(usize, Figures<M>)],
) -> Result<PathBuf> {
    let column = |value: &dyn Fn(&Figures<M>) -> f64| -> Vec<f64> {
        points.iter().map(|(_, f)| value(f)).collect()
    };
    let values: Vec<usize> = points.iter().map(|&(v, _)| v).collect();
    let seconds = column(&|f| f.train_seconds);
    let loss = [column(&|f| f.loss), column(&|f| f.val_loss)];
    let metrics: Vec<[Vec<f64>; 2]> = M::PANELS
        .iter()
        .map(|p| {
            let at = |f: &Figures<M>| (p.value)(&f.metrics);
            [column(&|f| at(f).0), column(&|f| at(f).1)]
        })
        .collect();
    let loss_desc = format!("Final loss ({loss_name})");
    let mut panels = vec![ErrorPanel {
        name: "loss",
        y_desc: &loss_desc,
        pair: Pair {
            labels: ("Loss", "Validation loss"),
            train: &loss[0],
            valid: &loss[1],
        },
    }];
    panels.extend(
        M::PANELS
            .iter()
            .zip(&metrics)
            .map(|(p, [train, valid])| ErrorPanel {
                name: p.name,
                y_desc: p.y_desc,
                pair: Pair {
                    labels: p.labels,
                    train,
                    valid,
                },
            }),
    );
    let path = out.join(format!("{name}.png"));
    charts::error_graph(&path, name, H::label(param), &values, &seconds, &panels)?;
    Ok(path)
}

/// A run's training and validation loss per epoch, with the stage boundary if any, saved
/// as a PNG at `path`.
pub(super) fn loss_curves<M>(
    path: &Path,
    run_name: &str,
    loss_name: &str,
    history: &[EpochStats<M>],
    stage_boundary: Option<usize>,
) -> Result<()> {
    let loss: Vec<f64> = history.iter().map(|s| s.loss).collect();
    let val_loss: Vec<f64> = history.iter().map(|s| s.val_loss).collect();
    charts::epoch_curves(
        path,
        &format!("Training and validation loss, {run_name}"),
        &format!("Loss ({loss_name})"),
        Pair {
            labels: ("Training loss", "Validation loss"),
            train: &loss,
            valid: &val_loss,
        },
        stage_boundary,
    )?;
    Ok(())
}

/// Add a run's row to its results table; says so when an unreadable table was moved aside.
/// Returns the number of rows now in the table.
pub(super) fn record_row<R: ResultRow>(table: &Path, row: R) -> Result<usize> {
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

pub fn print_written(paths: &[PathBuf]) {
    for path in paths {
        println!("Wrote {}", path.display());
    }
}

/// Ask for each base value, current defaults shown; `None` if the user stops.
fn ask_base_values<H: HyperSet>(prompter: &mut dyn Prompter, defaults: H) -> Option<H> {
    let mut base = defaults;
    for &param in H::PARAMS {
        let check = |value: usize| base.with(param, value).validate().map_err(|e| e.0);
        match prompter.number(H::label(param), base.get(param), &check) {
            Reply::Value(value) => base.set(param, value),
            Reply::Back | Reply::Quit => return None,
        }
    }
    Some(base)
}

/// The interactive loop: base run, then the menu until Exit or end of input.
fn menu<K: Kind>(
    kind: &mut K,
    mut session: Session<K::Hyper, Outcome<K>>,
    runs: &mut Runs,
) -> Result<()> {
    let base = session.base();
    let mut current = (base, runs.train(kind, &mut session, base)?);
    kind.keep(base, &current.1)?;
    let choices = [
        "Run again with one hyperparameter changed",
        "Plot the error graphs",
        kind.action_label(),
        "Exit",
    ]
    .map(String::from);
    loop {
        let prompter = runs
            .prompter
            .as_mut()
            .expect("the menu has a prompter")
            .as_mut();
        match prompter.select("What next?", &choices, 0) {
            Reply::Value(0) => match ask_variant(&session, prompter) {
                Reply::Value(hyper) => match runs.train(kind, &mut session, hyper) {
                    Ok(run) => {
                        kind.keep(hyper, &run)?;
                        current = (hyper, run);
                    }
                    // A diverged run is reported and the menu goes on with the last good one.
                    Err(e @ Error::Train(TrainError::NonFinite { .. })) => eprintln!("error: {e}"),
                    Err(e) => return Err(e),
                },
                Reply::Back => continue,
                Reply::Quit => break,
            },
            Reply::Value(1) => print_written(&draw_graphs(kind, &session, current.0, &current.1)?),
            Reply::Value(2) => match kind.action(prompter, current.0, &current.1)? {
                Reply::Quit => break,
                _ => continue,
            },
            Reply::Back => continue,
            Reply::Value(_) | Reply::Quit => break,
        }
    }
    println!(
        "Results: {} ({} runs this session)",
        kind.results().display(),
        session.runs().len()
    );
    Ok(())
}

/// Which hyperparameter, and its new value; the base with that one value changed.
fn ask_variant<H: HyperSet, O: Clone>(
    session: &Session<H, O>,
    prompter: &mut dyn Prompter,
) -> Reply<H> {
    let base = session.base();
    let labels: Vec<String> = H::PARAMS
        .iter()
        .map(|&p| format!("{} (base {})", H::label(p), base.get(p)))
        .collect();
    let param = match prompter.select("Which hyperparameter?", &labels, 0) {
        Reply::Value(i) => H::PARAMS[i],
        Reply::Back => return Reply::Back,
        Reply::Quit => return Reply::Quit,
    };
    let check = |value: usize| session.variant(param, value).map(|_| ()).map_err(|e| e.0);
    match prompter.number(
        &format!("New {}", H::label(param).to_lowercase()),
        base.get(param),
        &check,
    ) {
        Reply::Value(value) => Reply::Value(base.with(param, value)),
        Reply::Back => Reply::Back,
        Reply::Quit => Reply::Quit,
    }
}
