//! One training step (forward, backward, Adam) of the IRNN on the adding
//! problem (Le, Jaitly & Hinton 2015): RNN 2→100 ReLU with `W_hh = 0.01·I`,
//! T = 150, batch 16, Linear(100→1) on the last state, MSE. Ids are
//! `irnn-adding-150/backend/implementation` (`fused`, `per-step`); the
//! throughput in elements is the step's FLOPs (3 × the forward matmuls), as in
//! `train_step.rs`. PyTorch 2.9 on 2 CPU threads: 87–100 steps/s.
//!
//! `lstm-maestro/backend/implementation`: the LSTM study's model,
//! Embedding(359, 32) → LSTM(32→360) over 32 steps → Linear(11 520→359) on
//! every state, batch 64, cross-entropy, Adam. PyTorch: 9–11 steps/s.

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use initlab_data::AddingProblem;
use initlab_init::Scheme;
use initlab_models::{
    Dense, HostParams, InitPlan, Lstm, LstmConfig, Nonlinearity, RecurrentImpl, Rnn, RnnConfig,
};
use initlab_train::{cross_entropy, dispatch, BackendKind, BackendTask};

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
            let label = match implementation {
                RecurrentImpl::PerStep => "per-step",
                _ if fused => "fused",
                _ => continue,
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
        if kind == BackendKind::Tch {
            continue;
        }
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
            let label = match implementation {
                RecurrentImpl::PerStep => "per-step",
                _ if fused => "fused",
                _ => continue,
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
        if kind == BackendKind::Tch {
            continue;
        }
        dispatch(kind, LstmStep { group: &mut group }).expect("compiled backend");
    }
    group.finish();
}

criterion_group!(benches, irnn_adding, lstm_maestro);
criterion_main!(benches);
