//! Training and saving on real MNIST, small enough for a 2-core CI.

mod common;

use std::fs;

use aelab::data::augment::Inputs;
use aelab::data::dataset::{Split, image_batch};
use aelab::model::store::{self, ModelCard};
use aelab::model::{AutoencoderConfig, ConvStack};
use aelab::train::Schedule;
use aelab::train::autoencoder::{
    AutoencoderRun, ValidationNoise, train_autoencoder, validation_loss,
};
use aelab::train::epochs::Start;
use aelab::train::progress::Silent;
use aelab::train::stage::{Controls, Decay, Keep};
use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Module};
use burn::tensor::Tensor;

type Train = Autodiff<Flex>;

const TINY: AutoencoderConfig = AutoencoderConfig::convolutional(ConvStack {
    layers: 2,
    filter_size: 3,
    filters: 4,
});

fn train_tiny(
    images: &aelab::data::idx::Images,
    epochs: usize,
    seed: u64,
) -> AutoencoderRun<Train> {
    let schedule = Schedule {
        epochs,
        batch_size: 32,
        seed,
        learning_rate: aelab::train::LEARNING_RATE,
        controls: Controls::REPORT,
        inputs: Inputs::NONE,
    };
    train_scheduled(images, &schedule)
}

fn train_scheduled(
    images: &aelab::data::idx::Images,
    schedule: &Schedule,
) -> AutoencoderRun<Train> {
    let split = Split::new(images.count, schedule.seed);
    train_autoencoder::<Train>(
        images,
        &split,
        &TINY,
        schedule,
        Start::fresh(),
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

/// At a rate high enough for the validation loss to go up and down, the best epoch is
/// the one kept: the model returned validates to its loss, not to the last epoch's.
/// Measured: 0.450, 0.406, 0.441 (an earlier session's machine) and 0.450, 0.406, 0.449
/// (Intel Xeon, AVX-512): epoch 2 best by 8% or more, which other CPUs' roundings keep.
/// (Over 7 epochs the last two were within 1% and swapped places between the machines.)
#[test]
fn keeping_the_best_epoch_returns_its_weights() {
    let images = common::mnist_images(300);
    let schedule = Schedule {
        epochs: 3,
        batch_size: 32,
        seed: 13,
        learning_rate: 0.03,
        controls: Controls {
            keep: Keep::Best,
            ..Controls::REPORT
        },
        inputs: Inputs::NONE,
    };
    let run = train_scheduled(&images, &schedule);
    let h = &run.history;
    let lowest = h
        .iter()
        .min_by(|a, b| a.val_loss.total_cmp(&b.val_loss))
        .unwrap();
    let end = run.stages[0];
    assert_eq!((end.best, end.last), (lowest.epoch, 3), "{h:?}");
    assert!(
        end.best < end.last,
        "the test needs a best epoch before the last: {h:?}"
    );
    assert_eq!(run.figures().val_loss, lowest.val_loss);
    let split = Split::new(images.count, schedule.seed);
    let device = Default::default();
    let val_loss = validation_loss(
        &run.model.valid(),
        &images,
        &split.valid,
        ValidationNoise::NONE,
        &device,
    );
    let relative = |a: f64, b: f64| ((a - b) / b).abs();
    assert!(
        relative(val_loss, lowest.val_loss) < 1e-5,
        "{val_loss} against the best epoch's {}",
        lowest.val_loss
    );
    assert!(relative(val_loss, h[2].val_loss) > 1e-3, "{h:?}");
}

/// Patience ends the stage after that many epochs without a better validation loss, and
/// each epoch's rate is the schedule's: a cosine over the 10 planned epochs.
#[test]
fn patience_ends_a_stage_and_each_epoch_trains_at_the_scheduled_rate() {
    let images = common::mnist_images(300);
    let schedule = Schedule {
        epochs: 10,
        batch_size: 32,
        seed: 13,
        learning_rate: 0.03,
        controls: Controls {
            decay: Decay::Cosine,
            keep: Keep::Best,
            patience: Some(1),
        },
        inputs: Inputs::NONE,
    };
    let run = train_scheduled(&images, &schedule);
    let h = &run.history;
    let end = run.stages[0];
    assert!(end.last < 10, "the test needs an early stop: {h:?}");
    assert_eq!(h.len(), end.last);
    assert_eq!(end.last, end.best + 1, "{h:?}");
    assert!(h[end.last - 1].val_loss >= h[end.best - 1].val_loss);
    assert!(
        h[..end.best - 1]
            .iter()
            .all(|e| e.val_loss > h[end.best - 1].val_loss)
    );
    for (k, epoch) in h.iter().enumerate() {
        let cosine = 0.03 * 0.5 * (1.0 + (std::f64::consts::PI * k as f64 / 10.0).cos());
        assert_eq!(epoch.learning_rate, Some(cosine), "epoch {}", epoch.epoch);
    }
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

/// Every variant of a damaged `.mpk` (bytes flipped, file cut short) loads to a model of the
/// card's shapes or fails with a one-line `StoreError` naming the file; none panics. Panics
/// are caught so that one run lists every bad variant.
#[test]
fn damaged_weights_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mpk) = saved_tiny_model(dir.path());
    let original = fs::read(&mpk).unwrap();
    let mut variants: Vec<(String, Vec<u8>)> = Vec::new();
    let step = (original.len() / 150).max(1);
    for at in (0..original.len()).step_by(step) {
        for mask in [0x01, 0x10, 0x80, 0xff] {
            let mut bytes = original.clone();
            bytes[at] ^= mask;
            variants.push((format!("byte {at} ^ {mask:#04x}"), bytes));
        }
    }
    for len in (0..original.len()).step_by(step) {
        variants.push((format!("cut at {len}"), original[..len].to_vec()));
    }
    // Edits a single flip cannot make, each refused: another element type, a longer
    // parameter id, a NaN weight.
    let mut refused: Vec<(String, Vec<u8>)> = Vec::new();
    for dtype in ["F64", "F16", "I64", "U16"] {
        let to = [b"\xa5dtype\xa3", dtype.as_bytes()].concat();
        let edited = replace_all(&original, b"\xa5dtype\xa3F32", &to);
        refused.push((format!("dtype {dtype}"), edited));
    }
    let id = original
        .windows(4)
        .position(|w| w == b"\xa2id\xad")
        .unwrap()
        + 3;
    let long_id = [&original[..id], b"\xb0", &[b'0'; 16], &original[id + 14..]].concat();
    refused.push(("a 16-character id".into(), long_id));
    // The first convolution's 36 weights: a MessagePack bin of 144 bytes.
    let weights = original.windows(2).position(|w| w == b"\xc4\x90").unwrap() + 2;
    let mut nan = original.clone();
    nan[weights..weights + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    refused.push(("a NaN weight".into(), nan));

    let device = Default::default();
    let params = aelab::model::seeded::init_seeded::<_, Flex>(&TINY, 0, &device).num_params();
    let image: Tensor<Flex, 4> = image_batch(&common::mnist_images(1), &[0], &device);
    // None for a panic; a loaded model must also run: its tensors really have the card's shapes.
    let load = |bytes: &[u8]| {
        fs::write(&mpk, bytes).unwrap();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store::load::<AutoencoderConfig, Flex>(&mpk, &device)
                .map(|(model, _)| (model.num_params(), model.forward(image.clone()).dims()))
                .map_err(|e| e.to_string())
        }))
        .ok()
    };
    let clear = |e: &str| e.contains("tiny.mpk") && !e.contains('\n');
    let mut panicked = Vec::new();
    for (what, bytes) in &variants {
        match load(bytes) {
            Some(Ok(found)) => assert_eq!(found, (params, [1, 1, 28, 28]), "{what}"),
            Some(Err(e)) => assert!(clear(&e), "{what}: {e}"),
            None => panicked.push(what),
        }
    }
    for (what, bytes) in &refused {
        match load(bytes) {
            Some(Err(e)) => assert!(clear(&e), "{what}: {e}"),
            Some(Ok(_)) => panic!("{what} was loaded"),
            None => panicked.push(what),
        }
    }
    assert!(
        panicked.is_empty(),
        "{} of {} variants panicked: {panicked:?}",
        panicked.len(),
        variants.len() + refused.len()
    );
}

/// `bytes` with every `from` replaced by `to`, of the same length.
fn replace_all(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    for at in 0..=bytes.len().saturating_sub(from.len()) {
        if bytes[at..].starts_with(from) {
            out[at..at + to.len()].copy_from_slice(to);
        }
    }
    out
}

/// A denoising autoencoder validates on noisy images against the clean ones, each image
/// with the same noise every epoch: its recorded val_loss is what its model gives on the
/// noisy validation images, not on the clean ones.
#[test]
fn a_denoising_autoencoder_validates_on_fixed_noisy_images() {
    let images = common::mnist_images(300);
    let schedule = Schedule {
        epochs: 3,
        batch_size: 32,
        seed: 13,
        learning_rate: 0.01,
        controls: Controls::REPORT,
        inputs: Inputs {
            noise: 0.3,
            ..Inputs::NONE
        },
    };
    let run = train_scheduled(&images, &schedule);
    let split = Split::new(images.count, schedule.seed);
    let model = run.model.valid();
    let device = Default::default();
    let loss_with = |noise| validation_loss(&model, &images, &split.valid, noise, &device);
    let noisy = loss_with(ValidationNoise {
        std: 0.3,
        seed: schedule.seed,
    });
    let recorded = run.figures().val_loss;
    assert!(
        ((noisy - recorded) / recorded).abs() < 1e-5,
        "{noisy} against the recorded {recorded}"
    );
    let clean = loss_with(ValidationNoise::NONE);
    assert!(
        ((clean - recorded) / recorded).abs() > 1e-3,
        "clean {clean}, noisy {recorded}"
    );
    // Seeded: the same schedule trains the same run.
    let again = train_scheduled(&images, &schedule);
    let losses = |run: &AutoencoderRun<Train>| -> Vec<(f64, f64)> {
        run.history.iter().map(|e| (e.loss, e.val_loss)).collect()
    };
    assert_eq!(losses(&again), losses(&run));
}

// The backend comparisons (tests/common/backends.rs) must not pass a backend that returns
// NaN or infinity: f32::max drops a NaN, and `NaN > tolerance` is false.
#[test]
#[should_panic(expected = "differ")]
fn a_nan_fails_the_backend_comparison() {
    let flex = [("weights".to_string(), vec![1.0, 2.0, 3.0])];
    let other = [("weights".to_string(), vec![1.0, f32::NAN, 3.0])];
    common::backends::assert_each_close("nan", &flex, &other, 1e-3);
}

#[test]
#[should_panic(expected = "differ")]
fn an_infinity_fails_the_backend_comparison() {
    let flex = [("weights".to_string(), vec![1.0, 2.0, 3.0])];
    let other = [("weights".to_string(), vec![1.0, f32::INFINITY, 3.0])];
    common::backends::assert_each_close("inf", &flex, &other, 1e-3);
}
