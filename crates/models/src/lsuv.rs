//! LSUV's data-dependent step (Mishkin & Matas 2015, Algorithm 1) on the
//! host, for every network of this crate.
//!
//! The pre-init is sampled like any other scheme; then each layer whose
//! weights the plan draws with `lsuv` is, in forward order, run forward on one
//! calibration batch and divided by the standard deviation of its output until
//! `|Var − 1| < tolerance` or `max_iter` steps ([`initlab_init::lsuv`]). The
//! forward passes are plain f64 loops over the f32 weights, each output a sum
//! in a fixed order, so the calibrated weights, and the `init_sha256` taken
//! after them, are the same whatever backend trains the run.
//!
//! # What a layer's output is
//! - A dense layer (every MLP layer, the output layer included as in the
//!   paper, and the read-out `head` of the recurrent networks): its
//!   pre-activation `W x + b` over the batch.
//! - A recurrent layer: its pre-activation at every time step over the batch,
//!   `W_ih x_t + b_ih + W_hh h_{t−1} + b_hh`, `[batch, T, G·H]`. One factor
//!   divides both `W_ih` and `W_hh` (those of them the plan draws with `lsuv`;
//!   a matrix set apart, an identity `W_hh` say, is left alone), since both
//!   feed the one output whose variance is measured.
//! - An LSTM: the four gates' pre-activations *together*, one factor for the
//!   layer. The stacked `[4H, ·]` matrices are one orthogonal draw each, and
//!   one factor keeps them a multiple of it (gate by gate would not), as the
//!   paper's "one factor per layer" has it; the gates' relative scale is then
//!   the pre-init's.
//!
//! Biases and the embedding table are never scaled. A layer whose variance
//! stays outside the tolerance after `max_iter` steps is recorded as not
//! converged, which is a result, not an error.

use initlab_init::{lsuv, LsuvLayer, LsuvModel, LsuvSettings, Scheme};
use rayon::prelude::*;

use crate::activation::Activation;
use crate::event_lstm::EventLstmConfig;
use crate::mlp::MlpConfig;
use crate::params::{HostParams, InitPlan, ParamSpec};
use crate::recurrent::Nonlinearity;
use crate::recurrent_net::{Recurrence, RecurrentNetConfig};
use crate::{Error, Result};

/// The calibration batch on the host, row-major.
#[derive(Clone, Copy, Debug)]
pub enum LsuvBatch<'a> {
    /// `[batch, features]` (an MLP's input).
    Features {
        /// The values.
        values: &'a [f32],
        /// Features per example.
        features: usize,
    },
    /// `[batch, steps, features]` (a recurrent net's input).
    Sequences {
        /// The values.
        values: &'a [f32],
        /// Time steps per example.
        steps: usize,
        /// Features per step.
        features: usize,
    },
    /// `[batch, steps]` token ids (the event LSTM's input).
    Tokens {
        /// The ids.
        ids: &'a [i64],
        /// Tokens per example.
        steps: usize,
    },
}

/// What LSUV did to one layer of a network.
#[derive(Clone, Debug, PartialEq)]
pub struct LsuvRecord {
    /// The layer, named as the activation statistics name it (`layers.0`,
    /// `rnn.l0`, `lstm.l0`), or `head` for a recurrent net's read-out.
    pub layer: String,
    /// Steps, variance before and after, the factor, and convergence.
    pub outcome: LsuvLayer,
}

/// `lsuv_settings` and `calibrate_lsuv` for a config, each with its own
/// docs: both read the config's `stages` and `param_specs` alone.
macro_rules! lsuv_methods {
    ($config:ident {
        $(#[$settings_doc:meta])*
        settings;
        $(#[$calibrate_doc:meta])*
        calibrate;
    }) => {
        impl $config {
            $(#[$settings_doc])*
            pub fn lsuv_settings(&self, plan: &InitPlan) -> Result<Option<LsuvSettings>> {
                settings(&self.stages(), &self.param_specs(), plan)
            }

            $(#[$calibrate_doc])*
            pub fn calibrate_lsuv(
                &self,
                params: &mut HostParams,
                plan: &InitPlan,
                batch: LsuvBatch<'_>,
            ) -> Result<Vec<LsuvRecord>> {
                calibrate(self.stages(), &self.param_specs(), params, plan, batch)
            }
        }
    };
}

lsuv_methods! {
    MlpConfig {
        /// The LSUV settings the plan asks for, `None` if it names no `lsuv`.
        ///
        /// # Errors
        /// [`Error::Config`] when `lsuv` draws a parameter that is not a weight
        /// matrix, or two `lsuv` specs of one plan differ.
        settings;
        /// Runs LSUV on `params` (sampled from `plan`) with `batch`; the
        /// calibrated layers' outcomes in forward order, none when the plan names
        /// no `lsuv`.
        ///
        /// # Errors
        /// As [`lsuv_settings`](Self::lsuv_settings); a batch that is not feature
        /// vectors of the input width; a layer whose output variance is 0 or not
        /// finite.
        calibrate;
    }
}

impl MlpConfig {
    fn stages(&self) -> Vec<Stage> {
        let widths = self.widths();
        let last = widths.len() - 2;
        widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| Stage::Dense {
                layer: format!("layers.{i}"),
                weight: format!("layers.{i}.weight"),
                bias: format!("layers.{i}.bias"),
                inputs: w[0],
                outputs: w[1],
                after: (i < last || self.output_activation == Some(true))
                    .then_some(self.activation),
            })
            .collect()
    }
}

lsuv_methods! {
    RecurrentNetConfig {
        /// As [`MlpConfig::lsuv_settings`].
        ///
        /// # Errors
        /// As [`MlpConfig::lsuv_settings`].
        settings;
        /// As [`MlpConfig::calibrate_lsuv`], on a batch of sequences.
        ///
        /// # Errors
        /// As [`MlpConfig::calibrate_lsuv`].
        calibrate;
    }
}

impl RecurrentNetConfig {
    fn stages(&self) -> Vec<Stage> {
        let cell = match self.cell {
            Recurrence::Rnn => Cell::Elman(self.nonlinearity.unwrap_or_default()),
            Recurrence::Lstm => Cell::Lstm,
        };
        let mut stages: Vec<Stage> = (0..self.layers)
            .map(|l| {
                recurrent_stage(
                    "rnn",
                    l,
                    cell,
                    if l == 0 { self.input } else { self.hidden },
                    self.hidden,
                )
            })
            .collect();
        stages.push(Stage::Last);
        stages.push(head_stage(self.hidden, self.outputs));
        stages
    }
}

lsuv_methods! {
    EventLstmConfig {
        /// As [`MlpConfig::lsuv_settings`].
        ///
        /// # Errors
        /// As [`MlpConfig::lsuv_settings`].
        settings;
        /// As [`MlpConfig::calibrate_lsuv`], on a batch of token windows; the
        /// embedding table in `params` (pre-trained or sampled) is read as it is.
        ///
        /// # Errors
        /// As [`MlpConfig::calibrate_lsuv`], and a token outside the vocabulary.
        calibrate;
    }
}

impl EventLstmConfig {
    fn stages(&self) -> Vec<Stage> {
        vec![
            Stage::Embed {
                table: "embedding.weight".to_string(),
                vocabulary: self.vocabulary,
                dim: self.dim,
            },
            recurrent_stage("lstm", 0, Cell::Lstm, self.dim, self.hidden),
            Stage::Flatten,
            head_stage(self.window * self.hidden, self.vocabulary),
        ]
    }
}

fn recurrent_stage(prefix: &str, l: usize, cell: Cell, input: usize, hidden: usize) -> Stage {
    Stage::Recurrent(RecurrentStage {
        layer: format!("{prefix}.l{l}"),
        cell,
        w_ih: format!("{prefix}.weight_ih_l{l}"),
        w_hh: format!("{prefix}.weight_hh_l{l}"),
        b_ih: format!("{prefix}.bias_ih_l{l}"),
        b_hh: format!("{prefix}.bias_hh_l{l}"),
        input,
        hidden,
    })
}

fn head_stage(inputs: usize, outputs: usize) -> Stage {
    Stage::Dense {
        layer: "head".to_string(),
        weight: "head.weight".to_string(),
        bias: "head.bias".to_string(),
        inputs,
        outputs,
        after: None,
    }
}

/// A recurrent layer of a [`Stage`]: its name, cell, parameters and sizes.
struct RecurrentStage {
    layer: String,
    cell: Cell,
    w_ih: String,
    w_hh: String,
    b_ih: String,
    b_hh: String,
    input: usize,
    hidden: usize,
}

/// One step of a network's host forward pass.
enum Stage {
    /// `[rows, inputs] → [rows, outputs]`, `W x + b`, then `after` (none
    /// after the output layer).
    Dense {
        layer: String,
        weight: String,
        bias: String,
        inputs: usize,
        outputs: usize,
        after: Option<Activation>,
    },
    /// `[batch, T, input] → [batch, T, hidden]`, zero initial state.
    Recurrent(RecurrentStage),
    /// Token ids `[batch, T]` → `[batch, T, dim]`.
    Embed {
        table: String,
        vocabulary: usize,
        dim: usize,
    },
    /// `[batch, T, H]` → `[batch, H]`, the last step.
    Last,
    /// `[batch, T, H]` → `[batch, T·H]`.
    Flatten,
}

#[derive(Clone, Copy)]
enum Cell {
    Elman(Nonlinearity),
    /// PyTorch's gates `i, f, g, o`.
    Lstm,
}

impl Cell {
    fn gates(self) -> usize {
        match self {
            Cell::Elman(_) => 1,
            Cell::Lstm => 4,
        }
    }
}

impl Stage {
    /// The layer's name and the weight matrices a factor would divide.
    fn weights(&self) -> Option<(&str, Vec<&str>)> {
        match self {
            Stage::Dense { layer, weight, .. } => Some((layer, vec![weight.as_str()])),
            Stage::Recurrent(r) => Some((&r.layer, vec![r.w_ih.as_str(), r.w_hh.as_str()])),
            _ => None,
        }
    }

    /// Every parameter the stage reads, with its length.
    fn reads(&self) -> Vec<(&str, usize)> {
        match self {
            Stage::Dense {
                weight,
                bias,
                inputs,
                outputs,
                ..
            } => vec![(weight, inputs * outputs), (bias, *outputs)],
            Stage::Recurrent(r) => {
                let rows = r.cell.gates() * r.hidden;
                vec![
                    (&r.w_ih, rows * r.input),
                    (&r.w_hh, rows * r.hidden),
                    (&r.b_ih, rows),
                    (&r.b_hh, rows),
                ]
            }
            Stage::Embed {
                table,
                vocabulary,
                dim,
            } => vec![(table, vocabulary * dim)],
            Stage::Last | Stage::Flatten => Vec::new(),
        }
        .into_iter()
        .map(|(name, len)| (name.as_str(), len))
        .collect()
    }
}

fn is_lsuv(scheme: &Scheme) -> bool {
    scheme.lsuv_settings().is_some()
}

/// Checks where the plan puts `lsuv` and returns its one set of settings.
fn settings(
    stages: &[Stage],
    specs: &[ParamSpec],
    plan: &InitPlan,
) -> Result<Option<LsuvSettings>> {
    let weights: Vec<&str> = stages
        .iter()
        .filter_map(Stage::weights)
        .flat_map(|(_, w)| w)
        .collect();
    let mut found: Option<(String, LsuvSettings)> = None;
    for spec in specs {
        let mut drawn = vec![(spec.name.clone(), plan.scheme_for_param(spec))];
        for part in &spec.parts {
            if let Some(scheme) = plan.groups.get(part.group) {
                drawn.push((format!("{} (group `{}`)", spec.name, part.group), scheme));
            }
        }
        for (name, scheme) in drawn {
            let Some(these) = scheme.lsuv_settings() else {
                continue;
            };
            if !weights.contains(&name.as_str()) {
                return Err(Error::Config(format!(
                    "`{name}` is drawn by `{scheme}`, but LSUV rescales weight matrices only \
                     (those of {})",
                    weights.join(", ")
                )));
            }
            match &found {
                Some((first, settings)) if *settings != these => {
                    return Err(Error::Config(format!(
                        "`{first}` and `{name}` are drawn by different `lsuv` settings; \
                         one calibration runs per network, so they must agree"
                    )))
                }
                Some(_) => {}
                None => found = Some((name, these)),
            }
        }
    }
    Ok(found.map(|(_, s)| s))
}

fn calibrate(
    stages: Vec<Stage>,
    specs: &[ParamSpec],
    params: &mut HostParams,
    plan: &InitPlan,
    batch: LsuvBatch<'_>,
) -> Result<Vec<LsuvRecord>> {
    let Some(settings) = settings(&stages, specs, plan)? else {
        return Ok(Vec::new());
    };
    for (name, len) in stages.iter().flat_map(Stage::reads) {
        let found = params.get(name).map(<[f32]>::len);
        if found != Some(len) {
            return Err(Error::Config(format!(
                "LSUV needs `{name}` with {len} values, the parameters have {found:?}"
            )));
        }
    }
    let input = Flow::from_batch(batch, &stages)?;
    let lsuv_weight = |name: &str| {
        specs
            .iter()
            .find(|s| s.name == name)
            .is_some_and(|s| is_lsuv(plan.scheme_for_param(s)))
    };
    let layers: Vec<(usize, Vec<String>)> = stages
        .iter()
        .enumerate()
        .filter_map(|(i, stage)| {
            let (_, weights) = stage.weights()?;
            let scaled: Vec<String> = weights
                .into_iter()
                .filter(|w| lsuv_weight(w))
                .map(str::to_string)
                .collect();
            (!scaled.is_empty()).then_some((i, scaled))
        })
        .collect();
    let mut host = HostNet {
        stages: &stages,
        params,
        layers: &layers,
        cache: (0, input.clone()),
        input,
    };
    let name = |layer: usize| {
        layers
            .get(layer)
            .and_then(|(stage, _)| stages[*stage].weights())
            .map(|(name, _)| name.to_string())
            .unwrap_or_default()
    };
    let outcomes =
        lsuv(&mut host, settings.tolerance, settings.max_iter).map_err(|error| match error {
            initlab_init::Error::LsuvDegenerateVariance { layer, variance } => {
                Error::Config(format!(
                    "LSUV: layer `{}` has output variance {variance} on the calibration \
                     batch; no factor brings that to 1",
                    name(layer)
                ))
            }
            other => Error::Config(format!("LSUV: {other}")),
        })?;
    Ok(outcomes
        .into_iter()
        .enumerate()
        .map(|(layer, outcome)| LsuvRecord {
            layer: name(layer),
            outcome,
        })
        .collect())
}

/// Values between stages: `[batch, steps, features]` (steps 1 for vectors),
/// or the token ids the first stage embeds.
#[derive(Clone)]
enum Flow {
    Values {
        batch: usize,
        steps: usize,
        features: usize,
        values: Vec<f64>,
    },
    Tokens {
        batch: usize,
        steps: usize,
        ids: Vec<usize>,
    },
}

impl Flow {
    /// The batch as the first stage reads it, checked against that stage.
    fn from_batch(batch: LsuvBatch<'_>, stages: &[Stage]) -> Result<Flow> {
        let wrong = |what: &str| {
            Error::Config(format!(
                "the LSUV calibration batch is {what}, which this network does not read"
            ))
        };
        let to_f64 = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
        let flow = match (batch, stages.first()) {
            (LsuvBatch::Features { values, features }, Some(Stage::Dense { inputs, .. }))
                if features == *inputs && features > 0 =>
            {
                Flow::Values {
                    batch: values.len() / features,
                    steps: 1,
                    features,
                    values: to_f64(values),
                }
            }
            (
                LsuvBatch::Sequences {
                    values,
                    steps,
                    features,
                },
                Some(Stage::Recurrent(r)),
            ) if features == r.input && steps * features > 0 => Flow::Values {
                batch: values.len() / (steps * features),
                steps,
                features,
                values: to_f64(values),
            },
            (LsuvBatch::Tokens { ids, steps }, Some(Stage::Embed { vocabulary, .. }))
                if steps > 0 =>
            {
                let ids = ids
                    .iter()
                    .map(|&id| usize::try_from(id).ok().filter(|&i| i < *vocabulary))
                    .collect::<Option<Vec<usize>>>()
                    .ok_or_else(|| {
                        Error::Config(format!(
                            "the LSUV calibration batch has a token outside 0..{vocabulary}"
                        ))
                    })?;
                Flow::Tokens {
                    batch: ids.len() / steps,
                    steps,
                    ids,
                }
            }
            (LsuvBatch::Features { features, .. }, _) => {
                return Err(wrong(&format!("vectors of {features} features")))
            }
            (
                LsuvBatch::Sequences {
                    steps, features, ..
                },
                _,
            ) => return Err(wrong(&format!("sequences of {steps} steps × {features}"))),
            (LsuvBatch::Tokens { steps, .. }, _) => {
                return Err(wrong(&format!("token windows of {steps}")))
            }
        };
        let batch = match &flow {
            Flow::Values { batch, .. } | Flow::Tokens { batch, .. } => *batch,
        };
        if batch == 0 {
            return Err(Error::Config("the LSUV calibration batch is empty".into()));
        }
        Ok(flow)
    }
}

/// A network on the host, as [`lsuv`] sees it.
struct HostNet<'a> {
    stages: &'a [Stage],
    params: &'a mut HostParams,
    /// Each calibrated layer: its stage and the weights its factor divides.
    layers: &'a [(usize, Vec<String>)],
    input: Flow,
    /// The input of stage `.0` under the weights as they are now: layers are
    /// calibrated in forward order, so the stages before one are run once.
    cache: (usize, Flow),
}

impl LsuvModel for HostNet<'_> {
    fn layer_count(&self) -> usize {
        self.layers.len()
    }

    fn output_variance(&mut self, layer: usize) -> f64 {
        let stage = self.layers[layer].0;
        if self.cache.0 > stage {
            self.cache = (0, self.input.clone());
        }
        while self.cache.0 < stage {
            let (next, _) = run(&self.stages[self.cache.0], self.params, &self.cache.1);
            self.cache = (self.cache.0 + 1, next);
        }
        let (_, pre) = run(&self.stages[stage], self.params, &self.cache.1);
        variance(&pre)
    }

    fn scale_weights(&mut self, layer: usize, factor: f64) {
        let (stage, weights) = &self.layers[layer];
        for (spec, values) in &mut self.params.tensors {
            if weights.contains(&spec.name) {
                for v in values.iter_mut() {
                    *v = (f64::from(*v) * factor) as f32;
                }
            }
        }
        if self.cache.0 > *stage {
            self.cache = (0, self.input.clone());
        }
    }
}

/// The population variance over every element, in f64.
fn variance(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n
}

/// The parameter's values; `calibrate` checked every one a stage reads.
fn get<'p>(params: &'p HostParams, name: &str) -> &'p [f32] {
    params.get(name).unwrap_or_default()
}

/// Runs one stage: its output, and its pre-activation (empty for stages
/// without weights).
fn run(stage: &Stage, params: &HostParams, x: &Flow) -> (Flow, Vec<f64>) {
    match (stage, x) {
        (
            Stage::Dense {
                weight,
                bias,
                inputs,
                outputs,
                after,
                ..
            },
            Flow::Values { batch, values, .. },
        ) => {
            let pre = dense(
                values,
                get(params, weight),
                get(params, bias),
                *inputs,
                *outputs,
            );
            let out = match after {
                Some(a) => pre.iter().map(|&v| activate(*a, v)).collect(),
                None => pre.clone(),
            };
            let flow = Flow::Values {
                batch: *batch,
                steps: 1,
                features: *outputs,
                values: out,
            };
            (flow, pre)
        }
        (
            Stage::Recurrent(r),
            Flow::Values {
                batch,
                steps,
                values,
                ..
            },
        ) => {
            let layer = Recurrent {
                cell: r.cell,
                w_ih: get(params, &r.w_ih),
                w_hh: get(params, &r.w_hh),
                b_ih: get(params, &r.b_ih),
                b_hh: get(params, &r.b_hh),
                input: r.input,
                hidden: r.hidden,
                steps: *steps,
            };
            let (h, pre) = layer.forward(values);
            let flow = Flow::Values {
                batch: *batch,
                steps: *steps,
                features: r.hidden,
                values: h,
            };
            (flow, pre)
        }
        (Stage::Embed { table, dim, .. }, Flow::Tokens { batch, steps, ids }) => {
            let table = get(params, table);
            let values = ids
                .iter()
                .flat_map(|&id| {
                    table[id * dim..(id + 1) * dim]
                        .iter()
                        .map(|&v| f64::from(v))
                })
                .collect();
            let flow = Flow::Values {
                batch: *batch,
                steps: *steps,
                features: *dim,
                values,
            };
            (flow, Vec::new())
        }
        (
            last_or_flatten @ (Stage::Last | Stage::Flatten),
            Flow::Values {
                batch,
                steps,
                features,
                values,
            },
        ) => {
            // Either way one step per example: its last, or all of them.
            let (features, values) = if let Stage::Last = last_or_flatten {
                let per = steps * features;
                let last = values
                    .chunks(per)
                    .flat_map(|example| &example[per - features..])
                    .copied()
                    .collect();
                (*features, last)
            } else {
                (steps * features, values.clone())
            };
            let flow = Flow::Values {
                batch: *batch,
                steps: 1,
                features,
                values,
            };
            (flow, Vec::new())
        }
        // The stages of a config always fit together, and the batch was
        // checked against the first.
        (_, flow) => (flow.clone(), Vec::new()),
    }
}

fn activate(a: Activation, v: f64) -> f64 {
    match a {
        Activation::Relu => v.max(0.0),
        Activation::Tanh => v.tanh(),
        Activation::Sigmoid => sigmoid(v),
    }
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// `x W^T + b` for `x` `[rows, inputs]`, `W` `(outputs, inputs)`; each output
/// one sum in input order, rows in parallel.
fn dense(x: &[f64], w: &[f32], b: &[f32], inputs: usize, outputs: usize) -> Vec<f64> {
    let mut y = vec![0.0; x.len() / inputs * outputs];
    y.par_chunks_mut(outputs)
        .zip(x.par_chunks(inputs))
        .for_each(|(y, x)| {
            for ((y, w), b) in y.iter_mut().zip(w.chunks(inputs)).zip(b) {
                *y = f64::from(*b) + dot(w, x);
            }
        });
    y
}

fn dot(w: &[f32], x: &[f64]) -> f64 {
    w.iter().zip(x).map(|(&w, &x)| f64::from(w) * x).sum()
}

/// One recurrent layer's weights, PyTorch layout, `G·H` rows.
struct Recurrent<'p> {
    cell: Cell,
    w_ih: &'p [f32],
    w_hh: &'p [f32],
    b_ih: &'p [f32],
    b_hh: &'p [f32],
    input: usize,
    hidden: usize,
    steps: usize,
}

impl Recurrent<'_> {
    /// `x` `[batch, T, input]` → (`h` `[batch, T, H]`, pre-activations
    /// `[batch, T, G·H]`), examples in parallel.
    fn forward(&self, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (h, rows) = (self.hidden, self.cell.gates() * self.hidden);
        let per_example: Vec<(Vec<f64>, Vec<f64>)> = x
            .par_chunks(self.steps * self.input)
            .map(|example| {
                let mut states = vec![0.0; self.steps * h];
                let mut pre = vec![0.0; self.steps * rows];
                let mut prev = vec![0.0; h];
                let mut cell = vec![0.0; h];
                for t in 0..self.steps {
                    let x_t = &example[t * self.input..(t + 1) * self.input];
                    let a = &mut pre[t * rows..(t + 1) * rows];
                    for (r, a) in a.iter_mut().enumerate() {
                        *a = dot(&self.w_ih[r * self.input..(r + 1) * self.input], x_t)
                            + f64::from(self.b_ih[r])
                            + dot(&self.w_hh[r * h..(r + 1) * h], &prev)
                            + f64::from(self.b_hh[r]);
                    }
                    match self.cell {
                        Cell::Elman(Nonlinearity::Tanh) => {
                            prev.iter_mut().zip(&*a).for_each(|(p, a)| *p = a.tanh())
                        }
                        Cell::Elman(Nonlinearity::Relu) => {
                            prev.iter_mut().zip(&*a).for_each(|(p, a)| *p = a.max(0.0))
                        }
                        Cell::Lstm => {
                            for j in 0..h {
                                let (i, f) = (sigmoid(a[j]), sigmoid(a[h + j]));
                                let (g, o) = (a[2 * h + j].tanh(), sigmoid(a[3 * h + j]));
                                cell[j] = f * cell[j] + i * g;
                                prev[j] = o * cell[j].tanh();
                            }
                        }
                    }
                    states[t * h..(t + 1) * h].copy_from_slice(&prev);
                }
                (states, pre)
            })
            .collect();
        let mut states = Vec::with_capacity(x.len() / self.input * h);
        let mut pre = Vec::with_capacity(x.len() / self.input * rows);
        for (s, p) in per_example {
            states.extend(s);
            pre.extend(p);
        }
        (states, pre)
    }
}
