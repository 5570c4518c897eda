//! `aelab graphs`: every error graph the results tables support, drawn from the tables
//! alone, so sweeps split over processes or machines (`--shard`) get the graphs the menu
//! draws once every shard is done. A graph is the runs of one source (data, images, seed,
//! device; a classifier's loss and encoder) that agree in every hyperparameter but one,
//! when that one took at least two values.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::hyper::HyperSet;
use super::runner::{GraphedMetrics, error_graph};
use super::table::{AeRow, ClRow, ResultRow, SourceColumns, read_rows};
use super::{autoencoder, classifier};
use crate::error::Result;
use crate::train::Figures;
use crate::train::classifier::LossKind;

/// Draw the error graphs of both tables under `out`; the paths written, in table order.
pub fn draw_all(out: &Path) -> Result<Vec<PathBuf>> {
    let mut written = draw_table::<AeRow>(out, autoencoder::TABLE_FILE, |_| "MSE".into())?;
    written.extend(draw_table::<ClRow>(
        out,
        classifier::TABLE_FILE,
        |source| {
            // The loss as --loss spells it: name it as training runs do.
            let flag = source.loss.as_deref().unwrap_or_default();
            LossKind::from_str(flag).map_or_else(|_| "loss".into(), |loss| loss.to_string())
        },
    )?);
    Ok(written)
}

fn draw_table<R: ResultRow>(
    out: &Path,
    table_file: &str,
    loss_name: fn(&SourceColumns) -> String,
) -> Result<Vec<PathBuf>>
where
    R::Metrics: GraphedMetrics,
{
    let table = out.join(table_file);
    if !table.exists() {
        return Ok(Vec::new());
    }
    let rows = read_rows::<R>(&table)?;
    let mut groups: Vec<(SourceColumns, Vec<R>)> = Vec::new();
    for row in rows {
        let source = row.source();
        match groups.iter_mut().find(|(s, _)| *s == source) {
            Some((_, group)) => group.push(row),
            None => groups.push((source, vec![row])),
        }
    }
    // A name drawn from one source's rows; another source's graph of the same name gets
    // the source's number after it.
    let mut drawn: HashMap<String, usize> = HashMap::new();
    let mut written = Vec::new();
    for (number, (source, rows)) in groups.iter().enumerate() {
        for base in rows {
            let base = base.hyper();
            for &param in R::Hyper::PARAMS {
                let name = base.graph_name(param);
                let name = match drawn.get(&name) {
                    Some(&group) if group == number => continue,
                    Some(_) => format!("{name}_{}", number + 1),
                    None => name,
                };
                let points = varying::<R>(rows, &base, param);
                if points.len() < 2 {
                    continue;
                }
                drawn.insert(base.graph_name(param), number);
                written.push(error_graph::<R::Hyper, R::Metrics>(
                    out,
                    &name,
                    &loss_name(source),
                    param,
                    &points,
                )?);
            }
        }
    }
    Ok(written)
}

/// The runs among `rows` equal to `base` in everything but `param`, one per value of it,
/// in increasing order.
fn varying<R: ResultRow>(
    rows: &[R],
    base: &R::Hyper,
    param: <R::Hyper as HyperSet>::Param,
) -> Vec<(usize, Figures<R::Metrics>)> {
    let mut points: Vec<(usize, Figures<R::Metrics>)> = rows
        .iter()
        .map(|row| (row.hyper(), row))
        .filter(|(hyper, _)| {
            let others = R::Hyper::PARAMS.iter().filter(|&&p| p != param);
            others.into_iter().all(|&p| hyper.get(p) == base.get(p))
        })
        .map(|(hyper, row)| (hyper.get(param), row.figures()))
        .collect();
    points.sort_by_key(|&(value, _)| value);
    points.dedup_by_key(|&mut (value, _)| value);
    points
}
