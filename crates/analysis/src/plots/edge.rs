//! Training accuracy over (σ_w², depth) with the mean-field depth scales ξ_c
//! and 6ξ_c drawn over it: Schoenholz et al.'s (2017) trainability figure.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style;
use super::{DrawResult, Figure};

/// The 6ξ_c curve: vermillion, visible on every viridis colour.
const SIX_XI_C: RGBColor = RGBColor(230, 60, 40);
/// The ξ_c curve.
const XI_C: RGBColor = RGBColor(255, 170, 200);

/// One grid point: σ_w², depth and its training accuracy (NaN if diverged).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct EdgeCell {
    pub sigma_w2: f64,
    pub depth: f64,
    pub accuracy: f64,
}

/// The figure: cells, and ξ_c(σ_w²) sampled densely.
pub(crate) struct EdgeMap {
    pub title: String,
    pub cells: Vec<EdgeCell>,
    /// (σ_w², ξ_c) along the σ_w² axis; ∞ where χ₁ = 1.
    pub xi_c: Vec<(f64, f64)>,
    /// The critical σ_w², drawn as a vertical line.
    pub critical: Option<f64>,
}

/// Each value's cell edges: halfway to its neighbours (in log space for depth).
fn edges(values: &[f64], log: bool) -> Vec<(f64, f64)> {
    let t = |v: f64| if log { v.ln() } else { v };
    let back = |v: f64| if log { v.exp() } else { v };
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let prev = if i > 0 {
                t(values[i - 1])
            } else {
                2.0 * t(v) - t(values[(i + 1).min(values.len() - 1)])
            };
            let next = if i + 1 < values.len() {
                t(values[i + 1])
            } else {
                2.0 * t(v) - prev
            };
            let (lo, hi) = if values.len() == 1 {
                (t(v) - 0.1, t(v) + 0.1)
            } else {
                ((prev + t(v)) / 2.0, (t(v) + next) / 2.0)
            };
            (back(lo), back(hi))
        })
        .collect()
}

fn sorted_distinct(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

impl Figure for EdgeMap {
    fn size(&self) -> (u32, u32) {
        (1000, 720)
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let xs = sorted_distinct(self.cells.iter().map(|c| c.sigma_w2).collect());
        let ys = sorted_distinct(self.cells.iter().map(|c| c.depth).collect());
        if xs.is_empty() || ys.is_empty() {
            return Ok(());
        }
        let x_edges = edges(&xs, false);
        let y_edges = edges(&ys, true);
        let x_range = x_edges[0].0..x_edges[x_edges.len() - 1].1;
        // At least 3 to 400 layers: the published range and where ξ_c and 6ξ_c run.
        let y_range = (y_edges[0].0.min(3.0))..y_edges[y_edges.len() - 1].1.max(400.0);
        let (legend_area, chart_area) = area.split_vertically(40);
        let mut chart = ChartBuilder::on(&chart_area)
            .margin(10)
            .margin_right(30)
            .x_label_area_size(62)
            .y_label_area_size(86)
            .build_cartesian_2d(x_range.clone(), y_range.clone().log_scale())?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("σ_w² (weight variance × fan-in)")
            .y_desc("depth L (hidden layers)")
            .axis_desc_style(style::axis_font())
            .label_style(style::tick_font())
            .x_label_formatter(&|v: &f64| style::fmt_tick(*v))
            .y_label_formatter(&|v: &f64| style::fmt_tick(*v))
            .draw()?;
        for c in &self.cells {
            let (Some(xi), Some(yi)) = (
                xs.iter().position(|&x| x == c.sigma_w2),
                ys.iter().position(|&y| y == c.depth),
            ) else {
                continue;
            };
            let fill = if c.accuracy.is_finite() {
                super::heatmap::colour(c.accuracy)
            } else {
                RGBColor(200, 200, 200)
            };
            let (x0, x1) = x_edges[xi];
            let (y0, y1) = y_edges[yi];
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, y0), (x1, y1)],
                fill.filled(),
            )))?;
            let text = if c.accuracy.is_finite() {
                format!("{:.2}", c.accuracy)
            } else {
                "div.".into()
            };
            chart.draw_series(std::iter::once(Text::new(
                text,
                (c.sigma_w2, c.depth),
                style::tick_font()
                    .color(&super::heatmap::ink(fill))
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            )))?;
        }
        let top = y_range.end;
        for (factor, color, width) in [(1.0, XI_C, 2), (6.0, SIX_XI_C, 4)] {
            // Split where ξ_c leaves the chart, so the divergence is not a wall.
            let mut segment: Vec<(f64, f64)> = Vec::new();
            let mut segments = Vec::new();
            for &(x, xi) in &self.xi_c {
                let y = factor * xi;
                if y.is_finite() && y <= top && y >= y_range.start {
                    segment.push((x, y));
                } else if !segment.is_empty() {
                    segments.push(std::mem::take(&mut segment));
                }
            }
            segments.push(segment);
            for s in segments.into_iter().filter(|s| s.len() > 1) {
                chart.draw_series(LineSeries::new(
                    s,
                    ShapeStyle::from(color).stroke_width(width),
                ))?;
            }
        }
        if let Some(edge) = self.critical {
            chart.draw_series(LineSeries::new(
                [(edge, y_range.start), (edge, top)],
                ShapeStyle::from(BLACK.mix(0.6)).stroke_width(1),
            ))?;
        }
        style::legend(
            &legend_area,
            &[
                (
                    "6ξ_c (predicted trainable depth)".into(),
                    SIX_XI_C,
                    style::Swatch::Line,
                ),
                ("ξ_c".into(), XI_C, style::Swatch::Line),
                (
                    "χ₁ = 1".into(),
                    RGBColor(100, 100, 100),
                    style::Swatch::Line,
                ),
            ],
        )?;
        Ok(())
    }
}
