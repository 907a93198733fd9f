//! One training step of each study's model, exactly as the training loop takes
//! it ([`initlab_train::stepper`]: forward, loss, backward, the host
//! optimizer with clipping where the study clips), from the study files' own
//! configs, on every compiled backend.
//!
//! Ids are `study/backend/implementation` (`fused`, or `per-step` for the
//! recurrent layers' reference loop); the throughput in elements is the
//! step's FLOPs, 3 × the forward matmuls (forward plus the two backward
//! products). The data is synthetic but shaped as the study's: random pixels
//! read flat or by rows, the adding problem's own generator, random event
//! tokens. PyTorch runs the same models in `../shared/bench/torch_steps.py`;
//! compare only runs taken back to back on one idle machine
//! (ARCHITECTURE.md, "Train-step speed against PyTorch").
//!
//! Each step runs on a worker of a thread pool with a thread per core, as a
//! run of `reproduce` does (`grid::run_grid` trains every run on a worker of
//! its `--jobs` pool): called from outside a pool, each of a step's parallel
//! products would cost two thread wake-ups that training never pays.

use std::path::Path;
use std::sync::Arc;

use burn::tensor::backend::AutodiffBackend;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use initlab_data::maestro::Piece;
use initlab_data::{AddingProblem, Reading, SequenceReader};
use initlab_train::{
    dispatch, stepper, AddingTask, BackendKind, BackendTask, ClassificationData, Examples,
    MaestroTask, MnistTask, Overrides, Profile, RunSpec, Sampling, Study, Task,
};

/// The first quick-profile run of a study, with `set` applied.
fn run(study: &str, only: &[&str], set: &[&str]) -> RunSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../experiments")
        .join(format!("{study}.toml"));
    let study = Study::load(&path).expect("study file");
    let mut o = Overrides::default();
    for s in only {
        o.only(s).expect("--only");
    }
    for s in set {
        o.set(s).expect("--set");
    }
    study
        .runs_with(Profile::Quick, BackendKind::DEFAULT, &o)
        .expect("runs")
        .swap_remove(0)
}

/// Deterministic stand-in images: 2 048 of 28×28, ten classes.
fn mnist() -> Arc<ClassificationData> {
    let split = |n: usize, salt: usize| {
        Examples::images(
            (0..n * 784)
                .map(|i| ((i * 37 + salt) % 256) as u8)
                .collect(),
            (0..n).map(|i| (i % 10) as u8).collect(),
            784,
            None,
        )
    };
    Arc::new(ClassificationData {
        train: split(2048, 0),
        val: split(512, 1),
        test: split(512, 2),
    })
}

/// Random event tokens in pieces long enough for many windows.
fn maestro() -> MaestroTask {
    let piece = |k: u32, n: usize| Piece {
        path: format!("synthetic/{k}"),
        tokens: (0..n as u32).map(|i| (i * 7919 + k * 31) % 356).collect(),
    };
    MaestroTask::new(
        [
            vec![piece(0, 4096), piece(1, 4096)],
            vec![piece(2, 512)],
            vec![piece(3, 512)],
        ],
        32,
        Sampling::default(),
        256,
        (0..359 * 32)
            .map(|i| ((i * 37) % 101) as f32 / 101.0 - 0.5)
            .collect(),
        1,
    )
    .expect("synthetic pieces")
}

/// A row per implementation worth timing on `kind`.
fn implementations(recurrent: bool) -> Vec<(&'static str, Vec<&'static str>)> {
    if recurrent {
        vec![
            ("fused", vec![]),
            ("per-step", vec!["model.implementation=\"per-step\""]),
        ]
    } else {
        vec![("fused", vec![])]
    }
}

struct Steps<'a, 'b> {
    group: &'a mut BenchmarkGroup<'b, WallTime>,
    study: &'static str,
    only: &'static [&'static str],
    task: &'a dyn Task,
    recurrent: bool,
}

impl BackendTask for Steps<'_, '_> {
    type Output = ();
    fn run<B: AutodiffBackend>(self, device: B::Device, kind: BackendKind) {
        for (label, set) in implementations(self.recurrent) {
            let mut spec = run(self.study, self.only, &set);
            spec.backend = kind;
            let mut steps = stepper::<B>(&spec, self.task, &device).expect("stepper");
            let pool = rayon::ThreadPoolBuilder::new()
                .build()
                .expect("a thread per core");
            self.group.bench_function(format!("{kind}/{label}"), |b| {
                pool.install(|| b.iter(|| steps.step().expect("step")))
            });
        }
    }
}

/// Benchmarks one study's step on every compiled backend.
fn bench(
    c: &mut Criterion,
    name: &str,
    study: &'static str,
    only: &'static [&'static str],
    task: &dyn Task,
    recurrent: bool,
) {
    let spec = run(study, only, &[]);
    let t = &spec.config.training;
    let flops = 3 * 2 * spec.config.model.forward_macs(&spec.config.data) * t.batch_size;
    let mut group = c.benchmark_group(name);
    group.sample_size(if recurrent { 10 } else { 30 });
    group.throughput(Throughput::Elements(flops as u64));
    for kind in BackendKind::available() {
        dispatch(
            kind,
            Steps {
                group: &mut group,
                study,
                only,
                task,
                recurrent,
            },
        )
        .expect("compiled backend");
    }
    group.finish();
}

fn mlp(c: &mut Criterion) {
    let flat = MnistTask::flat(mnist(), 2000);
    bench(c, "mlp-keras", "mlp-keras", &[], &flat, false);
    bench(
        c,
        "mlp-depth",
        "mlp-depth",
        &["part=activations", "activation=relu", "optimizer=sgd"],
        &flat,
        false,
    );
}

fn recurrent(c: &mut Criterion) {
    let reader = SequenceReader::new(Reading::Rows, 28, 28).expect("28×28");
    let rows = MnistTask::sequences(mnist(), reader, 2000);
    bench(c, "rnn-mnist", "rnn-mnist", &[], &rows, true);
    let adding = AddingTask::new(AddingProblem::new(150).expect("T"), 100_000, 512, 32, 1);
    bench(
        c,
        "irnn-adding-150",
        "irnn-adding",
        &["model=irnn", "length=150"],
        &adding,
        true,
    );
    bench(c, "lstm-maestro", "lstm-maestro", &[], &maestro(), true);
}

criterion_group!(benches, mlp, recurrent);
criterion_main!(benches);
