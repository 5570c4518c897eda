//! The epoch loop both trainers share: shuffle, batches, backward and RMSprop, progress,
//! Ctrl-C, NaN checks and the per-epoch history. What a batch's loss is and what an epoch
//! measures besides it belong to the kind, through [`Steps`] (the idea of burn's
//! `TrainStep` and `ValidStep`).

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;

use super::progress::{Progress, epoch_line};
use super::{
    EpochStats, LEARNING_RATE, LOSS_READ_INTERVAL, Metrics, SHUFFLE_STREAM, Schedule, TrainError,
    read_scalar, rmsprop,
};
use crate::data::dataset::Rng;
use crate::model::TrainBackend;

/// The model as validation sees it: no gradients, BatchNorm on its running statistics.
pub type ValidModel<B, M> = <M as AutodiffModule<B>>::InnerModule;

/// One kind of training, as the epoch loop sees it.
pub trait Steps<B: TrainBackend> {
    type Model: AutodiffModule<B>;
    type Metrics: Metrics;

    /// The mean loss of the training batch of images `batch`, ready for backward. The kind
    /// may also tally, on the device, what its metrics need.
    fn train_step(&mut self, model: &Self::Model, batch: &[usize]) -> Tensor<B, 1>;

    /// After an epoch's batches: the validation loss and the epoch's metrics (`trained`
    /// images went through `train_step`), then a fresh tally for the next epoch.
    fn validation_pass(
        &mut self,
        model: &ValidModel<B, Self::Model>,
        trained: usize,
    ) -> (f64, Self::Metrics);
}

/// The loop's state across epochs, and across the stages of a classifier: the shuffled
/// order of the training images and the epochs done so far.
pub struct Epochs {
    order: Vec<usize>,
    rng: Rng,
    batch_size: usize,
    /// Epochs in the whole run, for "epoch 3/40".
    total: usize,
    done: usize,
}

impl Epochs {
    /// A run of `total` epochs over the training images `train`, shuffled from `schedule`'s
    /// seed.
    pub fn new(train: &[usize], schedule: &Schedule, total: usize) -> Self {
        Self {
            order: train.to_vec(),
            rng: Rng::new(schedule.seed ^ SHUFFLE_STREAM),
            batch_size: schedule.batch_size,
            total,
            done: 0,
        }
    }

    /// Train `model` for `count` epochs with a fresh RMSprop (as Keras starts one for each
    /// compile), adding each epoch's figures to `history`.
    pub fn run<B: TrainBackend, S: Steps<B>>(
        &mut self,
        steps: &mut S,
        mut model: S::Model,
        count: usize,
        device: &B::Device,
        progress: &mut dyn Progress,
        history: &mut Vec<EpochStats<S::Metrics>>,
    ) -> Result<S::Model, TrainError> {
        let mut optimizer = rmsprop().init::<B, S::Model>();
        for _ in 0..count {
            let started = Instant::now();
            self.done += 1;
            let epoch = self.done;
            self.rng.shuffle(&mut self.order);
            let batches = self.order.len().div_ceil(self.batch_size);
            progress.epoch_started(epoch, self.total, batches);
            let mut loss_sum = LossSum::<B::InnerBackend>::new(device);
            for (index, batch) in self.order.chunks(self.batch_size).enumerate() {
                let loss = steps.train_step(&model, batch);
                loss_sum.add(loss.clone().inner(), batch.len());
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optimizer.step(LEARNING_RATE, model, grads);
                loss_sum.batch_done(progress, index + 1, batches, epoch)?;
            }
            let loss = check_finite(loss_sum.mean(), epoch)?;
            let (val_loss, metrics) = steps.validation_pass(&model.valid(), self.order.len());
            let stats = EpochStats {
                epoch,
                loss,
                val_loss: check_finite(val_loss, epoch)?,
                metrics,
                seconds: started.elapsed().as_secs_f64(),
            };
            progress.epoch_finished(&epoch_line(&stats, self.total));
            history.push(stats);
        }
        Ok(model)
    }
}

fn check_finite(value: f64, epoch: usize) -> Result<f64, TrainError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(TrainError::NonFinite { epoch, value })
    }
}

/// An epoch's training loss, summed on the device and read rarely: each read waits for
/// the device.
struct LossSum<B: Backend> {
    sum: Tensor<B, 1>,
    seen: usize,
}

impl<B: Backend> LossSum<B> {
    fn new(device: &B::Device) -> Self {
        Self {
            sum: Tensor::zeros([1], device),
            seen: 0,
        }
    }

    /// Add a batch of `images` whose mean loss is `loss`.
    fn add(&mut self, loss: Tensor<B, 1>, images: usize) {
        self.sum = self.sum.clone() + loss.mul_scalar(images as f64);
        self.seen += images;
    }

    fn mean(&self) -> f64 {
        read_scalar(self.sum.clone()) / self.seen as f64
    }

    /// Report batch `done` of `batches` (with the running loss every few batches, when
    /// someone watches), and stop if Ctrl-C asked to.
    fn batch_done(
        &self,
        progress: &mut dyn Progress,
        done: usize,
        batches: usize,
        epoch: usize,
    ) -> Result<(), TrainError> {
        let read_now = done.is_multiple_of(LOSS_READ_INTERVAL) || done == batches;
        let running = (progress.wants_batch_loss() && read_now).then(|| self.mean());
        progress.batches_done(done, running);
        if crate::interrupt::requested() {
            return Err(TrainError::Interrupted { epoch });
        }
        Ok(())
    }
}
