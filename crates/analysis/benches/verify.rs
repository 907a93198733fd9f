//! What checking a run file costs: `verify_run_file` (read the file, parse
//! every part, recompute the config, init and output sha256s) on run files the
//! size of the studies' runs. Every read of a run file pays it once.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use initlab_analysis::{record_hashes, verify_run_file, ResultsStore};
use initlab_train::{ActivationStats, NamedTensor, RunRecord, RunStatus};

/// A run whose parameters are `layers` (out, in) matrices with biases, with
/// hashes that verify.
fn record(layers: &[(usize, usize)]) -> RunRecord {
    let params = |scale: f32| -> Vec<NamedTensor> {
        layers
            .iter()
            .enumerate()
            .flat_map(|(i, &(out, inp))| {
                [
                    NamedTensor {
                        name: format!("layers.{i}.weight"),
                        shape: vec![out, inp],
                        values: (0..out * inp).map(|k| (k % 97) as f32 * scale).collect(),
                    },
                    NamedTensor {
                        name: format!("layers.{i}.bias"),
                        shape: vec![out],
                        values: vec![scale; out],
                    },
                ]
            })
            .collect()
    };
    let mut r = RunRecord {
        run_id: "00000000000000aa".into(),
        study: "bench".into(),
        label: "he-normal".into(),
        initializer: "kaiming-normal".into(),
        status: RunStatus::Complete,
        seed: 1,
        replicate: 0,
        config_json: r#"{"study":"bench"}"#.into(),
        config_sha256: String::new(),
        init_sha256: String::new(),
        outputs_sha256: String::new(),
        backend: "ndarray".into(),
        test_accuracy: 0.9,
        test_loss: 0.3,
        published: None,
        published_metrics: Vec::new(),
        grid: Vec::new(),
        metrics: Vec::new(),
        finished_at: "2026-12-01T00:00:00Z".into(),
        wall_seconds: 1.0,
        step_loss: vec![0.5; 2000],
        train_loss: vec![0.5; 10],
        train_accuracy: vec![0.5; 10],
        val_loss: vec![0.5; 10],
        val_accuracy: vec![0.5; 10],
        grad_norms: (0..layers.len())
            .map(|i| (format!("layers.{i}"), vec![0.1; 10]))
            .collect(),
        activations: vec![ActivationStats {
            layer: "layers.0".into(),
            range: [0.0, 1.0],
            histogram: [vec![0.1; 50], vec![0.1; 50]],
            dead_fraction: [0.0, 0.0],
            flat_fraction: [0.0, 0.0],
            std: [1.0, 1.0],
        }],
        curves: Vec::new(),
        bptt: Vec::new(),
        lsuv: Vec::new(),
        initial_params: params(0.01),
        final_params: params(0.02),
    };
    [r.config_sha256, r.init_sha256, r.outputs_sha256] = record_hashes(&r);
    r
}

fn verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify_run_file");
    group.sample_size(10);
    // mlp-depth's 784-128-64-10 MLP (0.9 MB file); a run with lstm-maestro's
    // 4.1 M-parameter read-out (33 MB file).
    for (name, layers) in [
        ("mlp-784-128-64-10", vec![(128, 784), (64, 128), (10, 64)]),
        ("readout-4.1M", vec![(359, 11_520)]),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ResultsStore::open(dir.path()).expect("store");
        let rec = record(&layers);
        store.save(&rec).expect("save");
        let path = store.run_path(&rec.run_id);
        let bytes = std::fs::metadata(&path).expect("size").len();
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(name, |b| {
            b.iter(|| verify_run_file(&path).expect("verifies"))
        });
    }
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
