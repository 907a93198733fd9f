//! Training on a tiny synthetic problem: the loop learns, records what it
//! promises, stops on NaN, and every backend starts from the same weights.

use burn::tensor::backend::AutodiffBackend;
use initlab_models::{Activation, HostParams, InitPlan, Mlp, MlpConfig};
use initlab_train::{dispatch, BackendKind, BackendTask, OptimizerConfig, RunSpec, RunStatus};

mod common;

fn spec(weight: &str, lr: f64, epochs: usize) -> RunSpec {
    let sgd = OptimizerConfig::Sgd { lr, momentum: 0.0 };
    common::mlp_spec("test", weight, sgd, epochs, 1, BackendKind::Ndarray)
}

#[test]
fn sgd_learns_a_separable_problem_and_records_every_series() {
    let run = spec("xavier-normal", 0.1, 3);
    let r = dispatch(BackendKind::Ndarray, common::Train(&run, &common::data())).expect("ndarray");
    assert_eq!(r.status, RunStatus::Complete);
    assert_eq!(r.step_loss.len(), 3 * 16);
    assert_eq!(
        (r.train_loss.len(), r.val_loss.len(), r.val_accuracy.len()),
        (3, 3, 3)
    );
    assert_eq!(r.grad_norms.len(), 2);
    assert!(r
        .grad_norms
        .iter()
        .all(|(_, v)| v.len() == 3 && v.iter().all(|g| *g > 0.0)));
    assert!(r.train_loss[2] < r.train_loss[0], "{:?}", r.train_loss);
    assert!(r.test_accuracy > 0.9, "test accuracy {}", r.test_accuracy);
    assert_eq!(r.outputs_sha256, r.compute_outputs_sha256());
    assert_ne!(r.initial_params, r.final_params);
}

#[test]
fn same_run_twice_gives_the_same_outputs_hash() {
    let run = spec("kaiming-normal", 0.05, 2);
    let a = dispatch(BackendKind::Ndarray, common::Train(&run, &common::data())).expect("ndarray");
    let b = dispatch(BackendKind::Ndarray, common::Train(&run, &common::data())).expect("ndarray");
    assert_eq!(a.outputs_sha256, b.outputs_sha256);
    assert_eq!(a.init_sha256, b.init_sha256);
}

#[test]
fn nan_loss_is_recorded_as_diverged_not_an_error() {
    let run = spec("normal(mean=0,std=1e30)", 0.1, 3);
    let r = dispatch(BackendKind::Ndarray, common::Train(&run, &common::data())).expect("ndarray");
    assert_eq!(r.status, RunStatus::Diverged);
    assert!(r.test_accuracy.is_nan());
    assert!(r.step_loss.last().is_some_and(|l| !l.is_finite()));
}

#[test]
fn zero_weights_leave_hidden_layer_dead() {
    // With every weight zero the hidden units output zero and get zero gradient:
    // only the output bias learns, which is why the study's zero run predicts one class.
    let run = spec("zeros", 0.1, 2);
    let r = dispatch(BackendKind::Ndarray, common::Train(&run, &common::data())).expect("ndarray");
    let w = |name: &str| {
        r.final_params
            .iter()
            .find(|t| t.name == name)
            .expect("param")
    };
    assert!(w("layers.0.weight").values.iter().all(|v| *v == 0.0));
    assert!(w("layers.1.weight").values.iter().all(|v| *v == 0.0));
    assert!(w("layers.1.bias").values.iter().any(|v| *v != 0.0));
}

struct Upload<'a>(&'a HostParams, &'a MlpConfig);

impl BackendTask for Upload<'_> {
    type Output = Vec<(String, Vec<usize>, Vec<f32>)>;
    fn run<B: AutodiffBackend>(self, device: B::Device, _: BackendKind) -> Self::Output {
        let model: Mlp<B> = self.1.init(self.0, &device).expect("init");
        model.host_params()
    }
}

#[test]
fn every_compiled_backend_starts_from_the_same_bits() {
    let config = MlpConfig {
        inputs: 784,
        hidden: vec![128],
        outputs: 10,
        activation: Activation::Relu,
        output_activation: None,
    };
    let plan = InitPlan::new("zeros".parse().expect("zeros")).with(
        "weight",
        "xavier-normal(distribution=truncated-normal)"
            .parse()
            .expect("spec"),
    );
    let host = HostParams::sample(&config.param_specs(), &plan, 42).expect("sample");
    assert!(
        BackendKind::available().len() >= 2,
        "test both default backends"
    );
    for kind in BackendKind::available() {
        let uploaded = dispatch(kind, Upload(&host, &config)).expect("backend");
        for ((spec, values), (name, shape, back)) in host.tensors.iter().zip(&uploaded) {
            assert_eq!((&spec.name, &spec.shape), (name, shape), "{kind}");
            let same = values
                .iter()
                .zip(back)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{kind}: {name} differs from the host sample");
        }
    }
}
