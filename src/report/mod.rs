//! What a person reads after a run: PNG plots.

pub mod plots;
