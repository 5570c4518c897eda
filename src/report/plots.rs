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

/// Training and validation loss per epoch, saved as a PNG at `path`.
pub fn loss_curves(path: &Path, title: &str, history: &[EpochStats]) -> anyhow::Result<()> {
    draw_loss_curves(path, title, history)
        .map_err(|e| anyhow::anyhow!("{}: cannot draw plot: {e}", path.display()))
}

fn draw_loss_curves(path: &Path, title: &str, history: &[EpochStats]) -> PlotResult {
    register_fonts();
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let epochs = history.len().max(1) as f64;
    let values = history.iter().flat_map(|s| [s.loss, s.val_loss]);
    let (low, high) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let low = if low.is_finite() { low } else { 0.0 };
    let pad = ((high - low) * 0.08).max(high * 0.02).max(1e-9);

    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 26))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(0.5..epochs + 0.5, (low - pad).max(0.0)..high + pad)?;
    chart
        .configure_mesh()
        .x_desc("Epoch")
        .y_desc("Loss (MSE)")
        .axis_desc_style((FONT, 20))
        .label_style((FONT, 16))
        .x_labels(history.len().clamp(2, 12))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.4}"))
        .draw()?;

    let series = [
        (
            "Training loss",
            BLUE,
            history.iter().map(|s| s.loss).collect::<Vec<_>>(),
        ),
        (
            "Validation loss",
            RED,
            history.iter().map(|s| s.val_loss).collect(),
        ),
    ];
    for (label, color, ys) in series {
        let points: Vec<(f64, f64)> = ys
            .iter()
            .enumerate()
            .map(|(i, &y)| (i as f64 + 1.0, y))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
            });
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 4, color.filled())),
        )?;
    }
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
    draw_error_graph(path, run_name, param_label, points)
        .map_err(|e| anyhow::anyhow!("{}: cannot draw plot: {e}", path.display()))
}

fn draw_error_graph(
    path: &Path,
    run_name: &str,
    param_label: &str,
    points: &[ErrorPoint],
) -> PlotResult {
    register_fonts();
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let (x_low, x_high) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.value as f64), hi.max(p.value as f64))
        });
    let x_pad = ((x_high - x_low) * 0.1).max(1.0);
    let values = points.iter().flat_map(|p| [p.loss, p.val_loss]);
    let (low, high) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let low = if low.is_finite() { low } else { 0.0 };
    let pad = ((high - low) * 0.15).max(high * 0.05).max(1e-9);
    let total: f64 = points.iter().map(|p| p.train_seconds).sum();

    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{run_name}: loss against {param_label} (training time {total:.0} s in all)"),
            (FONT, 22),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(
            x_low - x_pad..x_high + x_pad,
            (low - pad).max(0.0)..high + 2.5 * pad,
        )?;
    chart
        .configure_mesh()
        .x_desc(param_label)
        .y_desc("Final loss (MSE)")
        .axis_desc_style((FONT, 20))
        .label_style((FONT, 16))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.5}"))
        .draw()?;

    let series = [
        (
            "Loss",
            BLUE,
            points.iter().map(|p| p.loss).collect::<Vec<_>>(),
        ),
        (
            "Validation loss",
            RED,
            points.iter().map(|p| p.val_loss).collect(),
        ),
    ];
    for (label, color, ys) in series {
        let xy: Vec<(f64, f64)> = points
            .iter()
            .zip(ys)
            .map(|(p, y)| (p.value as f64, y))
            .collect();
        chart
            .draw_series(LineSeries::new(xy.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
            });
        chart.draw_series(xy.into_iter().map(|p| Circle::new(p, 5, color.filled())))?;
    }
    // Each run's training time, under its validation-loss marker.
    chart.draw_series(points.iter().map(|p| {
        Text::new(
            format!("{:.0} s", p.train_seconds),
            (p.value as f64, p.val_loss),
            (FONT, 14).into_font().color(&BLACK.mix(0.7)),
        )
    }))?;
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
