//! One RMSprop training step of the default autoencoder (L4 FS3 FL32) at batch 64 on real
//! MNIST, split into its parts (batching, forward, forward + backward, optimizer update),
//! and one validation pass over 1,024 images, on the CPU (burn flex), or on the GPU with
//! `--features cuda` (see `common`).
//!
//! `cargo bench --bench train_step`; criterion prints the median per step.

mod common;

use std::cell::RefCell;
use std::time::Duration;

use aelab::data::dataset::image_batch;
use aelab::data::idx;
use aelab::experiment::hyper::Hyper;
use aelab::experiment::kinds::AutoencoderParam;
use aelab::train::autoencoder::{ValidationNoise, reconstruction_loss, validation_loss};
use aelab::train::{LEARNING_RATE, rmsprop};
use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};

use common::{BACKEND, Compute, Train, device, mnist, sync};

fn benches(c: &mut Criterion) {
    let path = mnist("t10k-images-idx3-ubyte.gz");
    let images = idx::read_images(&path).expect("bundled MNIST");
    let device = device();
    let batch: Vec<usize> = (0..64).collect();
    let model = RefCell::new(
        Hyper::<AutoencoderParam>::defaults()
            .architecture(images.height, images.width)
            .init::<Train>(&device),
    );
    let mut optimizer = rmsprop().init();

    let mut group = c.benchmark_group(format!("{BACKEND}_autoencoder_L4_FS3_FL32"));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("train_step_batch64", |b| {
        b.iter(|| {
            let x = image_batch::<Train>(&images, &batch, &device);
            let current = model.borrow().clone();
            let loss = reconstruction_loss(&current, x);
            let grads = GradientsParams::from_grads(loss.backward(), &current);
            *model.borrow_mut() = optimizer.step(LEARNING_RATE, current, grads);
            sync();
        })
    });
    group.bench_function("batching_batch64", |b| {
        b.iter(|| {
            let x = image_batch::<Train>(&images, &batch, &device);
            sync();
            x
        })
    });
    group.bench_function("forward_eval_batch64", |b| {
        let eval = model.borrow().valid();
        b.iter(|| {
            let y = eval.forward(image_batch::<Compute>(&images, &batch, &device));
            sync();
            y
        })
    });
    group.bench_function("forward_backward_batch64", |b| {
        b.iter(|| {
            let x = image_batch::<Train>(&images, &batch, &device);
            let grads = reconstruction_loss(&model.borrow(), x).backward();
            sync();
            grads
        })
    });
    let valid: Vec<usize> = (0..1024).collect();
    group.bench_function("validation_1024_images", |b| {
        b.iter(|| {
            validation_loss(
                &model.borrow().valid(),
                &images,
                &valid,
                ValidationNoise::NONE,
                &device,
            )
        })
    });
    group.finish();

    // The update alone: each iteration needs fresh gradients (a second of set-up), so few
    // flat samples.
    let mut optim_group = c.benchmark_group(format!("{BACKEND}_autoencoder_L4_FS3_FL32_optimizer"));
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
                sync();
                (current, grads)
            },
            |(current, grads)| {
                *model.borrow_mut() = optimizer.step(LEARNING_RATE, current, grads);
                sync();
            },
            BatchSize::PerIteration,
        )
    });
    optim_group.finish();
}

criterion_group!(train_step, benches);
criterion_main!(train_step);
