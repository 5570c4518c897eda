//! Results tables (`loss_values.csv`, `classification_loss_values.csv`): read, add a row,
//! replace rows of the same run, sort, and write back atomically. A table that cannot be
//! read is never overwritten.

use std::cmp::Ordering;
use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::hyper::{AeHyper, ClHyper, HyperSet};
use super::source::RunSource;
use crate::error::{Error, InputError, WriteError};
use crate::fsutil;
use crate::train::{Accuracy, Figures, NoMetrics};

/// A row of a results table.
pub trait ResultRow: Serialize + DeserializeOwned + Clone {
    type Hyper: HyperSet;
    type Metrics;
    /// The run's hyperparameters (a classifier's encoder depth is not in the table: taken
    /// as its layers).
    fn hyper(&self) -> Self::Hyper;
    /// The hyperparameter columns, in the order of the kind's [HyperSet::PARAMS].
    fn hyper_values(&self) -> Vec<usize> {
        let hyper = self.hyper();
        Self::Hyper::PARAMS.iter().map(|&p| hyper.get(p)).collect()
    }
    /// The columns after the original report's that say which run a row is: the data, the
    /// images used, the seed, the device (and a classifier's loss and encoder). Tables
    /// written before they existed read as unknown (`None`).
    fn source(&self) -> SourceColumns;
    /// The run's final figures.
    fn figures(&self) -> Figures<Self::Metrics>;
    /// Table order: best first.
    fn rank(&self, other: &Self) -> Ordering;

    /// Whether two rows record the same run (the newer replaces the older).
    fn same_run(&self, other: &Self) -> bool {
        self.hyper_values() == other.hyper_values() && self.source() == other.source()
    }
}

/// A row's identifying columns, as read (any may be missing in an older table).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceColumns {
    pub data: Option<String>,
    pub images: Option<usize>,
    pub seed: Option<u64>,
    pub loss: Option<String>,
    pub encoder: Option<String>,
    pub device: Option<String>,
}

impl From<&RunSource> for SourceColumns {
    fn from(source: &RunSource) -> Self {
        Self {
            data: Some(source.data.clone()),
            images: Some(source.images),
            seed: Some(source.seed),
            loss: source.loss.clone(),
            encoder: source.encoder.clone(),
            device: Some(source.device.clone()),
        }
    }
}

/// The row of `hyper` from `source` in the table at `path`, if the table has it.
pub fn recorded<R: ResultRow>(
    path: &Path,
    hyper: &R::Hyper,
    source: &RunSource,
) -> Result<Option<R>, InputError> {
    let values: Vec<usize> = R::Hyper::PARAMS.iter().map(|&p| hyper.get(p)).collect();
    let wanted = SourceColumns::from(source);
    Ok(read_rows::<R>(path)?
        .into_iter()
        .find(|row| row.hyper_values() == values && row.source() == wanted))
}

/// A row of `loss_values.csv`, with the original report's column names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AeRow {
    #[serde(rename = "Layers")]
    pub layers: usize,
    #[serde(rename = "Filter_Size")]
    pub filter_size: usize,
    #[serde(rename = "Filters/Layer")]
    pub filters: usize,
    #[serde(rename = "Epochs")]
    pub epochs: usize,
    #[serde(rename = "Batch_Size")]
    pub batch_size: usize,
    #[serde(rename = "Train_Time")]
    pub train_time: f64,
    #[serde(rename = "Loss")]
    pub loss: f64,
    #[serde(rename = "Val_Loss")]
    pub val_loss: f64,
    #[serde(rename = "Data", default)]
    pub data: Option<String>,
    #[serde(rename = "Images", default)]
    pub images: Option<usize>,
    #[serde(rename = "Seed", default)]
    pub seed: Option<u64>,
    #[serde(rename = "Device", default)]
    pub device: Option<String>,
}

impl AeRow {
    pub fn new(hyper: &AeHyper, figures: &Figures<NoMetrics>, source: &RunSource) -> Self {
        Self {
            layers: hyper.layers,
            filter_size: hyper.filter_size,
            filters: hyper.filters,
            epochs: hyper.epochs,
            batch_size: hyper.batch_size,
            train_time: seconds(figures.train_seconds),
            loss: f32_precision(figures.loss),
            val_loss: f32_precision(figures.val_loss),
            data: Some(source.data.clone()),
            images: Some(source.images),
            seed: Some(source.seed),
            device: Some(source.device.clone()),
        }
    }
}

/// Seconds to two decimals, as the original report's tables show them.
fn seconds(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Losses are computed in f32: keep the digits that mean something (7 significant).
fn f32_precision(value: f64) -> f64 {
    format!("{value:.6e}").parse().unwrap_or(value)
}

impl ResultRow for AeRow {
    type Hyper = AeHyper;
    type Metrics = NoMetrics;

    fn hyper(&self) -> AeHyper {
        AeHyper {
            layers: self.layers,
            filter_size: self.filter_size,
            filters: self.filters,
            epochs: self.epochs,
            batch_size: self.batch_size,
        }
    }

    fn source(&self) -> SourceColumns {
        SourceColumns {
            data: self.data.clone(),
            images: self.images,
            seed: self.seed,
            loss: None,
            encoder: None,
            device: self.device.clone(),
        }
    }

    fn figures(&self) -> Figures<NoMetrics> {
        Figures {
            loss: self.loss,
            val_loss: self.val_loss,
            metrics: NoMetrics,
            train_seconds: self.train_time,
        }
    }

    fn rank(&self, other: &Self) -> Ordering {
        self.val_loss.total_cmp(&other.val_loss)
    }
}

/// A row of `classification_loss_values.csv`, with the original report's column names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClRow {
    #[serde(rename = "Layers")]
    pub layers: usize,
    #[serde(rename = "Fc_units")]
    pub fc_units: usize,
    #[serde(rename = "Epochs")]
    pub epochs: usize,
    #[serde(rename = "Batch_Size")]
    pub batch_size: usize,
    #[serde(rename = "Train_Time")]
    pub train_time: f64,
    #[serde(rename = "Loss")]
    pub loss: f64,
    #[serde(rename = "Val_Loss")]
    pub val_loss: f64,
    #[serde(rename = "Accuracy")]
    pub accuracy: f64,
    #[serde(rename = "Val_Accuracy")]
    pub val_accuracy: f64,
    #[serde(rename = "Data", default)]
    pub data: Option<String>,
    #[serde(rename = "Images", default)]
    pub images: Option<usize>,
    #[serde(rename = "Seed", default)]
    pub seed: Option<u64>,
    #[serde(rename = "Loss_Function", default)]
    pub loss_function: Option<String>,
    #[serde(rename = "Encoder", default)]
    pub encoder: Option<String>,
    #[serde(rename = "Device", default)]
    pub device: Option<String>,
}

impl ClRow {
    pub fn new(hyper: &ClHyper, figures: &Figures<Accuracy>, source: &RunSource) -> Self {
        Self {
            layers: hyper.layers,
            fc_units: hyper.fc_units,
            epochs: hyper.epochs,
            batch_size: hyper.batch_size,
            train_time: seconds(figures.train_seconds),
            loss: f32_precision(figures.loss),
            val_loss: f32_precision(figures.val_loss),
            accuracy: f32_precision(figures.metrics.train),
            val_accuracy: f32_precision(figures.metrics.valid),
            data: Some(source.data.clone()),
            images: Some(source.images),
            seed: Some(source.seed),
            loss_function: source.loss.clone(),
            encoder: source.encoder.clone(),
            device: Some(source.device.clone()),
        }
    }
}

impl ResultRow for ClRow {
    type Hyper = ClHyper;
    type Metrics = Accuracy;

    fn hyper(&self) -> ClHyper {
        ClHyper {
            layers: self.layers,
            fc_units: self.fc_units,
            epochs: self.epochs,
            batch_size: self.batch_size,
            encoder_layers: self.layers,
        }
    }

    fn source(&self) -> SourceColumns {
        SourceColumns {
            data: self.data.clone(),
            images: self.images,
            seed: self.seed,
            loss: self.loss_function.clone(),
            encoder: self.encoder.clone(),
            device: self.device.clone(),
        }
    }

    fn figures(&self) -> Figures<Accuracy> {
        Figures {
            loss: self.loss,
            val_loss: self.val_loss,
            metrics: Accuracy {
                train: self.accuracy,
                valid: self.val_accuracy,
            },
            train_seconds: self.train_time,
        }
    }

    /// Best validation accuracy first.
    fn rank(&self, other: &Self) -> Ordering {
        other.val_accuracy.total_cmp(&self.val_accuracy)
    }
}

/// Why a table could not be read.
#[derive(Debug)]
enum ReadFailure {
    /// It could not be read at all (permissions, I/O): leave it and stop.
    Unreadable(InputError),
    /// It was read but is not a results table.
    Malformed(String),
}

fn try_read_rows<R: ResultRow>(path: &Path) -> Result<Vec<R>, ReadFailure> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(ReadFailure::Unreadable(InputError::new(format!(
                "{}: cannot read results table: {e}",
                path.display()
            ))));
        }
    };
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<Result<Vec<R>, _>>()
        .map_err(|e| ReadFailure::Malformed(e.to_string()))
}

/// Read every row of a table; a missing file is an empty table.
pub fn read_rows<R: ResultRow>(path: &Path) -> Result<Vec<R>, InputError> {
    try_read_rows(path).map_err(|failure| match failure {
        ReadFailure::Unreadable(e) => e,
        ReadFailure::Malformed(why) => InputError::new(format!(
            "{}: not a valid results table ({why})",
            path.display()
        )),
    })
}

/// What [`add_row`] did.
#[derive(Debug)]
pub struct TableUpdate<R> {
    /// The rows as written.
    pub rows: Vec<R>,
    /// Where an unreadable earlier table was moved, with the reason, if one was.
    pub moved_aside: Option<(PathBuf, String)>,
}

/// Add `row` to the table at `path` (replacing a row of the same run), keep it sorted, and
/// write it back atomically. A table that is not a results table is moved aside, never
/// overwritten, and a new one is started. Two processes adding rows to one table at once
/// take turns, so neither loses the other's row.
pub fn add_row<R: ResultRow>(path: &Path, row: R) -> Result<TableUpdate<R>, Error> {
    let _lock = fsutil::lock_beside(path)
        .map_err(|e| WriteError::new(path, "lock the results table", e))?;
    let (mut rows, moved_aside) = match try_read_rows::<R>(path) {
        Ok(rows) => (rows, None),
        Err(ReadFailure::Unreadable(e)) => return Err(e.into()),
        Err(ReadFailure::Malformed(why)) => {
            let aside = aside_path(path);
            fs::rename(path, &aside).map_err(|e| {
                let reason = format!("it is not a valid results table ({why}): {e}");
                WriteError::new(path, "move aside", reason)
            })?;
            (Vec::new(), Some((aside, why)))
        }
    };
    rows.retain(|existing| !existing.same_run(&row));
    rows.push(row);
    rows.sort_by(|a, b| a.rank(b));
    let cannot_write = |e: &dyn std::fmt::Display| WriteError::new(path, "write results table", e);
    let mut writer = csv::Writer::from_writer(Vec::new());
    for r in &rows {
        writer.serialize(r).map_err(|e| cannot_write(&e))?;
    }
    let bytes = writer.into_inner().map_err(|e| cannot_write(&e))?;
    fsutil::write_atomic(path, &bytes).map_err(|e| cannot_write(&e))?;
    Ok(TableUpdate { rows, moved_aside })
}

/// A free name beside `path` for a table that could not be read: `NAME.malformed-N.csv`.
fn aside_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    (1..)
        .map(|n| path.with_file_name(format!("{stem}.malformed-{n}.csv")))
        .find(|candidate| !candidate.exists())
        .expect("some numbered name is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> RunSource {
        RunSource {
            data: "data/mnist/train-images-idx3-ubyte.gz".into(),
            images: 60000,
            seed: 13,
            device: "cpu".into(),
            loss: None,
            encoder: None,
            fingerprint: 0,
        }
    }

    fn row(filters: usize, val_loss: f64) -> AeRow {
        let hyper = AeHyper {
            filters,
            ..AeHyper::REPORT_BASE
        };
        let figures = Figures {
            loss: 0.01,
            val_loss,
            metrics: NoMetrics,
            train_seconds: 12.345,
        };
        AeRow::new(&hyper, &figures, &source())
    }

    #[test]
    fn rows_are_sorted_deduplicated_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss_values.csv");
        add_row(&path, row(32, 0.5)).unwrap();
        add_row(&path, row(16, 0.2)).unwrap();
        let rows = add_row(&path, row(32, 0.1)).unwrap().rows;
        assert_eq!(rows.len(), 2);
        assert_eq!(read_rows::<AeRow>(&path).unwrap(), rows);
        assert_eq!((rows[0].filters, rows[0].val_loss), (32, 0.1));
        assert_eq!(rows[0].train_time, 12.35);
        let header = fs::read_to_string(&path).unwrap();
        assert!(header.starts_with(
            "Layers,Filter_Size,Filters/Layer,Epochs,Batch_Size,Train_Time,Loss,Val_Loss,Data,Images,Seed,Device\n"
        ));
    }

    #[test]
    fn rows_of_other_data_seeds_or_devices_are_other_runs_and_old_tables_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss_values.csv");
        // A table written before the identifying columns existed.
        fs::write(
            &path,
            "Layers,Filter_Size,Filters/Layer,Epochs,Batch_Size,Train_Time,Loss,Val_Loss\n4,3,32,100,64,12.5,0.01,0.02\n",
        )
        .unwrap();
        let old = &read_rows::<AeRow>(&path).unwrap()[0];
        assert_eq!(old.source(), SourceColumns::default());
        add_row(&path, row(32, 0.5)).unwrap();
        let other_seed = AeRow {
            seed: Some(7),
            ..row(32, 0.4)
        };
        let other_device = AeRow {
            device: Some("libtorch".into()),
            ..row(32, 0.3)
        };
        add_row(&path, other_seed).unwrap();
        let rows = add_row(&path, other_device).unwrap().rows;
        assert_eq!(rows.len(), 4, "{rows:?}");
        // A rerun of the same run from the same source replaces its row.
        assert_eq!(add_row(&path, row(32, 0.1)).unwrap().rows.len(), 4);
        let found = recorded::<AeRow>(
            &path,
            &AeHyper {
                filters: 32,
                ..AeHyper::REPORT_BASE
            },
            &source(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(found.figures().val_loss, 0.1);
    }

    #[test]
    fn classifier_rows_are_best_accuracy_first_with_seed_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("classification_loss_values.csv");
        let figures = |valid| Figures {
            train_seconds: 1.0,
            loss: 0.1,
            val_loss: 0.2,
            metrics: Accuracy { train: 0.9, valid },
        };
        let base = ClHyper::report_base(4);
        add_row(&path, ClRow::new(&base, &figures(0.95), &source())).unwrap();
        let wide = ClHyper {
            fc_units: 64,
            ..base
        };
        let rows = add_row(&path, ClRow::new(&wide, &figures(0.97), &source()))
            .unwrap()
            .rows;
        assert_eq!(
            rows.iter().map(|r| r.fc_units).collect::<Vec<_>>(),
            [64, 32]
        );
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(
            "Layers,Fc_units,Epochs,Batch_Size,Train_Time,Loss,Val_Loss,Accuracy,Val_Accuracy,Data,Images,Seed,Loss_Function,Encoder,Device\n"
        ));
    }

    #[test]
    fn concurrent_writers_keep_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss_values.csv");
        let (writers, rows_each) = (8, 10);
        std::thread::scope(|scope| {
            for writer in 0..writers {
                let path = &path;
                scope.spawn(move || {
                    for i in 0..rows_each {
                        let filters = 1 + writer * rows_each + i;
                        add_row(path, row(filters, filters as f64)).unwrap();
                    }
                });
            }
        });
        let mut filters: Vec<usize> = read_rows::<AeRow>(&path)
            .unwrap()
            .iter()
            .map(|r| r.filters)
            .collect();
        filters.sort();
        assert_eq!(filters, (1..=writers * rows_each).collect::<Vec<_>>());
    }

    #[test]
    fn a_malformed_table_is_moved_aside_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss_values.csv");
        fs::write(&path, "not,a\ntable").unwrap();
        let update = add_row(&path, row(32, 0.5)).unwrap();
        let (aside, _why) = update.moved_aside.unwrap();
        assert_eq!(aside, dir.path().join("loss_values.malformed-1.csv"));
        assert_eq!(fs::read_to_string(&aside).unwrap(), "not,a\ntable");
        assert_eq!(read_rows::<AeRow>(&path).unwrap().len(), 1);
    }
}
