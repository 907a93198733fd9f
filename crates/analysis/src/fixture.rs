//! A small run with every part a run file holds and hashes that verify: the
//! one record the store's tests, its benchmark and the fuzzers' seeds start
//! from, each changing only the fields it is about (`RunRecord { seed: 9,
//! ..fixture::record("…") }`, then [`with_hashes`]).

use initlab_train::{ActivationStats, NamedTensor, RunRecord, RunStatus};

use crate::record_hashes;

/// `name` of `shape`, valued `first`, `first + step`, … in storage order.
pub fn tensor(name: &str, shape: &[usize], first: f32, step: f32) -> NamedTensor {
    NamedTensor {
        name: name.into(),
        shape: shape.to_vec(),
        values: (0..shape.iter().product::<usize>())
            .map(|i| first + i as f32 * step)
            .collect(),
    }
}

/// A one-layer MLP's parameters (weight [2, 3] from `first`, then its bias),
/// in the model's order, where `bias` follows `weight`.
pub fn params(first: f32) -> Vec<NamedTensor> {
    vec![
        tensor("layers.0.weight", &[2, 3], first, 0.25),
        tensor("layers.0.bias", &[2], 0.5, 0.25),
    ]
}

/// A complete classification run `id` of study `fixture`, its hashes set.
pub fn record(id: &str) -> RunRecord {
    with_hashes(RunRecord {
        run_id: id.into(),
        study: "fixture".into(),
        label: "he-normal".into(),
        initializer: "kaiming-normal".into(),
        status: RunStatus::Complete,
        seed: 7,
        replicate: 0,
        config_json: r#"{"study":"fixture"}"#.into(),
        config_sha256: String::new(),
        init_sha256: String::new(),
        outputs_sha256: String::new(),
        backend: "ndarray (burn 0.21.0, f32, cpu)".into(),
        test_accuracy: 0.5,
        test_loss: 1.25,
        published: None,
        published_metrics: Vec::new(),
        grid: Vec::new(),
        metrics: Vec::new(),
        finished_at: "2026-11-24T06:34:14Z".into(),
        wall_seconds: 0.5,
        step_loss: vec![2.0, 1.5],
        train_loss: vec![1.75],
        train_accuracy: vec![0.25],
        val_loss: vec![1.5],
        val_accuracy: vec![0.5],
        grad_norms: vec![("layers.0".into(), vec![0.5])],
        activations: vec![ActivationStats {
            layer: "layers.0".into(),
            range: [0.0, 1.0],
            histogram: [vec![0.5, 0.5], vec![1.0, 0.0]],
            dead_fraction: [0.0, 0.0],
            flat_fraction: [0.0, 0.0],
            std: [0.5, 0.25],
        }],
        curves: Vec::new(),
        bptt: Vec::new(),
        lsuv: Vec::new(),
        initial_params: params(1.0),
        final_params: params(-1.0),
    })
}

/// `record` with its config, init and output hashes computed from what it holds.
pub fn with_hashes(mut record: RunRecord) -> RunRecord {
    [
        record.config_sha256,
        record.init_sha256,
        record.outputs_sha256,
    ] = record_hashes(&record);
    record
}
