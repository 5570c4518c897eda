//! `aelab latent`: what a saved autoencoder's encoder makes of images. Each image's code
//! (the fully connected code's numbers, or the encoder's output flattened) is projected onto its principal components; the first
//! two are drawn as a map, one dot per image coloured by label, and so is a t-SNE of the
//! leading components ([tsne]); both go to `latent.csv`. The first [`TSV_COMPONENTS`] go
//! to the TSV files TensorBoard's embedding projector opens (the raw codes of the default
//! model are 12,544 numbers an image, about 1 GB of text for 10,000 images).

pub mod pca;
pub mod tsne;

use std::path::{Path, PathBuf};

use crate::data::dataset::image_batch;
use crate::data::idx::Images;
use crate::device::BackendJob;
use crate::error::{Result, WriteError};
use crate::fsutil;
use crate::job::ModelOnImages;
use crate::model::{Autoencoder, AutoencoderConfig, ModelBackend, TrainBackend};
use crate::report::latent_map::latent_chart;
use crate::train::VALIDATION_BATCH;

pub const CSV_FILE: &str = "latent.csv";
pub const MAP_FILE: &str = "latent_pca.png";
pub const TSNE_FILE: &str = "latent_tsne.png";
pub const VECTORS_FILE: &str = "latent_vectors.tsv";
pub const METADATA_FILE: &str = "latent_metadata.tsv";
/// Components written for the projector.
pub const TSV_COMPONENTS: usize = 50;

/// `aelab latent`, resolved: the autoencoder, the images (and their labels), where to write.
pub struct LatentJob {
    pub inputs: ModelOnImages<AutoencoderConfig>,
    /// The output folder, made and proven writable.
    pub out: PathBuf,
}

impl LatentJob {
    /// What is about to be mapped, for stdout.
    pub fn describe(&self) -> String {
        format!("the codes of {}", self.inputs.describe())
    }
}

impl BackendJob for LatentJob {
    type Output = Result<()>;

    fn run<B: TrainBackend>(self, device: B::Device) -> Self::Output {
        let model = self.inputs.load::<B::InnerBackend>(&device)?;
        let inputs = &self.inputs;
        let labels = inputs.label_values();
        let all = inputs.every_image();
        map_codes(&model, &inputs.images, &all, labels, &self.out, &device)
    }
}

/// The map of `model`'s codes of images `indices` (and their `labels`), written under
/// `out`: every file this module names, then what was found and written on stdout.
pub fn map_codes<B: ModelBackend>(
    model: &Autoencoder<B>,
    images: &Images,
    indices: &[usize],
    labels: Option<&[u8]>,
    out: &Path,
    device: &B::Device,
) -> Result<()> {
    let (mut codes, length) = encode(model, images, indices, device);
    let projection = pca::project(&mut codes, indices.len(), length, TSV_COMPONENTS);
    let tsne = tsne::embed(&projection);
    write(out, &projection, tsne.as_deref(), labels, length)
}

/// Each image's code, back to back, and the length of one.
fn encode<B: ModelBackend>(
    model: &Autoencoder<B>,
    images: &Images,
    indices: &[usize],
    device: &B::Device,
) -> (Vec<f32>, usize) {
    let mut codes = Vec::new();
    let mut length = 0;
    for chunk in indices.chunks(VALIDATION_BATCH) {
        let code = model.encode(image_batch::<B>(images, chunk, device));
        length = code.dims()[1];
        codes.extend(code.into_data().iter::<f32>());
    }
    (codes, length)
}

fn write(
    out: &Path,
    projection: &pca::Projection,
    tsne: Option<&[(f32, f32)]>,
    labels: Option<&[u8]>,
    length: usize,
) -> Result<()> {
    let points: Vec<(f32, f32)> = (0..projection.rows)
        .map(|i| {
            let row = projection.row(i);
            (row[0], row.get(1).copied().unwrap_or(0.0))
        })
        .collect();
    let share = |c: usize| 100.0 * projection.explained.get(c).copied().unwrap_or(0.0);

    let mut csv = String::from("Index,Label,PCA_X,PCA_Y,TSNE_X,TSNE_Y\n");
    for (i, (x, y)) in points.iter().enumerate() {
        let label = labels.map(|l| l[i].to_string()).unwrap_or_default();
        let (tx, ty) = match tsne {
            Some(map) => (map[i].0.to_string(), map[i].1.to_string()),
            None => (String::new(), String::new()),
        };
        csv.push_str(&format!("{i},{label},{x},{y},{tx},{ty}\n"));
    }
    let mut written = vec![write_file(&out.join(CSV_FILE), &csv)?];

    let mut vectors = String::new();
    for i in 0..projection.rows {
        let row: Vec<String> = projection.row(i).iter().map(f32::to_string).collect();
        vectors.push_str(&row.join("\t"));
        vectors.push('\n');
    }
    written.push(write_file(&out.join(VECTORS_FILE), &vectors)?);
    if let Some(labels) = labels {
        // One column: TensorBoard reads it without a header line.
        let metadata: String = labels.iter().map(|l| format!("{l}\n")).collect();
        written.push(write_file(&out.join(METADATA_FILE), &metadata)?);
    }

    let map = out.join(MAP_FILE);
    let title = format!(
        "Codes of {} images ({length} numbers each), first two principal components: \
         {:.1}% + {:.1}% of the variance",
        projection.rows,
        share(0),
        share(1)
    );
    let axes = [
        format!("PC1 ({:.1}%)", share(0)),
        format!("PC2 ({:.1}%)", share(1)),
    ];
    latent_chart(&map, &title, [&axes[0], &axes[1]], &points, labels)?;
    written.push(map);
    if let Some(tsne) = tsne {
        let map = out.join(TSNE_FILE);
        let title = format!(
            "Codes of {} images, t-SNE of their first {} principal components",
            projection.rows, projection.components
        );
        latent_chart(&map, &title, ["t-SNE 1", "t-SNE 2"], tsne, labels)?;
        written.push(map);
    } else {
        eprintln!(
            "note: no t-SNE map of fewer than {} images",
            tsne::MIN_IMAGES
        );
    }

    println!(
        "Principal components of the codes: PC1 {:.1}%, PC2 {:.1}% of the variance, the first {} \
         {:.1}%",
        share(0),
        share(1),
        projection.components,
        100.0 * projection.explained.iter().sum::<f64>()
    );
    for path in &written {
        println!("Wrote {}", path.display());
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<PathBuf> {
    fsutil::write_atomic(path, text.as_bytes())
        .map_err(|e| WriteError::new(path, "write the latent map", e))?;
    Ok(path.to_owned())
}
