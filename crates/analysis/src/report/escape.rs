//! A grid of regressions whose loss sits on a plateau until it escapes
//! (study 4, `irnn-adding`, has this shape: model × sequence length): the
//! validation MSE per epoch with the plateau drawn, models side by side in one
//! panel per length; the epoch each run escaped (`plateau_escape_epoch`)
//! against the published one; and the gradients through time.
//!
//! The first grid axis (the model) is what a panel's lines compare; the others
//! (the length) choose the panel.

use std::path::Path;

use initlab_train::{RunRecord, RunStatus};

use super::recurrent::{bptt_figures, mean_over_seeds};
use super::render::{code, Block};
use super::Rendered;
use super::{config_value, figure, notes, Section};
use crate::plots::multiples::{Line, LinePanel, Lines, YAxis};
use crate::plots::style::Swatch;
use crate::plots::{render, ConfigRun, Palette};
use crate::Stat;

/// One grid point over its seeds.
struct Point<'a> {
    /// The first axis's value (the model).
    line: String,
    /// The other axes' values (the length), `axis = value`.
    panel: String,
    /// The same values alone, for the table's column.
    values: String,
    name: String,
    runs: Vec<&'a RunRecord>,
}

fn metric(r: &RunRecord, name: &str) -> Option<f64> {
    r.metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
}

fn points(records: &[RunRecord]) -> Vec<Point<'_>> {
    let mut points: Vec<Point> = Vec::new();
    for r in records {
        let line = r.grid.first().map_or(r.label.clone(), |(_, v)| v.clone());
        let panel = r
            .grid
            .iter()
            .skip(1)
            .map(|(a, v)| format!("{a} = {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let values = r
            .grid
            .iter()
            .skip(1)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
            .join(", ");
        let name = initlab_train::point_name(&r.grid, &r.label);
        match points.iter_mut().find(|p| p.name == name) {
            Some(p) => p.runs.push(r),
            None => points.push(Point {
                line,
                panel,
                values,
                name,
                runs: vec![r],
            }),
        }
    }
    // Lengths as numbers where they are numbers: 150 before 1000.
    let order = |s: &str| {
        s.rsplit(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::INFINITY)
    };
    points.sort_by(|a, b| {
        order(&a.panel)
            .total_cmp(&order(&b.panel))
            .then_with(|| (&a.panel, &a.line).cmp(&(&b.panel, &b.line)))
    });
    points
}

pub(super) fn blocks(section: &Section, dir: &Path, out: &Path) -> Rendered {
    let points = points(&section.records);
    let mut lines_of: Vec<String> = points.iter().map(|p| p.line.clone()).collect();
    lines_of.sort();
    lines_of.dedup();
    let color = |line: &str| Palette::color(lines_of.iter().position(|l| l == line).unwrap_or(0));
    let axis = section
        .records
        .first()
        .and_then(|r| r.grid.first())
        .map_or("model".to_string(), |(a, _)| a.clone());

    let mut b = vec![Block::H(3, "Results".into())];
    let mut rows = Vec::new();
    let mut outside = Vec::new();
    for p in &points {
        let budget: Option<usize> = p
            .runs
            .iter()
            .filter_map(|r| config_value(r, "training.epochs")?.parse().ok())
            .max();
        let trained = p.runs.iter().map(|r| r.val_loss.len()).max().unwrap_or(0);
        let escapes: Vec<f64> = p
            .runs
            .iter()
            .filter_map(|r| metric(r, "plateau_escape_epoch"))
            .collect();
        let escape = match escapes.len() {
            0 => "never".to_string(),
            n if n == p.runs.len() => {
                let s = Stat::of(escapes.iter().copied());
                s.map_or("never".into(), |s| {
                    if s.n > 1 {
                        format!("{:.1} ± {:.1}", s.mean, s.std)
                    } else {
                        format!("{:.0}", s.mean)
                    }
                })
            }
            n => format!(
                "{} ({n} of {} runs; the others never)",
                escapes
                    .iter()
                    .map(|e| format!("{e:.0}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                p.runs.len()
            ),
        };
        let published = p.runs.iter().find_map(|r| {
            r.published_metrics
                .iter()
                .find(|(n, _)| n == "plateau_escape_epoch")
                .map(|(_, v)| *v)
        });
        let budget_epochs = budget.unwrap_or(trained);
        let verdict = match (published, escapes.is_empty()) {
            (None, _) => "–".to_string(),
            (Some(pe), true) if (budget_epochs as f64) < pe => {
                outside.push(format!("`{}`", code(&p.name)));
                format!("outside this profile's budget ({budget_epochs} epochs < {pe:.0})")
            }
            (Some(_), true) => format!("not reproduced: no escape in {trained} epochs"),
            (Some(pe), false) => {
                let mean = escapes.iter().sum::<f64>() / escapes.len() as f64;
                format!("escaped {:+.0} epochs from the published", mean - pe)
            }
        };
        let final_mse = Stat::of(
            p.runs
                .iter()
                .filter_map(|r| r.val_loss.last().map(|&v| f64::from(v)))
                .collect::<Vec<_>>(),
        );
        let test = Stat::of(
            p.runs
                .iter()
                .filter(|r| r.status == RunStatus::Complete)
                .map(|r| r.test_loss)
                .collect::<Vec<_>>(),
        );
        let num = |s: Option<Stat>| s.map_or("–".into(), |s| format!("{:.4}", s.mean));
        rows.push(vec![
            format!("`{}`", code(&p.line)),
            p.values.clone(),
            p.runs.len().to_string(),
            format!("{trained}"),
            num(final_mse),
            num(test),
            escape,
            published.map_or("–".into(), |v| format!("{v:.0}")),
            verdict,
        ]);
    }
    let threshold = section
        .records
        .first()
        .and_then(|r| config_value(r, "data.escape_below"))
        .unwrap_or_else(|| "the threshold".into());
    let others: Vec<String> = section
        .records
        .first()
        .map(|r| r.grid.iter().skip(1).map(|(a, _)| a.clone()).collect())
        .unwrap_or_default();
    let others = if others.is_empty() {
        "grid point".to_string()
    } else {
        others.join(", ")
    };
    b.push(Block::Key(Box::new(Block::table(
        &[
            axis.as_str(),
            others.as_str(),
            "runs",
            "epochs",
            "last validation MSE",
            "test MSE",
            "plateau escape epoch",
            "published",
            "against the published",
        ],
        &[false, false, true, true, true, true, true, true, false],
        rows,
    ))));
    b.push(Block::P(format!(
        "The plateau escape epoch is the first epoch whose validation MSE is below {threshold} \
         (`plateau_escape_epoch`; \"never\" when no epoch was). Means are over seeds."
    )));
    if !outside.is_empty() {
        b.push(Block::P(format!(
            "For {} this profile trains fewer epochs than the published escape needs: the \
             escape is outside this profile's budget, which is not the same as not reproduced. \
             The `paper` profile trains the published number of epochs.",
            outside.join(", ")
        )));
    }

    // Validation MSE per epoch: one panel per length, models side by side.
    let reference = notes::reference_level(section);
    let threshold_value: Option<f64> = threshold.parse().ok();
    let mut panel_names: Vec<String> = Vec::new();
    for p in &points {
        if !panel_names.contains(&p.panel) {
            panel_names.push(p.panel.clone());
        }
    }
    let grey = plotters::style::RGBColor(110, 110, 110);
    let panels: Vec<LinePanel> = panel_names
        .iter()
        .map(|name| {
            let mut hlines = Vec::new();
            if let Some(level) = &reference {
                hlines.push((level.value, plotters::style::BLACK, level.legend.clone()));
            }
            if let Some(t) = threshold_value {
                hlines.push((t, grey, format!("escape threshold {t}")));
            }
            LinePanel {
                caption: if name.is_empty() {
                    "all".into()
                } else {
                    name.clone()
                },
                lines: points
                    .iter()
                    .filter(|p| &p.panel == name)
                    .map(|p| Line {
                        color: color(&p.line),
                        points: mean_over_seeds(p.runs.iter().map(|r| r.val_loss.as_slice())),
                    })
                    .collect(),
                hlines,
                vlines: Vec::new(),
                notes: Vec::new(),
            }
        })
        .collect();
    let lines = Lines {
        title: format!(
            "{}: validation MSE per epoch, {} side by side",
            section.study, axis
        ),
        legend: lines_of
            .iter()
            .map(|l| (l.clone(), color(l), Swatch::Line))
            .collect(),
        x_desc: "epoch".into(),
        y_desc: "validation MSE".into(),
        y_axis: YAxis::Auto,
        markers: true,
        columns: panel_names.len().clamp(1, 2),
        panels,
    };
    let mut plots = Vec::new();
    if lines.has_data() {
        let plot = render(&lines, dir, "val-mse")?;
        b.push(Block::H(3, "Validation MSE".into()));
        b.push(figure(
            &plot,
            match &reference {
                Some(level) => format!(
                    "Mean over seeds of the validation MSE after each epoch, one panel per grid \
                     point of the other axes. The black dashed line is {}; below the grey one a \
                     run has escaped it.",
                    level.caption
                ),
                None => "Mean over seeds of the validation MSE after each epoch, one panel per \
                         grid point of the other axes; below the grey line a run has escaped the \
                         plateau."
                    .into(),
            },
            out,
        ));
        plots.push(plot);
    }
    let configs: Vec<ConfigRun> = points
        .iter()
        .filter_map(|p| {
            Some(ConfigRun {
                name: p.name.clone(),
                color: color(&p.line),
                run: p.runs.first()?,
            })
        })
        .collect();
    let (blocks, figures) = bptt_figures(&section.study, &configs, dir, out)?;
    b.extend(blocks);
    plots.extend(figures);
    b.extend(notes::study_notes(section));
    Ok((b, plots))
}
