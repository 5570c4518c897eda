//! `aelab score` end to end: a tiny autoencoder trained on one digit scores test images,
//! writes every file, and tells that digit from the others better than chance; bad input is
//! one line and exit code 2.

mod common;

use std::fs;
use std::path::Path;

use common::{aelab, assert_input_error, with};

/// Writes the first 600 MNIST test images and their labels under `dir` and trains a tiny
/// autoencoder under `dir/ae` on those of class `digit` (`--classes`).
fn trained_on_one_digit(dir: &Path, digit: u8) -> (String, String) {
    let images = common::write_images(dir, "test.gz", &common::mnist_images(600));
    let labels = common::write_labels(dir, "test-labels.gz", &common::mnist_labels(600));
    let (images, labels) = (images.display().to_string(), labels.display().to_string());
    let args = with(
        &common::tiny_autoencoder(Path::new(&images), &dir.join("ae")),
        &[
            "--epochs",
            "30",
            "--batch-size",
            "8",
            "--lr",
            "0.003",
            "--no-menu",
        ],
    );
    let classes = ["--dl", &labels, "--classes", &digit.to_string()].map(String::from);
    aelab(&with(&args, &classes.each_ref().map(String::as_str)))
        .assert()
        .success();
    (images, labels)
}

#[test]
fn an_autoencoder_trains_on_the_classes_asked_for_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    trained_on_one_digit(dir.path(), 1);
    let ones = common::mnist_labels(600)
        .iter()
        .filter(|&&l| l == 1)
        .count();
    let table = fs::read_to_string(dir.path().join("ae/loss_values.csv")).unwrap();
    let header: Vec<&str> = table.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = table.lines().nth(1).unwrap().split(',').collect();
    let column = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(column("Classes"), "1");
    assert_eq!(column("Images"), ones.to_string());

    let images = dir.path().join("test.gz").display().to_string();
    let run = |more: &[&str]| {
        let args = common::tiny_autoencoder(Path::new(&images), &dir.path().join("other"));
        with(&with(&args, &["--no-menu"]), more)
    };
    assert_input_error(
        &mut aelab(&run(&["--classes", "1"])),
        &["--classes needs the training images' labels: give --dl FILE"],
    );
    let labels = dir.path().join("test-labels.gz").display().to_string();
    assert_input_error(
        &mut aelab(&run(&["--dl", &labels, "--classes", "12,13"])),
        &["test-labels.gz: no image is of class 12 or 13 (--classes)"],
    );
}

fn score(dir: &Path, more: &[&str]) -> Vec<String> {
    let model = dir.join("ae/ae.mpk").display().to_string();
    let out = dir.join("scored").display().to_string();
    let args = ["score", "--device", "cpu", "--model", &model, "--out", &out];
    with(&args.map(String::from), more)
}

#[test]
fn scores_tell_the_trained_digit_from_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (test, labels) = trained_on_one_digit(dir.path(), 1);
    let output = aelab(&score(
        dir.path(),
        &["-t", &test, "--tl", &labels, "--normal", "1"],
    ))
    .assert()
    .success();
    let stdout = String::from_utf8_lossy(&output.get_output().stdout).to_string();
    let out = dir.path().join("scored");
    for file in [
        "scores.csv",
        "score_summary.csv",
        "score_histogram.png",
        "worst_reconstructed.png",
        "roc_curve.png",
    ] {
        assert!(out.join(file).exists(), "{file} missing: {stdout}");
    }
    let scores = fs::read_to_string(out.join("scores.csv")).unwrap();
    let mut lines = scores.lines();
    assert_eq!(lines.next(), Some("Index,MSE,PSNR,SSIM,Label"));
    let rows: Vec<Vec<f64>> = lines
        .map(|line| line.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 600);
    for row in &rows {
        // MSE in (0, 1], PSNR its dB, SSIM at most 1: written so that NaN fails.
        assert!(row[1] > 0.0 && row[1] <= 1.0, "{row:?}");
        assert!((row[2] + 10.0 * row[1].log10()).abs() < 1e-3, "{row:?}");
        assert!(row[3] <= 1.0 && row[3] > -1.0, "{row:?}");
    }
    let summary = fs::read_to_string(out.join("score_summary.csv")).unwrap();
    let auc: f64 = summary
        .lines()
        .nth(1)
        .and_then(|row| row.rsplit(',').next())
        .and_then(|auc| auc.parse().ok())
        .unwrap_or(f64::NAN);
    // Ones are the easiest digit to reconstruct, so the others stand out clearly.
    assert!(auc > 0.8 && auc <= 1.0, "AUC {auc}: {summary}");
    assert!(
        stdout.contains(&format!(
            "ROC AUC of telling class 1 from the other classes by MSE: {auc:.4}"
        )),
        "{stdout}"
    );
}

#[test]
fn bad_score_input_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (test, labels) = trained_on_one_digit(dir.path(), 1);
    // --normal without labels.
    assert_input_error(
        &mut aelab(&score(dir.path(), &["-t", &test, "--normal", "1"])),
        &["--normal 1 needs the images' labels"],
    );
    // A class no image is of.
    assert_input_error(
        &mut aelab(&score(
            dir.path(),
            &["-t", &test, "--tl", &labels, "--normal", "12"],
        )),
        &["test-labels.gz: no image is of class 12"],
    );
    // No autoencoder there.
    let missing = dir.path().join("none/ae.mpk").display().to_string();
    assert_input_error(
        &mut aelab(&with(
            &["score", "--model", &missing, "-t", &test].map(String::from),
            &[],
        )),
        &["none/ae.mpk: file not found"],
    );
    assert!(!dir.path().join("scored/scores.csv").exists());
}
