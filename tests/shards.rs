//! A sweep split over processes (`--shard K/N`, as a Slurm job array runs it) gives the
//! rows of the same sweep run in one process, and `aelab graphs` draws its error graphs
//! from the table afterwards.

mod common;

use std::path::Path;
use std::process::{Command as Process, Stdio};

use assert_cmd::Command;

/// The tiny run swept over two values of the filters and one of the epochs.
fn sweep(data: &Path, out: &Path) -> Vec<String> {
    common::with(
        &common::tiny_autoencoder(data, out),
        &["--sweep", "filters=2,8", "--sweep", "epochs=1"],
    )
}

/// (run name, loss bits, validation loss bits) of every row, sorted.
fn rows(out: &Path) -> Vec<(String, u64, u64)> {
    let mut rows: Vec<_> = common::ae_rows(out)
        .iter()
        .map(|r| {
            let f = r.figures;
            (r.hyper.run_name(), f.loss.to_bits(), f.val_loss.to_bits())
        })
        .collect();
    rows.sort();
    rows
}

fn pngs(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains('x') && n.ends_with(".png"))
        .collect();
    names.sort();
    names
}

#[test]
fn three_shards_at_once_give_the_rows_and_graphs_of_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::write_images(dir.path(), "imgs.gz", &common::mnist_images(200));
    let whole = dir.path().join("whole");
    Command::cargo_bin("aelab")
        .unwrap()
        .args(sweep(&data, &whole))
        .assert()
        .success();

    let shared = dir.path().join("shared");
    let shards: Vec<_> = (1..=3)
        .map(|k| {
            Process::new(assert_cmd::cargo::cargo_bin("aelab"))
                .args(sweep(&data, &shared))
                .args(["--shard", &format!("{k}/3")])
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut shard in shards {
        assert!(shard.wait().unwrap().success());
    }
    // Four runs (the base, filters 2 and 8, epochs 1), each exactly once.
    assert_eq!(rows(&shared).len(), 4);
    assert_eq!(rows(&shared), rows(&whole));
    assert!(pngs(&shared).is_empty(), "shards draw no error graphs");
    assert!(
        shared.join("ae.mpk").exists(),
        "shard 1 ran the base and saved it"
    );

    let drawn = Command::cargo_bin("aelab")
        .unwrap()
        .args(["graphs", "--out"])
        .arg(&shared)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&drawn.get_output().stdout).to_string();
    assert_eq!(
        pngs(&shared),
        ["L2_FS3_FL4_Ex_B32.png", "L2_FS3_FLx_E2_B32.png"]
    );
    assert_eq!(pngs(&shared), pngs(&whole));
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
}

#[test]
fn bad_shards_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::write_images(dir.path(), "imgs.gz", &common::mnist_images(50));
    let out = dir.path().join("out");
    for (shard, sweeping, wanted) in [
        ("0/3", true, "not a shard"),
        ("4/3", true, "not a shard"),
        ("x", true, "not a shard"),
        ("1/2", false, "--shard 1/2 divides the runs of a --sweep"),
    ] {
        let mut args = sweep(&data, &out);
        if !sweeping {
            let at = args.iter().position(|a| a == "--sweep").unwrap();
            args.truncate(at);
        }
        let output = Command::cargo_bin("aelab")
            .unwrap()
            .args(&args)
            .args(["--shard", shard])
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&output.get_output().stderr).to_string();
        assert_eq!(stderr.lines().count(), 1, "{shard}: {stderr}");
        assert!(stderr.contains(wanted), "{shard}: {stderr}");
    }
    // Nothing to draw is said in one line too.
    let output = Command::cargo_bin("aelab")
        .unwrap()
        .args(["graphs", "--out"])
        .arg(&out)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&output.get_output().stderr).to_string();
    assert!(stderr.contains("no results table there"), "{stderr}");
}
