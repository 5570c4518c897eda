//! Per-layer costs of the default autoencoder (L4 FS3 FL32, batch 64, 28x28) on the CPU
//! (burn flex), forward + backward each, so anyone can see where a training step goes:
//! every conv shape (as the model runs it, `block::convolve`, and burn's `Conv2d::forward`
//! with the bias inside), BatchNorm (ours against burn's), max pooling and the upsampling.
//!
//! On the GPU with `--features cuda` (see `common`).
//!
//! `cargo bench --bench layers`

mod common;

use std::time::Duration;

use aelab::model::batch_norm::BatchNorm2d;
use aelab::model::block::convolve;
use aelab::model::decoder::upsample_nearest_2x;
use burn::nn::conv::Conv2dConfig;
use burn::nn::pool::MaxPool2dConfig;
use burn::nn::{BatchNormConfig, PaddingConfig2d};
use burn::tensor::{Distribution, Tensor};
use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};

use common::{BACKEND, Train as A, device, sync};

const BATCH: usize = 64;

/// (channels in, channels out, height = width) of every conv in the default model, in order.
const CONVS: [(usize, usize, usize); 9] = [
    (1, 32, 28),   // encoder 1
    (32, 64, 14),  // encoder 2
    (64, 128, 7),  // encoder 3
    (128, 256, 7), // encoder 4
    (256, 256, 7), // decoder 1
    (256, 128, 7), // decoder 2
    (128, 64, 7),  // decoder 3, then upsampling
    (64, 32, 14),  // decoder 4, then upsampling
    (32, 1, 28),   // output conv
];

fn input(shape: [usize; 4]) -> Tensor<A, 4> {
    Tensor::random(shape, Distribution::Default, &device())
}

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(format!("{BACKEND}_{name}"));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group
}

fn convolutions(c: &mut Criterion) {
    let device = device();
    let mut group = group(c, "conv3x3_fwd_bwd_batch64");
    for (cin, cout, size) in CONVS {
        let conv = Conv2dConfig::new([cin, cout], [3, 3])
            .with_padding(PaddingConfig2d::Same)
            .init::<A>(&device);
        let x = input([BATCH, cin, size, size]);
        group.bench_function(format!("{cin}to{cout}_{size}x{size}"), |b| {
            b.iter(|| {
                let out = convolve(&conv, x.clone().require_grad()).sum().backward();
                sync();
                out
            })
        });
        group.bench_function(format!("{cin}to{cout}_{size}x{size}_burn_bias"), |b| {
            b.iter(|| {
                let out = conv.forward(x.clone().require_grad()).sum().backward();
                sync();
                out
            })
        });
    }
    group.finish();
}

fn batch_norm(c: &mut Criterion) {
    let device = device();
    let shape = [BATCH, 32, 28, 28];
    let x = input(shape);
    let ours = BatchNorm2d::<A>::new(shape[1], 1e-3, 0.01, &device);
    let theirs = BatchNormConfig::new(shape[1])
        .with_epsilon(1e-3)
        .with_momentum(0.01)
        .init::<A>(&device);
    let mut group = group(c, "batch_norm_64x32x28x28_fwd_bwd");
    group.bench_function("aelab_BatchNorm2d", |b| {
        b.iter(|| {
            let out = ours.forward(x.clone().require_grad()).sum().backward();
            sync();
            out
        })
    });
    group.bench_function("burn_BatchNorm", |b| {
        b.iter(|| {
            let out = theirs.forward(x.clone().require_grad()).sum().backward();
            sync();
            out
        })
    });
    group.finish();
}

fn pool_and_upsample(c: &mut Criterion) {
    let mut group = group(c, "resampling_fwd_bwd");
    let pool = MaxPool2dConfig::new([2, 2]).init();
    let x = input([BATCH, 32, 28, 28]);
    group.bench_function("max_pool_64x32x28x28", |b| {
        b.iter(|| {
            let out = pool.forward(x.clone().require_grad()).sum().backward();
            sync();
            out
        })
    });
    let x = input([BATCH, 64, 7, 7]);
    group.bench_function("upsample_64x64x7x7", |b| {
        b.iter(|| {
            let out = upsample_nearest_2x(x.clone().require_grad())
                .sum()
                .backward();
            sync();
            out
        })
    });
    let x = input([BATCH, 32, 14, 14]);
    group.bench_function("upsample_64x32x14x14", |b| {
        b.iter(|| {
            let out = upsample_nearest_2x(x.clone().require_grad())
                .sum()
                .backward();
            sync();
            out
        })
    });
    group.finish();
}

criterion_group!(layers, convolutions, batch_norm, pool_and_upsample);
criterion_main!(layers);
