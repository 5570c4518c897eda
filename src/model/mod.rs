//! The networks: a conv encoder, its mirrored decoder, the autoencoder made of both, the
//! classifier on the encoder, and saving/loading them. Generic over the burn backend; the
//! backend is chosen in main.

pub mod autoencoder;
pub mod backend;
pub mod batch_norm;
pub mod batch_norm_cpu;
pub mod block;
pub mod classifier;
pub mod decoder;
pub mod encoder;
pub mod seeded;
pub mod store;

pub use autoencoder::{Autoencoder, AutoencoderConfig};
pub use backend::{ModelBackend, TrainBackend};
pub use block::ConvStack;
pub use classifier::{Classifier, ClassifierConfig};
pub use decoder::Decoder;
pub use encoder::Encoder;
