//! `aelab latent` end to end: a tiny autoencoder's codes of 300 MNIST images mapped by PCA
//! and t-SNE into latent.csv, the TensorBoard TSVs and the two PNGs; the same files, byte for byte, from a
//! second run; without labels, no labels; bad input one line and exit 2.

mod common;

use std::fs;
use std::path::Path;

use common::{aelab, assert_input_error, with};

const IMAGES: usize = 300;

fn latent(model: &Path, images: &Path, out: &Path, more: &[&str]) -> Vec<String> {
    let path = |p: &Path| p.display().to_string();
    with(
        &[
            "latent",
            "--device",
            "cpu",
            "-model",
            &path(model),
            "-t",
            &path(images),
            "--out",
            &path(out),
        ]
        .map(String::from),
        more,
    )
}

#[test]
fn the_codes_are_mapped_written_and_the_same_every_run() {
    let (dir, images, out) = common::mnist_folder(IMAGES);
    let labels = common::write_labels(dir.path(), "labels.gz", &common::mnist_labels(IMAGES));
    aelab(&with(
        &common::tiny_autoencoder(&images, &out),
        &["--epochs", "1", "--no-menu"],
    ))
    .assert()
    .success();
    let model = out.join("ae.mpk");
    let labels_flag = ["--tl", &labels.display().to_string()].map(String::from);
    let labelled = labels_flag.each_ref().map(String::as_str);

    let first = dir.path().join("first");
    let run = aelab(&latent(&model, &images, &first, &labelled))
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&run.get_output().stdout).to_string();
    assert!(
        stdout.contains("Principal components of the codes: PC1"),
        "{stdout}"
    );

    let csv = fs::read_to_string(first.join("latent.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("Index,Label,PCA_X,PCA_Y,TSNE_X,TSNE_Y"));
    let wanted_labels = common::mnist_labels(IMAGES);
    let mut count = 0;
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[0], i.to_string());
        assert_eq!(cells[1], wanted_labels[i].to_string());
        let figures: Vec<f32> = cells[2..].iter().map(|c| c.parse().unwrap()).collect();
        assert!(
            figures.len() == 4 && figures.iter().all(|v| v.is_finite()),
            "{line}"
        );
        count += 1;
    }
    assert_eq!(count, IMAGES);
    // The first component spreads the images more than the second.
    let spread = |column: usize| {
        let values: Vec<f64> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(column).unwrap().parse().unwrap())
            .collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
    };
    assert!(spread(2) >= spread(3) && spread(3) > 0.0);

    // 2 layers of 4 filters: codes of 8 x 7 x 7 numbers, so all 50 components.
    let vectors = fs::read_to_string(first.join("latent_vectors.tsv")).unwrap();
    assert_eq!(vectors.lines().count(), IMAGES);
    assert!(vectors.lines().all(|l| l.split('\t').count() == 50));
    let metadata = fs::read_to_string(first.join("latent_metadata.tsv")).unwrap();
    let metadata: Vec<u8> = metadata.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(metadata, wanted_labels);
    for map in ["latent_pca.png", "latent_tsne.png"] {
        let png = image::open(first.join(map)).unwrap();
        assert_eq!((png.width(), png.height()), (900, 800), "{map}");
    }

    let second = dir.path().join("second");
    aelab(&latent(&model, &images, &second, &labelled))
        .assert()
        .success();
    for file in [
        "latent.csv",
        "latent_vectors.tsv",
        "latent_pca.png",
        "latent_tsne.png",
    ] {
        assert!(
            fs::read(first.join(file)).unwrap() == fs::read(second.join(file)).unwrap(),
            "{file} differs between two runs"
        );
    }

    let unlabelled = dir.path().join("unlabelled");
    aelab(&latent(&model, &images, &unlabelled, &[]))
        .assert()
        .success();
    let csv = fs::read_to_string(unlabelled.join("latent.csv")).unwrap();
    assert!(csv.lines().nth(1).unwrap().starts_with("0,,"));
    assert!(!unlabelled.join("latent_metadata.tsv").exists());

    // Bad input: labels of another count, and a classifier's card where an autoencoder's is.
    let few = common::write_labels(dir.path(), "few.gz", &common::mnist_labels(10));
    let few = few.display().to_string();
    assert_input_error(
        &mut aelab(&latent(&model, &images, &unlabelled, &["--tl", &few])),
        &["few.gz"],
    );
    let json = fs::read_to_string(out.join("ae.json")).unwrap();
    fs::copy(&model, dir.path().join("wrong.mpk")).unwrap();
    fs::write(
        dir.path().join("wrong.json"),
        json.replace("\"autoencoder\"", "\"classifier\""),
    )
    .unwrap();
    assert_input_error(
        &mut aelab(&latent(
            &dir.path().join("wrong.mpk"),
            &images,
            &unlabelled,
            &[],
        )),
        &["wrong.json", "not an autoencoder"],
    );
}

#[test]
fn without_a_model_it_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = assert_cmd::Command::cargo_bin("aelab").unwrap();
    cmd.args(["latent", "--out"]).arg(dir.path());
    assert_input_error(&mut cmd, &["ae.mpk", "aelab autoencoder"]);
}

#[test]
fn a_fully_connected_code_is_what_is_mapped() {
    let (dir, images, out) = common::mnist_folder(IMAGES);
    let trained = aelab(&with(
        &common::tiny_autoencoder(&images, &out),
        &["--code", "5", "--epochs", "1", "--no-menu"],
    ))
    .assert()
    .success();
    let stdout = String::from_utf8_lossy(&trained.get_output().stdout).to_string();
    assert!(stdout.contains("L2_FS3_FL4_E1_B32_C5"), "{stdout}");
    let model = out.join("ae.mpk");
    let mapped = dir.path().join("mapped");
    aelab(&latent(&model, &images, &mapped, &[]))
        .assert()
        .success();
    // Five numbers an image, so five components, not the 50 of the 392-number conv code.
    let vectors = fs::read_to_string(mapped.join("latent_vectors.tsv")).unwrap();
    assert_eq!(vectors.lines().count(), IMAGES);
    assert!(vectors.lines().all(|l| l.split('\t').count() == 5));

    // A card whose code does not fit its images is refused in one line.
    let json = fs::read_to_string(out.join("ae.json")).unwrap();
    assert!(json.contains("\"features\": 392"), "{json}");
    fs::copy(&model, dir.path().join("edited.mpk")).unwrap();
    fs::write(
        dir.path().join("edited.json"),
        json.replace("\"features\": 392", "\"features\": 200"),
    )
    .unwrap();
    assert_input_error(
        &mut aelab(&latent(
            &dir.path().join("edited.mpk"),
            &images,
            &mapped,
            &[],
        )),
        &["edited.json", "code is drawn from 200 numbers"],
    );
}
