//! Helpers shared by the integration tests: small IDX files made on the fly, the tiny runs
//! the end-to-end tests make, and their results tables.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use aelab::data::idx::{self, Images};
use aelab::experiment::kinds::{AutoencoderKind, ClassifierKind};
use aelab::experiment::table::{self, Row};

/// A row of `loss_values.csv`.
pub type AeRow = Row<AutoencoderKind>;
/// A row of `classification_loss_values.csv`.
pub type ClRow = Row<ClassifierKind>;

/// The rows of the autoencoder's table under `out`.
pub fn ae_rows(out: &Path) -> Vec<AeRow> {
    table::read_rows::<AutoencoderKind>(&out.join("loss_values.csv")).unwrap()
}

/// The rows of the classifier's table under `out`.
pub fn cl_rows(out: &Path) -> Vec<ClRow> {
    table::read_rows::<ClassifierKind>(&out.join("classification_loss_values.csv")).unwrap()
}

/// `aelab autoencoder` on the CPU, from `data`, results under `out`, no hyperparameter
/// given.
pub fn autoencoder(data: &Path, out: &Path) -> Vec<String> {
    let mut args: Vec<String> = ["autoencoder", "--device", "cpu", "-d"]
        .map(String::from)
        .to_vec();
    args.push(data.display().to_string());
    args.extend(["--out".into(), out.display().to_string()]);
    args
}

/// The tiny autoencoder run the end-to-end tests train: [`autoencoder`] with 2 layers of 4
/// filters, 2 epochs of batch 32. A flag given after these overrides it (a flag given
/// twice takes its last value).
pub fn tiny_autoencoder(data: &Path, out: &Path) -> Vec<String> {
    with(
        &autoencoder(data, out),
        &[
            "--layers",
            "2",
            "--filters",
            "4",
            "--epochs",
            "2",
            "--batch-size",
            "32",
        ],
    )
}

/// `args` with `more` after them.
pub fn with(args: &[String], more: &[&str]) -> Vec<String> {
    let mut args = args.to_vec();
    args.extend(more.iter().map(|s| s.to_string()));
    args
}

/// Say that `test` could not run here and why: on stderr, and as a line of the file that
/// `AELAB_SKIPPED` names, where CI's summary lists every skipped test (the test harness has
/// no way to count a test that returns early as skipped, so it shows as passed).
pub fn skipped(test: &str, why: &str) {
    use std::io::Write;
    eprintln!("SKIPPED {test}: {why}");
    if let Some(file) = std::env::var_os("AELAB_SKIPPED") {
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
            .expect("AELAB_SKIPPED names a file that can be appended to");
        writeln!(log, "{test}: {why}").unwrap();
    }
}

/// The `aelab` binary with `args`.
pub fn aelab(args: &[String]) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("aelab").unwrap();
    cmd.args(args);
    cmd
}

/// A folder with the first `n` MNIST test images as `imgs.gz`, and `results/` in it for
/// the outputs (not made yet).
pub fn mnist_folder(n: usize) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = write_images(dir.path(), "imgs.gz", &mnist_images(n));
    let out = dir.path().join("results");
    (dir, data, out)
}

pub mod backends;

/// The bundled MNIST test images (smaller than the training file, same format).
pub fn mnist_test_images() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist/t10k-images-idx3-ubyte.gz")
}

/// The first `n` real MNIST images.
pub fn mnist_images(n: usize) -> Images {
    let mut images = idx::read_images(&mnist_test_images()).unwrap();
    images.truncate(n);
    images
}

/// `count` images of `height` x `width` with a simple moving-blob pattern.
pub fn synthetic_images(count: usize, height: usize, width: usize) -> Images {
    let mut pixels = Vec::with_capacity(count * height * width);
    for i in 0..count {
        let (cy, cx) = ((i * 7) % height, (i * 11) % width);
        for y in 0..height {
            for x in 0..width {
                let d2 = (y as i64 - cy as i64).pow(2) + (x as i64 - cx as i64).pow(2);
                pixels.push(if d2 < 16 { 255 } else { (i % 5) as u8 * 10 });
            }
        }
    }
    Images {
        count,
        height,
        width,
        pixels,
    }
}

/// Write `images` as a gzip IDX file in `dir` and return its path.
pub fn write_images(dir: &Path, name: &str, images: &Images) -> PathBuf {
    let path = dir.join(name);
    idx::write_images(&path, images, true).unwrap();
    path
}

/// The bundled MNIST test labels.
pub fn mnist_test_labels() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist/t10k-labels-idx1-ubyte.gz")
}

/// The first `n` real MNIST labels (of the test set, matching [`mnist_images`]).
pub fn mnist_labels(n: usize) -> Vec<u8> {
    let mut labels = idx::read_labels(&mnist_test_labels()).unwrap();
    labels.truncate(n);
    labels
}

/// Write `labels` as a gzip IDX file in `dir` and return its path.
pub fn write_labels(dir: &Path, name: &str, labels: &[u8]) -> PathBuf {
    let path = dir.join(name);
    idx::write_labels(&path, labels, true).unwrap();
    path
}

/// Send `child` Ctrl-C (SIGINT).
#[cfg(unix)]
pub fn ctrl_c(child: &std::process::Child) {
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    assert!(sent.unwrap().success(), "kill -INT failed");
}

/// Start `cmd` (an aelab run) with `input` on stdin, send it Ctrl-C (SIGINT) as soon as it
/// starts training `run`, and check that it stops with exit code 130, one line on stderr that
/// names the run and `table`, and no temp file beside `table`.
#[cfg(unix)]
pub fn interrupt_training(cmd: &assert_cmd::Command, input: &str, run: &str, table: &Path) {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    let mut child = Command::new(cmd.get_program())
        .args(cmd.get_args())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    // The "Training NAME" line is printed once Ctrl-C stops training rather than the process.
    // The reader is kept until the end: closing the pipe would fail the child's next print.
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let marker = format!("Training {run}");
    assert!(
        stdout.any(|line| line.unwrap().starts_with(&marker)),
        "never printed {marker:?}"
    );
    ctrl_c(&child);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(130),
        "{:?}: {stderr}",
        output.status
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("interrupted: stopped during epoch ")
            && stderr.contains(&format!(" of {run}; ")),
        "{stderr}"
    );
    assert!(stderr.contains(&table.display().to_string()), "{stderr}");
    let folder = table.parent().unwrap();
    for entry in std::fs::read_dir(folder).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(
            !name.to_string_lossy().contains("partial-"),
            "{name:?} left"
        );
    }
    drop(stdout);
}

/// Run `cmd`, expect exit 2 and one line of error on stderr mentioning every part of `wanted`.
pub fn assert_input_error(cmd: &mut assert_cmd::Command, wanted: &[&str]) {
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    for part in wanted {
        assert!(stderr.contains(part), "{part:?} not in {stderr}");
    }
}
