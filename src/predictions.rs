//! What a classifier found in a set of images, written for a script and for a person:
//! `predictions.csv` always, and, when the images' labels are known, the classification
//! report (on stdout and as a file), grids of correct and incorrect predictions and the
//! confusion matrix. `aelab classify` and `aelab predict` both write them here.

use std::path::{Path, PathBuf};

use crate::data::idx::Images;
use crate::device::BackendJob;
use crate::error::{Result, WriteError};
use crate::fsutil;
use crate::job::ModelOnImages;
use crate::model::{ClassifierConfig, TrainBackend};
use crate::report::confusion::confusion_matrix_chart;
use crate::report::grids::{PREDICTIONS_SHOWN, prediction_grid};
use crate::report::metrics::{ClassificationReport, confusion_matrix};
use crate::train::classifier::{Prediction, predict};

/// The files written, under the output folder.
pub const PREDICTIONS_FILE: &str = "predictions.csv";
pub const REPORT_FILE: &str = "classification_report.txt";
pub const CORRECT_FILE: &str = "found_correct.png";
pub const INCORRECT_FILE: &str = "found_incorrect.png";
pub const CONFUSION_FILE: &str = "confusion_matrix.png";

/// Images and what the classifier said of each; `labels` when the true classes are known.
pub struct Predicted<'a> {
    pub images: &'a Images,
    pub predictions: &'a [Prediction],
    pub labels: Option<&'a [u8]>,
    pub classes: usize,
}

/// Write everything `found` supports under `out`, say on stdout what was found and what
/// was written, and return the files.
pub fn write(out: &Path, found: &Predicted) -> Result<Vec<PathBuf>> {
    let table = out.join(PREDICTIONS_FILE);
    fsutil::write_atomic(&table, predictions_csv(found).as_bytes())
        .map_err(|e| WriteError::new(&table, "write the predictions", e))?;
    let mut written = vec![table];
    match found.labels {
        Some(labels) => written.extend(write_report(out, found, labels)?),
        None => println!(
            "Labelled {} images (no labels given, so no classification report)",
            found.predictions.len()
        ),
    }
    for path in &written {
        println!("Wrote {}", path.display());
    }
    Ok(written)
}

/// `Index,Predicted,Probability` per image, and `Label` when the labels are known.
fn predictions_csv(found: &Predicted) -> String {
    let mut text = String::from("Index,Predicted,Probability");
    text.push_str(if found.labels.is_some() {
        ",Label\n"
    } else {
        "\n"
    });
    for (index, prediction) in found.predictions.iter().enumerate() {
        text.push_str(&format!(
            "{index},{},{:.6}",
            prediction.class, prediction.probability
        ));
        match found.labels {
            Some(labels) => text.push_str(&format!(",{}\n", labels[index])),
            None => text.push('\n'),
        }
    }
    text
}

/// The classification report, the grids and the confusion matrix.
fn write_report(out: &Path, found: &Predicted, labels: &[u8]) -> Result<Vec<PathBuf>> {
    let predicted: Vec<usize> = found.predictions.iter().map(|p| p.class).collect();
    let actual: Vec<usize> = labels.iter().map(|&l| usize::from(l)).collect();
    let report = ClassificationReport::new(&predicted, &actual, found.classes);
    let text = report.to_text();
    println!("Found {} correct labels", report.correct);
    println!("Found {} incorrect labels", report.incorrect());
    println!("{text}");

    let report_path = out.join(REPORT_FILE);
    fsutil::write_atomic(&report_path, text.as_bytes())
        .map_err(|e| WriteError::new(&report_path, "write the report", e))?;
    let mut written = vec![report_path];
    let images = found.images;
    for (file, correct) in [(CORRECT_FILE, true), (INCORRECT_FILE, false)] {
        let shown: Vec<usize> = (0..predicted.len())
            .filter(|&i| (predicted[i] == actual[i]) == correct)
            .take(PREDICTIONS_SHOWN)
            .collect();
        let pixels: Vec<u8> = shown
            .iter()
            .flat_map(|&i| images.image(i).iter().copied())
            .collect();
        let captions: Vec<String> = shown
            .iter()
            .map(|&i| format!("Predicted {}, Class {}", predicted[i], actual[i]))
            .collect();
        let (how, of) = if correct {
            ("correctly", report.correct)
        } else {
            ("incorrectly", report.incorrect())
        };
        let title = format!("Images classified {how}: the first {} of {of}", shown.len());
        let path = out.join(file);
        prediction_grid(
            &path,
            &title,
            &pixels,
            images.height,
            images.width,
            &captions,
        )?;
        written.push(path);
    }
    let confusion = out.join(CONFUSION_FILE);
    confusion_matrix_chart(
        &confusion,
        &format!(
            "Confusion matrix, {} images (accuracy {:.4})",
            report.total, report.accuracy
        ),
        &confusion_matrix(&predicted, &actual, found.classes),
    )?;
    written.push(confusion);
    Ok(written)
}

/// `aelab predict`, resolved: the classifier, the images to label (and their labels), and
/// where the results go. On a chosen backend it loads the classifier's weights, labels the
/// images and writes what it found under `out`.
pub struct PredictJob {
    pub inputs: ModelOnImages<ClassifierConfig>,
    /// The output folder, made and proven writable.
    pub out: PathBuf,
}

impl PredictJob {
    /// What is about to be labelled, for stdout.
    pub fn describe(&self) -> String {
        self.inputs.describe()
    }
}

impl BackendJob for PredictJob {
    type Output = Result<()>;

    fn run<B: TrainBackend>(self, device: B::Device) -> Self::Output {
        let inputs = &self.inputs;
        let model = inputs.load::<B::InnerBackend>(&device)?;
        let predictions = predict::<B::InnerBackend>(&model, &inputs.images, &device);
        let found = Predicted {
            images: &inputs.images,
            predictions: &predictions,
            labels: inputs.label_values(),
            classes: inputs.card.architecture.classes,
        };
        write(&self.out, &found)?;
        Ok(())
    }
}
