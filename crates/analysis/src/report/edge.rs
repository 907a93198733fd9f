//! Trainability against the mean-field depth scale (Schoenholz et al. 2017):
//! for a grid whose runs record `sigma_w2`, `sigma_b2`, `depth`, `xi_c` and
//! `train_accuracy` (study 5, `edge-of-chaos`), the heat map of training
//! accuracy over (σ_w², L) with ξ_c and 6ξ_c, and the share of grid points
//! where "trainable" agrees with L < 6ξ_c.

use std::path::Path;

use initlab_theory::{critical_sigma_w2, Activation, MeanField};
use initlab_train::{RunRecord, RunStatus};
use rayon::prelude::*;

use super::render::Block;
use super::Rendered;
use super::{figure, Section};
use crate::plots::edge::{EdgeCell, EdgeMap};
use crate::plots::render;

/// Final-epoch training accuracy at or above which a run counts as trained:
/// five times chance on ten classes.
const TRAINABLE_ACCURACY: f64 = 0.5;

fn metric(r: &RunRecord, name: &str) -> Option<f64> {
    r.metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
}

/// Whether every run records the metrics this section reads.
pub(super) fn applies(records: &[RunRecord]) -> bool {
    !records.is_empty()
        && records.iter().all(|r| {
            ["sigma_w2", "sigma_b2", "depth", "xi_c"]
                .iter()
                .all(|m| metric(r, m).is_some())
        })
}

/// One grid point over its seeds.
struct Point {
    sigma_w2: f64,
    depth: f64,
    xi_c: f64,
    /// Mean final training accuracy over seeds; NaN if every seed diverged.
    accuracy: f64,
    diverged: usize,
    seeds: usize,
}

impl Point {
    fn trainable(&self) -> bool {
        self.accuracy.is_finite() && self.accuracy >= TRAINABLE_ACCURACY
    }

    fn predicted(&self) -> bool {
        self.depth < 6.0 * self.xi_c
    }
}

fn points(records: &[RunRecord]) -> Vec<Point> {
    let mut out: Vec<Point> = Vec::new();
    for r in records {
        let (Some(w), Some(d), Some(xi)) =
            (metric(r, "sigma_w2"), metric(r, "depth"), metric(r, "xi_c"))
        else {
            continue;
        };
        let acc = match r.status {
            RunStatus::Complete => metric(r, "train_accuracy").unwrap_or(f64::NAN),
            RunStatus::Diverged => f64::NAN,
        };
        let p = match out.iter_mut().position(|p| p.sigma_w2 == w && p.depth == d) {
            Some(i) => &mut out[i],
            None => {
                out.push(Point {
                    sigma_w2: w,
                    depth: d,
                    xi_c: xi,
                    accuracy: 0.0,
                    diverged: 0,
                    seeds: 0,
                });
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        p.seeds += 1;
        if acc.is_finite() {
            p.accuracy += acc;
        } else {
            p.diverged += 1;
        }
    }
    for p in &mut out {
        let finished = p.seeds - p.diverged;
        p.accuracy = if finished > 0 {
            p.accuracy / finished as f64
        } else {
            f64::NAN
        };
    }
    out.sort_by(|a, b| {
        (a.sigma_w2, a.depth)
            .partial_cmp(&(b.sigma_w2, b.depth))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    out
}

/// Which of the run's training values come from the paper and which were
/// chosen here, read from the first run's configuration.
fn provenance(records: &[RunRecord]) -> Option<Block> {
    let json: serde_json::Value = serde_json::from_str(&records.first()?.config_json).ok()?;
    let num = |p: &str| json.pointer(p).and_then(serde_json::Value::as_f64);
    let dataset = json
        .pointer("/data/dataset")
        .and_then(|v| v.as_str())
        .unwrap_or("?");
    let width = json
        .pointer("/model/hidden/0")
        .and_then(serde_json::Value::as_u64)?;
    let optimizer = json
        .pointer("/training/optimizer/kind")
        .and_then(|v| v.as_str())
        .unwrap_or("?");
    let lr = num("/training/optimizer/lr")?;
    let batch = num("/training/batch_size")?;
    let epochs = num("/training/epochs")?;
    let momentum = match num("/training/optimizer/momentum") {
        Some(m) if m > 0.0 => format!("momentum {m}"),
        _ => "no momentum".into(),
    };
    let steps = num("/training/train_limit")
        .map(|n| {
            format!(
                "{:.0} steps ({epochs:.0} epochs of {n:.0} images)",
                epochs * (n / batch).ceil()
            )
        })
        .unwrap_or_else(|| format!("{epochs:.0} epochs of the training split"));
    Some(Block::P(format!(
        "**Hyperparameters.** From the paper: the dataset (`{dataset}`), fully connected tanh \
         networks, weights N(0, σ_w²/fan_in) and biases N(0, σ_b²) with σ_b² = 0.05, σ_w² over [1, 4], depth L \
         over [10, 300], trained with SGD (the paper also ran RMSProp; not run here). Chosen \
         here, because the paper's experimental section, where its width, learning rate, batch \
         size and number of steps would be stated, could not be read where this study was \
         written (see experiments/edge-of-chaos.toml): width {width}, {optimizer} with learning rate \
         {lr} and {momentum}, batch {batch:.0}, {steps}. A different width or schedule moves \
         where deep networks near the boundary have learned enough to pass the threshold, \
         not the theory's ξ_c."
    )))
}

/// The section's blocks and its figure.
pub(super) fn blocks(section: &Section, dir: &Path, out: &Path) -> Rendered {
    let points = points(&section.records);
    let sigma_b2 = section
        .records
        .first()
        .and_then(|r| metric(r, "sigma_b2"))
        .unwrap_or(0.0);
    let activation = section
        .records
        .first()
        .and_then(|r| {
            let json: serde_json::Value = serde_json::from_str(&r.config_json).ok()?;
            json.pointer("/model/activation")?
                .as_str()?
                .parse::<Activation>()
                .ok()
        })
        .unwrap_or(Activation::Tanh);
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.sigma_w2), hi.max(p.sigma_w2))
        });
    let pad = 0.15 * (hi - lo).max(0.5);
    let samples = 120;
    // Each point is a fixed point of the 2-D Gaussian maps, most of the
    // report's time: on every core, collected in order.
    let xi_c: Vec<(f64, f64)> = (0..=samples)
        .into_par_iter()
        .map(|i| lo - pad + (hi - lo + 2.0 * pad) * i as f64 / samples as f64)
        .filter(|&w| w > 0.0)
        .map(|w| {
            let xi = MeanField::new(activation, w, sigma_b2)
                .and_then(|f| f.fixed_point())
                .map_or(f64::NAN, |f| f.xi_c);
            (w, xi)
        })
        .collect();
    let critical = critical_sigma_w2(activation, sigma_b2).ok();
    let map = EdgeMap {
        title: format!(
            "{}: training accuracy over σ_w² and depth, ξ_c and 6ξ_c",
            section.study
        ),
        cells: points
            .iter()
            .map(|p| EdgeCell {
                sigma_w2: p.sigma_w2,
                depth: p.depth,
                accuracy: p.accuracy,
            })
            .collect(),
        xi_c,
        critical,
    };
    let plot = render(&map, dir, "edge-of-chaos")?;
    let mut b = vec![Block::H(3, "Trainability against 6ξ_c".into())];
    b.extend(provenance(&section.records));
    b.push(figure(
        &plot,
        format!(
            "Each cell: the final epoch's training accuracy (on the batches as trained; mean \
             over seeds, \"div.\" if every seed diverged) on the 0–1 viridis scale. Lines: \
             the mean-field depth scale ξ_c(σ_w²) and 6ξ_c, from `initlab_theory`, and the \
             critical σ_w² = {} where χ₁ = 1 and ξ_c diverges (grey), all at σ_b² = {}.",
            critical.map_or("–".into(), |c| format!("{c:.3}")),
            crate::plots::style::fmt_sig(sigma_b2, 3)
        ),
        out,
    ));
    let agree = points
        .iter()
        .filter(|p| p.trainable() == p.predicted())
        .count();
    let trains_beyond = points
        .iter()
        .filter(|p| p.trainable() && !p.predicted())
        .count();
    let fails_inside = points
        .iter()
        .filter(|p| !p.trainable() && p.predicted())
        .count();
    if !points.is_empty() {
        b.push(Block::Key(Box::new(Block::P(format!(
            "**Verdict.** \"Trainable\" (final training accuracy ≥ {TRAINABLE_ACCURACY}) agrees \
             with the prediction L < 6ξ_c at {agree} of {} grid points ({:.0} %). Of the \
             disagreements, {trains_beyond} trained although deeper than 6ξ_c and \
             {fails_inside} did not train although shallower than 6ξ_c (with few steps, deep \
             networks near the boundary have not learned yet: that side is what a shorter \
             schedule produces).",
            points.len(),
            100.0 * agree as f64 / points.len() as f64
        )))));
    }
    let rows = points
        .iter()
        .map(|p| {
            vec![
                format!("{}", crate::plots::style::fmt_sig(p.sigma_w2, 3)),
                format!("{:.0}", p.depth),
                if p.xi_c.is_finite() {
                    format!("{:.1}", p.xi_c)
                } else {
                    "∞".into()
                },
                if p.xi_c.is_finite() {
                    format!("{:.1}", 6.0 * p.xi_c)
                } else {
                    "∞".into()
                },
                if p.accuracy.is_finite() {
                    format!("{:.4}", p.accuracy)
                } else {
                    format!("– ({} diverged)", p.diverged)
                },
                if p.trainable() { "yes" } else { "no" }.into(),
                if p.predicted() { "yes" } else { "no" }.into(),
                if p.trainable() == p.predicted() {
                    "agree"
                } else if p.trainable() {
                    "trained beyond 6ξ_c"
                } else {
                    "untrained inside 6ξ_c"
                }
                .into(),
            ]
        })
        .collect();
    b.push(Block::Key(Box::new(Block::Table {
        head: vec![
            "σ_w²".into(),
            "depth L".into(),
            "ξ_c".into(),
            "6ξ_c".into(),
            "train accuracy".into(),
            "trainable".into(),
            "L < 6ξ_c".into(),
            "".into(),
        ],
        right: vec![true, true, true, true, true, false, false, false],
        rows,
    })));
    Ok((b, vec![plot]))
}
