//! One training step (forward, backward, optimizer) of each study model, on each
//! compiled backend. Ids are `model/backend/implementation`; the throughput in
//! elements is the step's FLOPs (3 × the forward matmuls), so `cargo xtask
//! bench` can print GFLOP/s next to steps/s.

use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor, TensorData};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use initlab_init::Scheme;
use initlab_models::{Activation, HostParams, InitPlan, Mlp, MlpConfig};
use initlab_train::{cross_entropy, dispatch, BackendKind, BackendTask};

const BATCH: usize = 64;

fn keras_mlp() -> MlpConfig {
    MlpConfig {
        inputs: 784,
        hidden: vec![128],
        outputs: 10,
        activation: Activation::Relu,
        output_activation: None,
    }
}

struct MlpStep<'a, 'b> {
    group: &'a mut BenchmarkGroup<'b, WallTime>,
}

impl BackendTask for MlpStep<'_, '_> {
    type Output = ();
    fn run<B: AutodiffBackend>(self, device: B::Device, kind: BackendKind) {
        let config = keras_mlp();
        let he: Scheme = "kaiming-normal(distribution=truncated-normal)"
            .parse()
            .expect("spec");
        let zeros: Scheme = "zeros".parse().expect("spec");
        let plan = InitPlan::new(zeros).with("weight", he);
        let host = HostParams::sample(&config.param_specs(), &plan, 1).expect("sample");
        let mut model: Option<Mlp<B>> = Some(config.init(&host, &device).expect("init"));
        let mut optim = AdamConfig::new().with_epsilon(1e-7).init();
        let x: Vec<f32> = (0..BATCH * 784).map(|i| (i % 255) as f32 / 255.0).collect();
        let y: Vec<i64> = (0..BATCH as i64).map(|i| i % 10).collect();
        self.group.bench_function(format!("{kind}/burn"), |b| {
            b.iter(|| {
                let m = model.take().expect("model");
                let xb =
                    Tensor::<B, 2>::from_data(TensorData::new(x.clone(), [BATCH, 784]), &device);
                let yb =
                    Tensor::<B, 1, Int>::from_data(TensorData::new(y.clone(), [BATCH]), &device);
                let loss = cross_entropy(m.forward(xb), yb);
                let grads = GradientsParams::from_grads(loss.backward(), &m);
                model = Some(optim.step(1e-3, m, grads));
            })
        });
    }
}

fn mlp_keras(c: &mut Criterion) {
    let mut group = c.benchmark_group("mlp-keras");
    let flops = 3 * 2 * keras_mlp().forward_macs() * BATCH;
    group.throughput(Throughput::Elements(flops as u64));
    for kind in BackendKind::available() {
        dispatch(kind, MlpStep { group: &mut group }).expect("compiled backend");
    }
    group.finish();
}

criterion_group!(benches, mlp_keras);
criterion_main!(benches);
