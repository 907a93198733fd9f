//! The tiny synthetic problem and MLP that the training tests share.

use std::sync::Arc;

use burn::tensor::backend::AutodiffBackend;
use initlab_init::Scheme;
use initlab_models::{Activation, InitPlan, MlpConfig};
use initlab_train::{
    BackendKind, BackendTask, ClassificationData, DataConfig, Examples, MnistConfig, MnistTask,
    ModelConfig, OptimizerConfig, RunConfig, RunLabels, RunRecord, RunSpec, Silent, Task,
    TestSchedule, TrainingConfig,
};

/// Two classes separated along the first feature: a noise level `n` of 17
/// is code `n`, the first feature of class `c` with noise `n` code
/// `17 + 17c + n`.
fn split(n: usize, salt: usize) -> Examples {
    let noise = |level: usize| level as f32 / 17.0 - 0.5;
    let values = std::array::from_fn(|code| match code {
        0..17 => noise(code),
        17..51 => {
            let (label, level) = ((code - 17) / 17, (code - 17) % 17);
            label as f32 * 2.0 - 1.0 + 0.3 * noise(level)
        }
        _ => 0.0,
    });
    let mut codes = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        let label = (i + salt) % 2;
        y.push(label as u8);
        for f in 0..8 {
            let level = (i * 37 + f * 11 + salt) % 17;
            codes.push(if f == 0 {
                17 + 17 * label + level
            } else {
                level
            } as u8);
        }
    }
    Examples::coded(codes, values, y, 8)
}

/// 256 training, 64 validation and 64 test examples of the problem, as
/// flat feature vectors.
pub fn data() -> MnistTask {
    MnistTask::flat(Arc::new(data_splits()), 2000)
}

/// An 8-16-2 ReLU MLP run on [`data`]: `weight` initializes the weights,
/// biases start at zero; batch 16.
pub fn mlp_spec(
    study: &str,
    weight: &str,
    optimizer: OptimizerConfig,
    epochs: usize,
    master_seed: u64,
    backend: BackendKind,
) -> RunSpec {
    let model = MlpConfig::new(8, vec![16], 2, Activation::Relu);
    let weight: Scheme = weight.parse().expect("spec");
    let plan = InitPlan::new("zeros".parse().expect("zeros")).with("weight", weight.clone());
    let config = RunConfig {
        study: study.into(),
        model: ModelConfig::Mlp(model),
        data: DataConfig::Mnist(MnistConfig {
            validation_fraction: 0.2,
            holdout: Default::default(),
            reading: None,
            normalize: None,
            eval_batch: None,
        }),
        training: training(optimizer, epochs),
        init: Default::default(),
        replicate: 0,
    };
    RunSpec::new(
        config,
        master_seed,
        backend,
        RunLabels {
            label: "w".into(),
            initializer: weight.to_string(),
            ..RunLabels::default()
        },
        plan,
    )
}

/// Trains one run on whichever backend `dispatch` picks.
pub struct Train<'a>(pub &'a RunSpec, pub &'a dyn Task);

impl BackendTask for Train<'_> {
    type Output = RunRecord;
    fn run<B: AutodiffBackend>(self, device: B::Device, _: BackendKind) -> RunRecord {
        initlab_train::train_run::<B>(self.0, self.1, &device, &Silent).expect("train")
    }
}

/// The same two-class problem read as sequences of 2 steps × 4 features.
pub fn sequences() -> MnistTask {
    let data = data_splits();
    let reader =
        initlab_data::SequenceReader::new(initlab_data::Reading::Rows, 2, 4).expect("2×4 reader");
    MnistTask::sequences(Arc::new(data), reader, 2000)
}

fn data_splits() -> ClassificationData {
    ClassificationData {
        train: split(256, 0),
        val: split(64, 1),
        test: split(64, 2),
    }
}

/// A run of `model` on `data` with the fixture's training settings.
pub fn spec_for(
    model: ModelConfig,
    data: DataConfig,
    plan: InitPlan,
    training: TrainingConfig,
) -> RunSpec {
    let config = RunConfig {
        study: "test".into(),
        model,
        data,
        training,
        init: Default::default(),
        replicate: 0,
    };
    RunSpec::new(
        config,
        1,
        BackendKind::Ndarray,
        RunLabels {
            label: "w".into(),
            ..RunLabels::default()
        },
        plan,
    )
}

/// `epochs` of `optimizer` in batches of 16, nothing else.
pub fn training(optimizer: OptimizerConfig, epochs: usize) -> TrainingConfig {
    TrainingConfig {
        epochs,
        batch_size: 16,
        optimizer,
        train_limit: None,
        eval_limit: None,
        clip_grad_norm: None,
        test: TestSchedule::End,
    }
}
