//! Classification metrics as scikit-learn reports them (`classification_report` with
//! `zero_division=0`, `confusion_matrix`), so numbers and text compare directly with the original report's.

/// One class's row of the report.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassScores {
    pub class: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// An averaged row (macro or weighted).
#[derive(Clone, Debug, PartialEq)]
pub struct Averages {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// Per-class precision, recall and F1, accuracy, and their macro and weighted averages.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassificationReport {
    /// One per class `0..classes`, even classes with support 0.
    pub classes: Vec<ClassScores>,
    pub correct: usize,
    pub total: usize,
    pub accuracy: f64,
    pub macro_avg: Averages,
    pub weighted_avg: Averages,
}

/// Decimals in the text report, as sklearn's default `digits=2`.
const DIGITS: usize = 2;
const HEADERS: [&str; 4] = ["precision", "recall", "f1-score", "support"];
/// The longest row label sklearn prints; it sets the label column's width.
const LONGEST_HEADING: &str = "weighted avg";

impl ClassificationReport {
    /// `predicted[i]` and `actual[i]` are class indices `< classes`; a pair with an index out
    /// of range cannot be placed in any row, so it is left out everywhere (as sklearn does with
    /// labels outside `labels=`). Panics only on a length mismatch (a bug).
    pub fn new(predicted: &[usize], actual: &[usize], classes: usize) -> Self {
        let matrix = confusion_matrix(predicted, actual, classes);
        let rows: Vec<ClassScores> = (0..classes).map(|c| class_scores(&matrix, c)).collect();
        let correct = (0..classes).map(|c| matrix[c][c]).sum();
        let total = rows.iter().map(|r| r.support).sum();
        Self {
            macro_avg: average(&rows, |_| 1.0),
            weighted_avg: average(&rows, |r| r.support as f64),
            classes: rows,
            correct,
            total,
            accuracy: ratio(correct, total),
        }
    }

    pub fn incorrect(&self) -> usize {
        self.total - self.correct
    }

    /// scikit-learn's `classification_report` layout, two decimals, e.g.
    /// ```text
    ///               precision    recall  f1-score   support
    ///
    ///            0       0.99      0.99      0.99       980
    ///  ...
    ///     accuracy                           0.99     10000
    ///    macro avg       0.99      0.99      0.99     10000
    /// weighted avg       0.99      0.99      0.99     10000
    /// ```
    pub fn to_text(&self) -> String {
        let names: Vec<String> = self.classes.iter().map(|r| r.class.to_string()).collect();
        let width = names
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(0)
            .max(LONGEST_HEADING.len())
            .max(DIGITS);
        // Each column is a space and a 9-wide field, after the label and one space.
        let mut text = format!("{:>width$} ", "");
        for header in HEADERS {
            text += &format!(" {header:>9}");
        }
        text += "\n\n";
        for (name, r) in names.iter().zip(&self.classes) {
            text += &row(name, width, [r.precision, r.recall, r.f1], r.support);
        }
        text += "\n";
        text += &format!(
            "{:>width$}  {:>9} {:>9} {:>9.DIGITS$} {:>9}\n",
            "accuracy", "", "", self.accuracy, self.total
        );
        for (label, avg) in [
            ("macro avg", &self.macro_avg),
            ("weighted avg", &self.weighted_avg),
        ] {
            text += &row(
                label,
                width,
                [avg.precision, avg.recall, avg.f1],
                avg.support,
            );
        }
        text
    }
}

/// One line of the text report: label, three scores and a count.
fn row(label: &str, width: usize, scores: [f64; 3], support: usize) -> String {
    let [p, r, f] = scores;
    format!("{label:>width$}  {p:>9.DIGITS$} {r:>9.DIGITS$} {f:>9.DIGITS$} {support:>9}\n")
}

/// Counts: `matrix[actual][predicted]`, classes x classes. Pairs with an index `>= classes`
/// are left out. Panics only on a length mismatch (a bug).
pub fn confusion_matrix(predicted: &[usize], actual: &[usize], classes: usize) -> Vec<Vec<usize>> {
    assert_eq!(
        predicted.len(),
        actual.len(),
        "confusion_matrix: {} predictions for {} labels",
        predicted.len(),
        actual.len()
    );
    let mut matrix = vec![vec![0; classes]; classes];
    for (&p, &a) in predicted.iter().zip(actual) {
        if p < classes && a < classes {
            matrix[a][p] += 1;
        }
    }
    matrix
}

/// A class's scores from the confusion matrix; zero where sklearn's `zero_division=0` gives zero.
fn class_scores(matrix: &[Vec<usize>], class: usize) -> ClassScores {
    let hits = matrix[class][class];
    let predicted = matrix.iter().map(|row| row[class]).sum();
    let support = matrix[class].iter().sum();
    let precision = ratio(hits, predicted);
    let recall = ratio(hits, support);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    ClassScores {
        class,
        precision,
        recall,
        f1,
        support,
    }
}

/// Mean of the rows' scores under `weight`; zeros when the weights sum to zero (no rows, or
/// no samples for the weighted mean), as sklearn does.
fn average(rows: &[ClassScores], weight: impl Fn(&ClassScores) -> f64) -> Averages {
    let total_weight: f64 = rows.iter().map(&weight).sum();
    let mean = |score: fn(&ClassScores) -> f64| {
        if total_weight > 0.0 {
            rows.iter().map(|r| weight(r) * score(r)).sum::<f64>() / total_weight
        } else {
            0.0
        }
    };
    Averages {
        precision: mean(|r| r.precision),
        recall: mean(|r| r.recall),
        f1: mean(|r| r.f1),
        support: rows.iter().map(|r| r.support).sum(),
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-12,
            "{actual} is not {expected}"
        );
    }

    // Three classes, ten samples:
    //   actual    0 0 0 0 1 1 1 2 2 2
    //   predicted 0 0 1 2 1 1 0 2 2 1
    // Confusion matrix (rows actual, columns predicted):
    //   [2 1 1]   support 4
    //   [1 2 0]   support 3
    //   [0 1 2]   support 3
    //   column sums (times predicted): 3 4 3
    // class 0: P = 2/3, R = 2/4 = 1/2, F1 = 2(1/3)/(7/6) = 4/7
    // class 1: P = 2/4 = 1/2, R = 2/3, F1 = 4/7
    // class 2: P = 2/3, R = 2/3, F1 = 2/3
    // accuracy = (2 + 2 + 2) / 10 = 0.6
    // macro:    P = (2/3 + 1/2 + 2/3)/3 = 11/18, R = 11/18, F1 = (4/7 + 4/7 + 2/3)/3 = 38/63
    // weighted: P = (4·2/3 + 3·1/2 + 3·2/3)/10 = (37/6)/10 = 37/60,
    //           R = (4·1/2 + 3·2/3 + 3·2/3)/10 = 6/10 (weighted recall is always accuracy),
    //           F1 = (4·4/7 + 3·4/7 + 3·2/3)/10 = (4 + 2)/10 = 6/10
    const ACTUAL: [usize; 10] = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
    const PREDICTED: [usize; 10] = [0, 0, 1, 2, 1, 1, 0, 2, 2, 1];

    #[test]
    fn three_classes_match_hand_calculation() {
        let report = ClassificationReport::new(&PREDICTED, &ACTUAL, 3);
        let expected = [
            (2.0 / 3.0, 1.0 / 2.0, 4.0 / 7.0, 4),
            (1.0 / 2.0, 2.0 / 3.0, 4.0 / 7.0, 3),
            (2.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0, 3),
        ];
        assert_eq!(report.classes.len(), 3);
        for (i, (row, (p, r, f1, support))) in report.classes.iter().zip(expected).enumerate() {
            assert_eq!(row.class, i);
            assert_close(row.precision, p);
            assert_close(row.recall, r);
            assert_close(row.f1, f1);
            assert_eq!(row.support, support);
        }
        assert_eq!(
            (report.correct, report.total, report.incorrect()),
            (6, 10, 4)
        );
        assert_close(report.accuracy, 0.6);
        assert_close(report.macro_avg.precision, 11.0 / 18.0);
        assert_close(report.macro_avg.recall, 11.0 / 18.0);
        assert_close(report.macro_avg.f1, 38.0 / 63.0);
        assert_eq!(report.macro_avg.support, 10);
        assert_close(report.weighted_avg.precision, 37.0 / 60.0);
        assert_close(report.weighted_avg.recall, 0.6);
        assert_close(report.weighted_avg.f1, 0.6);
        assert_eq!(report.weighted_avg.support, 10);
    }

    #[test]
    fn text_matches_sklearn_layout() {
        // sklearn's format: label right-aligned to width 12 ("weighted avg"), one space, then
        // per column a space and a 9-wide right-aligned field; the accuracy row leaves the
        // precision and recall fields blank.
        let expected = "              precision    recall  f1-score   support\n\
                        \n\
                        \x20          0       0.67      0.50      0.57         4\n\
                        \x20          1       0.50      0.67      0.57         3\n\
                        \x20          2       0.67      0.67      0.67         3\n\
                        \n\
                        \x20   accuracy                           0.60        10\n\
                        \x20  macro avg       0.61      0.61      0.60        10\n\
                        weighted avg       0.62      0.60      0.60        10\n";
        let report = ClassificationReport::new(&PREDICTED, &ACTUAL, 3);
        assert_eq!(report.to_text(), expected);
    }

    #[test]
    fn text_rounds_ties_to_even_as_python_does() {
        // Class 0 predicted 8 times, right once: precision exactly 0.125, which Python's
        // "{:.2f}" prints as 0.12 (the binary value is an exact tie; half to even).
        let predicted = [0, 0, 0, 0, 0, 0, 0, 0];
        let actual = [0, 1, 1, 1, 1, 1, 1, 1];
        let text = ClassificationReport::new(&predicted, &actual, 2).to_text();
        let class_0 = text.lines().nth(2).unwrap();
        assert_eq!(
            class_0,
            "           0       0.12      1.00      0.22         1"
        );
    }

    #[test]
    fn class_never_predicted_scores_zero() {
        // Class 2 has support 2 but is never predicted: precision 0 (zero_division=0),
        // recall 0, F1 0. Class 1 is predicted but has no support: recall 0.
        let actual = [0, 0, 2, 2];
        let predicted = [0, 0, 1, 0];
        let report = ClassificationReport::new(&predicted, &actual, 3);
        let never = &report.classes[2];
        assert_eq!((never.precision, never.recall, never.f1), (0.0, 0.0, 0.0));
        assert_eq!(never.support, 2);
        let unsupported = &report.classes[1];
        assert_eq!(
            (
                unsupported.precision,
                unsupported.recall,
                unsupported.support
            ),
            (0.0, 0.0, 0)
        );
        // Class 0: P = 2/3, R = 1, F1 = 0.8; the macro mean still counts all three classes.
        assert_close(report.classes[0].f1, 0.8);
        assert_close(report.macro_avg.f1, 0.8 / 3.0);
        assert_close(report.weighted_avg.f1, (2.0 * 0.8) / 4.0);
        assert_close(report.accuracy, 0.5);
    }

    #[test]
    fn confusion_matrix_counts_actual_by_predicted() {
        let matrix = confusion_matrix(&PREDICTED, &ACTUAL, 3);
        assert_eq!(matrix, vec![vec![2, 1, 1], vec![1, 2, 0], vec![0, 1, 2]]);
    }

    #[test]
    fn out_of_range_and_empty_inputs_do_not_panic() {
        let matrix = confusion_matrix(&[0, 5], &[7, 1], 2);
        assert_eq!(matrix, vec![vec![0, 0], vec![0, 0]]);
        let empty = ClassificationReport::new(&[], &[], 10);
        assert_eq!(
            (empty.total, empty.accuracy, empty.weighted_avg.f1),
            (0, 0.0, 0.0)
        );
        assert!(empty.to_text().contains("weighted avg"));
    }

    #[test]
    #[should_panic(expected = "predictions for")]
    fn length_mismatch_panics() {
        confusion_matrix(&[0, 1], &[0], 2);
    }
}
