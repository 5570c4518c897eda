//! Initial weights drawn on the CPU from a seed, then moved to the training device: one seed
//! gives the same starting model on every backend, so CPU and GPU runs can be compared.

use std::sync::Mutex;

use burn::backend::Flex;
use burn::module::Module;
use burn::prelude::*;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};

use super::backend::ModelBackend;
use super::canonical::numbered_ids;

/// A configuration that builds the same module on any backend.
pub trait Build {
    type Module<B: ModelBackend>: Module<B>;
    fn build<B: ModelBackend>(&self, device: &B::Device) -> Self::Module<B>;
}

/// flex's random generator is one for the whole process: every draw of fresh weights (seeded
/// or not) goes through this lock, so a seeded draw on one thread is never interleaved with
/// another thread's draw and one seed always gives the same weights.
static WEIGHT_DRAW: Mutex<()> = Mutex::new(());

/// Run `draw` (anything that builds modules with fresh weights) alone among weight draws.
pub fn drawing_weights<T>(draw: impl FnOnce() -> T) -> T {
    // A panic while holding it leaves nothing half-done that a later draw depends on.
    let _only_drawer = WEIGHT_DRAW
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    draw()
}

/// Build `config`'s module with weights drawn from `seed` (on the CPU), on `device`, its
/// parameters numbered in order (burn's own ids are random, and are written to its files).
pub fn init_seeded<C: Build, B: ModelBackend>(
    config: &C,
    seed: u64,
    device: &B::Device,
) -> C::Module<B> {
    let cpu = Default::default();
    let recorder = NamedMpkBytesRecorder::<FullPrecisionSettings>::new();
    drawing_weights(|| {
        Flex::seed(&cpu, seed);
        let weights =
            Recorder::<Flex>::record(&recorder, config.build::<Flex>(&cpu).into_record(), ())
                .expect("serialising fresh weights in memory cannot fail");
        let weights = numbered_ids(&weights);
        let record = Recorder::<B>::load(&recorder, weights, device)
            .expect("weights serialised just now deserialise");
        // Loading into the device model draws its lazy biases too (see `store::load`).
        config.build::<B>(device).load_record(record)
    })
}

/// `module` with its parameters numbered in order, as [`init_seeded`] numbers a fresh one: for
/// a model put together from parts numbered on their own.
pub fn numbered<B: ModelBackend, M: Module<B> + Clone>(module: M, device: &B::Device) -> M {
    let recorder = NamedMpkBytesRecorder::<FullPrecisionSettings>::new();
    let bytes = Recorder::<B>::record(&recorder, module.clone().into_record(), ())
        .expect("serialising a model in memory cannot fail");
    let record = Recorder::<B>::load(&recorder, numbered_ids(&bytes), device)
        .expect("a record serialised just now deserialises");
    module.load_record(record)
}
