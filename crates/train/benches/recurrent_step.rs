//! One training step (forward, backward, Adam) of the IRNN on the adding
//! problem (Le, Jaitly & Hinton 2015): RNN 2→100 ReLU with `W_hh = 0.01·I`,
//! T = 150, batch 16, Linear(100→1) on the last state, MSE. Ids are
//! `irnn-adding-150/backend/implementation` (`fused`, `per-step`); the
//! throughput in elements is the step's FLOPs (3 × the forward matmuls), as in
//! `train_step.rs`.
//!
//! `lstm-maestro/backend/implementation`: the LSTM study's model,
//! Embedding(359, 32) → LSTM(32→360) over 32 steps → Linear(11 520→359) on
//! every state, batch 64, cross-entropy, Adam.
//!
//! `rnn-mnist/backend/implementation`: the RNN study's model, RNN 28→128 tanh,
//! 2 layers, PyTorch's default init, over MNIST rows (28 steps of 28 pixels) →
//! Linear(128→10) on the last state, batch 128, cross-entropy, AdamW.
//!
//! PyTorch runs the same three models in `../shared/bench/torch_steps.py`; the
//! side-by-side numbers and ratios are in ARCHITECTURE.md. PyTorch's throughput
//! differs between machines of this kind by up to 2×, so compare only runs
//! taken back to back on one idle machine.

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use initlab_data::{AddingProblem, Images, Reading, SequenceReader};
use initlab_init::Scheme;
use initlab_models::{
    Dense, HostParams, InitPlan, Lstm, LstmConfig, Nonlinearity, RecurrentImpl, Rnn, RnnConfig,
};
use initlab_train::{cross_entropy, dispatch, BackendKind, BackendTask};

/// The row's label, or `None` for a fused run that falls back to per-step (an
/// autodiff backend other than burn's), which would time the per-step path twice.
fn row_label(implementation: RecurrentImpl, fused: bool) -> Option<&'static str> {
    match implementation {
        RecurrentImpl::PerStep => Some("per-step"),
        _ if fused => Some("fused"),
        _ => None,
    }
}

const STEPS: usize = 150;
const BATCH: usize = 16;
const HIDDEN: usize = 100;

fn irnn(implementation: RecurrentImpl) -> RnnConfig {
    RnnConfig {
        input: 2,
        hidden: HIDDEN,
        layers: 1,
        nonlinearity: Nonlinearity::Relu,
        bias: true,
        implementation,
    }
}

#[derive(Module, Debug)]
struct Irnn<B: Backend> {
    rnn: Rnn<B>,
    head: Dense<B>,
}

impl<B: AutodiffBackend> Irnn<B> {
    /// # Shapes
    /// `[batch, T, 2]` → `[batch, 1]`
    fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 2> {
        let out = self.rnn.forward_autodiff(x).expect("input shape"); // last: [batch, 100]
        self.head.forward(out.last) // [batch, 1]
    }
}

struct IrnnStep<'a, 'b> {
    group: &'a mut BenchmarkGroup<'b, WallTime>,
}

impl BackendTask for IrnnStep<'_, '_> {
    type Output = ();
    fn run<B: AutodiffBackend>(self, device: B::Device, kind: BackendKind) {
        let problem = AddingProblem::new(STEPS).expect("T = 150");
        let batch = problem.train_stream(1).next_batch(BATCH);
        for implementation in [RecurrentImpl::Fused, RecurrentImpl::PerStep] {
            let config = irnn(implementation);
            let small_identity: Scheme = "identity(scale=0.01)".parse().expect("spec");
            let zeros: Scheme = "zeros".parse().expect("spec");
            let plan = InitPlan::new("pytorch-linear-default".parse().expect("spec"))
                .with("recurrent", small_identity)
                .with("bias", zeros);
            let host = HostParams::sample(&config.param_specs(), &plan, 1).expect("sample");
            let rnn: Rnn<B> = config.init(&host, &device).expect("init");
            let head = Dense {
                weight: Param::from_data(
                    TensorData::new(vec![0.01f32; HIDDEN], [HIDDEN, 1]),
                    &device,
                ),
                bias: Param::from_data(TensorData::new(vec![0.0f32], [1]), &device),
            };
            let fused = rnn.runs_fused(&device);
            let Some(label) = row_label(implementation, fused) else {
                continue;
            };
            let mut model = Some(Irnn { rnn, head });
            let mut optim = AdamConfig::new().init();
            self.group.bench_function(format!("{kind}/{label}"), |b| {
                b.iter(|| {
                    let m = model.take().expect("model");
                    let x = Tensor::<B, 3>::from_data(
                        TensorData::new(batch.inputs.clone(), [BATCH, STEPS, 2]),
                        &device,
                    );
                    let y = Tensor::<B, 2>::from_data(
                        TensorData::new(batch.targets.clone(), [BATCH, 1]),
                        &device,
                    );
                    let diff = m.forward(x) - y;
                    let loss = (diff.clone() * diff).mean();
                    let grads = GradientsParams::from_grads(loss.backward(), &m);
                    model = Some(optim.step(1e-3, m, grads));
                })
            });
        }
    }
}

fn irnn_adding(c: &mut Criterion) {
    let mut group = c.benchmark_group("irnn-adding-150");
    group.sample_size(20);
    let config = irnn(RecurrentImpl::Fused);
    let macs = config.forward_macs_per_step() * STEPS + HIDDEN;
    group.throughput(Throughput::Elements((3 * 2 * macs * BATCH) as u64));
    for kind in BackendKind::available() {
        dispatch(kind, IrnnStep { group: &mut group }).expect("compiled backend");
    }
    group.finish();
}

const VOCAB: usize = 359;
const EMBED: usize = 32;
const CONTEXT: usize = 32;
const LSTM_HIDDEN: usize = 360;
const LSTM_BATCH: usize = 64;

fn maestro_lstm(implementation: RecurrentImpl) -> LstmConfig {
    LstmConfig {
        input: EMBED,
        hidden: LSTM_HIDDEN,
        layers: 1,
        bias: true,
        implementation,
    }
}

#[derive(Module, Debug)]
struct NoteLstm<B: Backend> {
    embedding: Param<Tensor<B, 2>>,
    lstm: Lstm<B>,
    head: Dense<B>,
}

impl<B: AutodiffBackend> NoteLstm<B> {
    /// # Shapes
    /// `[batch, CONTEXT]` tokens → `[batch, VOCAB]` logits
    fn forward(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 2> {
        let [batch, steps] = tokens.dims();
        let flat = tokens.reshape([batch * steps]);
        let x = self
            .embedding
            .val()
            .select(0, flat)
            .reshape([batch, steps, EMBED]); // [batch, T, 32]
        let out = self.lstm.forward_autodiff(x).expect("input shape"); // [batch, T, 360]
        self.head
            .forward(out.states.reshape([batch, steps * LSTM_HIDDEN])) // [batch, 359]
    }
}

struct LstmStep<'a, 'b> {
    group: &'a mut BenchmarkGroup<'b, WallTime>,
}

impl BackendTask for LstmStep<'_, '_> {
    type Output = ();
    fn run<B: AutodiffBackend>(self, device: B::Device, kind: BackendKind) {
        let tokens: Vec<i64> = (0..LSTM_BATCH * CONTEXT)
            .map(|i| ((i * 7919) % VOCAB) as i64)
            .collect();
        let targets: Vec<i64> = (0..LSTM_BATCH).map(|i| ((i * 31) % VOCAB) as i64).collect();
        for implementation in [RecurrentImpl::Fused, RecurrentImpl::PerStep] {
            let config = maestro_lstm(implementation);
            let plan = InitPlan::new("pytorch-linear-default".parse().expect("spec"));
            let host = HostParams::sample(&config.param_specs(), &plan, 1).expect("sample");
            let lstm: Lstm<B> = config.init(&host, &device).expect("init");
            let fused = lstm.runs_fused(&device);
            let Some(label) = row_label(implementation, fused) else {
                continue;
            };
            let features = CONTEXT * LSTM_HIDDEN;
            let embedding: Vec<f32> = (0..VOCAB * EMBED)
                .map(|i| ((i * 37) % 101) as f32 / 101.0 - 0.5)
                .collect();
            let head_w: Vec<f32> = (0..features * VOCAB)
                .map(|i| (((i * 13) % 97) as f32 / 97.0 - 0.5) * 0.01)
                .collect();
            let mut model = Some(NoteLstm {
                embedding: Param::from_data(TensorData::new(embedding, [VOCAB, EMBED]), &device),
                lstm,
                head: Dense {
                    weight: Param::from_data(TensorData::new(head_w, [features, VOCAB]), &device),
                    bias: Param::from_data(TensorData::new(vec![0.0f32; VOCAB], [VOCAB]), &device),
                },
            });
            let mut optim = AdamConfig::new().init();
            self.group.bench_function(format!("{kind}/{label}"), |b| {
                b.iter(|| {
                    let m = model.take().expect("model");
                    let x = Tensor::<B, 2, Int>::from_data(
                        TensorData::new(tokens.clone(), [LSTM_BATCH, CONTEXT]),
                        &device,
                    );
                    let y = Tensor::<B, 1, Int>::from_data(
                        TensorData::new(targets.clone(), [LSTM_BATCH]),
                        &device,
                    );
                    let loss = cross_entropy(m.forward(x), y);
                    let grads = GradientsParams::from_grads(loss.backward(), &m);
                    model = Some(optim.step(1e-3, m, grads));
                })
            });
        }
    }
}

fn lstm_maestro(c: &mut Criterion) {
    let mut group = c.benchmark_group("lstm-maestro");
    group.sample_size(10);
    let macs = maestro_lstm(RecurrentImpl::Fused).forward_macs_per_step() * CONTEXT
        + CONTEXT * LSTM_HIDDEN * VOCAB;
    group.throughput(Throughput::Elements((3 * 2 * macs * LSTM_BATCH) as u64));
    for kind in BackendKind::available() {
        dispatch(kind, LstmStep { group: &mut group }).expect("compiled backend");
    }
    group.finish();
}

const MNIST_SIDE: usize = 28;
const RNN_HIDDEN: usize = 128;
const RNN_BATCH: usize = 128;
const CLASSES: usize = 10;

fn mnist_rnn(implementation: RecurrentImpl) -> RnnConfig {
    RnnConfig {
        input: MNIST_SIDE,
        hidden: RNN_HIDDEN,
        layers: 2,
        nonlinearity: Nonlinearity::Tanh,
        bias: true,
        implementation,
    }
}

#[derive(Module, Debug)]
struct MnistRnn<B: Backend> {
    rnn: Rnn<B>,
    head: Dense<B>,
}

impl<B: AutodiffBackend> MnistRnn<B> {
    /// # Shapes
    /// `[batch, 28, 28]` rows → `[batch, 10]` logits
    fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 2> {
        let out = self.rnn.forward_autodiff(x).expect("input shape"); // last: [batch, 128]
        self.head.forward(out.last) // [batch, 10]
    }
}

struct RnnMnistStep<'a, 'b> {
    group: &'a mut BenchmarkGroup<'b, WallTime>,
}

impl BackendTask for RnnMnistStep<'_, '_> {
    type Output = ();
    fn run<B: AutodiffBackend>(self, device: B::Device, kind: BackendKind) {
        // Deterministic stand-in pixels, read the way the study reads MNIST.
        let images = Images {
            pixels: (0..RNN_BATCH * MNIST_SIDE * MNIST_SIDE)
                .map(|i| ((i * 37) % 256) as u8)
                .collect(),
            labels: (0..RNN_BATCH).map(|i| (i % CLASSES) as u8).collect(),
            rows: MNIST_SIDE,
            cols: MNIST_SIDE,
        };
        let reader = SequenceReader::for_images(Reading::Rows, &images).expect("28×28");
        let indices: Vec<usize> = (0..RNN_BATCH).collect();
        let pixels = reader.read(&images, &indices).expect("indices in range");
        let labels: Vec<i64> = images.labels.iter().map(|&l| i64::from(l)).collect();
        for implementation in [RecurrentImpl::Fused, RecurrentImpl::PerStep] {
            let config = mnist_rnn(implementation);
            let plan = InitPlan::new("pytorch-rnn-default".parse().expect("spec"));
            let host = HostParams::sample(&config.param_specs(), &plan, 1).expect("sample");
            let rnn: Rnn<B> = config.init(&host, &device).expect("init");
            let Some(label) = row_label(implementation, rnn.runs_fused(&device)) else {
                continue;
            };
            let head_w: Vec<f32> = (0..RNN_HIDDEN * CLASSES)
                .map(|i| (((i * 13) % 97) as f32 / 97.0 - 0.5) * 0.1)
                .collect();
            let mut model = Some(MnistRnn {
                rnn,
                head: Dense {
                    weight: Param::from_data(
                        TensorData::new(head_w, [RNN_HIDDEN, CLASSES]),
                        &device,
                    ),
                    bias: Param::from_data(
                        TensorData::new(vec![0.0f32; CLASSES], [CLASSES]),
                        &device,
                    ),
                },
            });
            let mut optim = AdamWConfig::new().init();
            self.group.bench_function(format!("{kind}/{label}"), |b| {
                b.iter(|| {
                    let m = model.take().expect("model");
                    let x = Tensor::<B, 3>::from_data(
                        TensorData::new(pixels.clone(), reader.shape(RNN_BATCH)),
                        &device,
                    );
                    let y = Tensor::<B, 1, Int>::from_data(
                        TensorData::new(labels.clone(), [RNN_BATCH]),
                        &device,
                    );
                    let loss = cross_entropy(m.forward(x), y);
                    let grads = GradientsParams::from_grads(loss.backward(), &m);
                    model = Some(optim.step(1e-3, m, grads));
                })
            });
        }
    }
}

fn rnn_mnist(c: &mut Criterion) {
    let mut group = c.benchmark_group("rnn-mnist");
    group.sample_size(20);
    let macs =
        mnist_rnn(RecurrentImpl::Fused).forward_macs_per_step() * MNIST_SIDE + RNN_HIDDEN * CLASSES;
    group.throughput(Throughput::Elements((3 * 2 * macs * RNN_BATCH) as u64));
    for kind in BackendKind::available() {
        dispatch(kind, RnnMnistStep { group: &mut group }).expect("compiled backend");
    }
    group.finish();
}

criterion_group!(benches, irnn_adding, lstm_maestro, rnn_mnist);
criterion_main!(benches);
