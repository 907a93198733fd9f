//! What the training loop needs of a network: a training forward pass, an
//! inference pass, its hidden layers' outputs, and its parameters on the host.
//!
//! Each model of `initlab-models` gets one impl here, a few lines that say
//! which input it reads. A new network is a model file there, an impl here
//! and a [`ModelConfig`](crate::ModelConfig) variant.

use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use initlab_models::{Activation, BpttProbe, EventLstm, Mlp, Nonlinearity, RecurrentNet};

use crate::task::Input;
use crate::{Error, Result};

/// A batch's inputs on a device.
pub(crate) enum DeviceInput<B: Backend> {
    /// `[batch, features]`.
    Features(Tensor<B, 2>),
    /// `[batch, steps, features]`.
    Sequences(Tensor<B, 3>),
    /// `[batch, steps]` token ids.
    Tokens(Tensor<B, 2, Int>),
}

impl<B: Backend> DeviceInput<B> {
    /// Uploads host inputs.
    pub(crate) fn upload(input: &Input, device: &B::Device) -> Self {
        let n = input.len();
        match input {
            Input::Features { values, features } => DeviceInput::Features(Tensor::from_data(
                TensorData::new(values.clone(), [n, *features]),
                device,
            )),
            Input::Sequences {
                values,
                steps,
                features,
            } => DeviceInput::Sequences(Tensor::from_data(
                TensorData::new(values.clone(), [n, *steps, *features]),
                device,
            )),
            Input::Tokens { ids, steps } => DeviceInput::Tokens(Tensor::from_data(
                TensorData::new(ids.clone(), [n, *steps]),
                device,
            )),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            DeviceInput::Features(_) => "feature vectors",
            DeviceInput::Sequences(_) => "sequences",
            DeviceInput::Tokens(_) => "token windows",
        }
    }
}

/// One hidden layer's outputs on the probe batch.
pub(crate) struct LayerOutputs {
    /// The layer (`layers.0`, `rnn.l1`).
    pub layer: String,
    /// Its values, `[rows × units]`.
    pub values: Vec<f32>,
    /// Rows: examples for an MLP layer, examples × time steps for a recurrent one.
    pub rows: usize,
}

/// A network the loop can train.
pub(crate) trait Network<B: AutodiffBackend>: AutodiffModule<B> {
    /// The nonlinearity whose flat region the activation statistics count.
    fn activation(&self) -> Activation;
    /// Whether a BPTT probe means anything for it.
    fn is_recurrent(&self) -> bool;
    /// The training forward pass: `[batch, outputs]`.
    fn forward(&self, input: DeviceInput<B>, probe: Option<&BpttProbe>) -> Result<Tensor<B, 2>>;
    /// Inference without a graph: `[batch, outputs]`.
    fn infer(
        model: &Self::InnerModule,
        input: DeviceInput<B::InnerBackend>,
    ) -> Result<Tensor<B::InnerBackend, 2>>;
    /// Every hidden layer's outputs.
    fn trace(
        model: &Self::InnerModule,
        input: DeviceInput<B::InnerBackend>,
    ) -> Result<Vec<LayerOutputs>>;
    /// Every parameter as `(name, shape, values)`, PyTorch layout, in the
    /// order of the config's parameter specs.
    fn host_params(model: &Self::InnerModule) -> Vec<(String, Vec<usize>, Vec<f32>)>;
}

fn wrong<T, B: Backend>(model: &str, input: &DeviceInput<B>) -> Result<T> {
    Err(Error::Task(format!(
        "{model} cannot read {}; check the study's [data] against its [model]",
        input.kind()
    )))
}

impl<B: AutodiffBackend> Network<B> for Mlp<B> {
    fn activation(&self) -> Activation {
        Mlp::activation(self)
    }

    fn is_recurrent(&self) -> bool {
        false
    }

    fn forward(&self, input: DeviceInput<B>, _: Option<&BpttProbe>) -> Result<Tensor<B, 2>> {
        match input {
            DeviceInput::Features(x) => Ok(Mlp::forward_train(self, x)),
            other => wrong("an MLP", &other),
        }
    }

    fn infer(
        model: &Mlp<B::InnerBackend>,
        input: DeviceInput<B::InnerBackend>,
    ) -> Result<Tensor<B::InnerBackend, 2>> {
        match input {
            DeviceInput::Features(x) => Ok(model.forward(x)),
            other => wrong("an MLP", &other),
        }
    }

    fn trace(
        model: &Mlp<B::InnerBackend>,
        input: DeviceInput<B::InnerBackend>,
    ) -> Result<Vec<LayerOutputs>> {
        let DeviceInput::Features(x) = input else {
            return wrong("an MLP", &input);
        };
        let rows = x.dims()[0];
        Ok(model
            .trace(x)
            .post
            .into_iter()
            .enumerate()
            .map(|(i, values)| LayerOutputs {
                layer: format!("layers.{i}"),
                values,
                rows,
            })
            .collect())
    }

    fn host_params(model: &Mlp<B::InnerBackend>) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        model.host_params()
    }
}

/// The nonlinearity of a recurrent layer's states: tanh-like for the tanh RNN
/// and the LSTM (`h = o·tanh(c)`), ReLU for the IRNN.
fn state_activation(nonlinearity: Option<Nonlinearity>) -> Activation {
    match nonlinearity {
        Some(Nonlinearity::Relu) => Activation::Relu,
        _ => Activation::Tanh,
    }
}

fn states(states: Vec<Vec<f32>>, rows: usize, prefix: &str) -> Vec<LayerOutputs> {
    states
        .into_iter()
        .enumerate()
        .map(|(l, values)| LayerOutputs {
            layer: format!("{prefix}.l{l}"),
            values,
            rows,
        })
        .collect()
}

impl<B: AutodiffBackend> Network<B> for RecurrentNet<B> {
    fn activation(&self) -> Activation {
        state_activation(self.nonlinearity())
    }

    fn is_recurrent(&self) -> bool {
        true
    }

    fn forward(&self, input: DeviceInput<B>, probe: Option<&BpttProbe>) -> Result<Tensor<B, 2>> {
        match input {
            DeviceInput::Sequences(x) => Ok(self.forward_train(x, probe)?),
            other => wrong("a recurrent network", &other),
        }
    }

    fn infer(
        model: &RecurrentNet<B::InnerBackend>,
        input: DeviceInput<B::InnerBackend>,
    ) -> Result<Tensor<B::InnerBackend, 2>> {
        match input {
            DeviceInput::Sequences(x) => Ok(model.forward(x)?),
            other => wrong("a recurrent network", &other),
        }
    }

    fn trace(
        model: &RecurrentNet<B::InnerBackend>,
        input: DeviceInput<B::InnerBackend>,
    ) -> Result<Vec<LayerOutputs>> {
        let DeviceInput::Sequences(x) = input else {
            return wrong("a recurrent network", &input);
        };
        let [batch, steps, _] = x.dims();
        Ok(states(model.trace(x)?, batch * steps, "rnn"))
    }

    fn host_params(model: &RecurrentNet<B::InnerBackend>) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        model.host_params()
    }
}

impl<B: AutodiffBackend> Network<B> for EventLstm<B> {
    fn activation(&self) -> Activation {
        Activation::Tanh
    }

    fn is_recurrent(&self) -> bool {
        true
    }

    fn forward(&self, input: DeviceInput<B>, probe: Option<&BpttProbe>) -> Result<Tensor<B, 2>> {
        match input {
            DeviceInput::Tokens(t) => Ok(self.forward_train(t, probe)?),
            other => wrong("the event LSTM", &other),
        }
    }

    fn infer(
        model: &EventLstm<B::InnerBackend>,
        input: DeviceInput<B::InnerBackend>,
    ) -> Result<Tensor<B::InnerBackend, 2>> {
        match input {
            DeviceInput::Tokens(t) => Ok(model.forward(t)?),
            other => wrong("the event LSTM", &other),
        }
    }

    fn trace(
        model: &EventLstm<B::InnerBackend>,
        input: DeviceInput<B::InnerBackend>,
    ) -> Result<Vec<LayerOutputs>> {
        let DeviceInput::Tokens(t) = input else {
            return wrong("the event LSTM", &input);
        };
        let [batch, steps] = t.dims();
        Ok(states(model.trace(t)?, batch * steps, "lstm"))
    }

    fn host_params(model: &EventLstm<B::InnerBackend>) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        model.host_params()
    }
}
