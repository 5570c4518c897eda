//! burn's wgpu backend (`--features wgpu`) against flex, the default backend. wgpu runs the
//! same cubecl kernels as burn's CUDA backend (fusion, convolution, pooling, reductions,
//! autotune), compiled for Vulkan or Metal instead, so on Mesa's software Vulkan (lavapipe,
//! Debian's `mesa-vulkan-drivers`) these tests run the GPU code path on a machine without a
//! GPU. A software renderer is slow, so the model is the default architecture shrunk to a
//! few filters and trained for two steps.
#![cfg(feature = "wgpu")]

mod common;

use aelab::data::augment::Inputs;
use aelab::device::{Compute, DeviceRequest, resolve};
use aelab::model::ConvStack;
use aelab::train::Schedule;
use aelab::train::classifier::Labelled;
use aelab::train::stage::Controls;
use burn::backend::wgpu::WgpuDevice;
use burn::backend::{Autodiff, Flex, Wgpu};
use common::backends::{self, Agreement, assert_each_close};

/// The default model's shape (four layers: both poolings, both upsamplings, BatchNorm after
/// every conv) with two filters in the first layer instead of 32.
const SHRUNK: ConvStack = ConvStack {
    layers: 4,
    filter_size: 3,
    filters: 2,
};

/// 40 images: 32 to train on in two batches of 16, 8 to validate on.
const IMAGES: usize = 40;

const SCHEDULE: Schedule = Schedule {
    epochs: 1,
    batch_size: 16,
    seed: 13,
    learning_rate: aelab::train::LEARNING_RATE,
    controls: Controls::REPORT,
    inputs: Inputs::NONE,
};

/// After two training steps. The two backends sum in other orders (the GPU kernels in
/// tiles and trees). Accuracies: of 32 training and 8 validation images, one image either
/// way.
const AGREEMENT: Agreement = Agreement {
    backend: "wgpu",
    tolerance: 1e-3,
    results_tolerance: 1e-3,
    accuracy_slack: [1.0 / 32.0 + 1e-9, 1.0 / 8.0 + 1e-9],
};

/// The classifier's losses as closely (measured: the frozen epoch to 1e-7, the next to 9e-4),
/// its weights only loosely. Once the encoder is unfrozen the two backends' weights part by
/// up to three of RMSprop's first steps (about `learning rate x sqrt(10)` = 0.003 each,
/// whatever the gradient's size): 0.006-0.013 on every layer, 10% of one layer's largest
/// weight, where the autoencoder's weights agree to 4e-5 after as many steps. It cannot be
/// tightened until that cause is found (docs/gpu-notes.md; a step that RMSprop normalises
/// follows the sign of a gradient, so a gradient near zero flips with the order of a sum);
/// meanwhile a wrong kernel still shows in the losses, in [first_step_matches_flex], which
/// holds the loss, the image gradient through every layer and the output to 1e-4
/// (measured 1e-6), and the frozen stage is held exactly by
/// [the_frozen_stage_keeps_the_encoder_on_wgpu].
const CLASSIFIER_AGREEMENT: Agreement = Agreement {
    tolerance: 2e-3,
    results_tolerance: 0.15,
    ..AGREEMENT
};

/// The adapter `--device wgpu` takes, as the binary would find it.
fn wgpu_device() -> WgpuDevice {
    match resolve(DeviceRequest::Wgpu(None)) {
        Ok((Compute::Wgpu(adapter), _)) => {
            eprintln!("wgpu adapter: {}", adapter.name);
            adapter.device()
        }
        other => panic!(
            "no wgpu adapter ({other:?}): on Linux without a GPU install Mesa's software \
             Vulkan (apt install mesa-vulkan-drivers libvulkan1)"
        ),
    }
}

/// A software renderer (lavapipe in CI) is slower than the CPU backends: `auto` passes it
/// by and says why, though `--device wgpu` takes it.
#[test]
fn auto_passes_a_software_renderer_by() {
    let Ok((Compute::Wgpu(adapter), _)) = resolve(DeviceRequest::Wgpu(None)) else {
        panic!("no wgpu adapter");
    };
    let (compute, note) = resolve(DeviceRequest::Auto).unwrap();
    if adapter.software {
        assert!(!matches!(compute, Compute::Wgpu(_)), "{compute}");
        let note = note.unwrap();
        assert!(note.contains("is a software renderer"), "{note}");
    } else {
        eprintln!("{} is a GPU: auto took {compute}", adapter.name);
    }
}

/// Before training has had a chance to amplify rounding: the loss, the gradient of the loss
/// with respect to the images (through every layer backwards) and the eval output.
#[test]
fn first_step_matches_flex() {
    let images = common::mnist_images(16);
    let seed = SCHEDULE.seed;
    let flex = backends::first_step::<Autodiff<Flex>>(&SHRUNK, seed, &images, &Default::default());
    let wgpu = backends::first_step::<Autodiff<Wgpu>>(&SHRUNK, seed, &images, &wgpu_device());
    assert_each_close("wgpu", &flex, &wgpu, 1e-4);
}

#[test]
fn autoencoder_training_matches_flex() {
    let images = common::mnist_images(IMAGES);
    let flex =
        backends::autoencoder::<Autodiff<Flex>>(&SHRUNK, &SCHEDULE, &images, &Default::default());
    let wgpu = backends::autoencoder::<Autodiff<Wgpu>>(&SHRUNK, &SCHEDULE, &images, &wgpu_device());
    AGREEMENT.assert_outcomes(&flex, &wgpu);
}

/// On wgpu, as on flex: the frozen stage leaves the encoder bit-identical.
#[test]
fn the_frozen_stage_keeps_the_encoder_on_wgpu() {
    let (images, labels) = (common::mnist_images(IMAGES), common::mnist_labels(IMAGES));
    let data = Labelled {
        images: &images,
        labels: &labels,
    };
    backends::assert_the_frozen_stage_keeps_the_encoder::<Autodiff<Wgpu>>(
        &SHRUNK,
        SCHEDULE,
        data,
        &wgpu_device(),
    );
}

/// The frozen stage and the stage that trains everything, one epoch each, against flex.
#[test]
fn classifier_stages_match_flex() {
    let (images, labels) = (common::mnist_images(IMAGES), common::mnist_labels(IMAGES));
    let data = Labelled {
        images: &images,
        labels: &labels,
    };
    let flex =
        backends::classifier::<Autodiff<Flex>>(&SHRUNK, 8, SCHEDULE, data, &Default::default());
    let wgpu = backends::classifier::<Autodiff<Wgpu>>(&SHRUNK, 8, SCHEDULE, data, &wgpu_device());
    assert_eq!(
        wgpu.history.len(),
        2,
        "one frozen epoch, then one of everything"
    );
    CLASSIFIER_AGREEMENT.assert_outcomes(&flex, &wgpu);
}

/// The binary trains on wgpu and names the adapter.
#[test]
fn the_binary_trains_on_wgpu() {
    let out = tempfile::tempdir().unwrap();
    let data = common::write_images(out.path(), "images.gz", &common::mnist_images(32));
    let assert = assert_cmd::Command::cargo_bin("aelab")
        .unwrap()
        .arg("autoencoder")
        .arg("-d")
        .arg(&data)
        .args(["--layers", "2", "--filters", "2", "--epochs", "1"])
        .args([
            "--batch-size",
            "16",
            "--no-menu",
            "--device",
            "wgpu",
            "--out",
        ])
        .arg(out.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.contains("burn wgpu)"), "{stdout}");
    assert!(out.path().join("ae.mpk").exists());
}

/// No adapter at all (a Vulkan loader pointed at no driver, so that `--device wgpu` finds
/// none, as on a machine without Vulkan): one line and exit code 2, not a panic inside
/// burn's device setup.
#[test]
fn no_adapter_is_one_line() {
    let out = tempfile::tempdir().unwrap();
    let nowhere = out.path().join("none.json");
    common::assert_input_error(
        assert_cmd::Command::cargo_bin("aelab")
            .unwrap()
            .env("VK_ICD_FILENAMES", &nowhere)
            .env("VK_DRIVER_FILES", &nowhere)
            .args([
                "autoencoder",
                "--limit",
                "32",
                "--layers",
                "2",
                "--filters",
                "2",
            ])
            .args(["--epochs", "1", "--no-menu", "--device", "wgpu", "--out"])
            .arg(out.path()),
        &["error: --device wgpu: ", "no graphics adapter answers"],
    );
}
