//! One small job run on two backends from the same seed, and their results compared: the
//! seed gives both the same initial weights, split and batches, so they differ only by float
//! rounding (the two sum in other orders).

use aelab::data::dataset::{Split, image_batch};
use aelab::data::idx::Images;
use aelab::model::seeded::init_seeded;
use aelab::model::{AutoencoderConfig, ClassifierConfig, ConvStack, TrainBackend};
use aelab::train::autoencoder::{reconstruction_loss, train_autoencoder};
use aelab::train::classifier::{Labelled, LossKind, Recipe, Stage, Trainer, train_classifier};
use aelab::train::epochs::Start;
use aelab::train::progress::Silent;
use aelab::train::{Accuracy, EpochStats, Metrics, NoMetrics, Schedule};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

/// What a run left: its history, then named results, each flattened, and its model as
/// `aelab` writes it to a file.
pub struct Outcome<M> {
    pub history: Vec<EpochStats<M>>,
    pub results: Vec<(String, Vec<f32>)>,
    pub model_file: Vec<u8>,
}

/// The bytes of `module`'s model file (burn's named MessagePack, as `aelab --save` writes).
pub fn model_file<B: Backend, M: Module<B>>(module: M) -> Vec<u8> {
    let recorder = NamedMpkBytesRecorder::<FullPrecisionSettings>::new();
    Recorder::<B>::record(&recorder, module.into_record(), ()).unwrap()
}

fn flat(data: TensorData) -> Vec<f32> {
    data.to_vec::<f32>().unwrap()
}

/// Every weight matrix and kernel of `module` (parameters of two or more dimensions; biases
/// and BatchNorm's vectors are left out: a bias before BatchNorm is cancelled by it, so its
/// gradient is rounding noise that RMSprop scales to full steps), named by their order.
pub fn weights<B: Backend, M: Module<B>>(module: &M) -> Vec<(String, Vec<f32>)> {
    struct Collect(Vec<(String, Vec<f32>)>);
    impl<B: Backend> ModuleVisitor<B> for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            if D >= 2 {
                let name = format!("weights {} {:?}", self.0.len(), param.val().dims());
                self.0.push((name, flat(param.val().into_data())));
            }
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    collect.0
}

/// Train an autoencoder of `stack` on `B`: its history, its eval-mode reconstruction of the
/// first four images, and its weights.
pub fn autoencoder<B: TrainBackend>(
    stack: &ConvStack,
    schedule: &Schedule,
    images: &Images,
    device: &B::Device,
) -> Outcome<NoMetrics> {
    let split = Split::new(images.count, schedule.seed);
    let run = train_autoencoder::<B>(
        images,
        &split,
        &AutoencoderConfig::convolutional(*stack),
        schedule,
        Start::fresh(),
        device,
        &mut Silent,
    )
    .unwrap();
    let model = run.model.valid();
    let batch = image_batch::<B::InnerBackend>(images, &[0, 1, 2, 3], device);
    let mut results = vec![(
        "reconstruction".into(),
        flat(model.forward(batch).into_data()),
    )];
    results.extend(weights(&model));
    Outcome {
        history: run.history,
        results,
        model_file: model_file(model),
    }
}

/// Train a classifier (`fc_units`, cross-entropy) on an encoder of `stack` drawn from the
/// seed, on `B`, through both stages (`schedule.epochs` each): its history and its weights.
pub fn classifier<B: TrainBackend>(
    stack: &ConvStack,
    fc_units: usize,
    schedule: Schedule,
    data: Labelled,
    device: &B::Device,
) -> Outcome<Accuracy> {
    let split = Split::new(data.images.count, schedule.seed);
    let config = ClassifierConfig {
        encoder: *stack,
        fc_units,
        classes: 10,
        height: data.images.height,
        width: data.images.width,
    };
    let encoder = init_seeded::<_, B>(
        &AutoencoderConfig::convolutional(*stack),
        schedule.seed,
        device,
    )
    .encoder;
    let model = config.on_encoder(encoder, schedule.seed, device);
    let trainer = Trainer::new(
        data,
        &split,
        10,
        Recipe::report(schedule),
        LossKind::CrossEntropy,
        device,
    );
    let run = train_classifier(trainer, model, &config, &mut Silent).unwrap();
    let model = run.model.valid();
    Outcome {
        history: run.history,
        results: weights(&model),
        model_file: model_file(model),
    }
}

/// The two stages one at a time on `B`, from an encoder of `stack` drawn from the seed: the
/// frozen stage leaves the encoder's weights and BatchNorm statistics bit-identical and
/// trains the head; the stage after it trains the encoder.
pub fn assert_the_frozen_stage_keeps_the_encoder<B: TrainBackend>(
    stack: &ConvStack,
    schedule: Schedule,
    data: Labelled,
    device: &B::Device,
) {
    let split = Split::new(data.images.count, schedule.seed);
    let config = ClassifierConfig {
        encoder: *stack,
        fc_units: 8,
        classes: 10,
        height: data.images.height,
        width: data.images.width,
    };
    let encoder = init_seeded::<_, B>(
        &AutoencoderConfig::convolutional(*stack),
        schedule.seed,
        device,
    )
    .encoder;
    let model = config.on_encoder(encoder, schedule.seed, device);
    let (encoder_before, head_before) = (
        model_file(model.encoder.clone()),
        model_file(model.head.clone()),
    );
    let mut trainer = Trainer::new(
        data,
        &split,
        10,
        Recipe::report(schedule),
        LossKind::CrossEntropy,
        device,
    );
    let model = trainer.stage(model, Stage::Frozen, &mut Silent).unwrap();
    assert!(
        model_file(model.encoder.clone()) == encoder_before,
        "the frozen stage moved the encoder"
    );
    assert!(
        model_file(model.head.clone()) != head_before,
        "the frozen stage left the head as it was"
    );
    let model = trainer.stage(model, Stage::Full, &mut Silent).unwrap();
    assert!(
        model_file(model.encoder) != encoder_before,
        "the stage after the frozen one left the encoder as it was"
    );
    assert_eq!(trainer.history().len(), 2 * schedule.epochs);
}

/// From the seed's initial weights, on `B`: the training-mode loss of a batch of `images`,
/// the gradient of that loss with respect to the images (it flows back through every layer),
/// and the eval-mode reconstruction of the same batch.
pub fn first_step<B: TrainBackend>(
    stack: &ConvStack,
    seed: u64,
    images: &Images,
    device: &B::Device,
) -> Vec<(String, Vec<f32>)> {
    let model = init_seeded::<_, B>(&AutoencoderConfig::convolutional(*stack), seed, device);
    let all: Vec<usize> = (0..images.count).collect();
    let batch = image_batch::<B>(images, &all, device).require_grad();
    let loss = reconstruction_loss(&model, batch.clone());
    let grads = loss.backward();
    let eval = model.valid().forward(batch.clone().inner());
    vec![
        ("loss".into(), flat(loss.into_data())),
        (
            "image gradient".into(),
            flat(batch.grad(&grads).unwrap().into_data()),
        ),
        ("eval reconstruction".into(), flat(eval.into_data())),
    ]
}

/// The accuracy an epoch's metrics hold, if they hold one.
pub trait AccuracyOf {
    fn accuracy(&self) -> Option<Accuracy>;
}

impl AccuracyOf for NoMetrics {
    fn accuracy(&self) -> Option<Accuracy> {
        None
    }
}

impl AccuracyOf for Accuracy {
    fn accuracy(&self) -> Option<Accuracy> {
        Some(*self)
    }
}

/// How closely a backend must agree with flex after the same training.
pub struct Agreement {
    /// The other backend, as messages name it.
    pub backend: &'static str,
    /// Relative difference allowed in losses.
    pub tolerance: f64,
    /// Relative difference allowed in outputs and weights.
    pub results_tolerance: f64,
    /// Difference allowed in training and validation accuracy: about one image each (an
    /// image whose two top classes nearly tie may fall either side).
    pub accuracy_slack: [f64; 2],
}

impl Agreement {
    /// The two runs agree epoch by epoch and in every named result.
    pub fn assert_outcomes<M: Metrics + AccuracyOf>(&self, flex: &Outcome<M>, other: &Outcome<M>) {
        self.assert_histories(&flex.history, &other.history);
        let tolerance = self.results_tolerance;
        assert_each_close(self.backend, &flex.results, &other.results, tolerance);
    }

    pub fn assert_histories<M: Metrics + AccuracyOf>(
        &self,
        flex: &[EpochStats<M>],
        other: &[EpochStats<M>],
    ) {
        let name = self.backend;
        assert_eq!(flex.len(), other.len());
        for (f, o) in flex.iter().zip(other) {
            eprintln!(
                "epoch {}: loss flex {} {name} {}, val_loss flex {} {name} {}",
                f.epoch, f.loss, o.loss, f.val_loss, o.val_loss
            );
            self.assert_close(&format!("epoch {} loss", f.epoch), f.loss, o.loss);
            self.assert_close(
                &format!("epoch {} val_loss", f.epoch),
                f.val_loss,
                o.val_loss,
            );
            if let (Some(fa), Some(oa)) = (f.metrics.accuracy(), o.metrics.accuracy()) {
                let [train, valid] = self.accuracy_slack;
                assert!((fa.train - oa.train).abs() <= train, "{fa:?} {oa:?}");
                assert!((fa.valid - oa.valid).abs() <= valid, "{fa:?} {oa:?}");
            }
        }
    }

    fn assert_close(&self, what: &str, flex: f64, other: f64) {
        let relative = (flex - other).abs() / flex.abs().max(1e-12);
        assert!(
            relative <= self.tolerance,
            "{what}: flex {flex}, {} {other} (relative difference {relative:.2e})",
            self.backend
        );
    }
}

/// Each named pair of flattened results agrees: the largest difference, relative to the
/// largest flex value, is at most `tolerance`.
pub fn assert_each_close(
    name: &str,
    flex: &[(String, Vec<f32>)],
    other: &[(String, Vec<f32>)],
    tolerance: f64,
) {
    assert_eq!(flex.len(), other.len());
    // Every difference is printed before any fails: which layers drift tells why.
    let mut failed = Vec::new();
    for ((what, f), (_, o)) in flex.iter().zip(other) {
        assert_eq!(f.len(), o.len(), "{what}");
        let scale = f.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        // NaN or infinity anywhere is the worst difference (f32::max would drop a NaN).
        let worst = f
            .iter()
            .zip(o)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, |m, d| {
                if d.is_nan() || m.is_nan() {
                    f32::NAN
                } else {
                    m.max(d)
                }
            });
        eprintln!("{what}: worst difference {worst:e} relative to {scale:e}");
        let relative = f64::from(worst / scale);
        if relative.is_nan() || relative > tolerance {
            failed.push(format!("{what} by up to {worst} (largest value {scale})"));
        }
    }
    assert!(
        failed.is_empty(),
        "flex and {name} differ: {}",
        failed.join("; ")
    );
}

/// How many times [`assert_reproducible`] makes a run.
const RUNS: usize = 5;

/// Threads that keep every core busy until dropped.
pub struct Busy {
    stop: Arc<AtomicBool>,
    spinners: Vec<JoinHandle<()>>,
}

impl Busy {
    pub fn cores(count: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let spinners = (0..count)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut spin = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        spin = std::hint::black_box(spin.wrapping_mul(31).wrapping_add(1));
                    }
                })
            })
            .collect();
        Self { stop, spinners }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for spinner in self.spinners.drain(..) {
            let _ = spinner.join();
        }
    }
}

/// An epoch as bits, its wall time left out: equal only when every figure is the same to
/// the bit (and never when one is NaN).
fn bits<M: std::fmt::Debug>(epoch: &EpochStats<M>) -> String {
    format!(
        "epoch {} loss {:#x} val_loss {:#x} lr {:?} {:?}",
        epoch.epoch,
        epoch.loss.to_bits(),
        epoch.val_loss.to_bits(),
        epoch.learning_rate.map(f64::to_bits),
        epoch.metrics
    )
}

/// `run` made [`RUNS`] times on a busy machine gives the same outcome every time.
pub fn assert_reproducible<M: std::fmt::Debug>(run: impl Fn() -> Outcome<M>) {
    let _busy = Busy::cores(2);
    let first = run();
    assert!(
        first
            .history
            .iter()
            .all(|e| e.loss.is_finite() && e.val_loss.is_finite()),
        "{:?}",
        first.history
    );
    let history: Vec<String> = first.history.iter().map(bits).collect();
    for attempt in 2..=RUNS {
        let again = run();
        let again_history: Vec<String> = again.history.iter().map(bits).collect();
        assert_eq!(again_history, history, "run {attempt}'s history");
        for ((name, a), (_, b)) in first.results.iter().zip(&again.results) {
            let same =
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "run {attempt}: {name} differs");
        }
        assert!(
            again.model_file == first.model_file,
            "run {attempt}: the model file differs ({} and {} bytes)",
            first.model_file.len(),
            again.model_file.len()
        );
    }
}
