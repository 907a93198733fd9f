//! Mean-field theory beside measurement: each MLP grid point's activation
//! scale at initialization, layer by layer, against what `initlab_theory`
//! predicts from the run's own initial weights and biases.
//!
//! Like with like: the report stores the standard deviation of each hidden
//! layer's post-activation outputs φ(h) on the 256 probe images, pooled over
//! units and images; the theory gives the pre-activation second moment q^l
//! and from it the pooled std of φ(h), √(E[φ²] − E[φ]²) with h ~ N(0, q^l).

use initlab_init::Scheme;
use initlab_theory::{post_activation_std, pre_activation_lengths, Activation};
use initlab_train::{input_second_moment, RunRecord};

use super::render::{code, Block};

/// One hidden layer's prediction and measurement.
struct Layer {
    /// σ_w² from the initializer's spec, where it has one.
    spec_sigma_w2: Option<f64>,
    /// σ_w² = fan_in · mean(w²) of the drawn weights.
    drawn_sigma_w2: f64,
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
    }
    let q = pre_activation_lengths(activation, q0, &variances);
    let layers = run
        .activations
        .iter()
        .enumerate()
        .map(|(i, stats)| Layer {
            spec_sigma_w2: spec_sigma[i],
            drawn_sigma_w2: variances[i].0,
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
