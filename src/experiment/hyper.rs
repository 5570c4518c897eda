//! Hyperparameter sets that an experiment varies one at a time, their checks, and run
//! names in the original report's scheme (`L4_FS3_FL32_E100_B64`, `L4_FC32_E20_B64`; the varied one
//! as `x` in graph names).

use std::fmt::Debug;

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::model::AutoencoderConfig;
use crate::model::classifier::MAX_FC_UNITS;
use crate::model::encoder::POOLED_LAYERS;
use crate::train::Schedule;

/// One hyperparameter of a kind: its names, its bounds, and where it lives in the set.
pub struct ParamSpec<H> {
    /// How `--sweep` spells it: "filters".
    pub key: &'static str,
    /// How a person reads it: "Filters per layer".
    pub label: &'static str,
    /// Its prefix in run names: "FL".
    pub abbrev: &'static str,
    pub min: usize,
    pub max: Option<usize>,
    pub get: fn(&H) -> usize,
    pub set: fn(&mut H, usize),
}

impl<H> ParamSpec<H> {
    /// Whether `value` is within the bounds; the message names the hyperparameter.
    fn check(&self, value: usize) -> Result<(), InputError> {
        let name = self.label.to_lowercase();
        match self.max {
            Some(max) if value < self.min || value > max => Err(InputError::new(format!(
                "{name} must be between {} and {max} (got {value})",
                self.min
            ))),
            None if value < self.min => Err(InputError::new(format!(
                "{name} must be at least {} (got {value})",
                self.min
            ))),
            _ => Ok(()),
        }
    }
}

/// A set of whole-number hyperparameters, each of which can be varied on its own, described
/// by a table of [`ParamSpec`]s.
pub trait HyperSet: Copy + PartialEq + Debug + 'static {
    type Param: Copy + PartialEq + Debug + 'static;
    /// Every hyperparameter, in menu and name order.
    const PARAMS: &'static [Self::Param];

    fn spec(param: Self::Param) -> &'static ParamSpec<Self>;

    /// The checks that take more than one value, after each value's own bounds.
    fn check_together(&self) -> Result<(), InputError>;

    fn label(param: Self::Param) -> &'static str {
        Self::spec(param).label
    }

    fn key(param: Self::Param) -> &'static str {
        Self::spec(param).key
    }

    fn abbrev(param: Self::Param) -> &'static str {
        Self::spec(param).abbrev
    }

    fn get(&self, param: Self::Param) -> usize {
        (Self::spec(param).get)(self)
    }

    fn set(&mut self, param: Self::Param, value: usize) {
        (Self::spec(param).set)(self, value)
    }

    /// Every bound, then the checks across values.
    fn validate(&self) -> Result<(), InputError> {
        for &param in Self::PARAMS {
            Self::spec(param).check(self.get(param))?;
        }
        self.check_together()
    }

    /// A copy with one hyperparameter changed.
    fn with(&self, param: Self::Param, value: usize) -> Self {
        let mut changed = *self;
        changed.set(param, value);
        changed
    }

    /// The run's name, e.g. `L4_FS3_FL32_E100_B64`.
    fn run_name(&self) -> String {
        self.name_with(None)
    }

    /// The name of a graph that varies `param`, e.g. `L4_FS3_FLx_E100_B64`.
    fn graph_name(&self, varied: Self::Param) -> String {
        self.name_with(Some(varied))
    }

    fn name_with(&self, varied: Option<Self::Param>) -> String {
        Self::PARAMS
            .iter()
            .map(|&p| match varied {
                Some(v) if v == p => format!("{}x", Self::abbrev(p)),
                _ => format!("{}{}", Self::abbrev(p), self.get(p)),
            })
            .collect::<Vec<_>>()
            .join("_")
    }

    /// The hyperparameter `--sweep` calls `key` (a few spellings are accepted).
    fn param_for_key(key: &str) -> Option<Self::Param> {
        let wanted = key.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Self::PARAMS.iter().copied().find(|&p| {
            Self::key(p) == wanted
                || Self::abbrev(p).eq_ignore_ascii_case(&wanted)
                || Self::label(p).to_ascii_lowercase().replace(' ', "_") == wanted
        })
    }
}

/// Parse a `--sweep` value such as `filters=16,32,64`.
pub fn parse_sweep<H: HyperSet>(text: &str) -> Result<(H::Param, Vec<usize>), InputError> {
    let (key, values) = text.split_once('=').ok_or_else(|| {
        InputError::new(format!(
            "--sweep '{text}': write it as NAME=V1,V2,... e.g. filters=16,32,64"
        ))
    })?;
    let param = H::param_for_key(key).ok_or_else(|| {
        let names: Vec<&str> = H::PARAMS.iter().map(|&p| H::key(p)).collect();
        InputError::new(format!(
            "--sweep '{text}': unknown hyperparameter '{key}' (one of: {})",
            names.join(", ")
        ))
    })?;
    let values = values
        .split(',')
        .map(|v| {
            v.trim().parse::<usize>().map_err(|_| {
                InputError::new(format!(
                    "--sweep '{text}': '{}' is not a whole number",
                    v.trim()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((param, values))
}

/// The autoencoder's hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AeParam {
    Layers,
    FilterSize,
    Filters,
    Epochs,
    BatchSize,
}

/// One autoencoder experiment's hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AeHyper {
    pub layers: usize,
    pub filter_size: usize,
    pub filters: usize,
    pub epochs: usize,
    pub batch_size: usize,
}

impl AeHyper {
    /// The original report's base run, L4_FS3_FL32_E100_B64.
    pub const REPORT_BASE: AeHyper = AeHyper {
        layers: 4,
        filter_size: 3,
        filters: 32,
        epochs: 100,
        batch_size: 64,
    };

    pub fn architecture(&self) -> AutoencoderConfig {
        AutoencoderConfig {
            layers: self.layers,
            filter_size: self.filter_size,
            filters: self.filters,
        }
    }

    pub fn schedule(&self, seed: u64) -> Schedule {
        Schedule {
            epochs: self.epochs,
            batch_size: self.batch_size,
            seed,
        }
    }
}

/// The autoencoder's hyperparameters, in `AeParam` order.
const AE_SPECS: [ParamSpec<AeHyper>; 5] = [
    ParamSpec {
        key: "layers",
        label: "Layers",
        abbrev: "L",
        min: POOLED_LAYERS,
        max: None,
        get: |h| h.layers,
        set: |h, v| h.layers = v,
    },
    ParamSpec {
        key: "filter_size",
        label: "Filter size",
        abbrev: "FS",
        min: 1,
        max: None,
        get: |h| h.filter_size,
        set: |h, v| h.filter_size = v,
    },
    ParamSpec {
        key: "filters",
        label: "Filters per layer",
        abbrev: "FL",
        min: 1,
        max: None,
        get: |h| h.filters,
        set: |h, v| h.filters = v,
    },
    ParamSpec {
        key: "epochs",
        label: "Epochs",
        abbrev: "E",
        min: 1,
        max: None,
        get: |h| h.epochs,
        set: |h, v| h.epochs = v,
    },
    ParamSpec {
        key: "batch_size",
        label: "Batch size",
        abbrev: "B",
        min: 1,
        max: None,
        get: |h| h.batch_size,
        set: |h, v| h.batch_size = v,
    },
];

impl HyperSet for AeHyper {
    type Param = AeParam;
    const PARAMS: &'static [AeParam] = &[
        AeParam::Layers,
        AeParam::FilterSize,
        AeParam::Filters,
        AeParam::Epochs,
        AeParam::BatchSize,
    ];

    fn spec(param: AeParam) -> &'static ParamSpec<Self> {
        &AE_SPECS[param as usize]
    }

    /// The widest layer (filters doubling per layer) must fit.
    fn check_together(&self) -> Result<(), InputError> {
        self.architecture().validate()
    }
}

/// The classifier's hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClParam {
    Layers,
    FcUnits,
    Epochs,
    BatchSize,
}

/// One classifier experiment's hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClHyper {
    /// Encoder blocks used, from the first.
    pub layers: usize,
    pub fc_units: usize,
    /// Epochs per stage.
    pub epochs: usize,
    pub batch_size: usize,
    /// How many blocks the loaded encoder has: the most `layers` can be. Not varied.
    pub encoder_layers: usize,
}

impl ClHyper {
    /// The original report's base run on an encoder of `encoder_layers` blocks: all of them,
    /// FC 32, 20 epochs per stage, batch 64.
    pub fn report_base(encoder_layers: usize) -> Self {
        Self {
            layers: encoder_layers,
            fc_units: 32,
            epochs: 20,
            batch_size: 64,
            encoder_layers,
        }
    }

    pub fn schedule(&self, seed: u64) -> Schedule {
        Schedule {
            epochs: self.epochs,
            batch_size: self.batch_size,
            seed,
        }
    }
}

/// The classifier's hyperparameters, in `ClParam` order. The most encoder layers is the
/// loaded encoder's depth, checked in `check_together`.
const CL_SPECS: [ParamSpec<ClHyper>; 4] = [
    ParamSpec {
        key: "layers",
        label: "Encoder layers",
        abbrev: "L",
        min: 1,
        max: None,
        get: |h| h.layers,
        set: |h, v| h.layers = v,
    },
    ParamSpec {
        key: "fc_units",
        label: "FC units",
        abbrev: "FC",
        min: 1,
        max: Some(MAX_FC_UNITS),
        get: |h| h.fc_units,
        set: |h, v| h.fc_units = v,
    },
    ParamSpec {
        key: "epochs",
        label: "Epochs",
        abbrev: "E",
        min: 1,
        max: None,
        get: |h| h.epochs,
        set: |h, v| h.epochs = v,
    },
    ParamSpec {
        key: "batch_size",
        label: "Batch size",
        abbrev: "B",
        min: 1,
        max: None,
        get: |h| h.batch_size,
        set: |h, v| h.batch_size = v,
    },
];

impl HyperSet for ClHyper {
    type Param = ClParam;
    const PARAMS: &'static [ClParam] = &[
        ClParam::Layers,
        ClParam::FcUnits,
        ClParam::Epochs,
        ClParam::BatchSize,
    ];

    fn spec(param: ClParam) -> &'static ParamSpec<Self> {
        &CL_SPECS[param as usize]
    }

    fn check_together(&self) -> Result<(), InputError> {
        if self.layers > self.encoder_layers {
            return Err(InputError::new(format!(
                "encoder layers must be between 1 and {}, the loaded encoder's depth (got {})",
                self.encoder_layers, self.layers
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_and_graph_names_follow_the_seed_scheme() {
        let base = AeHyper::REPORT_BASE;
        assert_eq!(base.run_name(), "L4_FS3_FL32_E100_B64");
        assert_eq!(base.graph_name(AeParam::Filters), "L4_FS3_FLx_E100_B64");
        assert_eq!(
            base.with(AeParam::BatchSize, 40).run_name(),
            "L4_FS3_FL32_E100_B40"
        );
    }

    #[test]
    fn sweep_keys_are_forgiving() {
        for key in ["filters", "FL", "filters-per-layer"] {
            assert_eq!(AeHyper::param_for_key(key), Some(AeParam::Filters), "{key}");
        }
        assert_eq!(
            AeHyper::param_for_key("batch-size"),
            Some(AeParam::BatchSize)
        );
        assert_eq!(AeHyper::param_for_key("dropout"), None);
    }

    #[test]
    fn sweeps_parse_and_explain_mistakes() {
        assert_eq!(
            parse_sweep::<AeHyper>("filters=16,32, 64"),
            Ok((AeParam::Filters, vec![16, 32, 64]))
        );
        assert!(
            parse_sweep::<AeHyper>("filters")
                .unwrap_err()
                .0
                .contains("NAME=V1,V2")
        );
        assert!(
            parse_sweep::<AeHyper>("dropout=1")
                .unwrap_err()
                .0
                .contains("batch_size")
        );
        assert!(
            parse_sweep::<AeHyper>("epochs=5,x")
                .unwrap_err()
                .0
                .contains("'x'")
        );
    }

    #[test]
    fn classifier_names_and_limits() {
        let base = ClHyper::report_base(4);
        assert_eq!(base.run_name(), "L4_FC32_E20_B64");
        assert_eq!(base.graph_name(ClParam::FcUnits), "L4_FCx_E20_B64");
        assert_eq!(ClHyper::param_for_key("fc-units"), Some(ClParam::FcUnits));
        let err = base.with(ClParam::Layers, 5).validate().unwrap_err();
        assert!(err.0.contains("between 1 and 4"), "{err}");
        assert!(base.with(ClParam::Layers, 1).validate().is_ok());
        let err = base.with(ClParam::FcUnits, MAX_FC_UNITS + 1).validate();
        assert!(err.unwrap_err().0.contains("fc units must be between 1"));
    }

    #[test]
    fn zero_epochs_or_batch_is_rejected() {
        let h = AeHyper::REPORT_BASE;
        assert!(
            h.with(AeParam::Epochs, 0)
                .validate()
                .unwrap_err()
                .0
                .contains("epochs")
        );
        assert!(
            h.with(AeParam::BatchSize, 0)
                .validate()
                .unwrap_err()
                .0
                .contains("batch size")
        );
    }
}
