//! The epoch loop both trainers share: shuffle, batches, backward and RMSprop, progress,
//! Ctrl-C, NaN checks and the per-epoch history. What a batch's loss is and what an epoch
//! measures besides it belong to the kind, through [`Steps`] (the idea of burn's
//! `TrainStep` and `ValidStep`).

use std::path::Path;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;

use super::checkpoint::{
    Checkpoint, Position, Records, Saved, load_module, record_bytes, record_from,
};
use super::progress::{Progress, epoch_line};
use super::stage::{Controls, Keep, StageEnd, StageState};
use super::{
    EpochStats, LOSS_READ_INTERVAL, Metrics, SHUFFLE_STREAM, Schedule, TrainError, read_scalar,
    rmsprop,
};
use crate::data::augment::batch_stream;
use crate::data::dataset::Rng;
use crate::exit::InputError;
use crate::interrupt::{self, Interrupted};
use crate::model::{TrainBackend, independent_copy};

/// The model as validation sees it: no gradients, BatchNorm on its running statistics.
pub type ValidModel<B, M> = <M as AutodiffModule<B>>::InnerModule;

/// One kind of training, as the epoch loop sees it.
pub trait Steps<B: TrainBackend> {
    type Model: AutodiffModule<B>;
    type Metrics: Metrics;

    /// The mean loss of the training batch of images `batch`, ready for backward; whatever
    /// is random in the step (augmentation, noise, dropout) draws from `rng`, the batch's
    /// own stream. The kind may also tally, on the device, what its metrics need.
    fn train_step(&mut self, model: &Self::Model, batch: &[usize], rng: &mut Rng) -> Tensor<B, 1>;

    /// After an epoch's batches: the validation loss and the epoch's metrics (`trained`
    /// images went through `train_step`), then a fresh tally for the next epoch.
    fn validation_pass(
        &mut self,
        model: &ValidModel<B, Self::Model>,
        trained: usize,
    ) -> (f64, Self::Metrics);
}

/// How a run begins, and where it keeps its checkpoints.
pub struct Start<M> {
    /// Written after every finished epoch; `None`: no checkpoints (tests, benches).
    pub checkpoint: Option<Checkpoint>,
    /// Continue from this checkpoint instead of fresh weights.
    pub resume: Option<Saved<M>>,
}

impl<M> Start<M> {
    /// Fresh weights, no checkpoints.
    pub fn fresh() -> Self {
        Self {
            checkpoint: None,
            resume: None,
        }
    }
}

/// The loop's state across epochs, and across the stages of a classifier: the shuffled
/// order of the training images, the epochs done so far and their figures, the stages
/// finished and the one in progress, the time spent, and where to checkpoint.
pub struct Epochs<M> {
    order: Vec<usize>,
    rng: Rng,
    /// The run's seed, for each batch's stream.
    seed: u64,
    batch_size: usize,
    controls: Controls,
    /// Epochs planned for each stage.
    plan: Vec<usize>,
    /// Epochs planned in the whole run, for "epoch 3/40".
    total: usize,
    done: usize,
    pub history: Vec<EpochStats<M>>,
    pub stages: Vec<StageEnd>,
    stage: Option<StageState>,
    /// Training time of earlier parts of a resumed run.
    seconds_before: f64,
    started: Instant,
    checkpoint: Option<Checkpoint>,
    /// A resumed run's optimizer state and best weights so far, for the stage it stopped in.
    resumed_optimizer: Option<Vec<u8>>,
    resumed_best: Option<Vec<u8>>,
}

impl<M: Metrics> Epochs<M> {
    /// A run of stages of `plan` epochs each over the training images `train`, shuffled
    /// from `schedule`'s seed, checkpointed after every epoch if `checkpoint` is given.
    pub fn new(
        train: &[usize],
        schedule: &Schedule,
        plan: &[usize],
        checkpoint: Option<Checkpoint>,
    ) -> Self {
        let total = plan.iter().sum();
        Self {
            order: train.to_vec(),
            rng: Rng::new(schedule.seed ^ SHUFFLE_STREAM),
            seed: schedule.seed,
            batch_size: schedule.batch_size,
            controls: schedule.controls,
            plan: plan.to_vec(),
            total,
            done: 0,
            history: Vec::with_capacity(total),
            stages: Vec::new(),
            stage: None,
            seconds_before: 0.0,
            started: Instant::now(),
            checkpoint,
            resumed_optimizer: None,
            resumed_best: None,
        }
    }

    /// Write a checkpoint to `checkpoint` after every epoch from now on (`None`: none).
    pub fn checkpoint_to(&mut self, checkpoint: Option<Checkpoint>) {
        self.checkpoint = checkpoint;
    }

    /// Go on from `saved`: its position, and its weights loaded into `blank` (a model of
    /// the same architecture), which is returned.
    pub fn resume<B: Backend, Model: Module<B>>(
        &mut self,
        saved: Saved<M>,
        blank: Model,
        device: &B::Device,
    ) -> Result<Model, TrainError> {
        let position = saved.position;
        self.order = position.order;
        self.rng = position.rng;
        self.done = position.epochs_done;
        self.history = position.history;
        self.stages = position.stages;
        self.stage = position.stage;
        if self.stage.is_none() && self.stages.is_empty() {
            self.stages = self.stages_written_before_controls();
        }
        self.seconds_before = position.train_seconds;
        self.started = Instant::now();
        self.resumed_optimizer = Some(saved.optimizer);
        self.resumed_best = saved.best;
        load_module(blank, saved.model, device).map_err(|why| self.damaged(&why))
    }

    /// A checkpoint from before stages were recorded ran each stage to its planned end
    /// and kept its last epoch: the stages it finished.
    fn stages_written_before_controls(&self) -> Vec<StageEnd> {
        let mut ends = Vec::new();
        let mut last = 0;
        for planned in &self.plan {
            last += planned;
            if self.done < last {
                break;
            }
            ends.push(StageEnd { best: last, last });
        }
        ends
    }

    /// Epochs finished so far (in earlier parts of a resumed run too).
    pub fn done(&self) -> usize {
        self.done
    }

    /// Wall time of the run so far, earlier parts of a resumed run included.
    pub fn seconds(&self) -> f64 {
        self.seconds_before + self.started.elapsed().as_secs_f64()
    }

    /// Train `model` through what is left of stage `index` (of the plan's), starting at
    /// `rate`, with a fresh RMSprop (as Keras starts one for each compile), or the
    /// checkpoint's when resuming inside the stage. The model it returns is the epoch the
    /// stage keeps (its best or its last).
    pub fn run<B: TrainBackend, S: Steps<B, Metrics = M>>(
        &mut self,
        steps: &mut S,
        mut model: S::Model,
        index: usize,
        rate: f64,
        device: &B::Device,
        progress: &mut dyn Progress,
    ) -> Result<S::Model, TrainError> {
        if self.stages.len() > index {
            return Ok(model);
        }
        let mut state = match self.stage.take() {
            Some(state) if state.index == index => state,
            _ => {
                let before = self.stages.last().map_or(0, |end| end.last);
                StageState::new(index, before, self.plan[index], rate)
            }
        };
        let mut optimizer = rmsprop().init::<B, S::Model>();
        let inside = self.done > state.before;
        if let Some(bytes) = self.resumed_optimizer.take().filter(|_| inside) {
            let record = record_from::<B, _>(bytes, device).map_err(|why| self.damaged(&why))?;
            optimizer = optimizer.load_record(record);
        }
        let keep_best = self.controls.keep == Keep::Best;
        let mut best = match self.resumed_best.take().filter(|_| inside && keep_best) {
            Some(bytes) => {
                // Loading writes BatchNorm's running statistics in place: not into a clone.
                let blank = independent_copy::<B, _>(&model);
                Some(load_module(blank, bytes, device).map_err(|why| self.damaged(&why))?)
            }
            None => None,
        };
        while !state.finished(self.done) {
            let started = Instant::now();
            let rate = state.next_rate(self.controls.decay, self.done);
            self.done += 1;
            let epoch = self.done;
            self.rng.shuffle(&mut self.order);
            let batches = self.order.len().div_ceil(self.batch_size);
            progress.epoch_started(epoch, self.total, batches);
            let mut loss_sum = LossSum::<B::InnerBackend>::new(device);
            for (index, batch) in self.order.chunks(self.batch_size).enumerate() {
                let mut rng = batch_stream(self.seed, epoch, index);
                let loss = steps.train_step(&model, batch, &mut rng);
                loss_sum.add(loss.clone().inner(), batch.len());
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optimizer.step(rate, model, grads);
                loss_sum.batch_done(progress, index + 1, batches, epoch)?;
            }
            let loss = check_finite(loss_sum.mean(), epoch)?;
            let (val_loss, metrics) = steps.validation_pass(&model.valid(), self.order.len());
            let val_loss = check_finite(val_loss, epoch)?;
            let stats = EpochStats {
                epoch,
                loss,
                val_loss,
                metrics,
                seconds: started.elapsed().as_secs_f64(),
                learning_rate: Some(rate),
            };
            progress.epoch_finished(&epoch_line(&stats, self.total));
            let score = metrics.score(val_loss);
            if state.epoch_done(&self.controls, epoch, val_loss, score) && keep_best {
                best = Some(independent_copy::<B, _>(&model));
            }
            self.history.push(stats);
            if state.finished(self.done) {
                let end = state.end(self.done);
                progress.stage_ended(&stage_line(&end, &state, self.controls.keep));
                self.stages.push(end);
                self.stage = None;
                // The next stage starts from the kept epoch's weights.
                model = best.take().filter(|_| keep_best).unwrap_or(model);
            } else {
                self.stage = Some(state.clone());
            }
            self.save_checkpoint::<B, _, _>(&model, &optimizer, best.as_ref())?;
        }
        Ok(model)
    }

    /// After a finished epoch: everything needed to go on from here.
    fn save_checkpoint<B: TrainBackend, Model: AutodiffModule<B>, O: Optimizer<Model, B>>(
        &self,
        model: &Model,
        optimizer: &O,
        best: Option<&Model>,
    ) -> Result<(), TrainError> {
        let Some(checkpoint) = &self.checkpoint else {
            return Ok(());
        };
        let position = Position {
            epochs_done: self.done,
            epochs_total: self.total,
            train_seconds: self.seconds(),
            history: self.history.clone(),
            rng: self.rng.clone(),
            order: self.order.clone(),
            stages: self.stages.clone(),
            stage: self.stage.clone(),
        };
        let records = Records {
            model: record_bytes::<B, _>(model.clone().into_record()),
            optimizer: record_bytes::<B, _>(optimizer.to_record()),
            best: best.map(|best| record_bytes::<B, _>(best.clone().into_record())),
        };
        Ok(checkpoint.save(&position, &records)?)
    }

    fn damaged(&self, why: &str) -> TrainError {
        let path = self
            .checkpoint
            .as_ref()
            .map(|c| c.path.as_path())
            .unwrap_or(Path::new("checkpoint"));
        TrainError::Resume(InputError::new(format!("damaged checkpoint: {why}")).in_file(path))
    }
}

/// What a stage's end says when it did not simply run its epochs and keep the last.
fn stage_line(end: &StageEnd, state: &StageState, keep: Keep) -> String {
    let mut line = String::new();
    if state.stopped && end.last < state.before + state.planned {
        line = format!(
            "stopped early after epoch {}: no better validation figure for {} epoch{}",
            end.last,
            state.since_best,
            if state.since_best == 1 { "" } else { "s" }
        );
    }
    if end.kept(keep) != end.last {
        let keeping = format!("kept epoch {}, the best on validation", end.best);
        line = if line.is_empty() {
            keeping
        } else {
            format!("{line}; {keeping}")
        };
    }
    line
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
        if interrupt::requested() {
            return Err(TrainError::Interrupted(Interrupted::during(epoch)));
        }
        Ok(())
    }
}
