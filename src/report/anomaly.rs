//! Anomaly scores read as a person and a benchmark read them: the ROC curve and its area
//! (as scikit-learn's `roc_curve` and `roc_auc_score` compute them), a histogram of the
//! scores per group, and the ROC curve drawn.

use std::path::Path;

use plotters::prelude::*;

use super::canvas::{FONT, draw_legend, draw_png, title_font};
use crate::exit::WriteError;

/// A ROC curve: (false-positive rate, true-positive rate) from (0, 0) to (1, 1), a point
/// per distinct score, and the area under it.
#[derive(Clone, Debug, PartialEq)]
pub struct Roc {
    pub points: Vec<(f64, f64)>,
    pub auc: f64,
}

/// The ROC curve of telling `positive` items from the others by `scores` (higher: more
/// likely positive); `None` unless both kinds are present. Tied scores make one step, so
/// the area counts a tie between a positive and a negative as half (Mann-Whitney).
pub fn roc(scores: &[f64], positive: &[bool]) -> Option<Roc> {
    assert_eq!(scores.len(), positive.len(), "a score per item");
    let positives = positive.iter().filter(|&&p| p).count();
    let negatives = positive.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut points = vec![(0.0, 0.0)];
    let (mut true_pos, mut false_pos) = (0usize, 0usize);
    for (rank, &item) in order.iter().enumerate() {
        if positive[item] {
            true_pos += 1;
        } else {
            false_pos += 1;
        }
        let last_of_tie = order
            .get(rank + 1)
            .is_none_or(|&next| scores[next] != scores[item]);
        if last_of_tie {
            points.push((
                false_pos as f64 / negatives as f64,
                true_pos as f64 / positives as f64,
            ));
        }
    }
    let auc = points
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
        .sum();
    Some(Roc { points, auc })
}

/// Bins of a histogram.
const BINS: usize = 50;
const SIZE: (u32, u32) = (900, 600);

/// One outline per group (name, scores) over shared bins from 0 to the largest score shown
/// (the 99.5th percentile of all, so that a few huge errors do not squash the rest), each
/// bar the share of its group's items, so groups of any size compare.
pub fn histogram_chart(
    path: &Path,
    title: &str,
    x_desc: &str,
    groups: &[(String, Vec<f64>)],
) -> Result<(), WriteError> {
    let mut all: Vec<f64> = groups
        .iter()
        .flat_map(|(_, scores)| scores.iter().copied())
        .filter(|s| s.is_finite())
        .collect();
    all.sort_by(f64::total_cmp);
    let top = all
        .get(((all.len() as f64 * 0.995) as usize).min(all.len().saturating_sub(1)))
        .copied()
        .filter(|&top| top > 0.0)
        .unwrap_or(1.0);
    let width = top / BINS as f64;
    let shares: Vec<Vec<f64>> = groups
        .iter()
        .map(|(_, scores)| {
            let mut counts = vec![0usize; BINS];
            for &score in scores.iter().filter(|s| s.is_finite()) {
                counts[((score / width) as usize).min(BINS - 1)] += 1;
            }
            let total = scores.len().max(1) as f64;
            counts.iter().map(|&c| c as f64 / total).collect()
        })
        .collect();
    let highest = shares.iter().flatten().copied().fold(0.0, f64::max);
    draw_png(path, "draw histogram", SIZE, |root| {
        let caption_width = SIZE.0 - 40;
        let mut chart = ChartBuilder::on(root)
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .caption(title, title_font(title, caption_width))
            .build_cartesian_2d(0.0..top, 0.0..(highest * 1.1).max(1e-9))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc("Share of the group's images")
            .axis_desc_style((FONT, 20))
            .label_style((FONT, 16))
            .x_label_formatter(&|x| format!("{x:.4}"))
            .y_label_formatter(&|y| format!("{y:.2}"))
            .draw()?;
        for (i, ((name, _), shares)) in groups.iter().zip(&shares).enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let mut outline = vec![(0.0, 0.0)];
            for (bin, &share) in shares.iter().enumerate() {
                outline.push((bin as f64 * width, share));
                outline.push(((bin + 1) as f64 * width, share));
            }
            outline.push((top, 0.0));
            chart
                .draw_series(LineSeries::new(outline, color.stroke_width(2)))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
                });
        }
        draw_legend(&mut chart, 16, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

/// The ROC curve with chance's diagonal, its area in the title.
pub fn roc_chart(path: &Path, title: &str, roc: &Roc) -> Result<(), WriteError> {
    draw_png(path, "draw ROC curve", SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .caption(title, title_font(title, SIZE.0 - 40))
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc("False-positive rate")
            .y_desc("True-positive rate")
            .axis_desc_style((FONT, 20))
            .label_style((FONT, 16))
            .draw()?;
        chart.draw_series(DashedLineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            8,
            6,
            BLACK.mix(0.45).stroke_width(2),
        ))?;
        chart
            .draw_series(LineSeries::new(roc.points.clone(), BLUE.stroke_width(2)))?
            .label(format!("ROC, AUC {:.4}", roc.auc))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLUE.stroke_width(2)));
        draw_legend(&mut chart, 18, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scikit-learn's `roc_auc_score` example: y_true [0, 0, 1, 1], scores
    /// [0.1, 0.4, 0.35, 0.8] give 0.75.
    #[test]
    fn the_area_is_scikit_learns() {
        let roc = roc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();
        assert_eq!(roc.auc, 0.75);
        assert_eq!(
            roc.points,
            [(0.0, 0.0), (0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (1.0, 1.0)]
        );
    }

    #[test]
    fn a_tie_counts_half_and_one_kind_alone_has_no_curve() {
        let roc = roc(&[0.5, 0.5], &[true, false]).unwrap();
        assert_eq!(roc.auc, 0.5);
        assert_eq!(roc.points, [(0.0, 0.0), (1.0, 1.0)]);
        assert_eq!(super::roc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn both_charts_are_drawn() {
        let dir = tempfile::tempdir().unwrap();
        let groups = vec![
            ("digit 3".to_string(), vec![0.01, 0.02, 0.02, 0.03]),
            (
                "the others".to_string(),
                vec![0.02, 0.05, 0.08, f64::INFINITY],
            ),
        ];
        let histogram = dir.path().join("histogram.png");
        histogram_chart(&histogram, "errors", "MSE", &groups).unwrap();
        let curve = roc(&[0.01, 0.02, 0.05, 0.08], &[false, false, true, true]).unwrap();
        let path = dir.path().join("roc.png");
        roc_chart(&path, "ROC", &curve).unwrap();
        assert!(histogram.exists() && path.exists());
    }
}
