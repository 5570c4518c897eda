//! Loading and decoding the bundled MNIST on the CPU: the 60,000 training images (gzip,
//! 9.9 MB -> 47 MB), their labels, and turning 64 of them into one `[64, 1, 28, 28]` f32
//! batch (burn flex; on the GPU, copied there, with `--features cuda`), which every training
//! step does: plain, or moved at random (`--shift 0.1 --rotation 10 --zoom 0.1`) with noise
//! (`--noise 0.2`); and the dropout mask of the default classifier's 12,544 features
//! (`--dropout 0.5`). Compare them with `train_step`'s step of the default model.
//!
//! `cargo bench --bench data_loading` (under a minute); criterion prints the medians.

use std::time::Duration;

use aelab::data::augment::{Augment, Inputs};
use aelab::data::dataset::{Rng, image_batch, pixel_batch};
use aelab::data::idx;
use aelab::train::classifier::dropout_mask;
use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use common::{BACKEND, Compute, device, mnist, sync};

fn benches(c: &mut Criterion) {
    let images_path = mnist("train-images-idx3-ubyte.gz");
    let labels_path = mnist("train-labels-idx1-ubyte.gz");

    // Reading the images takes a few hundred ms, so few samples and a short window.
    let mut files = c.benchmark_group("mnist_train_files");
    files.sample_size(10);
    files.warm_up_time(Duration::from_secs(1));
    files.measurement_time(Duration::from_secs(8));
    files.bench_function("read_images_60000", |b| {
        b.iter(|| idx::read_images(&images_path).expect("bundled MNIST images"))
    });
    files.bench_function("read_labels_60000", |b| {
        b.iter(|| idx::read_labels(&labels_path).expect("bundled MNIST labels"))
    });
    files.finish();

    // One training batch as training builds it: 64 scattered (shuffled) indices, so the
    // copies touch the whole 47 MB buffer rather than one contiguous run of images.
    let images = idx::read_images(&images_path).expect("bundled MNIST images");
    let mut order: Vec<usize> = (0..images.count).collect();
    Rng::new(13).shuffle(&mut order);
    let batch = &order[..64];
    let device = device();
    let mut batching = c.benchmark_group(format!("{BACKEND}_mnist_batch"));
    batching.warm_up_time(Duration::from_secs(1));
    batching.measurement_time(Duration::from_secs(3));
    batching.bench_function("image_batch_64", |b| {
        b.iter(|| {
            let x = image_batch::<Compute>(&images, batch, &device);
            sync();
            x
        })
    });
    let inputs = Inputs {
        augment: Augment {
            shift: 0.1,
            rotation: 10.0,
            zoom: 0.1,
        },
        noise: 0.2,
    };
    batching.bench_function("augmented_batch_64", |b| {
        let mut rng = Rng::new(5);
        b.iter(|| {
            let pixels = inputs.batch(&images, batch, &mut rng).input();
            let x = pixel_batch::<Compute>(pixels, &images, &device);
            sync();
            x
        })
    });
    batching.bench_function("dropout_mask_64x12544", |b| {
        let mut rng = Rng::new(5);
        b.iter(|| {
            let mask = dropout_mask::<Compute>(64, 256 * 7 * 7, 0.5, &mut rng, &device);
            sync();
            mask
        })
    });
    batching.finish();
}

criterion_group!(data_loading, benches);
criterion_main!(data_loading);
