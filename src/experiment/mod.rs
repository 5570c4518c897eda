//! Experiments: hyperparameter sets, the results tables, and running and recording a run.

pub mod autoencoder;
pub mod hyper;
pub mod table;
