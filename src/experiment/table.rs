//! Results tables (`loss_values.csv`, `classification_loss_values.csv`): read, add a row,
//! replace rows of the same run, sort, and write back atomically. A table that cannot be
//! read is never overwritten. The columns come from the kind's tables: the original
//! report's hyperparameters and figures first, with the report's names, then the
//! hyperparameters aelab added, then the columns that say which run a row is. Columns are
//! read by name, so a table written before a column existed still reads: an added
//! hyperparameter's cell as its default, a source cell as unknown.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::hyper::{Hyper, Origin, ParamSet, Value};
use super::kinds::{Kind, ParamOf, Recorded};
use super::source::{RunSource, SourceColumn, SourceColumns};
use crate::error::{Error, InputError, WriteError};
use crate::fsutil;
use crate::report::quality::Quality;
use crate::train::stage::StageEnd;
use crate::train::{Figures, MAX_STAGES};

/// A row of kind `K`'s results table.
pub struct Row<K: Kind> {
    pub hyper: Hyper<ParamOf<K>>,
    pub figures: Figures<K::Metrics>,
    /// Which run it is besides its hyperparameters (unknown in tables older than these
    /// columns).
    pub source: SourceColumns,
}

// Derived impls would ask `K` itself to be Clone and Debug.
impl<K: Kind> Clone for Row<K> {
    fn clone(&self) -> Self {
        Self {
            hyper: self.hyper.clone(),
            figures: self.figures,
            source: self.source.clone(),
        }
    }
}

impl<K: Kind> std::fmt::Debug for Row<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Row")
            .field("hyper", &self.hyper)
            .field("figures", &self.figures)
            .field("source", &self.source)
            .finish()
    }
}

impl<K: Kind> PartialEq for Row<K> {
    fn eq(&self, other: &Self) -> bool {
        self.hyper == other.hyper && self.figures == other.figures && self.source == other.source
    }
}

impl<K: Kind> Row<K> {
    pub fn new(
        hyper: &Hyper<ParamOf<K>>,
        figures: &Figures<K::Metrics>,
        source: &RunSource,
    ) -> Self {
        let metrics: Vec<(f64, f64)> = K::Metrics::PANELS
            .iter()
            .map(|panel| {
                let (train, valid) = (panel.value)(&figures.metrics);
                (f32_precision(train), f32_precision(valid))
            })
            .collect();
        Self {
            hyper: hyper.clone(),
            figures: Figures {
                loss: f32_precision(figures.loss),
                val_loss: f32_precision(figures.val_loss),
                metrics: K::Metrics::from_values(&metrics),
                train_seconds: seconds(figures.train_seconds),
                stages: figures.stages,
                quality: figures.quality.map(|q| Quality {
                    psnr: f32_precision(q.psnr),
                    ssim: f32_precision(q.ssim),
                }),
            },
            source: SourceColumns::from(source),
        }
    }

    /// Whether two rows record the same run (the newer replaces the older).
    pub fn same_run(&self, other: &Self) -> bool {
        self.hyper == other.hyper && self.source == other.source
    }

    /// A whole-number hyperparameter's value.
    pub fn whole(&self, param: ParamOf<K>) -> usize {
        self.hyper.whole(param)
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

/// One cell as the csv crate writes it: numbers exactly as serde wrote the report's rows.
#[derive(Serialize)]
#[serde(untagged)]
enum Cell {
    Whole(u64),
    Decimal(f64),
    Text(String),
    Empty(Option<()>),
}

impl Cell {
    fn of(value: Value) -> Self {
        match value {
            Value::Whole(v) => Self::Whole(v as u64),
            Value::Decimal(v) => Self::Decimal(v),
            Value::Choice(v) => Self::Text(v.to_string()),
        }
    }

    fn text(value: &Option<String>) -> Self {
        value.clone().map_or(Self::Empty(None), Self::Text)
    }

    fn whole(value: Option<u64>) -> Self {
        value.map_or(Self::Empty(None), Self::Whole)
    }

    fn decimal(value: Option<f64>) -> Self {
        value.map_or(Self::Empty(None), Self::Decimal)
    }
}

/// The columns of a reconstruction's quality, for kinds that reconstruct.
const PSNR_COLUMN: &str = "Val_PSNR";
const SSIM_COLUMN: &str = "Val_SSIM";

/// Where each column of kind `K`'s table comes from, in table order.
enum Column<P> {
    Param(P),
    TrainTime,
    Loss,
    ValLoss,
    /// The validation PSNR (`false`) or SSIM (`true`).
    Quality(bool),
    /// Panel `i` of the metrics: its training (`false`) or validation (`true`) value.
    Metric(usize, bool),
    /// Stage `i`'s best (`false`) or last (`true`) epoch.
    Stage(usize, bool),
    Source(SourceColumn),
}

fn columns<K: Kind>() -> Vec<(String, Column<ParamOf<K>>)> {
    let params = |origin: Origin| {
        ParamOf::<K>::ALL
            .iter()
            .filter(move |p| p.spec().origin == origin)
            .map(|&p| (p.spec().column.to_string(), Column::Param(p)))
    };
    let mut columns: Vec<_> = params(Origin::Report).collect();
    columns.push(("Train_Time".into(), Column::TrainTime));
    columns.push(("Loss".into(), Column::Loss));
    columns.push(("Val_Loss".into(), Column::ValLoss));
    if K::RECONSTRUCTS {
        columns.push((PSNR_COLUMN.into(), Column::Quality(false)));
        columns.push((SSIM_COLUMN.into(), Column::Quality(true)));
    }
    for (i, panel) in K::Metrics::PANELS.iter().enumerate() {
        columns.push((panel.columns.0.into(), Column::Metric(i, false)));
        columns.push((panel.columns.1.into(), Column::Metric(i, true)));
    }
    for (i, (best, last)) in K::STAGE_COLUMNS.iter().enumerate() {
        columns.push((best.to_string(), Column::Stage(i, false)));
        columns.push((last.to_string(), Column::Stage(i, true)));
    }
    columns.extend(params(Origin::Added));
    columns.extend(
        K::SOURCE_COLUMNS
            .iter()
            .map(|&c| (c.header().to_string(), Column::Source(c))),
    );
    columns
}

/// The header line of kind `K`'s table.
pub fn header<K: Kind>() -> Vec<String> {
    columns::<K>().into_iter().map(|(name, _)| name).collect()
}

fn cells<K: Kind>(row: &Row<K>) -> Vec<Cell> {
    let f = &row.figures;
    let s = &row.source;
    columns::<K>()
        .into_iter()
        .map(|(_, column)| match column {
            Column::Param(p) => Cell::of(row.hyper.get(p)),
            Column::TrainTime => Cell::Decimal(f.train_seconds),
            Column::Loss => Cell::Decimal(f.loss),
            Column::ValLoss => Cell::Decimal(f.val_loss),
            Column::Quality(ssim) => {
                Cell::decimal(f.quality.map(|q| if ssim { q.ssim } else { q.psnr }))
            }
            Column::Metric(i, valid) => {
                let (train, validation) = (K::Metrics::PANELS[i].value)(&f.metrics);
                Cell::Decimal(if valid { validation } else { train })
            }
            Column::Stage(i, last) => {
                Cell::whole(f.stages[i].map(|end| if last { end.last } else { end.best } as u64))
            }
            Column::Source(c) => match c {
                SourceColumn::Data => Cell::text(&s.data),
                SourceColumn::Images => Cell::whole(s.images.map(|n| n as u64)),
                SourceColumn::Seed => Cell::whole(s.seed),
                SourceColumn::Loss => Cell::text(&s.loss),
                SourceColumn::Encoder => Cell::text(&s.encoder),
                SourceColumn::Classes => Cell::text(&s.classes),
                SourceColumn::Device => Cell::text(&s.device),
            },
        })
        .collect()
}

/// The cell `text` of column `name`, if not empty, as a `T`; why not, naming `what` it must be.
fn parse_optional<T: std::str::FromStr>(
    name: &str,
    text: Option<String>,
    what: &str,
) -> Result<Option<T>, String> {
    text.map(|t| {
        t.parse()
            .map_err(|_| format!("field `{name}`: '{t}' is not {what}"))
    })
    .transpose()
}

/// A row from a record whose header is `names`; why not, when it is not one of `K`'s.
fn parse_row<K: Kind>(
    names: &HashMap<&str, usize>,
    record: &csv::StringRecord,
) -> Result<Row<K>, String> {
    let cell = |name: &str| names.get(name).and_then(|&i| record.get(i)).map(str::trim);
    let required = |name: &str| cell(name).ok_or_else(|| format!("missing field `{name}`"));
    let number = |name: &str| -> Result<f64, String> {
        let text = required(name)?;
        text.parse()
            .map_err(|_| format!("field `{name}`: '{text}' is not a number"))
    };
    let optional = |name: &str| cell(name).filter(|t| !t.is_empty()).map(String::from);
    let optional_whole = |name: &str| parse_optional::<u64>(name, optional(name), "a whole number");
    let optional_number = |name: &str| parse_optional::<f64>(name, optional(name), "a number");

    let mut given = Vec::new();
    for &param in ParamOf::<K>::ALL {
        let spec = param.spec();
        let value = match (cell(spec.column), spec.origin) {
            (Some(text), _) => spec
                .parse(text)
                .map_err(|why| format!("field `{}`: {why}", spec.column))?,
            // Written before the column existed: what every run then had.
            (None, Origin::Added) => spec
                .fixed_default()
                .ok_or_else(|| format!("missing field `{}`", spec.column))?,
            (None, Origin::Report) => return Err(format!("missing field `{}`", spec.column)),
        };
        given.push((param, value));
    }
    let hyper = Hyper::given(&given);
    let metrics = K::Metrics::PANELS
        .iter()
        .map(|panel| Ok((number(panel.columns.0)?, number(panel.columns.1)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let mut stages = [None; MAX_STAGES];
    for (slot, (best, last)) in stages.iter_mut().zip(K::STAGE_COLUMNS) {
        if let (Some(best), Some(last)) = (optional_whole(best)?, optional_whole(last)?) {
            *slot = Some(StageEnd {
                best: best as usize,
                last: last as usize,
            });
        }
    }
    let figures = Figures {
        loss: number("Loss")?,
        val_loss: number("Val_Loss")?,
        metrics: K::Metrics::from_values(&metrics),
        train_seconds: number("Train_Time")?,
        stages,
        // Both, or unknown: written before the columns, or by a kind without them.
        quality: match (optional_number(PSNR_COLUMN)?, optional_number(SSIM_COLUMN)?) {
            (Some(psnr), Some(ssim)) => Some(Quality { psnr, ssim }),
            _ => None,
        },
    };
    let header = |c: SourceColumn| c.header();
    let source = SourceColumns {
        data: optional(header(SourceColumn::Data)),
        images: optional_whole(header(SourceColumn::Images))?.map(|n| n as usize),
        seed: optional_whole(header(SourceColumn::Seed))?,
        loss: optional(header(SourceColumn::Loss)),
        encoder: optional(header(SourceColumn::Encoder)),
        classes: optional(header(SourceColumn::Classes)),
        device: optional(header(SourceColumn::Device)),
    };
    Ok(Row {
        hyper,
        figures,
        source,
    })
}

/// The row of `hyper` from `source` in the table at `path`, if the table has it.
pub fn recorded<K: Kind>(
    path: &Path,
    hyper: &Hyper<ParamOf<K>>,
    source: &RunSource,
) -> Result<Option<Row<K>>, InputError> {
    let wanted = SourceColumns::from(source);
    Ok(read_rows::<K>(path)?
        .into_iter()
        .find(|row| row.hyper == *hyper && row.source == wanted))
}

/// Why a table could not be read.
#[derive(Debug)]
enum ReadFailure {
    /// It could not be read at all (permissions, I/O): leave it and stop.
    Unreadable(InputError),
    /// It was read but is not a results table.
    Malformed(String),
}

fn try_read_rows<K: Kind>(path: &Path) -> Result<Vec<Row<K>>, ReadFailure> {
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
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let malformed = |e: csv::Error| ReadFailure::Malformed(e.to_string());
    let headers = reader.headers().map_err(malformed)?.clone();
    let names: HashMap<&str, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim(), i))
        .collect();
    reader
        .records()
        .map(|record| {
            parse_row::<K>(&names, &record.map_err(malformed)?).map_err(ReadFailure::Malformed)
        })
        .collect()
}

/// Read every row of a table; a missing file is an empty table.
pub fn read_rows<K: Kind>(path: &Path) -> Result<Vec<Row<K>>, InputError> {
    try_read_rows::<K>(path).map_err(|failure| match failure {
        ReadFailure::Unreadable(e) => e,
        ReadFailure::Malformed(why) => InputError::new(format!(
            "{}: not a valid results table ({why})",
            path.display()
        )),
    })
}

/// What [`add_row`] did.
#[derive(Debug)]
pub struct TableUpdate<K: Kind> {
    /// The rows as written.
    pub rows: Vec<Row<K>>,
    /// Where an unreadable earlier table was moved, with the reason, if one was.
    pub moved_aside: Option<(PathBuf, String)>,
}

/// Add `row` to the table at `path` (replacing a row of the same run), keep it sorted, and
/// write it back atomically. A table that is not a results table is moved aside, never
/// overwritten, and a new one is started. Two processes adding rows to one table at once
/// take turns, so neither loses the other's row.
pub fn add_row<K: Kind>(path: &Path, row: Row<K>) -> Result<TableUpdate<K>, Error> {
    let _lock = fsutil::lock_beside(path)
        .map_err(|e| WriteError::new(path, "lock the results table", e))?;
    let (mut rows, moved_aside) = match try_read_rows::<K>(path) {
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
    rows.sort_by(|a, b| K::Metrics::rank(&a.figures, &b.figures));
    let cannot_write = |e: &dyn std::fmt::Display| WriteError::new(path, "write results table", e);
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(header::<K>())
        .map_err(|e| cannot_write(&e))?;
    for r in &rows {
        writer.serialize(cells(r)).map_err(|e| cannot_write(&e))?;
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
    use crate::experiment::kinds::{
        AutoencoderKind, AutoencoderParam, ClassifierKind, ClassifierParam, EncoderDepth,
    };
    use crate::train::{Accuracy, NoMetrics};

    type AeRow = Row<AutoencoderKind>;

    fn source() -> RunSource {
        RunSource {
            data: "data/mnist/train-images-idx3-ubyte.gz".into(),
            images: 60000,
            seed: 13,
            device: "cpu".into(),
            loss: None,
            encoder: None,
            classes: None,
            fingerprint: 0,
            labels_fingerprint: None,
            encoder_fingerprint: None,
        }
    }

    fn hyper(filters: usize) -> Hyper<AutoencoderParam> {
        Hyper::defaults().with(AutoencoderParam::Filters, Value::Whole(filters))
    }

    fn row(filters: usize, val_loss: f64) -> AeRow {
        let figures = Figures {
            loss: 0.01,
            val_loss,
            metrics: NoMetrics,
            train_seconds: 12.345,
            stages: [
                Some(StageEnd {
                    best: 90,
                    last: 100,
                }),
                None,
            ],
            quality: Some(Quality {
                psnr: 30.123_456_789,
                ssim: 0.95,
            }),
        };
        Row::new(&hyper(filters), &figures, &source())
    }

    #[test]
    fn rows_are_sorted_deduplicated_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss_values.csv");
        add_row(&path, row(32, 0.5)).unwrap();
        add_row(&path, row(16, 0.2)).unwrap();
        let rows = add_row(&path, row(32, 0.1)).unwrap().rows;
        assert_eq!(rows.len(), 2);
        assert_eq!(read_rows::<AutoencoderKind>(&path).unwrap(), rows);
        assert_eq!(
            (
                rows[0].whole(AutoencoderParam::Filters),
                rows[0].figures.val_loss
            ),
            (32, 0.1)
        );
        assert_eq!(rows[0].figures.train_seconds, 12.35);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "Layers,Filter_Size,Filters/Layer,Epochs,Batch_Size,Train_Time,Loss,Val_Loss,Val_PSNR,Val_SSIM,Best_Epoch,Last_Epoch,Learning_Rate,LR_Schedule,Plateau_Factor,Plateau_Patience,Keep,Patience,Shift,Rotation,Zoom,Noise,Code,Data,Classes,Images,Seed,Device",
                "4,3,32,100,64,12.35,0.01,0.1,30.12346,0.95,90,100,0.001,constant,0.5,2,last,0,0.0,0,0.0,0.0,0,data/mnist/train-images-idx3-ubyte.gz,,60000,13,cpu",
                "4,3,16,100,64,12.35,0.01,0.2,30.12346,0.95,90,100,0.001,constant,0.5,2,last,0,0.0,0,0.0,0.0,0,data/mnist/train-images-idx3-ubyte.gz,,60000,13,cpu",
            ]
        );
    }

    #[test]
    fn rows_of_other_data_seeds_or_devices_are_other_runs_and_old_tables_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss_values.csv");
        // A table written before the identifying columns and the learning rate existed.
        fs::write(
            &path,
            "Layers,Filter_Size,Filters/Layer,Epochs,Batch_Size,Train_Time,Loss,Val_Loss\n4,3,32,100,64,12.5,0.01,0.02\n",
        )
        .unwrap();
        let old = &read_rows::<AutoencoderKind>(&path).unwrap()[0];
        assert_eq!(old.source, SourceColumns::default());
        assert_eq!(old.hyper, hyper(32), "read at the default learning rate");
        assert_eq!(old.figures.quality, None, "no PSNR or SSIM then");
        add_row(&path, row(32, 0.5)).unwrap();
        let mut other_seed = row(32, 0.4);
        other_seed.source.seed = Some(7);
        let mut other_device = row(32, 0.3);
        other_device.source.device = Some("libtorch".into());
        add_row(&path, other_seed).unwrap();
        let rows = add_row(&path, other_device).unwrap().rows;
        assert_eq!(rows.len(), 4, "{rows:?}");
        // A rerun of the same run from the same source replaces its row.
        assert_eq!(add_row(&path, row(32, 0.1)).unwrap().rows.len(), 4);
        let found = recorded::<AutoencoderKind>(&path, &hyper(32), &source())
            .unwrap()
            .unwrap();
        assert_eq!(found.figures.val_loss, 0.1);
        // Another learning rate is another run, and its rate reads back exactly.
        let slower = hyper(32).with(AutoencoderParam::LearningRate, Value::Decimal(3e-4));
        let mut tuned = row(32, 0.01);
        tuned.hyper = slower.clone();
        let rows = add_row(&path, tuned).unwrap().rows;
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].hyper, slower);
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
            stages: [None; MAX_STAGES],
            quality: None,
        };
        let base = Hyper::<ClassifierParam>::on_encoder(&[], EncoderDepth(4));
        let add = |hyper: &Hyper<ClassifierParam>, valid| {
            let row = Row::<ClassifierKind>::new(hyper, &figures(valid), &source());
            add_row(&path, row).unwrap().rows
        };
        add(&base, 0.95);
        let wide = base.with(ClassifierParam::FcUnits, Value::Whole(64));
        let rows = add(&wide, 0.97);
        assert_eq!(
            rows.iter()
                .map(|r| r.whole(ClassifierParam::FcUnits))
                .collect::<Vec<_>>(),
            [64, 32]
        );
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(
            "Layers,Fc_units,Epochs,Batch_Size,Train_Time,Loss,Val_Loss,Accuracy,Val_Accuracy,Best_Epoch_1,Last_Epoch_1,Best_Epoch_2,Last_Epoch_2,Learning_Rate,Fine_Tune_Factor,Fine_Tune_BN,LR_Schedule,Plateau_Factor,Plateau_Patience,Keep,Patience,Shift,Rotation,Zoom,Noise,Dropout,Data,Images,Seed,Loss_Function,Encoder,Device\n"
        ));
        assert_eq!(read_rows::<ClassifierKind>(&path).unwrap(), rows);
    }

    #[test]
    fn a_row_that_is_not_one_is_malformed_not_a_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss_values.csv");
        for text in [
            "Layers,Filter_Size,Filters/Layer,Epochs,Batch_Size,Train_Time,Loss\n4,3,32,100,64,12.5,0.01\n",
            "Layers,Filter_Size,Filters/Layer,Epochs,Batch_Size,Train_Time,Loss,Val_Loss\n4,3,x,100,64,12.5,0.01,0.02\n",
            "Layers,Filter_Size,Filters/Layer,Epochs,Batch_Size,Train_Time,Loss,Val_Loss,Learning_Rate\n4,3,32,100,64,12.5,0.01,0.02,fast\n",
        ] {
            fs::write(&path, text).unwrap();
            let err = read_rows::<AutoencoderKind>(&path).unwrap_err().0;
            assert!(err.contains("not a valid results table"), "{err}");
        }
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
        let mut filters: Vec<usize> = read_rows::<AutoencoderKind>(&path)
            .unwrap()
            .iter()
            .map(|r| r.whole(AutoencoderParam::Filters))
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
        assert_eq!(read_rows::<AutoencoderKind>(&path).unwrap().len(), 1);
    }
}
