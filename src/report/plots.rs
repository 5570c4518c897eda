//! PNG plots drawn with plotters, using DejaVu Sans compiled into the binary so they render
//! on machines without system fonts.

use std::fs;
use std::ops::Range;
use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use crate::fsutil;
use crate::train::EpochStats;

const FONT: &str = "sans-serif";
const SIZE: (u32, u32) = (900, 600);
/// Two charts side by side.
const WIDE_SIZE: (u32, u32) = (1400, 600);

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bundled font is valid, so registration cannot fail in practice.
        let _ = register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

type PlotResult = Result<(), Box<dyn std::error::Error>>;
type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// The error every public function reports: the file, then what went wrong.
fn cannot_draw(path: &Path, what: &str, e: Box<dyn std::error::Error>) -> anyhow::Error {
    anyhow::anyhow!("{}: cannot draw {what}: {e}", path.display())
}

/// A white PNG of `size` drawn by `draw`, written atomically: plotters saves to a temp file
/// beside `path` (ending in `.png`, which picks the encoder), renamed once complete.
fn draw_png(path: &Path, size: (u32, u32), draw: impl FnOnce(&Area) -> PlotResult) -> PlotResult {
    register_fonts();
    let temp = fsutil::temp_path_for(path);
    let result = (|| {
        let root = BitMapBackend::new(&temp, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
        PlotResult::Ok(())
    })();
    // The backend is dropped by now, so nothing writes to the temp file any more.
    match result {
        Ok(()) => Ok(fs::rename(&temp, path)?),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// One line of a chart, drawn with markers.
struct Line {
    label: &'static str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

/// A dashed vertical line across a chart with a short note at its top.
struct Marker {
    x: f64,
    note: &'static str,
}

/// What a line chart shows besides its lines.
struct ChartSpec {
    /// None for a panel whose PNG carries the title.
    caption: Option<String>,
    x_desc: String,
    y_desc: String,
    x_range: Range<f64>,
    /// How many x-axis labels to aim for.
    x_labels: usize,
    /// Small labels placed at points (e.g. training times).
    notes: Vec<(String, (f64, f64))>,
    marker: Option<Marker>,
}

/// Lines with markers, axis labels and a legend, saved as a PNG at `path`.
fn line_chart(path: &Path, spec: ChartSpec, lines: &[Line]) -> anyhow::Result<()> {
    draw_png(path, SIZE, |root| draw_chart(root, &spec, lines))
        .map_err(|e| cannot_draw(path, "plot", e))
}

/// The y range of `lines` with extra room for the legend, and whether that room is below
/// them (rising lines, such as accuracy) rather than above (falling ones, such as loss).
fn y_range(lines: &[Line]) -> (Range<f64>, bool) {
    // A diverged run's infinite or NaN losses must not stretch the axis to nothing.
    let ys = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .filter(|y| y.is_finite());
    let (low, high) = ys.fold((f64::INFINITY, 0.0f64), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    let low = if low.is_finite() { low } else { 0.0 };
    let pad = ((high - low) * 0.1).max(high * 0.02).max(1e-9);
    // Room below only when the axis need not go under zero for it.
    if rising(lines) && low - 2.5 * pad >= 0.0 {
        (low - 2.5 * pad..high + pad, true)
    } else {
        ((low - pad).max(0.0)..high + 2.5 * pad, false)
    }
}

/// Whether the first line ends higher than it starts, leaving its lower right empty.
fn rising(lines: &[Line]) -> bool {
    let mut ys = lines
        .iter()
        .take(1)
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .filter(|y| y.is_finite());
    let first = ys.next();
    matches!((first, ys.next_back()), (Some(a), Some(b)) if b > a)
}

/// One chart (lines, axes, legend, notes, marker) drawn onto `area`, a whole PNG or a panel.
fn draw_chart(area: &Area, spec: &ChartSpec, lines: &[Line]) -> PlotResult {
    let (y_range, legend_below) = y_range(lines);
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(90);
    if let Some(caption) = &spec.caption {
        builder.caption(caption, (FONT, 22));
    }
    let mut chart = builder.build_cartesian_2d(spec.x_range.clone(), y_range.clone())?;
    chart
        .configure_mesh()
        .x_desc(&spec.x_desc)
        .y_desc(&spec.y_desc)
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
        let points: Vec<(f64, f64)> = line
            .points
            .iter()
            .copied()
            .filter(|p| p.1.is_finite())
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(line.label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    // Notes sit above and right of their points, clear of the marker and the line.
    let note_style = (FONT, 14).into_font().color(&BLACK.mix(0.7));
    chart.draw_series(spec.notes.iter().map(|(text, at)| {
        EmptyElement::at(*at) + Text::new(text.clone(), (7, -20), note_style.clone())
    }))?;
    let mut legend_at = if legend_below {
        SeriesLabelPosition::LowerRight
    } else {
        SeriesLabelPosition::UpperRight
    };
    if let Some(marker) = spec.marker.as_ref().filter(|m| within(&spec.x_range, m.x)) {
        // The marker's note goes on the side with more room; a legend on top, on the other.
        let right_half = marker.x > (spec.x_range.start + spec.x_range.end) / 2.0;
        if right_half && !legend_below {
            legend_at = SeriesLabelPosition::UpperLeft;
        }
        draw_marker(&mut chart, marker, &y_range, right_half)?;
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 18))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(legend_at)
        .draw()?;
    Ok(())
}

fn within(range: &Range<f64>, x: f64) -> bool {
    range.start <= x && x <= range.end
}

type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A dashed grey line from bottom to top at the marker, its note at the top, written to the
/// left of the line when `note_left`.
fn draw_marker(
    chart: &mut Chart<'_, '_>,
    marker: &Marker,
    y: &Range<f64>,
    note_left: bool,
) -> PlotResult {
    let grey = BLACK.mix(0.45);
    chart.draw_series(DashedLineSeries::new(
        [(marker.x, y.start), (marker.x, y.end)],
        8,
        6,
        grey.stroke_width(2),
    ))?;
    let (anchor, dx) = if note_left {
        (HPos::Right, -6)
    } else {
        (HPos::Left, 6)
    };
    let style = (FONT, 16)
        .into_font()
        .color(&BLACK.mix(0.6))
        .pos(Pos::new(anchor, VPos::Top));
    chart.draw_series(std::iter::once(
        EmptyElement::at((marker.x, y.end)) + Text::new(marker.note, (dx, 6), style),
    ))?;
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

/// The two lines every chart shows: a training figure in blue, its validation figure in red.
fn line_pair(
    labels: (&'static str, &'static str),
    train: Vec<(f64, f64)>,
    valid: Vec<(f64, f64)>,
) -> [Line; 2] {
    [
        Line {
            label: labels.0,
            color: BLUE,
            points: train,
        },
        Line {
            label: labels.1,
            color: RED,
            points: valid,
        },
    ]
}

/// Training and validation loss per epoch, saved as a PNG at `path`.
pub fn loss_curves(path: &Path, title: &str, history: &[EpochStats]) -> anyhow::Result<()> {
    let loss: Vec<f64> = history.iter().map(|s| s.loss).collect();
    let val_loss: Vec<f64> = history.iter().map(|s| s.val_loss).collect();
    let labels = ("Training loss", "Validation loss");
    epoch_chart(path, title, "Loss (MSE)", labels, &loss, &val_loss, None)
}

/// Per-epoch curves of a two-stage training run (900x600): `train` and `valid` are the values
/// per epoch over both stages (epoch 1..=n), drawn as two lines labelled `train_label` and
/// `valid_label`; y axis `y_desc` (e.g. "Loss (cross-entropy)" or "Accuracy"); when
/// `stage_boundary` is Some(k) (k = epochs in stage 1), a dashed vertical grey line at
/// x = k + 0.5 with a small text "encoder unfrozen".
// The argument list is the callers' agreed API; a struct would only rename it.
#[allow(clippy::too_many_arguments)]
pub fn stage_curves(
    path: &Path,
    title: &str,
    y_desc: &str,
    train_label: &'static str,
    valid_label: &'static str,
    train: &[f64],
    valid: &[f64],
    stage_boundary: Option<usize>,
) -> anyhow::Result<()> {
    let labels = (train_label, valid_label);
    epoch_chart(path, title, y_desc, labels, train, valid, stage_boundary)
}

/// Two lines over epochs 1..=n, with the stage marker when there is one.
fn epoch_chart(
    path: &Path,
    title: &str,
    y_desc: &str,
    labels: (&'static str, &'static str),
    train: &[f64],
    valid: &[f64],
    stage_boundary: Option<usize>,
) -> anyhow::Result<()> {
    let by_epoch = |values: &[f64]| -> Vec<(f64, f64)> {
        (1..).map(f64::from).zip(values.iter().copied()).collect()
    };
    let epochs = train.len().max(valid.len());
    let spec = ChartSpec {
        caption: Some(title.to_string()),
        x_desc: "Epoch".into(),
        y_desc: y_desc.to_string(),
        x_range: 0.5..epochs.max(1) as f64 + 0.5,
        x_labels: epochs.clamp(2, 12),
        notes: Vec::new(),
        marker: stage_boundary.map(|k| Marker {
            x: k as f64 + 0.5,
            note: "encoder unfrozen",
        }),
    };
    line_chart(
        path,
        spec,
        &line_pair(labels, by_epoch(train), by_epoch(valid)),
    )
}

/// The x range of an error graph: the hyperparameter's values with some room either side.
fn value_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if low > high {
        return 0.0..1.0; // no points: an empty chart rather than an infinite axis
    }
    let pad = ((high - low) * 0.1).max(1.0);
    low - pad..high + pad
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
    let total: f64 = points.iter().map(|p| p.train_seconds).sum();
    let at = |value: fn(&ErrorPoint) -> f64| -> Vec<(f64, f64)> {
        points.iter().map(|p| (p.value as f64, value(p))).collect()
    };
    let spec = ChartSpec {
        caption: Some(format!(
            "{run_name}: loss against {param_label} (training time {} in all)",
            seconds(total)
        )),
        x_desc: param_label.to_string(),
        y_desc: "Final loss (MSE)".into(),
        x_range: value_range(points.iter().map(|p| p.value as f64)),
        x_labels: 10,
        notes: points
            .iter()
            .map(|p| (seconds(p.train_seconds), (p.value as f64, p.val_loss)))
            .collect(),
        marker: None,
    };
    let lines = line_pair(
        ("Loss", "Validation loss"),
        at(|p| p.loss),
        at(|p| p.val_loss),
    );
    line_chart(path, spec, &lines)
}

/// One point of a classifier's error graph: a hyperparameter value and the run's final figures.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassifierPoint {
    pub value: usize,
    pub loss: f64,
    pub val_loss: f64,
    pub accuracy: f64,
    pub val_accuracy: f64,
    pub train_seconds: f64,
}

/// Two panels side by side in one PNG (1400x600): left, final loss and validation loss
/// against the hyperparameter (y axis titled `loss_desc`, e.g. "Final loss (cross-entropy)"),
/// each point labelled with its training time; right, final accuracy and validation accuracy.
pub fn classifier_error_graph(
    path: &Path,
    run_name: &str,
    param_label: &str,
    loss_desc: &str,
    points: &[ClassifierPoint],
) -> anyhow::Result<()> {
    let total: f64 = points.iter().map(|p| p.train_seconds).sum();
    let caption = format!(
        "{run_name}: loss and accuracy against {param_label} (training time {} in all)",
        seconds(total)
    );
    let at = |value: fn(&ClassifierPoint) -> f64| -> Vec<(f64, f64)> {
        points.iter().map(|p| (p.value as f64, value(p))).collect()
    };
    let panel = |y_desc: &str, notes| ChartSpec {
        caption: None,
        x_desc: param_label.to_string(),
        y_desc: y_desc.to_string(),
        x_range: value_range(points.iter().map(|p| p.value as f64)),
        x_labels: 10,
        notes,
        marker: None,
    };
    // Training times once, on the loss panel, where error_graph has them too.
    let times = points
        .iter()
        .map(|p| (seconds(p.train_seconds), (p.value as f64, p.val_loss)))
        .collect();
    let loss = (
        panel(loss_desc, times),
        line_pair(
            ("Loss", "Validation loss"),
            at(|p| p.loss),
            at(|p| p.val_loss),
        ),
    );
    let accuracy = (
        panel("Final accuracy", Vec::new()),
        line_pair(
            ("Accuracy", "Validation accuracy"),
            at(|p| p.accuracy),
            at(|p| p.val_accuracy),
        ),
    );
    draw_png(path, WIDE_SIZE, |root| {
        let body = root.titled(&caption, (FONT, 22))?;
        let panels = body.split_evenly((1, 2));
        draw_chart(&panels[0], &loss.0, &loss.1)?;
        draw_chart(&panels[1], &accuracy.0, &accuracy.1)
    })
    .map_err(|e| cannot_draw(path, "plot", e))
}

/// The images in `pixels`, each `height * width` values back to back (none when that is 0).
fn images<T>(pixels: &[T], height: usize, width: usize) -> std::slice::ChunksExact<'_, T> {
    let size = height * width;
    let usable = if size == 0 { 0 } else { pixels.len() };
    pixels[..usable].chunks_exact(size.max(1))
}

/// Screen pixels per image pixel, so an image is about 112 pixels on its longer side.
fn image_scale(height: usize, width: usize) -> usize {
    (112 / height.max(width).max(1)).max(1)
}

/// One image, `scale` screen pixels per image pixel, top-left corner at `at`; `shade` gives
/// each value's grey (0 black, 255 white).
fn draw_image<T: Copy>(
    area: &Area,
    image: &[T],
    width: usize,
    at: (usize, usize),
    scale: usize,
    shade: impl Fn(T) -> u8,
) -> PlotResult {
    // A faint frame shows where an image with a white background ends.
    let (x0, y0) = (at.0 as i32 - 1, at.1 as i32 - 1);
    let height = image.len() / width.max(1);
    let (x1, y1) = (
        x0 + (width * scale) as i32 + 1,
        y0 + (height * scale) as i32 + 1,
    );
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], BLACK.mix(0.2)))?;
    for (i, &value) in image.iter().enumerate() {
        let (x, y) = (i % width, i / width);
        let grey = shade(value);
        let (x0, y0) = ((at.0 + x * scale) as i32, (at.1 + y * scale) as i32);
        area.draw(&Rectangle::new(
            [(x0, y0), (x0 + scale as i32, y0 + scale as i32)],
            RGBColor(grey, grey, grey).filled(),
        ))?;
    }
    Ok(())
}

/// An image grid's title, top left.
fn draw_title(area: &Area, title: &str) -> PlotResult {
    area.draw(&Text::new(
        title.to_string(),
        (10, 12),
        (FONT, 22).into_font(),
    ))?;
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
    let count = images(originals, height, width).len();
    let scale = image_scale(height, width);
    let (cell_w, cell_h) = (width * scale + 8, height * scale + 8);
    let (label_w, title_h) = (170, 50);
    let size = (
        (label_w + count * cell_w + 10) as u32,
        (title_h + 2 * cell_h + 10) as u32,
    );
    // Ink on paper: 1 is a full stroke, drawn black.
    let shade = |v: f32| 255 - (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    draw_png(path, size, |root| {
        draw_title(root, title)?;
        let rows = [("Original", originals), ("Reconstruction", reconstructions)];
        for (row, (label, pixels)) in rows.into_iter().enumerate() {
            let top = title_h + row * cell_h;
            root.draw(&Text::new(
                label.to_string(),
                (10, (top + cell_h / 2 - 8) as i32),
                (FONT, 18).into_font(),
            ))?;
            for (i, image) in images(pixels, height, width).take(count).enumerate() {
                draw_image(
                    root,
                    image,
                    width,
                    (label_w + i * cell_w, top),
                    scale,
                    shade,
                )?;
            }
        }
        Ok(())
    })
    .map_err(|e| cannot_draw(path, "image grid", e))
}

/// Most images a prediction grid shows, and its columns.
const GRID_IMAGES: usize = 12;
const GRID_COLUMNS: usize = 4;

/// Up to 12 images (the rest are left out) in a grid of 4 columns, each with its caption above
/// it (e.g. "Predicted 3, Class 5"), title across the top. `pixels` holds the images' bytes
/// back to back (0 = background, drawn black on white), each `height` x `width`; one caption
/// per image (images without a caption are left out). With no images it draws the title and
/// "none": a run can have no incorrect predictions.
pub fn prediction_grid(
    path: &Path,
    title: &str,
    pixels: &[u8],
    height: usize,
    width: usize,
    captions: &[String],
) -> anyhow::Result<()> {
    register_fonts();
    let caption_font = (FONT, 16).into_font();
    let count = images(pixels, height, width)
        .len()
        .min(captions.len())
        .min(GRID_IMAGES);
    let scale = image_scale(height, width);
    // Wide enough for the usual captions, wider for long ones, so neighbours never overlap.
    let widest_caption = captions[..count]
        .iter()
        .map(|c| caption_font.box_size(c).map_or(0, |(w, _)| w as usize))
        .max()
        .unwrap_or(0);
    let cell_w = (width * scale).max(widest_caption).max(200) + 20;
    let (caption_h, title_h) = (24, 50);
    let cell_h = caption_h + height * scale + 18;
    let body_h = match count.div_ceil(GRID_COLUMNS) {
        0 => 40, // the line "none"
        rows => rows * cell_h,
    };
    let size = (
        (20 + GRID_COLUMNS * cell_w) as u32,
        (title_h + body_h + 10) as u32,
    );
    draw_png(path, size, |root| {
        draw_title(root, title)?;
        if count == 0 {
            root.draw(&Text::new(
                "none",
                (10, title_h as i32),
                (FONT, 20).into_font(),
            ))?;
        }
        let centred = caption_font
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        let cells = images(pixels, height, width).zip(captions).take(count);
        for (i, (image, caption)) in cells.enumerate() {
            let left = 10 + (i % GRID_COLUMNS) * cell_w;
            let top = title_h + (i / GRID_COLUMNS) * cell_h;
            let centre = (left + cell_w / 2) as i32;
            root.draw(&Text::new(
                caption.as_str(),
                (centre, top as i32),
                centred.clone(),
            ))?;
            let image_left = left + (cell_w - width * scale) / 2;
            draw_image(
                root,
                image,
                width,
                (image_left, top + caption_h),
                scale,
                |v| 255 - v,
            )?;
        }
        Ok(())
    })
    .map_err(|e| cannot_draw(path, "image grid", e))
}

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
) -> anyhow::Result<()> {
    let layout = MatrixLayout::new(matrix.len());
    draw_png(path, layout.size(), |root| {
        draw_title(root, title)?;
        draw_cells(root, &layout, matrix)?;
        draw_matrix_axes(root, &layout)
    })
    .map_err(|e| cannot_draw(path, "plot", e))
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

    fn png_size(path: &Path) -> (u32, u32) {
        let image = image::open(path).expect("a readable PNG");
        (image.width(), image.height())
    }

    fn point(value: usize, scale: f64) -> ClassifierPoint {
        ClassifierPoint {
            value,
            loss: 0.30 * scale,
            val_loss: 0.35 * scale,
            accuracy: 1.0 - 0.05 * scale,
            val_accuracy: 1.0 - 0.07 * scale,
            train_seconds: 12.5 * scale,
        }
    }

    #[test]
    fn classifier_error_graph_writes_two_panel_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("L4_FCx_E10_B64.png");
        let points = [point(32, 1.0), point(64, 0.7), point(128, 0.5)];
        classifier_error_graph(
            &path,
            "L4_FCx_E10_B64",
            "FC units",
            "Final loss (cross-entropy)",
            &points,
        )
        .unwrap();
        assert_eq!(png_size(&path), WIDE_SIZE);
        // Only the finished PNG is left: no temp file beside it.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stage_curves_with_and_without_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let train = [0.9, 0.5, 0.4, 0.35, 0.2, 0.12, 0.1, 0.09];
        let valid = [0.8, 0.55, 0.45, 0.42, 0.3, 0.2, 0.19, 0.2];
        for (name, boundary) in [("staged.png", Some(4)), ("plain.png", None)] {
            let path = dir.path().join(name);
            stage_curves(
                &path,
                "Training and validation loss, L4_FC64_E4+4_B64",
                "Loss (cross-entropy)",
                "Training loss",
                "Validation loss",
                &train,
                &valid,
                boundary,
            )
            .unwrap();
            assert_eq!(png_size(&path), SIZE);
        }
        // The boundary's dashed line and note are drawn: the two charts differ.
        let pixels = |name: &str| image::open(dir.path().join(name)).unwrap().to_rgb8();
        assert_ne!(pixels("staged.png"), pixels("plain.png"));
    }

    #[test]
    fn stage_curves_survive_a_diverged_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("diverged.png");
        let train = [0.9, f64::INFINITY, f64::NAN];
        let valid = [0.8, 0.7, f64::NAN];
        stage_curves(&path, "diverged", "Loss", "a", "b", &train, &valid, Some(1)).unwrap();
        assert_eq!(png_size(&path), SIZE);
    }

    #[test]
    fn stage_curves_boundary_near_the_end_and_no_epochs() {
        let dir = tempfile::tempdir().unwrap();
        let accuracy = [0.80, 0.90, 0.93, 0.95, 0.97, 0.98];
        let path = dir.path().join("late.png");
        let (train, valid) = ("Accuracy", "Validation accuracy");
        stage_curves(
            &path,
            "late",
            "Accuracy",
            train,
            valid,
            &accuracy,
            &accuracy,
            Some(5),
        )
        .unwrap();
        assert_eq!(png_size(&path), SIZE);
        let path = dir.path().join("empty.png");
        stage_curves(&path, "empty", "Accuracy", train, valid, &[], &[], Some(3)).unwrap();
        assert_eq!(png_size(&path), SIZE);
    }

    /// `count` 28x28 images, image `i` a vertical bar of ink in column `i`.
    fn bars(count: usize) -> (Vec<u8>, Vec<String>) {
        let mut pixels = vec![0u8; count * 28 * 28];
        for i in 0..count {
            for y in 0..28 {
                pixels[i * 784 + y * 28 + 4 + i] = 255;
            }
        }
        let captions = (0..count)
            .map(|i| format!("Predicted {}, Class {}", i % 10, (i + 3) % 10))
            .collect();
        (pixels, captions)
    }

    #[test]
    fn prediction_grid_with_twelve_images() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("incorrect.png");
        let (pixels, captions) = bars(12);
        prediction_grid(&path, "Incorrect predictions", &pixels, 28, 28, &captions).unwrap();
        // 4 columns of 220 pixels; a 50-pixel title and 3 rows of 24 + 112 + 18.
        assert_eq!(png_size(&path), (900, 522));
        // The first image's ink (column 4, scale 4) is black; its background is white.
        let image = image::open(&path).unwrap().to_rgb8();
        let image_left = 10 + (220 - 112) / 2;
        assert_eq!(
            image
                .get_pixel(image_left as u32 + 4 * 4 + 1, 50 + 24 + 50)
                .0,
            [0, 0, 0]
        );
        assert_eq!(
            image.get_pixel(image_left as u32 + 1, 50 + 24 + 50).0,
            [255, 255, 255]
        );
    }

    #[test]
    fn prediction_grid_with_no_images_says_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.png");
        prediction_grid(&path, "Incorrect predictions", &[], 28, 28, &[]).unwrap();
        assert_eq!(png_size(&path), (900, 100));
    }

    #[test]
    fn prediction_grid_leaves_out_extra_images() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("many.png");
        let (pixels, captions) = bars(14);
        prediction_grid(&path, "First 12", &pixels, 28, 28, &captions).unwrap();
        assert_eq!(png_size(&path), (900, 522));
    }

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

    #[test]
    fn reconstruction_grid_writes_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reconstructions.png");
        let originals = vec![0.5f32; 3 * 28 * 28];
        let reconstructions = vec![1.0f32; 3 * 28 * 28];
        reconstruction_grid(
            &path,
            "Reconstructions",
            &originals,
            &reconstructions,
            28,
            28,
        )
        .unwrap();
        assert_eq!(png_size(&path), (170 + 3 * 120 + 10, 50 + 2 * 120 + 10));
    }

    #[test]
    fn unwritable_path_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("plot.png");
        let error = stage_curves(&path, "t", "y", "a", "b", &[1.0], &[1.0], None).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("{}: cannot draw plot:", path.display()))
        );
    }
}
