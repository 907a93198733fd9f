//! Mean-field theory beside measurement for recurrent runs: how much
//! ‖∂L/∂h_t‖ of the top Elman layer changes per step backwards through time
//! at initialization, predicted from the run's own initial weights
//! (`initlab_theory::elman_backward_factor`) and fitted to the stored norms.
//!
//! Like with like: both the measurement and the prediction along the
//! sequence are the same least-squares slope of ln‖∂L/∂h_t‖ against t, over
//! the same steps.

use initlab_theory::{elman_backward_factor, elman_lengths, Activation, RecurrentWeights};
use initlab_train::{input_second_moment, NamedTensor, RunRecord};

use super::render::{code, Block};
use crate::plots::ConfigRun;

/// W is taken as an isometry when W Wᵀ is g²·I to this relative accuracy.
const ISOMETRY_TOLERANCE: f64 = 1e-4;

/// q_x where the task gives no input statistics: standardized inputs.
const ASSUMED_Q_X: f64 = 1.0;

/// One grid point's prediction and measurement.
struct Row {
    name: String,
    /// How W was read: isometry or random, with its σ_w².
    weights: String,
    /// σ_u² q_x + σ_b² of the top layer; `None` for a gated (LSTM) cell.
    offset: Option<f64>,
    /// √χ at q*, or why there is none.
    predicted: Result<f64, String>,
    /// The same fit as `measured`, of the predicted norms along q_t from h₀ = 0.
    along: Option<f64>,
    /// The predicted ‖∂L/∂h_t‖ along q_t, t = 1 … T, relative to 1 at t = T.
    curve: Option<Vec<f64>>,
    /// exp(−slope) of the fit of ln‖∂L/∂h_t‖ at initialization, and the steps used.
    measured: Option<(f64, usize)>,
}

fn config(run: &RunRecord) -> Option<serde_json::Value> {
    serde_json::from_str(&run.config_json).ok()
}

fn param<'a>(run: &'a RunRecord, name: &str) -> Option<&'a NamedTensor> {
    run.initial_params.iter().find(|t| t.name == name)
}

fn mean_square(values: &[f32]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / values.len() as f64
}

/// `g` where the square `w` (row-major, `h × h`) has every singular value g.
fn isometry_gain(w: &[f32], h: usize) -> Option<f64> {
    let g2 = w.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / h as f64;
    if g2 <= 0.0 {
        return None;
    }
    for i in 0..h {
        for j in i..h {
            let dot: f64 = (0..h)
                .map(|k| f64::from(w[i * h + k]) * f64::from(w[j * h + k]))
                .sum();
            let want = if i == j { g2 } else { 0.0 };
            if (dot - want).abs() > ISOMETRY_TOLERANCE * g2 {
                return None;
            }
        }
    }
    Some(g2.sqrt())
}

/// The recurrent weights of layer `l`, or why mean-field says nothing of them.
fn recurrent_weights(w: &NamedTensor) -> Option<Result<RecurrentWeights, String>> {
    let [h, cols] = w.shape.as_slice() else {
        return None;
    };
    if h != cols || w.values.len() != h * cols {
        return None;
    }
    if let Some(gain) = isometry_gain(&w.values, *h) {
        return Some(Ok(RecurrentWeights::Isometry { gain }));
    }
    let ms = mean_square(&w.values);
    let mean = w.values.iter().map(|&v| f64::from(v)).sum::<f64>() / w.values.len() as f64;
    if mean * mean > 0.25 * ms {
        return Some(Err(format!(
            "entries share the mean {}: not a zero-mean random matrix",
            sig(mean)
        )));
    }
    Some(Ok(RecurrentWeights::Random {
        sigma_w2: *h as f64 * ms,
    }))
}

fn describe(weights: &Result<RecurrentWeights, String>) -> String {
    match weights {
        Ok(RecurrentWeights::Isometry { gain }) => format!("isometry, g = {}", sig(*gain)),
        Ok(RecurrentWeights::Random { sigma_w2 }) => format!("random, σ_w² = {}", sig(*sigma_w2)),
        Err(_) => "not zero-mean".into(),
    }
}

/// σ_u² (the input weights' variance × fan-in) and σ_b² (of b_ih + b_hh) of layer `l`.
fn drive_and_bias(run: &RunRecord, l: usize) -> Option<(f64, f64)> {
    let u = param(run, &format!("rnn.weight_ih_l{l}"))?;
    let fan_in = *u.shape.get(1)? as f64;
    let b_ih = param(run, &format!("rnn.bias_ih_l{l}"));
    let b_hh = param(run, &format!("rnn.bias_hh_l{l}"));
    let bias: Vec<f32> = match (b_ih, b_hh) {
        (Some(a), Some(b)) if a.values.len() == b.values.len() => {
            a.values.iter().zip(&b.values).map(|(x, y)| x + y).collect()
        }
        (Some(a), None) | (None, Some(a)) => a.values.clone(),
        _ => Vec::new(),
    };
    Some((fan_in * mean_square(&u.values), mean_square(&bias)))
}

/// Least-squares slope of ln y against t over the finite positive y;
/// `None` below two such points.
fn log_slope(points: impl Iterator<Item = (f64, f64)>) -> Option<(f64, usize)> {
    let pts: Vec<(f64, f64)> = points
        .filter(|(_, y)| y.is_finite() && *y > 0.0)
        .map(|(t, y)| (t, y.ln()))
        .collect();
    let n = pts.len();
    if n < 2 {
        return None;
    }
    let mt = pts.iter().map(|p| p.0).sum::<f64>() / n as f64;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mt).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mt) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| (sxy / sxx, n))
}

/// The per-step backward factor fitted to `norms` (t = 1 … T): exp(−slope).
fn fitted_factor(norms: &[f64]) -> Option<(f64, usize)> {
    log_slope(norms.iter().enumerate().map(|(t, &y)| ((t + 1) as f64, y)))
        .map(|(slope, n)| ((-slope).exp(), n))
}

/// The row of an Elman run with stored norms at initialization, else `None`.
fn row(name: &str, run: &RunRecord, q_x: Option<f64>) -> Option<Row> {
    let json = config(run)?;
    if json.pointer("/model/cell").and_then(|v| v.as_str()) != Some("rnn") {
        return gated_row(name, run);
    }
    let activation: Activation = json
        .pointer("/model/nonlinearity")
        .and_then(|v| v.as_str())
        .unwrap_or("tanh")
        .parse()
        .ok()?;
    let grad = run.bptt.iter().find(|t| t.name == "grad_h_norm")?;
    let steps = *grad.shape.get(1)?;
    if steps == 0 || grad.values.len() < steps {
        return None;
    }
    let top = (0..)
        .take_while(|l| param(run, &format!("rnn.weight_hh_l{l}")).is_some())
        .last()?;
    // q_x of each layer: the data's for the first, E[φ²] at the layer below's q* above.
    let mut q_in = q_x.unwrap_or(ASSUMED_Q_X);
    let mut top_weights = None;
    let mut offset = 0.0;
    let mut below: Option<String> = None;
    for l in 0..=top {
        let weights = recurrent_weights(param(run, &format!("rnn.weight_hh_l{l}"))?)?;
        let (sigma_u2, sigma_b2) = drive_and_bias(run, l)?;
        offset = sigma_u2 * q_in + sigma_b2;
        if l < top && below.is_none() {
            match weights
                .as_ref()
                .map_err(|why| format!("layer {l}'s W_hh: {why}"))
                .and_then(|w| {
                    elman_backward_factor(activation, *w, offset, 0.0).map_err(|e| e.to_string())
                }) {
                Ok(f) if f.q_star.is_finite() => {
                    q_in = initlab_theory::second_moment(activation, f.q_star)
                }
                Ok(_) => below = Some(format!("layer {l}'s q grows without bound")),
                Err(why) => below = Some(why),
            }
        }
        top_weights = Some(weights);
    }
    let weights = top_weights?;
    let usable = match (&weights, below.as_ref()) {
        (Err(why), _) | (Ok(_), Some(why)) => Err(why.clone()),
        (Ok(w), None) => Ok(*w),
    };
    let (predicted, along, curve) = match &usable {
        Err(why) => (Err(why.clone()), None, None),
        Ok(w) => match elman_backward_factor(activation, *w, offset, 0.0) {
            Err(e) => (Err(e.to_string()), None, None),
            Ok(f) => {
                // ln‖∂L/∂h_{t−1}‖ = ln‖∂L/∂h_t‖ + ½ ln χ(q_t), from 0 at t = T.
                let q = elman_lengths(activation, *w, offset, 0.0, steps);
                let mut log = vec![0.0; steps];
                for t in (1..steps).rev() {
                    let chi = w.sigma_w2()
                        * initlab_theory::derivative_cross_moment(activation, q[t], q[t], q[t]);
                    log[t - 1] = log[t] + 0.5 * chi.ln();
                }
                let norms: Vec<f64> = log.iter().map(|l| l.exp()).collect();
                let along = fitted_factor(&norms).map(|(f, _)| f);
                (Ok(f.norm_factor), along, Some(norms))
            }
        },
    };
    let measured: Vec<f64> = grad.values[..steps].iter().map(|&v| f64::from(v)).collect();
    Some(Row {
        name: name.to_string(),
        weights: describe(&weights),
        offset: Some(offset),
        predicted,
        along,
        curve,
        measured: fitted_factor(&measured),
    })
}

/// The norms at initialization of a run's stored `grad_h_norm`, t = 1 … T.
fn measured_norms(run: &RunRecord) -> Option<Vec<f64>> {
    let grad = run.bptt.iter().find(|t| t.name == "grad_h_norm")?;
    let steps = *grad.shape.get(1)?;
    (steps > 0 && grad.values.len() >= steps)
        .then(|| grad.values[..steps].iter().map(|&v| f64::from(v)).collect())
}

/// A gated (LSTM) run: its measured factor, and no prediction (see [`GATED`]).
fn gated_row(name: &str, run: &RunRecord) -> Option<Row> {
    let measured = measured_norms(run)?;
    Some(Row {
        name: name.to_string(),
        weights: "LSTM (gated)".into(),
        offset: None,
        predicted: Err("LSTM: see below".into()),
        along: None,
        curve: None,
        measured: fitted_factor(&measured),
    })
}

/// Why the Elman theory gives no factor for an LSTM, and what stands instead.
const GATED: &str = "**No prediction for the LSTM runs** (\"LSTM (gated)\" above). The \
    Elman theory follows one map h_t = φ(W h_{t−1} + U x_t + b), whose Jacobian \
    ∂h_t/∂h_{t−1} = diag(φ′) W has, in mean field, the squared norm χ = σ_w² E[φ′²] per step, \
    a function of W's variance and q* alone. An LSTM carries two states (c_t, h_t = o_t ⊙ \
    tanh c_t), and the gradient's main path back through time is the cell's, ∂c_t/∂c_{t−1} = \
    diag(f_t) plus terms through the four gates: it is set by the forget gate's value \
    f_t = σ(W_f h_{t−1} + U_f x_t + b_f), i.e. by the gate biases (PyTorch's default U(±1/√H), \
    a forget bias of 0.5 or 1 where a study sets one) and the input's drive, not by χ of W_hh. \
    So neither the map q_t nor the factor √χ applies, and no single σ_w² places the run on the \
    Elman diagram. A mean-field theory of gated cells exists (Chen, Pennington & Schoenholz \
    2018, for a minimal gated RNN) but is not carried over to the LSTM here. Shown instead: \
    the measured per-step factor (the same log-linear fit, last column) and, in the figure \
    below, the measured ‖∂L/∂h_t‖ with no predicted line.";

/// q_x of the configurations' task, where it states one.
fn task_q_x(configs: &[ConfigRun]) -> Option<f64> {
    configs
        .first()
        .and_then(|c| config(c.run))
        .and_then(|j| j.get("data").and_then(input_second_moment))
}

/// Per configuration, the predicted ‖∂L/∂h_t‖ at initialization along q_t
/// (t = 1 … T), anchored to the measured norm at the last step where it is
/// finite and > 0; `None` where there is no prediction or no anchor.
pub(super) fn predicted_norms(configs: &[ConfigRun]) -> Vec<Option<Vec<f64>>> {
    let q_x = task_q_x(configs);
    configs
        .iter()
        .map(|c| {
            let curve = row(&c.name, c.run, q_x)?.curve?;
            let measured = measured_norms(c.run)?;
            let t = (0..measured.len().min(curve.len()))
                .rev()
                .find(|&t| measured[t].is_finite() && measured[t] > 0.0 && curve[t] > 0.0)?;
            let scale = measured[t] / curve[t];
            Some(curve.iter().map(|v| v * scale).collect())
        })
        .collect()
}

fn sig(x: f64) -> String {
    crate::plots::style::fmt_sig(x, 3)
}

/// The table for the recurrent runs among `configs` (first seed each):
/// empty when none is an Elman RNN with stored norms at initialization.
pub(super) fn table(configs: &[ConfigRun]) -> Vec<Block> {
    let q_x = task_q_x(configs);
    let rows: Vec<Row> = configs
        .iter()
        .filter_map(|c| row(&c.name, c.run, q_x))
        .collect();
    if rows.is_empty() {
        return Vec::new();
    }
    let input = match q_x {
        Some(q) => format!(
            "q_x = {} is the inputs' mean square per feature from the task's input statistics \
             (`initlab_train::input_second_moment`)",
            sig(q)
        ),
        None => "the task gives no input statistics, so q_x is taken as 1 (inputs of unit \
                 mean square per feature); ReLU's χ does not depend on q > 0, tanh's falls as \
                 q grows"
            .into(),
    };
    let table_rows = rows
        .iter()
        .map(|r| {
            vec![
                format!("`{}`", code(&r.name)),
                r.weights.clone(),
                r.offset.map_or("–".into(), sig),
                match &r.predicted {
                    Ok(f) => sig(*f),
                    Err(why) => format!("– ({why})"),
                },
                r.along.map_or("–".into(), sig),
                r.measured.map_or(
                    "– (fewer than 2 steps with a norm > 0)".into(),
                    |(f, n)| format!("{} ({n} steps)", sig(f)),
                ),
            ]
        })
        .collect();
    let elman = rows.iter().any(|r| r.offset.is_some());
    let gated = rows.iter().any(|r| r.offset.is_none());
    let mut blocks = vec![
        Block::P(format!(
            "**Theory beside measurement.** The factor by which ‖∂L/∂h_t‖ of the top recurrent \
             layer changes per step backwards through time (from t to t − 1) at \
             initialization. Mean field for an Elman layer (see ARCHITECTURE.md, theory): the \
             pre-activation second moment follows q_t = σ_w² E[φ(√q_{{t−1}} z)²] + σ_u² q_x + \
             σ_b² to its fixed point q*, and the **squared** norm changes by \
             χ = σ_w² E[φ′(√q* z)²] per step, so the **norm** by √χ (the column \"predicted \
             at q*\"). σ_w² is H × the drawn W_hh's mean square; where W_hh W_hhᵀ = g²·I \
             (identity or orthogonal, scaled) its exact spectrum gives σ_w² = g². σ_u² is the \
             input weights' fan-in × mean square, σ_b² the mean square of b_ih + b_hh; \
             {input}; a higher layer's q_x is E[φ²] at the layer below's q*. Measured: \
             exp(−slope) of a least-squares fit of ln‖∂L/∂h_t‖ against t over the steps \
             where the stored norm at initialization (`bptt/grad_h_norm` row 0) is finite \
             and > 0. Since h₀ = 0 the early steps are not yet at q*; \"along q_t\" is the \
             same fit applied to the norms the theory predicts step by step from q_1 = \
             σ_u² q_x + σ_b². Below 1 the gradient vanishes with distance, above 1 it \
             explodes. The factor E[φ′²] assumes fresh units active at each step; with \
             W_hh = g·I a unit's gradient returns only to itself, so where the same units \
             stay active step after step (inputs of one sign) the norm falls by g, not \
             g √E[φ′²]. The figure below draws the prediction along q_t as a vermillion line \
             in each panel, anchored to the measured norm at initialization at the last \
             step (the theory predicts the change per step, not the loss's own scale). First \
             seed of each grid point."
        )),
        Block::Table {
            head: vec![
                "grid point".into(),
                "W_hh".into(),
                "σ_u² q_x + σ_b²".into(),
                "predicted √χ at q*".into(),
                "predicted, along q_t".into(),
                "measured (log-linear fit)".into(),
            ],
            right: vec![false, false, true, true, true, true],
            rows: table_rows,
        },
    ];
    if !elman {
        // Only gated cells: the Elman derivation and its columns would describe nothing.
        if let Block::Table { head, right, rows } = &mut blocks[1] {
            let keep = [0, 1, 5];
            *head = keep.iter().map(|&i| head[i].clone()).collect();
            *right = keep.iter().map(|&i| right[i]).collect();
            for row in rows.iter_mut() {
                *row = keep.iter().map(|&i| row[i].clone()).collect();
            }
        }
        blocks[0] = Block::P(
            "**Theory beside measurement.** The factor by which ‖∂L/∂h_t‖ of the top \
             recurrent layer changes per step backwards through time (from t to t − 1) at \
             initialization, measured: exp(−slope) of a least-squares fit of ln‖∂L/∂h_t‖ \
             against t over the steps where the stored norm at initialization \
             (`bptt/grad_h_norm` row 0) is finite and > 0. First seed of each grid point."
                .into(),
        );
    }
    if gated {
        blocks.push(Block::P(GATED.into()));
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_recovers_a_geometric_decay_and_skips_zeros() {
        // Norms growing by 2 per step forward: a backward factor of ½.
        let norms: Vec<f64> = (0..10).map(|t| 2f64.powi(t)).collect();
        let (f, n) = fitted_factor(&norms).expect("fit");
        assert!((f - 0.5).abs() < 1e-12 && n == 10);
        let mut holed = norms.clone();
        holed[3] = 0.0;
        holed[4] = f64::NAN;
        assert_eq!(fitted_factor(&holed).map(|p| p.1), Some(8));
        assert!(fitted_factor(&[0.0, 0.0, 1.0]).is_none());
    }

    #[test]
    fn identity_and_orthogonal_are_isometries_and_noise_is_not() {
        let h = 3;
        let eye: Vec<f32> = (0..9).map(|i| if i % 4 == 0 { 0.5 } else { 0.0 }).collect();
        assert_eq!(isometry_gain(&eye, h), Some(0.5));
        // A rotation by 30° about the third axis, times 2.
        let (s, c) = (0.5f32, 0.75f32.sqrt());
        let rot = [c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0].map(|v| 2.0 * v);
        assert!((isometry_gain(&rot, h).expect("orthogonal") - 2.0).abs() < 1e-6);
        let noise = [0.3, -0.1, 0.2, 0.1, 0.4, -0.3, -0.2, 0.1, 0.2];
        assert_eq!(isometry_gain(&noise, h), None);
    }
}
