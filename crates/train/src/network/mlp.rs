//! The MLP's training side: it reads feature vectors.

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use initlab_models::{Activation, BpttProbe, InitPlan, Mlp, MlpConfig};

use crate::mean_field;
use crate::network::{DeviceInput, LayerOutputs, Network, NetworkConfig};
use crate::range_check::RangeCheck;
use crate::task::{InputKind, InputShape};
use crate::Result;

impl NetworkConfig for MlpConfig {
    model_config_methods!("mlp");

    fn reads(&self) -> InputShape {
        InputShape::new(InputKind::Features, self.inputs)
    }

    fn parameter_count(&self) -> u128 {
        let widths: Vec<u128> = self.widths().into_iter().map(|w| w as u128).collect();
        widths.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
    }

    fn check_ranges(&self, found: &mut RangeCheck) {
        found.positive("model.inputs", self.inputs);
        found.positive("model.outputs", self.outputs);
        if let Some(i) = self.hidden.iter().position(|&w| w == 0) {
            found.push(
                "model.hidden",
                format!("has width 0 at layer {i}; every layer needs at least 1 unit"),
            );
        }
    }

    fn forward_macs(&self, _steps: usize) -> usize {
        MlpConfig::forward_macs(self)
    }

    /// Where the run sits in mean-field theory, for runs of its form.
    fn run_metrics(&self, plan: &InitPlan, train_accuracy: &[f32]) -> Vec<(String, f64)> {
        mean_field::metrics(self, plan, train_accuracy)
    }
}

model_config_methods!(build MlpConfig => Mlp);

impl<B: AutodiffBackend> Network<B> for Mlp<B> {
    fn activation(&self) -> Activation {
        Mlp::activation(self)
    }

    fn is_recurrent(&self) -> bool {
        false
    }

    fn forward(&self, input: DeviceInput<B>, _: Option<&BpttProbe>) -> Result<Tensor<B, 2>> {
        Ok(self.forward_train(input.features()?))
    }

    fn infer(
        model: &Mlp<B::InnerBackend>,
        input: DeviceInput<B::InnerBackend>,
    ) -> Result<Tensor<B::InnerBackend, 2>> {
        Ok(model.infer(input.features()?))
    }

    fn trace(
        model: &Mlp<B::InnerBackend>,
        input: DeviceInput<B::InnerBackend>,
    ) -> Result<Vec<LayerOutputs>> {
        let x = input.features()?;
        let rows = x.dims()[0];
        Ok(LayerOutputs::layers(model.trace(x).post, rows, "layers."))
    }

    fn host_params(model: &Mlp<B::InnerBackend>) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        model.host_params()
    }
}
