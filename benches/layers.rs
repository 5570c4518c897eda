//! Per-layer costs on the CPU (burn flex): forward + backward of BatchNorm on the default
//! model's largest activation, ours against burn's, so a change to either shows up here.
//!
//! `cargo bench --bench layers`

use std::time::Duration;

use aelab::model::batch_norm::BatchNorm2d;
use burn::backend::{Autodiff, Flex};
use burn::nn::BatchNormConfig;
use burn::tensor::{Distribution, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};

type A = Autodiff<Flex>;

/// The first encoder layer's output at batch 64: [64, 32, 28, 28].
const SHAPE: [usize; 4] = [64, 32, 28, 28];

fn batch_norm(c: &mut Criterion) {
    let device = Default::default();
    let x = Tensor::<A, 4>::random(SHAPE, Distribution::Default, &device);
    let ours = BatchNorm2d::<A>::new(SHAPE[1], 1e-3, 0.01, &device);
    let theirs = BatchNormConfig::new(SHAPE[1])
        .with_epsilon(1e-3)
        .with_momentum(0.01)
        .init::<A>(&device);

    let mut group = c.benchmark_group("batch_norm_64x32x28x28_fwd_bwd");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("aelab_BatchNorm2d", |b| {
        b.iter(|| ours.forward(x.clone().require_grad()).sum().backward())
    });
    group.bench_function("burn_BatchNorm", |b| {
        b.iter(|| theirs.forward(x.clone().require_grad()).sum().backward())
    });
    group.finish();
}

criterion_group!(layers, batch_norm);
criterion_main!(layers);
