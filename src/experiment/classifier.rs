//! The classifier experiment: a trained encoder under a fresh head, trained in two stages.
//! What a run records (results table row, training curves, the saved classifier), its error
//! graphs, and predicting the test set; the loop itself is the runner's.

use std::path::{Path, PathBuf};

use crate::model::TrainBackend;
use burn::module::AutodiffModule;

use super::hyper::{ClHyper, ClParam, HyperSet};
use super::menu::{Prompter, Reply};
use super::runner::{self, Checkpointing, Kind, Plan, resuming};
use super::source::{RunSource, fingerprint};
use super::table::ClRow;
use crate::data::dataset::Split;
use crate::device::BackendJob;
use crate::error::Result;
use crate::model::encoder::Encoder;
use crate::model::store::{self, ModelCard, TrainingInfo};
use crate::model::{AutoencoderConfig, ClassifierConfig, ConvStack};
use crate::predictions::{self, Found};
use crate::report::charts::{self, Pair};
use crate::train::classifier::{
    ClassifierRun, Labelled, LossKind, Trainer, predict, train_classifier,
};
use crate::train::epochs::Start;
use crate::train::progress::Console;
use crate::train::{Accuracy, EpochStats, Figures};

/// The results table's file name under `--out`, as in the original report.
pub const TABLE_FILE: &str = "classification_loss_values.csv";

/// Per-epoch curves of the latest run, with the original report's names.
pub const LOSS_CURVES_FILE: &str = "Training_and_validation_loss.png";
pub const ACCURACY_CURVES_FILE: &str = "Training_and_validation_accuracy.png";

/// A classifier experiment: training and test sets, and the autoencoder to start from.
pub struct Experiment<'a> {
    pub train: Labelled<'a>,
    pub test: Labelled<'a>,
    /// The autoencoder's weights (`NAME.mpk`), and its card, read and checked already.
    pub autoencoder: &'a Path,
    pub autoencoder_card: &'a ModelCard<AutoencoderConfig>,
    pub classes: usize,
    pub base: ClHyper,
    pub seed: u64,
    pub loss: LossKind,
    pub out: &'a Path,
    /// The trained classifier is saved as `NAME.mpk` + `NAME.json` under `out`.
    pub model_name: &'a str,
    pub plan: Plan<ClParam>,
    /// The device as `--device` names it, for the results table and checkpoints.
    pub device_name: String,
    pub data_name: String,
    pub checkpointing: Checkpointing,
}

impl BackendJob for Experiment<'_> {
    type Output = Result<()>;

    fn run<B: TrainBackend>(self, device: B::Device) -> Self::Output {
        let card = self.autoencoder_card;
        let autoencoder = store::load_weights::<_, B>(self.autoencoder, card, &device)?;
        let source = RunSource {
            data: self.data_name,
            images: self.train.images.count,
            seed: self.seed,
            device: self.device_name,
            loss: Some(self.loss.flag().to_string()),
            encoder: Some(self.autoencoder.display().to_string()),
            fingerprint: fingerprint(self.train.images),
        };
        let mut lab = Lab::<B> {
            source,
            train: self.train,
            test: self.test,
            split: Split::new(self.train.images.count, self.seed),
            encoder: autoencoder.encoder,
            encoder_stack: card.architecture,
            encoder_from: self.autoencoder,
            classes: self.classes,
            seed: self.seed,
            loss: self.loss,
            out: self.out,
            model_name: self.model_name,
            device,
        };
        runner::run(&mut lab, self.base, self.plan, self.checkpointing)
    }
}

/// Everything a run needs, on backend `B`.
struct Lab<'a, B: TrainBackend> {
    source: RunSource,
    train: Labelled<'a>,
    test: Labelled<'a>,
    split: Split,
    /// The trained encoder every run starts from (each run trains its own copy).
    encoder: Encoder<B>,
    encoder_stack: ConvStack,
    encoder_from: &'a Path,
    classes: usize,
    seed: u64,
    loss: LossKind,
    out: &'a Path,
    model_name: &'a str,
    device: B::Device,
}

impl<B: TrainBackend> Kind for Lab<'_, B> {
    type Hyper = ClHyper;
    type Metrics = Accuracy;
    type Run = ClassifierRun<B>;
    type Row = ClRow;
    const NAME: &'static str = "classifier";
    const TABLE_FILE: &'static str = TABLE_FILE;

    /// Train `hyper`, then record it at once: table row, curves.
    fn train(
        &mut self,
        hyper: ClHyper,
        start: Start<Accuracy>,
    ) -> Result<(ClassifierRun<B>, Figures<Accuracy>)> {
        println!(
            "Training {} ({} train, {} validation images, loss {}){}",
            hyper.run_name(),
            self.split.train.len(),
            self.split.valid.len(),
            self.loss,
            resuming(&start)
        );
        let config = self.config(&hyper);
        let mut trainer = Trainer::new(
            self.train,
            &self.split,
            self.classes,
            hyper.schedule(self.seed),
            self.loss,
            &self.device,
        );
        let model = trainer.start(
            start,
            || config.on_encoder(self.encoder.clone(), self.seed, &self.device),
            || config.init(&self.device),
        )?;
        let run = train_classifier(trainer, model, &config, &mut Console::new())?;
        let figures = run.figures();
        let table = self.results();
        let rows = runner::record_row(&table, ClRow::new(&hyper, &figures, &self.source))?;
        let curves = self.draw_curves(&run, &hyper)?;
        println!(
            "Trained {} in {:.1} s: loss {:.5}, val_loss {:.5}, accuracy {:.4}, val_accuracy {:.4}; wrote {} ({} rows), {}, {}",
            hyper.run_name(),
            figures.train_seconds,
            figures.loss,
            figures.val_loss,
            figures.metrics.train,
            figures.metrics.valid,
            table.display(),
            rows,
            curves[0].display(),
            curves[1].display()
        );
        Ok((run, figures))
    }

    /// The current run's loss and accuracy curves.
    fn pictures(&self, hyper: ClHyper, run: &ClassifierRun<B>) -> Result<Vec<PathBuf>> {
        Ok(self.draw_curves(run, &hyper)?.into())
    }

    fn action_label(&self) -> &'static str {
        "Predict the test set"
    }

    fn action(
        &mut self,
        _: &mut dyn Prompter,
        _: ClHyper,
        current: &ClassifierRun<B>,
    ) -> Result<Reply<()>> {
        self.predict(current)?;
        Ok(Reply::Value(()))
    }

    /// The current run's classifier is the saved one, so what is predicted is what is saved.
    fn keep(&mut self, _: ClHyper, current: &ClassifierRun<B>) -> Result<()> {
        let (mpk, json) = self.save(current)?;
        println!(
            "Saved the classifier as {} + {}",
            mpk.display(),
            json.display()
        );
        Ok(())
    }

    /// Without the menu, a run ends with its predictions on the test set.
    fn finish(&mut self, _: ClHyper, current: &ClassifierRun<B>) -> Result<()> {
        self.predict(current)
    }

    fn source(&self) -> &RunSource {
        &self.source
    }

    fn out(&self) -> &Path {
        self.out
    }

    fn loss_name(&self) -> String {
        self.loss.to_string()
    }
}

impl<B: TrainBackend> Lab<'_, B> {
    fn config(&self, hyper: &ClHyper) -> ClassifierConfig {
        ClassifierConfig {
            encoder: ConvStack {
                layers: hyper.layers,
                ..self.encoder_stack
            },
            fc_units: hyper.fc_units,
            classes: self.classes,
            height: self.train.images.height,
            width: self.train.images.width,
        }
    }

    /// Loss and accuracy per epoch over both stages, the stage boundary marked.
    fn draw_curves(&self, run: &ClassifierRun<B>, hyper: &ClHyper) -> Result<[PathBuf; 2]> {
        let loss_path = self.out.join(LOSS_CURVES_FILE);
        let accuracy_path = self.out.join(ACCURACY_CURVES_FILE);
        let boundary = Some(run.schedule.epochs);
        let per_epoch = |value: fn(&EpochStats<Accuracy>) -> f64| -> Vec<f64> {
            run.history.iter().map(value).collect()
        };
        let run_name = hyper.run_name();
        runner::loss_curves(
            &loss_path,
            &run_name,
            &self.loss_name(),
            &run.history,
            boundary,
        )?;
        let (accuracy, val_accuracy) = (
            per_epoch(|s| s.metrics.train),
            per_epoch(|s| s.metrics.valid),
        );
        charts::epoch_curves(
            &accuracy_path,
            &format!("Training and validation accuracy, {run_name}"),
            "Accuracy",
            Pair {
                labels: ("Training accuracy", "Validation accuracy"),
                train: &accuracy,
                valid: &val_accuracy,
            },
            boundary,
        )?;
        Ok([loss_path, accuracy_path])
    }

    /// Save the run's classifier under `--save`, replacing the previous run's.
    fn save(&self, run: &ClassifierRun<B>) -> Result<(PathBuf, PathBuf)> {
        let figures = run.figures();
        let card = ModelCard::new(
            run.config,
            run.config.height,
            run.config.width,
            Some(TrainingInfo {
                epochs: run.schedule.epochs,
                batch_size: run.schedule.batch_size,
                seed: run.schedule.seed,
                images: self.train.images.count,
                loss: figures.loss,
                val_loss: figures.val_loss,
                train_seconds: figures.train_seconds,
                accuracy: Some(figures.metrics.train),
                val_accuracy: Some(figures.metrics.valid),
                loss_function: Some(run.loss.to_string()),
                encoder_from: Some(self.encoder_from.display().to_string()),
            }),
        );
        Ok(store::save(&run.model, &card, self.out, self.model_name)?)
    }

    /// Classify the test set: `predictions.csv`, the report (also on stdout), image grids
    /// and confusion matrix.
    fn predict(&self, run: &ClassifierRun<B>) -> Result<()> {
        let model = run.model.valid();
        let predictions = predict::<B::InnerBackend>(&model, self.test.images, &self.device);
        let found = Found {
            images: self.test.images,
            predictions: &predictions,
            labels: Some(self.test.labels),
            classes: self.classes,
        };
        predictions::write(self.out, &found)?;
        Ok(())
    }
}
