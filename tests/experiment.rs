//! The experiment loop end to end: the piped menu, `--sweep`, and what survives a kill.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use aelab::experiment::kinds::AutoencoderKind;
use aelab::experiment::kinds::AutoencoderParam;
use aelab::experiment::table::read_rows;
use assert_cmd::Command;
use common::ae_rows;

/// Tiny runs (`common::tiny_autoencoder`) on `images` MNIST images.
fn setup(images: usize) -> (tempfile::TempDir, PathBuf, PathBuf) {
    common::mnist_folder(images)
}

/// The tiny run on `data`, results under `out`.
fn aelab(data: &Path, out: &Path) -> Command {
    common::aelab(&common::tiny_autoencoder(data, out))
}

fn filters(row: &common::AeRow) -> usize {
    row.whole(AutoencoderParam::Filters)
}

fn epochs(row: &common::AeRow) -> usize {
    row.whole(AutoencoderParam::Epochs)
}

/// Check a PNG decodes and has the given size.
fn assert_png(path: &Path, size: (u32, u32)) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!((img.width(), img.height()), size, "{}", path.display());
}

#[test]
fn the_piped_menu_reruns_plots_saves_and_exits() {
    let (_dir, data, out) = setup(100);
    // Rerun with filters 2; rerun with epochs 1; plot; save under the default name; map the
    // latent space; exit.
    let answers = "1\n3\n2\n1\n4\n1\n2\n3\n\n4\n5\n";
    let assert = aelab(&data, &out).write_stdin(answers).assert().success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("Training L2_FS3_FL2_E2_B32"), "{stdout}");
    assert!(
        stdout.contains("Training L2_FS3_FL4_E1_B32"),
        "the base is restored: {stdout}"
    );

    assert_png(&out.join("L2_FS3_FLx_E2_B32.png"), (900, 600));
    assert_png(&out.join("L2_FS3_FL4_Ex_B32.png"), (900, 600));
    assert!(!out.join("L2_FSx_FL4_E2_B32.png").exists());
    let grid = image::open(out.join("L2_FS3_FL4_E1_B32_reconstructions.png")).unwrap();
    assert!(grid.width() > grid.height());
    assert!(out.join("L2_FS3_FL4_E1_B32.mpk").exists());
    assert!(out.join("L2_FS3_FL4_E1_B32.json").exists());
    // The map of the current model's codes of the 20 validation images.
    let latent = std::fs::read_to_string(out.join("latent.csv")).unwrap();
    assert_eq!(latent.lines().count(), 1 + 20, "{latent}");
    assert_png(&out.join("latent_pca.png"), (900, 800));

    let rows = ae_rows(&out);
    assert_eq!(rows.len(), 3);
    assert!(
        rows.windows(2)
            .all(|w| w[0].figures.val_loss <= w[1].figures.val_loss)
    );
}

#[test]
fn without_hyperparameter_flags_the_menu_asks_for_the_base() {
    let (_dir, data, out) = setup(60);
    // Layers 2, filter size 3, filters 0 (refused) then 2, epochs 1, batch 32; then exit.
    let answers = "2\n3\n0\n2\n1\n32\n5\n";
    let assert = common::aelab(&common::autoencoder(&data, &out))
        .write_stdin(answers)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        stdout.contains("filters per layer must be at least 1"),
        "{stdout}"
    );
    assert!(stdout.contains("Training L2_FS3_FL2_E1_B32"), "{stdout}");
}

#[test]
fn end_of_input_leaves_cleanly_with_the_runs_recorded() {
    let (_dir, data, out) = setup(60);
    aelab(&data, &out).write_stdin("1\n3\n").assert().success();
    assert_eq!(ae_rows(&out).len(), 1);
}

#[test]
fn a_sweep_runs_each_variation_draws_graphs_and_exits() {
    let (_dir, data, out) = setup(100);
    aelab(&data, &out)
        .args(["--sweep", "filters=2,4", "--sweep", "epochs=1"])
        .assert()
        .success();
    let rows = ae_rows(&out);
    let mut runs: Vec<(usize, usize)> = rows.iter().map(|r| (filters(r), epochs(r))).collect();
    runs.sort();
    assert_eq!(runs, [(2, 2), (4, 1), (4, 2)]);
    assert_png(&out.join("L2_FS3_FLx_E2_B32.png"), (900, 600));
    assert_png(&out.join("L2_FS3_FL4_Ex_B32.png"), (900, 600));
    assert!(out.join("ae.mpk").exists(), "the base model is saved");
}

/// A hyperparameter that is not a whole number sweeps like the others: a row per value,
/// each run named by its value, and an error graph over them.
#[test]
fn a_learning_rate_sweep_makes_rows_and_an_error_graph() {
    let (_dir, data, out) = setup(100);
    let assert = aelab(&data, &out)
        .args(["--lr", "3e-3", "--sweep", "lr=1e-3,3e-4"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    for run in [
        "L2_FS3_FL4_E2_B32_LR3e-3",
        "L2_FS3_FL4_E2_B32 ",
        "L2_FS3_FL4_E2_B32_LR3e-4",
    ] {
        assert!(
            stdout.contains(&format!("Training {run}")),
            "{run}: {stdout}"
        );
    }
    let mut rates: Vec<f64> = ae_rows(&out)
        .iter()
        .map(|r| r.hyper.decimal(AutoencoderParam::LearningRate))
        .collect();
    rates.sort_by(f64::total_cmp);
    assert_eq!(rates, [3e-4, 1e-3, 3e-3]);
    assert_png(&out.join("L2_FS3_FL4_E2_B32_LRx.png"), (900, 600));
    let card = fs::read_to_string(out.join("ae.json")).unwrap();
    assert!(
        card.contains("\"learning_rate\": 0.003"),
        "the base run is saved: {card}"
    );
    // `aelab graphs` draws the same graph from the table alone.
    fs::remove_file(out.join("L2_FS3_FL4_E2_B32_LRx.png")).unwrap();
    Command::cargo_bin("aelab")
        .unwrap()
        .args(["graphs", "--out"])
        .arg(&out)
        .assert()
        .success();
    assert_png(&out.join("L2_FS3_FL4_E2_B32_LRx.png"), (900, 600));
}

#[test]
fn a_bad_sweep_is_refused_before_training() {
    let (_dir, data, out) = setup(20);
    let assert = aelab(&data, &out)
        .args(["--sweep", "layers=3,1"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("layers must be at least 2"), "{stderr}");
    assert!(!out.join("loss_values.csv").exists());
}

#[test]
fn a_malformed_table_is_kept_aside() {
    let (_dir, data, out) = setup(40);
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("loss_values.csv"), "this is not,a table\n1\n").unwrap();
    let assert = aelab(&data, &out).arg("--no-menu").assert().success();
    // A warning is a diagnostic: stderr, not the results on stdout.
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("warning") && stderr.contains("loss_values.malformed-1.csv"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(out.join("loss_values.malformed-1.csv")).unwrap(),
        "this is not,a table\n1\n"
    );
    assert_eq!(ae_rows(&out).len(), 1);
}

#[test]
fn a_killed_sweep_keeps_every_finished_run() {
    let (_dir, data, out) = setup(300);
    let table = out.join("loss_values.csv");
    let mut child = Process::new(assert_cmd::cargo::cargo_bin("aelab"))
        .args(common::tiny_autoencoder(&data, &out))
        .args(["--sweep", "epochs=6"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Kill as soon as the first run's row is in: the second run is then training.
    let started = Instant::now();
    while read_rows::<AutoencoderKind>(&table).map_or(true, |r| r.is_empty()) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the first run never finished"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the sweep was killed, not finished");
    let rows = ae_rows(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(epochs(&rows[0]), 2);
}

#[test]
fn two_processes_sharing_an_output_folder_keep_all_their_rows() {
    let (_dir, data, out) = setup(100);
    // Both take the table's lock in turn (a lost update needs the two to read and write
    // within the same millisecond, so the unit test `concurrent_writers_keep_every_row`
    // is the one that catches a missing lock; this one catches locking that blocks or fails).
    let sweep = "epochs=1,3";
    let spawn = |filters: &str, save: &str| {
        Process::new(assert_cmd::cargo::cargo_bin("aelab"))
            .args(common::tiny_autoencoder(&data, &out))
            .args(["--filters", filters, "--save", save, "--sweep", sweep])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };
    let children = [spawn("2", "first"), spawn("3", "second")];
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let rows = ae_rows(&out);
    for wanted in [2, 3] {
        let mut done: Vec<usize> = rows
            .iter()
            .filter(|r| filters(r) == wanted)
            .map(epochs)
            .collect();
        done.sort();
        assert_eq!(done, [1, 2, 3], "filters {wanted}: {rows:?}");
    }
}

/// Ctrl-C while a sweep or a menu's rerun trains ends the session with code 130 (a menu
/// that went on would exit with 0), every finished run kept and nothing saved.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_training_with_every_finished_run_kept() {
    // A sweep; the menu: rerun with 1000 epochs, then exit. 1000 epochs: long enough that the
    // run cannot finish before Ctrl-C reaches it.
    for (args, input) in [
        (&["--sweep", "epochs=1000"][..], ""),
        (&[], "1\n4\n1000\n5\n"),
    ] {
        let (_dir, data, out) = setup(300);
        let table = out.join("loss_values.csv");
        let mut cmd = aelab(&data, &out);
        cmd.args(args);
        common::interrupt_training(&cmd, input, "L2_FS3_FL4_E1000_B32", &table);
        let rows = ae_rows(&out);
        assert_eq!((rows.len(), epochs(&rows[0])), (1, 2), "{args:?}");
        assert!(!out.join("ae.mpk").exists(), "{args:?}");
    }
}

/// `--noise` trains a denoiser: the row and the run name say so, and its grid has a row
/// more than a plain run's, the noisy inputs over the clean targets over the outputs.
#[test]
fn a_denoising_run_is_named_recorded_and_shows_its_noisy_inputs() {
    let (_dir, data, out) = setup(100);
    aelab(&data, &out).write_stdin("2\n5\n").assert().success();
    let noisy = aelab(&data, &out)
        .args(["--noise", "0.3"])
        .write_stdin("2\n5\n")
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&noisy.get_output().stdout).to_string();
    assert!(
        stdout.contains("Training L2_FS3_FL4_E2_B32_N3e-1"),
        "{stdout}"
    );
    let rows = ae_rows(&out);
    let noise = |row: &common::AeRow| row.hyper.decimal(AutoencoderParam::Noise);
    let mut noises: Vec<f64> = rows.iter().map(noise).collect();
    noises.sort_by(f64::total_cmp);
    assert_eq!(noises, [0.0, 0.3]);
    let grid = |name: &str| image::open(out.join(format!("{name}_reconstructions.png"))).unwrap();
    let (plain, denoised) = (grid("L2_FS3_FL4_E2_B32"), grid("L2_FS3_FL4_E2_B32_N3e-1"));
    assert_eq!(denoised.width(), plain.width());
    assert!(
        denoised.height() > plain.height() * 4 / 3,
        "three rows, not two"
    );
}
