//! Experiments: hyperparameter sets, the session state, the menus, the results tables, the
//! loop they share (runner), and the two kinds of experiment it runs.

pub mod autoencoder;
pub mod classifier;
pub mod graphs;
pub mod hyper;
pub mod menu;
pub mod runner;
pub mod session;
pub mod shard;
pub mod source;
pub mod table;
