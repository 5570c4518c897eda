//! Line charts: per-epoch training curves and error graphs (final figures against one
//! hyperparameter). They take plain numbers, not training types.

use std::ops::Range;
use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{Area, FONT, PlotResult, draw_legend, draw_png, title_font};
use crate::exit::WriteError;

/// One chart alone.
const SIZE: (u32, u32) = (900, 600);
/// Each of several charts side by side.
const PANEL_WIDTH: u32 = 700;

/// A training figure and its validation figure, one value per epoch or per run.
#[derive(Clone, Copy, Debug)]
pub struct Pair<'a> {
    /// The legend's names: ("Training loss", "Validation loss").
    pub labels: (&'static str, &'static str),
    pub train: &'a [f64],
    pub valid: &'a [f64],
}

/// What an epoch chart marks besides its lines (epochs numbered from 1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpochMarks {
    /// The last epoch of stage 1, when a stage 2 follows.
    pub boundary: Option<usize>,
    /// Epochs whose weights a stage kept when they were not simply its last: ringed on
    /// the validation line, noted "kept".
    pub kept: Vec<usize>,
    /// The last epochs of stages that stopped before their planned end: noted there.
    pub stopped: Vec<usize>,
}

/// Both lines of `pair` over epochs 1..=n, the y axis titled `y_desc` (e.g. "Loss (MSE)"),
/// saved as a 900x600 PNG at `path`, with `marks`: a stage boundary at k is a dashed grey
/// line at k + 0.5 saying "encoder unfrozen".
pub fn epoch_curves(
    path: &Path,
    title: &str,
    y_desc: &str,
    pair: Pair,
    marks: &EpochMarks,
) -> Result<(), WriteError> {
    let epochs = pair.train.len().max(pair.valid.len());
    let on_validation = |epoch: usize| {
        let y = pair.valid.get(epoch.wrapping_sub(1)).copied();
        y.filter(|y| y.is_finite()).map(|y| (epoch as f64, y))
    };
    let noted = |epochs: &[usize], note: &str| -> Vec<(String, (f64, f64))> {
        let points = epochs.iter().filter_map(|&epoch| on_validation(epoch));
        points.map(|at| (note.to_string(), at)).collect()
    };
    let mut notes = noted(&marks.kept, "kept");
    notes.extend(noted(&marks.stopped, "stopped early"));
    let spec = ChartSpec {
        caption: Some(title.to_string()),
        x_desc: "Epoch".into(),
        y_desc: y_desc.to_string(),
        x_range: 0.5..epochs.max(1) as f64 + 0.5,
        x_labels: epochs.clamp(2, 12),
        x_axis: XAxis::Whole,
        notes,
        rings: marks
            .kept
            .iter()
            .filter_map(|&e| on_validation(e))
            .collect(),
        marker: marks.boundary.map(|k| Marker {
            x: k as f64 + 0.5,
            note: "encoder unfrozen",
        }),
    };
    let lines = line_pair(&pair, (1..).map(f64::from));
    draw_png(path, "draw plot", SIZE, |root| {
        draw_chart(root, &spec, &lines)
    })
}

/// One panel of an error graph: a final figure of every run, training and validation.
#[derive(Clone, Copy, Debug)]
pub struct ErrorPanel<'a> {
    /// What the panel shows, for the title: "loss", "accuracy".
    pub name: &'static str,
    /// The y axis: "Final loss (MSE)".
    pub y_desc: &'a str,
    pub pair: Pair<'a>,
}

/// How an error graph's x axis shows the values of the hyperparameter it varies.
#[derive(Clone, Debug, PartialEq)]
pub enum XAxis {
    /// Whole numbers, labelled at whole ticks.
    Whole,
    /// Decimals, labelled as they are.
    Linear,
    /// Decimals spread by their logarithm (the points' x is log10 of the value), labelled
    /// at each power of ten: 1e-4, 1e-3.
    Log,
    /// Named choices at 0, 1, 2, ..., labelled with their names.
    Names(Vec<String>),
}

impl XAxis {
    fn label(&self, x: f64) -> String {
        let whole = (x - x.round()).abs() < 1e-9;
        match self {
            Self::Whole if whole => format!("{x:.0}"),
            Self::Linear => format!("{}", (x * 1e9).round() / 1e9),
            Self::Log if whole => format!("1e{x:.0}"),
            Self::Names(names) if whole && x >= 0.0 => {
                names.get(x.round() as usize).cloned().unwrap_or_default()
            }
            _ => String::new(),
        }
    }
}

/// Runs' final figures against the values of the hyperparameter they vary (`xs[i]` is run
/// i's value where `axis` puts it), one panel per figure side by side, each run's training
/// time (`seconds[i]`) written by its point on the first panel; saved as a PNG at `path`
/// (900x600 for one panel, 700 wide per panel for more).
pub fn error_graph(
    path: &Path,
    run_name: &str,
    param_label: &str,
    xs: &[f64],
    axis: &XAxis,
    seconds: &[f64],
    panels: &[ErrorPanel],
) -> Result<(), WriteError> {
    let total: f64 = seconds.iter().sum();
    let names: Vec<&str> = panels.iter().map(|p| p.name).collect();
    let caption = format!(
        "{run_name}: {} against {param_label} (training time {} in all)",
        names.join(" and "),
        duration(total)
    );
    let xs = xs.iter().copied();
    let charts: Vec<(ChartSpec, [Line; 2])> = panels
        .iter()
        .enumerate()
        .map(|(i, panel)| {
            let notes = match i {
                0 => seconds
                    .iter()
                    .zip(xs.clone().zip(panel.pair.valid))
                    .map(|(&s, (x, &y))| (duration(s), (x, y)))
                    .collect(),
                _ => Vec::new(),
            };
            let spec = ChartSpec {
                caption: None,
                x_desc: param_label.to_string(),
                y_desc: panel.y_desc.to_string(),
                x_range: value_range(xs.clone(), axis),
                x_labels: 10,
                x_axis: axis.clone(),
                notes,
                rings: Vec::new(),
                marker: None,
            };
            (spec, line_pair(&panel.pair, xs.clone()))
        })
        .collect();
    let size = match charts.len() {
        0 | 1 => SIZE,
        n => (PANEL_WIDTH * n as u32, SIZE.1),
    };
    draw_png(path, "draw plot", size, |root| {
        let body = root.titled(&caption, title_font(&caption, size.0 - 20))?;
        for (area, (spec, lines)) in body
            .split_evenly((1, charts.len().max(1)))
            .iter()
            .zip(&charts)
        {
            draw_chart(area, spec, lines)?;
        }
        Ok(())
    })
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
    x_axis: XAxis,
    /// Small labels placed at points (e.g. training times).
    notes: Vec<(String, (f64, f64))>,
    /// Points circled to stand out (kept epochs).
    rings: Vec<(f64, f64)>,
    marker: Option<Marker>,
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
        let width = area.dim_in_pixel().0.saturating_sub(40);
        builder.caption(caption, title_font(caption, width));
    }
    let mut chart = builder.build_cartesian_2d(spec.x_range.clone(), y_range.clone())?;
    chart
        .configure_mesh()
        .x_desc(&spec.x_desc)
        .y_desc(&spec.y_desc)
        .axis_desc_style((FONT, 20))
        .label_style((FONT, 16))
        .x_labels(spec.x_labels)
        .x_label_formatter(&|x| spec.x_axis.label(*x))
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
    chart.draw_series(
        spec.rings
            .iter()
            .map(|&at| Circle::new(at, 10, BLACK.stroke_width(2))),
    )?;
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
    draw_legend(&mut chart, 18, legend_at)?;
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
fn duration(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.1} s")
    } else {
        format!("{value:.0} s")
    }
}

/// The two lines every chart shows: a training figure in blue, its validation figure in red,
/// over the same x values.
fn line_pair(pair: &Pair, xs: impl Iterator<Item = f64> + Clone) -> [Line; 2] {
    let at = |ys: &[f64]| xs.clone().zip(ys.iter().copied()).collect();
    [
        Line {
            label: pair.labels.0,
            color: BLUE,
            points: at(pair.train),
        },
        Line {
            label: pair.labels.1,
            color: RED,
            points: at(pair.valid),
        },
    ]
}
/// The x range of an error graph: the hyperparameter's values with some room either side
/// (at least one whole step where steps are whole: a number, a power of ten, a choice).
fn value_range(values: impl Iterator<Item = f64>, axis: &XAxis) -> Range<f64> {
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if low > high {
        return 0.0..1.0; // no points: an empty chart rather than an infinite axis
    }
    let least = match axis {
        XAxis::Linear => (high.abs() * 0.1).max(1e-9),
        _ => 1.0,
    };
    let pad = ((high - low) * 0.1).max(least);
    low - pad..high + pad
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::canvas::tests::png_size;

    const LOSS: (&str, &str) = ("Training loss", "Validation loss");

    fn pair<'a>(train: &'a [f64], valid: &'a [f64]) -> Pair<'a> {
        Pair {
            labels: LOSS,
            train,
            valid,
        }
    }

    #[test]
    fn error_graphs_have_a_panel_per_figure() {
        let dir = tempfile::tempdir().unwrap();
        let (values, seconds) = ([32.0, 64.0, 128.0], [12.5, 8.0, 6.1]);
        let (loss, val_loss) = ([0.30, 0.21, 0.15], [0.35, 0.25, 0.18]);
        let (accuracy, val_accuracy) = ([0.95, 0.96, 0.97], [0.93, 0.95, 0.96]);
        let loss_panel = ErrorPanel {
            name: "loss",
            y_desc: "Final loss (cross-entropy)",
            pair: pair(&loss, &val_loss),
        };
        let accuracy_panel = ErrorPanel {
            name: "accuracy",
            y_desc: "Final accuracy",
            pair: Pair {
                labels: ("Accuracy", "Validation accuracy"),
                train: &accuracy,
                valid: &val_accuracy,
            },
        };
        let one = dir.path().join("L4_FS3_FLx_E10_B64.png");
        error_graph(
            &one,
            "L4_FS3_FLx_E10_B64",
            "Filters",
            &values,
            &XAxis::Whole,
            &seconds,
            &[loss_panel],
        )
        .unwrap();
        assert_eq!(png_size(&one), SIZE);
        let two = dir.path().join("L4_FCx_E10_B64.png");
        let panels = [loss_panel, accuracy_panel];
        error_graph(
            &two,
            "L4_FCx_E10_B64",
            "FC units",
            &values,
            &XAxis::Whole,
            &seconds,
            &panels,
        )
        .unwrap();
        assert_eq!(png_size(&two), (1400, 600));
        // A learning rate's values on a log axis, and named choices.
        let log = dir.path().join("L4_FC32_E10_B64_LRx.png");
        let rates = [1e-4f64, 1e-3, 1e-2].map(f64::log10);
        error_graph(
            &log,
            "L4_FC32_E10_B64_LRx",
            "Learning rate",
            &rates,
            &XAxis::Log,
            &seconds,
            &[loss_panel],
        )
        .unwrap();
        assert_eq!(png_size(&log), SIZE);
        assert_eq!(XAxis::Log.label(-3.0), "1e-3");
        assert_eq!(XAxis::Log.label(-2.5), "");
        let names = XAxis::Names(vec!["constant".into(), "cosine".into()]);
        assert_eq!(
            (names.label(1.0), names.label(2.0)),
            ("cosine".into(), "".into())
        );
        assert_eq!(XAxis::Linear.label(0.25), "0.25");
        // Only the finished PNGs are left: no temp file beside them.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn epoch_curves_with_and_without_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let train = [0.9, 0.5, 0.4, 0.35, 0.2, 0.12, 0.1, 0.09];
        let valid = [0.8, 0.55, 0.45, 0.42, 0.3, 0.2, 0.19, 0.2];
        let staged = EpochMarks {
            boundary: Some(4),
            ..EpochMarks::default()
        };
        let kept = EpochMarks {
            kept: vec![3, 7],
            stopped: vec![8],
            ..staged.clone()
        };
        for (name, marks) in [
            ("staged.png", staged),
            ("plain.png", EpochMarks::default()),
            ("kept.png", kept),
        ] {
            let path = dir.path().join(name);
            let title = "Training and validation loss, L4_FC64_E4+4_B64";
            epoch_curves(&path, title, "Loss", pair(&train, &valid), &marks).unwrap();
            assert_eq!(png_size(&path), SIZE);
        }
        // The boundary's dashed line and note are drawn, and the kept epochs' rings and
        // notes: the charts differ.
        let pixels = |name: &str| image::open(dir.path().join(name)).unwrap().to_rgb8();
        assert_ne!(pixels("staged.png"), pixels("plain.png"));
        assert_ne!(pixels("kept.png"), pixels("staged.png"));
    }

    #[test]
    fn a_long_title_stays_inside_the_picture() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.png");
        let title = "Training and validation loss, \
            L2_FS3_FL4_E7_B32_LR3e-2_SCHplateau_PP1_Kbest_P3_SH1e-1_ROT10_Z1e-1_N1e-1";
        let (train, valid) = ([0.9, 0.5, 0.4], [0.8, 0.6, 0.5]);
        epoch_curves(
            &path,
            title,
            "Loss",
            pair(&train, &valid),
            &EpochMarks::default(),
        )
        .unwrap();
        // The title is drawn in the top 40 rows; its text must not touch either edge.
        let pixels = image::open(&path).unwrap().to_rgb8();
        let dark = |x: u32| (0..40).any(|y| pixels.get_pixel(x, y).0.iter().all(|&c| c < 128));
        assert!((0..SIZE.0).any(dark), "no title drawn");
        assert!(
            !(0..8).chain(SIZE.0 - 8..SIZE.0).any(dark),
            "the title is cut off"
        );
    }

    #[test]
    fn epoch_curves_survive_a_diverged_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("diverged.png");
        let train = [0.9, f64::INFINITY, f64::NAN];
        let valid = [0.8, 0.7, f64::NAN];
        let marks = EpochMarks {
            boundary: Some(1),
            kept: vec![3],
            stopped: vec![3, 9],
        };
        epoch_curves(&path, "diverged", "Loss", pair(&train, &valid), &marks).unwrap();
        assert_eq!(png_size(&path), SIZE);
    }

    #[test]
    fn epoch_curves_boundary_near_the_end_and_no_epochs() {
        let dir = tempfile::tempdir().unwrap();
        let accuracy = [0.80, 0.90, 0.93, 0.95, 0.97, 0.98];
        let path = dir.path().join("late.png");
        let rising = pair(&accuracy, &accuracy);
        let late = EpochMarks {
            boundary: Some(5),
            ..EpochMarks::default()
        };
        epoch_curves(&path, "late", "Accuracy", rising, &late).unwrap();
        assert_eq!(png_size(&path), SIZE);
        let path = dir.path().join("empty.png");
        epoch_curves(&path, "empty", "Accuracy", pair(&[], &[]), &late).unwrap();
        assert_eq!(png_size(&path), SIZE);
    }
}
