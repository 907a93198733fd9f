//! Runs whose published number is the best validation accuracy over the
//! epochs (study 3b, `lstm-maestro`, has this shape): the table compares that
//! number and gives the best epoch and the test scores of the checkpoint it
//! selects; the curves put training against validation per epoch, so a reader
//! sees where overfitting starts.

use std::path::Path;

use initlab_train::RunRecord;

use super::recurrent::mean_over_seeds;
use super::render::{code, Block};
use super::verdict::fmt_stat;
use super::Rendered;
use super::{figure, flat_config, Section};
use crate::plots::multiples::{Line, LinePanel, Lines, YAxis};
use crate::plots::style::Swatch;
use crate::plots::{render, Group, Palette};
use crate::{summarize, Stat};

const METRIC: &str = "best_val_accuracy";

/// Whether the runs publish a best validation accuracy rather than a test
/// accuracy, and recorded one.
pub(super) fn applies(records: &[RunRecord]) -> bool {
    records.iter().all(|r| r.published.is_none())
        && records
            .iter()
            .any(|r| r.published_metrics.iter().any(|(n, _)| n == METRIC))
        && records
            .iter()
            .any(|r| r.metrics.iter().any(|(n, _)| n == METRIC))
}

/// `mean ± std` for several seeds, the value alone for one.
fn stat_text(s: Option<&Stat>) -> String {
    s.map_or("–".into(), fmt_stat)
}

pub(super) fn table(section: &Section) -> Vec<Block> {
    let rows = summarize(&section.records);
    let groups = Group::of(&section.records);
    let mut table = Vec::new();
    for g in &groups {
        let Some(row) = rows.iter().find(|r| r.label == g.label) else {
            continue;
        };
        let best = row.metric(METRIC);
        let published = row.published_metric(METRIC);
        let delta = match (best, published) {
            (Some(s), Some(p)) => format!("{:+.4}", s.mean - p),
            _ => "–".into(),
        };
        let epochs: Vec<String> = g
            .runs
            .iter()
            .filter_map(|r| r.metrics.iter().find(|(n, _)| n == "best_val_epoch"))
            .map(|(_, e)| format!("{e:.0}"))
            .collect();
        let test = (row.complete > 0).then_some(Stat {
            mean: row.mean,
            std: row.std,
            n: row.complete,
        });
        table.push(vec![
            format!("`{}`", code(&g.label)),
            row.runs.to_string(),
            stat_text(best),
            published.map_or("–".into(), |p| format!("{p:.4}")),
            delta,
            if epochs.is_empty() {
                "–".into()
            } else {
                epochs.join(", ")
            },
            stat_text(test.as_ref()),
            stat_text(row.test_loss.as_ref()),
        ]);
    }
    let config = section
        .records
        .first()
        .map(|r| flat_config(&r.config_json))
        .unwrap_or_default();
    let best_checkpoint = config
        .iter()
        .any(|(k, v)| k == "training.test" && v.contains("best-validation"));
    let tested = if best_checkpoint {
        "the parameters of the best validation epoch (`training.test` = `best-validation`)"
    } else {
        "the parameters after the last epoch"
    };
    vec![
        Block::H(3, "Results".into()),
        Block::Key(Box::new(Block::table(
            &[
                "initializer",
                "runs",
                "best validation accuracy",
                "published",
                "measured − published",
                "best epoch",
                "test accuracy",
                "test loss",
            ],
            &[false, true, true, true, true, true, true, true],
            table,
        ))),
        Block::P(format!(
            "The published number is the best validation accuracy over the epochs, one run per \
             initializer; here it is the mean ± sample standard deviation over seeds when \
             there are several. The best epoch is each seed's. Test accuracy and loss are of \
             {tested}: the original never scored its test files."
        )),
    ]
}

/// Training against validation per epoch, one panel per initializer, the
/// best epoch marked.
pub(super) fn curves(section: &Section, dir: &Path, out: &Path) -> Rendered {
    let groups = Group::of(&section.records);
    let train = Palette::color(0);
    let val = Palette::color(1);
    let best = plotters::style::BLACK;
    // `curves` gives a run's training and validation curve of `what`.
    let figure_of = |what: &str, y_desc: &str, curves: fn(&RunRecord) -> (&[f32], &[f32])| {
        let panels = groups
            .iter()
            .map(|g| {
                let epochs: Vec<f64> = g
                    .runs
                    .iter()
                    .filter_map(|r| r.metrics.iter().find(|(n, _)| n == "best_val_epoch"))
                    .map(|(_, e)| *e)
                    .collect();
                let val_points = mean_over_seeds(g.runs.iter().map(|r| curves(r).1));
                let lowest = val_points
                    .iter()
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|p| p.0);
                let mut notes = Vec::new();
                if let Some(e) = epochs.first() {
                    notes.push(format!("best validation accuracy: epoch {e:.0}"));
                }
                if what == "loss" {
                    if let Some(e) = lowest {
                        notes.push(format!("lowest validation loss: epoch {e:.0}"));
                    }
                }
                LinePanel {
                    caption: g.label.clone(),
                    lines: vec![
                        Line {
                            color: train,
                            points: mean_over_seeds(g.runs.iter().map(|r| curves(r).0)),
                        },
                        Line {
                            color: val,
                            points: val_points,
                        },
                    ],
                    hlines: Vec::new(),
                    vlines: epochs.iter().map(|&e| (e, best)).collect(),
                    notes,
                }
            })
            .collect();
        Lines {
            title: format!(
                "{}: training against validation {what} per epoch, by initializer",
                section.study
            ),
            legend: vec![
                (format!("training {what}"), train, Swatch::Line),
                (format!("validation {what}"), val, Swatch::Line),
                ("best validation epoch (dashed)".into(), best, Swatch::Line),
            ],
            x_desc: "epoch".into(),
            y_desc: y_desc.into(),
            y_axis: YAxis::Auto,
            markers: true,
            columns: 3,
            panels,
        }
    };
    let mut b = vec![Block::H(3, "Where overfitting starts".into())];
    let mut plots = Vec::new();
    for (name, lines) in [
        (
            "overfit-loss",
            figure_of("loss", "cross-entropy loss (nats)", |r| {
                (&r.train_loss, &r.val_loss)
            }),
        ),
        (
            "overfit-accuracy",
            figure_of("accuracy", "next-event accuracy", |r| {
                (&r.train_accuracy, &r.val_accuracy)
            }),
        ),
    ] {
        if !lines.has_data() {
            continue;
        }
        let plot = render(&lines, dir, name)?;
        b.push(figure(
            &plot,
            "Mean over seeds per epoch. Overfitting starts where the validation curve turns \
             while the training curve keeps improving; the dashed line is the epoch whose \
             parameters the test scores are of."
                .into(),
            out,
        ));
        plots.push(plot);
    }
    Ok((b, plots))
}
