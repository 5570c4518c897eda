//! Experiments: hyperparameter sets, the session state, the menus, the results tables, and
//! the autoencoder experiment that ties them together.

pub mod autoencoder;
pub mod hyper;
pub mod menu;
pub mod session;
pub mod table;
