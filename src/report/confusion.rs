//! The confusion matrix as a heat map.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{Area, FONT, PlotResult, draw_png, draw_title};
use crate::exit::WriteError;

/// Where a confusion matrix chart puts things, in pixels.
struct MatrixLayout {
    classes: usize,
    /// One cell's side; the matrix is about 600 pixels square whatever the class count.
    cell: usize,
    left: usize,
    top: usize,
}

impl MatrixLayout {
    fn new(classes: usize) -> Self {
        Self {
            classes,
            cell: (600 / classes.max(1)).max(4),
            left: 100,
            top: 60,
        }
    }

    fn side(&self) -> usize {
        self.cell * self.classes
    }

    fn size(&self) -> (u32, u32) {
        let side = self.side();
        (
            (self.left + side + 30) as u32,
            (self.top + side + 80) as u32,
        )
    }

    /// The centre of row or column `i` along an axis that starts at `start`.
    fn centre(&self, start: usize, i: usize) -> i32 {
        (start + i * self.cell + self.cell / 2) as i32
    }

    /// Every how many classes an axis gets a number, so numbers do not collide.
    fn label_step(&self) -> usize {
        [1, 2, 5, 10, 20, 50, 100, 200, 500]
            .into_iter()
            .find(|step| step * self.cell >= 32)
            .unwrap_or(1000)
    }
}

/// ColorBrewer's "Blues", white to dark blue, the map sklearn's confusion matrix plot uses.
const BLUES: [(u8, u8, u8); 9] = [
    (247, 251, 255),
    (222, 235, 247),
    (198, 219, 239),
    (158, 202, 225),
    (107, 174, 214),
    (66, 146, 198),
    (33, 113, 181),
    (8, 81, 156),
    (8, 48, 107),
];

/// A cell's colour for `strength` in [0, 1], between the two nearest stops of `BLUES`.
fn blues(strength: f64) -> RGBColor {
    let at = strength.clamp(0.0, 1.0) * (BLUES.len() - 1) as f64;
    let low = (at.floor() as usize).min(BLUES.len() - 2);
    let (a, b, t) = (BLUES[low], BLUES[low + 1], at - low as f64);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The count text's size: the largest count about 65% of a cell wide, at most 22 pixels.
fn count_font_px(cell: usize, most: usize) -> f64 {
    let text = most.to_string();
    let at_22 = (FONT, 22.0)
        .into_font()
        .box_size(&text)
        .map_or(22.0 * 0.62 * text.len() as f64, |(w, _)| f64::from(w));
    (22.0 * 0.65 * cell as f64 / at_22.max(1.0))
        .min(22.0)
        .min(cell as f64 * 0.5)
}

/// A classes x classes heat map of `matrix[actual][predicted]` counts (rows: actual class,
/// columns: predicted), each cell with its count when it fits, class numbers on both axes.
/// Shades follow log(1 + count) so that a handful of confusions stands out beside a diagonal
/// of thousands.
pub fn confusion_matrix_chart(
    path: &Path,
    title: &str,
    matrix: &[Vec<usize>],
) -> Result<(), WriteError> {
    let layout = MatrixLayout::new(matrix.len());
    draw_png(path, "draw plot", layout.size(), |root| {
        draw_title(root, title)?;
        draw_cells(root, &layout, matrix)?;
        draw_matrix_axes(root, &layout)
    })
}

fn draw_cells(area: &Area, layout: &MatrixLayout, matrix: &[Vec<usize>]) -> PlotResult {
    let count = |row: &[usize], column: usize| row.get(column).copied().unwrap_or(0);
    let most = matrix.iter().flatten().copied().max().unwrap_or(0).max(1);
    let strength = |n: usize| (n as f64).ln_1p() / (most as f64).ln_1p();
    // No counts where they would be unreadably small.
    let font_px = count_font_px(layout.cell, most);
    let centred = Pos::new(HPos::Center, VPos::Center);
    for (actual, row) in matrix.iter().enumerate() {
        for predicted in 0..layout.classes {
            let n = count(row, predicted);
            let (x, y) = (
                layout.left + predicted * layout.cell,
                layout.top + actual * layout.cell,
            );
            let corner = (x + layout.cell, y + layout.cell);
            area.draw(&Rectangle::new(
                [(x as i32, y as i32), (corner.0 as i32, corner.1 as i32)],
                blues(strength(n)).filled(),
            ))?;
            if font_px >= 9.0 {
                let ink = if strength(n) > 0.6 { WHITE } else { BLACK };
                let style = (FONT, font_px).into_font().color(&ink).pos(centred);
                let at = (
                    layout.centre(layout.left, predicted),
                    layout.centre(layout.top, actual),
                );
                area.draw(&Text::new(n.to_string(), at, style))?;
            }
        }
    }
    let end = (layout.left + layout.side(), layout.top + layout.side());
    area.draw(&Rectangle::new(
        [
            (layout.left as i32, layout.top as i32),
            (end.0 as i32, end.1 as i32),
        ],
        BLACK.mix(0.5),
    ))?;
    Ok(())
}

/// Class numbers along both axes and the axis titles.
fn draw_matrix_axes(area: &Area, layout: &MatrixLayout) -> PlotResult {
    let bottom = layout.top + layout.side();
    let anchored = |pos: Pos| (FONT, 18).into_font().color(&BLACK).pos(pos);
    let below = anchored(Pos::new(HPos::Center, VPos::Top));
    let beside = anchored(Pos::new(HPos::Right, VPos::Center));
    for class in (0..layout.classes).step_by(layout.label_step()) {
        let x = layout.centre(layout.left, class);
        area.draw(&Text::new(
            class.to_string(),
            (x, bottom as i32 + 6),
            below.clone(),
        ))?;
        let y = layout.centre(layout.top, class);
        area.draw(&Text::new(
            class.to_string(),
            (layout.left as i32 - 8, y),
            beside.clone(),
        ))?;
    }
    let middle = (layout.side() / 2) as i32;
    area.draw(&Text::new(
        "Predicted class",
        (layout.left as i32 + middle, bottom as i32 + 36),
        below,
    ))?;
    area.draw(&Text::new(
        "Actual class",
        (30, layout.top as i32 + middle),
        anchored(Pos::new(HPos::Center, VPos::Center)).transform(FontTransform::Rotate270),
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::canvas::tests::png_size;

    #[test]
    fn confusion_matrix_chart_two_and_ten_classes() {
        let dir = tempfile::tempdir().unwrap();
        for classes in [2, 10] {
            let matrix: Vec<Vec<usize>> = (0..classes)
                .map(|a| {
                    (0..classes)
                        .map(|p| if a == p { 1000 - a } else { (a * p) % 7 })
                        .collect()
                })
                .collect();
            let path = dir.path().join(format!("confusion_{classes}.png"));
            confusion_matrix_chart(&path, "Confusion matrix, test set", &matrix).unwrap();
            // A matrix 600 pixels square, 100 left for labels, 60 above, 30 right, 80 below.
            assert_eq!(png_size(&path), (730, 740));
            // The diagonal's top-left cell is the darkest blue.
            let image = image::open(&path).unwrap().to_rgb8();
            assert_eq!(image.get_pixel(102, 62).0, [8, 48, 107]);
        }
    }

    #[test]
    fn confusion_matrix_chart_many_classes() {
        let dir = tempfile::tempdir().unwrap();
        for classes in [3, 37, 100] {
            let matrix: Vec<Vec<usize>> = (0..classes)
                .map(|a| {
                    (0..classes)
                        .map(|p| usize::from(a == p) * 50 + (a + p) % 3)
                        .collect()
                })
                .collect();
            let path = dir.path().join(format!("confusion_{classes}.png"));
            confusion_matrix_chart(&path, "Many classes", &matrix).unwrap();
            let side = 600 / classes * classes;
            assert_eq!(png_size(&path), (130 + side as u32, 140 + side as u32));
        }
    }
}
