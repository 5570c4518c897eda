//! Long runs survive: checkpoints after every epoch, `--resume` after a kill -9 or Ctrl-C
//! with the same losses as an uninterrupted run, checkpoints of other runs refused, and a
//! full disk reported as one line with exit code 1 and nothing of the user's lost.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use aelab::data::dataset::image_batch;
use aelab::experiment::kinds::{AutoencoderParam, ClassifierParam};
use aelab::train::checkpoint::Checkpoint;
use assert_cmd::Command;
use burn::backend::Flex;
use common::{AeRow, aelab, with};

const RUN: &str = "L2_FS3_FL4_E6_B32";

/// The tiny run with 6 epochs on `data`, results under `out`, no menu.
fn args(data: &Path, out: &Path) -> Vec<String> {
    with(
        &common::tiny_autoencoder(data, out),
        &["--epochs", "6", "--no-menu"],
    )
}

fn checkpoint(out: &Path) -> PathBuf {
    out.join("checkpoints").join(format!("{RUN}.ckpt"))
}

fn only_row(out: &Path) -> AeRow {
    let rows = common::ae_rows(out);
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows.into_iter().next().unwrap()
}

fn spawn(args: &[String]) -> Child {
    Process::new(assert_cmd::cargo::cargo_bin("aelab"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Stop `child` where it is (SIGSTOP: it cannot finish an epoch or exit while we look).
fn freeze(child: &Child) {
    let sent = Process::new("kill")
        .args(["-STOP", &child.id().to_string()])
        .status();
    assert!(sent.unwrap().success(), "kill -STOP failed");
}

/// Run the fresh run `args` (writing under `out`) and kill -9 it when its checkpoint at
/// `path` holds exactly `epochs` epochs. The run is frozen as soon as the checkpoint holds
/// that many, so the kill lands there unless the next epoch's checkpoint was written in the
/// millisecond between two looks; then the run is started afresh, up to five times.
fn kill_after_epoch(args: &[String], out: &Path, path: &Path, epochs: usize) {
    for _ in 0..5 {
        let mut child = spawn(args);
        let started = Instant::now();
        while Checkpoint::epochs_done(path).unwrap_or(0) < epochs {
            assert!(
                child.try_wait().unwrap().is_none(),
                "the run ended before its checkpoint held {epochs} epochs"
            );
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "no checkpoint came"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        freeze(&child);
        let held = Checkpoint::epochs_done(path);
        child.kill().unwrap();
        child.wait().unwrap();
        if held == Some(epochs) {
            return;
        }
        fs::remove_dir_all(out).unwrap();
    }
    panic!("the kill never landed after epoch {epochs}");
}

/// Start `args` and kill -9 it `after` it started, whatever it is doing: the epochs its
/// checkpoint held when it died, or `None` when the run finished first.
fn kill_after(args: &[String], path: &Path, after: Duration) -> Option<usize> {
    let mut child = spawn(args);
    std::thread::sleep(after);
    freeze(&child);
    if child.try_wait().unwrap().is_some() {
        return None;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Whatever the moment, the checkpoint there is whole (or there is none yet).
    match Checkpoint::epochs_done(path) {
        Some(done) => Some(done),
        None => {
            assert!(!path.exists(), "a broken checkpoint was left");
            Some(0)
        }
    }
}

/// What a finished run leaves that a resume must reproduce: its row (all but the wall time),
/// its model file and its loss curves, each to the byte.
fn recorded(
    out: &Path,
) -> (
    aelab::train::Figures<aelab::train::NoMetrics>,
    Vec<u8>,
    Vec<u8>,
) {
    let row = only_row(out);
    assert!(row.figures.train_seconds > 0.0);
    let figures = aelab::train::Figures {
        train_seconds: 0.0,
        ..row.figures
    };
    let model = fs::read(out.join("ae.mpk")).unwrap();
    let curves = fs::read(out.join(format!("{RUN}_curves.png"))).unwrap();
    (figures, model, curves)
}

#[test]
fn a_run_killed_again_and_again_resumes_to_the_bytes_of_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::write_images(dir.path(), "imgs.gz", &common::mnist_images(300));
    let saving = |out: &Path| with(&args(&data, out), &["--save", "ae"]);
    let clean_out = dir.path().join("clean");
    aelab(&saving(&clean_out)).assert().success();
    let clean = recorded(&clean_out);
    assert!(
        !checkpoint(&clean_out).exists(),
        "a recorded run's checkpoint is removed"
    );

    let out = dir.path().join("killed");
    let run = saving(&out);
    kill_after_epoch(&run, &out, &checkpoint(&out), 2);
    let resumed = with(&run, &["--resume"]);
    // Killed again at arbitrary moments of resumed runs: each leaves a whole checkpoint.
    let mut done = 2;
    for millis in [150, 50, 300] {
        if done >= 5 {
            break;
        }
        match kill_after(&resumed, &checkpoint(&out), Duration::from_millis(millis)) {
            Some(held) => {
                assert!(held >= done, "a checkpoint went back from {done} to {held}");
                done = held;
            }
            // It finished first: start it once more below, from its last epoch.
            None => break,
        }
    }
    if !checkpoint(&out).exists() {
        // The last kill came too late: the run ended and was recorded; run it afresh to a
        // kill after epoch 5 so the resume below has something to do.
        kill_after_epoch(&run, &out, &checkpoint(&out), 5);
    }
    // After epoch 6 too: killed while the finished run scored and recorded itself, the
    // resume has no epoch left but must record the same.
    let held = Checkpoint::epochs_done(&checkpoint(&out)).unwrap();
    assert!((2..=6).contains(&held), "killed after epoch {held} of 6");
    let output = aelab(&resumed).assert().success();
    let stdout = String::from_utf8_lossy(&output.get_output().stdout).to_string();
    assert!(
        stdout.contains(&format!("Training {RUN}"))
            && stdout.contains(&format!("resuming from epoch {held} of 6")),
        "{stdout}"
    );
    let (figures, model, curves) = recorded(&out);
    assert_eq!(figures, clean.0, "killed after epoch {held}");
    assert!(
        model == clean.1,
        "killed after epoch {held}: another model file"
    );
    assert!(curves == clean.2, "killed after epoch {held}: other curves");
    assert!(!checkpoint(&out).exists());
}

#[test]
fn a_checkpoint_is_resumed_only_when_asked_and_only_by_its_own_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::write_images(dir.path(), "imgs.gz", &common::mnist_images(300));
    let out = dir.path().join("results");
    let run = args(&data, &out);
    kill_after_epoch(&run, &out, &checkpoint(&out), 1);
    let before = fs::read(checkpoint(&out)).unwrap();

    let stderr = |cmd: &mut Command, code: i32| {
        let output = cmd.assert().code(code);
        String::from_utf8_lossy(&output.get_output().stderr).to_string()
    };
    // Without --resume: it says what to do and leaves the checkpoint alone.
    let said = stderr(&mut aelab(&run), 2);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("give --resume"), "{said}");
    // Another seed is another run.
    let other = with(&run, &["--seed", "7", "--resume"]);
    let said = stderr(&mut aelab(&other), 2);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.contains("cannot resume") && said.contains("seed 13, this run has seed 7"),
        "{said}"
    );
    assert_eq!(fs::read(checkpoint(&out)).unwrap(), before);
    assert!(!out.join("loss_values.csv").exists());

    // --keep-checkpoints keeps it after the run is recorded.
    let keep = with(&run, &["--resume", "--keep-checkpoints"]);
    aelab(&keep).assert().success();
    assert_eq!(Checkpoint::epochs_done(&checkpoint(&out)), Some(6));
}

#[cfg(unix)]
#[test]
fn ctrl_c_says_how_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::write_images(dir.path(), "imgs.gz", &common::mnist_images(300));
    let out = dir.path().join("results");
    // Long enough that Ctrl-C comes in the middle.
    let run = with(&args(&data, &out), &["--epochs", "1000"]);
    let long = "L2_FS3_FL4_E1000_B32";
    let child = Process::new(assert_cmd::cargo::cargo_bin("aelab"))
        .args(&run)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let path = out.join("checkpoints").join(format!("{long}.ckpt"));
    let started = Instant::now();
    while Checkpoint::epochs_done(&path).is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no checkpoint came"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    common::ctrl_c(&child);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&path.display().to_string()) && stderr.trim_end().ends_with(" --resume"),
        "{stderr}"
    );
    assert!(Checkpoint::epochs_done(&path).unwrap() >= 1);
}

/// A full disk, for real: a 100 KB tmpfs (root only; skipped with a message otherwise).
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_one_line_exit_1_and_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::write_images(dir.path(), "imgs.gz", &common::mnist_images(300));
    let full = dir.path().join("full");
    fs::create_dir(&full).unwrap();
    let mounted = Process::new("mount")
        .args(["-t", "tmpfs", "-o", "size=100k", "tmpfs"])
        .arg(&full)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        common::skipped(
            "a_full_disk_is_one_line_exit_1_and_nothing_lost",
            "mounting a small tmpfs needs root",
        );
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Process::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&full);
    let table = full.join("loss_values.csv");
    let earlier = "Layers,Filter_Size,Filters/Layer,Epochs,Batch_Size,Train_Time,Loss,Val_Loss\n4,3,32,100,64,12.5,0.01,0.02\n";
    fs::write(&table, earlier).unwrap();

    let run = with(&args(&data, &full), &["--filters", "32"]);
    let output = aelab(&run).assert().code(1);
    let stderr = String::from_utf8_lossy(&output.get_output().stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("No space left on device"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&table).unwrap(), earlier);
    let mut left = Vec::new();
    for folder in [full.clone(), full.join("checkpoints")] {
        for entry in fs::read_dir(&folder).into_iter().flatten() {
            left.push(entry.unwrap().file_name().to_string_lossy().into_owned());
        }
    }
    assert!(
        left.iter().all(|name| !name.contains("partial")),
        "temp files left: {left:?}"
    );
}

#[test]
fn a_resumed_sweep_skips_its_recorded_runs_and_ends_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::write_images(dir.path(), "imgs.gz", &common::mnist_images(300));
    let sweep = |out: &Path| {
        let mut run = args(&data, out);
        run.retain(|a| a != "--no-menu");
        run.extend(["--sweep".into(), "filters=2,3".into()]);
        run
    };
    let clean_out = dir.path().join("clean");
    aelab(&sweep(&clean_out)).assert().success();

    let out = dir.path().join("killed");
    let mut child = Process::new(assert_cmd::cargo::cargo_bin("aelab"))
        .args(sweep(&out))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once the base and the first variant are recorded and the second variant has
    // checkpointed an epoch.
    let third = out.join("checkpoints").join("L2_FS3_FL3_E6_B32.ckpt");
    let started = Instant::now();
    while Checkpoint::epochs_done(&third).is_none() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep ended unkilled"
        );
        assert!(started.elapsed() < Duration::from_secs(120), "no rows came");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let mut resumed = sweep(&out);
    resumed.push("--resume".into());
    let output = aelab(&resumed).assert().success();
    let stdout = String::from_utf8_lossy(&output.get_output().stdout).to_string();
    assert!(stdout.contains("Skipping L2_FS3_FL2_E6_B32"), "{stdout}");
    assert!(
        stdout.contains("Training L2_FS3_FL3_E6_B32 (240 train, 60 validation images), resuming"),
        "{stdout}"
    );
    let key = |r: &AeRow| {
        let filters = r.whole(AutoencoderParam::Filters);
        (
            filters,
            r.figures.loss.to_bits(),
            r.figures.val_loss.to_bits(),
        )
    };
    let mut rows: Vec<_> = common::ae_rows(&out).iter().map(key).collect();
    let mut clean: Vec<_> = common::ae_rows(&clean_out).iter().map(key).collect();
    rows.sort();
    clean.sort();
    assert_eq!(rows, clean);
    assert!(out.join("ae.mpk").exists() && out.join("L2_FS3_FLx_E6_B32.png").exists());
    assert!(
        !out.join("checkpoints").exists(),
        "checkpoints removed at the end"
    );
}

#[test]
fn the_menu_offers_to_resume_a_checkpoint_of_the_run_about_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::write_images(dir.path(), "imgs.gz", &common::mnist_images(300));
    let out = dir.path().join("results");
    let kept = with(&args(&data, &out), &["--keep-checkpoints"]);
    aelab(&kept).assert().success();
    let first = only_row(&out);

    // The menu: yes, resume; then exit.
    let mut menu = args(&data, &out);
    menu.retain(|a| a != "--no-menu");
    let output = aelab(&menu).write_stdin("y\n5\n").assert().success();
    let stdout = String::from_utf8_lossy(&output.get_output().stdout).to_string();
    assert!(stdout.contains("resume it?"), "{stdout}");
    assert!(stdout.contains("resuming from epoch 6 of 6"), "{stdout}");
    let row = only_row(&out);
    assert_eq!(
        (row.figures.loss, row.figures.val_loss),
        (first.figures.loss, first.figures.val_loss)
    );
    assert!(!checkpoint(&out).exists(), "removed once recorded");
}

/// A checkpoint written before the hyperparameter table and `--lr` existed still resumes,
/// to the losses of an uninterrupted run: `tests/data/before-lr.ckpt` is epoch 1 of 3 of
/// the tiny run (3 epochs) on the first 300 MNIST test images, given as `imgs.gz`, written
/// by aelab at commit 640e949.
#[test]
fn a_checkpoint_from_before_the_learning_rate_still_resumes() {
    let (dir, _, _) = common::mnist_folder(300);
    // The checkpoint names aelab 0.1.0 and the data's path, as it was given; neither
    // counts now (its model format is 1), but the path is given the same anyway.
    let run = |out: &str, more: &[&str]| {
        let args = common::tiny_autoencoder(Path::new("imgs.gz"), Path::new(out));
        let mut cmd = aelab(&with(&args, &["--epochs", "3", "--no-menu"]));
        cmd.args(more).current_dir(dir.path());
        let output = cmd.assert().success();
        String::from_utf8_lossy(&output.get_output().stdout).to_string()
    };
    run("clean", &[]);
    let checkpoints = dir.path().join("resumed/checkpoints");
    fs::create_dir_all(&checkpoints).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/before-lr.ckpt");
    fs::copy(fixture, checkpoints.join("L2_FS3_FL4_E3_B32.ckpt")).unwrap();
    let stdout = run("resumed", &["--resume"]);
    assert!(stdout.contains("resuming from epoch 1 of 3"), "{stdout}");
    let losses = |out: &str| {
        let row = only_row(&dir.path().join(out));
        (row.figures.loss.to_bits(), row.figures.val_loss.to_bits())
    };
    assert_eq!(losses("resumed"), losses("clean"));
}

/// The classifier's two stages: killed in stage 1, at the boundary or in stage 2 (each
/// stage starts its own RMSprop, so which state a resume takes matters), then resumed.
#[test]
fn a_classifier_resumes_in_either_stage_to_the_losses_of_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let images = common::write_images(dir.path(), "imgs.gz", &common::mnist_images(300));
    let labels = common::write_labels(dir.path(), "labels.gz", &common::mnist_labels(300));
    let autoencoder = with(&args(&images, &dir.path().join("ae")), &["--epochs", "1"]);
    aelab(&autoencoder).assert().success();
    let classify = |out: &Path| -> Vec<String> {
        let mut args: Vec<String> = ["classify", "--device", "cpu", "--no-menu"]
            .map(String::from)
            .to_vec();
        for (flag, path) in [
            ("-d", &images),
            ("--dl", &labels),
            ("-t", &images),
            ("--tl", &labels),
        ] {
            args.extend([flag.to_string(), path.display().to_string()]);
        }
        let model = dir.path().join("ae/ae");
        args.extend(["--model".into(), model.display().to_string()]);
        args.extend(["--out".into(), out.display().to_string()]);
        args.extend(["--epochs", "3", "--batch-size", "32", "--fc-units", "8"].map(String::from));
        args
    };
    let figures = |out: &Path| {
        let rows = common::cl_rows(out);
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].whole(ClassifierParam::FcUnits), 8);
        let f = rows[0].figures;
        (f.loss, f.val_loss, f.metrics.train, f.metrics.valid)
    };
    let clean = dir.path().join("clean");
    aelab(&classify(&clean)).assert().success();

    // After epoch 1 (in stage 1), 3 (stage 1 done, stage 2 not begun) and 4 (in stage 2).
    for kill_after in [1, 3, 4] {
        let out = dir.path().join(format!("killed-{kill_after}"));
        let run = classify(&out);
        let path = out.join("checkpoints/L2_FC8_E3_B32.ckpt");
        kill_after_epoch(&run, &out, &path, kill_after);
        let mut resumed = run.clone();
        resumed.push("--resume".into());
        aelab(&resumed).assert().success();
        assert_eq!(
            figures(&out),
            figures(&clean),
            "killed after epoch {kill_after}"
        );
        for file in ["classification_report.txt", "confusion_matrix.png"] {
            assert!(
                fs::read(out.join(file)).unwrap() == fs::read(clean.join(file)).unwrap(),
                "killed after epoch {kill_after}: another {file}"
            );
        }
    }
}

/// A classifier's checkpoint is known by what its files hold, not by where they are: the
/// same images, labels and encoder under other paths resume it; one changed label, or an
/// encoder with other weights under the same name, is another run.
#[test]
fn a_classifier_checkpoint_is_known_by_its_files_contents_not_their_paths() {
    let dir = tempfile::tempdir().unwrap();
    let here = dir.path().join("here");
    fs::create_dir_all(&here).unwrap();
    let images = common::write_images(&here, "imgs.gz", &common::mnist_images(200));
    let labels = common::mnist_labels(200);
    common::write_labels(&here, "labels.gz", &labels);
    let autoencoder = |seed: &str, out: &Path| {
        let args = with(&args(&images, out), &["--epochs", "1", "--seed", seed]);
        aelab(&args).assert().success();
    };
    autoencoder("13", &here.join("ae"));
    let out = dir.path().join("results");
    let classify = |folder: &Path, more: &[&str]| {
        let mut args: Vec<String> = ["classify", "--device", "cpu", "--no-menu"]
            .map(String::from)
            .to_vec();
        for (flag, file) in [
            ("-d", "imgs.gz"),
            ("--dl", "labels.gz"),
            ("-t", "imgs.gz"),
            ("--tl", "labels.gz"),
            ("--model", "ae/ae"),
        ] {
            args.extend([flag.to_string(), folder.join(file).display().to_string()]);
        }
        args.extend(["--out".into(), out.display().to_string()]);
        let tiny = ["--epochs", "1", "--batch-size", "32", "--fc-units", "4"];
        with(&with(&args, &tiny), more)
    };
    let resumed = |folder: &Path| {
        let output = aelab(&classify(folder, &["--resume", "--keep-checkpoints"])).output();
        let output = output.unwrap();
        let said = |bytes: &[u8]| String::from_utf8_lossy(bytes).to_string();
        (
            output.status.code(),
            said(&output.stdout),
            said(&output.stderr),
        )
    };
    aelab(&classify(&here, &["--keep-checkpoints"]))
        .assert()
        .success();

    // The same files, copied elsewhere.
    let there = dir.path().join("there");
    fs::create_dir_all(there.join("ae")).unwrap();
    for file in ["imgs.gz", "labels.gz", "ae/ae.mpk", "ae/ae.json"] {
        fs::copy(here.join(file), there.join(file)).unwrap();
    }
    let (code, stdout, stderr) = resumed(&there);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("resuming from epoch 2 of 2"), "{stdout}");

    // One label changed.
    let mut changed = labels.clone();
    changed[5] = (changed[5] + 1) % 10;
    common::write_labels(&there, "labels.gz", &changed);
    let (code, _, stderr) = resumed(&there);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("cannot resume") && stderr.contains("labels fingerprint"),
        "{stderr}"
    );

    // Other weights under the same name.
    common::write_labels(&there, "labels.gz", &labels);
    autoencoder("7", &there.join("ae"));
    let (code, _, stderr) = resumed(&there);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("cannot resume") && stderr.contains("encoder fingerprint"),
        "{stderr}"
    );
}

/// With every stage control on (a plateau schedule, the best epoch kept, early stopping)
/// and every batch drawing at random (shifts, rotations, zoom, noise), a run killed after
/// any epoch resumes to what the uninterrupted run records and saves: the checkpoint holds
/// the rate, the best epoch's weights and the patience count, and each batch's draws
/// follow from its place in the run.
#[test]
fn a_run_with_stage_controls_resumes_to_the_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::write_images(dir.path(), "imgs.gz", &common::mnist_images(300));
    let controlled = |out: &Path| {
        let flags = ["--epochs", "7", "--lr", "0.03", "--lr-schedule", "plateau"];
        let more = [
            "--plateau-patience",
            "1",
            "--keep",
            "best",
            "--patience",
            "3",
        ];
        let random = [
            "--shift",
            "0.1",
            "--rotation",
            "10",
            "--zoom",
            "0.1",
            "--noise",
            "0.1",
        ];
        with(&with(&with(&args(&data, out), &flags), &more), &random)
    };
    let run_name = "L2_FS3_FL4_E7_B32_LR3e-2_SCHplateau_PP1_Kbest_P3_SH1e-1_ROT10_Z1e-1_N1e-1";
    let outcome = |out: &Path| {
        let row = only_row(out);
        let (model, _) = aelab::model::store::load::<aelab::model::AutoencoderConfig, Flex>(
            &out.join("ae.mpk"),
            &Default::default(),
        )
        .unwrap();
        let images = common::mnist_images(16);
        let all: Vec<usize> = (0..16).collect();
        let batch = image_batch::<Flex>(&images, &all, &Default::default());
        let outputs = model.forward(batch).into_data().to_vec::<f32>().unwrap();
        // All but the wall time.
        let figures = aelab::train::Figures {
            train_seconds: 0.0,
            ..row.figures
        };
        (figures, outputs)
    };
    let clean_out = dir.path().join("clean");
    aelab(&controlled(&clean_out)).assert().success();
    let clean = outcome(&clean_out);
    let [Some(end), None] = clean.0.stages else {
        panic!("one stage: {:?}", clean.0);
    };
    assert!(
        end.best < end.last,
        "the test needs an earlier best: {:?}",
        clean.0
    );

    for kill_after in [1, end.best, end.last - 1] {
        let out = dir.path().join(format!("killed-{kill_after}"));
        let run = controlled(&out);
        let path = out.join(format!("checkpoints/{run_name}.ckpt"));
        kill_after_epoch(&run, &out, &path, kill_after);
        let held = kill_after;
        assert!(
            held < end.last,
            "killed after epoch {held}: nothing left to resume"
        );
        aelab(&with(&run, &["--resume"])).assert().success();
        let (figures, outputs) = outcome(&out);
        assert_eq!(figures, clean.0, "killed after epoch {held}");
        // Not printed when they differ: 16 images of 784 values.
        assert!(
            outputs == clean.1,
            "killed after epoch {held}: other weights saved"
        );
    }
}
