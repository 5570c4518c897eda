//! The classifier: two-stage training on real MNIST, and `aelab classify` end to end (its
//! errors, the piped menu, sweeps). Tiny models and a few hundred images, for a 2-core CI.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use aelab::data::augment::Inputs;
use aelab::data::dataset::Split;
use aelab::experiment::kinds::ClassifierParam;
use aelab::model::{AutoencoderConfig, ClassifierConfig, ConvStack, Encoder};
use aelab::train::classifier::{Labelled, LossKind, Recipe, Trainer, train_classifier};
use aelab::train::epochs::Start;
use aelab::train::progress::Silent;
use aelab::train::stage::Controls;
use aelab::train::{Schedule, TrainError};
use assert_cmd::Command;
use burn::backend::{Autodiff, Flex};
use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::Tensor;
use common::{assert_input_error, cl_rows};

type Train = Autodiff<Flex>;

const ENCODER: ConvStack = ConvStack {
    layers: 2,
    filter_size: 3,
    filters: 4,
};

fn config(classes: usize) -> ClassifierConfig {
    ClassifierConfig {
        encoder: ENCODER,
        fc_units: 16,
        classes,
        height: 28,
        width: 28,
    }
}

#[test]
fn the_frozen_stage_leaves_the_encoder_bit_identical() {
    let (images, labels) = (common::mnist_images(200), common::mnist_labels(200));
    let data = Labelled {
        images: &images,
        labels: &labels,
    };
    let schedule = Schedule {
        epochs: 2,
        batch_size: 32,
        seed: 13,
        learning_rate: aelab::train::LEARNING_RATE,
        controls: Controls::REPORT,
        inputs: Inputs::NONE,
    };
    common::backends::assert_the_frozen_stage_keeps_the_encoder::<Train>(
        &ENCODER,
        schedule,
        data,
        &Default::default(),
    );
}

/// Makes every weight NaN, as a diverged run would.
struct Poison;

impl ModuleMapper<Train> for Poison {
    fn map_float<const D: usize>(
        &mut self,
        param: Param<Tensor<Train, D>>,
    ) -> Param<Tensor<Train, D>> {
        param.map(|t| t.mul_scalar(f32::NAN))
    }
}

#[test]
fn a_nan_loss_stops_training_naming_the_epoch() {
    let (images, labels) = (common::mnist_images(64), common::mnist_labels(64));
    let data = Labelled {
        images: &images,
        labels: &labels,
    };
    let split = Split::new(images.count, 13);
    let device = Default::default();
    let model = config(10)
        .on_encoder(Encoder::new(&ENCODER, &device), 13, &device)
        .map(&mut Poison);
    let schedule = Schedule {
        epochs: 2,
        batch_size: 32,
        seed: 13,
        learning_rate: aelab::train::LEARNING_RATE,
        controls: Controls::REPORT,
        inputs: Inputs::NONE,
    };
    let trainer = Trainer::new(
        data,
        &split,
        10,
        Recipe::report(schedule),
        LossKind::CrossEntropy,
        &device,
    );
    let err = train_classifier(trainer, model, &config(10), &mut Silent)
        .err()
        .expect("a NaN model cannot train");
    assert!(
        matches!(err, TrainError::NonFinite { epoch: 1, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("epoch 1") && message.contains("smaller batch size"),
        "{message}"
    );
}

/// Train a tiny autoencoder, then a classifier on its encoder, on `n` MNIST images.
fn train_on_mnist(
    n: usize,
    loss: LossKind,
) -> Vec<aelab::train::EpochStats<aelab::train::Accuracy>> {
    let (images, labels) = (common::mnist_images(n), common::mnist_labels(n));
    let split = Split::new(images.count, 13);
    let device = Default::default();
    let autoencoder = aelab::train::autoencoder::train_autoencoder::<Train>(
        &images,
        &split,
        &AutoencoderConfig::convolutional(ConvStack {
            layers: 2,
            filter_size: 3,
            filters: 4,
        }),
        // Enough steps for BatchNorm's running statistics (momentum 0.99) to settle.
        &Schedule {
            epochs: 3,
            batch_size: 16,
            seed: 13,
            learning_rate: aelab::train::LEARNING_RATE,
            controls: Controls::REPORT,
            inputs: Inputs::NONE,
        },
        Start::fresh(),
        &device,
        &mut Silent,
    )
    .unwrap();
    let schedule = Schedule {
        epochs: 4,
        batch_size: 16,
        seed: 13,
        learning_rate: aelab::train::LEARNING_RATE,
        controls: Controls::REPORT,
        inputs: Inputs::NONE,
    };
    let config = config(10);
    let model = config.on_encoder(autoencoder.model.encoder, 13, &device);
    let data = Labelled {
        images: &images,
        labels: &labels,
    };
    let trainer = Trainer::new(data, &split, 10, Recipe::report(schedule), loss, &device);
    train_classifier(trainer, model, &config, &mut Silent)
        .unwrap()
        .history
}

#[test]
fn the_classifier_learns_well_above_chance() {
    let history = train_on_mnist(500, LossKind::CrossEntropy);
    let first = history.first().unwrap();
    let last = history.last().unwrap();
    let accuracy = last.metrics;
    assert!(last.loss < first.loss, "{history:?}");
    // Chance is 0.1 with ten classes.
    assert!(accuracy.valid > 0.5, "{history:?}");
    assert!(accuracy.train > 0.5, "{history:?}");
}

#[test]
fn the_seed_reports_mse_loss_also_trains() {
    let history = train_on_mnist(300, LossKind::Mse);
    let (first, last) = (history.first().unwrap(), history.last().unwrap());
    // MSE on softmax against one-hot targets: at most 2 / classes, and falling.
    assert!(first.loss < 0.2 && last.loss < first.loss, "{history:?}");
    assert!(last.metrics.valid > 0.2, "{history:?}");
}

// --- the command line ---

/// A folder with tiny MNIST files (`n` images) and a tiny autoencoder trained on them.
struct Fixture {
    dir: tempfile::TempDir,
    images: PathBuf,
    labels: PathBuf,
    out: PathBuf,
    model: PathBuf,
}

fn fixture(n: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let images = common::write_images(dir.path(), "imgs.gz", &common::mnist_images(n));
    let labels = common::write_labels(dir.path(), "labels.gz", &common::mnist_labels(n));
    let out = dir.path().join("results");
    let autoencoder = common::tiny_autoencoder(&images, &out);
    common::aelab(&common::with(&autoencoder, &["--epochs", "1", "--no-menu"]))
        .assert()
        .success();
    let model = out.join("ae.mpk");
    Fixture {
        dir,
        images,
        labels,
        out,
        model,
    }
}

impl Fixture {
    /// `aelab classify` on the fixture's files, seed-style flags, the test set = the training set.
    fn classify(&self) -> Command {
        self.classify_to(&self.out)
    }

    /// As [`Self::classify`], results under `out`.
    fn classify_to(&self, out: &Path) -> Command {
        let mut cmd = Command::cargo_bin("aelab").unwrap();
        cmd.args(["classify", "--device", "cpu", "-d"])
            .arg(&self.images)
            .arg("-dl")
            .arg(&self.labels)
            .arg("-t")
            .arg(&self.images)
            .arg("-tl")
            .arg(&self.labels)
            .arg("-model")
            .arg(&self.model)
            .arg("--out")
            .arg(out);
        cmd
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn assert_png(path: &Path) -> (u32, u32) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (img.width(), img.height())
}

#[test]
fn the_piped_menu_reruns_plots_predicts_and_exits() {
    let f = fixture(200);
    // Rerun with 8 FC units; plot; predict; exit.
    let answers = "1\n2\n8\n2\n3\n4\n";
    let assert = f
        .classify()
        .args(["--epochs", "1", "--batch-size", "32", "--fc-units", "16"])
        .write_stdin(answers)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("Training L2_FC16_E1_B32"), "{stdout}");
    assert!(stdout.contains("Training L2_FC8_E1_B32"), "{stdout}");
    assert!(stdout.contains("Stage 1 of 2"), "{stdout}");
    assert!(stdout.contains("val_accuracy"), "{stdout}");

    let correct: usize = number_after(&stdout, "Found ", " correct labels");
    let incorrect: usize = number_after(&stdout, "Found ", " incorrect labels");
    assert_eq!(correct + incorrect, 200);
    let report = fs::read_to_string(f.out.join("classification_report.txt")).unwrap();
    assert!(
        report.contains("precision    recall  f1-score   support"),
        "{report}"
    );
    assert!(report.contains("weighted avg"), "{report}");
    assert!(
        stdout.contains(report.trim_end()),
        "the report is printed too"
    );

    let rows = cl_rows(&f.out);
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0].figures.metrics.valid >= rows[1].figures.metrics.valid,
        "{rows:?}"
    );
    let (w, h) = assert_png(&f.out.join("L2_FCx_E1_B32.png"));
    assert!(w > h, "two panels side by side: {w}x{h}");
    for name in [
        "Training_and_validation_loss.png",
        "Training_and_validation_accuracy.png",
        "found_correct.png",
        "found_incorrect.png",
        "confusion_matrix.png",
    ] {
        assert_png(&f.out.join(name));
    }
    let card = fs::read_to_string(f.out.join("classifier.json")).unwrap();
    assert!(card.contains("\"kind\": \"classifier\""), "{card}");
    assert!(f.out.join("classifier.mpk").exists());
}

fn number_after(text: &str, before: &str, after: &str) -> usize {
    text.lines()
        .find_map(|l| l.strip_prefix(before)?.strip_suffix(after)?.parse().ok())
        .unwrap_or_else(|| panic!("no '{before}N{after}' in {text}"))
}

#[test]
fn a_sweep_without_menu_trains_each_value_graphs_and_predicts() {
    let f = fixture(120);
    f.classify()
        .args([
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--sweep",
            "layers=1",
            "--loss",
            "mse",
        ])
        .assert()
        .success();
    let rows = cl_rows(&f.out);
    let mut layers: Vec<usize> = rows
        .iter()
        .map(|r| r.whole(ClassifierParam::Layers))
        .collect();
    layers.sort();
    assert_eq!(layers, [1, 2]);
    assert_png(&f.out.join("Lx_FC32_E1_B32.png"));
    assert!(f.out.join("classification_report.txt").exists());
    assert!(f.out.join("confusion_matrix.png").exists());
    // The saved classifier is the one the report describes: the base run's (2 layers), not
    // the sweep's last.
    let card: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(f.out.join("classifier.json")).unwrap()).unwrap();
    assert_eq!(card["architecture"]["encoder"]["layers"], 2, "{card}");
    assert!(!f.out.join("checkpoints").exists(), "checkpoints removed");
}

/// Each run of a sweep starts from the encoder as it was loaded: an earlier run's training
/// (BatchNorm's running statistics, which burn's clones share) must not reach the next.
#[test]
fn a_classifier_sweep_gives_each_run_what_it_gets_alone() {
    let f = fixture(300);
    let fc16 = |rows: Vec<common::ClRow>| {
        let row = rows
            .into_iter()
            .find(|r| r.whole(ClassifierParam::FcUnits) == 16)
            .expect("a row of FC 16");
        (row.figures.loss, row.figures.val_loss, row.figures.metrics)
    };
    let flags = ["--epochs", "2", "--batch-size", "32", "--no-menu"];
    let (swept, alone) = (f.path("swept"), f.path("alone"));
    let run = |out: &Path, args: [&str; 2]| {
        f.classify_to(out).args(flags).args(args).assert().success();
        cl_rows(out)
    };
    assert_eq!(
        fc16(run(&swept, ["--sweep", "fc_units=8,16"])),
        fc16(run(&alone, ["--fc-units", "16"]))
    );
}

/// The stage controls from the command line: stage 1 stops early and keeps its best epoch,
/// stage 2 starts after it at its own rate (`--fine-tune-factor`) with the encoder's
/// BatchNorm on its running statistics, and the row says where each stage ended.
#[test]
fn early_stopping_and_fine_tuning_controls_shape_the_two_stages() {
    let f = fixture(300);
    let output = f
        .classify()
        .args([
            "--epochs",
            "6",
            "--batch-size",
            "32",
            "--fc-units",
            "8",
            "--no-menu",
        ])
        .args(["--lr", "0.01", "--keep", "best", "--patience", "1"])
        .args(["--fine-tune-factor", "0.1", "--fine-tune-bn", "running"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&output.get_output().stdout).to_string();
    let rows = cl_rows(&f.out);
    let figures = rows[0].figures;
    let [Some(first), Some(second)] = figures.stages else {
        panic!("both stages recorded: {figures:?}");
    };
    assert!(first.last < 6, "stage 1 stopped early: {stdout}");
    assert_eq!(first.last, first.best + 1, "{stdout}");
    assert!(stdout.contains(&format!(
        "stopped early after epoch {}: no better validation figure for 1 epoch;",
        first.last
    )));
    // Stage 2's epochs follow stage 1's last, at a tenth of the rate.
    let next = first.last + 1;
    assert!(
        stdout.contains(&format!("epoch {next}/12 "))
            && stdout
                .lines()
                .any(|l| l.starts_with(&format!("epoch {next}/12 ")) && l.contains("lr 1.00e-3")),
        "{stdout}"
    );
    assert!(
        second.best > first.last && second.last >= second.best,
        "{figures:?}"
    );
    assert!(f.out.join("Training_and_validation_loss.png").exists());
}

/// Dropout and augmentation draw from the seed: the same flags give the same run, bit for
/// bit, and dropout trains differently from none; the row and the run name record them.
#[test]
fn dropout_and_augmentation_are_seeded_and_recorded() {
    let f = fixture(200);
    let run = |out: &str, dropout: &str| {
        let out = f.path(out);
        let output = f
            .classify_to(&out)
            .args(["--epochs", "2", "--batch-size", "32", "--fc-units", "8"])
            .args(["--shift", "0.1", "--rotation", "10", "--zoom", "0.1"])
            .args(["--dropout", dropout, "--no-menu"])
            .assert()
            .success();
        let stdout = String::from_utf8_lossy(&output.get_output().stdout).to_string();
        let row = cl_rows(&out).remove(0);
        (stdout, row)
    };
    let (stdout, dropped) = run("a", "0.5");
    assert!(
        stdout.contains("Training L2_FC8_E2_B32_SH1e-1_ROT10_Z1e-1_DO5e-1"),
        "{stdout}"
    );
    assert_eq!(dropped.hyper.decimal(ClassifierParam::Dropout), 0.5);
    assert_eq!(dropped.whole(ClassifierParam::Rotation), 10);
    let (_, again) = run("b", "0.5");
    let (_, kept) = run("c", "0");
    let losses =
        |row: &common::ClRow| (row.figures.loss, row.figures.val_loss, row.figures.metrics);
    assert_eq!(losses(&again), losses(&dropped));
    assert_ne!(losses(&kept).0, losses(&dropped).0);
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_classifier_sweep_with_every_finished_run_kept() {
    let f = fixture(120);
    let table = f.out.join("classification_loss_values.csv");
    let mut cmd = f.classify();
    // 1000 epochs: long enough that the run cannot finish before Ctrl-C reaches it.
    cmd.args([
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--sweep",
        "epochs=1000",
    ]);
    common::interrupt_training(&cmd, "", "L2_FC32_E1000_B32", &table);
    let rows = cl_rows(&f.out);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].whole(ClassifierParam::Epochs), 1);
    assert!(!f.out.join("classification_report.txt").exists());
}

#[test]
fn mismatched_labels_are_refused_before_training() {
    let f = fixture(64);
    let short = common::write_labels(f.dir.path(), "short.gz", &common::mnist_labels(50));
    assert_input_error(
        f.classify().arg("-dl").arg(&short).arg("--no-menu"),
        &["short.gz", "50 labels", "64 images"],
    );

    // Training labels 0..=4 make five classes; a test label 7 is not one of them.
    let few: Vec<u8> = common::mnist_labels(64).iter().map(|l| l % 5).collect();
    let few = common::write_labels(f.dir.path(), "few.gz", &few);
    assert_input_error(
        f.classify().arg("-dl").arg(&few).arg("--no-menu"),
        &["labels.gz", "label", "5 classes"],
    );
}

#[test]
fn a_test_set_of_another_size_is_refused() {
    let f = fixture(64);
    let other = common::write_images(
        f.dir.path(),
        "big.gz",
        &common::synthetic_images(64, 32, 32),
    );
    assert_input_error(
        f.classify().arg("-t").arg(&other).arg("--no-menu"),
        &["big.gz", "32x32", "28x28"],
    );
}

#[test]
fn a_missing_or_mismatched_model_card_is_refused() {
    let f = fixture(64);
    let json = f.out.join("ae.json");
    let text = fs::read_to_string(&json).unwrap();

    fs::write(&json, text.replace("\"filters\": 4", "\"filters\": 8")).unwrap();
    assert_input_error(f.classify().arg("--no-menu"), &["ae.mpk", "do not match"]);

    fs::write(
        &json,
        text.replace("\"kind\": \"autoencoder\"", "\"kind\": \"classifier\""),
    )
    .unwrap();
    assert_input_error(
        f.classify().arg("--no-menu"),
        &["ae.json", "not an autoencoder"],
    );

    // A card from images of another size: the data no longer fits the encoder's training.
    fs::write(&json, text.replace("\"height\": 28", "\"height\": 32")).unwrap();
    assert_input_error(
        f.classify().arg("--no-menu"),
        &["imgs.gz", "28x28", "ae.mpk", "32x28"],
    );

    fs::write(&json, &text).unwrap();
    assert_input_error(
        f.classify().args(["--layers", "3", "--no-menu"]),
        &["between 1 and 2", "ae.mpk"],
    );

    fs::remove_file(&json).unwrap();
    assert_input_error(
        f.classify().arg("--no-menu"),
        &["ae.json", "file not found"],
    );

    let nothing = f.path("nowhere");
    let mut cmd = Command::cargo_bin("aelab").unwrap();
    cmd.args(["classify", "--device", "cpu", "--no-menu", "--out"])
        .arg(&nothing);
    assert_input_error(&mut cmd, &["ae.mpk", "aelab autoencoder"]);
}

// --- aelab predict ---

impl Fixture {
    /// `aelab predict` with the classifier under `out`, on the fixture's images.
    fn predict(&self, out: &Path) -> Command {
        let mut cmd = Command::cargo_bin("aelab").unwrap();
        cmd.args(["predict", "--device", "cpu", "-model"])
            .arg(self.out.join("classifier.mpk"))
            .arg("-t")
            .arg(&self.images)
            .arg("--out")
            .arg(out);
        cmd
    }
}

#[test]
fn a_saved_classifier_predicts_what_classify_predicted() {
    let f = fixture(200);
    f.classify()
        .args(["--epochs", "1", "--batch-size", "32", "--no-menu"])
        .assert()
        .success();
    let from_classify = std::fs::read_to_string(f.out.join("predictions.csv")).unwrap();
    assert!(from_classify.starts_with("Index,Predicted,Probability,Label\n"));
    assert_eq!(
        from_classify.lines().count(),
        201,
        "a header and one row per image"
    );

    // With the labels: the same predictions, the same report and pictures.
    let labelled = f.path("labelled");
    let assert = f
        .predict(&labelled)
        .arg("-tl")
        .arg(&f.labels)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("correct labels"), "{stdout}");
    let read = |dir: &Path, name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    assert_eq!(read(&labelled, "predictions.csv"), from_classify);
    assert_eq!(
        read(&labelled, "classification_report.txt"),
        read(&f.out, "classification_report.txt")
    );
    for picture in [
        "found_correct.png",
        "found_incorrect.png",
        "confusion_matrix.png",
    ] {
        assert_png(&labelled.join(picture));
    }

    // Without labels: predictions only, the same classes and probabilities.
    let unlabelled = f.path("unlabelled");
    f.predict(&unlabelled).assert().success();
    let rows = read(&unlabelled, "predictions.csv");
    let without_label: Vec<String> = from_classify
        .lines()
        .map(|line| line.rsplit_once(',').unwrap().0.to_string())
        .collect();
    assert_eq!(rows.lines().collect::<Vec<_>>(), without_label);
    for row in rows.lines().skip(1) {
        let probability: f64 = row.split(',').nth(2).unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&probability), "{row}");
    }
    assert!(!unlabelled.join("classification_report.txt").exists());
}

#[test]
fn predict_refuses_an_autoencoder_a_damaged_file_and_other_sizes() {
    let f = fixture(64);
    let mut autoencoder = f.predict(&f.path("a"));
    autoencoder.arg("-model").arg(&f.model);
    assert_input_error(
        &mut autoencoder,
        &["ae.json", "an autoencoder, not a classifier"],
    );

    f.classify()
        .args(["--epochs", "1", "--batch-size", "32", "--no-menu"])
        .assert()
        .success();
    let small = common::write_images(
        f.dir.path(),
        "small.gz",
        &aelab::data::idx::Images {
            count: 2,
            height: 8,
            width: 8,
            pixels: vec![0; 128],
        },
    );
    let mut other_size = f.predict(&f.path("b"));
    other_size.arg("-t").arg(&small);
    assert_input_error(&mut other_size, &["small.gz", "8x8", "28x28"]);

    let mpk = f.out.join("classifier.mpk");
    let mut bytes = std::fs::read(&mpk).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&mpk, bytes).unwrap();
    assert_input_error(&mut f.predict(&f.path("c")), &["classifier.mpk"]);
}
