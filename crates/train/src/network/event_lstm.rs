//! The event LSTM's training side: it reads token windows.

use burn::tensor::backend::AutodiffBackend;
use initlab_models::{Activation, EventLstm, EventLstmConfig};

use crate::network::{Network, NetworkConfig};
use crate::range_check::RangeCheck;
use crate::task::{InputKind, InputShape};

impl NetworkConfig for EventLstmConfig {
    model_config_methods!("event-lstm");

    fn reads(&self) -> InputShape {
        InputShape::new(InputKind::Tokens, self.window)
    }

    fn parameter_count(&self) -> u128 {
        let (vocabulary, dim, hidden) = (
            self.vocabulary as u128,
            self.dim as u128,
            self.hidden as u128,
        );
        let head_inputs = self.window as u128 * hidden;
        vocabulary * dim + 4 * hidden * (dim + hidden + 2) + head_inputs * vocabulary + vocabulary
    }

    fn check_ranges(&self, found: &mut RangeCheck) {
        found.positive("model.vocabulary", self.vocabulary);
        found.positive("model.dim", self.dim);
        found.positive("model.hidden", self.hidden);
        found.positive("model.window", self.window);
    }

    fn forward_macs(&self, _steps: usize) -> usize {
        EventLstmConfig::forward_macs(self)
    }
}

model_config_methods!(build EventLstmConfig => EventLstm);

impl<B: AutodiffBackend> Network<B> for EventLstm<B> {
    fn activation(&self) -> Activation {
        Activation::Tanh
    }

    recurrent_network_methods!(EventLstm reads tokens, states "lstm.l");
}
