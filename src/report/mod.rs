//! What a person reads after a run: PNG pictures (each module draws one kind, from plain
//! numbers), classification metrics, reconstruction quality and anomaly scores.

pub mod anomaly;
pub mod canvas;
pub mod charts;
pub mod confusion;
pub mod grids;
pub mod latent_map;
pub mod metrics;
pub mod quality;
