//! Optimizers on the host: SGD, Adam and AdamW in one pass over each
//! parameter, split across threads, plus global-norm clipping and the
//! per-layer gradient norms the record keeps.
//!
//! burn's optimizers run a dozen separate tensor ops per parameter, each a
//! pass over memory on one thread: for the LSTM study's 4.7 M parameters that
//! was a fifth of a training step. Here every parameter and its gradient come
//! to the host once, each element is updated by the same scalar formula, and
//! the result goes back once. The update of an element depends only on that
//! element, so splitting the work across threads never changes a bit.
//!
//! The formulas follow the reference each optimizer is checked against, to the
//! order of the float operations: SGD and Adam are burn 0.21's (study 1's
//! numbers are unchanged by the switch), AdamW is `torch.optim.AdamW`'s
//! single-tensor path (tested against PyTorch in `tests/adamw.rs`).

use std::collections::HashMap;

use burn::module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use initlab_models::{on_widest_vectors, zip_in_place, VectorLoop};
use rayon::prelude::*;

use crate::clip::{clip_coefficient, ClipOutcome};
use crate::study::OptimizerConfig;

/// Elements per parallel chunk: small parameters are updated on one thread.
const CHUNK: usize = 1 << 15;

/// What one optimizer step saw, for the record.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// Per layer, in module order: the L2 norm of its parameters' gradients
    /// (before clipping).
    pub layer_norms: Vec<(String, f64)>,
    /// The clipping that was applied, when the run clips.
    pub clip: Option<ClipOutcome>,
}

/// The per-element update of one optimizer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rule {
    Sgd {
        momentum: f32,
    },
    Adam {
        beta1: f32,
        beta2: f32,
        epsilon: f32,
    },
    AdamW {
        beta1: f32,
        beta2: f32,
        epsilon: f32,
        weight_decay: f64,
    },
}

/// Per-parameter state: the first and second moments (Adam, AdamW) or the
/// velocity (SGD with momentum, in `m`).
#[derive(Default)]
struct Slot {
    m: Vec<f32>,
    v: Vec<f32>,
}

/// An optimizer whose state lives on the host.
pub struct HostOptimizer {
    rule: Rule,
    lr: f64,
    clip: Option<f64>,
    /// Steps taken so far (Adam's `t` is `steps + 1` during a step).
    steps: i32,
    slots: HashMap<ParamId, Slot>,
}

impl HostOptimizer {
    /// The optimizer `config` describes, clipping gradients to a global L2
    /// norm of `clip` when given.
    pub fn new(config: &OptimizerConfig, clip: Option<f64>) -> Self {
        let (rule, lr) = match *config {
            OptimizerConfig::Sgd { lr, momentum } => (
                Rule::Sgd {
                    momentum: momentum as f32,
                },
                lr,
            ),
            OptimizerConfig::Adam {
                lr,
                beta1,
                beta2,
                epsilon,
            } => (
                Rule::Adam {
                    beta1: beta1 as f32,
                    beta2: beta2 as f32,
                    epsilon: epsilon as f32,
                },
                lr,
            ),
            OptimizerConfig::AdamW {
                lr,
                beta1,
                beta2,
                epsilon,
                weight_decay,
            } => (
                Rule::AdamW {
                    beta1: beta1 as f32,
                    beta2: beta2 as f32,
                    epsilon: epsilon as f32,
                    weight_decay,
                },
                lr,
            ),
        };
        HostOptimizer {
            rule,
            lr,
            clip,
            steps: 0,
            slots: HashMap::new(),
        }
    }

    /// One step: gradients to the host, per-layer norms, clipping, the update
    /// of every parameter that has a gradient, parameters back to the device.
    pub fn step<B: AutodiffBackend, M: AutodiffModule<B>>(
        &mut self,
        model: M,
        grads: B::Gradients,
    ) -> (M, StepReport) {
        let mut params = GradientsParams::from_grads(grads, &model);
        let mut collect = Collect::<B> {
            grads: &mut params,
            path: Vec::new(),
            taken: Vec::new(),
            _backend: std::marker::PhantomData,
        };
        model.visit(&mut collect);
        let mut taken = collect.taken;
        let mut layer_norms: Vec<(String, f64)> = Vec::new();
        let mut total = 0.0f64;
        for g in &taken {
            total += g.sum_sq;
            match layer_norms.iter_mut().find(|(l, _)| *l == g.layer) {
                Some((_, sq)) => *sq += g.sum_sq,
                None => layer_norms.push((g.layer.clone(), g.sum_sq)),
            }
        }
        for (_, sq) in &mut layer_norms {
            *sq = sq.sqrt();
        }
        let clip = self.clip.map(|max_norm| {
            let outcome = clip_coefficient(total.sqrt(), max_norm);
            if outcome.coefficient < 1.0 {
                let c = outcome.coefficient as f32;
                for g in &mut taken {
                    g.values.par_chunks_mut(CHUNK).for_each(|chunk| {
                        chunk.iter_mut().for_each(|v| *v *= c);
                    });
                }
            }
            outcome
        });
        self.steps += 1;
        let mut update = Update::<B> {
            optimizer: self,
            grads: taken.into_iter().map(|g| (g.id, g.values)).collect(),
            _backend: std::marker::PhantomData,
        };
        let model = model.map(&mut update);
        (model, StepReport { layer_norms, clip })
    }

    /// Updates `param` in place from `grad` (same length), on as many threads
    /// as pay.
    fn apply(&mut self, id: ParamId, param: &mut [f32], grad: &[f32]) {
        let lr = self.lr;
        let t = self.steps;
        let rule = self.rule;
        let first = !self.slots.contains_key(&id);
        let slot = self.slots.entry(id).or_default();
        match rule {
            Rule::Sgd { momentum } => {
                let lr = lr as f32;
                if momentum == 0.0 {
                    par_zip(param, grad, |p, g| p - g * lr);
                    return;
                }
                if first {
                    slot.m = grad.to_vec();
                } else {
                    par_zip(&mut slot.m, grad, |v, g| g * 1.0 + v * momentum);
                }
                par_zip(param, &slot.m, |p, v| p - v * lr);
            }
            Rule::Adam {
                beta1,
                beta2,
                epsilon,
            } => {
                if first {
                    slot.m = vec![0.0; grad.len()];
                    slot.v = vec![0.0; grad.len()];
                }
                let adam = Adam {
                    beta1,
                    beta2,
                    epsilon,
                };
                adam.update(lr, t, first, param, grad, &mut slot.m, &mut slot.v);
            }
            Rule::AdamW {
                beta1,
                beta2,
                epsilon,
                weight_decay,
            } => {
                // torch.optim.AdamW (single-tensor path): decay, lerp, addcmul,
                // then addcdiv with the bias corrections as scalars.
                let decay = (1.0 - lr * weight_decay) as f32;
                let bc1 = 1.0 - f64::from(beta1).powi(t);
                let bc2_sqrt = (1.0 - f64::from(beta2).powi(t)).sqrt() as f32;
                let step_size = (-(lr / bc1)) as f32;
                let (w1, w2) = (1.0 - beta1, 1.0 - beta2);
                if first {
                    slot.m = vec![0.0; grad.len()];
                    slot.v = vec![0.0; grad.len()];
                }
                let Slot { m, v } = slot;
                par_adam(param, grad, m, v, |p, g, m, v| {
                    *p *= decay;
                    *m += w1 * (g - *m);
                    *v = *v * beta2 + w2 * g * g;
                    let denom = v.sqrt() / bc2_sqrt + epsilon;
                    *p += step_size * *m / denom;
                });
            }
        }
    }
}

/// burn 0.21's Adam (no weight decay) on one parameter's slices.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Adam {
    pub beta1: f32,
    pub beta2: f32,
    pub epsilon: f32,
}

impl Adam {
    /// Step `t` (1-based) on `param` from `grad`, with the moments `m` and `v`
    /// (all the same length); `first` when the moments were never written.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn update(
        self,
        lr: f64,
        t: i32,
        first: bool,
        param: &mut [f32],
        grad: &[f32],
        m: &mut [f32],
        v: &mut [f32],
    ) {
        let Adam {
            beta1,
            beta2,
            epsilon,
        } = self;
        // burn 0.21's AdaptiveMomentum, operation for operation:
        // m̂/(√v̂ + ε) written as m·c / (√v + ε·√(1−β₂ᵗ)).
        let bc2_sqrt = (1.0 - beta2.powi(t)).sqrt();
        let factor = bc2_sqrt / (1.0 - beta1.powi(t));
        let eps = epsilon * bc2_sqrt;
        let lr = lr as f32;
        let (f1, f2) = (1.0 - beta1, 1.0 - beta2);
        par_adam(param, grad, m, v, |p, g, m, v| {
            if first {
                *m = g * f1;
                *v = g * g * f2;
            } else {
                *m = *m * beta1 + g * f1;
                *v = *v * beta2 + g * g * f2;
            }
            *p -= (*m * factor / (v.sqrt() + eps)) * lr;
        });
    }
}

/// `a[i] = f(a[i], b[i])` for every pair, in parallel chunks.
fn par_zip(a: &mut [f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) {
    a.par_chunks_mut(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .for_each(|(a, b)| zip_in_place(a, b, &f));
}

/// `f(param, grad, m, v)` for every element, in parallel chunks.
fn par_adam(
    param: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    f: impl Fn(&mut f32, f32, &mut f32, &mut f32) + Sync,
) {
    param
        .par_chunks_mut(CHUNK)
        .zip(grad.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK))
        .zip(v.par_chunks_mut(CHUNK))
        .for_each(|(((p, g), m), v)| on_widest_vectors(&mut AdamChunk { p, g, m, v, f: &f }));
}

struct AdamChunk<'a, F> {
    p: &'a mut [f32],
    g: &'a [f32],
    m: &'a mut [f32],
    v: &'a mut [f32],
    f: &'a F,
}

impl<F: Fn(&mut f32, f32, &mut f32, &mut f32)> VectorLoop for AdamChunk<'_, F> {
    #[inline(always)]
    fn run(&mut self) {
        let (p, g, m, v) = (&mut *self.p, self.g, &mut *self.m, &mut *self.v);
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m).zip(v) {
            (self.f)(p, g, m, v);
        }
    }
}

/// `Σ v²` of a chunk in f64. Element `i` goes to lane `i % LANES` and the
/// lanes are added in one fixed order, so the sum is the same at every vector
/// width; one running sum was a chain of dependent f64 additions, 5 % of a
/// study-2 step.
struct SumSqChunk<'a> {
    values: &'a [f32],
    sum: f64,
}

impl VectorLoop for SumSqChunk<'_> {
    #[inline(always)]
    fn run(&mut self) {
        const LANES: usize = 16;
        let mut lanes = [0.0f64; LANES];
        let mut rows = self.values.chunks_exact(LANES);
        for row in &mut rows {
            for (lane, &v) in lanes.iter_mut().zip(row) {
                *lane += f64::from(v) * f64::from(v);
            }
        }
        for (lane, &v) in lanes.iter_mut().zip(rows.remainder()) {
            *lane += f64::from(v) * f64::from(v);
        }
        self.sum = lanes.iter().sum();
    }
}

/// A tensor's values on the host. A uniquely owned burn-ndarray buffer is
/// handed over without a copy; a shared one would be copied value by value
/// (about 10 ns each), so a shared tensor is first multiplied by one, a
/// vectorized pass that gives a fresh buffer.
pub(crate) fn to_host<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .unwrap_or_default()
}

/// One parameter's gradient on the host.
struct Taken {
    id: ParamId,
    layer: String,
    values: Vec<f32>,
    sum_sq: f64,
}

/// Takes every parameter's gradient to the host, naming its layer by the
/// module path without the parameter's own name (`layers.0`, `head`).
struct Collect<'a, B: AutodiffBackend> {
    grads: &'a mut GradientsParams,
    path: Vec<String>,
    taken: Vec<Taken>,
    _backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Collect<'_, B> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let Some(grad) = self.grads.remove::<B::InnerBackend, D>(param.id) else {
            return;
        };
        let values = to_host(grad);
        let sum_sq = values
            .par_chunks(CHUNK)
            .map(|values| {
                let mut chunk = SumSqChunk { values, sum: 0.0 };
                on_widest_vectors(&mut chunk);
                chunk.sum
            })
            .collect::<Vec<f64>>()
            .into_iter()
            .sum();
        self.taken.push(Taken {
            id: param.id,
            layer: layer_name(&self.path),
            values,
            sum_sq,
        });
    }
}

/// `layers.0` for `layers[0].weight`: the module path without the parameter's
/// own field. A parameter held by the network itself (an embedding table) is a
/// layer of its own, named by its field.
fn layer_name(path: &[String]) -> String {
    match path {
        [] => "network".into(),
        [field] => field.clone(),
        [module @ .., _] => module.join("."),
    }
}

/// Writes each updated parameter back as a new tensor with the same id.
struct Update<'a, B: AutodiffBackend> {
    optimizer: &'a mut HostOptimizer,
    grads: HashMap<ParamId, Vec<f32>>,
    _backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleMapper<B> for Update<'_, B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove(&id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let require_grad = tensor.is_require_grad();
        let device = tensor.device();
        let shape = tensor.shape();
        let mut values = to_host(tensor.inner());
        self.optimizer.apply(id, &mut values, &grad);
        let inner =
            Tensor::<B::InnerBackend, D>::from_data(TensorData::new(values, shape), &device);
        let mut tensor = Tensor::from_inner(inner);
        if require_grad {
            tensor = tensor.require_grad();
        }
        Param::from_mapped_value(id, tensor, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lane sums are `Σ v²` (to f64 rounding) for any length, tails included.
    #[test]
    fn chunk_sum_of_squares_is_the_sum() {
        for n in [0usize, 1, 15, 16, 17, 1000, 4099] {
            let values: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.37).sin() * 3.0).collect();
            let mut chunk = SumSqChunk {
                values: &values,
                sum: f64::NAN,
            };
            on_widest_vectors(&mut chunk);
            let exact: f64 = values.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
            assert!(
                (chunk.sum - exact).abs() <= 1e-12 * exact.max(1.0),
                "n = {n}: {} vs {exact}",
                chunk.sum
            );
        }
    }
}
