//! Test accuracy by initializer: mean over seeds ± one standard deviation,
//! every seed as a dot, and the published value as a diamond on each bar.

use initlab_train::RunStatus;
use plotters::chart::MeshStyle;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, Swatch};
use super::{DrawResult, Figure, Group};

struct Bar {
    label: String,
    color: RGBColor,
    /// Test accuracy of each completed seed.
    seeds: Vec<f64>,
    diverged: usize,
    published: Option<f64>,
}

impl Bar {
    fn mean(&self) -> Option<f64> {
        (!self.seeds.is_empty()).then(|| self.seeds.iter().sum::<f64>() / self.seeds.len() as f64)
    }

    /// Sample standard deviation, as in the summary table (0 for one seed).
    fn std(&self) -> f64 {
        let n = self.seeds.len();
        match self.mean() {
            Some(m) if n > 1 => {
                (self.seeds.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
            }
            _ => 0.0,
        }
    }
}

/// The accuracy bar chart of one study.
pub(crate) struct Accuracy {
    study: String,
    bars: Vec<Bar>,
}

impl Accuracy {
    pub(crate) fn new(study: &str, groups: &[Group]) -> Self {
        let bars = groups
            .iter()
            .map(|g| Bar {
                label: g.label.clone(),
                color: g.color,
                seeds: g
                    .runs
                    .iter()
                    .filter(|r| r.status == RunStatus::Complete && r.test_accuracy.is_finite())
                    .map(|r| r.test_accuracy)
                    .collect(),
                diverged: g
                    .runs
                    .iter()
                    .filter(|r| r.status == RunStatus::Diverged)
                    .count(),
                published: g.runs.iter().find_map(|r| r.published),
            })
            .collect();
        Accuracy {
            study: study.into(),
            bars,
        }
    }
}

impl Figure for Accuracy {
    fn size(&self) -> (u32, u32) {
        ((330 * self.bars.len() as u32 + 200).clamp(1200, 2600), 820)
    }

    fn title(&self) -> String {
        format!("{}: test accuracy by initializer", self.study)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let mut entries = vec![
            (
                "mean over seeds".to_string(),
                RGBColor(150, 150, 150),
                Swatch::Fill,
            ),
            ("± 1 std over seeds".to_string(), BLACK, Swatch::ErrorBar),
            ("one seed".to_string(), RGBColor(60, 60, 60), Swatch::Dot),
        ];
        if self.bars.iter().any(|b| b.published.is_some()) {
            entries.push(("published".to_string(), BLACK, Swatch::Diamond));
        }
        let used = style::legend(area, &entries)?;
        let (_, body) = area.split_vertically(used + 4);
        let (w, _) = body.dim_in_pixel();
        let (body, delta) = body.split_horizontally(w * 62 / 100);
        let n = self.bars.len();
        let labels: Vec<String> = self
            .bars
            .iter()
            .map(|b| match b.diverged {
                0 => b.label.clone(),
                d => format!("{} ({d} diverged)", b.label),
            })
            .collect();
        // Bar i is centred on x = i; the labels are the ticks at the integers.
        let mut chart = ChartBuilder::on(&body)
            .margin(10)
            .margin_right(24)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..1.13)?;
        initializer_mesh(
            &mut chart.configure_mesh(),
            n,
            "test accuracy (fraction of test images correct)",
        )
        .x_label_style(style::axis_font())
        .y_labels(12)
        .x_label_formatter(&|v: &f64| bar_label(&labels, *v))
        .y_label_formatter(&|v: &f64| {
            if *v > 1.0 + 1e-9 {
                String::new()
            } else {
                style::fmt_tick(*v)
            }
        })
        .draw()?;
        // Bars take 60 % of their slot; seeds spread over the middle of the bar.
        let slot_px = {
            let (w, _) = chart.plotting_area().dim_in_pixel();
            (w / n.max(1) as u32) as i32
        };
        let half_bar = slot_px * 3 / 10;
        for (i, bar) in self.bars.iter().enumerate() {
            let x = i as f64;
            let Some(mean) = bar.mean() else {
                chart.draw_series(std::iter::once(
                    EmptyElement::at((x, 0.02))
                        + Text::new(
                            "no completed run",
                            (0, 0),
                            style::legend_font().pos(Pos::new(HPos::Center, VPos::Bottom)),
                        ),
                ))?;
                continue;
            };
            let std = bar.std();
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x - 0.3, 0.0), (x + 0.3, mean)],
                bar.color.mix(0.85).filled(),
            )))?;
            // Error bar with caps.
            let (lo, hi) = (mean - std, mean + std);
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, lo), (x, hi)],
                BLACK.stroke_width(2),
            )))?;
            chart.draw_series([lo, hi].into_iter().map(|y| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(-12, 0), (12, 0)], BLACK.stroke_width(2))
            }))?;
            chart.draw_series(seed_dots(x, &bar.seeds, half_bar, RGBColor(40, 40, 40)))?;
            // The published value at the bar's right edge, clear of the seeds.
            if let Some(p) = bar.published {
                chart.draw_series(std::iter::once(
                    EmptyElement::at((x, p))
                        + PathElement::new(
                            vec![(half_bar - 14, 0), (half_bar + 4, 0)],
                            BLACK.stroke_width(3),
                        ),
                ))?;
                chart.draw_series(std::iter::once(style::diamond((x, p), 11, half_bar + 14)))?;
            }
            // The numbers above the bar: the picture's scale hides differences
            // in the third decimal, the text does not.
            let top = [hi, bar.published.unwrap_or(0.0)]
                .into_iter()
                .chain(bar.seeds.iter().copied())
                .fold(mean, f64::max);
            // One seed has no spread to show: say so rather than print ± 0.
            let mut lines = vec![if bar.seeds.len() == 1 {
                format!("{mean:.4} (1 seed)")
            } else {
                format!("{mean:.4} ± {std:.4}")
            }];
            if let Some(p) = bar.published {
                lines.push(format!("published {p:.4}"));
            }
            let font = style::legend_font().pos(Pos::new(HPos::Center, VPos::Bottom));
            let count = lines.len() as i32;
            chart.draw_series(lines.into_iter().enumerate().map(|(j, line)| {
                EmptyElement::at((x, top))
                    + Text::new(line, (0, -16 - 25 * (count - 1 - j as i32)), font.clone())
            }))?;
        }
        self.draw_delta(&delta, &labels)
    }
}

impl Accuracy {
    /// The right panel: each seed's and the mean's distance from the published
    /// value in percentage points, at a scale where it shows.
    fn draw_delta<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        labels: &[String],
    ) -> DrawResult<DB> {
        let n = self.bars.len();
        let pp = |acc: f64, p: f64| 100.0 * (acc - p);
        let mut reach: f64 = 0.5;
        for bar in &self.bars {
            let (Some(p), Some(mean)) = (bar.published, bar.mean()) else {
                continue;
            };
            reach = reach.max(pp(mean, p).abs() + 100.0 * bar.std());
            for &a in &bar.seeds {
                reach = reach.max(pp(a, p).abs());
            }
        }
        let reach = reach * 1.15;
        let mut chart = ChartBuilder::on(area)
            .caption("measured − published", style::caption_font())
            .margin(10)
            .margin_right(24)
            .x_label_area_size(60)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5..n as f64 - 0.5, -reach..reach)?;
        initializer_mesh(
            &mut chart.configure_mesh(),
            n,
            "difference (percentage points)",
        )
        .x_label_formatter(&|v: &f64| bar_label(labels, *v))
        .y_label_formatter(&|v: &f64| {
            let s = style::fmt_tick_in(*v, &(-reach..reach));
            if *v > 0.0 {
                format!("+{s}")
            } else {
                s
            }
        })
        .draw()?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(-0.5, 0.0), (n as f64 - 0.5, 0.0)],
            BLACK.stroke_width(2),
        )))?;
        let half_bar = {
            let (w, _) = chart.plotting_area().dim_in_pixel();
            (w / n.max(1) as u32) as i32 * 3 / 10
        };
        for (i, bar) in self.bars.iter().enumerate() {
            let x = i as f64;
            let (Some(p), Some(mean)) = (bar.published, bar.mean()) else {
                chart.draw_series(std::iter::once(
                    EmptyElement::at((x, 0.0))
                        + Text::new(
                            "no published value",
                            (0, -8),
                            style::tick_font().pos(Pos::new(HPos::Center, VPos::Bottom)),
                        ),
                ))?;
                continue;
            };
            let (m, s) = (pp(mean, p), 100.0 * bar.std());
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, m - s), (x, m + s)],
                bar.color.stroke_width(3),
            )))?;
            chart.draw_series([m - s, m + s].into_iter().map(|y| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(-10, 0), (10, 0)], bar.color.stroke_width(3))
            }))?;
            chart.draw_series(std::iter::once(
                EmptyElement::at((x, m)) + Rectangle::new([(-7, -7), (7, 7)], bar.color.filled()),
            ))?;
            let deltas: Vec<f64> = bar.seeds.iter().map(|&a| pp(a, p)).collect();
            chart.draw_series(seed_dots(x, &deltas, half_bar, RGBColor(40, 40, 40)))?;
        }
        Ok(())
    }
}

/// A dot with a white rim at a chart point.
type SeedDot<DB> = plotters::element::ComposedElement<
    (f64, f64),
    DB,
    Circle<(i32, i32), i32>,
    Circle<(i32, i32), i32>,
>;

/// One dot per seed, spread over the left part of the bar so that equal
/// values do not hide each other and the centre (the error bar) stays clear.
fn seed_dots<DB: DrawingBackend>(
    x: f64,
    values: &[f64],
    half_bar: i32,
    color: RGBColor,
) -> Vec<SeedDot<DB>> {
    let k = values.len() as i32;
    let (left, right) = (-half_bar * 4 / 5, -half_bar / 4);
    values
        .iter()
        .enumerate()
        .map(|(j, &v)| {
            let dx = if k > 1 {
                left + (right - left) * j as i32 / (k - 1)
            } else {
                (left + right) / 2
            };
            EmptyElement::at((x, v))
                + Circle::new((dx, 0), 5, color.filled())
                + Circle::new((dx, 0), 5, WHITE.stroke_width(1))
        })
        .collect()
}

/// The tick label at `x`: bar `i` is centred on `x = i` and named by
/// `labels[i]`; ticks between bars stay blank.
fn bar_label(labels: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 1e-6 && i >= 0.0 {
        labels.get(i as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

/// The mesh both panels share: a tick per initializer along x and light
/// horizontal grid lines only.
fn initializer_mesh<'m, 'a, 'b, DB: DrawingBackend>(
    mesh: &'m mut MeshStyle<'a, 'b, RangedCoordf64, RangedCoordf64, DB>,
    n: usize,
    y_desc: &str,
) -> &'m mut MeshStyle<'a, 'b, RangedCoordf64, RangedCoordf64, DB> {
    mesh.disable_x_mesh()
        .x_desc("initializer")
        .y_desc(y_desc)
        .axis_desc_style(style::axis_font())
        .label_style(style::tick_font())
        .light_line_style(style::grid_color())
        .bold_line_style(BLACK.mix(0.2))
        .max_light_lines(1)
        .x_labels(n.max(2))
}
