//! The LSTM of study 3 on MAESTRO: a window of event tokens is embedded, run
//! through an LSTM, and every step's output, flattened, predicts the next event.

use burn::module::{Module, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::dense::Dense;
use crate::host_node::tensor_to_vec;
use crate::params::{HostParams, ParamSpec};
use crate::recurrent::{BpttProbe, Lstm, LstmConfig, RecurrentImpl};
use crate::recurrent_net::{head_from_host, head_host_params, head_specs};
use crate::{Error, Result};

/// `Embedding(vocabulary, dim)` → `LSTM(dim → hidden)` over `window` steps →
/// the `window × hidden` outputs flattened → `Linear(window·hidden → vocabulary)`.
///
/// The study's model: vocabulary 359, dim 32, hidden 360, window 32; the
/// embedding table starts from the pre-trained note embeddings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventLstmConfig {
    /// Token ids (359 in the study: 356 events, then start, end and pad).
    pub vocabulary: usize,
    /// Embedding width.
    pub dim: usize,
    /// LSTM hidden units.
    pub hidden: usize,
    /// Tokens per input window; the read-out sees every step's output.
    pub window: usize,
    /// Fused, per-step, or chosen by backend.
    #[serde(default, skip_serializing_if = "RecurrentImpl::is_auto")]
    pub implementation: RecurrentImpl,
}

/// The prefix of the LSTM's parameter names.
const LSTM: &str = "lstm.";

impl EventLstmConfig {
    fn lstm(&self) -> LstmConfig {
        LstmConfig {
            input: self.dim,
            hidden: self.hidden,
            layers: 1,
            bias: true,
            implementation: self.implementation,
        }
    }

    /// Every parameter: `embedding.weight` `(vocabulary, dim)` in group
    /// `embedding`; the LSTM's in PyTorch's names under `lstm.` (groups
    /// `input`, `recurrent`, `bias` with the gate-bias parts); `head.weight`
    /// `(vocabulary, window·hidden)` in `weight` and `head.bias` in `bias`.
    pub fn param_specs(&self) -> Vec<ParamSpec> {
        let mut specs = vec![ParamSpec::new(
            "embedding.weight",
            "embedding",
            vec![self.vocabulary, self.dim],
        )];
        specs.extend(self.lstm().param_specs_in(LSTM));
        specs.extend(head_specs(self.window * self.hidden, self.vocabulary));
        specs
    }

    /// Multiply-accumulates of one forward pass per example.
    pub fn forward_macs(&self) -> usize {
        self.lstm().forward_macs_per_step() * self.window
            + self.window * self.hidden * self.vocabulary
    }

    /// Builds the network on `device` from host-sampled parameters.
    pub fn init<B: Backend>(
        &self,
        params: &HostParams,
        device: &B::Device,
    ) -> Result<EventLstm<B>> {
        if self.vocabulary == 0 || self.dim == 0 || self.window == 0 {
            return Err(Error::Config(format!(
                "an event LSTM needs positive vocabulary, dim and window, got {self:?}"
            )));
        }
        let table = params
            .get("embedding.weight")
            .filter(|t| t.len() == self.vocabulary * self.dim)
            .ok_or_else(|| {
                Error::Config(format!(
                    "`embedding.weight` needs {}×{} values",
                    self.vocabulary, self.dim
                ))
            })?;
        Ok(EventLstm {
            embedding: Param::from_data(
                TensorData::new(table.to_vec(), [self.vocabulary, self.dim]),
                device,
            ),
            lstm: self.lstm().init_in(LSTM, params, device)?,
            head: head_from_host(params, self.window * self.hidden, self.vocabulary, device)?,
        })
    }
}

/// The event LSTM, producing next-event logits.
#[derive(Module, Debug)]
pub struct EventLstm<B: Backend> {
    /// `[vocabulary, dim]`: row `t` is token `t`'s embedding.
    pub embedding: Param<Tensor<B, 2>>,
    /// One LSTM layer.
    pub lstm: Lstm<B>,
    /// `Linear(window·hidden → vocabulary)`.
    pub head: Dense<B>,
}

impl<B: Backend> EventLstm<B> {
    /// # Shapes
    /// `[batch, window]` token ids → `[batch, window, dim]`
    fn embed(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        burn::tensor::module::embedding(self.embedding.val(), tokens)
    }

    /// `[batch, window, hidden]` → `[batch, window·hidden]`, the read-out's input.
    fn flatten(states: Tensor<B, 3>) -> Tensor<B, 2> {
        let [batch, steps, hidden] = states.dims();
        states.reshape([batch, steps * hidden])
    }

    fn read_out(&self, states: Tensor<B, 3>) -> Tensor<B, 2> {
        self.head.forward(Self::flatten(states)) // [batch, vocabulary]
    }

    /// Inference.
    ///
    /// # Shapes
    /// `[batch, window]` token ids → `[batch, vocabulary]` logits
    pub fn forward(&self, tokens: Tensor<B, 2, Int>) -> Result<Tensor<B, 2>> {
        let out = self.lstm.forward(self.embed(tokens))?; // states: [batch, window, hidden]
        Ok(self.read_out(out.states))
    }

    /// The LSTM's hidden states on `tokens`, flattened `[batch × window × hidden]`.
    pub fn trace(&self, tokens: Tensor<B, 2, Int>) -> Result<Vec<Vec<f32>>> {
        let states = self.lstm.forward(self.embed(tokens))?.states;
        Ok(vec![tensor_to_vec(states)])
    }

    /// Every parameter in [`EventLstmConfig::param_specs`] order, PyTorch layout.
    pub fn host_params(&self) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let mut params = vec![(
            "embedding.weight".to_string(),
            self.embedding.dims().to_vec(),
            tensor_to_vec(self.embedding.val()),
        )];
        params.extend(self.lstm.host_params_in(LSTM));
        params.extend(head_host_params(&self.head));
        params
    }
}

impl<B: AutodiffBackend> EventLstm<B> {
    /// The training forward pass, the LSTM fused where it can be, with an
    /// optional probe of the per-step norms.
    ///
    /// # Shapes
    /// `[batch, window]` token ids → `[batch, vocabulary]` logits
    pub fn forward_train(
        &self,
        tokens: Tensor<B, 2, Int>,
        probe: Option<&BpttProbe>,
    ) -> Result<Tensor<B, 2>> {
        let states = self
            .lstm
            .forward_autodiff_probed(self.embed(tokens), probe)?
            .states;
        Ok(self.head.forward_train(Self::flatten(states), None))
    }
}
