//! What a per-epoch checkpoint of the default autoencoder (L4 FS3 FL32) costs: its weights
//! and RMSprop state serialised, and the file written atomically (flushed to disk), on the
//! CPU (burn flex). Compare with an epoch of the same model (README: about 150 s on 2 cores).
//!
//! `cargo bench --bench checkpoint`; criterion prints the median per checkpoint, then the
//! file's size.

mod common;

use std::time::Duration;

use aelab::data::dataset::{Rng, image_batch};
use aelab::data::idx;
use aelab::experiment::hyper::Hyper;
use aelab::experiment::kinds::AutoencoderParam;
use aelab::train::autoencoder::reconstruction_loss;
use aelab::train::checkpoint::{Checkpoint, Identity, Position, Records, record_bytes};
use aelab::train::{LEARNING_RATE, NoMetrics, rmsprop};
use burn::module::Module;
use burn::optim::{GradientsParams, Optimizer};
use criterion::{Criterion, criterion_group, criterion_main};

use common::{BACKEND, Train, device, mnist};

fn benches(c: &mut Criterion) {
    let images = idx::read_images(&mnist("t10k-images-idx3-ubyte.gz")).expect("bundled MNIST");
    let device = device();
    let batch: Vec<usize> = (0..64).collect();
    let model = Hyper::<AutoencoderParam>::defaults()
        .architecture(images.height, images.width)
        .init::<Train>(&device);
    let mut optimizer = rmsprop().init();
    // One step, so the optimizer holds its state for every parameter.
    let loss = reconstruction_loss(&model, image_batch::<Train>(&images, &batch, &device));
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let model = optimizer.step(LEARNING_RATE, model, grads);

    let dir = tempfile::tempdir().expect("a temp folder");
    let checkpoint = Checkpoint::in_folder(dir.path(), "L4_FS3_FL32_E100_B64", Identity(vec![]));
    // A full-MNIST run's position: 48,000 training images in shuffled order.
    let position = Position::<NoMetrics> {
        epochs_done: 1,
        epochs_total: 100,
        train_seconds: 150.0,
        history: vec![],
        rng: Rng::new(13),
        order: (0..48_000).collect(),
        stages: vec![],
        stage: None,
    };

    let mut group = c.benchmark_group(format!("{BACKEND}_checkpoint_L4_FS3_FL32"));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("save", |b| {
        b.iter(|| {
            let records = Records {
                model: record_bytes::<Train, _>(model.clone().into_record()),
                optimizer: record_bytes::<Train, _>(optimizer.to_record()),
                best: None,
            };
            checkpoint
                .save(&position, &records)
                .expect("checkpoint written");
        })
    });
    group.finish();
    // What the file takes on disk, beside criterion's time per write.
    let file = dir.path().join("checkpoints/L4_FS3_FL32_E100_B64.ckpt");
    let bytes = std::fs::metadata(&file)
        .expect("the checkpoint was written")
        .len();
    println!(
        "checkpoint of L4 FS3 FL32 ({BACKEND}): {bytes} bytes ({:.1} MB), model record {} bytes",
        bytes as f64 / 1e6,
        record_bytes::<Train, _>(model.clone().into_record()).len()
    );
}

criterion_group!(checkpoint, benches);
criterion_main!(checkpoint);
