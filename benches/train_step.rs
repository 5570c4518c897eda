//! One RMSprop training step of the default autoencoder (L4 FS3 FL32) at batch 64 on real
//! MNIST, split into its parts (batching, forward, forward + backward, optimizer update),
//! and one validation pass over 1,024 images, on the CPU (burn flex).
//!
//! `cargo bench --bench train_step`; criterion prints the median per step.

use std::cell::RefCell;
use std::time::Duration;

use aelab::data::dataset::image_batch;
use aelab::data::idx;
use aelab::experiment::hyper::AeHyper;
use aelab::train::autoencoder::{reconstruction_loss, validation_loss};
use aelab::train::{LEARNING_RATE, rmsprop};
use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};

type Train = Autodiff<Flex>;

fn benches(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/mnist/t10k-images-idx3-ubyte.gz");
    let images = idx::read_images(&path).expect("bundled MNIST");
    let device = Default::default();
    let batch: Vec<usize> = (0..64).collect();
    let model = RefCell::new(AeHyper::SEED_BASE.architecture().init::<Train>(&device));
    let mut optimizer = rmsprop().init();

    let mut group = c.benchmark_group("autoencoder_L4_FS3_FL32");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("train_step_batch64", |b| {
        b.iter(|| {
            let x = image_batch::<Train>(&images, &batch, &device);
            let current = model.borrow().clone();
            let loss = reconstruction_loss(&current, x);
            let grads = GradientsParams::from_grads(loss.backward(), &current);
            *model.borrow_mut() = optimizer.step(LEARNING_RATE, current, grads);
        })
    });
    group.bench_function("batching_batch64", |b| {
        b.iter(|| image_batch::<Train>(&images, &batch, &device))
    });
    group.bench_function("forward_eval_batch64", |b| {
        let eval = model.borrow().valid();
        b.iter(|| eval.forward(image_batch::<Flex>(&images, &batch, &device)))
    });
    group.bench_function("forward_backward_batch64", |b| {
        b.iter(|| {
            let x = image_batch::<Train>(&images, &batch, &device);
            reconstruction_loss(&model.borrow(), x).backward()
        })
    });
    let valid: Vec<usize> = (0..1024).collect();
    group.bench_function("validation_1024_images", |b| {
        b.iter(|| validation_loss(&model.borrow().valid(), &images, &valid, &device))
    });
    group.finish();

    // The update alone: each iteration needs fresh gradients (a second of set-up), so few
    // flat samples.
    let mut optim_group = c.benchmark_group("autoencoder_L4_FS3_FL32_optimizer");
    optim_group.sample_size(10);
    optim_group.sampling_mode(SamplingMode::Flat);
    optim_group.measurement_time(Duration::from_secs(1));
    optim_group.bench_function("rmsprop_update", |b| {
        b.iter_batched(
            || {
                let current = model.borrow().clone();
                let x = image_batch::<Train>(&images, &batch, &device);
                let grads = GradientsParams::from_grads(
                    reconstruction_loss(&current, x).backward(),
                    &current,
                );
                (current, grads)
            },
            |(current, grads)| {
                *model.borrow_mut() = optimizer.step(LEARNING_RATE, current, grads);
            },
            BatchSize::PerIteration,
        )
    });
    optim_group.finish();
}

criterion_group!(train_step, benches);
criterion_main!(train_step);
