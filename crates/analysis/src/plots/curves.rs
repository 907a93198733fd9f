//! Line figures: loss per epoch, smoothed loss per step, gradient norm per layer.
//!
//! Every curve is the mean over an initializer's seeds, with a band from the
//! lowest to the highest seed: with three seeds a standard-deviation band
//! would claim more than the data says.

use std::ops::Range;

use initlab_train::RunRecord;
use plotters::coord::combinators::IntoLogRange;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, Swatch};
use super::{DrawResult, Figure, Group};

/// Losses that span more than this factor get a log axis.
const LOG_RATIO: f64 = 10.0;
/// At most this many points per drawn curve: the SVGs stay small, and a
/// curve of 7 500 steps is no clearer than one of 600.
const MAX_POINTS: usize = 600;

/// One initializer's curve: the mean over seeds and the min–max band.
pub(super) struct Curve {
    pub(super) color: RGBColor,
    /// `(x, mean, min, max)` over seeds, finite values only.
    pub(super) points: Vec<(f64, f64, f64, f64)>,
}

/// A layer's name, its curves, and the (epoch count, colour) of the
/// initializers whose norm is exactly zero throughout.
type LayerCurves = (String, Vec<Curve>, Vec<(usize, RGBColor)>);

/// A panel: one chart with its curves.
pub(super) struct Panel {
    pub(super) caption: String,
    pub(super) x_desc: String,
    pub(super) y_desc: String,
    pub(super) x: Range<f64>,
    pub(super) y: Range<f64>,
    pub(super) log_y: bool,
    /// Draw a dot at every point (per-epoch data, where one epoch is one point).
    pub(super) markers: bool,
    pub(super) curves: Vec<Curve>,
    /// Curves whose every value is exactly zero: drawn on the bottom edge of a
    /// log axis (where zero cannot be) and named in `notes`.
    pub(super) zero_curves: Vec<(RGBColor, Vec<f64>)>,
    pub(super) notes: Vec<String>,
    /// Reference levels: a dashed horizontal line at `y`, labelled on the chart.
    pub(super) hlines: Vec<(f64, RGBColor, String)>,
    /// Marked positions: a dashed vertical line at `x` (a best epoch).
    pub(super) vlines: Vec<(f64, RGBColor)>,
}

/// Per-seed series → per-index (mean, min, max) over the seeds that have a
/// finite value there (a diverged run stops early and ends in a non-finite loss).
fn across_seeds(series: &[Vec<f64>]) -> Vec<(f64, f64, f64)> {
    let len = series.iter().map(Vec::len).max().unwrap_or(0);
    (0..len)
        .filter_map(|i| {
            let vals: Vec<f64> = series
                .iter()
                .filter_map(|s| s.get(i).copied())
                .filter(|v| v.is_finite())
                .collect();
            if vals.is_empty() {
                return None;
            }
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            Some((mean, lo, hi))
        })
        .collect()
}

pub(super) fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// A centred moving average over `window` values; a series with a non-finite
/// value is cut there (the run diverged).
fn smooth(values: &[f32], window: usize) -> Vec<f64> {
    let end = values
        .iter()
        .position(|v| !v.is_finite())
        .unwrap_or(values.len());
    let v = &values[..end];
    let mut prefix = Vec::with_capacity(v.len() + 1);
    prefix.push(0.0f64);
    for &x in v {
        prefix.push(prefix[prefix.len() - 1] + f64::from(x));
    }
    let half = window / 2;
    (0..v.len())
        .map(|i| {
            let a = i.saturating_sub(half);
            let b = (i + half + 1).min(v.len());
            (prefix[b] - prefix[a]) / (b - a) as f64
        })
        .collect()
}

/// The value range of every curve; a log axis is used when it spans more than
/// [`LOG_RATIO`] and every value is positive.
pub(super) fn y_range(curves: &[Curve], force_log: bool) -> (Range<f64>, bool) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut min_pos = f64::INFINITY;
    for c in curves {
        for &(_, _, a, b) in &c.points {
            lo = lo.min(a);
            hi = hi.max(b);
            if a > 0.0 {
                min_pos = min_pos.min(a);
            }
        }
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0..1.0, false);
    }
    let log = min_pos.is_finite() && (force_log || (lo > 0.0 && hi / lo > LOG_RATIO));
    if log {
        // Round outwards to whole decades so the axis ends on labelled ticks.
        // Slightly past the decades: plotters labels a decade only when it is
        // strictly inside the range, and 10^k is rarely exact in binary.
        let lo = 10f64.powf((min_pos.log10() - 0.05).floor()) * 0.98;
        let hi = 10f64.powf((hi.log10() + 0.05).ceil()) * 1.02;
        (lo..hi, true)
    } else {
        let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.05).max(1e-6);
        (lo - pad..hi + pad, false)
    }
}

/// The x range of epochs `1..=n`, with half an epoch of margin.
pub(super) fn epoch_range(n: usize) -> Range<f64> {
    0.5..n.max(1) as f64 + 0.5
}

/// Draws one panel; `note_lines` is the most notes any panel of the figure
/// has, so that every panel's axes have the same height.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    note_lines: usize,
) -> DrawResult<DB> {
    let note_h = 26 * note_lines as u32;
    let height = area.dim_in_pixel().1;
    let (chart_area, note_area) = area.split_vertically(height.saturating_sub(note_h));
    for (i, note) in p.notes.iter().enumerate() {
        note_area.draw_text(
            note,
            &style::legend_font().pos(Pos::new(HPos::Left, VPos::Top)),
            (90, 26 * i as i32),
        )?;
    }
    // One body for both axis kinds: the chart's type differs, the drawing does not.
    macro_rules! body {
        ($y:expr, $floor:expr) => {{
            let mut chart = ChartBuilder::on(&chart_area)
                .caption(&p.caption, style::caption_font())
                .margin(10)
                .margin_right(24)
                .x_label_area_size(62)
                .y_label_area_size(86)
                .build_cartesian_2d(p.x.clone(), $y)?;
            let x_is_epoch = p.markers;
            chart
                .configure_mesh()
                .x_desc(p.x_desc.as_str())
                .y_desc(p.y_desc.as_str())
                .axis_desc_style(style::axis_font())
                .label_style(style::tick_font())
                .light_line_style(style::grid_color())
                .bold_line_style(BLACK.mix(0.2))
                .max_light_lines(4)
                .x_label_formatter(&|v: &f64| {
                    if x_is_epoch && (v.fract() != 0.0) {
                        String::new()
                    } else {
                        style::fmt_tick_in(*v, &p.x)
                    }
                })
                // On a log axis every tick is far from zero: "0" would be a lie.
                .y_label_formatter(&|v: &f64| {
                    if p.log_y {
                        style::fmt_tick(*v)
                    } else {
                        style::fmt_tick_in(*v, &p.y)
                    }
                })
                .draw()?;
            let floor: f64 = $floor;
            let clamp = |v: f64| v.max(floor);
            for c in &p.curves {
                if c.points.len() > 1 {
                    let mut band: Vec<(f64, f64)> = c
                        .points
                        .iter()
                        .map(|&(x, _, _, hi)| (x, clamp(hi)))
                        .collect();
                    band.extend(c.points.iter().rev().map(|&(x, _, lo, _)| (x, clamp(lo))));
                    chart.draw_series(std::iter::once(Polygon::new(
                        band,
                        c.color.mix(0.18).filled(),
                    )))?;
                }
                chart.draw_series(LineSeries::new(
                    c.points.iter().map(|&(x, m, _, _)| (x, clamp(m))),
                    c.color.stroke_width(3),
                ))?;
                if p.markers {
                    chart.draw_series(
                        c.points
                            .iter()
                            .map(|&(x, m, _, _)| Circle::new((x, clamp(m)), 5, c.color.filled())),
                    )?;
                    // The seed range as a vertical bar, visible even for one epoch.
                    chart.draw_series(c.points.iter().map(|&(x, _, lo, hi)| {
                        PathElement::new(
                            vec![(x, clamp(lo)), (x, clamp(hi))],
                            c.color.stroke_width(2),
                        )
                    }))?;
                }
            }
            for (y, color, label) in &p.hlines {
                let (x0, x1) = (p.x.start, p.x.end);
                chart.draw_series(DashedLineSeries::new(
                    vec![(x0, clamp(*y)), (x1, clamp(*y))],
                    10,
                    6,
                    color.stroke_width(2),
                ))?;
                let font = style::legend_font().color(color);
                chart.draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (x0 + (x1 - x0) * 0.02, clamp(*y)),
                    font.pos(Pos::new(HPos::Left, VPos::Bottom)),
                )))?;
            }
            for (x, color) in &p.vlines {
                let (y0, y1) = (clamp(p.y.start), p.y.end);
                chart.draw_series(DashedLineSeries::new(
                    vec![(*x, y0), (*x, y1)],
                    8,
                    6,
                    color.stroke_width(2),
                ))?;
            }
            for (color, xs) in &p.zero_curves {
                chart.draw_series(xs.iter().map(|&x| {
                    EmptyElement::at((x, floor))
                        + Polygon::new(vec![(0, 0), (-8, -13), (8, -13)], color.filled())
                }))?;
            }
        }};
    }
    if p.log_y {
        body!((p.y.start..p.y.end).log_scale(), p.y.start)
    } else {
        body!(p.y.clone(), f64::NEG_INFINITY)
    }
    Ok(())
}

/// The legend of a study's initializers, plus what the band means.
fn legend_entries(groups: &[Group], band: bool) -> Vec<(String, RGBColor, Swatch)> {
    let mut entries: Vec<(String, RGBColor, Swatch)> = groups
        .iter()
        .map(|g| (seeds_label(g), g.color, Swatch::Line))
        .collect();
    if band && groups.iter().any(|g| g.runs.len() > 1) {
        entries.push((
            "band: lowest to highest seed".into(),
            RGBColor(90, 90, 90),
            Swatch::Shade,
        ));
    }
    entries
}

fn seeds_label(g: &Group) -> String {
    let n = g.runs.len();
    format!("{} ({} seed{})", g.label, n, if n == 1 { "" } else { "s" })
}

/// Draws a legend strip, then `panels` side by side below it.
pub(super) fn draw_panels<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    legend: &[(String, RGBColor, Swatch)],
    panels: &[Panel],
    columns: usize,
) -> DrawResult<DB> {
    let used = style::legend(area, legend)?;
    let (_, body) = area.split_vertically(used + 4);
    let columns = columns.clamp(1, panels.len().max(1));
    let rows = panels.len().div_ceil(columns);
    let note_lines = panels.iter().map(|p| p.notes.len()).max().unwrap_or(0);
    for (cell, panel) in body.split_evenly((rows, columns)).iter().zip(panels) {
        draw_panel(cell, panel, note_lines)?;
    }
    Ok(())
}

/// Training and validation loss per epoch.
pub(crate) struct EpochLoss {
    study: String,
    legend: Vec<(String, RGBColor, Swatch)>,
    panels: Vec<Panel>,
}

impl EpochLoss {
    pub(crate) fn new(study: &str, groups: &[Group]) -> Self {
        let curves = |f: fn(&RunRecord) -> &[f32]| -> Vec<Curve> {
            groups
                .iter()
                .map(|g| {
                    let series: Vec<Vec<f64>> = g.runs.iter().map(|r| to_f64(f(r))).collect();
                    Curve {
                        color: g.color,
                        points: across_seeds(&series)
                            .into_iter()
                            .enumerate()
                            .map(|(i, (m, lo, hi))| ((i + 1) as f64, m, lo, hi))
                            .collect(),
                    }
                })
                .collect()
        };
        let train = curves(|r| &r.train_loss);
        let val = curves(|r| &r.val_loss);
        let epochs = groups
            .iter()
            .flat_map(|g| {
                g.runs
                    .iter()
                    .map(|r| r.train_loss.len().max(r.val_loss.len()))
            })
            .max()
            .unwrap_or(1);
        // One y range for both panels, so they compare at a glance.
        let all: Vec<Curve> = train
            .iter()
            .chain(&val)
            .map(|c| Curve {
                color: c.color,
                points: c.points.clone(),
            })
            .collect();
        let (y, log_y) = y_range(&all, false);
        let y_desc = if log_y {
            "cross-entropy loss (nats, log scale)"
        } else {
            "cross-entropy loss (nats)"
        };
        let panel = |caption: &str, curves: Vec<Curve>| Panel {
            caption: caption.into(),
            x_desc: "epoch".into(),
            y_desc: y_desc.into(),
            x: epoch_range(epochs),
            y: y.clone(),
            log_y,
            markers: true,
            curves,
            zero_curves: Vec::new(),
            notes: Vec::new(),
            hlines: Vec::new(),
            vlines: Vec::new(),
        };
        EpochLoss {
            study: study.into(),
            legend: legend_entries(groups, true),
            panels: vec![
                panel("training (mean over the epoch's batches)", train),
                panel("validation (after each epoch)", val),
            ],
        }
    }
}

impl Figure for EpochLoss {
    fn size(&self) -> (u32, u32) {
        (1500, 720)
    }

    fn title(&self) -> String {
        format!("{}: loss per epoch, by initializer", self.study)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        draw_panels(area, &self.legend, &self.panels, 2)
    }
}

/// Training loss of every step, smoothed.
pub(crate) struct StepLoss {
    study: String,
    window: usize,
    legend: Vec<(String, RGBColor, Swatch)>,
    panel: Panel,
}

impl StepLoss {
    pub(crate) fn new(study: &str, groups: &[Group]) -> Self {
        let steps = groups
            .iter()
            .flat_map(|g| g.runs.iter().map(|r| r.step_loss.len()))
            .max()
            .unwrap_or(0);
        // About a sixtieth of the run: enough to see through batch noise,
        // short enough to keep the first epoch's fast drop.
        let window = (steps / 60).clamp(1, 250) | 1;
        let stride = steps.div_ceil(MAX_POINTS).max(1);
        let curves: Vec<Curve> = groups
            .iter()
            .map(|g| {
                let series: Vec<Vec<f64>> = g
                    .runs
                    .iter()
                    .map(|r| smooth(&r.step_loss, window))
                    .collect();
                Curve {
                    color: g.color,
                    points: across_seeds(&series)
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| i % stride == 0 || i + 1 == steps)
                        .map(|(i, (m, lo, hi))| ((i + 1) as f64, m, lo, hi))
                        .collect(),
                }
            })
            .collect();
        let (y, log_y) = y_range(&curves, false);
        let steps_per_epoch = groups
            .first()
            .and_then(|g| g.runs.first())
            .filter(|r| !r.train_loss.is_empty())
            .map(|r| r.step_loss.len() / r.train_loss.len());
        let x_desc = match steps_per_epoch {
            Some(n) if n > 0 => format!("training step (one batch; {n} steps per epoch)"),
            _ => "training step (one batch)".into(),
        };
        StepLoss {
            study: study.into(),
            window,
            legend: legend_entries(groups, true),
            panel: Panel {
                caption: String::new(),
                x_desc,
                y_desc: if log_y {
                    "training loss (nats, log scale)".into()
                } else {
                    "training loss (nats)".into()
                },
                x: 0.0..steps.max(1) as f64,
                y,
                log_y,
                markers: false,
                curves,
                zero_curves: Vec::new(),
                notes: Vec::new(),
                hlines: Vec::new(),
                vlines: Vec::new(),
            },
        }
    }
}

impl Figure for StepLoss {
    fn size(&self) -> (u32, u32) {
        (1500, 760)
    }

    fn title(&self) -> String {
        format!(
            "{}: training loss per step (moving average over {} steps)",
            self.study, self.window
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        draw_panels(area, &self.legend, std::slice::from_ref(&self.panel), 1)
    }
}

/// The gradient's L2 norm per layer and epoch: vanishing or exploding
/// gradients show as curves near zero or far above the others.
pub(crate) struct GradFlow {
    study: String,
    legend: Vec<(String, RGBColor, Swatch)>,
    panels: Vec<Panel>,
}

impl GradFlow {
    pub(crate) fn new(study: &str, groups: &[Group]) -> Self {
        let first = groups.first().and_then(|g| g.runs.first());
        let layers: Vec<String> = first
            .map(|r| r.grad_norms.iter().map(|(l, _)| l.clone()).collect())
            .unwrap_or_default();
        let epochs = groups
            .iter()
            .flat_map(|g| {
                g.runs
                    .iter()
                    .flat_map(|r| r.grad_norms.iter().map(|(_, v)| v.len()))
            })
            .max()
            .unwrap_or(1);
        let per_layer: Vec<LayerCurves> = layers
            .iter()
            .map(|layer| {
                let mut zero = Vec::new();
                let curves = groups
                    .iter()
                    .map(|g| {
                        let series: Vec<Vec<f64>> = g
                            .runs
                            .iter()
                            .filter_map(|r| r.grad_norms.iter().find(|(l, _)| l == layer))
                            .map(|(_, v)| to_f64(v))
                            .collect();
                        let points: Vec<(f64, f64, f64, f64)> = across_seeds(&series)
                            .into_iter()
                            .enumerate()
                            .map(|(i, (m, lo, hi))| ((i + 1) as f64, m, lo, hi))
                            .collect();
                        if !points.is_empty() && points.iter().all(|p| p.3 == 0.0) {
                            zero.push((points.len(), g.color));
                            Curve {
                                color: g.color,
                                points: Vec::new(),
                            }
                        } else {
                            Curve {
                                color: g.color,
                                points,
                            }
                        }
                    })
                    .collect();
                (layer.clone(), curves, zero)
            })
            .collect();
        // One log axis for every layer: the layers' norms compare directly.
        let all: Vec<Curve> = per_layer
            .iter()
            .flat_map(|(_, c, _)| c.iter())
            .map(|c| Curve {
                color: c.color,
                points: c.points.clone(),
            })
            .collect();
        let (mut y, log_y) = y_range(&all, true);
        if log_y && per_layer.iter().any(|(_, _, zero)| !zero.is_empty()) {
            // A decade of empty space keeps the "exactly 0" marks on the bottom
            // edge apart from the smallest real norm.
            y.start /= 10.0;
        }
        let panels = per_layer
            .into_iter()
            .map(|(layer, curves, zero)| {
                let shape = first
                    .and_then(|r| {
                        r.initial_params
                            .iter()
                            .find(|t| t.name == format!("{layer}.weight"))
                    })
                    .filter(|t| t.shape.len() == 2)
                    .map(|t| format!(": weight {} → {}", t.shape[1], t.shape[0]))
                    .unwrap_or_default();
                let notes = zero
                    .iter()
                    .map(|(_, color)| {
                        let label = groups
                            .iter()
                            .find(|g| g.color == *color)
                            .map_or("", |g| g.label.as_str());
                        format!("▼ {label}: exactly 0 in every epoch (drawn on the bottom edge)")
                    })
                    .collect();
                Panel {
                    caption: format!("{layer}{shape}"),
                    x_desc: "epoch".into(),
                    y_desc: if log_y {
                        "gradient L2 norm (log scale)".into()
                    } else {
                        "gradient L2 norm".into()
                    },
                    x: epoch_range(epochs),
                    y: y.clone(),
                    log_y,
                    markers: true,
                    curves,
                    zero_curves: zero
                        .into_iter()
                        .map(|(n, color)| (color, (1..=n).map(|e| e as f64).collect()))
                        .collect(),
                    notes,
                    hlines: Vec::new(),
                    vlines: Vec::new(),
                }
            })
            .collect();
        GradFlow {
            study: study.into(),
            legend: legend_entries(groups, true),
            panels,
        }
    }

    /// Whether any run recorded gradient norms.
    pub(crate) fn has_data(&self) -> bool {
        !self.panels.is_empty()
    }
}

impl Figure for GradFlow {
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(3).max(1) as u32;
        (1500, 140 + 620 * rows)
    }

    fn title(&self) -> String {
        format!(
            "{}: gradient flow, mean L2 norm of each layer's gradient per epoch",
            self.study
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        draw_panels(area, &self.legend, &self.panels, 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_keeps_length_and_mean_of_constant() {
        let s = smooth(&[1.0, 1.0, 1.0, 1.0, 1.0], 3);
        assert_eq!(s, vec![1.0; 5]);
        let s = smooth(&[0.0, 3.0, 0.0, f32::NAN, 1.0], 3);
        assert_eq!(s, vec![1.5, 1.0, 1.5]);
    }

    #[test]
    fn seeds_band_skips_missing_and_non_finite() {
        let b = across_seeds(&[vec![1.0, 2.0], vec![3.0, f64::NAN, 5.0]]);
        assert_eq!(b, vec![(2.0, 1.0, 3.0), (2.0, 2.0, 2.0), (5.0, 5.0, 5.0)]);
    }
}
