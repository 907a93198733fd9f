//! A recurrent network with a linear read-out of its last state: the RNN of
//! study 3 on MNIST rows, and the IRNN, tanh RNN and LSTM of the adding
//! problem (study 4).

use burn::module::Module;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use initlab_init::Fans;
use serde::{Deserialize, Serialize};

use crate::dense::Dense;
use crate::host_node::tensor_to_vec;
use crate::params::{HostParams, ParamSpec};
use crate::recurrent::{BpttProbe, LstmConfig, Nonlinearity, RecurrentImpl, Rnn, RnnConfig};
use crate::{Error, Result};

/// The recurrence of a [`RecurrentNet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recurrence {
    /// `nn.RNN`: `h_t = φ(W_ih·x_t + b_ih + W_hh·h_{t-1} + b_hh)`.
    Rnn,
    /// `nn.LSTM`, gates `i, f, g, o`.
    Lstm,
}

/// An RNN or LSTM read out by `Linear(hidden → outputs)` on the top layer's
/// last state (PyTorch: `fc(rnn(x)[0][:, -1])`), zero initial state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecurrentNetConfig {
    /// Which recurrence.
    pub cell: Recurrence,
    /// φ of an RNN: `tanh` (PyTorch's default, when absent) or `relu` (the
    /// IRNN). An LSTM has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonlinearity: Option<Nonlinearity>,
    /// Input features per step (28 for MNIST rows, 2 for the adding problem).
    pub input: usize,
    /// Hidden units per layer.
    pub hidden: usize,
    /// Stacked layers.
    pub layers: usize,
    /// Read-out width: classes, or 1 for regression.
    pub outputs: usize,
    /// Fused, per-step, or chosen by backend.
    #[serde(default, skip_serializing_if = "RecurrentImpl::is_auto")]
    pub implementation: RecurrentImpl,
}

/// The prefix of the recurrence's parameter names.
const RNN: &str = "rnn.";

impl RecurrentNetConfig {
    fn rnn(&self) -> RnnConfig {
        RnnConfig {
            input: self.input,
            hidden: self.hidden,
            layers: self.layers,
            nonlinearity: self.nonlinearity.unwrap_or_default(),
            bias: true,
            implementation: self.implementation,
        }
    }

    fn lstm(&self) -> LstmConfig {
        LstmConfig {
            input: self.input,
            hidden: self.hidden,
            layers: self.layers,
            bias: true,
            implementation: self.implementation,
        }
    }

    /// Every parameter: the recurrence's in PyTorch's names under `rnn.`
    /// (groups `input`, `recurrent`, `bias`, and for an LSTM the gate-bias
    /// parts), then `head.weight` `(outputs, hidden)` in group `weight` and
    /// `head.bias` in group `bias` with the head's fans.
    pub fn param_specs(&self) -> Vec<ParamSpec> {
        let mut specs = match self.cell {
            Recurrence::Rnn => self.rnn().param_specs_in(RNN),
            Recurrence::Lstm => self.lstm().param_specs_in(RNN),
        };
        specs.extend(head_specs(self.hidden, self.outputs));
        specs
    }

    /// Multiply-accumulates of one forward pass per example, for `steps` steps.
    pub fn forward_macs(&self, steps: usize) -> usize {
        let per_step = match self.cell {
            Recurrence::Rnn => self.rnn().forward_macs_per_step(),
            Recurrence::Lstm => self.lstm().forward_macs_per_step(),
        };
        per_step * steps + self.hidden * self.outputs
    }

    /// Checks what the layers' own checks cannot: a read-out, and no
    /// nonlinearity on an LSTM.
    pub fn validate(&self) -> Result<()> {
        if self.outputs == 0 {
            return Err(Error::Config("a recurrent net needs outputs ≥ 1".into()));
        }
        if self.cell == Recurrence::Lstm && self.nonlinearity.is_some() {
            return Err(Error::Config(
                "an LSTM has no `nonlinearity` (its gates are fixed: σ and tanh)".into(),
            ));
        }
        Ok(())
    }

    /// Builds the network on `device` from host-sampled parameters.
    pub fn init<B: Backend>(
        &self,
        params: &HostParams,
        device: &B::Device,
    ) -> Result<RecurrentNet<B>> {
        self.validate()?;
        let rnn = match self.cell {
            Recurrence::Rnn => self.rnn().init_in(RNN, params, device)?,
            Recurrence::Lstm => self.lstm().init_in(RNN, params, device)?,
        };
        Ok(RecurrentNet {
            rnn,
            head: head_from_host(params, self.hidden, self.outputs, device)?,
        })
    }
}

/// `head.weight` (group `weight`) and `head.bias` (group `bias`) of a
/// `Linear(inputs → outputs)` read-out.
pub(crate) fn head_specs(inputs: usize, outputs: usize) -> [ParamSpec; 2] {
    let fans = Fans {
        fan_in: inputs,
        fan_out: outputs,
    };
    [
        ParamSpec::new("head.weight", "weight", vec![outputs, inputs]),
        ParamSpec::new("head.bias", "bias", vec![outputs]).with_fans(fans),
    ]
}

pub(crate) fn head_from_host<B: Backend>(
    params: &HostParams,
    inputs: usize,
    outputs: usize,
    device: &B::Device,
) -> Result<Dense<B>> {
    let get = |name: &str, len: usize| -> Result<&[f32]> {
        let values = params
            .get(name)
            .ok_or_else(|| Error::Config(format!("no values for parameter `{name}`")))?;
        if values.len() != len {
            return Err(Error::Config(format!(
                "parameter `{name}` has {} values, expected {len}",
                values.len()
            )));
        }
        Ok(values)
    };
    let weight = get("head.weight", inputs * outputs)?;
    let bias = get("head.bias", outputs)?;
    Ok(Dense::from_host(weight, bias, inputs, outputs, device))
}

/// `[name, shape, values]` of a read-out, PyTorch layout.
pub(crate) fn head_host_params(head: &Dense<impl Backend>) -> [(String, Vec<usize>, Vec<f32>); 2] {
    let [d_in, d_out] = head.weight.val().dims();
    [
        ("head.weight".into(), vec![d_out, d_in], head.weight_host()),
        (
            "head.bias".into(),
            vec![d_out],
            tensor_to_vec(head.bias.val()),
        ),
    ]
}

/// A recurrent network with a linear read-out of its last state.
#[derive(Module, Debug)]
pub struct RecurrentNet<B: Backend> {
    /// The recurrence.
    pub rnn: Rnn<B>,
    /// `Linear(hidden → outputs)` on the top layer's last state.
    pub head: Dense<B>,
}

impl<B: Backend> RecurrentNet<B> {
    /// Inference, fused on the host where the backend allows.
    ///
    /// # Shapes
    /// `[batch, T, input]` → `[batch, outputs]`
    pub fn forward(&self, x: Tensor<B, 3>) -> Result<Tensor<B, 2>> {
        let out = self.rnn.forward(x)?; // last: [batch, hidden]
        Ok(self.head.forward(out.last))
    }

    /// φ of an RNN; `None` for an LSTM.
    pub fn nonlinearity(&self) -> Option<Nonlinearity> {
        self.rnn.nonlinearity()
    }

    /// Every layer's hidden states on `x`, flattened `[batch × T × hidden]`.
    pub fn trace(&self, x: Tensor<B, 3>) -> Result<Vec<Vec<f32>>> {
        let mut h = x;
        let mut states = Vec::new();
        for l in 0..self.rnn.layers.len() {
            h = self.rnn.forward_layer(l, h)?; // [batch, T, hidden]
            states.push(tensor_to_vec(h.clone()));
        }
        Ok(states)
    }

    /// Every parameter in [`RecurrentNetConfig::param_specs`] order, PyTorch layout.
    pub fn host_params(&self) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let mut params = self.rnn.host_params_in(RNN);
        params.extend(head_host_params(&self.head));
        params
    }
}

impl<B: AutodiffBackend> RecurrentNet<B> {
    /// The training forward pass (fused recurrence where it can be), with an
    /// optional probe of the per-step norms.
    ///
    /// # Shapes
    /// `[batch, T, input]` → `[batch, outputs]`
    pub fn forward_train(
        &self,
        x: Tensor<B, 3>,
        probe: Option<&BpttProbe>,
    ) -> Result<Tensor<B, 2>> {
        let out = self.rnn.forward_autodiff_probed(x, probe)?; // last: [batch, hidden]
        Ok(self.head.forward(out.last))
    }
}
