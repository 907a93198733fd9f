//! libtorch computes what the pure-Rust default computes: identical initial
//! weights, trajectories within a tolerance taken from a measured spread, and
//! repeatable outputs. Built only with the `tch` feature
//! (`cargo xtask test --backend tch`); a default `cargo test` skips the file.
//!
//! Tolerances. Both backends start from the same bits and see the same batches,
//! so they differ only by floating-point reassociation (libtorch's blocked
//! matmuls and vectorized reductions against ndarray's). That difference is
//! compared with the difference between two seeds of the same run on ndarray,
//! which is what the studies' conclusions are made of: a backend is equivalent
//! when its difference is a small fraction of the seed spread. The constants
//! below are measured bounds with headroom, not fitted to pass; the numbers are
//! below and in ARCHITECTURE.md ("The libtorch backend").

#![cfg(feature = "tch")]

use std::path::PathBuf;

use initlab_data::{Cache, Manifest, Mnist};
use initlab_train::{
    dispatch, BackendKind, ClassificationData, DataConfig, OptimizerConfig, Profile, RunLabels,
    RunRecord, RunSpec, RunStatus, Study,
};

mod common;

// Measured (libtorch 2.9.0 CPU, 2 cores): ndarray and tch differ by at most
// 6.1e-7 relative in any smoke step's loss and 1.9e-7 in the fixture's; test
// loss agrees to 1.0e-7 relative and test accuracy exactly. Two seeds on
// ndarray differ by 2.8e-3 to 0.14 relative in smoke test loss (2.0e-5 for
// zeros, whose only randomness is the batch order), by 1 to 22 of the 2000 test
// images, and by 0.34 to 0.54 relative in the fixture's step losses.

/// Smoke runs: |test loss(ndarray) − test loss(tch)| / test loss. A quarter
/// of the smallest seed spread of a seed-dependent initializer (He: 2.8e-3),
/// rounded down; the measured difference is 1e-7.
const SMOKE_LOSS_REL: f64 = 5e-4;
/// Smoke runs: |test accuracy(ndarray) − test accuracy(tch)|: one of the 2000
/// images the smoke profile tests, the smallest seed spread measured (He).
const SMOKE_ACC_ABS: f64 = 1.0 / 2000.0;
/// Largest relative difference of any step's loss (smoke and fixture): 16×
/// the largest measured, 3e4 times below the fixture's seed spread.
const STEP_LOSS_REL: f64 = 1e-5;
/// The backend difference in test loss must also stay below this fraction of
/// the same run's two-seed spread.
const FRACTION_OF_SEED_SPREAD: f64 = 0.25;

/// The fixture-sized MLP of `tests/training.rs`, with Adam as the studies use.
fn fixture(weight: &str, master_seed: u64, backend: BackendKind) -> RunSpec {
    let adam = OptimizerConfig::Adam {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-7,
    };
    common::mlp_spec("tch-equivalence", weight, adam, 3, master_seed, backend)
}

fn train(spec: &RunSpec, data: &ClassificationData) -> RunRecord {
    dispatch(spec.backend, common::Train(spec, data)).expect("compiled backend")
}

/// The same run with the next replicate's seed, on ndarray.
fn other_seed(spec: &RunSpec, master_seed: u64) -> RunSpec {
    let mut config = spec.config.clone();
    config.replicate += 1;
    RunSpec::new(
        config,
        master_seed,
        BackendKind::Ndarray,
        RunLabels {
            label: spec.label.clone(),
            initializer: spec.initializer.clone(),
            published: spec.published,
        },
        spec.plan.clone(),
    )
}

/// Largest |a − b| / max(|a|, 1e-6) over two equally long series.
fn max_rel(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs() / f64::from(x.abs()).max(1e-6))
        .fold(0.0, f64::max)
}

/// Largest |a − b| over every final parameter.
fn max_param_diff(a: &RunRecord, b: &RunRecord) -> f64 {
    a.final_params
        .iter()
        .zip(&b.final_params)
        .flat_map(|(x, y)| {
            assert_eq!(x.name, y.name);
            x.values
                .iter()
                .zip(&y.values)
                .map(|(p, q)| f64::from((p - q).abs()))
        })
        .fold(0.0, f64::max)
}

#[test]
fn tch_is_compiled_in() {
    assert!(BackendKind::available().contains(&BackendKind::Tch));
    assert!(BackendKind::Tch.describe().contains("libtorch 2.9.0"));
}

#[test]
fn fixture_mlp_trains_the_same_on_ndarray_and_tch() {
    let data = common::data();
    for weight in [
        "xavier-normal",
        "kaiming-normal(distribution=truncated-normal)",
    ] {
        let nd = train(&fixture(weight, 1, BackendKind::Ndarray), &data);
        let tch = train(&fixture(weight, 1, BackendKind::Tch), &data);
        let seed2 = train(&fixture(weight, 2, BackendKind::Ndarray), &data);
        assert_eq!(nd.init_sha256, tch.init_sha256, "{weight}");
        assert_eq!(tch.status, RunStatus::Complete);
        let backend = max_rel(&nd.step_loss, &tch.step_loss);
        let seeds = max_rel(&nd.step_loss, &seed2.step_loss);
        eprintln!(
            "fixture {weight}: step loss max rel diff ndarray–tch {backend:.3e}, two seeds {seeds:.3e}; \
             final params max |diff| {:.3e}",
            max_param_diff(&nd, &tch)
        );
        assert!(backend <= STEP_LOSS_REL, "{weight}: {backend:e}");
        assert!(
            backend <= FRACTION_OF_SEED_SPREAD * seeds,
            "{weight}: backend {backend:e} vs seeds {seeds:e}"
        );
    }
}

#[test]
fn tch_gives_the_same_outputs_twice() {
    let data = common::data();
    let spec = fixture("kaiming-normal", 7, BackendKind::Tch);
    let a = train(&spec, &data);
    let b = train(&spec, &data);
    assert_eq!(a.outputs_sha256, b.outputs_sha256);
    assert_eq!(a.outputs_sha256, a.compute_outputs_sha256());
}

/// MNIST from the cache `cargo xtask test` filled (`INITLAB_CACHE`); without
/// that variable, from the default cache when present.
fn mnist() -> Option<Mnist> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let manifest = Manifest::load(&root.join("datasets/manifest.toml")).expect("manifest");
    let required = std::env::var_os("INITLAB_CACHE");
    let dir = required
        .clone()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("datasets/cache"));
    match Mnist::load(&manifest, &Cache::new(dir.clone(), None).offline()) {
        Ok(m) => Some(m),
        Err(e) if required.is_some() => panic!("MNIST in {}: {e}", dir.display()),
        Err(e) => {
            eprintln!(
                "no MNIST in {} ({e}): smoke equivalence skipped",
                dir.display()
            );
            None
        }
    }
}

#[test]
fn every_study_smoke_profile_matches_ndarray() {
    let Some(mnist) = mnist() else { return };
    let experiments = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let names = Study::names(&experiments);
    assert!(!names.is_empty());
    for name in names {
        let study = Study::find(&experiments, &name).expect("study");
        let DataConfig::Mnist {
            validation_fraction,
        } = study.data;
        let data = ClassificationData::mnist(&mnist, validation_fraction, study.info.master_seed);
        let nd_runs = study
            .runs(Profile::Smoke, BackendKind::Ndarray)
            .expect("runs");
        let tch_runs = study.runs(Profile::Smoke, BackendKind::Tch).expect("runs");
        for (nd_spec, tch_spec) in nd_runs.iter().zip(&tch_runs) {
            assert_eq!(nd_spec.seed, tch_spec.seed);
            let nd = train(nd_spec, &data);
            let tch = train(tch_spec, &data);
            let what = format!("{name} {}", nd_spec.label);
            assert_eq!(nd.init_sha256, tch.init_sha256, "{what}");
            assert_eq!(nd.status, tch.status, "{what}");
            if nd.status == RunStatus::Diverged {
                continue;
            }
            let seed2 = train(&other_seed(nd_spec, study.info.master_seed), &data);
            let loss = (nd.test_loss - tch.test_loss).abs() / nd.test_loss;
            let acc = (nd.test_accuracy - tch.test_accuracy).abs();
            let seed_loss = (nd.test_loss - seed2.test_loss).abs() / nd.test_loss;
            let seed_acc = (nd.test_accuracy - seed2.test_accuracy).abs();
            let steps = max_rel(&nd.step_loss, &tch.step_loss);
            eprintln!(
                "{what}: test loss {:.5} / {:.5} (rel diff {loss:.2e}; two seeds {seed_loss:.2e}), \
                 accuracy {:.4} / {:.4} (diff {acc:.4}; two seeds {seed_acc:.4}), \
                 step loss max rel diff {:.2e}; {:.1} s ndarray, {:.1} s tch",
                nd.test_loss,
                tch.test_loss,
                nd.test_accuracy,
                tch.test_accuracy,
                steps,
                nd.wall_seconds,
                tch.wall_seconds,
            );
            assert!(
                loss <= SMOKE_LOSS_REL,
                "{what}: test loss rel diff {loss:e}"
            );
            assert!(
                loss <= FRACTION_OF_SEED_SPREAD * seed_loss,
                "{what}: test loss rel diff {loss:e}, two seeds {seed_loss:e}"
            );
            assert!(acc <= SMOKE_ACC_ABS + 1e-9, "{what}: accuracy diff {acc}");
            assert!(
                steps <= STEP_LOSS_REL,
                "{what}: step loss rel diff {steps:e}"
            );
        }
    }
}

#[test]
fn a_smoke_run_on_tch_repeats_bit_for_bit() {
    let Some(mnist) = mnist() else { return };
    let experiments = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let study = Study::find(&experiments, "mlp-keras").expect("study");
    let DataConfig::Mnist {
        validation_fraction,
    } = study.data;
    let data = ClassificationData::mnist(&mnist, validation_fraction, study.info.master_seed);
    let runs = study.runs(Profile::Smoke, BackendKind::Tch).expect("runs");
    let spec = runs
        .iter()
        .find(|r| r.label == "he-normal")
        .expect("he-normal");
    let a = train(spec, &data);
    let b = train(spec, &data);
    assert_eq!(a.outputs_sha256, b.outputs_sha256);
}
