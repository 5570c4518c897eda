//! The classifier experiment: a trained encoder under a fresh head, trained in two stages.
//! What a run records (results table row, training curves, the saved classifier), its error
//! graphs, and predicting the test set; the loop itself is the runner's.

use std::path::{Path, PathBuf};

use crate::model::TrainBackend;
use burn::module::AutodiffModule;

use super::hyper::{ClHyper, ClParam, HyperSet};
use super::menu::{Prompter, Reply};
use super::runner::{self, Kind, Plan};
use super::table::{ClFigures, ClRow};
use crate::data::dataset::Split;
use crate::device::BackendJob;
use crate::fsutil;
use crate::model::encoder::{Encoder, EncoderConfig};
use crate::model::store::{self, ModelCard, TrainingInfo};
use crate::model::{AutoencoderConfig, ClassifierConfig};
use crate::report::metrics::{ClassificationReport, confusion_matrix};
use crate::report::plots::{self, ClassifierPoint};
use crate::train::EpochStats;
use crate::train::classifier::{
    ClassifierRun, Labelled, LossKind, Trainer, predict, train_classifier,
};
use crate::train::progress::Console;

/// The results table's file name under `--out`, as in the seed.
pub const TABLE_FILE: &str = "classification_loss_values.csv";

/// Per-epoch curves of the latest run, with the seed's names.
pub const LOSS_CURVES_FILE: &str = "Training_and_validation_loss.png";
pub const ACCURACY_CURVES_FILE: &str = "Training_and_validation_accuracy.png";

/// Files written by a prediction of the test set.
pub const REPORT_FILE: &str = "classification_report.txt";
pub const CORRECT_FILE: &str = "found_correct.png";
pub const INCORRECT_FILE: &str = "found_incorrect.png";
pub const CONFUSION_FILE: &str = "confusion_matrix.png";

/// Test images shown in each of the correct and incorrect grids.
const GRID_IMAGES: usize = 12;

/// A classifier experiment: training and test sets, and the autoencoder to start from.
pub struct Experiment<'a> {
    pub train: Labelled<'a>,
    pub test: Labelled<'a>,
    /// The autoencoder's weights (`NAME.mpk`; its card beside it).
    pub autoencoder: &'a Path,
    pub classes: usize,
    pub base: ClHyper,
    pub seed: u64,
    pub loss: LossKind,
    pub out: &'a Path,
    /// The trained classifier is saved as `NAME.mpk` + `NAME.json` under `out`.
    pub model_name: &'a str,
    pub plan: Plan<ClParam>,
}

impl BackendJob for Experiment<'_> {
    type Output = anyhow::Result<()>;

    fn run<B: TrainBackend>(self, device: B::Device) -> Self::Output {
        let (autoencoder, card) = store::load::<AutoencoderConfig, B>(self.autoencoder, &device)?;
        let mut lab = Lab::<B> {
            train: self.train,
            test: self.test,
            split: Split::new(self.train.images.count, self.seed),
            encoder: autoencoder.encoder,
            encoder_config: card.architecture.encoder(),
            encoder_from: self.autoencoder,
            classes: self.classes,
            seed: self.seed,
            loss: self.loss,
            out: self.out,
            model_name: self.model_name,
            device,
        };
        runner::run(&mut lab, self.base, self.plan)
    }
}

/// Everything a run needs, on backend `B`.
struct Lab<'a, B: TrainBackend> {
    train: Labelled<'a>,
    test: Labelled<'a>,
    split: Split,
    /// The trained encoder every run starts from (each run trains its own copy).
    encoder: Encoder<B>,
    encoder_config: EncoderConfig,
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
    type Outcome = ClFigures;
    type Run = ClassifierRun<B>;

    /// Train `hyper`, then record it at once: table row, curves, saved classifier.
    fn train(&mut self, hyper: ClHyper) -> anyhow::Result<(ClassifierRun<B>, ClFigures)> {
        println!(
            "Training {} ({} train, {} validation images, loss {})",
            hyper.run_name(),
            self.split.train.len(),
            self.split.valid.len(),
            self.loss
        );
        let config = self.config(&hyper);
        let model = config.on_encoder(self.encoder.clone(), self.seed, &self.device);
        let trainer = Trainer::new(
            self.train,
            &self.split,
            self.classes,
            hyper.schedule(self.seed),
            self.loss,
            &self.device,
        );
        let run = train_classifier(trainer, model, &config, &mut Console::new())?;
        let last = run.last();
        let accuracy = run.last_accuracy();
        let figures = ClFigures {
            train_seconds: run.train_seconds,
            loss: last.loss,
            val_loss: last.val_loss,
            accuracy: accuracy.train,
            val_accuracy: accuracy.valid,
        };
        let table = self.out.join(TABLE_FILE);
        let rows = runner::record_row(&table, ClRow::new(&hyper, &figures))?;
        let curves = self.draw_curves(&run, &hyper)?;
        let (mpk, _) = self.save(&run)?;
        println!(
            "Trained {} in {:.1} s: loss {:.5}, val_loss {:.5}, accuracy {:.4}, val_accuracy {:.4}; wrote {} ({} rows), {}, {}, {}",
            hyper.run_name(),
            figures.train_seconds,
            figures.loss,
            figures.val_loss,
            figures.accuracy,
            figures.val_accuracy,
            table.display(),
            rows,
            curves[0].display(),
            curves[1].display(),
            mpk.display()
        );
        Ok((run, figures))
    }

    /// Two panels against `param`'s values: final losses, final accuracies.
    fn error_graph(
        &self,
        base: ClHyper,
        param: ClParam,
        points: &[(usize, ClFigures)],
    ) -> anyhow::Result<PathBuf> {
        let points: Vec<ClassifierPoint> = points
            .iter()
            .map(|&(value, f)| ClassifierPoint {
                value,
                loss: f.loss,
                val_loss: f.val_loss,
                accuracy: f.accuracy,
                val_accuracy: f.val_accuracy,
                train_seconds: f.train_seconds,
            })
            .collect();
        let name = base.graph_name(param);
        let path = self.out.join(format!("{name}.png"));
        plots::classifier_error_graph(
            &path,
            &name,
            ClHyper::label(param),
            &format!("Final loss ({})", self.loss),
            &points,
        )?;
        Ok(path)
    }

    /// The current run's loss and accuracy curves.
    fn pictures(&self, hyper: ClHyper, run: &ClassifierRun<B>) -> anyhow::Result<Vec<PathBuf>> {
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
    ) -> anyhow::Result<Reply<()>> {
        self.predict(current)?;
        Ok(Reply::Value(()))
    }

    /// Without the menu, a run ends with its predictions on the test set.
    fn finish(&mut self, _: ClHyper, current: &ClassifierRun<B>) -> anyhow::Result<()> {
        self.predict(current)
    }

    fn results(&self) -> PathBuf {
        self.out.join(TABLE_FILE)
    }
}

impl<B: TrainBackend> Lab<'_, B> {
    fn config(&self, hyper: &ClHyper) -> ClassifierConfig {
        ClassifierConfig {
            encoder: EncoderConfig {
                layers: hyper.layers,
                ..self.encoder_config
            },
            fc_units: hyper.fc_units,
            classes: self.classes,
            height: self.train.images.height,
            width: self.train.images.width,
        }
    }

    /// Loss and accuracy per epoch over both stages, the stage boundary marked.
    fn draw_curves(&self, run: &ClassifierRun<B>, hyper: &ClHyper) -> anyhow::Result<[PathBuf; 2]> {
        let loss_path = self.out.join(LOSS_CURVES_FILE);
        let accuracy_path = self.out.join(ACCURACY_CURVES_FILE);
        let boundary = Some(run.schedule.epochs);
        let per_epoch = |value: &dyn Fn(&EpochStats) -> f64| -> Vec<f64> {
            run.history.iter().map(value).collect()
        };
        let accuracy = |s: &EpochStats| s.accuracy.expect("classifier epochs record accuracy");
        plots::stage_curves(
            &loss_path,
            &format!("Training and validation loss, {}", hyper.run_name()),
            &format!("Loss ({})", run.loss),
            "Training loss",
            "Validation loss",
            &per_epoch(&|s| s.loss),
            &per_epoch(&|s| s.val_loss),
            boundary,
        )?;
        plots::stage_curves(
            &accuracy_path,
            &format!("Training and validation accuracy, {}", hyper.run_name()),
            "Accuracy",
            "Training accuracy",
            "Validation accuracy",
            &per_epoch(&|s| accuracy(s).train),
            &per_epoch(&|s| accuracy(s).valid),
            boundary,
        )?;
        Ok([loss_path, accuracy_path])
    }

    /// Save the run's classifier under `--save`, replacing the previous run's.
    fn save(&self, run: &ClassifierRun<B>) -> anyhow::Result<(PathBuf, PathBuf)> {
        let last = run.last();
        let accuracy = run.last_accuracy();
        let card = ModelCard::new(
            run.config,
            run.config.height,
            run.config.width,
            Some(TrainingInfo {
                epochs: run.schedule.epochs,
                batch_size: run.schedule.batch_size,
                seed: run.schedule.seed,
                images: self.train.images.count,
                loss: last.loss,
                val_loss: last.val_loss,
                train_seconds: run.train_seconds,
                accuracy: Some(accuracy.train),
                val_accuracy: Some(accuracy.valid),
                loss_function: Some(run.loss.to_string()),
                encoder_from: Some(self.encoder_from.display().to_string()),
            }),
        );
        Ok(store::save(&run.model, &card, self.out, self.model_name)?)
    }

    /// Classify the test set: counts and report on stdout, the report, image grids and
    /// confusion matrix as files.
    fn predict(&self, run: &ClassifierRun<B>) -> anyhow::Result<()> {
        let model = run.model.valid();
        let predicted = predict::<B::InnerBackend>(&model, self.test.images, &self.device);
        let actual: Vec<usize> = self.test.labels.iter().map(|&l| usize::from(l)).collect();
        let report = ClassificationReport::new(&predicted, &actual, self.classes);
        let text = report.to_text();
        println!("Found {} correct labels", report.correct);
        println!("Found {} incorrect labels", report.incorrect());
        println!("{text}");

        let report_path = self.out.join(REPORT_FILE);
        fsutil::write_atomic(&report_path, text.as_bytes()).map_err(|e| {
            anyhow::anyhow!("{}: cannot write the report: {e}", report_path.display())
        })?;
        let mut written = vec![report_path];
        for (file, correct) in [(CORRECT_FILE, true), (INCORRECT_FILE, false)] {
            let shown: Vec<usize> = (0..predicted.len())
                .filter(|&i| (predicted[i] == actual[i]) == correct)
                .take(GRID_IMAGES)
                .collect();
            let path = self.out.join(file);
            let pixels: Vec<u8> = shown
                .iter()
                .flat_map(|&i| self.test.images.image(i).iter().copied())
                .collect();
            let captions: Vec<String> = shown
                .iter()
                .map(|&i| format!("Predicted {}, Class {}", predicted[i], actual[i]))
                .collect();
            let title = format!(
                "Test images classified {}: the first {} of {}",
                if correct { "correctly" } else { "incorrectly" },
                shown.len(),
                if correct {
                    report.correct
                } else {
                    report.incorrect()
                }
            );
            plots::prediction_grid(
                &path,
                &title,
                &pixels,
                self.test.images.height,
                self.test.images.width,
                &captions,
            )?;
            written.push(path);
        }
        let confusion = self.out.join(CONFUSION_FILE);
        plots::confusion_matrix_chart(
            &confusion,
            &format!(
                "Confusion matrix, {} test images (accuracy {:.4})",
                report.total, report.accuracy
            ),
            &confusion_matrix(&predicted, &actual, self.classes),
        )?;
        written.push(confusion);
        for path in written {
            println!("Wrote {}", path.display());
        }
        Ok(())
    }
}
