//! The networks: a conv encoder, its mirrored decoder, the autoencoder made of both, the
//! classifier on the encoder, and saving/loading them. Generic over the burn backend; the
//! backend is chosen in main.

pub mod autoencoder;
pub mod backend;
pub mod batch_norm;
pub mod batch_norm_cpu;
pub mod block;
pub mod canonical;
pub mod classifier;
pub mod decoder;
pub mod encoder;
pub mod format;
pub mod seeded;
pub mod store;
pub mod torch_layout;

pub use autoencoder::{Autoencoder, AutoencoderConfig};
pub use backend::{ModelBackend, TrainBackend};
pub use block::ConvStack;
pub use classifier::{Classifier, ClassifierConfig};
pub use decoder::Decoder;
pub use encoder::Encoder;

/// A copy of `module` that shares nothing with it. `clone` shares BatchNorm's running
/// statistics (burn keeps them behind one lock, updated in place by training and by
/// `load_record`), so a clone trained on, or loaded into, changes the original's too.
pub fn independent_copy<B, M>(module: &M) -> M
where
    B: burn::tensor::backend::AutodiffBackend,
    M: burn::module::AutodiffModule<B>,
{
    M::from_inner(module.valid())
}
