//! Training the classifier in two stages, as the original report did: first the head alone on a frozen
//! encoder (no gradients, BatchNorm in inference mode with its statistics kept), then the
//! whole network, at its own learning rate and with the encoder's BatchNorm on batch
//! statistics (the report's) or kept in inference mode (Keras' fine-tuning advice). Each
//! stage gets a fresh RMSprop, as Keras does when a model is recompiled.

use std::fmt;
use std::str::FromStr;

use burn::module::AutodiffModule;
use burn::nn::loss::{CrossEntropyLossConfig, MseLoss, Reduction};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use serde::{Deserialize, Serialize};

use super::epochs::{Epochs, Start, Steps};
use super::progress::Progress;
use super::{Accuracy, EpochStats, Run, Schedule, TrainError, VALIDATION_BATCH, read_scalar};
use crate::data::augment::Inputs;
use crate::data::dataset::{Rng, Split, image_batch, label_batch, pixel_batch};
use crate::data::idx::Images;
use crate::model::encoder::Encoder;
use crate::model::{Classifier, ClassifierConfig, ModelBackend, TrainBackend};

/// What the classifier minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    /// Cross-entropy of the softmax: the usual choice.
    CrossEntropy,
    /// Mean squared error between the softmax and one-hot targets, as the original report used.
    Mse,
}

impl LossKind {
    /// As `--loss` spells it.
    pub fn flag(self) -> &'static str {
        match self {
            Self::CrossEntropy => "ce",
            Self::Mse => "mse",
        }
    }
}

impl fmt::Display for LossKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CrossEntropy => "cross-entropy",
            Self::Mse => "MSE",
        })
    }
}

impl FromStr for LossKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "ce" | "crossentropy" => Ok(Self::CrossEntropy),
            "mse" => Ok(Self::Mse),
            _ => Err(format!(
                "unknown loss '{text}': use ce (cross-entropy) or mse"
            )),
        }
    }
}

/// Images with one class label each.
#[derive(Clone, Copy)]
pub struct Labelled<'a> {
    pub images: &'a Images,
    pub labels: &'a [u8],
}

/// The two stages of training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Only the head trains; the encoder runs in inference mode and is left untouched.
    Frozen,
    /// Everything trains.
    Full,
}

impl Stage {
    fn description(self) -> &'static str {
        match self {
            Self::Frozen => "Stage 1 of 2: encoder frozen, training the fully connected layers",
            Self::Full => "Stage 2 of 2: training the whole network",
        }
    }
}

/// What BatchNorm normalises with while the whole network trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FineTuneNorm {
    /// Each batch's statistics, updating the running ones (the original report's).
    Batch,
    /// The running statistics the autoencoder learnt, left as they are; the scales and
    /// shifts still train (Keras' advice for fine-tuning).
    Running,
}

/// How the second stage, everything training, differs from the first.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FineTuning {
    pub learning_rate: f64,
    pub norm: FineTuneNorm,
}

impl FineTuning {
    /// As the original report fine-tuned: at stage 1's rate, on batch statistics.
    pub fn like(schedule: &Schedule) -> Self {
        Self {
            learning_rate: schedule.learning_rate,
            norm: FineTuneNorm::Batch,
        }
    }
}

/// How a classifier trains: both stages' schedule, how the second differs, and dropout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recipe {
    pub schedule: Schedule,
    pub fine_tuning: FineTuning,
    /// The probability of dropping each input of the fully connected layer (0: none).
    pub dropout: f64,
}

impl Recipe {
    /// The original report's: `schedule`, fine-tuning like it, no dropout.
    pub fn report(schedule: Schedule) -> Self {
        Self {
            schedule,
            fine_tuning: FineTuning::like(&schedule),
            dropout: 0.0,
        }
    }
}

/// A finished two-stage run: its history holds both stages' epochs, stage 1's first.
pub type ClassifierRun<B> = Run<ClassifierConfig, Accuracy, Classifier<B>>;

/// Train a classifier with `trainer`'s data and schedule: `schedule.epochs` epochs with
/// the encoder frozen, then as many with everything training.
pub fn train_classifier<B: TrainBackend>(
    mut trainer: Trainer<B>,
    model: Classifier<B>,
    config: &ClassifierConfig,
    progress: &mut dyn Progress,
) -> Result<ClassifierRun<B>, TrainError> {
    let model = trainer.stage(model, Stage::Frozen, progress)?;
    let model = trainer.stage(model, Stage::Full, progress)?;
    Ok(ClassifierRun {
        config: *config,
        schedule: trainer.schedule,
        train_seconds: trainer.epochs.seconds(),
        history: trainer.epochs.history,
        stages: trainer.epochs.stages,
        quality: None,
        model,
    })
}

/// The state that runs across both stages: the epoch loop (shuffling, history, time,
/// checkpoints) and the steps' data.
pub struct Trainer<'a, B: TrainBackend> {
    epochs: Epochs<Accuracy>,
    steps: Classification<'a, B>,
    schedule: Schedule,
    fine_tuning: FineTuning,
}

impl<'a, B: TrainBackend> Trainer<'a, B> {
    pub fn new(
        data: Labelled<'a>,
        split: &'a Split,
        classes: usize,
        recipe: Recipe,
        loss: LossKind,
        device: &'a B::Device,
    ) -> Self {
        let Recipe {
            schedule,
            fine_tuning,
            dropout,
        } = recipe;
        let plan = [schedule.epochs; 2];
        Self {
            epochs: Epochs::new(&split.train, &schedule, &plan, None),
            steps: Classification {
                data,
                valid: &split.valid,
                classes,
                loss,
                device,
                frozen: None,
                norm: FineTuneNorm::Batch,
                inputs: schedule.inputs,
                dropout,
                correct: Tensor::zeros([1], device),
            },
            schedule,
            fine_tuning,
        }
    }

    /// Checkpoint after every epoch, and resume from `start`'s checkpoint if it has one:
    /// then the model to train is `blank` (a classifier of the run's architecture) with its
    /// weights; otherwise `fresh`.
    pub fn start(
        &mut self,
        start: Start<Accuracy>,
        fresh: impl FnOnce() -> Classifier<B>,
        blank: impl FnOnce() -> Classifier<B>,
    ) -> Result<Classifier<B>, TrainError> {
        self.epochs.checkpoint_to(start.checkpoint);
        match start.resume {
            Some(saved) => self.epochs.resume(saved, blank(), self.steps.device),
            None => Ok(fresh()),
        }
    }

    /// The epochs trained so far.
    pub fn history(&self) -> &[EpochStats<Accuracy>] {
        &self.epochs.history
    }

    /// Train what is left of one stage of `schedule.epochs` epochs.
    pub fn stage(
        &mut self,
        model: Classifier<B>,
        stage: Stage,
        progress: &mut dyn Progress,
    ) -> Result<Classifier<B>, TrainError> {
        let (index, rate) = match stage {
            Stage::Frozen => (0, self.schedule.learning_rate),
            Stage::Full => (1, self.fine_tuning.learning_rate),
        };
        if self.epochs.stages.len() > index {
            return Ok(model);
        }
        progress.stage_started(stage.description());
        // The encoder does not change in stage 1, so its inference copy is made once.
        self.steps.frozen = (stage == Stage::Frozen).then(|| model.encoder.valid());
        self.steps.norm = match stage {
            Stage::Frozen => FineTuneNorm::Batch,
            Stage::Full => self.fine_tuning.norm,
        };
        let device = self.steps.device;
        let trained = self
            .epochs
            .run(&mut self.steps, model, index, rate, device, progress);
        self.steps.frozen = None;
        trained
    }
}

/// The classifier's steps: scores of the batch against its labels, counting correct ones.
struct Classification<'a, B: TrainBackend> {
    data: Labelled<'a>,
    valid: &'a [usize],
    classes: usize,
    loss: LossKind,
    device: &'a B::Device,
    /// Stage 1's encoder, in inference mode: it is not trained, so it needs no gradients.
    frozen: Option<Encoder<B::InnerBackend>>,
    /// What the encoder's BatchNorm normalises with while it trains.
    norm: FineTuneNorm,
    inputs: Inputs,
    dropout: f64,
    /// Correct answers so far this epoch, on the device (read once an epoch).
    correct: Tensor<B::InnerBackend, 1>,
}

impl<B: TrainBackend> Steps<B> for Classification<'_, B> {
    type Model = Classifier<B>;
    type Metrics = Accuracy;

    fn train_step(
        &mut self,
        model: &Classifier<B>,
        batch: &[usize],
        rng: &mut Rng,
    ) -> Tensor<B, 1> {
        let pixels = self.inputs.batch(self.data.images, batch, rng).input();
        let images = pixel_batch::<B>(pixels, self.data.images, self.device);
        let targets = label_batch::<B>(self.data.labels, batch, self.device);
        let features = match &self.frozen {
            Some(encoder) => Tensor::from_inner(encoder.forward(images.inner())),
            None => match self.norm {
                FineTuneNorm::Batch => model.encoder.forward(images),
                FineTuneNorm::Running => model.encoder.forward_on_running_statistics(images),
            },
        };
        let kept = (self.dropout > 0.0).then(|| {
            let [rows, channels, height, width] = features.dims();
            dropout_mask(
                rows,
                channels * height * width,
                self.dropout,
                rng,
                self.device,
            )
        });
        let scores = model.head.forward_dropped(features, kept);
        self.correct =
            self.correct.clone() + correct(scores.clone().inner(), targets.clone().inner());
        classification_loss(scores, targets, self.loss, self.classes)
    }

    fn validation_pass(
        &mut self,
        model: &Classifier<B::InnerBackend>,
        trained: usize,
    ) -> (f64, Accuracy) {
        let (val_loss, valid) = evaluate(
            model,
            self.data,
            self.valid,
            self.loss,
            self.classes,
            self.device,
        );
        let correct = std::mem::replace(&mut self.correct, Tensor::zeros([1], self.device));
        let train = read_scalar(correct) / trained as f64;
        (val_loss, Accuracy { train, valid })
    }
}

/// Which of a `[rows, columns]` batch's values dropout keeps: each dropped (0) with
/// probability `rate`, the others scaled by 1 / (1 - rate), so that inference needs no
/// change (inverted dropout).
pub fn dropout_mask<B: Backend>(
    rows: usize,
    columns: usize,
    rate: f64,
    rng: &mut Rng,
    device: &B::Device,
) -> Tensor<B, 2> {
    let kept = (1.0 / (1.0 - rate)) as f32;
    let count = rows * columns;
    // Two decisions per draw, 32 bits each: a default classifier's batch (64 x 12,544
    // features) is 401,408 draws.
    let threshold = (rate * 2f64.powi(32)) as u64;
    let mut values = vec![0f32; count];
    // Branch-free: at a rate of 0.5 a branch on each decision mispredicts half the time.
    for pair in values.chunks_mut(2) {
        let bits = rng.next_u64();
        for (value, half) in pair.iter_mut().zip([bits & 0xffff_ffff, bits >> 32]) {
            *value = kept * f32::from(u8::from(half >= threshold));
        }
    }
    Tensor::from_data(TensorData::new(values, [rows, columns]), device)
}

/// The loss of class scores `[batch, classes]` against labels `[batch]`, averaged.
pub fn classification_loss<B: Backend>(
    scores: Tensor<B, 2>,
    targets: Tensor<B, 1, Int>,
    loss: LossKind,
    classes: usize,
) -> Tensor<B, 1> {
    match loss {
        LossKind::CrossEntropy => CrossEntropyLossConfig::new()
            .init(&scores.device())
            .forward(scores, targets),
        LossKind::Mse => MseLoss::new().forward(
            softmax(scores, 1),
            targets.one_hot::<2>(classes).float(),
            Reduction::Mean,
        ),
    }
}

/// How many of a batch's top scores are the label, as a one-element tensor.
fn correct<B: Backend>(scores: Tensor<B, 2>, targets: Tensor<B, 1, Int>) -> Tensor<B, 1> {
    predicted(scores).equal(targets).float().sum()
}

/// The class with the highest score, per row.
fn predicted<B: Backend>(scores: Tensor<B, 2>) -> Tensor<B, 1, Int> {
    scores.argmax(1).flatten(0, 1)
}

/// Mean loss and accuracy over `indices`, in inference mode.
pub fn evaluate<B: ModelBackend>(
    model: &Classifier<B>,
    data: Labelled,
    indices: &[usize],
    loss: LossKind,
    classes: usize,
    device: &B::Device,
) -> (f64, f64) {
    let mut loss_sum = Tensor::<B, 1>::zeros([1], device);
    let mut correct_sum = Tensor::<B, 1>::zeros([1], device);
    for chunk in indices.chunks(VALIDATION_BATCH) {
        let scores = model.forward(image_batch::<B>(data.images, chunk, device));
        let targets = label_batch::<B>(data.labels, chunk, device);
        correct_sum = correct_sum + correct(scores.clone(), targets.clone());
        loss_sum = loss_sum
            + classification_loss(scores, targets, loss, classes).mul_scalar(chunk.len() as f64);
    }
    let n = indices.len() as f64;
    (read_scalar(loss_sum) / n, read_scalar(correct_sum) / n)
}

/// A classifier's answer for one image: the class with the highest score, and the softmax
/// probability it gives that class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    pub class: usize,
    pub probability: f32,
}

/// The prediction for every image, in inference mode.
pub fn predict<B: ModelBackend>(
    model: &Classifier<B>,
    images: &Images,
    device: &B::Device,
) -> Vec<Prediction> {
    let all: Vec<usize> = (0..images.count).collect();
    let mut predictions = Vec::with_capacity(images.count);
    for chunk in all.chunks(VALIDATION_BATCH) {
        let scores = model.forward(image_batch::<B>(images, chunk, device));
        // The class as accuracy counts it (the top score), and its share of the softmax.
        let classes = predicted(scores.clone()).into_data();
        let probabilities = softmax(scores, 1).max_dim(1).into_data();
        let pairs = classes.iter::<i64>().zip(probabilities.iter::<f32>());
        predictions.extend(pairs.map(|(class, probability)| Prediction {
            class: class as usize,
            probability,
        }));
    }
    predictions
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn dropout_drops_the_asked_share_and_keeps_the_mean() {
        let mask = dropout_mask::<Flex>(64, 1001, 0.3, &mut Rng::new(4), &Default::default());
        let values = mask.into_data().to_vec::<f32>().unwrap();
        assert_eq!(values.len(), 64 * 1001);
        let dropped = values.iter().filter(|&&v| v == 0.0).count() as f64 / values.len() as f64;
        assert!((dropped - 0.3).abs() < 0.01, "{dropped}");
        let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64;
        assert!((mean - 1.0).abs() < 0.02, "{mean}");
        assert!(
            values
                .iter()
                .all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6)
        );
    }
}
