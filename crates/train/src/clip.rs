//! Gradient clipping by one global norm, as PyTorch's
//! `torch.nn.utils.clip_grad_norm_` does it.
//!
//! burn's own `GradientClipping::Norm` clips each parameter tensor by its own
//! norm, which changes the direction of the update whenever one tensor is
//! clipped and another is not. The recurrent studies clipped globally, so the
//! training loop does too.

use burn::module::{AutodiffModule, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;
use std::collections::HashSet;

use burn::tensor::{ElementConversion, Tensor};

/// PyTorch's guard against dividing by a zero norm.
const EPS: f64 = 1e-6;

/// What [`clip_grad_norm`] saw and did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClipOutcome {
    /// The global L2 norm over every parameter's gradient, before clipping
    /// (what `clip_grad_norm_` returns).
    pub norm: f64,
    /// The factor every gradient was multiplied by: `max_norm / (norm + 1e-6)`
    /// when that is below 1, else 1.
    pub coefficient: f64,
}

/// Scales every gradient of `module`'s parameters by one coefficient so that
/// their global L2 norm is at most about `max_norm`.
///
/// # Formula
/// `norm = √(Σ_p Σ_i g_{p,i}²)` over all parameters `p` with a gradient;
/// `c = max_norm / (norm + 1e-6)`; if `c < 1` every gradient becomes `c·g`.
///
/// # Notes
/// Matches `clip_grad_norm_(params, max_norm, norm_type=2.0,
/// error_if_nonfinite=False)`. A non-finite norm is passed through: a NaN norm
/// leaves the gradients as they are (the loss is NaN too, and the run is
/// recorded as diverged), an infinite one gives `c = 0` as PyTorch does.
/// Squares are summed in f64 on the host, one scalar per parameter tensor.
pub fn clip_grad_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: GradientsParams,
    max_norm: f64,
) -> (GradientsParams, ClipOutcome) {
    let mut squares = SumSquares::<B> {
        grads: &grads,
        seen: HashSet::new(),
        total: 0.0,
        _backend: std::marker::PhantomData,
    };
    module.visit(&mut squares);
    let outcome = clip_coefficient(squares.total.sqrt(), max_norm);
    if outcome.coefficient >= 1.0 {
        return (grads, outcome);
    }
    let mut scale = Scale::<B> {
        grads,
        coefficient: outcome.coefficient,
        seen: HashSet::new(),
        _backend: std::marker::PhantomData,
    };
    module.visit(&mut scale);
    (scale.grads, outcome)
}

/// PyTorch's rule from the global norm: `c = max_norm / (norm + 1e-6)` when
/// that is below 1, else 1. A NaN norm gives a NaN `c`, which is not below 1
/// either, so nothing is scaled; an infinite norm gives `c = 0`.
pub(crate) fn clip_coefficient(norm: f64, max_norm: f64) -> ClipOutcome {
    let coefficient = max_norm / (norm + EPS);
    ClipOutcome {
        norm,
        coefficient: if coefficient < 1.0 { coefficient } else { 1.0 },
    }
}

struct SumSquares<'a, B> {
    grads: &'a GradientsParams,
    /// A parameter reached twice (tied weights) counts once, as in PyTorch's
    /// `parameters()`.
    seen: HashSet<ParamId>,
    total: f64,
    _backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for SumSquares<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.get::<B::InnerBackend, D>(param.id) {
            if self.seen.insert(param.id) {
                self.total += g.powi_scalar(2).sum().into_scalar().elem::<f64>();
            }
        }
    }
}

struct Scale<B> {
    grads: GradientsParams,
    coefficient: f64,
    seen: HashSet<ParamId>,
    _backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> Scale<B> {
    fn scale<const D: usize>(&mut self, id: ParamId) {
        if !self.seen.insert(id) {
            return;
        }
        if let Some(g) = self.grads.remove::<B::InnerBackend, D>(id) {
            self.grads.register(id, g.mul_scalar(self.coefficient));
        }
    }
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Scale<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.scale::<D>(param.id);
    }
}
