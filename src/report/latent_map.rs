//! The latent map: one dot per image at its 2-D coordinates, coloured by its label when
//! labels are given (a legend names them), the title saying what the axes are.

use std::path::Path;

use plotters::prelude::*;

use super::canvas::{FONT, draw_legend, draw_png, title_font};
use crate::exit::WriteError;

const SIZE: (u32, u32) = (900, 800);
/// matplotlib's `tab10`: ten colours told apart at a glance (Palette99's later ones are pale).
const TEN: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// Dots at `points`, coloured by `labels` (one colour per distinct label) or all one colour.
pub fn latent_chart(
    path: &Path,
    title: &str,
    axes: [&str; 2],
    points: &[(f32, f32)],
    labels: Option<&[u8]>,
) -> Result<(), WriteError> {
    let range = |pick: fn(&(f32, f32)) -> f32| {
        let (low, high) = points
            .iter()
            .map(pick)
            .filter(|v| v.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), v| {
                (l.min(v), h.max(v))
            });
        let (low, high) = if low <= high {
            (low, high)
        } else {
            (-1.0, 1.0)
        };
        let margin = ((high - low) * 0.05).max(1e-6);
        f64::from(low - margin)..f64::from(high + margin)
    };
    let (x_range, y_range) = (range(|p| p.0), range(|p| p.1));
    let mut classes: Vec<u8> = labels.map(<[u8]>::to_vec).unwrap_or_default();
    classes.sort_unstable();
    classes.dedup();
    draw_png(path, "draw latent map", SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .caption(title, title_font(title, SIZE.0 - 40))
            .build_cartesian_2d(x_range.clone(), y_range.clone())?;
        chart
            .configure_mesh()
            .x_desc(axes[0])
            .y_desc(axes[1])
            .axis_desc_style((FONT, 20))
            .label_style((FONT, 16))
            .draw()?;
        let dot = |x: f32, y: f32, color: RGBAColor| {
            Circle::new((f64::from(x), f64::from(y)), 2, color.filled())
        };
        match labels {
            None => {
                let color = BLUE.mix(0.5);
                chart.draw_series(points.iter().map(|&(x, y)| dot(x, y, color)))?;
            }
            Some(labels) => {
                for (i, &class) in classes.iter().enumerate() {
                    let color = match TEN.get(i) {
                        Some(color) => color.mix(0.6),
                        None => Palette99::pick(i).mix(0.6),
                    };
                    let mine = points
                        .iter()
                        .zip(labels)
                        .filter(|&(_, &l)| l == class)
                        .map(|(&(x, y), _)| dot(x, y, color));
                    chart
                        .draw_series(mine)?
                        .label(class.to_string())
                        .legend(move |(x, y)| Circle::new((x + 8, y), 5, color.filled()));
                }
                draw_legend(&mut chart, 16, SeriesLabelPosition::UpperRight)?;
            }
        }
        Ok(())
    })
}
