//! Initial weights drawn on the CPU from a seed, then moved to the training device: one seed
//! gives the same starting model on every backend, so CPU and GPU runs can be compared.

use std::sync::Mutex;

use burn::backend::Flex;
use burn::module::Module;
use burn::prelude::*;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};

use super::backend::ModelBackend;

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

/// Build `config`'s module with weights drawn from `seed` (on the CPU), on `device`.
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
        let record = Recorder::<B>::load(&recorder, weights, device)
            .expect("weights serialised just now deserialise");
        // Loading into the device model draws its lazy biases too (see `store::load`).
        config.build::<B>(device).load_record(record)
    })
}
