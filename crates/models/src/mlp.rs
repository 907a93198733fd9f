//! A fully connected network of any depth, width and activation.

use burn::module::Module;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

use initlab_init::Fans;

use crate::activation::Activation;
use crate::dense::Dense;
use crate::host_node::tensor_to_vec;
use crate::params::{HostParams, ParamSpec};
use crate::{Error, Result};

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
    /// [`Mlp::forward`] for training, each layer and its activation through
    /// [`Dense::forward_train`]: burn-ndarray's matmul backward copies the
    /// transposed 784 × 128 weight and the batch on every step, and its tanh
    /// and σ call libm once per element.
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
    /// The forward pass in burn's tensor operations, differentiable on any
    /// autodiff backend.
    ///
    /// # Shapes
    /// `[batch, inputs] → [batch, outputs]` (logits)
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.forward_through(x, Dense::forward_activated)
    }

    /// Evaluation's forward pass, each layer through [`Dense::forward_host`]:
    /// the arithmetic of [`Mlp::forward_train`], and no gradient.
    ///
    /// # Shapes
    /// `[batch, inputs] → [batch, outputs]` (logits)
    pub fn infer(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.forward_through(x, Dense::forward_host)
    }

    /// The layers in order, each through `layer` with the activation that
    /// follows it: every hidden layer's, and the output's when configured.
    fn forward_through(
        &self,
        x: Tensor<B, 2>,
        layer: impl Fn(&Dense<B>, Tensor<B, 2>, Option<Activation>) -> Tensor<B, 2>,
    ) -> Tensor<B, 2> {
        let last = self.layers.len() - 1;
        let mut h = x;
        for (i, dense) in self.layers.iter().enumerate() {
            let activated = i < last || self.output_activation;
            h = layer(dense, h, activated.then_some(self.activation)); // [batch, width_i]
        }
        h
    }

    /// The nonlinearity between layers.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// [`Mlp::infer`], keeping every layer's pre- and post-activation values.
    pub fn trace(&self, x: Tensor<B, 2>) -> LayerTrace {
        let last = self.layers.len() - 1;
        let mut trace = LayerTrace {
            pre: Vec::new(),
            post: Vec::new(),
        };
        let mut h = x;
        for (i, layer) in self.layers.iter().enumerate() {
            let pre = layer.forward_host(h, None);
            let dims = pre.dims();
            let device = pre.device();
            let mut post = tensor_to_vec(pre);
            trace.pre.push(post.clone());
            if i < last {
                self.activation.apply_host(&mut post);
                trace.post.push(post.clone());
            }
            h = Tensor::from_data(TensorData::new(post, dims), &device);
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
