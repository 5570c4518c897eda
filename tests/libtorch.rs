//! LibTorch (`--features tch`) against flex, the default backend: one seed gives both the
//! same initial weights, split and batches, so a few training steps must give the same losses
//! up to float rounding (the two sum in other orders, and RMSprop's divisions let such
//! differences grow a little with each step).
#![cfg(feature = "tch")]

mod common;

use aelab::data::augment::Inputs;
use aelab::model::batch_norm::BatchNorm2d;
use aelab::model::{AutoencoderConfig, ConvStack, ModelBackend, TrainBackend};
use aelab::train::Schedule;
use aelab::train::classifier::Labelled;
use aelab::train::stage::Controls;
use burn::backend::libtorch::LibTorchDevice;
use burn::backend::{Autodiff, Flex, LibTorch};
use burn::module::AutodiffModule;
use burn::tensor::{Tensor, TensorData};
use common::backends::{self, Agreement, assert_each_close};

/// After ten steps (2 epochs of 5). Each conv's bias feeds a BatchNorm, which cancels it, so
/// its gradient is rounding noise, and RMSprop scales that noise up to a full step: the
/// biases (and through the running means, the eval losses) drift apart a little with every
/// step, however the two backends sum. Measured up to 4e-4 here (the first step agrees to
/// 1e-7: [first_step_matches_flex] holds every layer to 1e-5), so a wrong gradient or layer
/// still fails. Accuracies: of 160 training and 40 validation images, one image either way.
const AGREEMENT: Agreement = Agreement {
    backend: "libtorch",
    tolerance: 2e-3,
    results_tolerance: 2e-3,
    accuracy_slack: [0.01, 0.025],
};

/// Three layers: both poolings, both upsamplings, BatchNorm everywhere; a few filters.
const SMALL: AutoencoderConfig = AutoencoderConfig::convolutional(ConvStack {
    layers: 3,
    filter_size: 3,
    filters: 4,
});

const SCHEDULE: Schedule = Schedule {
    epochs: 2,
    batch_size: 32,
    seed: 13,
    learning_rate: aelab::train::LEARNING_RATE,
    controls: Controls::REPORT,
    inputs: Inputs::NONE,
};

const CPU: LibTorchDevice = LibTorchDevice::Cpu;

#[test]
fn autoencoder_training_matches_flex() {
    let images = common::mnist_images(200);
    let flex = backends::autoencoder::<Autodiff<Flex>>(
        &SMALL.stack,
        &SCHEDULE,
        &images,
        &Default::default(),
    );
    let torch = backends::autoencoder::<Autodiff<LibTorch>>(&SMALL.stack, &SCHEDULE, &images, &CPU);
    // The reconstruction only: after ten RMSprop steps single weights may part by whole
    // steps (see tests/wgpu.rs), which the reconstruction averages out.
    let (mut flex, mut torch) = (flex, torch);
    flex.results.truncate(1);
    torch.results.truncate(1);
    AGREEMENT.assert_outcomes(&flex, &torch);
    assert!(
        torch.history[1].loss < torch.history[0].loss,
        "{:?}",
        torch.history
    );
}

#[test]
fn classifier_stages_match_flex() {
    let (images, labels) = (common::mnist_images(200), common::mnist_labels(200));
    let data = Labelled {
        images: &images,
        labels: &labels,
    };
    let flex = backends::classifier::<Autodiff<Flex>>(
        &SMALL.stack,
        16,
        SCHEDULE,
        data,
        &Default::default(),
    );
    let torch = backends::classifier::<Autodiff<LibTorch>>(&SMALL.stack, 16, SCHEDULE, data, &CPU);
    assert_eq!(
        torch.history.len(),
        4,
        "two frozen epochs, then two of everything"
    );
    AGREEMENT.assert_histories(&flex.history, &torch.history);
}

/// On LibTorch, as on flex: the frozen stage leaves the encoder bit-identical.
#[test]
fn the_frozen_stage_keeps_the_encoder_on_libtorch() {
    let (images, labels) = (common::mnist_images(200), common::mnist_labels(200));
    let data = Labelled {
        images: &images,
        labels: &labels,
    };
    backends::assert_the_frozen_stage_keeps_the_encoder::<Autodiff<LibTorch>>(
        &SMALL.stack,
        SCHEDULE,
        data,
        &CPU,
    );
}

/// Before any training has had a chance to amplify rounding, every layer, forward and
/// backward, agrees closely: LibTorch runs its convolutions channels-last with the bias
/// inside and its own nearest upsampling, flex its batched convolutions, aelab's bias add and
/// repeat-based upsampling.
#[test]
fn first_step_matches_flex() {
    let images = common::mnist_images(16);
    let seed = SCHEDULE.seed;
    let flex =
        backends::first_step::<Autodiff<Flex>>(&SMALL.stack, seed, &images, &Default::default());
    let torch = backends::first_step::<Autodiff<LibTorch>>(&SMALL.stack, seed, &images, &CPU);
    assert_each_close("libtorch", &flex, &torch, 1e-5);
}

/// One training step of BatchNorm and one evaluation on `B`, from the same numbers: the
/// output, the gradients of input, scale and shift, the running statistics after the step
/// and the evaluation output, each flattened.
fn batch_norm_step<B: TrainBackend>(
    inputs: &[Vec<f32>; 2],
    run_on: &B::Device,
) -> Vec<(String, Vec<f32>)> {
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
    let results = [
        ("output", flat(y.into_data())),
        ("dx", flat(x.grad(&grads).unwrap().into_data())),
        (
            "dgamma",
            flat(norm.gamma.val().grad(&grads).unwrap().into_data()),
        ),
        (
            "dbeta",
            flat(norm.beta.val().grad(&grads).unwrap().into_data()),
        ),
        ("running mean", flat(norm.running_mean.value().into_data())),
        ("running var", flat(norm.running_var.value().into_data())),
        ("eval", flat(eval.into_data())),
    ];
    results
        .map(|(name, values)| (name.to_string(), values))
        .into()
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
    let torch = batch_norm_step::<Autodiff<LibTorch>>(&inputs, &CPU);
    // Kernels that sum in another order, no training to amplify it.
    assert_each_close("libtorch", &flex, &torch, 1e-4);
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
    common::assert_input_error(
        assert_cmd::Command::cargo_bin("aelab")
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
            .arg(out.path()),
        &["error: --device libtorch-cuda:7: "],
    );
}

/// LibTorch's CPU kernels give the same run to the bit while two threads keep the cores
/// busy (as flex does: tests/reproducible.rs).
#[test]
fn an_autoencoder_trains_to_the_bit_the_same_on_a_busy_machine() {
    let images = common::mnist_images(320);
    backends::assert_reproducible(|| {
        backends::autoencoder::<Autodiff<LibTorch>>(&SMALL.stack, &SCHEDULE, &images, &CPU)
    });
}

#[test]
fn a_classifier_trains_to_the_bit_the_same_on_a_busy_machine() {
    let (images, labels) = (common::mnist_images(320), common::mnist_labels(320));
    let data = Labelled {
        images: &images,
        labels: &labels,
    };
    backends::assert_reproducible(|| {
        backends::classifier::<Autodiff<LibTorch>>(&SMALL.stack, 16, SCHEDULE, data, &CPU)
    });
}
