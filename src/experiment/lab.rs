//! One kind of experiment on a chosen backend, as the loop sees it: how to train one set of
//! hyperparameters, and what its menu's own choice does. Everything else a run does (say
//! what it trains, record its row, draw its curves, save the model, checkpoint, resume) is
//! written once, for both kinds, in the modules around this one.

use std::path::{Path, PathBuf};

use super::hyper::Hyper;
use super::kinds::{Kind, ParamOf};
use super::prompt::{Prompter, Reply};
use super::session::Session;
use super::source::RunSource;
use crate::error::Result;
use crate::model::TrainBackend;
use crate::model::store::{self, Architecture, ModelCard, TrainingInfo};
use crate::train::epochs::Start;
use crate::train::{Figures, Run, TrainError};

/// What every run of an experiment shares.
pub struct Context {
    /// The output folder: table, models, plots.
    pub out: PathBuf,
    /// What identifies the runs besides their hyperparameters.
    pub source: RunSource,
    /// The model's name with `--save` (and without the menu).
    pub save_as: String,
    /// The loss function, for axis titles: "MSE".
    pub loss_name: String,
    /// Training and validation images.
    pub split: (usize, usize),
    /// The images' height and width.
    pub image_size: (usize, usize),
}

/// The metrics of lab `L`'s kind.
pub type MetricsOf<L> = <<L as Lab>::Kind as Kind>::Metrics;
/// A trained run of lab `L`.
pub type RunOf<L> = Run<
    <L as Lab>::Architecture,
    MetricsOf<L>,
    <<L as Lab>::Architecture as Architecture>::Model<<L as Lab>::Backend>,
>;
/// The hyperparameters of lab `L`'s kind.
pub type HyperOf<L> = Hyper<ParamOf<<L as Lab>::Kind>>;
/// The figures an experiment's session keeps of each run.
pub type Outcome<L> = Figures<MetricsOf<L>>;
/// An experiment's session on lab `L`.
pub type SessionOf<L> = Session<ParamOf<<L as Lab>::Kind>, Outcome<L>>;

/// One kind of experiment on backend `Backend`.
pub trait Lab {
    type Kind: Kind;
    type Backend: TrainBackend;
    /// What its runs train.
    type Architecture: Architecture;
    /// What the menu offers after its first two choices, this kind's own.
    type Action: Copy + 'static;
    /// Those choices in the menu's order, each with its line, e.g. "Save the model".
    const ACTIONS: &'static [(Self::Action, &'static str)];

    fn context(&self) -> &Context;

    /// Train `hyper`, from fresh weights or on from `start`'s checkpoint.
    fn train(
        &mut self,
        hyper: &HyperOf<Self>,
        start: Start<MetricsOf<Self>>,
    ) -> Result<RunOf<Self>, TrainError>;

    /// What the line announcing a run says besides its images: ", loss cross-entropy".
    fn run_note(&self) -> String {
        String::new()
    }

    /// What a saved model's card says of its training besides what every run has.
    fn describe(&self, _run: &RunOf<Self>, _training: &mut TrainingInfo) {}

    /// Do one of the menu's `ACTIONS`.
    fn action(
        &mut self,
        action: Self::Action,
        prompter: &mut dyn Prompter,
        hyper: &HyperOf<Self>,
        run: &RunOf<Self>,
    ) -> Result<Reply<()>>;

    /// What the run that becomes the current one leaves behind at once (the classifier
    /// saves itself, so that the saved model is always the one the menu predicts with).
    fn keep(&mut self, _hyper: &HyperOf<Self>, _run: &RunOf<Self>) -> Result<()> {
        Ok(())
    }

    /// What a run without the menu leaves behind (a saved model, predictions).
    fn finish(&mut self, hyper: &HyperOf<Self>, run: &RunOf<Self>) -> Result<()>;

    /// Pictures of the current run beside the error graphs (reconstructions, curves).
    fn pictures(&self, hyper: &HyperOf<Self>, run: &RunOf<Self>) -> Result<Vec<PathBuf>>;

    /// The results table every finished run is recorded in.
    fn results(&self) -> PathBuf {
        self.context().out.join(<Self::Kind as Kind>::TABLE_FILE)
    }

    fn out(&self) -> &Path {
        &self.context().out
    }
}

/// Save a run's model as `DIR/NAME.mpk` + `NAME.json`, its card saying how it was trained,
/// and say so.
pub fn save<L: Lab>(lab: &L, run: &RunOf<L>, name: &str) -> Result<(PathBuf, PathBuf)> {
    let context = lab.context();
    let figures = run.figures();
    let mut training = TrainingInfo {
        epochs: run.schedule.epochs,
        batch_size: run.schedule.batch_size,
        seed: run.schedule.seed,
        learning_rate: Some(run.schedule.learning_rate),
        images: context.source.images,
        loss: figures.loss,
        val_loss: figures.val_loss,
        train_seconds: figures.train_seconds,
        val_psnr: figures.quality.map(|q| q.psnr),
        val_ssim: figures.quality.map(|q| q.ssim),
        ..TrainingInfo::default()
    };
    lab.describe(run, &mut training);
    let (height, width) = context.image_size;
    let card = ModelCard::new(run.config, height, width, Some(training));
    let (mpk, json) =
        store::save::<L::Architecture, L::Backend>(&run.model, &card, &context.out, name)?;
    println!(
        "Saved the {} as {} + {}",
        <L::Kind as Kind>::SAVED_NOUN,
        mpk.display(),
        json.display()
    );
    Ok((mpk, json))
}
