//! Histograms: each layer's weights before and after training, and the atlas
//! of initializers.

use std::ops::Range;

use initlab_init::{init_rng, Scheme};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, Palette, Swatch};
use super::{DrawResult, Figure, Group};

/// Bins per histogram: fine enough for a bell's shape, coarse enough that
/// 1 280 weights (a 10 × 128 layer) still give a readable outline. Odd, so
/// that on a range symmetric about 0 the value 0 falls in the middle bin.
const BINS: usize = 61;

/// The atlas's weight shape, PyTorch layout (out, in): study 1's first layer.
const ATLAS_SHAPE: [usize; 2] = [128, 784];
/// The atlas's seed: any fixed value; the picture is the same in distribution.
const ATLAS_SEED: u64 = 0;

/// The schemes of the atlas: a reader's name and the spec that draws it.
const ATLAS: [(&str, &str); 15] = [
    ("zeros", "zeros"),
    ("N(0, 1)", "normal(mean=0,std=1)"),
    (
        "uniform ±0.05 (Keras RandomUniform)",
        "uniform(high=0.05,low=-0.05)",
    ),
    ("truncated N(0, 1) at ±2", "truncated-normal"),
    ("Glorot uniform", "xavier-uniform"),
    ("Glorot normal", "xavier-normal"),
    (
        "Glorot normal, truncated (Keras)",
        "xavier-normal(distribution=truncated-normal)",
    ),
    ("He uniform", "kaiming-uniform(nonlinearity=relu)"),
    ("He normal", "kaiming-normal(nonlinearity=relu)"),
    (
        "He normal, truncated (Keras)",
        "kaiming-normal(distribution=truncated-normal)",
    ),
    ("LeCun normal", "lecun-normal"),
    ("orthogonal", "orthogonal"),
    ("sparse, 90 % of each column 0", "sparse(sparsity=0.9)"),
    ("PyTorch nn.Linear default", "pytorch-linear-default"),
    ("identity", "identity"),
];

/// One histogram drawn over bins of `edges`.
struct Layer {
    /// Fraction of the values in each bin.
    fractions: Vec<f64>,
    color: RGBColor,
    /// Filled and translucent (before training, the atlas) or a line (after).
    filled: bool,
}

struct Panel {
    caption: String,
    /// The layer it shows (`layers.0`), for figures of one layer.
    layer: String,
    /// What the x axis measures.
    x_desc: &'static str,
    x: Range<f64>,
    layers: Vec<Layer>,
    /// Lines written inside the plot, in the head room above the bars.
    notes: Vec<String>,
}

/// `[min, max]` of the finite values, padded by 4 %; a single value gets ±1
/// (or ±10 % of itself) so that its spike sits in the middle.
fn value_range<'a>(sets: impl IntoIterator<Item = &'a [f32]>) -> Range<f64> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for set in sets {
        for &v in set.iter().filter(|v| v.is_finite()) {
            lo = lo.min(f64::from(v));
            hi = hi.max(f64::from(v));
        }
    }
    if !lo.is_finite() {
        return -1.0..1.0;
    }
    if hi - lo < 1e-12 {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return lo - pad..hi + pad;
    }
    let pad = (hi - lo) * 0.04;
    lo - pad..hi + pad
}

/// Fraction of the finite `values` in each of [`BINS`] bins over `range`.
fn histogram(values: &[f32], range: &Range<f64>) -> Vec<f64> {
    let mut counts = vec![0usize; BINS];
    let width = (range.end - range.start) / BINS as f64;
    let mut n = 0usize;
    for &v in values.iter().filter(|v| v.is_finite()) {
        let i = ((f64::from(v) - range.start) / width).floor();
        let i = (i.max(0.0) as usize).min(BINS - 1);
        counts[i] += 1;
        n += 1;
    }
    counts
        .into_iter()
        .map(|c| c as f64 / n.max(1) as f64)
        .collect()
}

fn std_dev(values: &[f32]) -> f64 {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    (values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

fn fmt_std(s: f64) -> String {
    style::fmt_sig(s, 3)
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Panel) -> DrawResult<DB> {
    let top = p
        .layers
        .iter()
        .flat_map(|l| l.fractions.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1e-3);
    // Head room for the notes, so they never sit on a bar.
    let y_max = top * (1.12 + 0.09 * p.notes.len() as f64);
    let mut chart = ChartBuilder::on(area)
        .caption(&p.caption, style::legend_font())
        .margin(8)
        .margin_right(22)
        .x_label_area_size(50)
        .y_label_area_size(76)
        .build_cartesian_2d(p.x.clone(), 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc(p.x_desc)
        .y_desc("fraction per bin")
        .axis_desc_style(style::tick_font())
        .label_style(style::tick_font())
        .light_line_style(style::grid_color())
        .bold_line_style(BLACK.mix(0.2))
        .x_labels(6)
        .y_labels(5)
        .max_light_lines(4)
        .x_label_formatter(&|v: &f64| style::fmt_tick_in(*v, &p.x))
        .y_label_formatter(&|v: &f64| style::fmt_tick(*v))
        .draw()?;
    for layer in &p.layers {
        let width = (p.x.end - p.x.start) / layer.fractions.len().max(1) as f64;
        // The outline of the bars: up, across and down each bin.
        let mut outline = vec![(p.x.start, 0.0)];
        for (i, &f) in layer.fractions.iter().enumerate() {
            let x0 = p.x.start + width * i as f64;
            outline.push((x0, f));
            outline.push((x0 + width, f));
        }
        outline.push((p.x.end, 0.0));
        if layer.filled {
            chart.draw_series(std::iter::once(Polygon::new(
                outline.clone(),
                layer.color.mix(0.35).filled(),
            )))?;
            chart.draw_series(std::iter::once(PathElement::new(
                outline,
                layer.color.mix(0.6).stroke_width(1),
            )))?;
        } else {
            chart.draw_series(std::iter::once(PathElement::new(
                outline,
                layer.color.stroke_width(3),
            )))?;
        }
    }
    let font = style::tick_font().pos(Pos::new(HPos::Left, VPos::Top));
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let base = area.get_base_pixel();
    for (i, note) in p.notes.iter().enumerate() {
        let at = (xs.start - base.0 + 8, ys.start - base.1 + 6 + 24 * i as i32);
        area.draw_text(note, &font, at)?;
    }
    Ok(())
}

/// Small multiples of histograms, one row per initializer and one column per
/// layer, each panel comparing two moments of one run (filled, then a line).
pub(crate) struct Multiples {
    title: String,
    columns: usize,
    legend: Vec<(String, RGBColor, Swatch)>,
    /// `None`: an empty cell (a shallower network's missing layer).
    panels: Vec<Option<Panel>>,
}

impl Multiples {
    fn new(title: String, columns: usize, labels: [&str; 2], panels: Vec<Option<Panel>>) -> Self {
        let grey = RGBColor(90, 90, 90);
        Multiples {
            title,
            columns: columns.max(1),
            legend: vec![
                (format!("{} (filled)", labels[0]), grey, Swatch::Shade),
                (format!("{} (line)", labels[1]), grey, Swatch::Line),
            ],
            panels,
        }
    }

    /// Each weight matrix before and after training, from the first seed of
    /// each initializer.
    pub(crate) fn weights(study: &str, groups: &[Group]) -> Self {
        let title = format!(
            "{study}: weights before and after training (first seed of each initializer; own x-axis per panel)"
        );
        Multiples::first_seed_rows(
            title,
            groups,
            ["before training", "after training"],
            weight_panels,
        )
    }

    /// Each hidden layer's outputs on the fixed trace batch, at initialization
    /// and after training, from the first seed of each initializer.
    pub(crate) fn activations(study: &str, groups: &[Group]) -> Self {
        let title = format!(
            "{study}: hidden-layer outputs on fixed validation images (first seed of each initializer)"
        );
        Multiples::first_seed_rows(
            title,
            groups,
            ["at initialization", "after training"],
            activation_panels,
        )
    }

    /// One row of panels per initializer, drawn by `row_of` from its first
    /// seed; initializers with no run are skipped.
    fn first_seed_rows(
        title: String,
        groups: &[Group],
        labels: [&str; 2],
        row_of: fn(&str, &initlab_train::RunRecord, RGBColor) -> Vec<Panel>,
    ) -> Self {
        let mut panels = Vec::new();
        let mut columns = 0;
        for g in groups {
            let Some(run) = g.runs.first() else { continue };
            let row = row_of(&g.label, run, g.color);
            columns = columns.max(row.len());
            panels.extend(row.into_iter().map(Some));
        }
        Multiples::new(title, columns, labels, panels)
    }

    /// Small multiples for a grid of configurations, one run each: with few
    /// configurations one row per configuration and one column per layer
    /// (rows padded where a shallower network has fewer layers); with many,
    /// one panel per configuration for `layer` alone, `columns` to a row.
    pub(crate) fn of_configs(
        title: String,
        configs: &[ConfigRun],
        what: Histograms,
        layer: Option<&str>,
        columns: usize,
    ) -> Self {
        let panels_of = |c: &ConfigRun| match what {
            Histograms::Weights => weight_panels(&c.name, c.run, c.color),
            Histograms::Activations => {
                let mut panels = activation_panels(&c.name, c.run, c.color);
                // The activation scale is what separates a grid's points (and
                // what explodes in a deep N(0, 1) network): print it.
                for (p, a) in panels.iter_mut().zip(&c.run.activations) {
                    p.caption = p.caption.trim_end_matches(" output").to_string();
                    p.notes.push(format!(
                        "std {} → {}",
                        fmt_std(f64::from(a.std[0])),
                        fmt_std(f64::from(a.std[1]))
                    ));
                }
                panels
            }
        };
        let labels = match what {
            Histograms::Weights => ["before training", "after training"],
            Histograms::Activations => ["at initialization", "after training"],
        };
        let mut panels = Vec::new();
        match layer {
            Some(layer) => {
                for c in configs {
                    let found = panels_of(c).into_iter().find(|p| p.layer == layer);
                    panels.push(found);
                }
                Multiples::new(title, columns, labels, panels)
            }
            None => {
                let rows: Vec<Vec<Panel>> = configs.iter().map(panels_of).collect();
                let columns = rows.iter().map(Vec::len).max().unwrap_or(1);
                for (row, c) in rows.into_iter().zip(configs) {
                    let n = row.len();
                    // The row's configuration is named once, in its first panel.
                    let prefix = format!("{} · ", c.name);
                    let row = row.into_iter().enumerate().map(|(i, mut p)| {
                        if i > 0 {
                            p.caption = p.caption.trim_start_matches(&prefix).to_string();
                        }
                        p
                    });
                    panels.extend(row.map(Some));
                    panels.extend((n..columns).map(|_| None));
                }
                Multiples::new(title, columns, labels, panels)
            }
        }
    }

    /// Whether there is anything to draw.
    pub(crate) fn has_data(&self) -> bool {
        self.panels.iter().any(Option::is_some)
    }

    fn rows(&self) -> usize {
        self.panels.len().div_ceil(self.columns).max(1)
    }
}

/// A filled histogram and a line over it, in one initializer's colour.
fn two_layers(filled: Vec<f64>, line: Vec<f64>, color: RGBColor) -> Vec<Layer> {
    vec![
        Layer {
            fractions: filled,
            color,
            filled: true,
        },
        Layer {
            fractions: line,
            color,
            filled: false,
        },
    ]
}

/// One run of a grid, named by its configuration, in its colour.
pub(crate) struct ConfigRun<'a> {
    pub name: String,
    pub color: RGBColor,
    pub run: &'a initlab_train::RunRecord,
}

/// Which histograms a figure of configurations shows.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Histograms {
    /// Every weight matrix, before and after training.
    Weights,
    /// Every hidden layer's outputs, at initialization and after training.
    Activations,
}

/// A run's weight matrices, before (filled) and after (line) training.
fn weight_panels(name: &str, run: &initlab_train::RunRecord, color: RGBColor) -> Vec<Panel> {
    let mut panels = Vec::new();
    for before in run.initial_params.iter().filter(|t| t.shape.len() >= 2) {
        let Some(after) = run.final_params.iter().find(|t| t.name == before.name) else {
            continue;
        };
        let range = value_range([before.values.as_slice(), after.values.as_slice()]);
        let shape: Vec<String> = before.shape.iter().map(usize::to_string).collect();
        panels.push(Panel {
            caption: format!("{} · {} ({})", name, before.name, shape.join("×")),
            layer: before.name.trim_end_matches(".weight").to_string(),
            x_desc: "weight value",
            layers: two_layers(
                histogram(&before.values, &range),
                histogram(&after.values, &range),
                color,
            ),
            x: range,
            notes: vec![format!(
                "std {} → {}",
                fmt_std(std_dev(&before.values)),
                fmt_std(std_dev(&after.values))
            )],
        });
    }
    panels
}

/// A run's hidden-layer outputs, at initialization (filled) and after training (line).
fn activation_panels(name: &str, run: &initlab_train::RunRecord, color: RGBColor) -> Vec<Panel> {
    let pct = |f: f32| format!("{:.0} %", 100.0 * f);
    let fractions = |h: &[f32]| h.iter().map(|&f| f64::from(f)).collect();
    run.activations
        .iter()
        .map(|a| Panel {
            caption: format!("{} · {} output", name, a.layer),
            layer: a.layer.clone(),
            x_desc: "activation value",
            x: f64::from(a.range[0])..f64::from(a.range[1]),
            layers: two_layers(
                fractions(&a.histogram[0]),
                fractions(&a.histogram[1]),
                color,
            ),
            notes: vec![
                format!(
                    "dead units {} → {}",
                    pct(a.dead_fraction[0]),
                    pct(a.dead_fraction[1])
                ),
                format!(
                    "outputs in flat region {} → {}",
                    pct(a.flat_fraction[0]),
                    pct(a.flat_fraction[1])
                ),
            ],
        })
        .collect()
}

impl Figure for Multiples {
    fn size(&self) -> (u32, u32) {
        (
            (720 * self.columns as u32).clamp(1200, 2200),
            110 + 340 * self.rows() as u32,
        )
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let used = style::legend(area, &self.legend)?;
        let (_, body) = area.split_vertically(used + 4);
        for (cell, panel) in body
            .split_evenly((self.rows(), self.columns))
            .iter()
            .zip(&self.panels)
        {
            if let Some(panel) = panel {
                draw_panel(cell, panel)?;
            }
        }
        Ok(())
    }
}

/// For one weight shape, a histogram of each scheme's samples.
pub(crate) struct Atlas {
    panels: Vec<Panel>,
}

impl Atlas {
    /// Samples every scheme of [`ATLAS`]; an error names the spec.
    pub(crate) fn sample() -> Result<Self, String> {
        let panels = ATLAS
            .iter()
            .map(|(name, spec)| {
                let scheme: Scheme = spec.parse().map_err(|e| format!("{spec}: {e}"))?;
                let values = scheme
                    .sample(&ATLAS_SHAPE, &mut init_rng(ATLAS_SEED))
                    .map_err(|e| format!("{spec}: {e}"))?;
                let range = value_range([values.as_slice()]);
                let zeros = values.iter().filter(|&&v| v == 0.0).count() as f64
                    / values.len().max(1) as f64;
                let mut notes = vec![
                    spec.to_string(),
                    format!("std {}", fmt_std(std_dev(&values))),
                ];
                if zeros > 0.01 {
                    if let Some(last) = notes.last_mut() {
                        last.push_str(&format!(" · {:.1} % exactly 0", 100.0 * zeros));
                    }
                }
                Ok(Panel {
                    caption: name.to_string(),
                    layer: String::new(),
                    x_desc: "weight value",
                    layers: vec![Layer {
                        fractions: histogram(&values, &range),
                        color: Palette::color(0),
                        filled: true,
                    }],
                    x: range,
                    notes,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Atlas { panels })
    }
}

impl Figure for Atlas {
    fn size(&self) -> (u32, u32) {
        (1650, 80 + 360 * self.panels.len().div_ceil(3) as u32)
    }

    fn title(&self) -> String {
        let [out, inp] = ATLAS_SHAPE;
        format!(
            "Atlas of initializers: the {} values of one {out}×{inp} weight (fan-in {inp}, fan-out {out}), seed {ATLAS_SEED}; own x-axis per panel",
            style::fmt_count(out * inp)
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let rows = self.panels.len().div_ceil(3);
        for (cell, panel) in area.split_evenly((rows, 3)).iter().zip(&self.panels) {
            draw_panel(cell, panel)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_fractions_sum_to_one_and_clamp_the_ends() {
        let r = value_range([[0.0f32, 1.0, 2.0, 3.0].as_slice()]);
        let h = histogram(&[0.0, 1.0, 2.0, 3.0, f32::NAN], &r);
        assert!((h.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(h.len(), BINS);
        let spike = value_range([[0.0f32; 4].as_slice()]);
        assert_eq!(spike, -1.0..1.0);
        assert_eq!(histogram(&[0.0; 4], &spike)[BINS / 2], 1.0);
    }

    #[test]
    fn every_atlas_spec_samples() {
        let atlas = Atlas::sample().expect("atlas");
        assert_eq!(atlas.panels.len(), ATLAS.len());
    }
}
