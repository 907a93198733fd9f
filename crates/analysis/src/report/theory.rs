//! Mean-field theory beside measurement: each MLP grid point's activation
//! scale at initialization, layer by layer, against what `initlab_theory`
//! predicts from the run's own initial weights and biases.
//!
//! Like with like: the report stores the standard deviation of each hidden
//! layer's post-activation outputs φ(h) on the 256 probe images, pooled over
//! units and images; the theory gives the pre-activation second moment q^l
//! and from it the pooled std of φ(h), √(E[φ²] − E[φ]²) with h ~ N(0, q^l).
//!
//! The grid's initializers are also placed on the order/chaos phase diagram
//! of its activation: each hidden layer's (σ_w², σ_b²) against χ₁ = 1.

use std::path::Path;

use initlab_init::{Fans, Scheme};
use initlab_theory::{
    critical_sigma_w2, phase_boundary, post_activation_std, pre_activation_lengths, Activation,
    MeanField,
};
use initlab_train::{input_second_moment, point_name, RunRecord};
use rayon::prelude::*;

use super::figure;
use super::render::{code, Block};
use super::Rendered;
use crate::plots::{render, PhaseDiagram};

/// One hidden layer's prediction and measurement.
struct Layer {
    /// σ_w² from the initializer's spec, where it has one.
    spec_sigma_w2: Option<f64>,
    /// σ_w² = fan_in · mean(w²) of the drawn weights.
    drawn_sigma_w2: f64,
    /// σ_b²: the bias initializer's variance, else the drawn biases' mean square.
    sigma_b2: f64,
    /// Whether `sigma_b2` came from the bias initializer's spec.
    bias_from_spec: bool,
    /// Predicted pre-activation second moment.
    q: f64,
    /// Predicted std of φ(h).
    predicted: f64,
    /// Measured std of φ(h) at initialization.
    measured: f64,
}

fn config_str(run: &RunRecord, pointer: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(&run.config_json).ok()?;
    json.pointer(pointer)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// q⁰ of the run's inputs, where its task knows their statistics.
fn input_q0(run: &RunRecord) -> Option<f64> {
    let json: serde_json::Value = serde_json::from_str(&run.config_json).ok()?;
    input_second_moment(json.get("data")?)
}

/// The spec that initialized `name` (group `group`): the run's `init` map
/// names a parameter, then its group, then `*` for everything else.
fn spec_of(run: &RunRecord, name: &str, group: &str) -> Option<Scheme> {
    let json: serde_json::Value = serde_json::from_str(&run.config_json).ok()?;
    let init = json.get("init")?;
    [name, group, "*"]
        .iter()
        .find_map(|k| init.get(*k)?.as_str())?
        .parse()
        .ok()
}

fn mean_square(values: &[f32]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / values.len() as f64
}

/// The hidden layers of an MLP run, or `None` for any other run (or an MLP
/// whose statistics at initialization are not stored).
fn layers(run: &RunRecord) -> Option<(Activation, Vec<Layer>)> {
    if config_str(run, "/model/kind").as_deref() != Some("mlp") || run.activations.is_empty() {
        return None;
    }
    let activation: Activation = config_str(run, "/model/activation")?.parse().ok()?;
    let q0 = input_q0(run)?;
    let spec: Option<Scheme> = run.initializer.parse().ok();
    let param = |name: String| run.initial_params.iter().find(|t| t.name == name);
    let mut variances = Vec::new();
    let mut spec_sigma = Vec::new();
    let mut spec_bias = Vec::new();
    for stats in &run.activations {
        let weight = param(format!("{}.weight", stats.layer))?;
        let bias = param(format!("{}.bias", stats.layer))?;
        let fan_in = *weight.shape.get(1)? as f64;
        variances.push((
            fan_in * mean_square(&weight.values),
            mean_square(&bias.values),
        ));
        spec_sigma.push(
            spec.as_ref()
                .and_then(|s| s.variance(&weight.shape, None).ok().flatten())
                .map(|v| v * fan_in),
        );
        // A bias is drawn with its layer's fans (PyTorch's default: 1/(3 fan_in)).
        let fans = Fans {
            fan_in: *weight.shape.get(1)?,
            fan_out: *weight.shape.first()?,
        };
        spec_bias.push(
            spec_of(run, &bias.name, "bias")
                .and_then(|s| s.variance(&bias.shape, Some(fans)).ok().flatten()),
        );
    }
    let q = pre_activation_lengths(activation, q0, &variances);
    let layers = run
        .activations
        .iter()
        .enumerate()
        .map(|(i, stats)| Layer {
            spec_sigma_w2: spec_sigma[i],
            drawn_sigma_w2: variances[i].0,
            sigma_b2: spec_bias[i].unwrap_or(variances[i].1),
            bias_from_spec: spec_bias[i].is_some(),
            q: q[i],
            predicted: post_activation_std(activation, q[i]),
            measured: f64::from(stats.std[0]),
        })
        .collect();
    Some((activation, layers))
}

/// The layers (0-based) a table shows: all of a network up to 8 deep; of a
/// deeper one, layers 1, 2, 3, 5, 10, 20, 40, … and the last.
fn shown_layers(depth: usize) -> Vec<usize> {
    if depth <= 8 {
        return (0..depth).collect();
    }
    let mut shown: Vec<usize> = [1, 2, 3, 5]
        .into_iter()
        .chain(std::iter::successors(Some(10), |l| Some(l * 2)).take_while(|&l| l < depth))
        .map(|l| l - 1)
        .collect();
    shown.push(depth - 1);
    shown
}

fn sig(x: f64) -> String {
    crate::plots::style::fmt_sig(x, 3)
}

/// The table for one part of a grid: a row per grid point (its first seed),
/// a column per hidden layer with the measured / predicted std of φ(h).
/// Empty when no point is an MLP with stored statistics.
pub(super) fn mlp_predictions(points: &[(String, &RunRecord)]) -> Vec<Block> {
    let rows: Vec<(String, &RunRecord, Activation, Vec<Layer>)> = points
        .iter()
        .filter_map(|(name, run)| {
            let (activation, layers) = layers(run)?;
            Some((name.clone(), *run, activation, layers))
        })
        .collect();
    let Some(depth) = rows.iter().map(|r| r.3.len()).max() else {
        return Vec::new();
    };
    let shown = shown_layers(depth);
    let mut head = vec!["grid point".to_string(), "σ_w² per layer".to_string()];
    head.extend(
        shown
            .iter()
            .map(|l| format!("layer {}: measured / predicted std (predicted q^l)", l + 1)),
    );
    let mut worst: Option<(f64, String)> = None;
    let table_rows = rows
        .iter()
        .map(|(name, _, _, layers)| {
            let sigma: Vec<String> = layers
                .iter()
                .map(|l| match l.spec_sigma_w2 {
                    Some(s) => sig(s),
                    None => format!("{} (drawn)", sig(l.drawn_sigma_w2)),
                })
                .collect();
            let values: Vec<f64> = layers
                .iter()
                .map(|l| l.spec_sigma_w2.unwrap_or(l.drawn_sigma_w2))
                .collect();
            let same = values
                .iter()
                .all(|v| (v - values[0]).abs() <= 1e-9 * values[0].abs());
            let sigma = if sigma.len() > 1 && same && layers[0].spec_sigma_w2.is_some() {
                format!(
                    "{} (all {})",
                    sig((values[0] * 1e9).round() / 1e9),
                    sigma.len()
                )
            } else {
                sigma.join(", ")
            };
            let mut row = vec![format!("`{}`", code(name)), sigma];
            for &i in &shown {
                row.push(layers.get(i).map_or("–".into(), |l| {
                    if l.predicted > 0.0 && l.measured.is_finite() {
                        let ratio = l.measured / l.predicted;
                        let off = (ratio.ln()).abs();
                        if worst.as_ref().is_none_or(|(w, _)| off > *w) {
                            worst = Some((
                                off,
                                format!("`{}` layer {}: ratio {}", code(name), i + 1, sig(ratio)),
                            ));
                        }
                    }
                    format!(
                        "{} / {} (q {})",
                        sig(l.measured),
                        sig(l.predicted),
                        sig(l.q)
                    )
                }));
            }
            row
        })
        .collect();
    let mut blocks = vec![
        Block::P(
            "**Theory beside measurement.** The standard deviation of each hidden layer's \
             outputs φ(h) (post-activation) at initialization, on the 256 probe images \
             (measured, `activations/<layer>/std` row 0) against the mean-field prediction \
             (Poole et al. 2016): the pre-activation second moment follows \
             q¹ = σ_w² q⁰ + σ_b², q^l = σ_w² E[φ(h)²] + σ_b² with h ~ N(0, q^{l−1}), and the \
             predicted std is √(E[φ²] − E[φ]²) at q^l. q⁰ = ‖x‖²/N₀ is the inputs' mean squared value over the \
             training set, from the task's input statistics \
             (`initlab_train::input_second_moment`). σ_w² is the weight initializer's variance times the layer's fan-in, \
             from its spec (`initlab_init::Scheme::variance`), or fan-in × the drawn \
             weights' mean square where the spec gives none; σ_b² is the drawn biases' mean \
             square. First seed of each grid point; of a network deeper than 8 \
             layers, layers 1, 2, 3, 5, 10, 20, 40, … and the last."
                .into(),
        ),
        Block::Table {
            right: std::iter::once(false)
                .chain(std::iter::once(false))
                .chain(shown.iter().map(|_| true))
                .collect(),
            head,
            rows: table_rows,
        },
    ];
    if let Some((_, text)) = worst {
        blocks.push(Block::P(format!(
            "Largest disagreement, as measured / predicted: {text}. The theory is for infinite \
             width and Gaussian pre-activations; a 16-unit layer, a layer fed by saturated or \
             dead units, and correlated input features (for the first layer the prediction is \
             exact in expectation over the weights) are where it is least exact."
        )));
    }
    blocks
}

/// σ_b² up to which the boundary is traced when every mark sits lower.
const SIGMA_B2_SPAN: f64 = 0.1;

/// Values equal to this relative accuracy are one point of the diagram.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// "x" or "lo–hi" over `values`.
fn span(values: impl Iterator<Item = f64>) -> String {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        "–".into()
    } else if same(lo, hi) {
        sig(lo)
    } else {
        format!("{}–{}", sig(lo), sig(hi))
    }
}

/// χ₁ = σ_w² E[φ′(√q z)²] of one layer: at the fixed point q* of its own
/// (σ_w², σ_b²) where that is finite and positive, else at `q`, the q^l the
/// layer sees in the run (ReLU above σ_w² = 2 has no finite q*; at σ_b² = 0
/// below it q* = 0, where ReLU's χ₁ = σ_w²/2 holds for every q > 0 but not at 0).
fn chi1(activation: Activation, w: f64, b: f64, q: f64) -> Option<f64> {
    if w == 0.0 {
        return Some(0.0);
    }
    // q* alone: the full fixed point would also solve for c*, which χ₁ does not need.
    let at_fixed = MeanField::new(activation, w, b)
        .and_then(|m| Ok((m, m.q_star()?)))
        .ok()
        .filter(|(_, q_star)| q_star.is_finite() && *q_star > 0.0)
        .map(|(m, q_star)| m.chi1_at(q_star));
    at_fixed
        .or_else(|| {
            (q.is_finite() && q > 0.0)
                .then(|| w * initlab_theory::derivative_cross_moment(activation, q, q, q))
        })
        .filter(|c| c.is_finite())
}

/// One initializer of the grid: its hidden layers' distinct (σ_w², σ_b²).
struct Placed {
    label: String,
    layers: Vec<(f64, f64)>,
    /// Each layer's q^l in the run, for χ₁ where the layer has no q* > 0.
    q: Vec<f64>,
    /// Some layer's σ_w² was read from the drawn weights, not a spec.
    drawn_w: bool,
    /// Some layer's σ_b² was read from the drawn biases, not a spec.
    drawn_b: bool,
}

/// The phase diagram of each activation the grid's MLPs use, with every
/// initializer placed on it, and a table of where each lands. Empty for a
/// grid without MLP runs that stored their statistics at initialization.
pub(super) fn phase_diagrams(records: &[RunRecord], dir: &Path, out: &Path) -> Rendered {
    // The first seed of each grid point: a spec's σ_w² is the same for every seed.
    let mut seen: Vec<String> = Vec::new();
    let mut by_activation: Vec<(Activation, Vec<Placed>)> = Vec::new();
    for run in records {
        let key = point_name(&run.grid, &run.label);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let Some((activation, layers)) = layers(run) else {
            continue;
        };
        let slot = match by_activation.iter().position(|a| a.0 == activation) {
            Some(i) => i,
            None => {
                by_activation.push((activation, Vec::new()));
                by_activation.len() - 1
            }
        };
        let placed = &mut by_activation[slot].1;
        let entry = match placed.iter().position(|p| p.label == run.label) {
            Some(i) => &mut placed[i],
            None => {
                placed.push(Placed {
                    label: run.label.clone(),
                    layers: Vec::new(),
                    q: Vec::new(),
                    drawn_w: false,
                    drawn_b: false,
                });
                placed.last_mut().expect("just pushed")
            }
        };
        for l in &layers {
            let point = (l.spec_sigma_w2.unwrap_or(l.drawn_sigma_w2), l.sigma_b2);
            entry.drawn_w |= l.spec_sigma_w2.is_none();
            entry.drawn_b |= !l.bias_from_spec;
            if !entry
                .layers
                .iter()
                .any(|p| same(p.0, point.0) && same(p.1, point.1))
            {
                entry.layers.push(point);
                entry.q.push(l.q);
            }
        }
    }
    let mut blocks = Vec::new();
    let mut plots = Vec::new();
    for (activation, placed) in &by_activation {
        let top = placed
            .iter()
            .flat_map(|p| p.layers.iter().map(|l| l.1))
            .fold(0.0, f64::max);
        let b_max = (1.5 * top).max(SIGMA_B2_SPAN);
        let sigma_b2s: Vec<f64> = (0..=40).map(|i| b_max * f64::from(i) / 40.0).collect();
        let boundary: Vec<(f64, f64)> = phase_boundary(*activation, &sigma_b2s)
            .map(|b| b.iter().map(|p| (p.sigma_w2, p.sigma_b2)).collect())
            .unwrap_or_default();
        let marks = placed
            .iter()
            .flat_map(|p| p.layers.iter().map(|&(w, b)| (p.label.clone(), w, b)))
            .collect();
        let diagram = PhaseDiagram {
            activation: activation.name().to_string(),
            boundary,
            marks,
        };
        let plot = render(&diagram, dir, &format!("phase-{}", activation.name()))?;
        let edge = |b: f64| critical_sigma_w2(*activation, b).map_or("–".into(), sig);
        let off_axis: Vec<&str> = placed
            .iter()
            .filter(|p| p.layers.iter().all(|l| l.0 <= 0.0))
            .map(|p| p.label.as_str())
            .collect();
        let mut caption = format!(
            "The grid's initializers on the order/chaos phase diagram of a wide random {name} \
             network (mean field, `initlab_theory`): the black line is χ₁ = 1, the critical \
             σ_w² for each σ_b² ({edge0} at σ_b² = 0, {edge5} at σ_b² = 0.05); ordered (χ₁ < 1: \
             signals and gradients shrink with depth) to its left, chaotic (χ₁ > 1: they grow) \
             to its right. Each dot is a hidden layer's σ_w² (the weight initializer's variance \
             × the layer's fan-in, from its spec) and σ_b² (the bias initializer's variance, \
             from its spec); where an initializer's layers differ (Xavier's σ_w² depends on \
             both fans, N(0, 1)'s is the fan-in itself, PyTorch's default bias has variance \
             1/(3 fan_in)) its layers' dots are joined by a line and the table gives the range.",
            name = activation.name(),
            edge0 = edge(0.0),
            edge5 = edge(0.05),
        );
        if !off_axis.is_empty() {
            caption.push_str(&format!(
                " Not drawn: {} (σ_w² = 0, no signal beyond the biases: the far ordered side).",
                off_axis
                    .iter()
                    .map(|l| format!("`{}`", code(l)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        blocks.push(Block::H(
            3,
            format!("Phase diagram ({})", activation.name()),
        ));
        blocks.push(figure(&plot, caption, out));
        let rows = placed
            .par_iter()
            .map(|p| placed_row(*activation, p))
            .collect();
        blocks.push(Block::Table {
            head: vec![
                "initializer".into(),
                "σ_w² (hidden layers)".into(),
                "σ_b²".into(),
                "χ₁ per layer".into(),
                "phase".into(),
            ],
            right: vec![false, true, true, true, false],
            rows,
        });
        blocks.push(Block::P(
            "χ₁ = σ_w² E[φ′(√q* z)²] at each layer's own fixed point q*: the factor by which a \
             small perturbation (and, backwards, the squared gradient) changes per layer in a \
             deep stack of such layers. Where a layer has no finite q* > 0 (ReLU with \
             σ_w² ≥ 2 grows without bound; with σ_b² = 0 below 2 it shrinks to 0) χ₁ is taken \
             at the q^l that layer sees in the run (the table above), which for ReLU is \
             σ_w²/2 at any q > 0. \"At the edge\" means every layer within 0.05 of χ₁ = 1. \
             \"(drawn)\" marks a σ_w² or σ_b² read from the drawn \
             values (fan-in × mean square), where the spec gives no variance (LSUV rescales \
             after drawing)."
                .into(),
        ));
        plots.push(plot);
    }
    Ok((blocks, plots))
}

/// The table row of one placed initializer: its ranges, χ₁ and phase.
fn placed_row(activation: Activation, p: &Placed) -> Vec<String> {
    let chis: Vec<f64> = p
        .layers
        .iter()
        .zip(&p.q)
        .filter_map(|(&(w, b), &q)| chi1(activation, w, b, q))
        .collect();
    let phase = if chis.is_empty() {
        "–".to_string()
    } else if chis.iter().all(|&c| (c - 1.0).abs() < 0.05) {
        "at the edge (|χ₁ − 1| < 0.05)".into()
    } else if chis.iter().all(|&c| c < 1.0) {
        "ordered".into()
    } else if chis.iter().all(|&c| c > 1.0) {
        "chaotic".into()
    } else {
        "layers on both sides".into()
    };
    vec![
        format!("`{}`", code(&p.label)),
        format!(
            "{}{}",
            span(p.layers.iter().map(|l| l.0)),
            if p.drawn_w { " (drawn)" } else { "" }
        ),
        format!(
            "{}{}",
            span(p.layers.iter().map(|l| l.1)),
            if p.drawn_b { " (drawn)" } else { "" }
        ),
        span(chis.iter().copied()),
        phase,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_chi1_is_half_sigma_w2_where_there_is_no_positive_fixed_point() {
        // σ_b² = 0: q* = 0 below σ_w² = 2, none above; χ₁ = σ_w²/2 at any q > 0.
        for w in [1.0, 2.0, 4.0] {
            let chi = chi1(Activation::Relu, w, 0.0, 0.5).expect("chi1");
            assert!((chi - w / 2.0).abs() < 1e-9, "σ_w² = {w}: χ₁ = {chi}");
        }
        assert_eq!(chi1(Activation::Relu, 0.0, 0.0, 0.0), Some(0.0));
        // tanh at σ_b² = 0.05 has a finite q* > 0: χ₁ there, edge near 1.76.
        let at_edge = chi1(Activation::Tanh, 1.7616, 0.05, 123.0).expect("chi1");
        assert!((at_edge - 1.0).abs() < 0.01, "{at_edge}");
    }

    #[test]
    fn spans_collapse_equal_values() {
        assert_eq!(span([2.0, 2.0].into_iter()), "2.00");
        assert_eq!(span([1.21, 1.72].into_iter()), "1.21–1.72");
        assert_eq!(span(std::iter::empty()), "–");
    }
}
