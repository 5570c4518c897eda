//! The autoencoder's five hyperparameters, their checks, and run names in the seed's scheme.

use serde::{Deserialize, Serialize};

use crate::model::AutoencoderConfig;
use crate::train::Schedule;

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
    /// The seed report's base run, L4_FS3_FL32_E100_B64.
    pub const SEED_BASE: AeHyper = AeHyper {
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

    pub fn validate(&self) -> Result<(), String> {
        self.architecture().validate()?;
        if self.epochs == 0 {
            return Err("epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return Err("batch size must be at least 1".into());
        }
        Ok(())
    }

    /// The run's name, e.g. `L4_FS3_FL32_E100_B64`.
    pub fn run_name(&self) -> String {
        format!(
            "L{}_FS{}_FL{}_E{}_B{}",
            self.layers, self.filter_size, self.filters, self.epochs, self.batch_size
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_name_follows_the_seed_scheme() {
        assert_eq!(AeHyper::SEED_BASE.run_name(), "L4_FS3_FL32_E100_B64");
    }

    #[test]
    fn zero_epochs_or_batch_is_rejected() {
        let mut h = AeHyper::SEED_BASE;
        h.epochs = 0;
        assert!(h.validate().unwrap_err().contains("epochs"));
        h.epochs = 1;
        h.batch_size = 0;
        assert!(h.validate().unwrap_err().contains("batch size"));
    }
}
