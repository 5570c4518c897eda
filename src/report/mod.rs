//! What a person reads after a run: PNG plots and classification metrics.

pub mod metrics;
pub mod plots;
