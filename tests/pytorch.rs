//! `aelab export` end to end: a tiny autoencoder and a classifier on it, trained, exported
//! as safetensors and loaded by scripts/pytorch_model.py into PyTorch modules, whose
//! reconstructions and class probabilities must agree with aelab's own to 1e-5 on 64 test
//! images. Runs where a python with torch and safetensors is found ($PYTHON, else python3;
//! CI's LibTorch venv has both), and counts as skipped elsewhere. Bad input: one line, exit 2.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use aelab::data::dataset::image_batch;
use aelab::model::store;
use aelab::model::{AutoencoderConfig, ClassifierConfig};
use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use common::{aelab, assert_input_error, with};

const COMPARED: usize = 64;
const TOLERANCE: f32 = 1e-5;

#[test]
fn pytorch_reproduces_the_exported_models_outputs() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", "import torch, safetensors"])
        .output();
    match probe {
        Ok(output) if output.status.success() => {}
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let why = stderr.trim().lines().last().unwrap_or("").to_string();
            return common::skipped(
                "pytorch_reproduces_the_exported_models_outputs",
                &format!("{python} has no torch and safetensors ({why})"),
            );
        }
        Err(e) => {
            return common::skipped(
                "pytorch_reproduces_the_exported_models_outputs",
                &format!("{python}: {e}"),
            );
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let images = common::write_images(dir.path(), "imgs.gz", &common::mnist_images(200));
    let labels = common::write_labels(dir.path(), "labels.gz", &common::mnist_labels(200));
    let out = dir.path().join("results");
    // Three layers (one unpooled) and an even kernel, which pads one more after than before.
    let autoencoder = with(
        &common::tiny_autoencoder(&images, &out),
        &[
            "--layers",
            "3",
            "--filter-size",
            "4",
            "--epochs",
            "1",
            "--no-menu",
        ],
    );
    aelab(&autoencoder).assert().success();
    let path = |p: &Path| p.display().to_string();
    let classify = [
        "classify",
        "--device",
        "cpu",
        "--no-menu",
        "-d",
        &path(&images),
        "-dl",
        &path(&labels),
        "-t",
        &path(&images),
        "-tl",
        &path(&labels),
        "-model",
        &path(&out.join("ae.mpk")),
        "--out",
        &path(&out),
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--fc-units",
        "16",
    ];
    aelab(&classify.map(String::from)).assert().success();

    // The default file beside the model, and one named with -o.
    aelab(&["export", "--model", &path(&out.join("ae.mpk"))].map(String::from))
        .assert()
        .success();
    let classifier_file = dir.path().join("cl.safetensors");
    let export = [
        "export",
        "-model",
        &path(&out.join("classifier")),
        "-o",
        &path(&classifier_file),
    ];
    aelab(&export.map(String::from)).assert().success();

    let device = Default::default();
    let shown = common::mnist_images(COMPARED);
    let batch = image_batch::<Flex>(&shown, &(0..COMPARED).collect::<Vec<_>>(), &device);
    let (model, _) = store::load::<AutoencoderConfig, Flex>(&out.join("ae.mpk"), &device).unwrap();
    let ours = values(model.forward(batch.clone()));
    let theirs = pytorch(&python, &out.join("ae.safetensors"), &images, dir.path());
    assert_agree(&ours, &theirs, "reconstructions");

    let (model, _) =
        store::load::<ClassifierConfig, Flex>(&out.join("classifier.mpk"), &device).unwrap();
    let ours = values(softmax(model.forward(batch.clone()), 1));
    let theirs = pytorch(&python, &classifier_file, &images, dir.path());
    assert_agree(&ours, &theirs, "class probabilities");

    // An autoencoder with a fully connected code.
    let coded_out = dir.path().join("coded");
    let coded = with(
        &common::tiny_autoencoder(&images, &coded_out),
        &["--code", "6", "--epochs", "1", "--no-menu"],
    );
    aelab(&coded).assert().success();
    let coded_model = coded_out.join("ae.mpk");
    aelab(&["export", "--model", &path(&coded_model)].map(String::from))
        .assert()
        .success();
    let (model, _) = store::load::<AutoencoderConfig, Flex>(&coded_model, &device).unwrap();
    assert!(
        model.code.is_some(),
        "--code 6 trains a fully connected code"
    );
    let ours = values(model.forward(batch));
    let theirs = pytorch(
        &python,
        &coded_out.join("ae.safetensors"),
        &images,
        dir.path(),
    );
    assert_agree(
        &ours,
        &theirs,
        "reconstructions through a fully connected code",
    );
}

fn values<const D: usize>(tensor: Tensor<Flex, D>) -> Vec<f32> {
    tensor.into_data().to_vec::<f32>().unwrap()
}

/// scripts/pytorch_model.py's outputs of `model` on the first images of `images`.
fn pytorch(python: &str, model: &Path, images: &Path, dir: &Path) -> Vec<f32> {
    let written = dir.join("pytorch.f32");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pytorch_model.py");
    let output = Command::new(python)
        .arg(script)
        .arg(model)
        .arg("--images")
        .arg(images)
        .args(["--count", &COMPARED.to_string(), "--write"])
        .arg(&written)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    fs::read(&written)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

fn assert_agree(ours: &[f32], theirs: &[f32], what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}: how many values");
    let worst = ours
        .iter()
        .zip(theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(
            0.0f32,
            |worst, d| if d.is_nan() { f32::NAN } else { worst.max(d) },
        );
    // Written so that NaN fails.
    assert!(
        worst <= TOLERANCE,
        "{what}: PyTorch differs from aelab by up to {worst}"
    );
}

#[test]
fn bad_export_input_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing.mpk");
    let export = |model: &Path| {
        let mut cmd = assert_cmd::Command::cargo_bin("aelab").unwrap();
        cmd.args(["export", "--model"]).arg(model);
        cmd
    };
    assert_input_error(&mut export(&missing), &["nothing.mpk", "file not found"]);

    let garbled = dir.path().join("garbled.mpk");
    fs::write(&garbled, b"not weights").unwrap();
    fs::write(dir.path().join("garbled.json"), b"{ not json").unwrap();
    assert_input_error(&mut export(&garbled), &["garbled.json", "model card"]);

    let mut cmd = export(&garbled);
    cmd.args(["--format", "onnx"]);
    assert_input_error(&mut cmd, &["onnx"]);
    assert!(!dir.path().join("garbled.safetensors").exists());
}
