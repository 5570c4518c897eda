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
