//! One autoencoder experiment run: train, then record it (results table row, saved model,
//! loss-curve plot). The experiment loop (menu, sweeps) builds on this.

use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;

use super::hyper::AeHyper;
use super::table::{self, AeRow};
use crate::data::dataset::Split;
use crate::data::idx::Images;
use crate::device::BackendJob;
use crate::model::store::{self, ModelCard, TrainingInfo};
use crate::report::plots;
use crate::train::autoencoder::{AutoencoderRun, train_autoencoder};
use crate::train::progress::Progress;

/// The results table's file name under `--out`, as in the seed.
pub const TABLE_FILE: &str = "loss_values.csv";

/// What one run produced.
#[derive(Debug)]
pub struct RunRecord {
    pub run_name: String,
    pub loss: f64,
    pub val_loss: f64,
    pub train_seconds: f64,
    pub table: PathBuf,
    pub table_rows: usize,
    pub model_files: (PathBuf, PathBuf),
    pub curves: PathBuf,
}

/// Train once with `hyper` and record the run under `out`.
pub struct SingleRun<'a> {
    pub images: &'a Images,
    pub hyper: AeHyper,
    pub seed: u64,
    pub out: &'a Path,
    pub model_name: &'a str,
    pub progress: &'a mut dyn Progress,
}

impl BackendJob for SingleRun<'_> {
    type Output = anyhow::Result<RunRecord>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        let split = Split::new(self.images.count, self.seed);
        let run = train_autoencoder::<B>(
            self.images,
            &split,
            &self.hyper.architecture(),
            &self.hyper.schedule(self.seed),
            &device,
            self.progress,
        )?;
        record(&run, &self.hyper, self.images, self.out, self.model_name)
    }
}

/// Append the run's row to the results table, save the model, and draw its loss curves.
pub fn record<B: AutodiffBackend>(
    run: &AutoencoderRun<B>,
    hyper: &AeHyper,
    images: &Images,
    out: &Path,
    model_name: &str,
) -> anyhow::Result<RunRecord> {
    let last = run.last();
    let run_name = hyper.run_name();

    let table = out.join(TABLE_FILE);
    let rows = table::add_row(
        &table,
        AeRow::new(hyper, run.train_seconds, last.loss, last.val_loss),
    )?;

    let card = ModelCard::autoencoder(
        run.config,
        images.height,
        images.width,
        Some(TrainingInfo {
            epochs: hyper.epochs,
            batch_size: hyper.batch_size,
            seed: run.schedule.seed,
            images: images.count,
            loss: last.loss,
            val_loss: last.val_loss,
            train_seconds: run.train_seconds,
        }),
    );
    let model_files = store::save_autoencoder(&run.model, &card, out, model_name)?;

    let curves = out.join(format!("{run_name}_curves.png"));
    plots::loss_curves(
        &curves,
        &format!("Training and validation loss, {run_name}"),
        &run.history,
    )?;

    Ok(RunRecord {
        run_name,
        loss: last.loss,
        val_loss: last.val_loss,
        train_seconds: run.train_seconds,
        table,
        table_rows: rows.len(),
        model_files,
        curves,
    })
}
