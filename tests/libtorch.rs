//! LibTorch (`--features tch`) against flex, the default backend: one seed gives both the
//! same initial weights, split and batches, so a few training steps must give the same losses
//! up to float rounding (the two sum in other orders, and RMSprop's divisions let such
//! differences grow a little with each step).
#![cfg(feature = "tch")]

mod common;

use aelab::data::dataset::{Split, image_batch};
use aelab::data::idx::Images;
use aelab::model::batch_norm::BatchNorm2d;
use aelab::model::seeded::init_seeded;
use aelab::model::{AutoencoderConfig, ClassifierConfig, ModelBackend, TrainBackend};
use aelab::train::autoencoder::{reconstruction_loss, train_autoencoder};
use aelab::train::classifier::{Labelled, LossKind, Trainer, train_classifier};
use aelab::train::epochs::Start;
use aelab::train::progress::Silent;
use aelab::train::{Accuracy, EpochStats, Metrics, NoMetrics, Schedule};
use burn::backend::libtorch::LibTorchDevice;
use burn::backend::{Autodiff, Flex, LibTorch};
use burn::module::AutodiffModule;
use burn::tensor::{Tensor, TensorData};

/// Relative difference allowed between the two backends' losses and outputs after ten steps
/// (2 epochs of 5). Each conv's bias feeds a BatchNorm, which cancels it, so its gradient is
/// rounding noise, and RMSprop scales that noise up to a full step: the biases (and through
/// the running means, the eval losses) drift apart a little with every step, however the two
/// backends sum. Measured up to 4e-4 here (the first step agrees to 1e-7:
/// [first_step_matches_flex] holds every layer to 1e-5), so a wrong gradient or layer still
/// fails.
const TOLERANCE: f64 = 2e-3;

/// Three layers: both poolings, both upsamplings, BatchNorm everywhere; a few filters.
const SMALL: AutoencoderConfig = AutoencoderConfig {
    layers: 3,
    filter_size: 3,
    filters: 4,
};

const SCHEDULE: Schedule = Schedule {
    epochs: 2,
    batch_size: 32,
    seed: 13,
};

fn assert_close(what: &str, flex: f64, torch: f64) {
    let relative = (flex - torch).abs() / flex.abs().max(1e-12);
    assert!(
        relative <= TOLERANCE,
        "{what}: flex {flex}, libtorch {torch} (relative difference {relative:.2e})"
    );
}

/// The accuracy an epoch's metrics hold, if they hold one.
trait AccuracyOf {
    fn accuracy(&self) -> Option<Accuracy>;
}

impl AccuracyOf for NoMetrics {
    fn accuracy(&self) -> Option<Accuracy> {
        None
    }
}

impl AccuracyOf for Accuracy {
    fn accuracy(&self) -> Option<Accuracy> {
        Some(*self)
    }
}

fn assert_same_history<M: Metrics + AccuracyOf>(flex: &[EpochStats<M>], torch: &[EpochStats<M>]) {
    assert_eq!(flex.len(), torch.len());
    for (f, t) in flex.iter().zip(torch) {
        eprintln!(
            "epoch {}: loss flex {} libtorch {}, val_loss flex {} libtorch {}",
            f.epoch, f.loss, t.loss, f.val_loss, t.val_loss
        );
        assert_close(&format!("epoch {} loss", f.epoch), f.loss, t.loss);
        assert_close(
            &format!("epoch {} val_loss", f.epoch),
            f.val_loss,
            t.val_loss,
        );
        if let (Some(fa), Some(ta)) = (f.metrics.accuracy(), t.metrics.accuracy()) {
            // One image in 160 may fall either side of a tie.
            assert!((fa.train - ta.train).abs() <= 0.01, "{fa:?} {ta:?}");
            assert!((fa.valid - ta.valid).abs() <= 0.025, "{fa:?} {ta:?}");
        }
    }
}

/// Each named pair of flattened results agrees: the largest difference, relative to the
/// largest flex value, is at most `tolerance`.
fn assert_each_close(names: &[&str], flex: &[Vec<f32>], torch: &[Vec<f32>], tolerance: f64) {
    assert_eq!((flex.len(), torch.len()), (names.len(), names.len()));
    for ((name, f), t) in names.iter().zip(flex).zip(torch) {
        assert_eq!(f.len(), t.len(), "{name}");
        let scale = f.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        let worst = f
            .iter()
            .zip(t)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        eprintln!("{name}: worst difference {worst:e} relative to {scale:e}");
        assert!(
            f64::from(worst / scale) <= tolerance,
            "{name}: differs by up to {worst} (largest value {scale})"
        );
    }
}

/// The trained model's reconstruction of a few images, as plain numbers.
fn reconstruct<B: TrainBackend>(
    images: &Images,
    run_on: &B::Device,
) -> (Vec<EpochStats<NoMetrics>>, Vec<f32>) {
    let split = Split::new(images.count, SCHEDULE.seed);
    let run = train_autoencoder::<B>(
        images,
        &split,
        &SMALL,
        &SCHEDULE,
        Start::fresh(),
        run_on,
        &mut Silent,
    )
    .unwrap();
    let batch = image_batch::<B::InnerBackend>(images, &[0, 1, 2, 3], run_on);
    let output = run
        .model
        .valid()
        .forward(batch)
        .into_data()
        .to_vec()
        .unwrap();
    (run.history, output)
}

#[test]
fn autoencoder_training_matches_flex() {
    let images = common::mnist_images(200);
    let (flex, flex_out) = reconstruct::<Autodiff<Flex>>(&images, &Default::default());
    let (torch, torch_out) = reconstruct::<Autodiff<LibTorch>>(&images, &LibTorchDevice::Cpu);
    assert_same_history(&flex, &torch);
    assert!(torch[1].loss < torch[0].loss, "{torch:?}");
    let worst = flex_out
        .iter()
        .zip(&torch_out)
        .map(|(f, t)| (f - t).abs())
        .fold(0f32, f32::max);
    assert!(
        f64::from(worst) <= TOLERANCE,
        "reconstructions differ by up to {worst}"
    );
}

fn classify<B: TrainBackend>(
    images: &Images,
    labels: &[u8],
    run_on: &B::Device,
) -> Vec<EpochStats<Accuracy>> {
    let data = Labelled { images, labels };
    let split = Split::new(images.count, SCHEDULE.seed);
    let config = ClassifierConfig {
        encoder: SMALL,
        fc_units: 16,
        classes: 10,
        height: 28,
        width: 28,
    };
    let encoder = init_seeded::<_, B>(&SMALL, SCHEDULE.seed, run_on).encoder;
    let model = config.on_encoder(encoder, SCHEDULE.seed, run_on);
    let trainer = Trainer::new(data, &split, 10, SCHEDULE, LossKind::CrossEntropy, run_on);
    train_classifier(trainer, model, &config, &mut Silent)
        .unwrap()
        .history
}

#[test]
fn classifier_stages_match_flex() {
    let (images, labels) = (common::mnist_images(200), common::mnist_labels(200));
    let flex = classify::<Autodiff<Flex>>(&images, &labels, &Default::default());
    let torch = classify::<Autodiff<LibTorch>>(&images, &labels, &LibTorchDevice::Cpu);
    assert_eq!(torch.len(), 4, "two frozen epochs, then two of everything");
    assert_same_history(&flex, &torch);
}

/// From the seed's initial weights, on `B`: the training-mode loss of a batch, the gradient of
/// that loss with respect to the images (it flows back through every layer), and the
/// eval-mode reconstruction of the same batch, each flattened.
fn first_step<B: TrainBackend>(images: &Images, run_on: &B::Device) -> Vec<Vec<f32>> {
    let flat = |data: TensorData| data.to_vec::<f32>().unwrap();
    let model = init_seeded::<_, B>(&SMALL, SCHEDULE.seed, run_on);
    let batch = image_batch::<B>(images, &(0..16).collect::<Vec<_>>(), run_on).require_grad();
    let loss = reconstruction_loss(&model, batch.clone());
    let grads = loss.backward();
    let eval = model.valid().forward(batch.clone().inner());
    vec![
        flat(loss.into_data()),
        flat(batch.grad(&grads).unwrap().into_data()),
        flat(eval.into_data()),
    ]
}

/// Before any training has had a chance to amplify rounding, every layer, forward and
/// backward, agrees closely: LibTorch runs its convolutions channels-last with the bias
/// inside and its own nearest upsampling, flex its batched convolutions, aelab's bias add and
/// repeat-based upsampling.
#[test]
fn first_step_matches_flex() {
    let images = common::mnist_images(16);
    let flex = first_step::<Autodiff<Flex>>(&images, &Default::default());
    let torch = first_step::<Autodiff<LibTorch>>(&images, &LibTorchDevice::Cpu);
    assert_each_close(
        &["loss", "image gradient", "eval reconstruction"],
        &flex,
        &torch,
        1e-5,
    );
}

/// One training step of BatchNorm and one evaluation on `B`, from the same numbers: the
/// output, the gradients of input, scale and shift, the running statistics after the step
/// and the evaluation output, each flattened.
fn batch_norm_step<B: TrainBackend>(inputs: &[Vec<f32>; 2], run_on: &B::Device) -> Vec<Vec<f32>> {
    let shape = [6, 5, 7, 4];
    let tensor = |values: &Vec<f32>| {
        Tensor::<B, 4>::from_data(TensorData::new(values.clone(), shape), run_on)
    };
    let flat = |data: TensorData| data.to_vec::<f32>().unwrap();
    let norm = BatchNorm2d::<B>::new(shape[1], 1e-3, 0.01, run_on);
    let x = tensor(&inputs[0]).require_grad();
    let y = norm.forward(x.clone());
    let grads = (y.clone() * tensor(&inputs[1])).sum().backward();
    let eval = norm.valid().forward(tensor(&inputs[1]).inner());
    vec![
        flat(y.into_data()),
        flat(x.grad(&grads).unwrap().into_data()),
        flat(norm.gamma.val().grad(&grads).unwrap().into_data()),
        flat(norm.beta.val().grad(&grads).unwrap().into_data()),
        flat(norm.running_mean.value().into_data()),
        flat(norm.running_var.value().into_data()),
        flat(eval.into_data()),
    ]
}

/// LibTorch runs BatchNorm as its own fused kernels (`native_batch_norm` and its backward),
/// flex as aelab's (`batch_norm_cpu`, which a unit test holds to burn's `BatchNorm`).
#[test]
fn fused_batch_norm_matches_flex() {
    const { assert!(<Autodiff<LibTorch> as ModelBackend>::FUSED_BATCH_NORM) };
    // Post-ReLU-like values with a per-element offset, so channels differ in mean and spread.
    let inputs = [0.37f32, 0.11].map(|step| {
        (0..6 * 5 * 7 * 4)
            .map(|i| ((i as f32 * step).sin() * 2.0 + (i % 5) as f32).max(0.0))
            .collect::<Vec<_>>()
    });
    let flex = batch_norm_step::<Autodiff<Flex>>(&inputs, &Default::default());
    let torch = batch_norm_step::<Autodiff<LibTorch>>(&inputs, &LibTorchDevice::Cpu);
    let names = [
        "output",
        "dx",
        "dgamma",
        "dbeta",
        "running mean",
        "running var",
        "eval",
    ];
    // Kernels that sum in another order, no training to amplify it.
    assert_each_close(&names, &flex, &torch, 1e-4);
}

/// The binary finds libtorch by itself (an rpath set at build time) and says where it runs.
#[test]
fn the_binary_trains_on_libtorch_without_library_path() {
    let out = tempfile::tempdir().unwrap();
    let data = common::write_images(out.path(), "images.gz", &common::mnist_images(96));
    let assert = assert_cmd::Command::cargo_bin("aelab")
        .unwrap()
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("GOMP_SPINCOUNT")
        .arg("autoencoder")
        .arg("-d")
        .arg(&data)
        .args([
            "--layers",
            "2",
            "--filters",
            "4",
            "--epochs",
            "1",
            "--no-menu",
        ])
        .args(["--device", "libtorch", "--out"])
        .arg(out.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.contains("on CPU (LibTorch)"), "{stdout}");
    assert!(out.path().join("ae.mpk").exists());
}

/// No usable CUDA GPU for LibTorch: one line and exit code 2, not a panic inside tch.
#[test]
fn libtorch_cuda_without_a_gpu_is_one_line() {
    let out = tempfile::tempdir().unwrap();
    let output = assert_cmd::Command::cargo_bin("aelab")
        .unwrap()
        .args([
            "autoencoder",
            "--limit",
            "64",
            "--layers",
            "2",
            "--filters",
            "4",
        ])
        .args([
            "--epochs",
            "1",
            "--no-menu",
            "--device",
            "libtorch-cuda:7",
            "--out",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: --device libtorch-cuda:7: "),
        "{stderr}"
    );
}
