//! Training and saving on real MNIST, small enough for a 2-core CI.

mod common;

use std::fs;

use aelab::data::dataset::{Split, image_batch};
use aelab::model::AutoencoderConfig;
use aelab::model::store::{self, ModelCard};
use aelab::train::Schedule;
use aelab::train::autoencoder::{AutoencoderRun, train_autoencoder};
use aelab::train::progress::Silent;
use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::tensor::Tensor;

type Train = Autodiff<Flex>;

const TINY: AutoencoderConfig = AutoencoderConfig {
    layers: 2,
    filter_size: 3,
    filters: 4,
};

fn train_tiny(
    images: &aelab::data::idx::Images,
    epochs: usize,
    seed: u64,
) -> AutoencoderRun<Train> {
    let split = Split::new(images.count, seed);
    let schedule = Schedule {
        epochs,
        batch_size: 32,
        seed,
    };
    train_autoencoder::<Train>(
        images,
        &split,
        &TINY,
        &schedule,
        &Default::default(),
        &mut Silent,
    )
    .unwrap()
}

#[test]
fn training_lowers_the_loss() {
    let run = train_tiny(&common::mnist_images(256), 2, 13);
    let h = &run.history;
    assert_eq!(h.len(), 2);
    assert!(h[1].loss < h[0].loss, "{h:?}");
    assert!(h[1].val_loss < h[0].val_loss, "{h:?}");
    assert!(h.iter().all(|s| s.loss.is_finite() && s.val_loss > 0.0));
}

#[test]
fn the_same_seed_gives_the_same_losses() {
    let images = common::mnist_images(128);
    let a = train_tiny(&images, 1, 5);
    let b = train_tiny(&images, 1, 5);
    assert_eq!(a.history[0].loss, b.history[0].loss);
    assert_eq!(a.history[0].val_loss, b.history[0].val_loss);
}

#[test]
fn trains_on_32x32_images() {
    let images = common::synthetic_images(64, 32, 32);
    let run = train_tiny(&images, 1, 1);
    let batch = image_batch::<Flex>(&images, &[0, 1, 2], &Default::default());
    assert_eq!(run.model.valid().forward(batch).dims(), [3, 1, 32, 32]);
}

fn saved_tiny_model(dir: &std::path::Path) -> (AutoencoderRun<Train>, std::path::PathBuf) {
    let images = common::mnist_images(64);
    let run = train_tiny(&images, 1, 3);
    let card = ModelCard::new(run.config, 28, 28, None);
    store::save(&run.model, &card, dir, "tiny").unwrap();
    (run, dir.join("tiny.mpk"))
}

#[test]
fn save_then_load_gives_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let (run, mpk) = saved_tiny_model(dir.path());
    let (loaded, card) = store::load::<AutoencoderConfig, Flex>(&mpk, &Default::default()).unwrap();
    assert_eq!(card.architecture, TINY);
    let batch: Tensor<Flex, 4> =
        image_batch(&common::mnist_images(8), &[0, 3, 7], &Default::default());
    let before = run.model.valid().forward(batch.clone()).into_data();
    let after = loaded.forward(batch).into_data();
    assert_eq!(before, after);
    // Only the two model files remain: no temp files left behind.
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["tiny.json", "tiny.mpk"]);
}

fn load_error(path: &std::path::Path) -> String {
    match store::load::<AutoencoderConfig, Flex>(path, &Default::default()) {
        Ok(_) => panic!("loading {} should fail", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_card_that_does_not_match_the_weights_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mpk) = saved_tiny_model(dir.path());
    let json = dir.path().join("tiny.json");
    let text = fs::read_to_string(&json).unwrap();
    fs::write(&json, text.replace("\"filters\": 4", "\"filters\": 8")).unwrap();
    let err = load_error(&mpk);
    assert!(
        err.contains("tiny.mpk") && err.contains("do not match"),
        "{err}"
    );

    fs::write(&json, text.replace("\"layers\": 2", "\"layers\": 3")).unwrap();
    assert!(load_error(&mpk).contains("do not match"));
}

#[test]
fn missing_or_corrupt_files_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mpk) = saved_tiny_model(dir.path());
    let json = dir.path().join("tiny.json");

    let bytes = fs::read(&mpk).unwrap();
    fs::write(&mpk, &bytes[..bytes.len() / 2]).unwrap();
    assert!(load_error(&mpk).contains("not a readable aelab model"));

    fs::write(&json, "{ not json").unwrap();
    assert!(load_error(&mpk).contains("not a valid aelab model card"));

    fs::remove_file(&json).unwrap();
    assert!(load_error(&mpk).contains("tiny.json: file not found"));
}
