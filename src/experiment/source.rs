//! What makes a run the run it is besides its hyperparameters: the data it read and how
//! many images of it, the seed, the device, and for a classifier its loss and encoder.
//! Results-table rows are keyed on it (two runs that differ only here no longer replace
//! each other; [`SourceColumns`] as a table holds it), and a checkpoint is resumed only by
//! a run with the same.

use crate::data::idx::Images;
use crate::model::format::MODEL_FORMAT;
use crate::train::checkpoint::{Identity, MODEL_FORMAT_FIELD};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSource {
    /// The training images' file, as given.
    pub data: String,
    /// Images used (after `--limit`).
    pub images: usize,
    pub seed: u64,
    /// As `--device` names it: cpu, cuda:0, libtorch, ...
    pub device: String,
    /// A classifier's loss function and the autoencoder its encoder came from.
    pub loss: Option<String>,
    pub encoder: Option<String>,
    /// The classes an autoencoder trained on (`--classes`, as "3" or "3,5"), when not all.
    pub classes: Option<String>,
    /// Digests of what the run learns from, for its checkpoint's identity (not shown in
    /// tables): the pixels, a classifier's training labels and its encoder's weights file.
    /// So a changed file of the same name is another run, and the same data by another
    /// path the same run.
    pub fingerprint: u64,
    pub labels_fingerprint: Option<u64>,
    pub encoder_fingerprint: Option<u64>,
}

impl RunSource {
    /// Runs on `images` (read from `data`, after `--limit`) with `seed`, on the device
    /// `--device` names `device`; a classifier adds its loss and encoder.
    pub fn new(data: &std::path::Path, images: &Images, seed: u64, device: String) -> Self {
        Self {
            data: data.display().to_string(),
            images: images.count,
            seed,
            device,
            loss: None,
            encoder: None,
            classes: None,
            fingerprint: images_fingerprint(images),
            labels_fingerprint: None,
            encoder_fingerprint: None,
        }
    }

    /// The checkpoint identity of the run `run_name` of kind `kind` from this source: what
    /// the files hold, not where they are.
    pub fn identity(&self, kind: &str, run_name: &str) -> Identity {
        let hex = |digest: u64| format!("{digest:016x}");
        let mut fields = vec![
            (MODEL_FORMAT_FIELD, MODEL_FORMAT.to_string()),
            ("kind", kind.to_string()),
            ("run", run_name.to_string()),
            ("images", self.images.to_string()),
            ("data fingerprint", hex(self.fingerprint)),
            ("seed", self.seed.to_string()),
            ("device", self.device.clone()),
        ];
        fields.extend(self.loss.clone().map(|loss| ("loss", loss)));
        fields.extend(self.classes.clone().map(|classes| ("classes", classes)));
        fields.extend(
            self.labels_fingerprint
                .map(|d| ("labels fingerprint", hex(d))),
        );
        fields.extend(
            self.encoder_fingerprint
                .map(|d| ("encoder fingerprint", hex(d))),
        );
        Identity(
            fields
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
        )
    }
}

/// The columns after the hyperparameters and figures that say which run a row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceColumn {
    /// The training images' file, as given.
    Data,
    /// Images used, after `--limit`.
    Images,
    Seed,
    /// A classifier's loss function, as `--loss` spells it.
    Loss,
    /// The autoencoder a classifier's encoder came from.
    Encoder,
    /// The classes an autoencoder trained on, empty for all.
    Classes,
    /// As `--device` names it.
    Device,
}

impl SourceColumn {
    pub fn header(self) -> &'static str {
        match self {
            Self::Data => "Data",
            Self::Images => "Images",
            Self::Seed => "Seed",
            Self::Loss => "Loss_Function",
            Self::Encoder => "Encoder",
            Self::Classes => "Classes",
            Self::Device => "Device",
        }
    }
}

/// A row's identifying columns, as read (any may be missing in an older table).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceColumns {
    pub data: Option<String>,
    pub images: Option<usize>,
    pub seed: Option<u64>,
    pub loss: Option<String>,
    pub encoder: Option<String>,
    pub classes: Option<String>,
    pub device: Option<String>,
}

impl From<&RunSource> for SourceColumns {
    fn from(source: &RunSource) -> Self {
        Self {
            data: Some(source.data.clone()),
            images: Some(source.images),
            seed: Some(source.seed),
            loss: source.loss.clone(),
            encoder: source.encoder.clone(),
            classes: source.classes.clone(),
            device: Some(source.device.clone()),
        }
    }
}

/// The images' size and pixels, digested.
pub fn images_fingerprint(images: &Images) -> u64 {
    let size = [images.count, images.height, images.width].map(|n| n as u64);
    let bytes = size
        .iter()
        .flat_map(|n| n.to_le_bytes())
        .chain(images.pixels.iter().copied());
    fingerprint(bytes)
}

/// FNV-1a: fast (a pass over 47 MB takes tens of milliseconds) and stable across versions
/// and machines, which is all a fingerprint needs.
pub fn fingerprint(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_pixel_changes_the_fingerprint() {
        let mut images = Images {
            count: 2,
            height: 2,
            width: 2,
            pixels: vec![0, 1, 2, 3, 4, 5, 6, 7],
        };
        let before = images_fingerprint(&images);
        assert_eq!(before, images_fingerprint(&images));
        images.pixels[5] = 9;
        assert_ne!(before, images_fingerprint(&images));
    }
}
