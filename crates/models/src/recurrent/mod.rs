//! Recurrent layers: a stacked Elman RNN and LSTM in PyTorch's parameter
//! layout, each with a fused implementation for CPU backends (`fused.rs`, the
//! host kernels in `host.rs`) and a per-step reference that runs on every
//! backend (`reference.rs`, and in `lstm.rs`).

/// What the configs of stacked recurrent layers (`input`, `hidden`,
/// `layers`, `bias`, `implementation`) share: the `$noun` (`$what` in
/// errors) whose layers stack `$gates` gate blocks and run the cell
/// `$cell(&config)`.
macro_rules! stacked_methods {
    ($noun:literal, $what:literal, $gates:literal gates, $cell:expr) => {
        fn layer_input(&self, layer: usize) -> usize {
            if layer == 0 {
                self.input
            } else {
                self.hidden
            }
        }

        /// Multiply-accumulates of one forward pass per example and time step.
        pub fn forward_macs_per_step(&self) -> usize {
            (0..self.layers)
                .map(|l| $gates * self.hidden * (self.layer_input(l) + self.hidden))
                .sum()
        }

        #[doc = concat!("Builds the ", $noun, " on `device` from host-sampled parameters.")]
        pub fn init<B: Backend>(
            &self,
            params: &HostParams,
            device: &B::Device,
        ) -> Result<$crate::recurrent::Rnn<B>> {
            self.init_in("", params, device)
        }

        /// [`init`](Self::init) from parameters named with `prefix`, as
        /// [`param_specs_in`](Self::param_specs_in) names them.
        pub fn init_in<B: Backend>(
            &self,
            prefix: &str,
            params: &HostParams,
            device: &B::Device,
        ) -> Result<$crate::recurrent::Rnn<B>> {
            let shape = (self.input, self.hidden, self.layers);
            let layers = $crate::recurrent::upload_layers(
                $what, prefix, params, shape, $gates, self.bias, device,
            )?;
            Ok($crate::recurrent::Rnn {
                layers,
                cell: ($cell)(self),
                implementation: self.implementation,
            })
        }
    };
}

mod fused;
mod host;
mod lstm;
mod packed;
mod probe;
mod reference;

pub use lstm::{Lstm, LstmConfig};
pub use probe::{BpttProbe, StepNorms};

use burn::module::{Module, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{activation, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use initlab_init::Fans;

use crate::host_node::tensor_to_vec;
use crate::math;
use crate::params::{HostParams, ParamSpec};
use crate::{Error, Result};

use fused::StackInputs;
use host::Cell;

/// The nonlinearity of an Elman RNN, as PyTorch's `nn.RNN(nonlinearity=...)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Nonlinearity {
    /// tanh(x), PyTorch's default.
    #[default]
    Tanh,
    /// max(0, x): the IRNN of Le, Jaitly & Hinton (2015).
    Relu,
}

impl Nonlinearity {
    fn apply<B: Backend, const D: usize>(self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Nonlinearity::Tanh => activation::tanh(x),
            Nonlinearity::Relu => activation::relu(x),
        }
    }

    fn apply_host(self, x: &mut [f32]) {
        match self {
            Nonlinearity::Tanh => math::tanh_in_place(x),
            Nonlinearity::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
        }
    }

    /// φ'(a) written through h = φ(a), which is all the backward keeps.
    fn derivative_from_output(self, h: f32) -> f32 {
        match self {
            Nonlinearity::Tanh => 1.0 - h * h,
            Nonlinearity::Relu => {
                if h > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

/// Which implementation of the recurrence a layer runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecurrentImpl {
    /// Fused on CPU backends (ndarray, flex, candle and libtorch on the CPU),
    /// per-step elsewhere.
    #[default]
    Auto,
    /// The whole recurrence as one autodiff node computed on the host. On an
    /// autodiff backend other than burn's `Autodiff`, falls back to per-step.
    Fused,
    /// A loop of tensor ops per time step: any backend, burn's own autodiff.
    PerStep,
}

impl RecurrentImpl {
    /// Whether this is the default, which a canonical config leaves out so
    /// that run ids from before the choice existed stay the same.
    pub fn is_auto(&self) -> bool {
        *self == RecurrentImpl::Auto
    }

    /// Whether this choice runs fused on `B`'s `device`.
    pub fn is_fused<B: Backend>(self, device: &B::Device) -> bool {
        match self {
            RecurrentImpl::Fused => true,
            RecurrentImpl::PerStep => false,
            RecurrentImpl::Auto => {
                let name = B::name(device).to_ascii_lowercase();
                ["ndarray", "flex", "cpu"].iter().any(|n| name.contains(n))
            }
        }
    }
}

fn default_true() -> bool {
    true
}

/// The shape of a stacked Elman RNN, PyTorch's `nn.RNN(batch_first=True)`:
/// `h_t = φ(x_t·W_ihᵀ + b_ih + h_{t-1}·W_hhᵀ + b_hh)`, `h_{-1} = 0`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RnnConfig {
    /// Input features per step (`I`).
    pub input: usize,
    /// Hidden units per layer (`H`).
    pub hidden: usize,
    /// Stacked layers; layer `l > 0` reads layer `l - 1`'s states.
    pub layers: usize,
    /// φ.
    #[serde(default)]
    pub nonlinearity: Nonlinearity,
    /// Whether each layer has `b_ih` and `b_hh` (PyTorch's `bias=True`).
    #[serde(default = "default_true")]
    pub bias: bool,
    /// Fused, per-step, or chosen by backend.
    #[serde(default)]
    pub implementation: RecurrentImpl,
}

impl RnnConfig {
    /// Every parameter in PyTorch's order and names: per layer `l`,
    /// `weight_ih_l{l}` `(H, I or H)` in group `input`, `weight_hh_l{l}` `(H, H)`
    /// in group `recurrent`, then `bias_ih_l{l}`, `bias_hh_l{l}` `(H)` in group
    /// `bias`. Biases carry fans `(H, H)`, so PyTorch's default U(±1/√H) applies;
    /// every spec is in a recurrent layer of hidden size `H`, so
    /// `pytorch-rnn-default` fills the weights with U(±1/√H) too.
    pub fn param_specs(&self) -> Vec<ParamSpec> {
        self.param_specs_in("")
    }

    /// [`param_specs`](Self::param_specs) with every name prefixed
    /// (`rnn.weight_ih_l0`), for a network that holds the RNN as a part.
    pub fn param_specs_in(&self, prefix: &str) -> Vec<ParamSpec> {
        stacked_param_specs(prefix, self.input, self.hidden, self.layers, 1, self.bias)
    }

    stacked_methods!("RNN", "an RNN", 1 gates, |c: &Self| Cell::Elman(c.nonlinearity));
}

/// One recurrent layer's parameters, PyTorch layout (an LSTM stacks its four
/// gates `i, f, g, o` along the rows, `G = 4`; an Elman layer has `G = 1`).
#[derive(Module, Debug)]
pub struct RnnLayer<B: Backend> {
    /// `[G·H, I]` (`weight_ih_l{l}`).
    pub w_ih: Param<Tensor<B, 2>>,
    /// `[G·H, H]` (`weight_hh_l{l}`).
    pub w_hh: Param<Tensor<B, 2>>,
    /// `[G·H]` (`bias_ih_l{l}`), absent without bias.
    pub b_ih: Option<Param<Tensor<B, 1>>>,
    /// `[G·H]` (`bias_hh_l{l}`), absent without bias.
    pub b_hh: Option<Param<Tensor<B, 1>>>,
}

impl<B: Backend> RnnLayer<B> {
    fn bias(&self) -> Option<Tensor<B, 1>> {
        match (&self.b_ih, &self.b_hh) {
            (Some(a), Some(b)) => Some(a.val() + b.val()),
            (Some(a), None) | (None, Some(a)) => Some(a.val()),
            (None, None) => None,
        }
    }

    /// `w_ih`, `w_hh` and the summed bias (zeros for a layer without one).
    fn weights(&self) -> (Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 1>) {
        let hidden = self.w_hh.dims()[0];
        let device = self.w_hh.device();
        let bias = self
            .bias()
            .unwrap_or_else(|| Tensor::zeros([hidden], &device));
        (self.w_ih.val(), self.w_hh.val(), bias)
    }

    /// This layer alone as a stack of one.
    fn inputs(&self, x: Tensor<B, 3>, probe: Option<(BpttProbe, usize)>) -> StackInputs<B> {
        StackInputs {
            x,
            layers: vec![self.weights()],
            probe,
        }
    }
}

/// What an RNN returns: the top layer's states.
#[derive(Clone, Debug)]
pub struct RnnOutput<B: Backend> {
    /// Every hidden state of the top layer, `[batch, T, H]`.
    pub states: Tensor<B, 3>,
    /// The top layer's last hidden state, `[batch, H]`.
    pub last: Tensor<B, 2>,
}

/// A stack of recurrent layers, batch first: Elman layers built by
/// [`RnnConfig::init`], LSTM layers by [`LstmConfig::init`] (the [`Lstm`] alias).
/// One type serves both, since they differ only in what a layer computes.
#[derive(Module, Debug)]
pub struct Rnn<B: Backend> {
    /// The layers, input first.
    pub layers: Vec<RnnLayer<B>>,
    /// Elman (`RnnConfig`) or LSTM (`LstmConfig`): what a layer computes.
    #[module(skip)]
    cell: Cell,
    #[module(skip)]
    implementation: RecurrentImpl,
}

impl<B: Backend> Rnn<B> {
    fn check(&self, x: &Tensor<B, 3>) -> Result<()> {
        let [_, steps, input] = x.dims();
        let expected = self.layers.first().map(|l| l.w_ih.dims()[1]).unwrap_or(0);
        if steps == 0 || input != expected {
            let what = match self.cell {
                Cell::Elman(_) => "RNN",
                Cell::Lstm => "LSTM",
            };
            return Err(Error::Config(format!(
                "{what} input must be [batch, T ≥ 1, {expected}], got {:?}",
                x.dims()
            )));
        }
        Ok(())
    }

    fn stack_inputs(&self, x: Tensor<B, 3>) -> StackInputs<B> {
        StackInputs {
            x,
            layers: self.layers.iter().map(RnnLayer::weights).collect(),
            probe: None,
        }
    }

    fn finish(states: Tensor<B, 3>) -> RnnOutput<B> {
        let [batch, steps, hidden] = states.dims();
        let last = states
            .clone()
            .slice([0..batch, steps - 1..steps, 0..hidden])
            .reshape([batch, hidden]);
        RnnOutput { states, last }
    }

    /// The forward pass on any backend. A fused choice runs on the host when
    /// the backend records no graph (inference); on an autodiff backend this
    /// runs per-step, so training code calls [`Rnn::forward_autodiff`], which
    /// can also fuse there.
    ///
    /// # Shapes
    /// `[batch, T, input]` → states `[batch, T, hidden]`, last `[batch, hidden]`
    pub fn forward(&self, x: Tensor<B, 3>) -> Result<RnnOutput<B>> {
        self.check(&x)?;
        let device = x.device();
        let host = self.implementation.is_fused::<B>(&device) && !B::ad_enabled(&device);
        let mut h = x;
        if host {
            match fused::stack_untracked(self.stack_inputs(h), self.cell) {
                Ok(states) => return Ok(Self::finish(states)),
                Err(inputs) => h = inputs.x,
            }
        }
        for layer in &self.layers {
            h = if host {
                self.untracked_layer(layer, h)
            } else {
                self.per_step(layer, h)
            }; // [batch, T, hidden]
        }
        Ok(Self::finish(h))
    }

    /// One layer's forward on the host, as a stack of one.
    fn untracked_layer(&self, layer: &RnnLayer<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
        match fused::stack_untracked(layer.inputs(x, None), self.cell) {
            Ok(states) => states,
            Err(inputs) => self.per_step(layer, inputs.x),
        }
    }

    /// The per-step reference, whatever the configured implementation.
    ///
    /// # Shapes
    /// `[batch, T, input]` → states `[batch, T, hidden]`, last `[batch, hidden]`
    pub fn forward_per_step(&self, x: Tensor<B, 3>) -> Result<RnnOutput<B>> {
        self.check(&x)?;
        let mut h = x;
        for layer in &self.layers {
            h = self.per_step(layer, h);
        }
        Ok(Self::finish(h))
    }

    fn per_step(&self, layer: &RnnLayer<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
        match self.cell {
            Cell::Elman(nonlinearity) => reference::forward(
                x,
                layer.w_ih.val(),
                layer.w_hh.val(),
                layer.bias(),
                nonlinearity,
            ),
            Cell::Lstm => lstm::per_step(layer, x),
        }
    }

    /// Layer `layer` alone on its input `x`, as [`Rnn::forward`] runs it.
    ///
    /// # Shapes
    /// `[batch, T, input of the layer]` → `[batch, T, hidden]`
    pub fn forward_layer(&self, layer: usize, x: Tensor<B, 3>) -> Result<Tensor<B, 3>> {
        let l = self
            .layers
            .get(layer)
            .ok_or_else(|| Error::Config(format!("no layer {layer} of {}", self.layers.len())))?;
        let device = x.device();
        let host = self.implementation.is_fused::<B>(&device) && !B::ad_enabled(&device);
        Ok(if host {
            self.untracked_layer(l, x)
        } else {
            self.per_step(l, x)
        })
    }

    /// Every parameter as `(prefix + PyTorch name, shape, values)`, in
    /// [`RnnConfig::param_specs`] order; the layers already hold PyTorch layout.
    pub fn host_params_in(&self, prefix: &str) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let mut out = Vec::new();
        for (l, layer) in self.layers.iter().enumerate() {
            out.push((
                format!("{prefix}weight_ih_l{l}"),
                layer.w_ih.dims().to_vec(),
                tensor_to_vec(layer.w_ih.val()),
            ));
            out.push((
                format!("{prefix}weight_hh_l{l}"),
                layer.w_hh.dims().to_vec(),
                tensor_to_vec(layer.w_hh.val()),
            ));
            for (name, bias) in [("bias_ih", &layer.b_ih), ("bias_hh", &layer.b_hh)] {
                if let Some(b) = bias {
                    out.push((
                        format!("{prefix}{name}_l{l}"),
                        b.dims().to_vec(),
                        tensor_to_vec(b.val()),
                    ));
                }
            }
        }
        out
    }

    /// φ of an Elman RNN; `None` for an LSTM.
    pub fn nonlinearity(&self) -> Option<Nonlinearity> {
        match self.cell {
            Cell::Elman(nl) => Some(nl),
            Cell::Lstm => None,
        }
    }

    /// The configured implementation.
    pub fn implementation(&self) -> RecurrentImpl {
        self.implementation
    }

    /// The same network running `implementation`.
    pub fn with_implementation(mut self, implementation: RecurrentImpl) -> Self {
        self.implementation = implementation;
        self
    }
}

impl<B: AutodiffBackend> Rnn<B> {
    /// The forward pass for training: the whole stack is one fused autodiff
    /// node (or, where its layers split the batch differently, each layer is
    /// one) when the configured implementation resolves to fused and `B` is
    /// burn's `Autodiff` backend, a loop of tensor ops otherwise. Gradients agree to
    /// float tolerance (`tests/recurrent.rs`).
    ///
    /// # Shapes
    /// `[batch, T, input]` → states `[batch, T, hidden]`, last `[batch, hidden]`
    pub fn forward_autodiff(&self, x: Tensor<B, 3>) -> Result<RnnOutput<B>> {
        self.forward_autodiff_probed(x, None)
    }

    /// [`forward_autodiff`](Self::forward_autodiff), recording each layer's
    /// per-step state norms into `probe`, and, once a loss computed from the
    /// output is backpropagated, the norms of `∂L/∂h_t` (fused layers only: a
    /// per-step layer records its states alone).
    ///
    /// # Shapes
    /// `[batch, T, input]` → states `[batch, T, hidden]`, last `[batch, hidden]`
    pub fn forward_autodiff_probed(
        &self,
        x: Tensor<B, 3>,
        probe: Option<&BpttProbe>,
    ) -> Result<RnnOutput<B>> {
        self.check(&x)?;
        let fuse = self.implementation.is_fused::<B>(&x.device());
        let mut h = x;
        // A probe reads each layer's states batch-major: layer by layer then.
        if fuse && probe.is_none() {
            match fused::try_fused_stack(self.stack_inputs(h), self.cell) {
                Ok(states) => return Ok(Self::finish_fused(states)),
                Err(inputs) => h = inputs.x,
            }
        }
        for (l, layer) in self.layers.iter().enumerate() {
            let probe = probe.map(|p| (p.clone(), l));
            h = if fuse {
                match fused::try_fused_stack(layer.inputs(h, probe.clone()), self.cell) {
                    Ok(states) => states,
                    Err(inputs) => self.per_step_probed(layer, inputs.x, probe),
                }
            } else {
                self.per_step_probed(layer, h, probe)
            }; // [batch, T, hidden]
        }
        Ok(if fuse {
            Self::finish_fused(h)
        } else {
            Self::finish(h)
        })
    }

    /// [`Rnn::finish`] with the last step picked by a host node
    /// (`fused::try_last_step`): the same values, without burn's slice
    /// backward filling a zero tensor of every state value by value.
    fn finish_fused(states: Tensor<B, 3>) -> RnnOutput<B> {
        match fused::try_last_step(states.clone()) {
            Ok(last) => RnnOutput { states, last },
            Err(states) => Self::finish(states),
        }
    }

    fn per_step_probed(
        &self,
        layer: &RnnLayer<B>,
        x: Tensor<B, 3>,
        probe: Option<(BpttProbe, usize)>,
    ) -> Tensor<B, 3> {
        let states = self.per_step(layer, x);
        if let Some((probe, l)) = probe {
            let [batch, steps, _] = states.dims();
            let values = tensor_to_vec(states.clone().inner());
            probe.record_states(l, &values, batch, steps);
        }
        states
    }

    /// Whether [`Rnn::forward_autodiff`] runs fused on `device`.
    pub fn runs_fused(&self, device: &B::Device) -> bool {
        self.implementation.is_fused::<B>(device) && fused::supports::<B>()
    }
}

/// Uploads a stack of recurrent layers' host-sampled parameters, named as
/// [`stacked_param_specs`] names them, with `gates × hidden` rows each;
/// `shape` is `(input, hidden, layers)`, `what` names the model in errors.
pub(crate) fn upload_layers<B: Backend>(
    what: &str,
    prefix: &str,
    params: &HostParams,
    (input, hidden, layers): (usize, usize, usize),
    gates: usize,
    bias: bool,
    device: &B::Device,
) -> Result<Vec<RnnLayer<B>>> {
    if input == 0 || hidden == 0 || layers == 0 {
        return Err(Error::Config(format!(
            "{what} needs positive input, hidden and layers, got {input}, {hidden}, {layers}"
        )));
    }
    let rows = gates * hidden;
    let upload = |name: String, cols: usize| -> Result<Tensor<B, 2>> {
        let name = format!("{prefix}{name}");
        let values = params
            .get(&name)
            .ok_or_else(|| Error::Config(format!("no values for parameter `{name}`")))?;
        if values.len() != rows * cols {
            return Err(Error::Config(format!(
                "parameter `{name}` has {} values, expected {rows}×{cols}",
                values.len()
            )));
        }
        Ok(Tensor::from_data(
            TensorData::new(values.to_vec(), [rows, cols]),
            device,
        ))
    };
    (0..layers)
        .map(|l| {
            let layer_input = if l == 0 { input } else { hidden };
            let bias = |name: String| -> Result<Option<Param<Tensor<B, 1>>>> {
                if bias {
                    Ok(Some(Param::from_tensor(upload(name, 1)?.reshape([rows]))))
                } else {
                    Ok(None)
                }
            };
            Ok(RnnLayer {
                w_ih: Param::from_tensor(upload(format!("weight_ih_l{l}"), layer_input)?),
                w_hh: Param::from_tensor(upload(format!("weight_hh_l{l}"), hidden)?),
                b_ih: bias(format!("bias_ih_l{l}"))?,
                b_hh: bias(format!("bias_hh_l{l}"))?,
            })
        })
        .collect()
}

/// The parameters of a stack of PyTorch recurrent layers whose matrices have
/// `gates × hidden` rows (1 for an Elman RNN, 4 for an LSTM): per layer `l`,
/// `weight_ih_l{l}` in group `input`, `weight_hh_l{l}` in `recurrent`, then the
/// two biases in `bias` with fans `(H, H)`, so PyTorch's U(±1/√H) applies.
/// Every spec is [`in_recurrent_layer`](ParamSpec::in_recurrent_layer)`(H)`, so
/// `pytorch-rnn-default` (U(±1/√H) for every parameter) fills the weights too,
/// while shape-based schemes keep the weights' own fans. No parts: the LSTM
/// adds its per-gate bias parts itself ([`LstmConfig::param_specs`]), since an
/// Elman RNN has a single gate.
pub(crate) fn stacked_param_specs(
    prefix: &str,
    input: usize,
    hidden: usize,
    layers: usize,
    gates: usize,
    bias: bool,
) -> Vec<ParamSpec> {
    let rows = gates * hidden;
    let fans = Fans {
        fan_in: hidden,
        fan_out: hidden,
    };
    (0..layers)
        .flat_map(|l| {
            let layer_input = if l == 0 { input } else { hidden };
            let mut specs = vec![
                ParamSpec::new(
                    format!("{prefix}weight_ih_l{l}"),
                    "input",
                    vec![rows, layer_input],
                ),
                ParamSpec::new(
                    format!("{prefix}weight_hh_l{l}"),
                    "recurrent",
                    vec![rows, hidden],
                ),
            ];
            if bias {
                for name in ["bias_ih", "bias_hh"] {
                    specs.push(
                        ParamSpec::new(format!("{prefix}{name}_l{l}"), "bias", vec![rows])
                            .with_fans(fans),
                    );
                }
            }
            specs
        })
        .map(|spec| spec.in_recurrent_layer(hidden))
        .collect()
}
