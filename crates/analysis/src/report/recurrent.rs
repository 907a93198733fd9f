//! What a study of recurrent networks adds to the generic section: whether
//! the published ordering of initializers holds, accuracy per epoch, and the
//! gradients and hidden states through time (BPTT), one panel per
//! initializer. A grid of recurrent runs gets the same BPTT figures from
//! [`bptt_figures`], one panel per grid point.

use std::path::Path;

use initlab_train::RunRecord;

use super::bptt_theory;
use super::render::{code, Block};
use super::verdict::{judge, tiers_from_published, Entry};
use super::Rendered;
use super::{figure, Section};
use crate::plots::multiples::{Line, LinePanel, Lines, YAxis};
use crate::plots::style::Swatch;
use crate::plots::{bptt, render, ConfigRun, Group};
use crate::{summarize, Stat};

/// The published ordering's verdict, on test accuracy or (for runs selected
/// by best validation) on the best validation accuracy, which is what such a
/// study publishes.
pub(super) fn ordering(section: &Section, selected: bool) -> Vec<Block> {
    let rows = summarize(&section.records);
    let (metric, what) = if selected {
        ("best_val_accuracy", "best validation accuracy")
    } else {
        ("test_accuracy", "test accuracy")
    };
    let published: Vec<(String, f64)> = rows
        .iter()
        .filter_map(|r| Some((r.label.clone(), r.published_metric(metric)?)))
        .collect();
    let tiers = tiers_from_published(&published);
    if tiers.is_empty() {
        return Vec::new();
    }
    let measured = |label: &str| -> Option<Stat> {
        let row = rows.iter().find(|r| r.label == label)?;
        if selected {
            row.metric(metric).cloned()
        } else if row.complete > 0 {
            Some(Stat {
                mean: row.mean,
                std: row.std,
                n: row.complete,
            })
        } else {
            None
        }
    };
    let entries: Vec<Vec<Entry>> = tiers
        .iter()
        .map(|t| {
            t.iter()
                .map(|l| Entry {
                    label: l.clone(),
                    stat: measured(l),
                })
                .collect()
        })
        .collect();
    let names: Vec<String> = tiers
        .iter()
        .map(|t| {
            format!(
                "{{{}}}",
                t.iter()
                    .map(|l| format!("`{}`", code(l)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    let (outcome, why) = judge(&entries, &names);
    vec![
        Block::H(3, "Does the published ordering hold?".into()),
        Block::P(format!(
            "The published {what}, sorted and split at its two largest gaps, gives three tiers: \
             {}. Judged on the measured {what}, the lowest mean of a tier against the highest \
             of the next, each ± one sample standard deviation over seeds (\"within the seed \
             spread\" where those overlap; with one seed the means decide alone): **{}** \
             ({why}).",
            names.join(" > "),
            outcome.text()
        )),
    ]
}

/// Accuracy per epoch (when `accuracy` is set) and the BPTT figures.
pub(super) fn blocks(section: &Section, dir: &Path, out: &Path, accuracy: bool) -> Rendered {
    let groups = Group::of(&section.records);
    let mut b = Vec::new();
    let mut plots = Vec::new();
    if accuracy {
        let lines = accuracy_lines(&section.study, &groups);
        if lines.has_data() {
            let plot = render(&lines, dir, "accuracy-epoch")?;
            b.push(figure(
                &plot,
                "Accuracy per epoch, mean over seeds: on the batches as they were trained \
                 (left) and on the held-out validation split after each epoch (right)."
                    .into(),
                out,
            ));
            plots.push(plot);
        }
    }
    let configs: Vec<ConfigRun> = groups
        .iter()
        .filter_map(|g| {
            Some(ConfigRun {
                name: g.label.clone(),
                color: g.color,
                run: g.runs.first()?,
            })
        })
        .collect();
    let (blocks, figures) = bptt_figures(&section.study, &configs, dir, out)?;
    b.extend(blocks);
    plots.extend(figures);
    Ok((b, plots))
}

/// One panel per configuration of `‖∂L/∂h_t‖` and of `‖h_t‖` against t,
/// after the theory's per-step factor beside the measured one.
pub(super) fn bptt_figures(study: &str, configs: &[ConfigRun], dir: &Path, out: &Path) -> Rendered {
    let mut b = Vec::new();
    let mut plots = Vec::new();
    let predicted = bptt_theory::predicted_norms(configs);
    for (name, lines) in bptt::figures(study, configs, &predicted) {
        if !lines.has_data() {
            continue;
        }
        let plot = render(&lines, dir, name)?;
        let caption = match name {
            "bptt-grad" => {
                "The gradient of the probe batch's mean loss with respect to each hidden state \
                 of the top recurrent layer, ‖∂L/∂h_t‖ (the total reaching step t, from the \
                 output and through step t + 1), at initialization and after training, first \
                 seed of each configuration (`bptt/grad_h_norm`). The loss is read at the last \
                 step: a line falling to the left is a gradient vanishing with distance, one \
                 rising an exploding one. Zero values cannot be drawn on the log axis and are \
                 left out. Vermillion, where the table above has a prediction (Elman layers): \
                 the mean-field ‖∂L/∂h_t‖ at initialization along q_t, anchored to the \
                 measured norm at the last step, and not drawn at steps where it leaves a \
                 factor 1000 of the measured norms (\"off scale\" under the panel)."
            }
            _ => {
                "The RMS over the probe batch of the hidden state's norm ‖h_t‖ at each time \
                 step (`bptt/h_norm`), at initialization and after training: a state that \
                 saturates, dies or grows without bound shows here."
            }
        };
        b.push(figure(&plot, caption.into(), out));
        plots.push(plot);
    }
    if !plots.is_empty() {
        let mut head = vec![Block::H(3, "Backpropagation through time".into())];
        head.extend(bptt_theory::table(configs));
        b.splice(0..0, head);
    }
    Ok((b, plots))
}

/// Training and validation accuracy per epoch, one line per initializer.
fn accuracy_lines(study: &str, groups: &[Group]) -> Lines {
    let panel = |caption: &str, f: fn(&RunRecord) -> &[f32]| LinePanel {
        caption: caption.into(),
        lines: groups
            .iter()
            .map(|g| Line {
                color: g.color,
                points: mean_over_seeds(g.runs.iter().map(|r| f(r))),
            })
            .collect(),
        hlines: Vec::new(),
        vlines: Vec::new(),
        notes: Vec::new(),
    };
    Lines {
        title: format!("{study}: accuracy per epoch, by initializer"),
        legend: groups
            .iter()
            .map(|g| (g.label.clone(), g.color, Swatch::Line))
            .collect(),
        x_desc: "epoch".into(),
        y_desc: "accuracy".into(),
        y_axis: YAxis::Auto,
        markers: true,
        columns: 2,
        panels: vec![
            panel("training (batches as trained)", |r| &r.train_accuracy),
            panel("validation (after each epoch)", |r| &r.val_accuracy),
        ],
    }
}

/// Per-epoch mean over seeds of the finite values, epochs from 1.
pub(super) fn mean_over_seeds<'a>(series: impl Iterator<Item = &'a [f32]>) -> Vec<(f64, f64)> {
    let series: Vec<&[f32]> = series.collect();
    let len = series.iter().map(|s| s.len()).max().unwrap_or(0);
    (0..len)
        .filter_map(|i| {
            let v: Vec<f64> = series
                .iter()
                .filter_map(|s| s.get(i))
                .map(|&x| f64::from(x))
                .filter(|x| x.is_finite())
                .collect();
            (!v.is_empty()).then(|| ((i + 1) as f64, v.iter().sum::<f64>() / v.len() as f64))
        })
        .collect()
}
