//! Initial weights drawn on the CPU from a seed, then moved to the training device: one seed
//! gives the same starting model on every backend, so CPU and GPU runs can be compared.

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

/// Build `config`'s module with weights drawn from `seed` (on the CPU), on `device`, its
/// parameters numbered in order (burn's own ids are random, and are written to its files).
pub fn init_seeded<C: Build, B: ModelBackend>(
    config: &C,
    seed: u64,
    device: &B::Device,
) -> C::Module<B> {
    let cpu = Default::default();
    let recorder = NamedMpkBytesRecorder::<FullPrecisionSettings>::new();
    // flex's seeded generator is this thread's (vendor/burn-flex/src/backend.rs), so no other
    // thread's draw comes between the seed and these.
    Flex::seed(&cpu, seed);
    let weights = Recorder::<Flex>::record(&recorder, config.build::<Flex>(&cpu).into_record(), ())
        .expect("serialising fresh weights in memory cannot fail");
    let weights = numbered_ids(&weights);
    let record = Recorder::<B>::load(&recorder, weights, device)
        .expect("weights serialised just now deserialise");
    config.build::<B>(device).load_record(record)
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use burn::backend::Flex;
    use burn::module::Module;

    use super::init_seeded;
    use crate::model::{AutoencoderConfig, ConvStack};
    use crate::train::checkpoint::record_bytes;

    /// Tests and jobs build unseeded models on other threads while a seeded one is drawn:
    /// with one generator for the process their draws came between a seed and its weights.
    #[test]
    fn a_seed_gives_the_same_weights_while_other_threads_draw() {
        let config = AutoencoderConfig::convolutional(ConvStack {
            layers: 2,
            filter_size: 3,
            filters: 2,
        });
        let seeded = || {
            let model = init_seeded::<_, Flex>(&config, 7, &Default::default());
            record_bytes::<Flex, _>(model.into_record())
        };
        let alone = seeded();
        let done = AtomicBool::new(false);
        let changed = std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    while !done.load(Ordering::Relaxed) {
                        drop(config.init::<Flex>(&Default::default()).into_record());
                    }
                });
            }
            let changed = (0..50).filter(|_| seeded() != alone).count();
            // Stopped before asserting: a panic here would wait on the drawing threads.
            done.store(true, Ordering::Relaxed);
            changed
        });
        assert_eq!(
            changed, 0,
            "seeded draws that changed beside other draws, of 50"
        );
    }
}
