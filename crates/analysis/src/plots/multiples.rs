//! Small multiples of line charts: one panel per configuration, a few lines
//! each, one shared legend. A grid study has dozens of configurations, and a
//! grid of panels stays readable where dozens of colours in one chart do not.
//!
//! The report's study sections build the panels (BPTT norms per time step,
//! validation MSE per epoch, training against validation per epoch) from
//! [`Line`]s; this file only lays them out and picks the axes.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::curves::{draw_panels, y_range, Curve, Panel};
use super::style::Swatch;
use super::{DrawResult, Figure};

/// One line of a panel.
pub(crate) struct Line {
    pub color: RGBColor,
    /// `(x, y)`; non-finite values (and, on a log axis, values ≤ 0) are left out.
    pub points: Vec<(f64, f64)>,
}

/// One panel: a caption, its lines, and optional reference marks.
pub(crate) struct LinePanel {
    pub caption: String,
    pub lines: Vec<Line>,
    /// Dashed horizontal lines with their labels (a baseline).
    pub hlines: Vec<(f64, RGBColor, String)>,
    /// Dashed vertical lines (a best epoch).
    pub vlines: Vec<(f64, RGBColor)>,
    /// Lines of text under the chart.
    pub notes: Vec<String>,
}

/// How the y axis is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum YAxis {
    /// Linear unless the values span more than a factor of ten.
    Auto,
    /// Always logarithmic (norms that vanish or explode).
    Log,
}

/// A figure of [`LinePanel`]s sharing axes descriptions, x range and y range,
/// so panels compare at a glance.
pub(crate) struct Lines {
    pub title: String,
    pub legend: Vec<(String, RGBColor, Swatch)>,
    pub x_desc: String,
    pub y_desc: String,
    pub y_axis: YAxis,
    /// Draw a dot at every point (per-epoch data).
    pub markers: bool,
    pub columns: usize,
    pub panels: Vec<LinePanel>,
}

impl Lines {
    /// Whether any panel has a point to draw.
    pub(crate) fn has_data(&self) -> bool {
        self.panels.iter().any(|p| {
            p.lines
                .iter()
                .any(|l| l.points.iter().any(|q| q.1.is_finite()))
        })
    }

    fn chart_panels(&self) -> Vec<Panel> {
        let log = self.y_axis == YAxis::Log;
        let keep = |y: f64| y.is_finite() && (!log || y > 0.0);
        let curves = |p: &LinePanel| -> Vec<Curve> {
            p.lines
                .iter()
                .map(|l| Curve {
                    color: l.color,
                    points: l
                        .points
                        .iter()
                        .filter(|q| q.0.is_finite() && keep(q.1))
                        .map(|&(x, y)| (x, y, y, y))
                        .collect(),
                })
                .collect()
        };
        let mut all: Vec<Curve> = self.panels.iter().flat_map(curves).collect();
        let (mut x0, mut x1) = (f64::INFINITY, f64::NEG_INFINITY);
        for q in all.iter().flat_map(|c| &c.points) {
            x0 = x0.min(q.0);
            x1 = x1.max(q.0);
        }
        // The reference lines belong in the y range too (a baseline above every curve).
        for p in &self.panels {
            for (y, color, _) in &p.hlines {
                if keep(*y) {
                    all.push(Curve {
                        color: *color,
                        points: vec![(x0, *y, *y, *y)],
                    });
                }
            }
        }
        let (y, log_y) = y_range(&all, log);
        // Per-epoch data gets half an epoch of margin, so one epoch is a visible point.
        let x = if !x0.is_finite() {
            0.0..1.0
        } else if self.markers {
            x0 - 0.5..x1 + 0.5
        } else if x1 <= x0 {
            x0 - 1.0..x0 + 1.0
        } else {
            x0..x1
        };
        self.panels
            .iter()
            .map(|p| Panel {
                caption: p.caption.clone(),
                x_desc: self.x_desc.clone(),
                y_desc: self.y_desc.clone(),
                x: x.clone(),
                y: y.clone(),
                log_y,
                markers: self.markers,
                curves: curves(p),
                zero_curves: Vec::new(),
                notes: p.notes.clone(),
                hlines: p.hlines.iter().filter(|h| keep(h.0)).cloned().collect(),
                vlines: p.vlines.clone(),
            })
            .collect()
    }

    fn rows(&self) -> usize {
        self.panels.len().div_ceil(self.columns.max(1)).max(1)
    }
}

impl Figure for Lines {
    fn size(&self) -> (u32, u32) {
        let columns = self.columns.clamp(1, self.panels.len().max(1)) as u32;
        let legend_rows = 1 + self.legend.len() as u32 / 6;
        (
            (560 * columns).clamp(1200, 2400),
            60 + 30 * legend_rows + 460 * self.rows() as u32,
        )
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        draw_panels(area, &self.legend, &self.chart_panels(), self.columns)
    }
}
