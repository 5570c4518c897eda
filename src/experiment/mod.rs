//! Experiments: the kinds' hyperparameter tables (`kinds`, on `hyper`'s machinery), their
//! results tables, the session state and front ends (plan, sweeps, menu, prompts), each
//! run trained and recorded the same way (`runs`, `resume`, `graphs`), and the two labs
//! that say how each kind trains (`autoencoder`, `classifier`).

pub mod autoencoder;
pub mod classifier;
pub mod graphs;
pub mod hyper;
pub mod kinds;
pub mod lab;
pub mod menu;
pub mod plan;
pub mod prompt;
pub mod resume;
pub mod runs;
pub mod session;
pub mod shard;
pub mod source;
pub mod table;
