//! The autoencoder experiment: what a run records (results table row, loss curves), its
//! error graphs and reconstructions, and saving the model; the loop itself is the runner's.

use std::path::{Path, PathBuf};

use crate::model::TrainBackend;
use burn::module::AutodiffModule;
use burn::prelude::*;

use super::hyper::{AeHyper, AeParam, HyperSet};
use super::menu::{Prompter, Reply};
use super::runner::{self, Checkpointing, Kind, Plan, resuming};
use super::source::{RunSource, fingerprint};
use super::table::AeRow;
use crate::data::dataset::{Split, image_batch};
use crate::data::idx::Images;
use crate::device::BackendJob;
use crate::error::{Error, InputError, Result};
use crate::model::store::{self, ModelCard, TrainingInfo};
use crate::report::grids::{self, RECONSTRUCTIONS_SHOWN};
use crate::train::autoencoder::{AutoencoderRun, train_autoencoder};
use crate::train::epochs::Start;
use crate::train::progress::Console;
use crate::train::{Figures, NoMetrics};

/// The results table's file name under `--out`, as in the original report.
pub const TABLE_FILE: &str = "loss_values.csv";

/// An autoencoder experiment on one dataset.
pub struct Experiment<'a> {
    pub images: &'a Images,
    pub base: AeHyper,
    pub seed: u64,
    pub out: &'a Path,
    pub model_name: &'a str,
    pub plan: Plan<AeParam>,
    /// The device as `--device` names it, for the results table and checkpoints.
    pub device_name: String,
    pub data_name: String,
    pub checkpointing: Checkpointing,
}

impl BackendJob for Experiment<'_> {
    type Output = Result<()>;

    fn run<B: TrainBackend>(self, device: B::Device) -> Self::Output {
        let source = RunSource {
            data: self.data_name,
            images: self.images.count,
            seed: self.seed,
            device: self.device_name,
            loss: None,
            encoder: None,
            fingerprint: fingerprint(self.images),
        };
        let mut lab = Lab::<B> {
            images: self.images,
            split: Split::new(self.images.count, self.seed),
            seed: self.seed,
            source,
            out: self.out,
            model_name: self.model_name,
            device,
        };
        runner::run(&mut lab, self.base, self.plan, self.checkpointing)
    }
}

/// Everything a run needs, on backend `B`.
struct Lab<'a, B: TrainBackend> {
    images: &'a Images,
    split: Split,
    seed: u64,
    source: RunSource,
    out: &'a Path,
    model_name: &'a str,
    device: B::Device,
}

impl<B: TrainBackend> Kind for Lab<'_, B> {
    type Hyper = AeHyper;
    type Metrics = NoMetrics;
    type Run = AutoencoderRun<B>;
    type Row = AeRow;
    const NAME: &'static str = "autoencoder";
    const TABLE_FILE: &'static str = TABLE_FILE;

    /// Train `hyper`, then record it at once: table row, loss curves.
    fn train(
        &mut self,
        hyper: AeHyper,
        start: Start<NoMetrics>,
    ) -> Result<(AutoencoderRun<B>, Figures<NoMetrics>)> {
        println!(
            "Training {} ({} train, {} validation images){}",
            hyper.run_name(),
            self.split.train.len(),
            self.split.valid.len(),
            resuming(&start)
        );
        let run = train_autoencoder::<B>(
            self.images,
            &self.split,
            &hyper.architecture(),
            &hyper.schedule(self.seed),
            start,
            &self.device,
            &mut Console::new(),
        )?;
        let figures = run.figures();
        let table = self.results();
        let rows = runner::record_row(&table, AeRow::new(&hyper, &figures, &self.source))?;
        let curves = self.out.join(format!("{}_curves.png", hyper.run_name()));
        runner::loss_curves(&curves, &hyper.run_name(), "MSE", &run.history, None)?;
        println!(
            "Trained {} in {:.1} s: loss {:.5}, val_loss {:.5}; wrote {} ({} rows), {}",
            hyper.run_name(),
            figures.train_seconds,
            figures.loss,
            figures.val_loss,
            table.display(),
            rows,
            curves.display()
        );
        Ok((run, figures))
    }

    /// The current model's reconstructions of validation images.
    fn pictures(&self, hyper: AeHyper, run: &AutoencoderRun<B>) -> Result<Vec<PathBuf>> {
        Ok(vec![self.draw_reconstructions(hyper, run)?])
    }

    fn action_label(&self) -> &'static str {
        "Save the model"
    }

    /// Ask for a name and save, confirming before replacing an existing model.
    fn action(
        &mut self,
        prompter: &mut dyn Prompter,
        hyper: AeHyper,
        run: &AutoencoderRun<B>,
    ) -> Result<Reply<()>> {
        let name = match prompter.text("Model name", &hyper.run_name()) {
            Reply::Value(name) => name,
            Reply::Back => return Ok(Reply::Back),
            Reply::Quit => return Ok(Reply::Quit),
        };
        if let Err(why) = validate_model_name(&name) {
            eprintln!("{why}");
            return Ok(Reply::Back);
        }
        let (mpk, json) = store::model_paths(&self.out.join(&name));
        if mpk.exists() || json.exists() {
            let question = format!("{} exists; overwrite it?", mpk.display());
            match prompter.confirm(&question, false) {
                Reply::Value(true) => {}
                Reply::Quit => return Ok(Reply::Quit),
                _ => {
                    println!("Not saved.");
                    return Ok(Reply::Back);
                }
            }
        }
        self.save(run, &name)?;
        Ok(Reply::Value(()))
    }

    /// Save the model under `--save`.
    fn finish(&mut self, _: AeHyper, run: &AutoencoderRun<B>) -> Result<()> {
        self.save(run, self.model_name)
    }

    fn source(&self) -> &RunSource {
        &self.source
    }

    fn out(&self) -> &Path {
        self.out
    }

    fn loss_name(&self) -> String {
        "MSE".into()
    }
}

impl<B: TrainBackend> Lab<'_, B> {
    /// Save a run's model as `out/NAME.mpk` + `NAME.json`.
    fn save(&self, run: &AutoencoderRun<B>, name: &str) -> Result<()> {
        let figures = run.figures();
        let card = ModelCard::new(
            run.config,
            self.images.height,
            self.images.width,
            Some(TrainingInfo {
                epochs: run.schedule.epochs,
                batch_size: run.schedule.batch_size,
                seed: run.schedule.seed,
                images: self.images.count,
                loss: figures.loss,
                val_loss: figures.val_loss,
                train_seconds: figures.train_seconds,
                ..TrainingInfo::default()
            }),
        );
        let (mpk, json) = store::save(&run.model, &card, self.out, name)?;
        println!("Saved the model as {} + {}", mpk.display(), json.display());
        Ok(())
    }

    fn draw_reconstructions(&self, hyper: AeHyper, run: &AutoencoderRun<B>) -> Result<PathBuf> {
        let shown = &self.split.valid[..self.split.valid.len().min(RECONSTRUCTIONS_SHOWN)];
        let batch = image_batch::<B::InnerBackend>(self.images, shown, &self.device);
        let reconstructed = run.model.valid().forward(batch.clone());
        let to_vec = |t: Tensor<B::InnerBackend, 4>| -> Result<Vec<f32>> {
            t.into_data().to_vec::<f32>().map_err(|e| {
                Error::Failed(format!("cannot read images back from the device: {e:?}"))
            })
        };
        let name = hyper.run_name();
        let path = self.out.join(format!("{name}_reconstructions.png"));
        grids::reconstruction_grid(
            &path,
            &format!("{name}: validation images and their reconstructions"),
            &to_vec(batch)?,
            &to_vec(reconstructed)?,
            self.images.height,
            self.images.width,
        )?;
        Ok(path)
    }
}

/// A model name is a plain file name: the files go under `--out`.
pub fn validate_model_name(name: &str) -> Result<(), InputError> {
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(InputError::new(format!(
            "'{name}' is not a usable model name: give a plain file name (no folders, not starting with a dot)"
        )));
    }
    Ok(())
}
