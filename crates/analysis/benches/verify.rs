//! What checking a run file costs: `verify_run_file` (read the file, parse
//! every part, recompute the config, init and output sha256s) on run files the
//! size of the studies' runs. Every read of a run file pays it once.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use initlab_analysis::{fixture, verify_run_file, ResultsStore};
use initlab_train::{ActivationStats, NamedTensor, RunRecord};

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
    fixture::with_hashes(RunRecord {
        step_loss: vec![0.5; 2000],
        train_loss: vec![0.5; 10],
        train_accuracy: vec![0.5; 10],
        val_loss: vec![0.5; 10],
        val_accuracy: vec![0.5; 10],
        grad_norms: (0..layers.len())
            .map(|i| (format!("layers.{i}"), vec![0.1; 10]))
            .collect(),
        activations: vec![ActivationStats {
            histogram: [vec![0.1; 50], vec![0.1; 50]],
            ..fixture::record("").activations[0].clone()
        }],
        initial_params: params(0.01),
        final_params: params(0.02),
        ..fixture::record("00000000000000aa")
    })
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
