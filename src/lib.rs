//! aelab: convolutional-autoencoder and classifier experiments on IDX image datasets.
//!
//! Data flows one way: IDX files -> [`data`] -> tensors -> [`train`] (using [`model`])
//! -> a run result -> [`experiment`] records it (CSV row, model files, plots via [`report`]).

pub mod cli;
pub mod data;
pub mod device;
pub mod error;
pub mod exit;
pub mod experiment;
pub mod export;
pub mod fsutil;
pub mod heap;
pub mod interrupt;
pub mod job;
pub mod latent;
pub mod model;
pub mod predictions;
pub mod report;
pub mod scores;
pub mod train;
