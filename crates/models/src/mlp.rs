//! A fully connected network of any depth, width and activation.

use burn::module::{Module, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{activation, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use initlab_init::Fans;

use crate::params::{HostParams, ParamSpec};
use crate::{Error, Result};

/// The nonlinearity between layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// max(0, x).
    Relu,
    /// tanh(x).
    Tanh,
    /// 1 / (1 + e^-x).
    Sigmoid,
}

impl Activation {
    /// Applies the nonlinearity.
    pub fn apply<B: Backend, const D: usize>(self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Activation::Relu => activation::relu(x),
            Activation::Tanh => activation::tanh(x),
            Activation::Sigmoid => activation::sigmoid(x),
        }
    }

    /// The kebab-case name used in experiment files.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
        }
    }
}

/// The shape of an MLP: `inputs → hidden… → outputs`, one activation between layers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpConfig {
    /// Input features (784 for MNIST).
    pub inputs: usize,
    /// Width of each hidden layer; its length is the depth.
    pub hidden: Vec<usize>,
    /// Output features (10 classes).
    pub outputs: usize,
    /// The nonlinearity after each hidden layer.
    pub activation: Activation,
    /// Also apply the nonlinearity to the last layer's outputs, before the loss.
    /// A bug some published code has (study 2's notebook): with ReLU, an output
    /// unit that goes negative on every image is dead, and its class can never
    /// be predicted. Absent means off; absent is also how the canonical config
    /// writes it when a study file leaves it out, so the run ids of studies
    /// written before the option existed do not change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_activation: Option<bool>,
}

impl MlpConfig {
    /// Every parameter in order: `layers.{i}.weight` (group `weight`, shape `(out, in)`)
    /// then `layers.{i}.bias` (group `bias`), layer by layer.
    pub fn param_specs(&self) -> Vec<ParamSpec> {
        self.widths()
            .windows(2)
            .enumerate()
            .flat_map(|(i, w)| {
                let fans = Fans {
                    fan_in: w[0],
                    fan_out: w[1],
                };
                [
                    ParamSpec::new(format!("layers.{i}.weight"), "weight", vec![w[1], w[0]]),
                    ParamSpec::new(format!("layers.{i}.bias"), "bias", vec![w[1]]).with_fans(fans),
                ]
            })
            .collect()
    }

    /// `[inputs, hidden…, outputs]`.
    pub fn widths(&self) -> Vec<usize> {
        let mut w = vec![self.inputs];
        w.extend(&self.hidden);
        w.push(self.outputs);
        w
    }

    /// Multiply-accumulates of one forward pass per example.
    pub fn forward_macs(&self) -> usize {
        self.widths().windows(2).map(|w| w[0] * w[1]).sum()
    }

    /// Builds the network on `device` from host-sampled parameters.
    pub fn init<B: Backend>(&self, params: &HostParams, device: &B::Device) -> Result<Mlp<B>> {
        if self.widths().contains(&0) {
            return Err(Error::Config(format!(
                "every layer width must be positive, got {:?}",
                self.widths()
            )));
        }
        let layers = self
            .widths()
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let get = |name: String| {
                    params
                        .get(&name)
                        .ok_or_else(|| Error::Config(format!("no values for parameter `{name}`")))
                };
                let weight = get(format!("layers.{i}.weight"))?;
                let bias = get(format!("layers.{i}.bias"))?;
                Ok(Dense::from_host(weight, bias, w[0], w[1], device))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Mlp {
            layers,
            activation: self.activation,
            output_activation: self.output_activation.unwrap_or(false),
        })
    }
}

/// One affine layer, `y = x·W + b`, with `W` stored as `[in, out]` for the matmul.
#[derive(Module, Debug)]
pub struct Dense<B: Backend> {
    /// `[in, out]`: the transpose of the PyTorch-layout `(out, in)` host tensor.
    pub weight: Param<Tensor<B, 2>>,
    /// `[out]`.
    pub bias: Param<Tensor<B, 1>>,
}

impl<B: Backend> Dense<B> {
    /// Uploads a PyTorch-layout `(out, in)` weight and its bias.
    pub(crate) fn from_host(
        weight: &[f32],
        bias: &[f32],
        d_in: usize,
        d_out: usize,
        device: &B::Device,
    ) -> Self {
        // Host layout is (out, in); the matmul wants [in, out].
        let mut transposed = vec![0.0f32; weight.len()];
        for o in 0..d_out {
            for i in 0..d_in {
                transposed[i * d_out + o] = weight[o * d_in + i];
            }
        }
        Dense {
            weight: Param::from_data(TensorData::new(transposed, [d_in, d_out]), device),
            bias: Param::from_data(TensorData::new(bias.to_vec(), [d_out]), device),
        }
    }

    /// # Shapes
    /// `[batch, in] → [batch, out]`
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        x.matmul(self.weight.val()) + self.bias.val().unsqueeze()
    }

    /// The weight in PyTorch layout `(out, in)`, flattened, for hashing and histograms.
    pub fn weight_host(&self) -> Vec<f32> {
        let [d_in, d_out] = self.weight.val().dims();
        let w = tensor_to_vec(self.weight.val());
        let mut out = vec![0.0f32; w.len()];
        for i in 0..d_in {
            for o in 0..d_out {
                out[o * d_in + i] = w[i * d_out + o];
            }
        }
        out
    }
}

impl<B: AutodiffBackend> Dense<B> {
    /// [`Dense::forward`] for training: one host node on burn's own autodiff
    /// backend ([`crate::host_dense`]), burn's matmul on any other. For wide
    /// layers, where burn's backward copies the transposed weight.
    ///
    /// # Shapes
    /// `[batch, in] → [batch, out]`
    pub fn forward_train(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        match crate::host_dense::try_fused(x, self.weight.val(), self.bias.val()) {
            Ok(y) => y,
            Err((x, _, _)) => self.forward(x),
        }
    }
}

/// A multilayer perceptron producing logits.
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    /// The affine layers, input first.
    pub layers: Vec<Dense<B>>,
    #[module(skip)]
    activation: Activation,
    #[module(skip)]
    output_activation: bool,
}

/// What each layer produced on one batch, for activation statistics.
#[derive(Clone, Debug)]
pub struct LayerTrace {
    /// Pre-activation values of each layer, flattened `[batch × out]`.
    pub pre: Vec<Vec<f32>>,
    /// Post-activation values of each hidden layer (the last layer has none).
    pub post: Vec<Vec<f32>>,
}

impl<B: Backend> Mlp<B> {
    /// # Shapes
    /// `[batch, inputs] → [batch, outputs]` (logits)
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let last = self.layers.len() - 1;
        let mut h = x;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(h); // [batch, width_i]
            if i < last || self.output_activation {
                h = self.activation.apply(h);
            }
        }
        h
    }

    /// The nonlinearity between layers.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The forward pass, keeping every layer's pre- and post-activation values.
    pub fn trace(&self, x: Tensor<B, 2>) -> LayerTrace {
        let last = self.layers.len() - 1;
        let mut trace = LayerTrace {
            pre: Vec::new(),
            post: Vec::new(),
        };
        let mut h = x;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(h);
            trace.pre.push(tensor_to_vec(h.clone()));
            if i < last {
                h = self.activation.apply(h);
                trace.post.push(tensor_to_vec(h.clone()));
            }
        }
        trace
    }

    /// Every parameter in [`MlpConfig::param_specs`] order, PyTorch layout.
    pub fn host_params(&self) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, l)| {
                let [d_in, d_out] = l.weight.val().dims();
                [
                    (
                        format!("layers.{i}.weight"),
                        vec![d_out, d_in],
                        l.weight_host(),
                    ),
                    (
                        format!("layers.{i}.bias"),
                        vec![d_out],
                        tensor_to_vec(l.bias.val()),
                    ),
                ]
            })
            .collect()
    }
}

/// Copies a tensor's values to the host as f32.
pub fn tensor_to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .unwrap_or_default()
}
