//! A grid of classifiers (study 2, `mlp-depth`, has this shape): runs are
//! grouped by the grid's `part` axis, and each part is shown by how many
//! other axes it has:
//!
//! - two or more (activation × optimizer): a table and a heat map of test
//!   accuracy over the axes' combinations × initializers, and a verdict per
//!   combination on the claimed ordering of initializers;
//! - one (depth): a table per value × initializer with test loss, diverged
//!   runs and the published numbers, why a diverged point diverged (the
//!   activation scale at initialization, per layer), and test accuracy per epoch;
//! - none (one published cell run as a variant): the variant against the grid
//!   point whose configuration differs least, and what the difference does.
//!
//! Weights and activations are small multiples, one panel per configuration.

use std::path::Path;

use initlab_train::{RunRecord, RunStatus};
use plotters::style::RGBColor;

use super::recurrent::mean_over_seeds;
use super::render::{code, Block};
use super::theory;
use super::verdict::{fmt_stat, judge, Entry};
use super::Rendered;
use super::{config_diff, config_value, figure, flat_config, notes, path_safe, Section};
use crate::plots::heatmap::{Cell, Heatmap};
use crate::plots::multiples::{Line, LinePanel, Lines, YAxis};
use crate::plots::style::Swatch;
use crate::plots::{render, ConfigRun, Histograms, Multiples, Palette};
use crate::Stat;

/// The ordering study 2's source claims, as tiers of initializer specs (by
/// prefix, so any Xavier or Kaiming variant counts): the notebook published no
/// per-cell numbers to derive it from.
const CLAIM: [(&str, &[&str]); 3] = [
    ("Xavier/Kaiming", &["xavier", "kaiming"]),
    ("N(0,1)", &["normal"]),
    ("zeros", &["zeros"]),
];

/// This project's extension, judged the same way where a grid has LSUV
/// points: does LSUV beat the best of the claim's top tier?
const LSUV_CLAIM: [(&str, &[&str]); 2] = [
    ("LSUV", &["lsuv"]),
    ("Xavier/Kaiming", &["xavier", "kaiming"]),
];

/// The runs of one value of the `part` axis (all runs when there is none).
struct Part<'a> {
    name: Option<String>,
    /// The grid axes besides `part`, in grid order.
    axes: Vec<String>,
    points: Vec<Point<'a>>,
}

/// One grid point: its axes' values (besides `part`) and initializer, over seeds.
struct Point<'a> {
    key: Vec<String>,
    label: String,
    color: RGBColor,
    runs: Vec<&'a RunRecord>,
}

impl Point<'_> {
    fn accuracy(&self) -> Option<Stat> {
        Stat::of(self.complete().map(|r| r.test_accuracy).collect::<Vec<_>>())
    }

    fn loss(&self) -> Option<Stat> {
        Stat::of(self.complete().map(|r| r.test_loss).collect::<Vec<_>>())
    }

    fn complete(&self) -> impl Iterator<Item = &&RunRecord> {
        self.runs.iter().filter(|r| r.status == RunStatus::Complete)
    }

    fn diverged(&self) -> Vec<&RunRecord> {
        self.runs
            .iter()
            .copied()
            .filter(|r| r.status == RunStatus::Diverged)
            .collect()
    }

    fn published(&self) -> Option<f64> {
        self.runs.iter().find_map(|r| r.published)
    }

    fn published_metric(&self, name: &str) -> Option<f64> {
        self.runs.iter().find_map(|r| {
            r.published_metrics
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| *v)
        })
    }

    /// `relu/sgd · xavier-uniform`.
    fn name(&self) -> String {
        if self.key.is_empty() {
            self.label.clone()
        } else {
            format!("{} · {}", self.key.join("/"), self.label)
        }
    }

    /// The first seed's run, whose weights and activations the figures show.
    fn first(&self) -> Option<&RunRecord> {
        self.runs.first().copied()
    }
}

/// The grid section's blocks and figures.
pub(super) fn blocks(section: &Section, dir: &Path, out: &Path) -> Rendered {
    let parts = parts(&section.records);
    let mut b = Vec::new();
    let mut plots = Vec::new();
    for part in &parts {
        let heading = match &part.name {
            Some(n) => format!("Part `{}`", code(n)),
            None => "Results".into(),
        };
        b.push(Block::H(3, heading));
        let stem = part.name.as_deref().map_or("grid".into(), path_safe);
        let (blocks, figures) = match part.axes.len() {
            0 => variant(section, part, &parts, dir, out, &stem)?,
            1 => one_axis(section, part, dir, out, &stem)?,
            _ => factorial(section, part, dir, out, &stem)?,
        };
        b.extend(blocks);
        plots.extend(figures);
        let firsts: Vec<(String, &RunRecord)> = part
            .points
            .iter()
            .filter_map(|p| Some((p.name(), p.first()?)))
            .collect();
        b.extend(theory::mlp_predictions(&firsts));
    }
    b.extend(notes::study_notes(section));
    Ok((b, plots))
}

/// Splits the runs by `part`, then by grid point; labels get their colours
/// over the whole study, so an initializer looks the same in every part.
fn parts(records: &[RunRecord]) -> Vec<Part<'_>> {
    let mut labels: Vec<&str> = records.iter().map(|r| r.label.as_str()).collect();
    labels.sort_unstable();
    labels.dedup();
    let part_of = |r: &RunRecord| {
        r.grid
            .iter()
            .find(|(a, _)| a == "part")
            .map(|(_, v)| v.clone())
    };
    let mut parts: Vec<Part> = Vec::new();
    for r in records {
        let name = part_of(r);
        let key: Vec<String> = r
            .grid
            .iter()
            .filter(|(a, _)| a != "part")
            .map(|(_, v)| v.clone())
            .collect();
        let part = match parts.iter().position(|p| p.name == name) {
            Some(i) => &mut parts[i],
            None => {
                parts.push(Part {
                    name: name.clone(),
                    axes: r
                        .grid
                        .iter()
                        .filter(|(a, _)| a != "part")
                        .map(|(a, _)| a.clone())
                        .collect(),
                    points: Vec::new(),
                });
                let last = parts.len() - 1;
                &mut parts[last]
            }
        };
        match part
            .points
            .iter_mut()
            .find(|p| p.key == key && p.label == r.label)
        {
            Some(p) => p.runs.push(r),
            None => part.points.push(Point {
                key,
                label: r.label.clone(),
                color: Palette::color(labels.iter().position(|l| *l == r.label).unwrap_or(0)),
                runs: vec![r],
            }),
        }
    }
    for p in &mut parts {
        p.points
            .sort_by(|a, b| (&a.key, &a.label).cmp(&(&b.key, &b.label)));
        for point in &mut p.points {
            point
                .runs
                .sort_by(|a, b| (a.replicate, &a.run_id).cmp(&(b.replicate, &b.run_id)));
        }
    }
    parts.sort_by(|a, b| a.name.cmp(&b.name));
    parts
}

/// Distinct values in first-seen (sorted) order.
fn distinct<T: PartialEq + Clone>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// `0.9512 ± 0.0031`, `0.9512 (1 seed)`, `– (3 diverged)`.
fn accuracy_text(p: &Point) -> String {
    let mut text = match p.accuracy() {
        Some(s) if s.n > 1 => fmt_stat(&s),
        Some(s) => format!("{} (1 seed)", fmt_stat(&s)),
        None => "–".into(),
    };
    let d = p.diverged().len();
    if d > 0 {
        text.push_str(&format!(" ({d} of {} diverged)", p.runs.len()));
    }
    text
}

/// Two or more axes: the table, the heat map and the verdicts.
fn factorial(section: &Section, part: &Part, dir: &Path, out: &Path, stem: &str) -> Rendered {
    let rows: Vec<Vec<String>> = distinct(part.points.iter().map(|p| p.key.clone()));
    let labels: Vec<String> = distinct(part.points.iter().map(|p| p.label.clone()));
    let point = |key: &Vec<String>, label: &str| {
        part.points
            .iter()
            .find(|p| &p.key == key && p.label == label)
    };
    let axes = part.axes.join(" / ");
    let mut head = vec![axes.clone()];
    head.extend(labels.iter().map(|l| format!("`{}`", code(l))));
    let table_rows = rows
        .iter()
        .map(|key| {
            let mut row = vec![key.join(" / ")];
            row.extend(
                labels
                    .iter()
                    .map(|l| point(key, l).map_or("–".into(), accuracy_text)),
            );
            row
        })
        .collect();
    let mut b = vec![
        Block::P(format!(
            "Test accuracy, mean ± sample standard deviation over the completed seeds, by {} \
             (rows) and initializer (columns); a diverged run is counted, not averaged.",
            part.axes.join(" × ")
        )),
        Block::Key(Box::new(Block::Table {
            head,
            right: std::iter::once(false)
                .chain(labels.iter().map(|_| true))
                .collect(),
            rows: table_rows,
        })),
    ];

    let heatmap = Heatmap {
        title: format!(
            "{}: test accuracy by {} and initializer",
            section.study,
            part.axes.join(" × ")
        ),
        value_desc: "test accuracy".into(),
        range: (0.0, 1.0),
        rows: rows.iter().map(|k| k.join(" / ")).collect(),
        columns: labels.clone(),
        cells: rows
            .iter()
            .map(|key| {
                labels
                    .iter()
                    .map(|l| {
                        point(key, l).map(|p| {
                            let s = p.accuracy();
                            Cell {
                                mean: s.as_ref().map_or(f64::NAN, |s| s.mean),
                                std: s.as_ref().map_or(0.0, |s| s.std),
                                n: s.as_ref().map_or(0, |s| s.n),
                                diverged: p.diverged().len(),
                            }
                        })
                    })
                    .collect()
            })
            .collect(),
    };
    let mut plots = vec![render(&heatmap, dir, &format!("{stem}-heatmap"))?];
    b.push(figure(
        &plots[0],
        "Colour: mean test accuracy over seeds on a fixed 0–1 scale; text: mean ± sample \
         standard deviation, and the number of seeds. The same numbers as the table."
            .into(),
        out,
    ));

    // The verdicts, one per combination of the axes.
    let verdicts_of = |claim: &[(&str, &[&str])]| -> Vec<String> {
        let names: Vec<String> = claim.iter().map(|(n, _)| n.to_string()).collect();
        rows.iter()
            .filter_map(|key| {
                let tiers: Vec<Vec<Entry>> = claim
                    .iter()
                    .map(|(_, prefixes)| {
                        part.points
                            .iter()
                            .filter(|p| &p.key == key)
                            .filter(|p| {
                                p.first().is_some_and(|r| {
                                    prefixes.iter().any(|x| r.initializer.starts_with(x))
                                })
                            })
                            .map(|p| Entry {
                                label: p.label.clone(),
                                stat: p.accuracy(),
                            })
                            .collect()
                    })
                    .collect();
                if tiers.iter().any(Vec::is_empty) {
                    return None;
                }
                let (outcome, why) = judge(&tiers, &names);
                Some(format!(
                    "**{}**: {} ({why}).",
                    key.join(" / "),
                    outcome.text()
                ))
            })
            .collect()
    };
    let verdicts = verdicts_of(&CLAIM);
    if !verdicts.is_empty() {
        b.push(Block::P(format!(
            "Does the claimed ordering {} hold? Judged per {} on test accuracy: the lowest \
             mean of a tier against the highest of the next, each ± one sample standard \
             deviation over seeds; \"within the seed spread\" where those intervals overlap \
             (with one seed the means decide alone).",
            CLAIM.map(|(n, _)| n).join(" > "),
            axes
        )));
        b.push(Block::Ul(verdicts));
    }
    let extension = verdicts_of(&LSUV_CLAIM);
    if !extension.is_empty() {
        b.push(Block::P(format!(
            "Extension, not a published claim: does LSUV beat Xavier/Kaiming, {} judged the \
             same way per {}?",
            LSUV_CLAIM.map(|(n, _)| n).join(" > "),
            axes
        )));
        b.push(Block::Ul(extension));
    }

    // Weights and activations: one figure per layer, one panel per configuration.
    let configs = config_runs(part);
    let columns = labels.len().max(1);
    for (what, word, layers) in [
        (Histograms::Weights, "weights", weight_layers(&configs)),
        (
            Histograms::Activations,
            "activations",
            activation_layers(&configs),
        ),
    ] {
        for layer in layers {
            let title = histogram_title(&section.study, what, Some(&layer));
            let m = Multiples::of_configs(title, &configs, what, Some(&layer), columns);
            if m.has_data() {
                let plot = render(&m, dir, &format!("{stem}-{word}-{}", path_safe(&layer)))?;
                b.push(figure(&plot, histogram_caption(what, true), out));
                plots.push(plot);
            }
        }
    }
    Ok((b, plots))
}

/// `per_layer`: one figure per layer, a panel per configuration (rows: the
/// grid's axes, columns: initializers); else a row per configuration and a
/// column per layer.
/// Each grid point's first seed, named and coloured as in the tables: the
/// panels of the histogram small multiples.
fn config_runs<'p>(part: &'p Part<'_>) -> Vec<ConfigRun<'p>> {
    part.points
        .iter()
        .filter_map(|p| {
            Some(ConfigRun {
                name: p.name(),
                color: p.color,
                run: p.first()?,
            })
        })
        .collect()
}

fn histogram_caption(what: Histograms, per_layer: bool) -> String {
    let layout = if per_layer {
        "One panel per configuration (row: the grid's axes, column: initializer)"
    } else {
        "One row per configuration (named in its first panel), one column per layer"
    };
    match what {
        Histograms::Weights => format!(
            "{layout}: the weights before training (filled) and after (line), with their \
             standard deviations."
        ),
        Histograms::Activations => format!(
            "{layout}: the layer's outputs on the same 256 validation images at initialization \
             (filled) and after training (line), with the fractions of dead units and of outputs \
             where the nonlinearity's gradient vanishes, and the standard deviation (the \
             activation scale). A diverged run's histograms share one range with its non-finite \
             or huge values after training, which squeezes the rest against the edge."
        ),
    }
}

/// The layers with a weight matrix, in the first configuration's order.
fn weight_layers(configs: &[ConfigRun]) -> Vec<String> {
    distinct(configs.iter().flat_map(|c| {
        c.run
            .initial_params
            .iter()
            .filter(|t| t.shape.len() >= 2)
            .map(|t| t.name.trim_end_matches(".weight").to_string())
    }))
}

fn activation_layers(configs: &[ConfigRun]) -> Vec<String> {
    distinct(
        configs
            .iter()
            .flat_map(|c| c.run.activations.iter().map(|a| a.layer.clone())),
    )
}

/// One axis: the table with losses, divergence and published numbers,
/// why diverged points diverged, and test accuracy per epoch.
fn one_axis(section: &Section, part: &Part, dir: &Path, out: &Path, stem: &str) -> Rendered {
    let axis = part.axes.first().cloned().unwrap_or_default();
    let rows = part
        .points
        .iter()
        .map(|p| {
            let diverged = p.diverged();
            let epochs: Vec<String> = distinct(
                diverged
                    .iter()
                    .filter_map(|r| metric(r, "diverged_epoch").map(|e| format!("{e:.0}"))),
            );
            let diverged_text = match diverged.len() {
                0 => "0".to_string(),
                d => format!("{d} of {} (epoch {})", p.runs.len(), epochs.join(", ")),
            };
            let published = p.published();
            let published_loss = p.published_metric("test_loss");
            let delta = match (p.accuracy(), published) {
                (Some(s), Some(pb)) => format!("{:+.4}", s.mean - pb),
                _ => "–".into(),
            };
            vec![
                format!("`{}`", code(&p.key.join("/"))),
                format!("`{}`", code(&p.label)),
                accuracy_text(p),
                p.loss().map_or("–".into(), |s| format!("{:.4}", s.mean)),
                diverged_text,
                published.map_or("–".into(), |v| format!("{v:.4}")),
                published_loss.map_or("–".into(), |v| format!("{v:.4}")),
                delta,
            ]
        })
        .collect();
    let mut b = vec![Block::table(
        &[
            axis.as_str(),
            "initializer",
            "test accuracy (mean ± std)",
            "test loss (mean)",
            "diverged",
            "published accuracy",
            "published loss",
            "measured − published",
        ],
        &[false, false, true, true, true, true, true, true],
        rows,
    )];
    b.extend(differences(part));
    b.extend(divergence(part));

    // Test accuracy per epoch (validation where the test set was not scored
    // every epoch): one panel per value of the axis, one line per initializer.
    let values: Vec<Vec<String>> = distinct(part.points.iter().map(|p| p.key.clone()));
    let tested = part
        .points
        .iter()
        .flat_map(|p| &p.runs)
        .any(|r| r.curves.iter().any(|(n, _)| n == "test_accuracy"));
    let what = if tested { "test" } else { "validation" };
    let panels = values
        .iter()
        .map(|key| LinePanel {
            caption: format!("{axis} = {}", key.join("/")),
            lines: part
                .points
                .iter()
                .filter(|p| &p.key == key)
                .map(|p| Line {
                    color: p.color,
                    points: mean_over_seeds(p.runs.iter().map(|r| accuracy_series(r, tested))),
                })
                .collect(),
            hlines: Vec::new(),
            vlines: Vec::new(),
            notes: Vec::new(),
        })
        .collect();
    let legend = distinct(part.points.iter().map(|p| (p.label.clone(), p.color)))
        .into_iter()
        .map(|(l, c)| (l, c, Swatch::Line))
        .collect();
    let lines = Lines {
        title: format!("{}: {what} accuracy per epoch, by {axis}", section.study),
        legend,
        x_desc: "epoch".into(),
        y_desc: format!("{what} accuracy"),
        y_axis: YAxis::Auto,
        markers: true,
        columns: values.len().max(1),
        panels,
    };
    let mut plots = Vec::new();
    if lines.has_data() {
        let plot = render(&lines, dir, &format!("{stem}-accuracy-epoch"))?;
        b.push(figure(
            &plot,
            format!(
                "Mean over seeds of the {what} accuracy after each epoch; a diverged run's \
                 curve stops where its loss became non-finite."
            ),
            out,
        ));
        plots.push(plot);
    }
    let configs = config_runs(part);
    for (what, word) in [
        (Histograms::Activations, "activations"),
        (Histograms::Weights, "weights"),
    ] {
        let title = histogram_title(&section.study, what, None);
        let m = Multiples::of_configs(title, &configs, what, None, 1);
        if m.has_data() {
            let plot = render(&m, dir, &format!("{stem}-{word}"))?;
            b.push(figure(&plot, histogram_caption(what, false), out));
            plots.push(plot);
        }
    }
    Ok((b, plots))
}

/// The title of a histogram figure: of one `layer`, a panel per
/// configuration; of every layer (`None`), a row per configuration.
fn histogram_title(study: &str, what: Histograms, layer: Option<&str>) -> String {
    match (what, layer) {
        (Histograms::Weights, Some(layer)) => format!(
            "{study}: {layer} weights before and after training, per configuration (first seed; own x-axis per panel)"
        ),
        (Histograms::Activations, Some(layer)) => format!(
            "{study}: {layer} outputs on fixed validation images, per configuration (first seed)"
        ),
        (Histograms::Weights, None) => format!(
            "{study}: weights before and after training, one row per configuration (first seed; own x-axis per panel)"
        ),
        (Histograms::Activations, None) => format!(
            "{study}: hidden-layer outputs on fixed validation images, one row per configuration (first seed)"
        ),
    }
}

/// The test accuracy per epoch where the test set was scored every epoch,
/// else the validation accuracy.
fn accuracy_series(r: &RunRecord, tested: bool) -> &[f32] {
    if tested {
        r.curves
            .iter()
            .find(|(n, _)| n == "test_accuracy")
            .map_or(&[], |(_, v)| v.as_slice())
    } else {
        &r.val_accuracy
    }
}

fn metric(r: &RunRecord, name: &str) -> Option<f64> {
    r.metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
}

/// One sentence per grid point whose measured accuracy differs from the
/// published one, saying why it may.
fn differences(part: &Part) -> Vec<Block> {
    let mut items = Vec::new();
    for p in &part.points {
        let Some(published) = p.published() else {
            continue;
        };
        let name = format!("`{}`", code(&p.name()));
        let get = |k: &str| p.first().and_then(|r| config_value(r, k));
        let limited = get("training.train_limit").map(|n| {
            format!(
                "this profile trains on the first {n} training images for {} epoch(s) only, \
                 so its numbers show the structure, not the source's results",
                get("training.epochs").unwrap_or_else(|| "?".into())
            )
        });
        match p.accuracy() {
            None => {
                let share = p.diverged().iter().find_map(|r| metric(r, "class_0_share"));
                let share_text = share.map_or(String::new(), |s| {
                    format!(
                        "; the test set's share of class 0, which PyTorch's argmax of NaN logits \
                         predicts for every image, is {s:.4} here"
                    )
                });
                items.push(format!(
                    "{name}: published {published:.4}, measured: every run diverged (test \
                     accuracy NaN){share_text}. The published number is a diverged network's \
                     too, so the two agree in kind; the share differs only where the test set \
                     does (this profile scores a subset when it sets `training.eval_limit`)."
                ));
            }
            Some(s) if (s.mean - published).abs() < 5e-4 => {}
            Some(s) => {
                let why = if let Some(limited) = &limited {
                    limited.clone()
                } else if s.n > 1 && (s.mean - published).abs() <= 2.0 * s.std {
                    "within two seed standard deviations: the source's one unseeded run is one \
                     draw from the same spread"
                        .to_string()
                } else {
                    format!(
                        "the source's number is one unseeded run, this is the mean of {} \
                         seeded run{}, so a difference beyond the seed spread is a real one \
                         (a different split, data order or framework detail)",
                        s.n,
                        if s.n == 1 { "" } else { "s" }
                    )
                };
                let loss = match (p.published_metric("test_loss"), p.loss()) {
                    (Some(pl), Some(l)) => format!(
                        " Test loss: published {pl:.4}, measured {} ({:+.4}).",
                        fmt_stat(&l),
                        l.mean - pl
                    ),
                    _ => String::new(),
                };
                items.push(format!(
                    "{name}: published {published:.4}, measured {} ({:+.4}): {why}.{loss}",
                    fmt_stat(&s),
                    s.mean - published
                ));
            }
        }
    }
    if items.is_empty() {
        return Vec::new();
    }
    vec![
        Block::P("Where measured and published differ:".into()),
        Block::Ul(items),
    ]
}

/// Why a grid point diverged: the scale of each hidden layer's outputs at
/// initialization, from the stored activation statistics of its first
/// diverged run, and how fast it grows from layer to layer.
fn divergence(part: &Part) -> Vec<Block> {
    let mut b = Vec::new();
    for p in &part.points {
        let Some(run) = p.diverged().first().copied() else {
            continue;
        };
        let stds: Vec<(String, f64)> = run
            .activations
            .iter()
            .map(|a| (a.layer.clone(), f64::from(a.std[0])))
            .filter(|(_, s)| s.is_finite())
            .collect();
        let at = match (metric(run, "diverged_epoch"), metric(run, "diverged_step")) {
            (Some(e), Some(s)) => format!(" in epoch {e:.0} (step {s:.0})"),
            (Some(e), None) => format!(" in epoch {e:.0}"),
            _ => String::new(),
        };
        let mut text = format!(
            "**Why `{}` diverged.** Its loss became non-finite{at} in {} of {} runs (run `{}`).",
            code(&p.name()),
            p.diverged().len(),
            p.runs.len(),
            code(&run.run_id)
        );
        if let (Some(first), Some(last)) = (stds.first(), stds.last()) {
            let list: Vec<String> = stds
                .iter()
                .map(|(l, s)| format!("`{}` {}", code(l), crate::plots::style::fmt_sig(*s, 3)))
                .collect();
            let growth = if stds.len() > 1 && first.1 > 0.0 {
                format!(
                    ", a factor of about {} per layer",
                    crate::plots::style::fmt_sig(
                        (last.1 / first.1).powf(1.0 / (stds.len() - 1) as f64),
                        2
                    )
                )
            } else {
                String::new()
            };
            text.push_str(&format!(
                " The number that explodes is the activation scale: at initialization the \
                 standard deviation of each hidden layer's outputs on the 256 probe images was \
                 {}{growth} (`activations/<layer>/std`, row 0). N(0, 1) weights ignore the \
                 fan-in, so each layer multiplies its input's scale by about √(fan-in/2) for \
                 ReLU; the logits come out of the last layer at a scale the softmax cannot \
                 take, the first gradients are as large, and the loss overflows.",
                list.join(", ")
            ));
        } else {
            text.push_str(" Its activation statistics at initialization are not stored.");
        }
        b.push(Block::P(text));
    }
    b
}

/// A part with no axes of its own: each point against the grid point, in
/// another part, of the same initializer whose configuration differs least.
fn variant(
    section: &Section,
    part: &Part,
    parts: &[Part],
    dir: &Path,
    out: &Path,
    stem: &str,
) -> Rendered {
    let mut b = Vec::new();
    let mut rows = Vec::new();
    let mut configs = Vec::new();
    let mut keys_seen: Vec<String> = Vec::new();
    for p in &part.points {
        let Some(run) = p.first() else { continue };
        let mine = flat_config(&run.config_json);
        let twin = parts
            .iter()
            .filter(|q| q.name != part.name)
            .flat_map(|q| q.points.iter().map(move |t| (q, t)))
            .filter(|(_, t)| t.label == p.label)
            .filter_map(|(q, t)| {
                let diff = config_diff(&mine, &flat_config(&t.first()?.config_json));
                Some((diff.len(), q, t, diff))
            })
            .min_by_key(|(n, ..)| *n);
        let value = |k: &str, c: &[(String, String)]| {
            c.iter()
                .find(|(key, _)| key == k)
                .map_or("(absent)".to_string(), |(_, v)| v.clone())
        };
        let mut row = |name: String, point: &Point, setting: String| {
            let published = point.published();
            rows.push(vec![
                name,
                setting,
                accuracy_text(point),
                point
                    .loss()
                    .map_or("–".into(), |s| format!("{:.4}", s.mean)),
                published.map_or("–".into(), |v| format!("{v:.4}")),
                match (point.accuracy(), published) {
                    (Some(s), Some(pb)) => format!("{:+.4}", s.mean - pb),
                    _ => "–".into(),
                },
            ]);
        };
        let part_name = part.name.clone().unwrap_or_default();
        match twin {
            Some((_, q, t, diff)) => {
                let twin_config = t
                    .first()
                    .map(|r| flat_config(&r.config_json))
                    .unwrap_or_default();
                let setting = |c: &[(String, String)]| {
                    diff.iter()
                        .map(|k| format!("`{}` = `{}`", code(k), code(&value(k, c))))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                row(
                    format!(
                        "`{}` (this part)",
                        code(&format!("{part_name}/{}", p.name()))
                    ),
                    p,
                    setting(&mine),
                );
                row(
                    format!(
                        "`{}`",
                        code(&format!(
                            "{}/{}",
                            q.name.clone().unwrap_or_default(),
                            t.name()
                        ))
                    ),
                    t,
                    setting(&twin_config),
                );
                keys_seen.extend(diff.iter().cloned());
                configs.push(ConfigRun {
                    name: format!("{part_name} · {}", p.label),
                    color: p.color,
                    run,
                });
                if let Some(r) = t.first() {
                    configs.push(ConfigRun {
                        name: t.name(),
                        color: t.color,
                        run: r,
                    });
                }
            }
            None => row(format!("`{}`", code(&p.name())), p, "–".into()),
        }
    }
    b.push(Block::P(
        "Each run of this part next to the grid point of the same initializer whose \
         configuration differs least; the setting column gives the keys that differ."
            .into(),
    ));
    b.push(Block::table(
        &[
            "grid point",
            "setting",
            "test accuracy (mean ± std)",
            "test loss (mean)",
            "published",
            "measured − published",
        ],
        &[false, false, true, true, true, true],
        rows,
    ));
    if keys_seen.iter().any(|k| k.ends_with("output_activation")) {
        b.push(Block::P(
            "**The output-activation bug.** With `model.output_activation` on, the hidden \
             activation is applied to the logits too, before the cross-entropy. For ReLU that \
             zeroes every negative logit, and the gradient through a zeroed logit is 0: an \
             output unit whose logit is negative for every image is dead, never recovers, and \
             its class can only be predicted by ties, so a dead unit can remove a class from \
             the predictions. Which units die depends on the initial weights and the first \
             steps, so the buggy variant's accuracy varies from run to run far more than the \
             fixed one's. The published number of this cell comes from the buggy variant (the \
             source had the bug); the run without it is the grid's own cell."
                .into(),
        ));
    }
    b.extend(differences(part));
    let mut plots = Vec::new();
    if !configs.is_empty() {
        let title = format!(
            "{}: {} against its nearest grid point, weights before and after training (first seed)",
            section.study,
            part.name.clone().unwrap_or_default()
        );
        let m = Multiples::of_configs(title, &configs, Histograms::Weights, None, 1);
        if m.has_data() {
            let plot = render(&m, dir, &format!("{stem}-weights"))?;
            b.push(figure(
                &plot,
                histogram_caption(Histograms::Weights, false),
                out,
            ));
            plots.push(plot);
        }
    }
    Ok((b, plots))
}
