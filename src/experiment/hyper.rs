//! Hyperparameter sets that an experiment varies one at a time, their checks, and run
//! names in the seed's scheme (`L4_FS3_FL32_E100_B64`, `L4_FC32_E20_B64`; the varied one
//! as `x` in graph names).

use std::fmt::Debug;

use serde::{Deserialize, Serialize};

use crate::model::AutoencoderConfig;
use crate::train::Schedule;

/// A set of whole-number hyperparameters, each of which can be varied on its own.
pub trait HyperSet: Copy + PartialEq + Debug {
    type Param: Copy + PartialEq + Debug + 'static;
    /// Every hyperparameter, in menu and name order.
    const PARAMS: &'static [Self::Param];

    /// How a person reads it: "Filters per layer".
    fn label(param: Self::Param) -> &'static str;
    /// How `--sweep` spells it: "filters".
    fn key(param: Self::Param) -> &'static str;
    /// Its prefix in run names: "FL".
    fn abbrev(param: Self::Param) -> &'static str;
    fn get(&self, param: Self::Param) -> usize;
    fn set(&mut self, param: Self::Param, value: usize);
    fn validate(&self) -> Result<(), String>;

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
pub fn parse_sweep<H: HyperSet>(text: &str) -> Result<(H::Param, Vec<usize>), String> {
    let (key, values) = text.split_once('=').ok_or_else(|| {
        format!("--sweep '{text}': write it as NAME=V1,V2,... e.g. filters=16,32,64")
    })?;
    let param = H::param_for_key(key).ok_or_else(|| {
        let names: Vec<&str> = H::PARAMS.iter().map(|&p| H::key(p)).collect();
        format!(
            "--sweep '{text}': unknown hyperparameter '{key}' (one of: {})",
            names.join(", ")
        )
    })?;
    let values = values
        .split(',')
        .map(|v| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| format!("--sweep '{text}': '{}' is not a whole number", v.trim()))
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

impl HyperSet for AeHyper {
    type Param = AeParam;
    const PARAMS: &'static [AeParam] = &[
        AeParam::Layers,
        AeParam::FilterSize,
        AeParam::Filters,
        AeParam::Epochs,
        AeParam::BatchSize,
    ];

    fn label(param: AeParam) -> &'static str {
        match param {
            AeParam::Layers => "Layers",
            AeParam::FilterSize => "Filter size",
            AeParam::Filters => "Filters per layer",
            AeParam::Epochs => "Epochs",
            AeParam::BatchSize => "Batch size",
        }
    }

    fn key(param: AeParam) -> &'static str {
        match param {
            AeParam::Layers => "layers",
            AeParam::FilterSize => "filter_size",
            AeParam::Filters => "filters",
            AeParam::Epochs => "epochs",
            AeParam::BatchSize => "batch_size",
        }
    }

    fn abbrev(param: AeParam) -> &'static str {
        match param {
            AeParam::Layers => "L",
            AeParam::FilterSize => "FS",
            AeParam::Filters => "FL",
            AeParam::Epochs => "E",
            AeParam::BatchSize => "B",
        }
    }

    fn get(&self, param: AeParam) -> usize {
        match param {
            AeParam::Layers => self.layers,
            AeParam::FilterSize => self.filter_size,
            AeParam::Filters => self.filters,
            AeParam::Epochs => self.epochs,
            AeParam::BatchSize => self.batch_size,
        }
    }

    fn set(&mut self, param: AeParam, value: usize) {
        match param {
            AeParam::Layers => self.layers = value,
            AeParam::FilterSize => self.filter_size = value,
            AeParam::Filters => self.filters = value,
            AeParam::Epochs => self.epochs = value,
            AeParam::BatchSize => self.batch_size = value,
        }
    }

    fn validate(&self) -> Result<(), String> {
        self.architecture().validate()?;
        if self.epochs == 0 {
            return Err("epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return Err("batch size must be at least 1".into());
        }
        Ok(())
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

impl HyperSet for ClHyper {
    type Param = ClParam;
    const PARAMS: &'static [ClParam] = &[
        ClParam::Layers,
        ClParam::FcUnits,
        ClParam::Epochs,
        ClParam::BatchSize,
    ];

    fn label(param: ClParam) -> &'static str {
        match param {
            ClParam::Layers => "Encoder layers",
            ClParam::FcUnits => "FC units",
            ClParam::Epochs => "Epochs",
            ClParam::BatchSize => "Batch size",
        }
    }

    fn key(param: ClParam) -> &'static str {
        match param {
            ClParam::Layers => "layers",
            ClParam::FcUnits => "fc_units",
            ClParam::Epochs => "epochs",
            ClParam::BatchSize => "batch_size",
        }
    }

    fn abbrev(param: ClParam) -> &'static str {
        match param {
            ClParam::Layers => "L",
            ClParam::FcUnits => "FC",
            ClParam::Epochs => "E",
            ClParam::BatchSize => "B",
        }
    }

    fn get(&self, param: ClParam) -> usize {
        match param {
            ClParam::Layers => self.layers,
            ClParam::FcUnits => self.fc_units,
            ClParam::Epochs => self.epochs,
            ClParam::BatchSize => self.batch_size,
        }
    }

    fn set(&mut self, param: ClParam, value: usize) {
        match param {
            ClParam::Layers => self.layers = value,
            ClParam::FcUnits => self.fc_units = value,
            ClParam::Epochs => self.epochs = value,
            ClParam::BatchSize => self.batch_size = value,
        }
    }

    fn validate(&self) -> Result<(), String> {
        if self.layers == 0 || self.layers > self.encoder_layers {
            return Err(format!(
                "encoder layers must be between 1 and {}, the loaded encoder's depth (got {})",
                self.encoder_layers, self.layers
            ));
        }
        if self.fc_units == 0 {
            return Err("FC units must be at least 1".into());
        }
        if self.epochs == 0 {
            return Err("epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return Err("batch size must be at least 1".into());
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
                .contains("NAME=V1,V2")
        );
        assert!(
            parse_sweep::<AeHyper>("dropout=1")
                .unwrap_err()
                .contains("batch_size")
        );
        assert!(
            parse_sweep::<AeHyper>("epochs=5,x")
                .unwrap_err()
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
        assert!(err.contains("between 1 and 4"), "{err}");
        assert!(base.with(ClParam::Layers, 1).validate().is_ok());
    }

    #[test]
    fn zero_epochs_or_batch_is_rejected() {
        let h = AeHyper::REPORT_BASE;
        assert!(
            h.with(AeParam::Epochs, 0)
                .validate()
                .unwrap_err()
                .contains("epochs")
        );
        assert!(
            h.with(AeParam::BatchSize, 0)
                .validate()
                .unwrap_err()
                .contains("batch size")
        );
    }
}
