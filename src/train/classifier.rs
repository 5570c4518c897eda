//! Training the classifier in two stages, as the seed did: first the head alone on a frozen
//! encoder (no gradients, BatchNorm in inference mode with its statistics kept), then the
//! whole network. Each stage gets a fresh RMSprop, as Keras does when a model is recompiled.

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use crate::model::{ModelBackend, TrainBackend};
use burn::module::AutodiffModule;
use burn::nn::loss::{CrossEntropyLossConfig, MseLoss, Reduction};
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use serde::{Deserialize, Serialize};

use super::progress::Progress;
use super::{
    Accuracy, EpochStats, LEARNING_RATE, LossSum, SHUFFLE_STREAM, Schedule, TrainError,
    VALIDATION_BATCH, check_finite, read_scalar, rmsprop,
};
use crate::data::dataset::{Rng, Split, image_batch, label_batch};
use crate::data::idx::Images;
use crate::model::{Classifier, ClassifierConfig};

/// What the classifier minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    /// Cross-entropy of the softmax: the usual choice.
    CrossEntropy,
    /// Mean squared error between the softmax and one-hot targets, as the seed report used.
    Mse,
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

/// A finished two-stage run.
pub struct ClassifierRun<B: TrainBackend> {
    pub config: ClassifierConfig,
    pub schedule: Schedule,
    pub loss: LossKind,
    /// Both stages' epochs, numbered on from 1; the first `schedule.epochs` are stage 1.
    pub history: Vec<EpochStats>,
    /// Wall time of both stages, validation included (the seed's Train_Time).
    pub train_seconds: f64,
    pub model: Classifier<B>,
}

impl<B: TrainBackend> ClassifierRun<B> {
    pub fn last(&self) -> &EpochStats {
        self.history.last().expect("a run has at least one epoch")
    }

    pub fn last_accuracy(&self) -> Accuracy {
        self.last()
            .accuracy
            .expect("classifier epochs record accuracy")
    }
}

/// Train `model` (a trained encoder under a fresh head) with `trainer`'s data and schedule:
/// `schedule.epochs` epochs with the encoder frozen, then as many with everything training.
pub fn train_classifier<B: TrainBackend>(
    mut trainer: Trainer<B>,
    model: Classifier<B>,
    config: &ClassifierConfig,
    progress: &mut dyn Progress,
) -> Result<ClassifierRun<B>, TrainError> {
    let started = Instant::now();
    let model = trainer.stage(model, Stage::Frozen, progress)?;
    let model = trainer.stage(model, Stage::Full, progress)?;
    Ok(ClassifierRun {
        config: *config,
        schedule: trainer.schedule,
        loss: trainer.loss,
        history: trainer.history,
        train_seconds: started.elapsed().as_secs_f64(),
        model,
    })
}

/// The state that runs across both stages: data, shuffling and the history so far.
pub struct Trainer<'a, B: TrainBackend> {
    data: Labelled<'a>,
    valid: &'a [usize],
    order: Vec<usize>,
    rng: Rng,
    classes: usize,
    schedule: Schedule,
    loss: LossKind,
    device: &'a B::Device,
    pub history: Vec<EpochStats>,
}

impl<'a, B: TrainBackend> Trainer<'a, B> {
    pub fn new(
        data: Labelled<'a>,
        split: &'a Split,
        classes: usize,
        schedule: Schedule,
        loss: LossKind,
        device: &'a B::Device,
    ) -> Self {
        Self {
            data,
            valid: &split.valid,
            order: split.train.clone(),
            rng: Rng::new(schedule.seed ^ SHUFFLE_STREAM),
            classes,
            schedule,
            loss,
            device,
            history: Vec::with_capacity(2 * schedule.epochs),
        }
    }

    /// Train one stage of `schedule.epochs` epochs.
    pub fn stage(
        &mut self,
        mut model: Classifier<B>,
        stage: Stage,
        progress: &mut dyn Progress,
    ) -> Result<Classifier<B>, TrainError> {
        progress.stage_started(stage.description());
        // The encoder does not change in stage 1, so its inference copy is made once.
        let frozen = (stage == Stage::Frozen).then(|| model.encoder.valid());
        let mut optimizer = rmsprop().init();
        for _ in 0..self.schedule.epochs {
            let epoch_started = Instant::now();
            let epoch = self.history.len() + 1;
            let total = 2 * self.schedule.epochs;
            self.rng.shuffle(&mut self.order);
            let batches = self.order.len().div_ceil(self.schedule.batch_size);
            progress.epoch_started(epoch, total, batches);

            // Sums stay on the device and are read rarely: each read waits for the device.
            let mut loss_sum = LossSum::<B::InnerBackend>::new(self.device);
            let mut correct_sum = Tensor::<B::InnerBackend, 1>::zeros([1], self.device);
            for (index, chunk) in self.order.chunks(self.schedule.batch_size).enumerate() {
                let images = image_batch::<B>(self.data.images, chunk, self.device);
                let targets = label_batch::<B>(self.data.labels, chunk, self.device);
                let scores = match &frozen {
                    Some(encoder) => model
                        .head
                        .forward(Tensor::from_inner(encoder.forward(images.inner()))),
                    None => model.forward(images),
                };
                correct_sum =
                    correct_sum + correct(scores.clone().inner(), targets.clone().inner());
                let loss = classification_loss(scores, targets, self.loss, self.classes);
                loss_sum.add(loss.clone().inner(), chunk.len());
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optimizer.step(LEARNING_RATE, model, grads);
                loss_sum.batch_done(progress, index + 1, batches, epoch)?;
            }
            let loss = check_finite(loss_sum.mean(), epoch)?;
            let (val_loss, val_accuracy) = evaluate(
                &model.valid(),
                self.data,
                self.valid,
                self.loss,
                self.classes,
                self.device,
            );
            let stats = EpochStats {
                epoch,
                loss,
                val_loss: check_finite(val_loss, epoch)?,
                accuracy: Some(Accuracy {
                    train: read_scalar(correct_sum) / self.order.len() as f64,
                    valid: val_accuracy,
                }),
                seconds: epoch_started.elapsed().as_secs_f64(),
            };
            progress.epoch_finished(&stats, total);
            self.history.push(stats);
        }
        Ok(model)
    }
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

/// The predicted class of every image, in inference mode.
pub fn predict<B: ModelBackend>(
    model: &Classifier<B>,
    images: &Images,
    device: &B::Device,
) -> Vec<usize> {
    let all: Vec<usize> = (0..images.count).collect();
    let mut classes = Vec::with_capacity(images.count);
    for chunk in all.chunks(VALIDATION_BATCH) {
        let scores = model.forward(image_batch::<B>(images, chunk, device));
        let data = predicted(scores).into_data();
        classes.extend(data.iter::<i64>().map(|c| c as usize));
    }
    classes
}
