//! The two kinds of experiment as data, apart from any backend: each kind's hyperparameter
//! table, its results table's layout, and what its metrics show. Adding a hyperparameter is
//! one entry in its kind's table here, plus the code that uses it.

use std::cmp::Ordering;
use std::ops::Bound;
use std::str::FromStr;

use super::hyper::{DefaultValue, Hyper, Origin, Param, ParamSet, Value, Values, param_table};
use super::source::{SourceColumn, SourceColumns};
use crate::data::augment::{Augment, Inputs};
use crate::exit::InputError;
use crate::model::autoencoder::MAX_LAYER_WIDTH;
use crate::model::classifier::MAX_FC_UNITS;
use crate::model::encoder::POOLED_LAYERS;
use crate::model::{AutoencoderConfig, ConvStack};
use crate::train::classifier::{FineTuneNorm, FineTuning, LossKind, Recipe};
use crate::train::stage::{self, Controls, Decay};
use crate::train::{Accuracy, Figures, LEARNING_RATE, Metrics, NoMetrics, Schedule};

/// One kind of experiment, as its tables, graphs and checkpoints know it.
pub trait Kind: 'static {
    type Param: ParamSet;
    /// What a run measures besides the loss.
    type Metrics: Recorded;
    /// "autoencoder" or "classifier": checkpoints say which kind wrote them.
    const NAME: &'static str;
    /// The results table's file name under the output folder.
    const TABLE_FILE: &'static str;
    /// The columns after the hyperparameters that say which run a row is.
    const SOURCE_COLUMNS: &'static [SourceColumn];
    /// How "Saved the ... as" names the saved model.
    const SAVED_NOUN: &'static str;
    /// Whether its runs reconstruct images: the table's Val_PSNR and Val_SSIM columns.
    const RECONSTRUCTS: bool;

    /// The per-epoch curves of the run `run_name`: one file each for the loss and each
    /// panel of the metrics, in that order.
    fn curve_files(run_name: &str) -> Vec<String>;
    /// Each stage's columns for its best and its last epoch.
    const STAGE_COLUMNS: &'static [(&'static str, &'static str)];
    /// The loss function as axis titles name it, for rows from `source`.
    fn loss_name(source: &SourceColumns) -> String;
}

/// The hyperparameters of kind `K`.
pub type ParamOf<K> = <K as Kind>::Param;
/// What bounds kind `K`'s hyperparameters together.
pub type LimitsOf<K> = <ParamOf<K> as ParamSet>::Limits;

/// One pair of figures a kind's metrics add beside the loss: its columns in the results
/// table, its panel in the error graphs and its per-epoch curves.
pub struct MetricPanel<M> {
    /// For titles and summaries: "accuracy".
    pub name: &'static str,
    /// The table's columns: ("Accuracy", "Val_Accuracy").
    pub columns: (&'static str, &'static str),
    /// How the run's summary line names them: ("accuracy", "val_accuracy").
    pub summary: (&'static str, &'static str),
    /// The error graph's y axis and legend.
    pub y_desc: &'static str,
    pub labels: (&'static str, &'static str),
    /// The per-epoch curves' y axis and legend.
    pub curve_y_desc: &'static str,
    pub curve_labels: (&'static str, &'static str),
    /// A run's training and validation value.
    pub value: fn(&M) -> (f64, f64),
}

/// Metrics that results tables record and graphs draw: one panel each.
pub trait Recorded: Metrics + 'static {
    const PANELS: &'static [MetricPanel<Self>];
    /// Table order, best first.
    fn rank(a: &Figures<Self>, b: &Figures<Self>) -> Ordering;
    /// The metrics of a row, from each panel's pair of values in [`Self::PANELS`] order.
    fn from_values(values: &[(f64, f64)]) -> Self;
}

impl Recorded for NoMetrics {
    const PANELS: &'static [MetricPanel<Self>] = &[];

    /// Lowest validation loss first.
    fn rank(a: &Figures<Self>, b: &Figures<Self>) -> Ordering {
        a.val_loss.total_cmp(&b.val_loss)
    }

    fn from_values(_: &[(f64, f64)]) -> Self {
        NoMetrics
    }
}

impl Recorded for Accuracy {
    const PANELS: &'static [MetricPanel<Self>] = &[MetricPanel {
        name: "accuracy",
        columns: ("Accuracy", "Val_Accuracy"),
        summary: ("accuracy", "val_accuracy"),
        y_desc: "Final accuracy",
        labels: ("Accuracy", "Validation accuracy"),
        curve_y_desc: "Accuracy",
        curve_labels: ("Training accuracy", "Validation accuracy"),
        value: |a| (a.train, a.valid),
    }];

    /// Best validation accuracy first.
    fn rank(a: &Figures<Self>, b: &Figures<Self>) -> Ordering {
        b.metrics.valid.total_cmp(&a.metrics.valid)
    }

    fn from_values(values: &[(f64, f64)]) -> Self {
        let [(train, valid)] = values else {
            panic!("accuracy is one panel, got {values:?}");
        };
        Accuracy {
            train: *train,
            valid: *valid,
        }
    }
}

/// The learning rate's entry, the same in both tables.
const LEARNING_RATE_PARAM: Param = Param {
    flag: "lr",
    label: "Learning rate",
    abbrev: "LR",
    column: "Learning_Rate",
    value_name: "RATE",
    help: "RMSprop's learning rate",
    values: Values::Decimal {
        low: Bound::Excluded(0.0),
        high: Bound::Unbounded,
        log: true,
    },
    default: DefaultValue::Fixed(Value::Decimal(LEARNING_RATE)),
    origin: Origin::Added,
};

/// A hyperparameter aelab added, with its values and default.
#[allow(clippy::too_many_arguments)]
const fn added(
    flag: &'static str,
    label: &'static str,
    abbrev: &'static str,
    column: &'static str,
    value_name: &'static str,
    help: &'static str,
    values: Values,
    default: Value,
) -> Param {
    Param {
        flag,
        label,
        abbrev,
        column,
        value_name,
        help,
        values,
        default: DefaultValue::Fixed(default),
        origin: Origin::Added,
    }
}

const RATE_SCHEDULES: &[&str] = &["constant", "plateau", "cosine"];
const KEPT_EPOCHS: &[&str] = &["last", "best"];
const FINE_TUNE_NORMS: &[&str] = &["batch", "running"];

/// Entries the same in both tables: how the rate moves, which epoch is kept, when a stage
/// stops early.
const LR_SCHEDULE_PARAM: Param = added(
    "lr-schedule",
    "LR schedule",
    "SCH",
    "LR_Schedule",
    "NAME",
    "How the learning rate moves in each stage: constant; plateau (times --plateau-factor \
     after --plateau-patience epochs without a lower val_loss, as Keras' ReduceLROnPlateau); \
     cosine (decays to near 0 over the stage)",
    Values::Choice(RATE_SCHEDULES),
    Value::Choice("constant"),
);
const PLATEAU_FACTOR_PARAM: Param = added(
    "plateau-factor",
    "Plateau factor",
    "PF",
    "Plateau_Factor",
    "F",
    "What --lr-schedule plateau multiplies the rate by",
    Values::Decimal {
        low: Bound::Excluded(0.0),
        high: Bound::Excluded(1.0),
        log: false,
    },
    Value::Decimal(0.5),
);
const PLATEAU_PATIENCE_PARAM: Param = added(
    "plateau-patience",
    "Plateau patience",
    "PP",
    "Plateau_Patience",
    "N",
    "Epochs without a lower val_loss before --lr-schedule plateau lowers the rate",
    Values::Whole { min: 1, max: None },
    Value::Whole(2),
);
const KEEP_PARAM: Param = added(
    "keep",
    "Kept epoch",
    "K",
    "Keep",
    "WHICH",
    "The epoch whose weights each stage ends with, and that is saved, recorded and \
     tested: last, or best (by val_loss for the autoencoder, val_accuracy for the classifier)",
    Values::Choice(KEPT_EPOCHS),
    Value::Choice("last"),
);
const PATIENCE_PARAM: Param = added(
    "patience",
    "Patience",
    "P",
    "Patience",
    "N",
    "End a stage after N epochs without a better validation figure (0: never)",
    Values::Whole { min: 0, max: None },
    Value::Whole(0),
);

/// The decimal values from 0 (off, the default) up to `high`, on a linear axis.
const fn from_zero(high: Bound<f64>) -> Values {
    Values::Decimal {
        low: Bound::Included(0.0),
        high,
        log: false,
    }
}

/// Entries the same in both tables: what each training image goes through.
const SHIFT_PARAM: Param = added(
    "shift",
    "Shift",
    "SH",
    "Shift",
    "F",
    "Move each training image by up to F of its width across and of its height down, \
     either way (Keras' RandomTranslation; 0: no shifts)",
    from_zero(Bound::Excluded(1.0)),
    Value::Decimal(0.0),
);
const ROTATION_PARAM: Param = added(
    "rotation",
    "Rotation",
    "ROT",
    "Rotation",
    "DEG",
    "Rotate each training image by up to DEG degrees either way (0: none)",
    Values::Whole {
        min: 0,
        max: Some(180),
    },
    Value::Whole(0),
);
const ZOOM_PARAM: Param = added(
    "zoom",
    "Zoom",
    "Z",
    "Zoom",
    "F",
    "Scale each training image by a factor within 1 +- F (0: none)",
    from_zero(Bound::Excluded(1.0)),
    Value::Decimal(0.0),
);
const NOISE_PARAM: Param = added(
    "noise",
    "Input noise",
    "N",
    "Noise",
    "STD",
    "Gaussian noise of standard deviation STD on the model's inputs, clipped to [0, 1]; the \
     autoencoder's targets stay clean (a denoising autoencoder, validated on noisy images \
     too)",
    from_zero(Bound::Unbounded),
    Value::Decimal(0.0),
);

/// The batch size's entry, the same in both tables.
const BATCH_SIZE_PARAM: Param = Param::whole(
    "batch-size",
    "Batch size",
    "B",
    "Batch_Size",
    "B",
    "Images per training batch",
    64,
);

param_table! {
    /// The autoencoder's hyperparameters; the defaults are the original report's base run,
    /// L4_FS3_FL32_E100_B64.
    pub enum AutoencoderParam {
        Layers = Param::whole("layers", "Layers", "L", "Layers", "L",
            "Conv layers in the encoder (and in the decoder), at least 2", 4)
            .within(POOLED_LAYERS, None),
        FilterSize = Param::whole("filter-size", "Filter size", "FS", "Filter_Size", "K",
            "Conv filter size K (K x K kernels)", 3),
        Filters = Param::whole("filters", "Filters per layer", "FL", "Filters/Layer", "F",
            "Filters in the first layer; they double per layer", 32),
        Epochs = Param::whole("epochs", "Epochs", "E", "Epochs", "E", "Training epochs", 100),
        BatchSize = BATCH_SIZE_PARAM,
        LearningRate = LEARNING_RATE_PARAM,
        LrSchedule = LR_SCHEDULE_PARAM,
        PlateauFactor = PLATEAU_FACTOR_PARAM,
        PlateauPatience = PLATEAU_PATIENCE_PARAM,
        Keep = KEEP_PARAM,
        Patience = PATIENCE_PARAM,
        Shift = SHIFT_PARAM,
        Rotation = ROTATION_PARAM,
        Zoom = ZOOM_PARAM,
        Noise = NOISE_PARAM,
        Code = added("code", "Code size", "C", "Code", "N",
            "A fully connected code of N numbers between encoder and decoder (0: none, the \
            encoder's output is the code); a narrow one reconstructs the images it was \
            trained on and few others, as anomaly scores need",
            Values::Whole { min: 0, max: Some(MAX_LAYER_WIDTH) }, Value::Whole(0)),
    }
}

impl ParamSet for AutoencoderParam {
    const ALL: &'static [Self] = Self::VARIANTS;
    type Limits = ();

    fn spec(self) -> &'static Param {
        self.table_entry()
    }

    /// The widest layer (filters doubling per layer) must fit.
    fn check_together(hyper: &Hyper<Self>, _: ()) -> Result<(), InputError> {
        AutoencoderConfig::validate_stack(&hyper.stack())
    }
}

/// The entries of kind table `$param` that every schedule reads: both tables name them
/// alike.
macro_rules! schedule_entries {
    ($param:ident) => {
        ScheduleEntries {
            epochs: $param::Epochs,
            batch_size: $param::BatchSize,
            learning_rate: $param::LearningRate,
            lr_schedule: $param::LrSchedule,
            plateau_factor: $param::PlateauFactor,
            plateau_patience: $param::PlateauPatience,
            keep: $param::Keep,
            patience: $param::Patience,
            shift: $param::Shift,
            rotation: $param::Rotation,
            zoom: $param::Zoom,
            noise: $param::Noise,
        }
    };
}

impl Hyper<AutoencoderParam> {
    /// The architecture for images of `height x width` (a fully connected code's size
    /// depends on theirs).
    pub fn architecture(&self, height: usize, width: usize) -> AutoencoderConfig {
        let code = self.whole(AutoencoderParam::Code);
        AutoencoderConfig::new(self.stack(), (code > 0).then_some(code), height, width)
    }

    /// The encoder's conv stack, which the decoder mirrors.
    pub fn stack(&self) -> ConvStack {
        use AutoencoderParam::*;
        ConvStack {
            layers: self.whole(Layers),
            filter_size: self.whole(FilterSize),
            filters: self.whole(Filters),
        }
    }

    pub fn schedule(&self, seed: u64) -> Schedule {
        self.schedule_from(seed, &schedule_entries!(AutoencoderParam))
    }
}

/// The entries of a kind's table that every schedule reads.
struct ScheduleEntries<P> {
    epochs: P,
    batch_size: P,
    learning_rate: P,
    lr_schedule: P,
    plateau_factor: P,
    plateau_patience: P,
    keep: P,
    patience: P,
    shift: P,
    rotation: P,
    zoom: P,
    noise: P,
}

impl<P: ParamSet> Hyper<P> {
    /// The schedule these entries name. Their choices were checked against the table's
    /// names, so another name is a bug in aelab.
    fn schedule_from(&self, seed: u64, entries: &ScheduleEntries<P>) -> Schedule {
        let decay = match self.choice(entries.lr_schedule) {
            "constant" => Decay::Constant,
            "plateau" => Decay::Plateau {
                factor: self.decimal(entries.plateau_factor),
                patience: self.whole(entries.plateau_patience),
            },
            "cosine" => Decay::Cosine,
            other => unreachable!("'{other}' is not one of {RATE_SCHEDULES:?}"),
        };
        let keep = match self.choice(entries.keep) {
            "last" => stage::Keep::Last,
            "best" => stage::Keep::Best,
            other => unreachable!("'{other}' is not one of {KEPT_EPOCHS:?}"),
        };
        let patience = self.whole(entries.patience);
        Schedule {
            epochs: self.whole(entries.epochs),
            batch_size: self.whole(entries.batch_size),
            seed,
            learning_rate: self.decimal(entries.learning_rate),
            controls: Controls {
                decay,
                keep,
                patience: (patience > 0).then_some(patience),
            },
            inputs: Inputs {
                augment: Augment {
                    shift: self.decimal(entries.shift),
                    rotation: self.whole(entries.rotation) as f64,
                    zoom: self.decimal(entries.zoom),
                },
                noise: self.decimal(entries.noise),
            },
        }
    }
}

param_table! {
    /// The classifier's hyperparameters; the defaults are the original report's base run:
    /// all of the encoder's layers, FC 32, 10 epochs per stage (the report's `Epochs 20`
    /// counts both), batch 64.
    pub enum ClassifierParam {
        Layers = Param {
            default: DefaultValue::Derived("all of the autoencoder's"),
            ..Param::whole("layers", "Encoder layers", "L", "Layers", "K",
                "Encoder layers to use, from the first", 0)
        },
        FcUnits = Param::whole("fc-units", "FC units", "FC", "Fc_units", "N",
            "Units of the fully connected layer", 32)
            .within(1, Some(MAX_FC_UNITS)),
        Epochs = Param::whole("epochs", "Epochs", "E", "Epochs", "E",
            "Epochs of each stage: encoder frozen, then everything (2E in all)", 10),
        BatchSize = BATCH_SIZE_PARAM,
        LearningRate = LEARNING_RATE_PARAM,
        FineTuneFactor = added("fine-tune-factor", "Fine-tuning factor", "FTF",
            "Fine_Tune_Factor", "F", "Stage 2's learning rate, everything training, as a \
            fraction of --lr (Keras' fine-tuning guide uses 0.01)",
            Values::Decimal { low: Bound::Excluded(0.0), high: Bound::Unbounded, log: true },
            Value::Decimal(1.0)),
        FineTuneBn = added("fine-tune-bn", "Fine-tuning BatchNorm", "FTBN", "Fine_Tune_BN",
            "STATS", "What the encoder's BatchNorm normalises with in stage 2: batch (each \
            batch's statistics) or running (the autoencoder's, kept: Keras' inference mode)",
            Values::Choice(FINE_TUNE_NORMS), Value::Choice("batch")),
        LrSchedule = LR_SCHEDULE_PARAM,
        PlateauFactor = PLATEAU_FACTOR_PARAM,
        PlateauPatience = PLATEAU_PATIENCE_PARAM,
        Keep = KEEP_PARAM,
        Patience = PATIENCE_PARAM,
        Shift = SHIFT_PARAM,
        Rotation = ROTATION_PARAM,
        Zoom = ZOOM_PARAM,
        Noise = NOISE_PARAM,
        Dropout = added("dropout", "Dropout", "DO", "Dropout", "P",
            "Drop each of the fully connected layer's inputs with probability P while \
            training (the encoder's flattened features; Keras' MNIST ConvNet uses 0.5)",
            from_zero(Bound::Excluded(1.0)), Value::Decimal(0.0)),
    }
}

/// How many blocks the loaded encoder has: the most encoder layers a classifier can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderDepth(pub usize);

impl ParamSet for ClassifierParam {
    const ALL: &'static [Self] = Self::VARIANTS;
    type Limits = EncoderDepth;

    fn spec(self) -> &'static Param {
        self.table_entry()
    }

    fn check_together(hyper: &Hyper<Self>, depth: EncoderDepth) -> Result<(), InputError> {
        let layers = hyper.whole(ClassifierParam::Layers);
        if layers > depth.0 {
            return Err(InputError::new(format!(
                "encoder layers must be between 1 and {}, the loaded encoder's depth (got {layers})",
                depth.0
            )));
        }
        Ok(())
    }
}

impl Hyper<ClassifierParam> {
    /// The flags `given`, the original report's base run on an encoder of `depth` blocks
    /// for the rest.
    pub fn on_encoder(given: &[(ClassifierParam, Value)], depth: EncoderDepth) -> Self {
        Self::new(given, |_| Value::Whole(depth.0))
    }

    /// Both stages' schedule, how the second differs, and dropout.
    pub fn recipe(&self, seed: u64) -> Recipe {
        use ClassifierParam::*;
        let schedule = self.schedule_from(seed, &schedule_entries!(ClassifierParam));
        let fine_tuning = FineTuning {
            learning_rate: schedule.learning_rate * self.decimal(FineTuneFactor),
            norm: match self.choice(FineTuneBn) {
                "batch" => FineTuneNorm::Batch,
                "running" => FineTuneNorm::Running,
                other => unreachable!("'{other}' is not one of {FINE_TUNE_NORMS:?}"),
            },
        };
        Recipe {
            schedule,
            fine_tuning,
            dropout: self.decimal(Dropout),
        }
    }
}

/// `aelab autoencoder`.
pub struct AutoencoderKind;

impl Kind for AutoencoderKind {
    type Param = AutoencoderParam;
    type Metrics = NoMetrics;
    const NAME: &'static str = "autoencoder";
    /// As in the original report.
    const TABLE_FILE: &'static str = "loss_values.csv";
    const SOURCE_COLUMNS: &'static [SourceColumn] = &[
        SourceColumn::Data,
        SourceColumn::Classes,
        SourceColumn::Images,
        SourceColumn::Seed,
        SourceColumn::Device,
    ];
    const SAVED_NOUN: &'static str = "model";
    const RECONSTRUCTS: bool = true;
    const STAGE_COLUMNS: &'static [(&'static str, &'static str)] = &[("Best_Epoch", "Last_Epoch")];

    fn curve_files(run_name: &str) -> Vec<String> {
        vec![format!("{run_name}_curves.png")]
    }

    fn loss_name(_: &SourceColumns) -> String {
        "MSE".into()
    }
}

/// `aelab classify`.
pub struct ClassifierKind;

impl Kind for ClassifierKind {
    type Param = ClassifierParam;
    type Metrics = Accuracy;
    const NAME: &'static str = "classifier";
    /// As in the original report.
    const TABLE_FILE: &'static str = "classification_loss_values.csv";
    const SOURCE_COLUMNS: &'static [SourceColumn] = &[
        SourceColumn::Data,
        SourceColumn::Images,
        SourceColumn::Seed,
        SourceColumn::Loss,
        SourceColumn::Encoder,
        SourceColumn::Device,
    ];
    const SAVED_NOUN: &'static str = "classifier";
    const RECONSTRUCTS: bool = false;
    /// Stage 1 (encoder frozen), then stage 2, numbered across the run.
    const STAGE_COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("Best_Epoch_1", "Last_Epoch_1"),
        ("Best_Epoch_2", "Last_Epoch_2"),
    ];

    /// The latest run's, with the original report's names.
    fn curve_files(_: &str) -> Vec<String> {
        vec![
            "Training_and_validation_loss.png".into(),
            "Training_and_validation_accuracy.png".into(),
        ]
    }

    /// The loss as `--loss` spells it in the table, named as training runs name it.
    fn loss_name(source: &SourceColumns) -> String {
        let flag = source.loss.as_deref().unwrap_or_default();
        LossKind::from_str(flag).map_or_else(|_| "loss".into(), |loss| loss.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::hyper::parse_sweep;

    fn report_base() -> Hyper<AutoencoderParam> {
        Hyper::defaults()
    }

    #[test]
    fn run_and_graph_names_follow_the_seed_scheme() {
        let base = report_base();
        assert_eq!(base.run_name(), "L4_FS3_FL32_E100_B64");
        assert_eq!(
            base.graph_name(AutoencoderParam::Filters),
            "L4_FS3_FLx_E100_B64"
        );
        assert_eq!(
            base.with(AutoencoderParam::BatchSize, Value::Whole(40))
                .run_name(),
            "L4_FS3_FL32_E100_B40"
        );
        let slower = base.with(AutoencoderParam::LearningRate, Value::Decimal(3e-4));
        assert_eq!(slower.run_name(), "L4_FS3_FL32_E100_B64_LR3e-4");
        assert_eq!(
            base.graph_name(AutoencoderParam::LearningRate),
            "L4_FS3_FL32_E100_B64_LRx"
        );
    }

    #[test]
    fn sweep_keys_are_forgiving() {
        for key in ["filters", "FL", "filters-per-layer"] {
            assert_eq!(
                AutoencoderParam::for_key(key),
                Some(AutoencoderParam::Filters),
                "{key}"
            );
        }
        assert_eq!(
            AutoencoderParam::for_key("batch-size"),
            Some(AutoencoderParam::BatchSize)
        );
        assert_eq!(
            AutoencoderParam::for_key("learning_rate"),
            Some(AutoencoderParam::LearningRate)
        );
        assert_eq!(AutoencoderParam::for_key("dropout"), None);
        assert_eq!(
            ClassifierParam::for_key("dropout"),
            Some(ClassifierParam::Dropout)
        );
    }

    #[test]
    fn sweeps_parse_and_explain_mistakes() {
        assert_eq!(
            parse_sweep::<AutoencoderParam>("filters=16,32, 64"),
            Ok((
                AutoencoderParam::Filters,
                [16, 32, 64].map(Value::Whole).to_vec()
            ))
        );
        assert_eq!(
            parse_sweep::<AutoencoderParam>("lr=1e-3,3e-4"),
            Ok((
                AutoencoderParam::LearningRate,
                vec![Value::Decimal(1e-3), Value::Decimal(3e-4)]
            ))
        );
        let err = |text| parse_sweep::<AutoencoderParam>(text).unwrap_err().0;
        assert!(err("filters").contains("NAME=V1,V2"));
        assert!(err("dropout=1").contains("batch_size, lr"));
        assert!(err("epochs=5,x").contains("'x'"));
    }

    #[test]
    fn classifier_names_and_limits() {
        let depth = EncoderDepth(4);
        let base = Hyper::<ClassifierParam>::on_encoder(&[], depth);
        assert_eq!(base.run_name(), "L4_FC32_E10_B64");
        assert_eq!(base.graph_name(ClassifierParam::FcUnits), "L4_FCx_E10_B64");
        assert_eq!(
            ClassifierParam::for_key("fc-units"),
            Some(ClassifierParam::FcUnits)
        );
        let layers = |n| base.with(ClassifierParam::Layers, Value::Whole(n));
        let err = layers(5).validate(depth).unwrap_err();
        assert!(err.0.contains("between 1 and 4"), "{err}");
        assert!(layers(1).validate(depth).is_ok());
        let wide = base.with(ClassifierParam::FcUnits, Value::Whole(MAX_FC_UNITS + 1));
        let err = wide.validate(depth).unwrap_err();
        assert!(err.0.contains("fc units must be between 1"), "{err}");
    }

    #[test]
    fn zero_epochs_or_batch_or_learning_rate_is_rejected() {
        let h = report_base();
        let err = |param, value| h.with(param, value).validate(()).unwrap_err().0;
        assert!(err(AutoencoderParam::Epochs, Value::Whole(0)).contains("epochs"));
        assert!(err(AutoencoderParam::BatchSize, Value::Whole(0)).contains("batch size"));
        assert_eq!(
            err(AutoencoderParam::LearningRate, Value::Decimal(0.0)),
            "learning rate must be greater than 0 (got 0)"
        );
    }

    /// Run names, sweep keys and columns must each say one hyperparameter.
    #[test]
    fn each_table_names_its_hyperparameters_apart() {
        for table in [AutoencoderParam::TABLE, ClassifierParam::TABLE] {
            let distinct = |field: fn(&Param) -> String| {
                let mut names: Vec<String> = table.iter().map(field).collect();
                names.sort();
                names.dedup();
                names.len() == table.len()
            };
            assert!(distinct(|p| p.abbrev.to_string()));
            assert!(distinct(|p| p.key()));
            assert!(distinct(|p| p.column.to_string()));
            assert!(distinct(|p| p.label.to_string()));
        }
    }
}
