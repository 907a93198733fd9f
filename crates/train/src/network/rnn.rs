//! The recurrent network's training side: it reads sequences.

use burn::tensor::backend::AutodiffBackend;
use initlab_models::{Activation, Nonlinearity, Recurrence, RecurrentNet, RecurrentNetConfig};

use crate::network::{Network, NetworkConfig};
use crate::range_check::RangeCheck;
use crate::task::{InputKind, InputShape};

impl NetworkConfig for RecurrentNetConfig {
    model_config_methods!("rnn");

    fn reads(&self) -> InputShape {
        InputShape::new(InputKind::Sequences, self.input)
    }

    fn parameter_count(&self) -> u128 {
        let gates: u128 = if self.cell == Recurrence::Lstm { 4 } else { 1 };
        let (input, hidden, layers) =
            (self.input as u128, self.hidden as u128, self.layers as u128);
        let layer = |inputs: u128| gates * hidden * (inputs + hidden + 2);
        let outputs = self.outputs as u128;
        layer(input) + layers.saturating_sub(1) * layer(hidden) + hidden * outputs + outputs
    }

    fn check_ranges(&self, found: &mut RangeCheck) {
        found.positive("model.input", self.input);
        found.positive("model.hidden", self.hidden);
        found.positive("model.layers", self.layers);
        found.positive("model.outputs", self.outputs);
        if self.cell == Recurrence::Lstm && self.nonlinearity.is_some() {
            found.push(
                "model.nonlinearity",
                "is set for an LSTM, whose gates are fixed (σ and tanh)",
            );
        }
    }

    fn validate(&self) -> std::result::Result<(), String> {
        RecurrentNetConfig::validate(self).map_err(|e| e.to_string())
    }

    fn forward_macs(&self, steps: usize) -> usize {
        RecurrentNetConfig::forward_macs(self, steps)
    }
}

model_config_methods!(build RecurrentNetConfig => RecurrentNet);

impl<B: AutodiffBackend> Network<B> for RecurrentNet<B> {
    /// Tanh-like for the tanh RNN and the LSTM (`h = o·tanh(c)`), ReLU for
    /// the IRNN.
    fn activation(&self) -> Activation {
        match self.nonlinearity() {
            Some(Nonlinearity::Relu) => Activation::Relu,
            _ => Activation::Tanh,
        }
    }

    recurrent_network_methods!(RecurrentNet reads sequences, states "rnn.l");
}
