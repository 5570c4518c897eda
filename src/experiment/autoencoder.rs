//! The autoencoder experiment: how a run trains, its reconstructions, and its menu's own
//! choice (save the model); the loop, the records and the files are the shared ones.

use std::path::PathBuf;

use burn::module::AutodiffModule;
use burn::prelude::*;

use super::kinds::AutoencoderKind;
use super::lab::{self, Context, HyperOf, Lab, RunOf};
use super::plan::Setup;
use super::prompt::{Prompter, Reply};
use crate::data::dataset::{Split, image_batch, pixel_batch};
use crate::data::idx::Images;
use crate::device::BackendJob;
use crate::error::{Error, InputError, Result};
use crate::latent::map_codes;
use crate::model::store;
use crate::model::{AutoencoderConfig, TrainBackend};
use crate::report::grids::{self, RECONSTRUCTIONS_SHOWN};
use crate::train::autoencoder::{ValidationNoise, train_autoencoder};
use crate::train::epochs::Start;
use crate::train::progress::Console;
use crate::train::{NoMetrics, TrainError};

/// `aelab autoencoder`, resolved: the settings and the images to train on.
pub struct AutoencoderExperiment {
    pub setup: Setup<AutoencoderKind>,
    /// The training images' file, and the images (after `--limit`).
    pub data_path: PathBuf,
    pub images: Images,
}

impl AutoencoderExperiment {
    /// What is about to be trained on, for stdout.
    pub fn describe(&self) -> String {
        let images = &self.images;
        format!(
            "{} images of {}x{} from {}",
            images.count,
            images.height,
            images.width,
            self.data_path.display()
        )
    }
}

impl BackendJob for AutoencoderExperiment {
    type Output = Result<()>;

    fn run<B: TrainBackend>(self, device: B::Device) -> Self::Output {
        let images = &self.images;
        let split = Split::new(images.count, self.setup.source.seed);
        let sizes = (split.train.len(), split.valid.len());
        let size = (images.height, images.width);
        self.setup
            .run("MSE".into(), sizes, size, |context| Autoencoding::<B> {
                context,
                images,
                split,
                device,
            })
    }
}

/// Everything a run needs, on backend `B`.
struct Autoencoding<'a, B: TrainBackend> {
    context: Context,
    images: &'a Images,
    split: Split,
    device: B::Device,
}

/// The autoencoder's own menu choices.
#[derive(Clone, Copy)]
pub enum AutoencoderAction {
    Save,
    MapLatentSpace,
}

impl<B: TrainBackend> Lab for Autoencoding<'_, B> {
    type Kind = AutoencoderKind;
    type Backend = B;
    type Architecture = AutoencoderConfig;
    type Action = AutoencoderAction;
    const ACTIONS: &'static [(AutoencoderAction, &'static str)] = &[
        (AutoencoderAction::Save, "Save the model"),
        (
            AutoencoderAction::MapLatentSpace,
            "Map the latent space (the validation images' codes, by PCA)",
        ),
    ];

    fn context(&self) -> &Context {
        &self.context
    }

    fn train(
        &mut self,
        hyper: &HyperOf<Self>,
        start: Start<NoMetrics>,
    ) -> Result<RunOf<Self>, TrainError> {
        train_autoencoder::<B>(
            self.images,
            &self.split,
            &hyper.architecture(self.images.height, self.images.width),
            &hyper.schedule(self.context.source.seed),
            start,
            &self.device,
            &mut Console::new(),
        )
    }

    /// Save (asking for a name), or map the current model's codes of the validation images
    /// as `aelab latent` does.
    fn action(
        &mut self,
        action: AutoencoderAction,
        prompter: &mut dyn Prompter,
        hyper: &HyperOf<Self>,
        run: &RunOf<Self>,
    ) -> Result<Reply<()>> {
        match action {
            AutoencoderAction::Save => self.save_as_asked(prompter, hyper, run),
            AutoencoderAction::MapLatentSpace => {
                let model = run.model.valid();
                let (images, valid) = (self.images, &self.split.valid);
                map_codes(&model, images, valid, None, &self.context.out, &self.device)?;
                Ok(Reply::Value(()))
            }
        }
    }

    /// Save the model under `--save`.
    fn finish(&mut self, _: &HyperOf<Self>, run: &RunOf<Self>) -> Result<()> {
        lab::save(self, run, &self.context.save_as).map(|_| ())
    }

    /// The current model's reconstructions of validation images.
    fn pictures(&self, hyper: &HyperOf<Self>, run: &RunOf<Self>) -> Result<Vec<PathBuf>> {
        Ok(vec![self.draw_reconstructions(hyper, run)?])
    }
}

impl<B: TrainBackend> Autoencoding<'_, B> {
    /// Ask for a name and save, confirming before replacing an existing model.
    fn save_as_asked(
        &mut self,
        prompter: &mut dyn Prompter,
        hyper: &HyperOf<Self>,
        run: &RunOf<Self>,
    ) -> Result<Reply<()>> {
        let name = match prompter.text("Model name", &hyper.run_name(), &|_| Ok(())) {
            Reply::Value(name) => name,
            Reply::Back => return Ok(Reply::Back),
            Reply::Quit => return Ok(Reply::Quit),
        };
        if let Err(why) = validate_model_name(&name) {
            eprintln!("{why}");
            return Ok(Reply::Back);
        }
        let (mpk, json) = store::model_paths(&self.context.out.join(&name));
        if mpk.exists() || json.exists() {
            let question = format!("{} exists; overwrite it?", mpk.display());
            match prompter.confirm(&question, false) {
                Reply::Value(true) => {}
                Reply::Quit => return Ok(Reply::Quit),
                _ => {
                    println!("Not saved.");
                    return Ok(Reply::Back);
                }
            }
        }
        lab::save(self, run, &name)?;
        Ok(Reply::Value(()))
    }

    /// Validation images over their reconstructions; a denoiser's noisy inputs (the noise
    /// its validation used), then the clean targets, then its outputs.
    fn draw_reconstructions(&self, hyper: &HyperOf<Self>, run: &RunOf<Self>) -> Result<PathBuf> {
        let shown = &self.split.valid[..self.split.valid.len().min(RECONSTRUCTIONS_SHOWN)];
        let device = &self.device;
        let clean = image_batch::<B::InnerBackend>(self.images, shown, device);
        let noisy = ValidationNoise::of(&run.schedule).noisy(self.images, shown);
        let input = match &noisy {
            Some(pixels) => pixel_batch(pixels.clone(), self.images, device),
            None => clean.clone(),
        };
        let reconstructed = run.model.valid().forward(input);
        let to_vec = |t: Tensor<B::InnerBackend, 4>| -> Result<Vec<f32>> {
            t.into_data().to_vec::<f32>().map_err(|e| {
                Error::Failed(format!("cannot read images back from the device: {e:?}"))
            })
        };
        let (clean, reconstructed) = (to_vec(clean)?, to_vec(reconstructed)?);
        let name = hyper.run_name();
        let path = self.out().join(format!("{name}_reconstructions.png"));
        let (title, rows) = match &noisy {
            Some(noisy) => (
                format!("{name}: noisy validation images, the clean ones, and the model's output"),
                vec![
                    ("Noisy input", &noisy[..]),
                    ("Target", &clean[..]),
                    ("Output", &reconstructed[..]),
                ],
            ),
            None => (
                format!("{name}: validation images and their reconstructions"),
                vec![
                    ("Original", &clean[..]),
                    ("Reconstruction", &reconstructed[..]),
                ],
            ),
        };
        let (height, width) = (self.images.height, self.images.width);
        grids::reconstruction_grid(&path, &title, &rows, height, width)?;
        Ok(path)
    }
}

/// A model name is a plain file name: the files go under `--out`.
pub fn validate_model_name(name: &str) -> Result<(), InputError> {
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(InputError::new(format!(
            "'{name}' is not a usable model name: give a plain file name (no folders, not starting with a dot)"
        )));
    }
    Ok(())
}
