//! The README's recipe for adding a network, followed here: a model (config,
//! parameter list, burn module) and its training side (`NetworkConfig`,
//! `BuildNetwork`, `Network`), defined outside the crate, go through the same
//! public fit check and training loop as every registered network. Nothing in
//! `initlab-train` knows the network, so the study and the trainer need no
//! edit for a new one; its `ModelConfig` variant line only lets a study file
//! name it.

// The shared fixture's run settings; its MLP and images are not used here.
#[allow(dead_code)]
mod common;

use burn::backend::{Autodiff, NdArray};
use burn::module::{Module, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use initlab_init::LsuvSettings;
use initlab_models::{
    tensor_to_vec, Activation, BpttProbe, HostParams, InitPlan, LsuvBatch, LsuvRecord, MlpConfig,
    ParamSpec,
};
use initlab_train::{
    check_fits, train_network, AddingConfig, AddingTask, BuildNetwork, DataConfig, DeviceInput,
    InputKind, InputShape, LayerOutputs, MnistConfig, ModelConfig, Network, NetworkConfig,
    OptimizerConfig, RangeCheck, RunStatus, Silent,
};

// The model file: the config lists the parameters, the module holds them.

/// A linear read-out of a whole sequence, flattened: `y = W·vec(x) + b`.
#[derive(Clone, Debug)]
struct FlatLinearConfig {
    steps: usize,
    features: usize,
}

impl FlatLinearConfig {
    fn inputs(&self) -> usize {
        self.steps * self.features
    }

    fn specs(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::new("head.weight", "weight", vec![1, self.inputs()]),
            ParamSpec::new("head.bias", "bias", vec![1]),
        ]
    }
}

#[derive(Module, Debug)]
struct FlatLinear<B: Backend> {
    /// `[inputs, 1]`.
    weight: Param<Tensor<B, 2>>,
    /// `[1]`.
    bias: Param<Tensor<B, 1>>,
}

impl<B: Backend> FlatLinear<B> {
    fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 2> {
        let [batch, steps, features] = x.dims();
        x.reshape([batch, steps * features])
            .matmul(self.weight.val())
            + self.bias.val().unsqueeze()
    }
}

// The training side: what it reads, its parameters and how it is built.

impl NetworkConfig for FlatLinearConfig {
    fn kind(&self) -> &'static str {
        "flat-linear"
    }

    fn reads(&self) -> InputShape {
        InputShape::new(InputKind::Sequences, self.features)
    }

    fn param_specs(&self) -> Vec<ParamSpec> {
        self.specs()
    }

    fn parameter_count(&self) -> u128 {
        self.inputs() as u128 + 1
    }

    fn check_ranges(&self, found: &mut RangeCheck) {
        found.positive("model.steps", self.steps);
        found.positive("model.features", self.features);
    }

    fn forward_macs(&self, _steps: usize) -> usize {
        self.inputs()
    }

    fn lsuv_settings(&self, _plan: &InitPlan) -> initlab_models::Result<Option<LsuvSettings>> {
        Ok(None)
    }

    fn calibrate_lsuv(
        &self,
        _params: &mut HostParams,
        _plan: &InitPlan,
        _batch: LsuvBatch<'_>,
    ) -> initlab_models::Result<Vec<LsuvRecord>> {
        Ok(Vec::new())
    }
}

impl<B: AutodiffBackend> BuildNetwork<B> for FlatLinearConfig {
    type Model = FlatLinear<B>;

    fn build(&self, params: &HostParams, device: &B::Device) -> initlab_train::Result<Self::Model> {
        let get = |name: &str| {
            params
                .get(name)
                .ok_or_else(|| initlab_train::Error::Task(format!("no `{name}`")))
        };
        // The host layout is PyTorch's `(out, in)`; with one output that is
        // the `[in, out]` column the matmul wants.
        let weight = TensorData::new(get("head.weight")?.to_vec(), [self.inputs(), 1]);
        let bias = TensorData::new(get("head.bias")?.to_vec(), [1]);
        Ok(FlatLinear {
            weight: Param::from_data(weight, device),
            bias: Param::from_data(bias, device),
        })
    }
}

impl<B: AutodiffBackend> Network<B> for FlatLinear<B> {
    fn activation(&self) -> Activation {
        Activation::Tanh
    }

    fn is_recurrent(&self) -> bool {
        false
    }

    fn forward(
        &self,
        input: DeviceInput<B>,
        _: Option<&BpttProbe>,
    ) -> initlab_train::Result<Tensor<B, 2>> {
        Ok(FlatLinear::forward(self, input.sequences()?))
    }

    fn infer(
        model: &FlatLinear<B::InnerBackend>,
        input: DeviceInput<B::InnerBackend>,
    ) -> initlab_train::Result<Tensor<B::InnerBackend, 2>> {
        Ok(model.forward(input.sequences()?))
    }

    fn trace(
        _: &FlatLinear<B::InnerBackend>,
        _: DeviceInput<B::InnerBackend>,
    ) -> initlab_train::Result<Vec<LayerOutputs>> {
        Ok(Vec::new())
    }

    fn host_params(model: &FlatLinear<B::InnerBackend>) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let [inputs, _] = model.weight.val().dims();
        vec![
            (
                "head.weight".into(),
                vec![1, inputs],
                tensor_to_vec(model.weight.val()),
            ),
            ("head.bias".into(), vec![1], tensor_to_vec(model.bias.val())),
        ]
    }
}

// The study's side: data, a plan and a training config, as any run has.

fn adding(length: usize) -> DataConfig {
    DataConfig::Adding(AddingConfig {
        length,
        placement: Default::default(),
        examples_per_epoch: 256,
        eval_examples: 64,
        eval_batch: 32,
        escape_below: 0.1,
    })
}

#[test]
fn the_fit_check_takes_a_new_network_by_what_it_reads() {
    let net = FlatLinearConfig {
        steps: 4,
        features: 2,
    };
    assert_eq!(check_fits(&net, &adding(4)), Ok(()));
    let flat = DataConfig::Mnist(MnistConfig {
        validation_fraction: 0.2,
        holdout: Default::default(),
        reading: None,
        normalize: None,
        eval_batch: None,
    });
    let err = check_fits(&net, &flat).expect_err("sequences only");
    assert!(
        err.contains("a `flat-linear` model cannot read `mnist` data as flat images"),
        "{err}"
    );
    let three = FlatLinearConfig {
        steps: 4,
        features: 3,
    };
    let err = check_fits(&three, &adding(4)).expect_err("three features");
    assert!(err.contains("input size is 3, the data gives 2"), "{err}");
    let mut found = RangeCheck::default();
    FlatLinearConfig {
        steps: 0,
        features: 2,
    }
    .check_ranges(&mut found);
    assert_eq!(
        found.first(),
        Some(("model.steps".into(), "is 0; it must be at least 1".into()))
    );
}

#[test]
fn the_training_loop_trains_a_new_network_it_does_not_know() {
    type B = Autodiff<NdArray>;
    let net = FlatLinearConfig {
        steps: 4,
        features: 2,
    };
    let problem = initlab_data::AddingProblem::new(4).expect("T = 4");
    let task = AddingTask::new(problem, 256, 64, 32, 3);
    let plan = InitPlan::new("zeros".parse().expect("zeros"))
        .with("weight", "normal(mean=0,std=0.1)".parse().expect("normal"));
    let sgd = OptimizerConfig::Sgd {
        lr: 0.05,
        momentum: 0.0,
    };
    // The run's `[model]` is whatever a study file would name; the network
    // handed to the loop is the one trained.
    let stand_in = ModelConfig::Mlp(MlpConfig::new(8, vec![], 1, Activation::Relu));
    let spec = common::spec_for(stand_in, adding(4), plan, common::training(sgd, 3));
    let device = Default::default();
    let run = || train_network::<B, _>(&spec, &net, &task, &device, &Silent).expect("trains");
    let record = run();
    assert_eq!(record.status, RunStatus::Complete);
    assert_eq!(record.step_loss.len(), 3 * 256 / 16);
    assert_eq!(record.val_loss.len(), 3);
    let names: Vec<&str> = record
        .final_params
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["head.weight", "head.bias"]);
    assert!(
        record.val_loss[2] < record.val_loss[0],
        "validation MSE falls: {:?}",
        record.val_loss
    );
    assert_eq!(run().outputs_sha256, record.outputs_sha256);
}
