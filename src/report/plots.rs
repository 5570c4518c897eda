//! PNG plots drawn with plotters, using DejaVu Sans compiled into the binary so they render
//! on machines without system fonts.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::train::EpochStats;

const FONT: &str = "sans-serif";
const SIZE: (u32, u32) = (900, 600);

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bundled font is valid, so registration cannot fail in practice.
        let _ = register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// One line of a chart, drawn with markers.
struct Line {
    label: &'static str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

/// What a line chart shows besides its lines.
struct ChartSpec {
    caption: String,
    x_desc: String,
    y_desc: &'static str,
    x_range: std::ops::Range<f64>,
    /// How many x-axis labels to aim for.
    x_labels: usize,
    /// Small labels placed at points (e.g. training times).
    notes: Vec<(String, (f64, f64))>,
}

/// Lines with markers, axis labels and a legend, saved as a PNG at `path`.
fn line_chart(path: &Path, spec: ChartSpec, lines: &[Line]) -> anyhow::Result<()> {
    draw_line_chart(path, spec, lines)
        .map_err(|e| anyhow::anyhow!("{}: cannot draw plot: {e}", path.display()))
}

fn draw_line_chart(path: &Path, spec: ChartSpec, lines: &[Line]) -> PlotResult {
    register_fonts();
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let ys = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let (low, high) = ys.fold((f64::INFINITY, 0.0f64), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    let low = if low.is_finite() { low } else { 0.0 };
    let pad = ((high - low) * 0.1).max(high * 0.02).max(1e-9);
    // Extra room on top keeps the legend clear of the lines.
    let y_range = (low - pad).max(0.0)..high + 2.5 * pad;

    let mut chart = ChartBuilder::on(&root)
        .caption(&spec.caption, (FONT, 22))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(spec.x_range, y_range)?;
    chart
        .configure_mesh()
        .x_desc(spec.x_desc)
        .y_desc(spec.y_desc)
        .axis_desc_style((FONT, 20))
        .label_style((FONT, 16))
        .x_labels(spec.x_labels)
        // Epochs and hyperparameters are whole numbers: label only whole ticks.
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-9 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format!("{y:.4}"))
        .draw()?;
    for line in lines {
        let color = line.color;
        chart
            .draw_series(LineSeries::new(line.points.clone(), color.stroke_width(2)))?
            .label(line.label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
            });
        chart.draw_series(
            line.points
                .iter()
                .map(|&p| Circle::new(p, 4, color.filled())),
        )?;
    }
    let note_style = (FONT, 14).into_font().color(&BLACK.mix(0.7));
    chart.draw_series(
        spec.notes
            .iter()
            .map(|(text, at)| Text::new(text.clone(), *at, note_style.clone())),
    )?;
    chart
        .configure_series_labels()
        .label_font((FONT, 18))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}

/// A duration for a label: tenths under ten seconds, whole seconds above.
fn seconds(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.1} s")
    } else {
        format!("{value:.0} s")
    }
}

/// The two lines every loss chart shows: a loss in blue, the validation loss in red.
fn loss_lines(
    loss_label: &'static str,
    loss: Vec<(f64, f64)>,
    val_loss: Vec<(f64, f64)>,
) -> [Line; 2] {
    [
        Line {
            label: loss_label,
            color: BLUE,
            points: loss,
        },
        Line {
            label: "Validation loss",
            color: RED,
            points: val_loss,
        },
    ]
}

/// Training and validation loss per epoch, saved as a PNG at `path`.
pub fn loss_curves(path: &Path, title: &str, history: &[EpochStats]) -> anyhow::Result<()> {
    let by_epoch = |value: fn(&EpochStats) -> f64| -> Vec<(f64, f64)> {
        history.iter().map(|s| (s.epoch as f64, value(s))).collect()
    };
    let spec = ChartSpec {
        caption: title.to_string(),
        x_desc: "Epoch".into(),
        y_desc: "Loss (MSE)",
        x_range: 0.5..history.len().max(1) as f64 + 0.5,
        x_labels: history.len().clamp(2, 12),
        notes: Vec::new(),
    };
    let lines = loss_lines(
        "Training loss",
        by_epoch(|s| s.loss),
        by_epoch(|s| s.val_loss),
    );
    line_chart(path, spec, &lines)
}

/// One point of an error graph: a hyperparameter value and the run's final figures.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorPoint {
    pub value: usize,
    pub loss: f64,
    pub val_loss: f64,
    pub train_seconds: f64,
}

/// Final loss and validation loss against one hyperparameter's values, each point labelled
/// with its training time; saved as a PNG at `path`.
pub fn error_graph(
    path: &Path,
    run_name: &str,
    param_label: &str,
    points: &[ErrorPoint],
) -> anyhow::Result<()> {
    let xs = points.iter().map(|p| p.value as f64);
    let (x_low, x_high) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    let x_pad = ((x_high - x_low) * 0.1).max(1.0);
    let total: f64 = points.iter().map(|p| p.train_seconds).sum();
    let at = |value: fn(&ErrorPoint) -> f64| -> Vec<(f64, f64)> {
        points.iter().map(|p| (p.value as f64, value(p))).collect()
    };
    let spec = ChartSpec {
        caption: format!(
            "{run_name}: loss against {param_label} (training time {} in all)",
            seconds(total)
        ),
        x_desc: param_label.to_string(),
        y_desc: "Final loss (MSE)",
        x_range: x_low - x_pad..x_high + x_pad,
        x_labels: 10,
        notes: points
            .iter()
            .map(|p| (seconds(p.train_seconds), (p.value as f64, p.val_loss)))
            .collect(),
    };
    let lines = loss_lines("Loss", at(|p| p.loss), at(|p| p.val_loss));
    line_chart(path, spec, &lines)
}

/// A row of original images over a row of their reconstructions (pixels in [0, 1]).
pub fn reconstruction_grid(
    path: &Path,
    title: &str,
    originals: &[f32],
    reconstructions: &[f32],
    height: usize,
    width: usize,
) -> anyhow::Result<()> {
    draw_reconstruction_grid(path, title, originals, reconstructions, height, width)
        .map_err(|e| anyhow::anyhow!("{}: cannot draw image grid: {e}", path.display()))
}

fn draw_reconstruction_grid(
    path: &Path,
    title: &str,
    originals: &[f32],
    reconstructions: &[f32],
    height: usize,
    width: usize,
) -> PlotResult {
    register_fonts();
    let count = originals.len() / (height * width);
    let scale = (112 / height.max(width)).max(1);
    let (cell_w, cell_h) = (width * scale + 8, height * scale + 8);
    let (label_w, title_h) = (170, 50);
    let size = (
        (label_w + count * cell_w + 10) as u32,
        (title_h + 2 * cell_h + 10) as u32,
    );
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    root.draw(&Text::new(
        title.to_string(),
        (10, 12),
        (FONT, 22).into_font(),
    ))?;
    let rows = [("Original", originals), ("Reconstruction", reconstructions)];
    for (row, (label, pixels)) in rows.iter().enumerate() {
        let top = title_h + row * cell_h;
        root.draw(&Text::new(
            label.to_string(),
            (10, (top + cell_h / 2 - 8) as i32),
            (FONT, 18).into_font(),
        ))?;
        for i in 0..count {
            let left = label_w + i * cell_w;
            for y in 0..height {
                for x in 0..width {
                    let v = pixels[i * height * width + y * width + x].clamp(0.0, 1.0);
                    let shade = 255 - (v * 255.0).round() as u8;
                    let (x0, y0) = ((left + x * scale) as i32, (top + y * scale) as i32);
                    root.draw(&Rectangle::new(
                        [(x0, y0), (x0 + scale as i32, y0 + scale as i32)],
                        RGBColor(shade, shade, shade).filled(),
                    ))?;
                }
            }
        }
    }
    root.present()?;
    Ok(())
}
