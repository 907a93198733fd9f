//! The order/chaos phase diagram of a wide random network: σ_w² across,
//! σ_b² up, the boundary χ₁ = 1 between the ordered phase (left) and the
//! chaotic phase (right), and labelled points (an initializer, a run) on it.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, Palette};
use super::{DrawResult, Figure};
use crate::{Error, Result};

/// What the diagram shows; the boundary comes from `initlab_theory`.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseDiagram {
    /// φ's name, for the title.
    pub activation: String,
    /// The boundary as (critical σ_w², σ_b²), σ_b² increasing.
    pub boundary: Vec<(f64, f64)>,
    /// Labelled points (label, σ_w², σ_b²). Points sharing a label are one
    /// network whose layers differ: they are joined by a line and labelled once.
    pub marks: Vec<(String, f64, f64)>,
}

/// The palette's colours for marks, without the two that fill the phases
/// (blue, vermillion), the sky blue near one, and the boundary's black.
const MARK_COLORS: [usize; 8] = [2, 3, 7, 8, 10, 11, 4, 9];

/// σ_w² spanning more than this factor gets a log axis (N(0, 1) on a
/// 784-input layer sits at 784, the boundary near 1–2).
const LOG_SPAN: f64 = 30.0;

impl PhaseDiagram {
    /// The σ_w² drawn: every positive boundary and mark value, with margin.
    fn x_range(&self) -> (f64, f64, bool) {
        let xs = self
            .boundary
            .iter()
            .map(|p| p.0)
            .chain(self.marks.iter().map(|m| m.1))
            .filter(|x| x.is_finite() && *x > 0.0);
        let (lo, hi) = xs.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
        if lo.is_finite() && hi / lo > LOG_SPAN {
            (lo / 1.6, hi * 1.6, true)
        } else {
            let edge = self.boundary.iter().map(|p| p.0).fold(0.0, f64::max);
            (0.0, (1.6 * edge).max(1.1 * hi).max(1e-3), false)
        }
    }

    fn y_max(&self) -> f64 {
        let edge = self.boundary.iter().map(|p| p.1).fold(0.0, f64::max);
        let marks = self.marks.iter().map(|m| m.2).fold(0.0, f64::max);
        edge.max(1.1 * marks).max(1e-3)
    }

    /// The marks grouped by label, in order of first appearance.
    fn groups(&self) -> Vec<(&str, Vec<(f64, f64)>)> {
        let mut groups: Vec<(&str, Vec<(f64, f64)>)> = Vec::new();
        for (label, w, b) in &self.marks {
            match groups.iter_mut().find(|g| g.0 == label) {
                Some(g) => g.1.push((*w, *b)),
                None => groups.push((label, vec![(*w, *b)])),
            }
        }
        for g in &mut groups {
            g.1.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        }
        groups
    }
}

impl Figure for PhaseDiagram {
    fn size(&self) -> (u32, u32) {
        (900, 700)
    }

    fn title(&self) -> String {
        format!(
            "Order and chaos, {} networks (χ₁ = 1 boundary)",
            self.activation
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let (x_lo, x_hi, log_x) = self.x_range();
        let y_max = self.y_max();
        let x_desc = if log_x {
            "σ_w² (weight variance × fan-in, log scale)"
        } else {
            "σ_w² (weight variance × fan-in)"
        };
        // One body for the linear and the log axis, whose coordinate types differ.
        macro_rules! body {
            ($x:expr) => {{
                let mut chart = ChartBuilder::on(area)
                    .margin(10)
                    .margin_right(30)
                    .x_label_area_size(62)
                    .y_label_area_size(86)
                    .build_cartesian_2d($x, 0.0..y_max)?;
                let mut mesh = chart.configure_mesh();
                style::house_mesh(&mut mesh)
                    .x_desc(x_desc)
                    .y_desc("σ_b² (bias variance)")
                    .max_light_lines(4)
                    .x_label_formatter(&|v: &f64| style::fmt_tick(*v))
                    .y_label_formatter(&|v: &f64| style::fmt_tick(*v))
                    .draw()?;
                // A point a fraction `f` of the way across, on either axis.
                let across = |f: f64| {
                    if log_x {
                        x_lo * (x_hi / x_lo).powf(f)
                    } else {
                        x_lo + f * (x_hi - x_lo)
                    }
                };
                if self.boundary.len() > 1 {
                    let ordered = RGBColor(0, 114, 178);
                    let chaotic = RGBColor(213, 94, 0);
                    let top = self.boundary[self.boundary.len() - 1].1;
                    let mut left = vec![(x_lo, 0.0)];
                    left.extend(self.boundary.iter().copied());
                    left.push((x_lo, top));
                    let mut right = self.boundary.clone();
                    right.push((x_hi, top));
                    right.push((x_hi, 0.0));
                    chart.draw_series(std::iter::once(Polygon::new(
                        left,
                        ordered.mix(0.15).filled(),
                    )))?;
                    chart.draw_series(std::iter::once(Polygon::new(
                        right,
                        chaotic.mix(0.15).filled(),
                    )))?;
                    chart.draw_series(LineSeries::new(
                        self.boundary.iter().copied(),
                        BLACK.stroke_width(3),
                    ))?;
                    let font = style::legend_font();
                    let mid = self.boundary[self.boundary.len() / 2];
                    chart.draw_series(std::iter::once(Text::new(
                        "ordered: χ₁ < 1",
                        (across(0.03), 0.95 * y_max),
                        font.color(&ordered).pos(Pos::new(HPos::Left, VPos::Top)),
                    )))?;
                    chart.draw_series(std::iter::once(Text::new(
                        "chaotic: χ₁ > 1",
                        (across(0.97), 0.95 * y_max),
                        font.color(&chaotic).pos(Pos::new(HPos::Right, VPos::Top)),
                    )))?;
                    chart.draw_series(std::iter::once(Text::new(
                        "edge of chaos",
                        (
                            if log_x {
                                mid.0 * 1.05
                            } else {
                                mid.0 + 0.02 * x_hi
                            },
                            mid.1,
                        ),
                        font.pos(Pos::new(HPos::Left, VPos::Center)),
                    )))?;
                }
                // Labels stand at staggered heights above their points, joined by
                // a thin leader, so initializers at the same σ_b² stay readable.
                for (i, (label, points)) in self.groups().into_iter().enumerate() {
                    let color = Palette::color(MARK_COLORS[i % MARK_COLORS.len()]);
                    let shown: Vec<(f64, f64)> = points
                        .iter()
                        .copied()
                        .filter(|p| p.0 >= x_lo && p.0 <= x_hi && (!log_x || p.0 > 0.0))
                        .collect();
                    let Some(&(w, b)) = shown.last() else {
                        continue;
                    };
                    if shown.len() > 1 {
                        chart.draw_series(LineSeries::new(
                            shown.iter().copied(),
                            color.stroke_width(3),
                        ))?;
                    }
                    chart.draw_series(shown.iter().map(|&p| Circle::new(p, 7, color.filled())))?;
                    let y = (b + (0.1 + 0.09 * (i % 6) as f64) * y_max).min(0.88 * y_max);
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(w, b), (w, y)],
                        color.mix(0.6).stroke_width(1),
                    )))?;
                    chart.draw_series(std::iter::once(Text::new(
                        label.to_string(),
                        (w, y),
                        style::legend_font()
                            .color(&color)
                            .pos(Pos::new(HPos::Center, VPos::Bottom)),
                    )))?;
                }
            }};
        }
        if log_x {
            body!((x_lo..x_hi).log_scale());
        } else {
            body!(x_lo..x_hi);
        }
        Ok(())
    }
}

/// Draws `diagram` to `path`, as SVG or PNG by its extension.
///
/// # Errors
/// [`Error::Io`] for another extension, or when the file cannot be written.
pub fn write_phase_diagram(path: &Path, diagram: &PhaseDiagram) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format_error = || Error::Io {
        path: path.to_path_buf(),
        error: std::io::Error::other("expected a file name ending in .png or .svg"),
    };
    style::register_fonts().map_err(|m| super::drawing_error(path, m))?;
    let (w, h) = diagram.size();
    let title = diagram.title();
    match ext.as_deref() {
        Some("svg") => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
                super::draw_page(diagram, &title, &root)
                    .map_err(|e| super::drawing_error(path, e.to_string()))?;
            }
            super::write(path, svg.as_bytes())
        }
        Some("png") => {
            let mut rgb = vec![0u8; w as usize * h as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
                super::draw_page(diagram, &title, &root)
                    .map_err(|e| super::drawing_error(path, e.to_string()))?;
            }
            let png = super::encode_png(&rgb, (w, h)).map_err(|m| super::drawing_error(path, m))?;
            super::write(path, &png)
        }
        _ => Err(format_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagram(marks: &[(&str, f64, f64)]) -> PhaseDiagram {
        PhaseDiagram {
            activation: "relu".into(),
            boundary: vec![(2.0, 0.0), (2.0, 0.1)],
            marks: marks
                .iter()
                .map(|&(l, w, b)| (l.to_string(), w, b))
                .collect(),
        }
    }

    #[test]
    fn wide_sigma_w2_gets_a_log_axis_and_narrow_a_linear_one() {
        let (lo, hi, log) = diagram(&[("normal", 784.0, 0.0), ("xavier", 1.2, 0.0)]).x_range();
        assert!(log && lo < 1.2 && hi > 784.0);
        let (lo, hi, log) = diagram(&[("kaiming", 2.0, 0.0)]).x_range();
        assert!(!log && lo == 0.0 && hi > 2.0);
    }

    #[test]
    fn marks_sharing_a_label_are_one_initializer_in_sigma_w2_order() {
        let d = diagram(&[("xavier", 1.7, 0.0), ("he", 2.0, 0.0), ("xavier", 1.2, 0.0)]);
        let groups = d.groups();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0], ("xavier", vec![(1.2, 0.0), (1.7, 0.0)]));
    }
}
