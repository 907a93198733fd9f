//! Training on a tiny synthetic problem: the loop learns, records what it
//! promises, stops on NaN, and every backend starts from the same weights.

use burn::tensor::backend::AutodiffBackend;
use initlab_models::{
    Activation, HostParams, InitPlan, Mlp, MlpConfig, Nonlinearity, Recurrence, RecurrentImpl,
    RecurrentNetConfig,
};
use initlab_train::{
    dispatch, time_run, AddingConfig, AddingTask, BackendKind, BackendTask, DataConfig,
    ModelConfig, OptimizerConfig, RunSpec, RunStatus, TimingBudget,
};

mod common;

/// Adam at lr 0.01 with PyTorch's default betas and epsilon.
fn adam() -> OptimizerConfig {
    OptimizerConfig::Adam {
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
    }
}

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
fn a_timing_takes_the_steps_its_budget_allows() {
    let run = spec("xavier-normal", 0.1, 3);
    let data = common::data();
    let budget = |min_steps, max_steps, min_seconds| TimingBudget {
        min_steps,
        max_steps,
        min_seconds,
    };
    // Seconds it never reaches: the cap ends it.
    let capped = time_run(&run, &data, budget(3, 20, 1e9)).expect("timing");
    assert_eq!(capped.timed_steps, 20);
    // No seconds asked for: the minimum, past the end of the 16-step epoch.
    let least = time_run(&run, &data, budget(30, 1000, 0.0)).expect("timing");
    assert_eq!(least.timed_steps, 30);
    assert!(least.step_seconds > 0.0, "{least:?}");
    assert!(least.setup_seconds > 0.0, "{least:?}");
    assert!(least.eval_seconds_per_example > 0.0, "{least:?}");
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
    let config = MlpConfig::new(784, vec![128], 10, Activation::Relu);
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

fn rnn_model(nonlinearity: Nonlinearity, input: usize, outputs: usize) -> ModelConfig {
    ModelConfig::Rnn(RecurrentNetConfig {
        cell: Recurrence::Rnn,
        nonlinearity: Some(nonlinearity),
        input,
        hidden: 8,
        layers: 1,
        outputs,
        implementation: RecurrentImpl::Auto,
    })
}

/// A 4-input, 2-output RNN run on the fixture's data read as sequences,
/// trained by [`adam`] for `epochs`.
fn sequence_spec(nonlinearity: Nonlinearity, plan: InitPlan, epochs: usize) -> RunSpec {
    common::spec_for(
        rnn_model(nonlinearity, 4, 2),
        spec("zeros", 0.1, 1).config.data,
        plan,
        common::training(adam(), epochs),
    )
}

fn train_on_sequences(run: &RunSpec) -> initlab_train::RunRecord {
    dispatch(
        BackendKind::Ndarray,
        common::Train(run, &common::sequences()),
    )
    .expect("rnn")
}

fn scheme(spec: &str) -> initlab_init::Scheme {
    spec.parse().expect("spec")
}

#[test]
fn one_loop_trains_an_mlp_and_an_rnn_on_the_same_examples() {
    let mlp = spec("xavier-normal", 0.1, 3);
    let flat = dispatch(BackendKind::Ndarray, common::Train(&mlp, &common::data())).expect("mlp");
    let plan = InitPlan::new(scheme("zeros"))
        .with("input", scheme("xavier-uniform"))
        .with("recurrent", scheme("orthogonal"))
        .with("weight", scheme("xavier-uniform"));
    let rnn = sequence_spec(Nonlinearity::Tanh, plan, 4);
    let seq = train_on_sequences(&rnn);
    for r in [&flat, &seq] {
        assert_eq!(r.status, RunStatus::Complete);
        assert!(
            r.train_loss.last() < r.train_loss.first(),
            "{:?}",
            r.train_loss
        );
        assert!(r.test_accuracy > 0.9, "{}: {}", r.run_id, r.test_accuracy);
        assert_eq!(r.outputs_sha256, r.compute_outputs_sha256());
    }
    let layers = |r: &initlab_train::RunRecord| -> Vec<String> {
        r.grad_norms.iter().map(|(l, _)| l.clone()).collect()
    };
    assert_eq!(layers(&flat), ["layers.0", "layers.1"]);
    assert_eq!(layers(&seq), ["rnn.layers.0", "head"]);
    assert_eq!(seq.activations[0].layer, "rnn.l0");
    // Only the recurrent run probes BPTT: at init and after each of 4 epochs, T = 2.
    assert!(flat.bptt.is_empty());
    let names: Vec<&str> = seq.bptt.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["grad_h_norm", "h_norm"]);
    assert!(seq.bptt.iter().all(|t| t.shape == [5, 2]));
    assert!(seq.bptt[0].values.iter().all(|v| v.is_finite() && *v > 0.0));
    // Classification runs keep their best validation epoch.
    let epoch = seq
        .metrics
        .iter()
        .find(|(n, _)| n == "best_val_epoch")
        .expect("best_val_epoch")
        .1;
    assert!((1.0..=4.0).contains(&epoch));
}

#[test]
fn a_regression_run_records_mse_and_the_epoch_it_leaves_the_plateau() {
    let problem = initlab_data::AddingProblem::new(4).expect("T = 4");
    let run = |below: f64| {
        let task = AddingTask::new(problem, 2048, 512, 32, 3).with_escape_below(below);
        let plan = InitPlan::new(scheme("pytorch-linear-default"))
            .with("recurrent", scheme("identity(scale=0.01)"))
            .with("input", scheme("normal(mean=0,std=0.1)"));
        let mut training = common::training(adam(), 6);
        training.clip_grad_norm = Some(1.0);
        let spec = common::spec_for(
            rnn_model(Nonlinearity::Relu, 2, 1),
            DataConfig::Adding(AddingConfig {
                length: 4,
                placement: Default::default(),
                examples_per_epoch: 2048,
                eval_examples: 512,
                eval_batch: 32,
                escape_below: below,
            }),
            plan,
            training,
        );
        dispatch(BackendKind::Ndarray, common::Train(&spec, &task)).expect("adding")
    };
    // The study's threshold is 0.05; this small run gets under 0.1 within its 6 epochs.
    let r = run(0.1);
    assert_eq!(r.status, RunStatus::Complete);
    assert!(r.test_accuracy.is_nan() && r.train_accuracy.is_empty() && r.val_accuracy.is_empty());
    assert_eq!((r.val_loss.len(), r.step_loss.len()), (6, 6 * 128));
    assert!(
        r.val_loss.iter().all(|l| *l < 0.2),
        "about 1/6 or below: {:?}",
        r.val_loss
    );
    let metric = |r: &initlab_train::RunRecord, name: &str| {
        r.metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    };
    let first_below = r
        .val_loss
        .iter()
        .position(|&l| l < 0.1)
        .map(|e| e as f64 + 1.0);
    assert!(
        first_below.is_some(),
        "T = 4 is learned in 6 epochs: {:?}",
        r.val_loss
    );
    assert_eq!(metric(&r, "plateau_escape_epoch"), first_below);
    // A threshold never reached records nothing rather than a made-up epoch.
    assert_eq!(metric(&run(0.0), "plateau_escape_epoch"), None);
}

/// Remembers what it was given; refuses to store the run named in `refuse`.
#[derive(Default)]
struct MemorySink {
    saved: std::sync::Mutex<Vec<String>>,
    refuse: Option<String>,
}

impl initlab_train::RunSink for MemorySink {
    fn contains(&self, _: &str) -> bool {
        false
    }
    fn save(&self, record: &initlab_train::RunRecord) -> Result<(), String> {
        if self.refuse.as_deref() == Some(record.run_id.as_str()) {
            return Err("disk full".into());
        }
        self.saved.lock().expect("lock").push(record.run_id.clone());
        Ok(())
    }
}

fn five_runs() -> Vec<RunSpec> {
    [
        "zeros",
        "xavier-normal",
        "kaiming-normal",
        "normal(mean=0,std=0.1)",
        "orthogonal",
    ]
    .iter()
    .map(|w| spec(w, 0.1, 1))
    .collect()
}

#[test]
fn a_grid_trains_each_run_once_and_returns_them_in_the_order_given() {
    let runs = five_runs();
    let tasks = initlab_train::TaskSet::single(&runs, std::sync::Arc::new(common::data()));
    let sink = MemorySink::default();
    let outcome =
        initlab_train::run_grid(&runs, &tasks, 2, &sink, &initlab_train::Silent).expect("grid");
    let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    let trained: Vec<&str> = outcome.trained.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(trained, ids);
    let mut saved = sink.saved.into_inner().expect("lock");
    saved.sort();
    let mut expected: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(saved, expected);
}

#[test]
fn a_failed_save_stops_the_grid_and_names_the_run() {
    let runs = five_runs();
    let tasks = initlab_train::TaskSet::single(&runs, std::sync::Arc::new(common::data()));
    let sink = MemorySink {
        refuse: Some(runs[0].id.clone()),
        ..MemorySink::default()
    };
    let err = initlab_train::run_grid(&runs, &tasks, 1, &sink, &initlab_train::Silent)
        .expect_err("the first save fails");
    assert!(err.to_string().contains(&runs[0].id), "{err}");
    // One worker: nothing after the failed run started.
    assert!(sink.saved.into_inner().expect("lock").is_empty());
}

/// LSUV calibrates on the host before any backend sees the weights: the same
/// `init_sha256` on every compiled backend, each weight the orthogonal
/// pre-init times one factor per layer, and the outcome in the record.
#[test]
fn lsuv_runs_start_from_the_same_calibrated_bits_on_every_backend() {
    let sgd = OptimizerConfig::Sgd {
        lr: 0.05,
        momentum: 0.0,
    };
    let mut hashes = Vec::new();
    for kind in BackendKind::available() {
        let run = common::mlp_spec("test", "lsuv", sgd.clone(), 1, 1, kind);
        let r = dispatch(kind, common::Train(&run, &common::data())).expect("train");
        let layers: Vec<&str> = r.lsuv.iter().map(|l| l.layer.as_str()).collect();
        assert_eq!(layers, ["layers.0", "layers.1"], "{kind}");
        assert!(r.lsuv.iter().all(|l| l.outcome.converged), "{:?}", r.lsuv);
        let pre = HostParams::sample(&run.config.model.param_specs(), &run.plan, run.seed)
            .expect("pre-init");
        for (l, layer) in r.lsuv.iter().enumerate() {
            let name = format!("layers.{l}.weight");
            let after = r.initial_params.iter().find(|t| t.name == name).expect("w");
            let before = pre.get(&name).expect("w");
            assert!(before.iter().zip(&after.values).all(|(b, a)| {
                (f64::from(*a) - f64::from(*b) * layer.outcome.scale).abs() < 1e-5
            }));
            assert!((layer.outcome.scale - 1.0).abs() > 1e-3, "{layer:?}");
        }
        assert_eq!(r.outputs_sha256, r.compute_outputs_sha256());
        hashes.push((kind, r.init_sha256));
    }
    assert!(hashes.len() >= 2, "test both default backends");
    assert!(hashes.iter().all(|(_, h)| *h == hashes[0].1), "{hashes:?}");
    // A run without LSUV records none.
    let plain = dispatch(
        BackendKind::Ndarray,
        common::Train(&spec("orthogonal", 0.05, 1), &common::data()),
    )
    .expect("train");
    assert!(plain.lsuv.is_empty());
}

#[test]
fn lsuv_calibrates_a_recurrent_run_on_its_training_sequences() {
    let lsuv = scheme("lsuv(batch=32)");
    let plan = InitPlan::new(scheme("zeros"))
        .with("input", lsuv.clone())
        .with("recurrent", lsuv.clone())
        .with("weight", lsuv);
    let run = sequence_spec(Nonlinearity::Relu, plan, 1);
    let r = train_on_sequences(&run);
    let layers: Vec<&str> = r.lsuv.iter().map(|l| l.layer.as_str()).collect();
    assert_eq!(layers, ["rnn.l0", "head"]);
    assert!(r.lsuv.iter().all(|l| l.outcome.variance.is_finite()));
    // The same run again: the calibration batch follows from the run seed.
    let again = train_on_sequences(&run);
    assert_eq!((&r.lsuv, &r.init_sha256), (&again.lsuv, &again.init_sha256));
}
