//! The classifier experiment: a trained encoder under a fresh head, trained in two stages.
//! How a run trains, what its card adds, and its menu's own choice (predict the test set);
//! the loop, the records and the files are the shared ones.

use std::path::PathBuf;

use burn::module::AutodiffModule;

use super::graphs;
use super::kinds::{ClassifierKind, ClassifierParam};
use super::lab::{self, Context, HyperOf, Lab, RunOf};
use super::plan::Setup;
use super::prompt::{Prompter, Reply};
use crate::data::dataset::Split;
use crate::data::idx::Images;
use crate::device::BackendJob;
use crate::error::Result;
use crate::model::encoder::Encoder;
use crate::model::store::{self, ModelCard, TrainingInfo};
use crate::model::{
    AutoencoderConfig, ClassifierConfig, ConvStack, TrainBackend, independent_copy,
};
use crate::predictions::{self, Predicted};
use crate::train::classifier::{Labelled, LossKind, Trainer, predict, train_classifier};
use crate::train::epochs::Start;
use crate::train::progress::Console;
use crate::train::{Accuracy, TrainError};

/// Images and their labels, and the files they came from.
pub struct LabelledFiles {
    pub images_path: PathBuf,
    pub images: Images,
    pub labels_path: PathBuf,
    pub labels: Vec<u8>,
}

impl LabelledFiles {
    fn labelled(&self) -> Labelled<'_> {
        Labelled {
            images: &self.images,
            labels: &self.labels,
        }
    }
}

/// `aelab classify`, resolved: the settings, the data, and the autoencoder to start from.
pub struct ClassifierExperiment {
    pub setup: Setup<ClassifierKind>,
    pub train: LabelledFiles,
    pub test: LabelledFiles,
    /// The largest training label plus one, at least 2.
    pub classes: usize,
    pub loss: LossKind,
    /// The autoencoder's weights (`NAME.mpk`), and its card, read and checked already.
    pub autoencoder: PathBuf,
    pub autoencoder_card: ModelCard<AutoencoderConfig>,
}

impl ClassifierExperiment {
    /// What is about to be trained on, for stdout.
    pub fn describe(&self) -> String {
        let (train, test) = (&self.train.images, &self.test.images);
        format!(
            "{} training and {} test images of {}x{}, {} classes, encoder from {}",
            train.count,
            test.count,
            train.height,
            train.width,
            self.classes,
            self.autoencoder.display()
        )
    }
}

impl BackendJob for ClassifierExperiment {
    type Output = Result<()>;

    fn run<B: TrainBackend>(self, device: B::Device) -> Self::Output {
        let card = &self.autoencoder_card;
        let autoencoder = store::load_weights::<_, B>(&self.autoencoder, card, &device)?;
        let images = &self.train.images;
        let split = Split::new(images.count, self.setup.source.seed);
        let sizes = (split.train.len(), split.valid.len());
        let size = (images.height, images.width);
        let loss_name = self.loss.to_string();
        self.setup
            .run(loss_name, sizes, size, |context| Classification::<B> {
                context,
                train: self.train.labelled(),
                test: self.test.labelled(),
                split,
                encoder: autoencoder.encoder,
                encoder_stack: card.architecture.stack,
                encoder_from: &self.autoencoder,
                classes: self.classes,
                loss: self.loss,
                device,
            })
    }
}

/// Everything a run needs, on backend `B`.
struct Classification<'a, B: TrainBackend> {
    context: Context,
    train: Labelled<'a>,
    test: Labelled<'a>,
    split: Split,
    /// The trained encoder every run starts from (each run trains its own copy).
    encoder: Encoder<B>,
    encoder_stack: ConvStack,
    encoder_from: &'a std::path::Path,
    classes: usize,
    loss: LossKind,
    device: B::Device,
}

/// The classifier's own menu choice.
#[derive(Clone, Copy)]
pub enum ClassifierAction {
    Predict,
}

impl<B: TrainBackend> Lab for Classification<'_, B> {
    type Kind = ClassifierKind;
    type Backend = B;
    type Architecture = ClassifierConfig;
    type Action = ClassifierAction;
    const ACTIONS: &'static [(ClassifierAction, &'static str)] =
        &[(ClassifierAction::Predict, "Predict the test set")];

    fn context(&self) -> &Context {
        &self.context
    }

    fn train(
        &mut self,
        hyper: &HyperOf<Self>,
        start: Start<Accuracy>,
    ) -> Result<RunOf<Self>, TrainError> {
        let config = self.config(hyper);
        let seed = self.context.source.seed;
        let mut trainer = Trainer::new(
            self.train,
            &self.split,
            self.classes,
            hyper.recipe(seed),
            self.loss,
            &self.device,
        );
        let model = trainer.start(
            start,
            // Its own copy: training must leave the next run's encoder as it was loaded.
            || config.on_encoder(independent_copy::<B, _>(&self.encoder), seed, &self.device),
            || config.init(&self.device),
        )?;
        train_classifier(trainer, model, &config, &mut Console::new())
    }

    fn run_note(&self) -> String {
        format!(", loss {}", self.loss)
    }

    fn describe(&self, run: &RunOf<Self>, training: &mut TrainingInfo) {
        let figures = run.figures();
        training.accuracy = Some(figures.metrics.train);
        training.val_accuracy = Some(figures.metrics.valid);
        training.loss_function = Some(self.loss.to_string());
        training.encoder_from = Some(self.encoder_from.display().to_string());
    }

    fn action(
        &mut self,
        ClassifierAction::Predict: ClassifierAction,
        _: &mut dyn Prompter,
        _: &HyperOf<Self>,
        current: &RunOf<Self>,
    ) -> Result<Reply<()>> {
        self.predict(current)?;
        Ok(Reply::Value(()))
    }

    /// The current run's classifier is the saved one, so what is predicted is what is saved.
    fn keep(&mut self, _: &HyperOf<Self>, current: &RunOf<Self>) -> Result<()> {
        lab::save(self, current, &self.context.save_as).map(|_| ())
    }

    /// Without the menu, a run ends with its predictions on the test set.
    fn finish(&mut self, _: &HyperOf<Self>, current: &RunOf<Self>) -> Result<()> {
        self.predict(current)
    }

    /// The current run's loss and accuracy curves.
    fn pictures(&self, hyper: &HyperOf<Self>, run: &RunOf<Self>) -> Result<Vec<PathBuf>> {
        graphs::epoch_curves::<ClassifierKind, _, _>(
            self.out(),
            &hyper.run_name(),
            &self.context.loss_name,
            run,
        )
    }
}

impl<B: TrainBackend> Classification<'_, B> {
    fn config(&self, hyper: &HyperOf<Self>) -> ClassifierConfig {
        ClassifierConfig {
            encoder: ConvStack {
                layers: hyper.whole(ClassifierParam::Layers),
                ..self.encoder_stack
            },
            fc_units: hyper.whole(ClassifierParam::FcUnits),
            classes: self.classes,
            height: self.train.images.height,
            width: self.train.images.width,
        }
    }

    /// Classify the test set: `predictions.csv`, the report (also on stdout), image grids
    /// and confusion matrix.
    fn predict(&self, run: &RunOf<Self>) -> Result<()> {
        let model = run.model.valid();
        let predictions = predict::<B::InnerBackend>(&model, self.test.images, &self.device);
        let predicted = Predicted {
            images: self.test.images,
            predictions: &predictions,
            labels: Some(self.test.labels),
            classes: self.classes,
        };
        predictions::write(self.out(), &predicted)?;
        Ok(())
    }
}
