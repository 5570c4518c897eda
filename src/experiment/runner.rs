//! The experiment loop both kinds share: train the base run, then rerun with one
//! hyperparameter changed at a time (from the menu or a `--sweep`), and draw the error
//! graphs. What a run records and what the menu's third choice does belong to the kind.

use std::path::{Path, PathBuf};

use super::hyper::HyperSet;
use super::menu::{Prompter, Reply};
use super::session::Session;
use super::table::{self, ResultRow};
use crate::error::{Error, Result};
use crate::interrupt::{self, Interrupted};
use crate::report::charts::{self, ErrorPanel, Pair};
use crate::train::{Accuracy, EpochStats, Figures, Metrics, NoMetrics, TrainError};

/// What to do after (and around) the base run.
pub enum Plan<P> {
    /// Train the base once, finish (save, predict) and exit.
    Once,
    /// Train the base and each listed variation, draw the graphs, finish with the base, exit.
    Sweep(Vec<(P, Vec<usize>)>),
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
    /// The results table's file name under the output folder.
    const TABLE_FILE: &'static str;

    /// Train `hyper` and record it at once (results table row, curves).
    fn train(&mut self, hyper: Self::Hyper) -> Result<(Self::Run, Figures<Self::Metrics>)>;
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
    /// What a run without the menu leaves behind (a saved model, predictions).
    fn finish(&mut self, hyper: Self::Hyper, run: &Self::Run) -> Result<()>;
    /// The results table every finished run is recorded in.
    fn results(&self) -> PathBuf {
        self.out().join(Self::TABLE_FILE)
    }
}

/// The figures the session keeps of each run.
type Outcome<K> = Figures<<K as Kind>::Metrics>;

type Param<K> = <<K as Kind>::Hyper as HyperSet>::Param;

/// Run `plan` from the base hyperparameters `base`.
pub fn run<K: Kind>(kind: &mut K, base: K::Hyper, plan: Plan<Param<K>>) -> Result<()> {
    let mut session = Session::new(base);
    match plan {
        Plan::Once => {
            let current = train(kind, &mut session, base)?;
            kind.finish(base, &current)
        }
        Plan::Sweep(sweeps) => {
            let base_run = train(kind, &mut session, base)?;
            for (param, values) in sweeps {
                for value in values.into_iter().filter(|&v| v != base.get(param)) {
                    let hyper = session.variant(param, value)?;
                    train(kind, &mut session, hyper)?;
                }
            }
            print_written(&draw_graphs(kind, &session, base, &base_run)?);
            kind.finish(base, &base_run)
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
            menu(kind, Session::new(base), prompter.as_mut())
        }
    }
}

/// Train and record one run. Ctrl-C meanwhile stops it after the current batch (nothing of
/// it is recorded) or, when it came while the run was being recorded, once that is done.
fn train<K: Kind>(
    kind: &mut K,
    session: &mut Session<K::Hyper, Outcome<K>>,
    hyper: K::Hyper,
) -> Result<K::Run> {
    let training = interrupt::Training::start()?;
    let trained = kind.train(hyper);
    drop(training);
    let interrupted = |epoch| Interrupted {
        epoch,
        run: hyper.run_name(),
        results: kind.results(),
    };
    let (run, outcome) = match trained {
        Err(Error::Train(TrainError::Interrupted { epoch })) => {
            return Err(interrupted(Some(epoch)).into());
        }
        Err(e) => return Err(e),
        Ok(_) if interrupt::requested() => return Err(interrupted(None).into()),
        Ok(done) => done,
    };
    session.record(hyper, outcome);
    Ok(run)
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
        written.push(error_graph(
            kind,
            session.base(),
            param,
            &session.series(param),
        )?);
    }
    written.extend(kind.pictures(hyper, run)?);
    Ok(written)
}

/// The error graph of `param`, named after `base` (`L4_FS3_FLx_E100_B64.png`): the final
/// loss, and each of the kind's metrics, of the runs that varied it.
fn error_graph<K: Kind>(
    kind: &K,
    base: K::Hyper,
    param: Param<K>,
    points: &[(usize, Outcome<K>)],
) -> Result<PathBuf> {
    let column = |value: &dyn Fn(&Outcome<K>) -> f64| -> Vec<f64> {
        points.iter().map(|(_, f)| value(f)).collect()
    };
    let values: Vec<usize> = points.iter().map(|&(v, _)| v).collect();
    let seconds = column(&|f| f.train_seconds);
    let loss = [column(&|f| f.loss), column(&|f| f.val_loss)];
    let metrics: Vec<[Vec<f64>; 2]> = K::Metrics::PANELS
        .iter()
        .map(|p| {
            let at = |f: &Outcome<K>| (p.value)(&f.metrics);
            [column(&|f| at(f).0), column(&|f| at(f).1)]
        })
        .collect();
    let loss_desc = format!("Final loss ({})", kind.loss_name());
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
        K::Metrics::PANELS
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
    let name = base.graph_name(param);
    let path = kind.out().join(format!("{name}.png"));
    let label = K::Hyper::label(param);
    charts::error_graph(&path, &name, label, &values, &seconds, &panels)?;
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

fn print_written(paths: &[PathBuf]) {
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
    prompter: &mut dyn Prompter,
) -> Result<()> {
    let base = session.base();
    let mut current = (base, train(kind, &mut session, base)?);
    let choices = [
        "Run again with one hyperparameter changed",
        "Plot the error graphs",
        kind.action_label(),
        "Exit",
    ]
    .map(String::from);
    loop {
        match prompter.select("What next?", &choices, 0) {
            Reply::Value(0) => match ask_variant(&session, prompter) {
                Reply::Value(hyper) => match train(kind, &mut session, hyper) {
                    Ok(run) => current = (hyper, run),
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
