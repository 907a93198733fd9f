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
    /// Labelled points (label, σ_w², σ_b²).
    pub marks: Vec<(String, f64, f64)>,
}

impl PhaseDiagram {
    fn x_max(&self) -> f64 {
        let edge = self.boundary.iter().map(|p| p.0).fold(0.0, f64::max);
        let marks = self.marks.iter().map(|m| m.1).fold(0.0, f64::max);
        (1.6 * edge).max(1.1 * marks).max(1e-3)
    }

    fn y_max(&self) -> f64 {
        let edge = self.boundary.iter().map(|p| p.1).fold(0.0, f64::max);
        let marks = self.marks.iter().map(|m| m.2).fold(0.0, f64::max);
        edge.max(1.1 * marks).max(1e-3)
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
        let (x_max, y_max) = (self.x_max(), self.y_max());
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .margin_right(30)
            .x_label_area_size(62)
            .y_label_area_size(86)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
        chart
            .configure_mesh()
            .x_desc("σ_w² (weight variance × fan-in)")
            .y_desc("σ_b² (bias variance)")
            .axis_desc_style(style::axis_font())
            .label_style(style::tick_font())
            .light_line_style(style::grid_color())
            .bold_line_style(BLACK.mix(0.2))
            .max_light_lines(4)
            .x_label_formatter(&|v: &f64| style::fmt_tick(*v))
            .y_label_formatter(&|v: &f64| style::fmt_tick(*v))
            .draw()?;
        if self.boundary.len() > 1 {
            let ordered = RGBColor(0, 114, 178);
            let chaotic = RGBColor(213, 94, 0);
            let mut left = vec![(0.0, 0.0)];
            left.extend(self.boundary.iter().copied());
            left.push((0.0, self.boundary[self.boundary.len() - 1].1));
            let mut right = self.boundary.clone();
            right.push((x_max, self.boundary[self.boundary.len() - 1].1));
            right.push((x_max, 0.0));
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
                (0.03 * x_max, 0.95 * y_max),
                font.color(&ordered).pos(Pos::new(HPos::Left, VPos::Top)),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                "chaotic: χ₁ > 1",
                (0.97 * x_max, 0.05 * y_max),
                font.color(&chaotic)
                    .pos(Pos::new(HPos::Right, VPos::Bottom)),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                "edge of chaos",
                (mid.0 + 0.02 * x_max, mid.1),
                font.pos(Pos::new(HPos::Left, VPos::Center)),
            )))?;
        }
        for (i, (label, w, b)) in self.marks.iter().enumerate() {
            let color = Palette::color(i + 6);
            chart.draw_series(std::iter::once(Circle::new((*w, *b), 7, color.filled())))?;
            chart.draw_series(std::iter::once(Text::new(
                label.clone(),
                (*w + 0.01 * x_max, *b + 0.01 * y_max),
                style::legend_font().pos(Pos::new(HPos::Left, VPos::Bottom)),
            )))?;
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
