//! Backpropagation through time: ‖∂L/∂h_t‖ and ‖h_t‖ of the top recurrent
//! layer against the time step, on the fixed probe batch, at initialization
//! and after training. One panel per configuration, one line per stored
//! epoch (at most six, light to dark), on a log axis: a gradient that
//! vanishes or explodes with distance from the loss is a straight line.
//! Where the caller has a mean-field prediction of ‖∂L/∂h_t‖ at
//! initialization, the gradient figure draws it as one more line.

use initlab_train::RunRecord;
use plotters::prelude::*;

use super::hist::ConfigRun;
use super::multiples::{Line, LinePanel, Lines, YAxis};
use super::style::Swatch;

/// At most this many epochs per panel: more lines of one hue stop reading.
const MAX_LINES: usize = 6;

/// `rows` of a `[rows, T]` tensor, or `None` when the run has no such tensor.
fn bptt<'a>(run: &'a RunRecord, name: &str) -> Option<(usize, usize, &'a [f32])> {
    let t = run.bptt.iter().find(|t| t.name == name)?;
    match t.shape.as_slice() {
        [rows, steps] if rows * steps == t.values.len() && *steps > 0 => {
            Some((*rows, *steps, &t.values))
        }
        _ => None,
    }
}

/// Whether any run stored BPTT norms.
pub(crate) fn has_bptt(records: &[RunRecord]) -> bool {
    records
        .iter()
        .any(|r| bptt(r, "grad_h_norm").is_some() || bptt(r, "h_norm").is_some())
}

/// Which of `rows` stored rows (0 = initialization) to draw: the first, the
/// last, and evenly spaced ones between.
fn chosen_rows(rows: usize) -> Vec<usize> {
    if rows <= MAX_LINES {
        return (0..rows).collect();
    }
    let mut out: Vec<usize> = (0..MAX_LINES)
        .map(|k| (k * (rows - 1) + (MAX_LINES - 1) / 2) / (MAX_LINES - 1))
        .collect();
    out.dedup();
    out
}

/// Light blue at initialization to dark blue at the end.
fn shade(k: usize, of: usize) -> RGBColor {
    let t = if of <= 1 {
        1.0
    } else {
        k as f64 / (of - 1) as f64
    };
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(mix(150.0, 8.0), mix(190.0, 40.0), mix(235.0, 110.0))
}

fn row_name(row: usize) -> String {
    if row == 0 {
        "at initialization".into()
    } else {
        format!("after epoch {row}")
    }
}

/// The colour of the predicted line: vermillion, apart from the blues.
const PREDICTED: RGBColor = RGBColor(213, 94, 0);

/// How far beyond the measured norms a predicted line is drawn: a prediction
/// that vanishes at a fixed rate reaches 1e-300 over a long sequence, and a
/// log axis that wide leaves the measurement a flat line.
const PREDICTION_SPAN: f64 = 1e3;

/// The points of `curve` (t = 1 … T) within a factor [`PREDICTION_SPAN`] of
/// the measured `lines`, and the last step cut, if any.
fn within_measured(curve: &[f64], lines: &[Line]) -> (Vec<(f64, f64)>, Option<usize>) {
    let (lo, hi) = lines
        .iter()
        .flat_map(|l| &l.points)
        .map(|p| p.1)
        .filter(|y| y.is_finite() && *y > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), y| {
            (lo.min(y), hi.max(y))
        });
    let mut cut = None;
    let points = curve
        .iter()
        .enumerate()
        .filter(|(t, &v)| {
            let keep = lo.is_finite() && v >= lo / PREDICTION_SPAN && v <= hi * PREDICTION_SPAN;
            if !keep {
                cut = Some(t + 1);
            }
            keep
        })
        .map(|(t, &v)| ((t + 1) as f64, v))
        .collect();
    (points, cut)
}

/// The two BPTT figures, `(file stem, figure)`, for runs that stored them.
/// `predicted[i]`, where present, is configuration i's predicted ‖∂L/∂h_t‖
/// at t = 1 … T, drawn on the gradient figure.
pub(crate) fn figures(
    study: &str,
    configs: &[ConfigRun],
    predicted: &[Option<Vec<f64>>],
) -> Vec<(&'static str, Lines)> {
    let most = configs
        .iter()
        .filter_map(|c| bptt(c.run, "grad_h_norm").map(|b| b.0))
        .max()
        .unwrap_or(0);
    let rows = chosen_rows(most);
    let legend: Vec<(String, RGBColor, Swatch)> = rows
        .iter()
        .enumerate()
        .map(|(k, &r)| (row_name(r), shade(k, rows.len()), Swatch::Line))
        .collect();
    let figure = |name: &str, y_desc: &str, what: &str, with_prediction: bool| {
        let mut legend = legend.clone();
        let panels = configs
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let (n, steps, values) = bptt(c.run, name)?;
                let mut lines: Vec<Line> = rows
                    .iter()
                    .enumerate()
                    .filter(|(_, &r)| r < n)
                    .map(|(k, &r)| Line {
                        color: shade(k, rows.len()),
                        points: values[r * steps..(r + 1) * steps]
                            .iter()
                            .enumerate()
                            .map(|(t, &v)| ((t + 1) as f64, f64::from(v)))
                            .collect(),
                    })
                    .collect();
                let mut notes = Vec::new();
                if let Some(curve) = predicted
                    .get(i)
                    .and_then(Option::as_ref)
                    .filter(|_| with_prediction)
                {
                    let (points, cut) = within_measured(curve, &lines);
                    if let Some(t) = cut {
                        notes.push(format!("prediction off scale up to t = {t}: not drawn"));
                    }
                    lines.push(Line {
                        color: PREDICTED,
                        points,
                    });
                }
                // Zero has no place on a log axis: say so rather than leave a blank panel.
                let zero = values.iter().filter(|v| **v == 0.0).count();
                if zero == values.len() {
                    notes.push("exactly 0 at every step and epoch: nothing to draw".to_string());
                } else if zero > 0 {
                    notes.push(format!(
                        "{zero} of {} values exactly 0, not drawn",
                        values.len()
                    ));
                }
                Some(LinePanel {
                    caption: c.name.clone(),
                    lines,
                    hlines: Vec::new(),
                    vlines: Vec::new(),
                    notes,
                })
            })
            .collect();
        if with_prediction && predicted.iter().any(Option::is_some) {
            legend.push((
                "mean-field prediction at initialization".into(),
                PREDICTED,
                Swatch::Line,
            ));
        }
        Lines {
            title: format!("{study}: {what} against the time step t (probe batch, top layer)"),
            legend,
            x_desc: "time step t".into(),
            y_desc: y_desc.into(),
            y_axis: YAxis::Log,
            markers: false,
            columns: 4,
            panels,
        }
    };
    vec![
        (
            "bptt-grad",
            figure(
                "grad_h_norm",
                "‖∂L/∂h_t‖ (log scale)",
                "gradient reaching each hidden state, ‖∂L/∂h_t‖,",
                true,
            ),
        ),
        (
            "bptt-h",
            figure(
                "h_norm",
                "‖h_t‖, RMS over the batch (log scale)",
                "hidden-state norm ‖h_t‖",
                false,
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prediction_far_below_the_measurement_is_cut_and_said() {
        let measured = Line {
            color: PREDICTED,
            points: vec![(1.0, 1e-3), (2.0, 1e-2), (3.0, 1e-1)],
        };
        // 1e-300 at t = 1 would stretch the log axis over 300 decades.
        let (points, cut) = within_measured(&[1e-300, 1e-5, 1e-1], &[measured]);
        assert_eq!(points, vec![(2.0, 1e-5), (3.0, 1e-1)]);
        assert_eq!(cut, Some(1));
        let (_, none) = within_measured(&[1e-3, 1e-2], &[]);
        assert_eq!(
            none,
            Some(2),
            "nothing measured: nothing to anchor, nothing drawn"
        );
    }

    #[test]
    fn rows_keep_initialization_and_the_last_epoch() {
        assert_eq!(chosen_rows(3), vec![0, 1, 2]);
        let r = chosen_rows(441);
        assert_eq!((r.len(), r[0], r[r.len() - 1]), (MAX_LINES, 0, 440));
    }
}
