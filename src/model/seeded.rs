//! Initial weights drawn on the CPU from a seed, then moved to the training device: one seed
//! gives the same starting model on every backend, so CPU and GPU runs can be compared.

use burn::backend::Flex;
use burn::module::Module;
use burn::prelude::*;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};

/// A configuration that builds the same module on any backend.
pub trait Build {
    type Module<B: Backend>: Module<B>;
    fn build<B: Backend>(&self, device: &B::Device) -> Self::Module<B>;
}

/// Build `config`'s module with weights drawn from `seed` (on the CPU), on `device`.
pub fn init_seeded<C: Build, B: Backend>(
    config: &C,
    seed: u64,
    device: &B::Device,
) -> C::Module<B> {
    let cpu = Default::default();
    Flex::seed(&cpu, seed);
    let recorder = NamedMpkBytesRecorder::<FullPrecisionSettings>::new();
    let weights = Recorder::<Flex>::record(&recorder, config.build::<Flex>(&cpu).into_record(), ())
        .expect("serialising fresh weights in memory cannot fail");
    let record = Recorder::<B>::load(&recorder, weights, device)
        .expect("weights serialised just now deserialise");
    config.build::<B>(device).load_record(record)
}
