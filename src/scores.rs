//! `aelab score`: how badly a saved autoencoder reconstructs each image, as an anomaly
//! score. `scores.csv` (MSE, PSNR, SSIM per image), `score_summary.csv` (their means and,
//! with `--normal K`, the ROC AUC of telling class K from the rest by MSE), a histogram of
//! the errors (by class when labels are given), the worst-reconstructed images over their
//! reconstructions, and the ROC curve.

use std::path::{Path, PathBuf};

use crate::data::augment::unit_pixel;
use crate::data::idx::Images;
use crate::device::BackendJob;
use crate::error::{Result, WriteError};
use crate::fsutil;
use crate::job::ModelOnImages;
use crate::model::{AutoencoderConfig, TrainBackend};
use crate::report::anomaly::{histogram_chart, roc, roc_chart};
use crate::report::grids::{RECONSTRUCTIONS_SHOWN, reconstruction_grid};
use crate::report::quality::{ImageScore, Quality, score_images};
use crate::train::autoencoder::{ValidationNoise, reconstruct};

/// The files written, under the output folder.
pub const SCORES_FILE: &str = "scores.csv";
pub const SUMMARY_FILE: &str = "score_summary.csv";
pub const HISTOGRAM_FILE: &str = "score_histogram.png";
pub const WORST_FILE: &str = "worst_reconstructed.png";
pub const ROC_FILE: &str = "roc_curve.png";

/// `aelab score`, resolved: the autoencoder, the images (and their labels), the class it
/// was trained on when asked for the ROC AUC, and where the results go.
pub struct ScoreJob {
    pub inputs: ModelOnImages<AutoencoderConfig>,
    /// With labels: the normal class (resolve checked that both kinds are present).
    pub normal: Option<u8>,
    /// The output folder, made and proven writable.
    pub out: PathBuf,
}

impl ScoreJob {
    /// What is about to be scored, for stdout.
    pub fn describe(&self) -> String {
        self.inputs.describe()
    }
}

impl BackendJob for ScoreJob {
    type Output = Result<()>;

    fn run<B: TrainBackend>(self, device: B::Device) -> Self::Output {
        let model = self.inputs.load::<B::InnerBackend>(&device)?;
        let images = &self.inputs.images;
        let all = self.inputs.every_image();
        let reconstructions = reconstruct(&model, images, &all, ValidationNoise::NONE, &device);
        let scores = score_images(images, &all, &reconstructions);
        write(&self, &scores, &reconstructions)
    }
}

/// Every file, then what was found and written on stdout.
fn write(job: &ScoreJob, scores: &[ImageScore], reconstructions: &[f32]) -> Result<()> {
    let out = &job.out;
    let labels = job.inputs.label_values();
    let mut written = vec![write_file(
        &out.join(SCORES_FILE),
        &scores_csv(scores, labels),
    )?];

    let mse: Vec<f64> = scores.iter().map(|s| s.mse).collect();
    let auc = match (job.normal, labels) {
        (Some(normal), Some(labels)) => {
            let anomalous: Vec<bool> = labels.iter().map(|&l| l != normal).collect();
            let curve = roc(&mse, &anomalous).expect("resolve checked both kinds are there");
            let path = out.join(ROC_FILE);
            let title = format!(
                "Telling class {normal} from the rest by reconstruction error: AUC {:.4}",
                curve.auc
            );
            roc_chart(&path, &title, &curve)?;
            written.push(path);
            println!(
                "ROC AUC of telling class {normal} from the other classes by MSE: {:.4}",
                curve.auc
            );
            Some((normal, curve.auc))
        }
        _ => None,
    };
    let mean_mse = mse.iter().sum::<f64>() / mse.len() as f64;
    let quality = Quality::mean(scores);
    let summary = summary_csv(job, scores.len(), mean_mse, quality, auc);
    written.push(write_file(&out.join(SUMMARY_FILE), &summary)?);

    let histogram = out.join(HISTOGRAM_FILE);
    let title = format!("Reconstruction error of {} images", scores.len());
    histogram_chart(&histogram, &title, "MSE", &groups(&mse, labels, job.normal))?;
    written.push(histogram);

    let worst = out.join(WORST_FILE);
    draw_worst(&worst, &job.inputs.images, reconstructions, &mse)?;
    written.push(worst);

    println!(
        "Mean over {} images: MSE {mean_mse:.6}, PSNR {:.2} dB, SSIM {:.4}",
        scores.len(),
        quality.psnr,
        quality.ssim
    );
    for path in &written {
        println!("Wrote {}", path.display());
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<PathBuf> {
    fsutil::write_atomic(path, text.as_bytes())
        .map_err(|e| WriteError::new(path, "write the scores", e))?;
    Ok(path.to_owned())
}

/// `Index,MSE,PSNR,SSIM` per image, and `Label` when the labels are known.
fn scores_csv(scores: &[ImageScore], labels: Option<&[u8]>) -> String {
    let mut text = String::from("Index,MSE,PSNR,SSIM");
    text.push_str(if labels.is_some() { ",Label\n" } else { "\n" });
    for (index, score) in scores.iter().enumerate() {
        text.push_str(&format!(
            "{index},{:.8},{:.4},{:.6}",
            score.mse, score.psnr, score.ssim
        ));
        match labels {
            Some(labels) => text.push_str(&format!(",{}\n", labels[index])),
            None => text.push('\n'),
        }
    }
    text
}

/// One row: the model, the images, the means, and the normal class and AUC when asked.
fn summary_csv(
    job: &ScoreJob,
    count: usize,
    mean_mse: f64,
    quality: Quality,
    auc: Option<(u8, f64)>,
) -> String {
    let (normal, auc) = match auc {
        Some((normal, auc)) => (normal.to_string(), format!("{auc:.6}")),
        None => (String::new(), String::new()),
    };
    format!(
        "Model,Images,Count,Mean_MSE,Mean_PSNR,Mean_SSIM,Normal,ROC_AUC\n{},{},{},{:.8},{:.4},{:.6},{normal},{auc}\n",
        job.inputs.model_path.display(),
        job.inputs.images_path.display(),
        count,
        mean_mse,
        quality.psnr,
        quality.ssim,
    )
}

/// The histogram's groups: the normal class and the rest, else one per class, else all.
fn groups(mse: &[f64], labels: Option<&[u8]>, normal: Option<u8>) -> Vec<(String, Vec<f64>)> {
    let Some(labels) = labels else {
        return vec![("all images".into(), mse.to_vec())];
    };
    let of = |keep: &dyn Fn(u8) -> bool| -> Vec<f64> {
        mse.iter()
            .zip(labels)
            .filter(|&(_, &l)| keep(l))
            .map(|(&m, _)| m)
            .collect()
    };
    match normal {
        Some(k) => vec![
            (format!("class {k} (normal)"), of(&|l| l == k)),
            ("the other classes".into(), of(&|l| l != k)),
        ],
        None => {
            let classes = labels.iter().copied().max().map_or(0, |m| m + 1);
            (0..classes)
                .map(|k| (format!("class {k}"), of(&|l| l == k)))
                .filter(|(_, scores)| !scores.is_empty())
                .collect()
        }
    }
}

/// The images with the highest MSE over their reconstructions, worst first.
fn draw_worst(path: &Path, images: &Images, reconstructions: &[f32], mse: &[f64]) -> Result<()> {
    let mut order: Vec<usize> = (0..mse.len()).collect();
    order.sort_by(|&a, &b| mse[b].total_cmp(&mse[a]));
    order.truncate(RECONSTRUCTIONS_SHOWN);
    let size = images.height * images.width;
    let originals: Vec<f32> = order
        .iter()
        .flat_map(|&i| images.image(i).iter().map(|&p| unit_pixel(p)))
        .collect();
    let outputs: Vec<f32> = order
        .iter()
        .flat_map(|&i| reconstructions[i * size..(i + 1) * size].iter().copied())
        .collect();
    let title = format!(
        "The {} worst reconstructed of {} images (highest MSE first)",
        order.len(),
        mse.len()
    );
    let rows = [("Image", &originals[..]), ("Reconstruction", &outputs[..])];
    reconstruction_grid(path, &title, &rows, images.height, images.width)?;
    Ok(())
}
