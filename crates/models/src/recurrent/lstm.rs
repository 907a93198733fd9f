//! The LSTM (`nn.LSTM(batch_first=True)`): its config and parameter layout,
//! and the per-step reference of one layer. The network itself is an [`Rnn`]
//! with LSTM cells, fused or per-step like the Elman RNN.

use burn::tensor::backend::Backend;
use burn::tensor::{activation, Tensor};
use serde::{Deserialize, Serialize};

use super::host::Cell;
use super::{default_true, RecurrentImpl, Rnn, RnnLayer};
use crate::params::{HostParams, ParamSpec};
use crate::Result;

/// The shape of a stacked LSTM, PyTorch's `nn.LSTM(batch_first=True)`: gates
/// `[i, f, g, o] = x_t·W_ihᵀ + b_ih + h_{t-1}·W_hhᵀ + b_hh`, `i, f, o = σ(·)`,
/// `g = tanh(·)`, `c_t = f⊙c_{t-1} + i⊙g`, `h_t = o⊙tanh(c_t)`, zero initial state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LstmConfig {
    /// Input features per step (`I`).
    pub input: usize,
    /// Hidden units per layer (`H`).
    pub hidden: usize,
    /// Stacked layers; layer `l > 0` reads layer `l - 1`'s states.
    pub layers: usize,
    /// Whether each layer has `b_ih` and `b_hh` (PyTorch's `bias=True`).
    #[serde(default = "default_true")]
    pub bias: bool,
    /// Fused, per-step, or chosen by backend.
    #[serde(default)]
    pub implementation: RecurrentImpl,
}

impl LstmConfig {
    /// The groups of the four gates' bias rows, in PyTorch's gate order
    /// `i, f, g, o`.
    pub const GATE_BIAS_GROUPS: [&'static str; 4] =
        ["gate-bias.i", "gate-bias.f", "gate-bias.g", "gate-bias.o"];

    /// Every parameter in PyTorch's order and names: per layer `l`,
    /// `weight_ih_l{l}` `(4H, I or H)` in group `input`, `weight_hh_l{l}`
    /// `(4H, H)` in group `recurrent`, then `bias_ih_l{l}`, `bias_hh_l{l}`
    /// `(4H)` in group `bias`, with fans `(H, H)` for PyTorch's U(±1/√H).
    /// Rows are the gates `i, f, g, o`, `H` each.
    ///
    /// Each bias's gate `k` (rows `kH..(k+1)H`) is also a part in group
    /// [`GATE_BIAS_GROUPS`](Self::GATE_BIAS_GROUPS)`[k]`, so a plan can give one
    /// gate its own initializer. The scheme fills that gate's rows of *both*
    /// biases, and PyTorch adds `b_ih + b_hh`: a gate's effective bias is the sum
    /// of the two, so `constant(value=0.5)` on `gate-bias.f` gives an effective
    /// forget-gate bias of 1.
    pub fn param_specs(&self) -> Vec<ParamSpec> {
        self.param_specs_in("")
    }

    /// [`param_specs`](Self::param_specs) with every name prefixed
    /// (`lstm.weight_ih_l0`), for a network that holds the LSTM as a part.
    pub fn param_specs_in(&self, prefix: &str) -> Vec<ParamSpec> {
        let h = self.hidden;
        let gates = Self::GATE_BIAS_GROUPS
            .iter()
            .enumerate()
            .map(|(k, &group)| (group, k * h..(k + 1) * h));
        super::stacked_param_specs(prefix, self.input, h, self.layers, 4, self.bias)
            .into_iter()
            .map(|spec| {
                if spec.group == "bias" {
                    spec.with_parts(gates.clone())
                } else {
                    spec
                }
            })
            .collect()
    }

    stacked_methods!("LSTM", "an LSTM", 4 gates, |_| Cell::Lstm);
}

/// A stacked LSTM, batch first: an [`Rnn`] whose layers are LSTM layers.
pub type Lstm<B> = Rnn<B>;

/// One LSTM layer as a loop of tensor ops over time: the reference.
///
/// # Shapes
/// `x` `[batch, T, I]` → `[batch, T, H]`
pub(super) fn per_step<B: Backend>(layer: &RnnLayer<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    let [batch, steps, input] = x.dims();
    let hidden = layer.w_hh.dims()[1];
    let w_ih_t = layer.w_ih.val().transpose(); // [I, 4H]
    let w_hh_t = layer.w_hh.val().transpose(); // [H, 4H]
    let bias = layer.bias().map(|b| b.unsqueeze::<2>()); // [1, 4H]
    let mut states = Vec::with_capacity(steps);
    let mut hc: Option<(Tensor<B, 2>, Tensor<B, 2>)> = None;
    for t in 0..steps {
        let x_t = x
            .clone()
            .slice([0..batch, t..t + 1, 0..input])
            .reshape([batch, input]);
        let mut a = x_t.matmul(w_ih_t.clone()); // [batch, 4H]
        if let Some((h, _)) = &hc {
            a = a + h.clone().matmul(w_hh_t.clone());
        }
        if let Some(b) = &bias {
            a = a + b.clone();
        }
        let gate = |k: usize| a.clone().slice([0..batch, k * hidden..(k + 1) * hidden]);
        let i = activation::sigmoid(gate(0)); // [batch, H]
        let f = activation::sigmoid(gate(1));
        let g = activation::tanh(gate(2));
        let o = activation::sigmoid(gate(3));
        let c = match hc {
            Some((_, c_prev)) => f * c_prev + i * g,
            None => i * g,
        }; // [batch, H]
        let h = o * activation::tanh(c.clone());
        states.push(h.clone().unsqueeze_dim::<3>(1)); // [batch, 1, H]
        hc = Some((h, c));
    }
    Tensor::cat(states, 1) // [batch, T, H]
}
