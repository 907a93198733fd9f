//! Per-time-step norms of one probed pass: how large the hidden states are and
//! how large the gradient reaching them is, step by step.
//!
//! This is the picture of vanishing and exploding gradients through time. The
//! fused backward already holds `∂L/∂h_t` at every step, so a probed pass
//! reads it there rather than recomputing it.

use std::sync::{Arc, Mutex, PoisonError};

/// One layer's norms per time step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepNorms {
    /// `[T]`: the root mean square over the batch's examples of `‖h_t‖`, the
    /// size of one example's hidden state.
    pub h: Vec<f32>,
    /// `[T]`: `‖∂L/∂h_t‖` over the whole `[batch, H]` block, the total
    /// gradient reaching the states of step `t` (from the output at `t` and
    /// through step `t + 1`). Empty when the backward did not run or the layer
    /// ran per-step, where burn keeps no gradient of an intermediate tensor.
    pub grad_h: Vec<f32>,
}

/// Collects [`StepNorms`] per layer from a forward pass run with
/// [`Rnn::forward_autodiff_probed`](super::Rnn::forward_autodiff_probed) and
/// the backward of a loss computed from it. Clones share the same record.
#[derive(Clone, Debug, Default)]
pub struct BpttProbe {
    layers: Arc<Mutex<Vec<StepNorms>>>,
}

impl BpttProbe {
    /// An empty probe.
    pub fn new() -> Self {
        Self::default()
    }

    /// What was recorded, per layer, input layer first.
    pub fn layers(&self) -> Vec<StepNorms> {
        self.layers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn with_layer(&self, layer: usize, f: impl FnOnce(&mut StepNorms)) {
        let mut layers = self.layers.lock().unwrap_or_else(PoisonError::into_inner);
        if layers.len() <= layer {
            layers.resize(layer + 1, StepNorms::default());
        }
        f(&mut layers[layer]);
    }

    /// Records the states `[batch, T, H]` (batch-major) of `layer`.
    pub(crate) fn record_states(&self, layer: usize, states: &[f32], batch: usize, steps: usize) {
        let hidden = states.len() / (batch * steps).max(1);
        let mut sq = vec![0.0f64; steps];
        for (i, row) in states.chunks_exact(hidden.max(1)).enumerate() {
            sq[i % steps] += row.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>();
        }
        let rms = sq
            .iter()
            .map(|s| (s / batch.max(1) as f64).sqrt() as f32)
            .collect();
        self.with_layer(layer, |n| n.h = rms);
    }

    /// Records `Σ ‖∂L/∂h_t‖²` per step of `layer`.
    pub(crate) fn record_grad_sq(&self, layer: usize, sq: &[f64]) {
        let norms = sq.iter().map(|s| s.sqrt() as f32).collect();
        self.with_layer(layer, |n| n.grad_h = norms);
    }
}
