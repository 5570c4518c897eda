//! Running an experiment's plan: the base run once, a sweep of variations (all of them, or
//! one shard's), or the interactive menu; then what a run without the menu leaves behind.

use std::path::PathBuf;

use super::graphs::{print_written, session_graphs};
use super::hyper::{Hyper, Sweeps};
use super::kinds::{Kind, LimitsOf, ParamOf};
use super::lab::SessionOf;
use super::lab::{Context, HyperOf, Lab};
use super::menu;
use super::prompt::Prompter;
use super::resume::Checkpointing;
use super::runs;
use super::session::Session;
use super::shard::Shard;
use super::source::RunSource;
use crate::error::Result;

/// What to do after (and around) the base run.
pub enum Plan<P> {
    /// Train the base once, finish (save, predict) and exit.
    Once,
    /// Train the base and each listed variation, draw the graphs, finish with the base, exit;
    /// with a shard, only the shard's runs, and no graphs.
    Sweep {
        sweeps: Sweeps<P>,
        shard: Option<Shard>,
    },
    /// The interactive loop; `ask_base` first asks for the original report's base values.
    Menu {
        prompter: Box<dyn Prompter>,
        ask_base: bool,
    },
}

/// An experiment's settings, resolved from the command line: what to run and where.
pub struct Setup<K: Kind> {
    pub base: Hyper<ParamOf<K>>,
    /// What bounds the hyperparameters together (a classifier's encoder depth).
    pub limits: LimitsOf<K>,
    pub plan: Plan<ParamOf<K>>,
    pub checkpointing: Checkpointing,
    /// The output folder, made and proven writable.
    pub out: PathBuf,
    pub source: RunSource,
    /// The model's name with `--save`.
    pub save_as: String,
}

impl<K: Kind> Setup<K> {
    /// Run the plan on the lab `make` builds around the experiment's context: the split
    /// (training and validation images), the images' size, and the loss as axes name it.
    pub fn run<L: Lab<Kind = K>>(
        self,
        loss_name: String,
        split: (usize, usize),
        image_size: (usize, usize),
        make: impl FnOnce(Context) -> L,
    ) -> Result<()> {
        let context = Context {
            out: self.out,
            source: self.source,
            save_as: self.save_as,
            loss_name,
            split,
            image_size,
        };
        run(
            &mut make(context),
            self.base,
            self.limits,
            self.plan,
            self.checkpointing,
        )
    }
}

/// Run `plan` from `base`.
fn run<L: Lab>(
    lab: &mut L,
    base: HyperOf<L>,
    limits: LimitsOf<L::Kind>,
    plan: Plan<ParamOf<L::Kind>>,
    checkpointing: Checkpointing,
) -> Result<()> {
    let mut session = Session::new(base.clone(), limits);
    match plan {
        Plan::Once => {
            let current = runs::train(lab, &mut session, &base, checkpointing, None, false)?;
            lab.keep(&base, &current)?;
            lab.finish(&base, &current)
        }
        Plan::Sweep { sweeps, shard } => sweep(lab, session, &sweeps, shard, checkpointing),
        Plan::Menu { prompter, ask_base } => {
            menu::run(lab, session, prompter, ask_base, checkpointing)
        }
    }
}

/// The base and each variation of `sweeps`, or of them the runs of `shard`.
fn sweep<L: Lab>(
    lab: &mut L,
    mut session: SessionOf<L>,
    sweeps: &Sweeps<ParamOf<L::Kind>>,
    shard: Option<Shard>,
    checkpointing: Checkpointing,
) -> Result<()> {
    let base = session.base().clone();
    let order = sweep_order::<L>(&session, sweeps)?;
    let mine = |index: usize| shard.is_none_or(|s| s.takes(index));
    // The base's model is needed at the end: its checkpoint stays until then, so a resumed
    // sweep need not train it again.
    let base_run = if mine(0) {
        Some(runs::train(
            lab,
            &mut session,
            &base,
            checkpointing,
            None,
            true,
        )?)
    } else {
        None
    };
    for (index, hyper) in order.iter().enumerate().skip(1) {
        if mine(index) {
            runs::train_or_skip(lab, &mut session, hyper, checkpointing)?;
        }
    }
    if let Some(shard) = shard {
        println!(
            "Shard {shard} ran {} of the sweep's {} runs; once every shard is done, `aelab graphs --out {}` draws the error graphs",
            (0..order.len()).filter(|&i| mine(i)).count(),
            order.len(),
            lab.out().display()
        );
    }
    let Some(base_run) = base_run else {
        return Ok(());
    };
    if shard.is_none() {
        print_written(&session_graphs(lab, &session, &base, &base_run)?);
    }
    lab.keep(&base, &base_run)?;
    lab.finish(&base, &base_run)?;
    checkpointing.done_with(&runs::checkpoint(lab, &base))
}

/// A sweep's runs in their documented order: the base, then each sweep's values in the
/// order given, leaving out values equal to the base's.
fn sweep_order<L: Lab>(
    session: &SessionOf<L>,
    sweeps: &Sweeps<ParamOf<L::Kind>>,
) -> Result<Vec<HyperOf<L>>> {
    let base = session.base();
    let mut order = vec![base.clone()];
    for (param, values) in sweeps {
        for &value in values.iter().filter(|&&v| v != base.get(*param)) {
            order.push(session.variant(*param, value)?);
        }
    }
    Ok(order)
}
