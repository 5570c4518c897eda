//! The binary end to end, as a user runs it, on tiny data.

mod common;

use std::fs;
use std::path::Path;

use assert_cmd::Command;

fn aelab() -> Command {
    Command::cargo_bin("aelab").unwrap()
}

fn tiny_run(data: &Path, out: &Path, filters: &str) -> assert_cmd::assert::Assert {
    let args = common::tiny_autoencoder(data, out);
    common::aelab(&common::with(&args, &["--filters", filters, "--no-menu"])).assert()
}

#[test]
fn a_run_writes_table_model_and_plot_and_a_second_run_adds_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::write_images(dir.path(), "imgs.gz", &common::mnist_images(120));
    let out = dir.path().join("results");

    let first = tiny_run(&data, &out, "4").success();
    let stdout = String::from_utf8_lossy(&first.get_output().stdout).to_string();
    assert!(stdout.contains("epoch 2/2"), "{stdout}");
    assert!(stdout.contains("96 train, 24 validation"), "{stdout}");
    assert!(stdout.contains("Saved the model as"), "{stdout}");

    let table = out.join("loss_values.csv");
    let text = fs::read_to_string(&table).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Layers,Filter_Size,Filters/Layer,Epochs,Batch_Size,Train_Time,Loss,Val_Loss,Val_PSNR,Val_SSIM,Best_Epoch,Last_Epoch,Learning_Rate,LR_Schedule,Plateau_Factor,Plateau_Patience,Keep,Patience,Shift,Rotation,Zoom,Noise,Code,Data,Classes,Images,Seed,Device"
    );
    assert_eq!(lines.len(), 2);
    assert!(lines[1].starts_with("2,3,4,2,32,"), "{}", lines[1]);
    // The validation PSNR and SSIM of the reconstructions, the epochs (the last, 2, kept),
    // the stage controls and the augmentation at their defaults, then which run it is: the
    // data file, the images used, the seed, the device.
    let cells: Vec<&str> = lines[1].split(',').collect();
    let number = |i: usize| cells[i].parse::<f64>().unwrap();
    // SSIM lies in [-1, 1]; the mean of each image's PSNR is at least the PSNR of the
    // mean MSE (Jensen), which the validation loss is (to f32's rounding), and not far
    // above it for images reconstructed about equally badly. NaN fails each.
    let (loss, psnr, ssim) = (number(7), number(8), number(9));
    let psnr_of_loss = -10.0 * loss.log10();
    assert!(
        (psnr_of_loss - 1e-3..psnr_of_loss + 10.0).contains(&psnr),
        "PSNR: {}",
        lines[1]
    );
    assert!((-1.0..=1.0).contains(&ssim), "SSIM: {}", lines[1]);
    assert_eq!(cells[11], "2", "{}", lines[1]);
    assert_eq!(
        cells[12..23],
        [
            "0.001", "constant", "0.5", "2", "last", "0", "0.0", "0", "0.0", "0.0", "0"
        ],
        "{}",
        lines[1]
    );
    assert!(lines[1].ends_with("imgs.gz,,120,13,cpu"), "{}", lines[1]);

    let card: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("ae.json")).unwrap()).unwrap();
    assert_eq!(card["architecture"]["filters"], 4);
    assert!(fs::metadata(out.join("ae.mpk")).unwrap().len() > 1000);
    let png = fs::read(out.join("L2_FS3_FL4_E2_B32_curves.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");

    tiny_run(&data, &out, "2").success();
    let text = fs::read_to_string(&table).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.lines().any(|l| l.starts_with("2,3,4,2,32,")));
    assert!(text.lines().any(|l| l.starts_with("2,3,2,2,32,")));
}

#[test]
fn a_missing_data_file_is_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let assert = aelab()
        .args(["autoencoder", "-d", "no/such/images.gz", "--out"])
        .arg(dir.path())
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert_eq!(
        stderr.trim_end(),
        "error: no/such/images.gz: file not found"
    );
}

#[test]
fn images_of_an_unusable_size_are_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::write_images(dir.path(), "odd.gz", &common::synthetic_images(10, 30, 28));
    let assert = aelab()
        .args(["autoencoder", "-d"])
        .arg(&data)
        .arg("--out")
        .arg(dir.path())
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("odd.gz") && stderr.contains("divisible by 4"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);
}

#[test]
fn bad_hyperparameters_are_refused_with_a_reason() {
    for (flag, value, expected) in [
        ("--layers", "1", "layers must be at least 2"),
        ("--filter-size", "0", "filter size must be at least 1"),
        ("--epochs", "0", "epochs must be at least 1"),
        ("--batch-size", "0", "batch size must be at least 1"),
    ] {
        let assert = aelab().args(["autoencoder", flag, value]).assert().code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert!(stderr.contains(expected), "{flag} {value}: {stderr}");
    }
}

#[test]
fn an_unknown_device_or_uncompiled_backend_is_explained() {
    let assert = aelab()
        .args(["autoencoder", "--device", "tpu"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&assert.get_output().stderr).contains("cuda:N"));
    if !cfg!(feature = "cuda") {
        let dir = tempfile::tempdir().unwrap();
        let data = common::write_images(dir.path(), "imgs.gz", &common::synthetic_images(8, 8, 8));
        let assert = aelab()
            .args(["autoencoder", "--device", "cuda", "-d"])
            .arg(&data)
            .arg("--out")
            .arg(dir.path())
            .assert()
            .code(2);
        assert!(String::from_utf8_lossy(&assert.get_output().stderr).contains("--features cuda"));
    }
}
