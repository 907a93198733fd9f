//! A fully connected network of any depth, width and activation.

use burn::module::Module;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{activation, Tensor};
use serde::{Deserialize, Serialize};

use initlab_init::Fans;

use crate::dense::Dense;
use crate::host_node::tensor_to_vec;
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
    /// `inputs → hidden… → outputs` with `activation` after each hidden layer
    /// and none on the outputs: the network as the studies describe it.
    pub fn new(inputs: usize, hidden: Vec<usize>, outputs: usize, activation: Activation) -> Self {
        Self {
            inputs,
            hidden,
            outputs,
            activation,
            output_activation: None,
        }
    }

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

impl<B: AutodiffBackend> Mlp<B> {
    /// [`Mlp::forward`] for training, each layer through
    /// [`Dense::forward_train`]: burn-ndarray's matmul backward copies the
    /// transposed 784 × 128 weight and the batch on every step.
    ///
    /// # Shapes
    /// `[batch, inputs] → [batch, outputs]` (logits)
    pub fn forward_train(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.forward_through(x, Dense::forward_train)
    }
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
        self.forward_through(x, Dense::forward)
    }

    /// The layers in order, each affine map through `dense`, the activation
    /// after every hidden layer (and the output one when configured).
    fn forward_through(
        &self,
        x: Tensor<B, 2>,
        dense: impl Fn(&Dense<B>, Tensor<B, 2>) -> Tensor<B, 2>,
    ) -> Tensor<B, 2> {
        let last = self.layers.len() - 1;
        let mut h = x;
        for (i, layer) in self.layers.iter().enumerate() {
            h = dense(layer, h); // [batch, width_i]
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
