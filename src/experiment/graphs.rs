//! What an experiment draws from its figures: the error graphs (final figures against one
//! hyperparameter's values) and a run's per-epoch curves, for the experiment loop and for
//! `aelab graphs`, which draws every error graph the results tables support from the
//! tables alone, so sweeps split over processes or machines (`--shard`) get the graphs the
//! menu draws once every shard is done. A graph from a table is the runs of one source
//! (data, images, seed, device; a classifier's loss and encoder) that agree in every
//! hyperparameter but one, when that one took at least two values.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::hyper::{Hyper, ParamSet, Value, Values};
use super::kinds::{AutoencoderKind, ClassifierKind, Kind, ParamOf, Recorded};
use super::lab::{HyperOf, Lab, RunOf, SessionOf};
use super::source::SourceColumns;
use super::table::{Row, read_rows};
use crate::error::Result;
use crate::report::charts::{self, EpochMarks, ErrorPanel, Pair, XAxis};
use crate::train::stage::Keep;
use crate::train::{EpochStats, Figures, Metrics, Run};

/// The error graph `name` (`L4_FS3_FLx_E100_B64`) of the runs that varied `param`: the
/// final loss, and each panel of the kind's metrics, against its values; `DIR/NAME.png`.
pub fn error_graph<K: Kind>(
    out: &Path,
    name: &str,
    loss_name: &str,
    param: ParamOf<K>,
    points: &[(Value, Figures<K::Metrics>)],
) -> Result<PathBuf> {
    let column = |value: &dyn Fn(&Figures<K::Metrics>) -> f64| -> Vec<f64> {
        points.iter().map(|(_, f)| value(f)).collect()
    };
    let spec = param.spec();
    let (xs, axis) = x_axis(spec.values, points.iter().map(|&(v, _)| spec.position(v)));
    let seconds = column(&|f| f.train_seconds);
    let loss = [column(&|f| f.loss), column(&|f| f.val_loss)];
    let panels_of = K::Metrics::PANELS;
    let metrics: Vec<[Vec<f64>; 2]> = panels_of
        .iter()
        .map(|p| {
            let at = |f: &Figures<K::Metrics>| (p.value)(&f.metrics);
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
        panels_of
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
    charts::error_graph(&path, name, spec.label, &xs, &axis, &seconds, &panels)?;
    Ok(path)
}

/// Where the points of a hyperparameter taking `values` go on the x axis, and how it is
/// labelled.
fn x_axis(values: Values, positions: impl Iterator<Item = f64>) -> (Vec<f64>, XAxis) {
    match values {
        Values::Whole { .. } => (positions.collect(), XAxis::Whole),
        Values::Decimal { log: true, .. } => (positions.map(f64::log10).collect(), XAxis::Log),
        Values::Decimal { log: false, .. } => (positions.collect(), XAxis::Linear),
        Values::Choice(names) => (
            positions.collect(),
            XAxis::Names(names.iter().map(|n| n.to_string()).collect()),
        ),
    }
}

/// A run's per-epoch curves, training and validation: the loss, then each panel of the
/// kind's metrics, each in its file of `K::curve_files`, with the stage boundary, the kept
/// epochs and early stops marked.
pub fn epoch_curves<K: Kind, C, Model>(
    out: &Path,
    run_name: &str,
    loss_name: &str,
    run: &Run<C, K::Metrics, Model>,
) -> Result<Vec<PathBuf>> {
    let history = &run.history;
    let marks = epoch_marks(run);
    let per_epoch = |value: &dyn Fn(&EpochStats<K::Metrics>) -> f64| -> Vec<f64> {
        history.iter().map(value).collect()
    };
    let mut charts = vec![(
        "loss".to_string(),
        format!("Loss ({loss_name})"),
        ("Training loss", "Validation loss"),
        [per_epoch(&|s| s.loss), per_epoch(&|s| s.val_loss)],
    )];
    for panel in K::Metrics::PANELS {
        let at = |s: &EpochStats<K::Metrics>| (panel.value)(&s.metrics);
        charts.push((
            panel.name.to_string(),
            panel.curve_y_desc.to_string(),
            panel.curve_labels,
            [per_epoch(&|s| at(s).0), per_epoch(&|s| at(s).1)],
        ));
    }
    let mut written = Vec::new();
    for ((name, y_desc, labels, [train, valid]), file) in
        charts.iter().zip(K::curve_files(run_name))
    {
        let path = out.join(file);
        charts::epoch_curves(
            &path,
            &format!("Training and validation {name}, {run_name}"),
            y_desc,
            Pair {
                labels: *labels,
                train,
                valid,
            },
            &marks,
        )?;
        written.push(path);
    }
    Ok(written)
}

/// Where `run`'s stages ended: the boundary between two, each best epoch kept before the
/// stage's last, and the stages that stopped before their planned epochs.
fn epoch_marks<C, M: Metrics, Model>(run: &Run<C, M, Model>) -> EpochMarks {
    let keep_best = run.schedule.controls.keep == Keep::Best;
    let mut marks = EpochMarks {
        boundary: run.stage_boundary(),
        ..EpochMarks::default()
    };
    let mut start = 0;
    for end in &run.stages {
        if keep_best && end.best < end.last {
            marks.kept.push(end.best);
        }
        if end.last - start < run.schedule.epochs {
            marks.stopped.push(end.last);
        }
        start = end.last;
    }
    marks
}

/// One error graph per hyperparameter varied so far, then the current run's pictures.
pub fn session_graphs<L: Lab>(
    lab: &L,
    session: &SessionOf<L>,
    hyper: &HyperOf<L>,
    run: &RunOf<L>,
) -> Result<Vec<PathBuf>> {
    let varied = session.varied();
    if varied.is_empty() {
        println!("No hyperparameter varied yet: run again with one changed to get error graphs.");
    }
    let mut written = Vec::new();
    for param in varied {
        written.push(error_graph::<L::Kind>(
            lab.out(),
            &session.base().graph_name(param),
            &lab.context().loss_name,
            param,
            &session.series(param),
        )?);
    }
    written.extend(lab.pictures(hyper, run)?);
    Ok(written)
}

pub fn print_written(paths: &[PathBuf]) {
    for path in paths {
        println!("Wrote {}", path.display());
    }
}

/// Draw the error graphs of both tables under `out`; the paths written, in table order.
pub fn draw_all(out: &Path) -> Result<Vec<PathBuf>> {
    let mut written = draw_table::<AutoencoderKind>(out)?;
    written.extend(draw_table::<ClassifierKind>(out)?);
    Ok(written)
}

fn draw_table<K: Kind>(out: &Path) -> Result<Vec<PathBuf>> {
    let table = out.join(K::TABLE_FILE);
    if !table.exists() {
        return Ok(Vec::new());
    }
    let rows = read_rows::<K>(&table)?;
    let mut groups: Vec<(SourceColumns, Vec<Row<K>>)> = Vec::new();
    for row in rows {
        match groups.iter_mut().find(|(s, _)| *s == row.source) {
            Some((_, group)) => group.push(row),
            None => groups.push((row.source.clone(), vec![row])),
        }
    }
    // A name drawn from one source's rows; another source's graph of the same name gets
    // the source's number after it.
    let mut drawn: HashMap<String, usize> = HashMap::new();
    let mut written = Vec::new();
    for (number, (source, rows)) in groups.iter().enumerate() {
        for base in rows {
            for &param in ParamOf::<K>::ALL {
                let name = base.hyper.graph_name(param);
                let name = match drawn.get(&name) {
                    Some(&group) if group == number => continue,
                    Some(_) => format!("{name}_{}", number + 1),
                    None => name,
                };
                let points = varying(rows, &base.hyper, param);
                if points.len() < 2 {
                    continue;
                }
                drawn.insert(base.hyper.graph_name(param), number);
                written.push(error_graph::<K>(
                    out,
                    &name,
                    &K::loss_name(source),
                    param,
                    &points,
                )?);
            }
        }
    }
    Ok(written)
}

/// The runs among `rows` equal to `base` in everything but `param`, one per value of it,
/// in the order of its values.
fn varying<K: Kind>(
    rows: &[Row<K>],
    base: &Hyper<ParamOf<K>>,
    param: ParamOf<K>,
) -> Vec<(Value, Figures<K::Metrics>)> {
    let spec = param.spec();
    let mut points: Vec<(Value, Figures<K::Metrics>)> = rows
        .iter()
        .filter(|row| row.hyper.differing(base).all(|p| p == param))
        .map(|row| (row.hyper.get(param), row.figures))
        .collect();
    points.sort_by(|(a, _), (b, _)| spec.position(*a).total_cmp(&spec.position(*b)));
    points.dedup_by(|(a, _), (b, _)| a == b);
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::augment::Inputs;
    use crate::train::stage::{Controls, StageEnd};
    use crate::train::{NoMetrics, Schedule};

    fn run(keep: Keep, stages: &[(usize, usize)]) -> Run<(), NoMetrics, ()> {
        Run {
            config: (),
            schedule: Schedule {
                epochs: 10,
                batch_size: 64,
                seed: 1,
                learning_rate: 1e-3,
                controls: Controls {
                    keep,
                    ..Controls::REPORT
                },
                inputs: Inputs::NONE,
            },
            history: Vec::new(),
            stages: stages
                .iter()
                .map(|&(best, last)| StageEnd { best, last })
                .collect(),
            train_seconds: 0.0,
            quality: None,
            model: (),
        }
    }

    #[test]
    fn curves_mark_kept_epochs_before_the_last_and_early_stops() {
        // Stage 1 stopped at 7 of 10, keeping 4; stage 2 ran its 10 (8..17), best its last.
        let marks = epoch_marks(&run(Keep::Best, &[(4, 7), (17, 17)]));
        assert_eq!(
            marks,
            EpochMarks {
                boundary: Some(7),
                kept: vec![4],
                stopped: vec![7],
            }
        );
        // The report's recipe: each stage ran to its end and kept it; nothing to mark but
        // the boundary.
        let marks = epoch_marks(&run(Keep::Last, &[(7, 10), (20, 20)]));
        assert_eq!(marks.boundary, Some(10));
        assert!(
            marks.kept.is_empty() && marks.stopped.is_empty(),
            "{marks:?}"
        );
        // An autoencoder stopped early: no boundary.
        let marks = epoch_marks(&run(Keep::Best, &[(3, 6)]));
        assert_eq!(
            (marks.boundary, marks.kept, marks.stopped),
            (None, vec![3], vec![6])
        );
    }
}
