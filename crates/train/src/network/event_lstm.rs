//! The event LSTM's training side: it reads token windows.

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use initlab_models::{
    Activation, BpttProbe, EventLstm, EventLstmConfig, };

use crate::network::{DeviceInput, LayerOutputs, Network, NetworkConfig};
use crate::range_check::RangeCheck;
use crate::task::{InputKind, InputShape};
use crate::Result;

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
        vocabulary * dim
            + 4 * hidden * (dim + hidden + 2)
            + head_inputs * vocabulary
            + vocabulary
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

    fn is_recurrent(&self) -> bool {
        true
    }

    fn forward(&self, input: DeviceInput<B>, probe: Option<&BpttProbe>) -> Result<Tensor<B, 2>> {
        Ok(self.forward_train(input.tokens()?, probe)?)
    }

    fn infer(
        model: &EventLstm<B::InnerBackend>,
        input: DeviceInput<B::InnerBackend>,
    ) -> Result<Tensor<B::InnerBackend, 2>> {
        Ok(model.forward(input.tokens()?)?)
    }

    fn trace(
        model: &EventLstm<B::InnerBackend>,
        input: DeviceInput<B::InnerBackend>,
    ) -> Result<Vec<LayerOutputs>> {
        let t = input.tokens()?;
        let [batch, steps] = t.dims();
        Ok(LayerOutputs::layers(model.trace(t)?, batch * steps, "lstm.l"))
    }

    fn host_params(model: &EventLstm<B::InnerBackend>) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        model.host_params()
    }
}
