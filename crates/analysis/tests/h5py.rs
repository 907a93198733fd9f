//! results.h5 is for other tools too: Python's h5py must read a run's config,
//! metrics and hashes under the documented names. The test makes a virtualenv
//! under target/ once (PyPI is reachable from CI) and reuses it.

use std::path::{Path, PathBuf};
use std::process::Command;

use initlab_analysis::ResultsStore;
use initlab_init::LsuvLayer;
use initlab_models::LsuvRecord;
use initlab_train::{ActivationStats, NamedTensor, RunRecord, RunStatus};

mod common;
use common::with_hashes;

fn record(id: &str, status: RunStatus) -> RunRecord {
    RunRecord {
        run_id: id.into(),
        study: "mlp-keras".into(),
        label: "he-normal".into(),
        initializer:
            "kaiming-normal(a=0,distribution=truncated-normal,mode=fan-in,nonlinearity=leaky-relu)"
                .into(),
        status,
        seed: u64::MAX - 3,
        replicate: 1,
        config_json: r#"{"study":"mlp-keras"}"#.into(),
        config_sha256: "c".repeat(64),
        init_sha256: "a".repeat(64),
        outputs_sha256: "b".repeat(64),
        backend: "ndarray (burn 0.21.0, f32, cpu)".into(),
        test_accuracy: 0.9759,
        test_loss: 0.08,
        published: Some(0.9759),
        published_metrics: vec![("plateau_escape_epoch".into(), 55.0)],
        grid: vec![
            ("part".into(), "depth".into()),
            ("activation".into(), "relu".into()),
        ],
        metrics: vec![
            ("plateau_escape_epoch".into(), 12.0),
            ("best_val_epoch".into(), 3.0),
        ],
        finished_at: "2026-11-24T06:34:14Z".into(),
        wall_seconds: 1.5,
        step_loss: vec![2.3, 1.1, 0.5],
        train_loss: vec![1.0],
        train_accuracy: vec![0.7],
        val_loss: vec![0.4],
        val_accuracy: vec![0.9],
        grad_norms: vec![
            ("layers.0".into(), vec![0.5]),
            ("layers.1".into(), vec![0.25]),
        ],
        activations: vec![ActivationStats {
            layer: "layers.0".into(),
            range: [0.0, 2.0],
            histogram: [vec![0.5, 0.5, 0.0], vec![0.25, 0.25, 0.5]],
            dead_fraction: [0.0, 0.125],
            flat_fraction: [0.5, 0.6],
            std: [0.7, 1.25],
        }],
        curves: vec![("test_loss".into(), vec![0.3, 0.2])],
        bptt: vec![
            NamedTensor {
                name: "grad_h_norm".into(),
                shape: vec![2, 3],
                values: vec![1.0, 0.5, 0.25, 2.0, 1.0, 0.5],
            },
            NamedTensor {
                name: "layer0/grad_h_norm".into(),
                shape: vec![2, 3],
                values: vec![0.1; 6],
            },
        ],
        lsuv: [
            ("rnn.l0", 2, 1.6875, 1.0256, true),
            ("head", 10, 3.5, 1.3, false),
        ]
        .map(|(layer, iterations, before, after, converged)| LsuvRecord {
            layer: layer.into(),
            outcome: LsuvLayer {
                iterations,
                variance_before: before,
                variance: after,
                scale: 0.8176,
                converged,
            },
        })
        .to_vec(),
        initial_params: vec![NamedTensor {
            name: "layers.0.weight".into(),
            shape: vec![2, 3],
            values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }],
        final_params: vec![NamedTensor {
            name: "layers.0.weight".into(),
            shape: vec![2, 3],
            values: vec![0.5; 6],
        }],
    }
}

/// A new store in a temporary folder holding one complete run, `id`, with
/// hashes that verify.
fn store_holding(id: &str) -> (tempfile::TempDir, ResultsStore, RunRecord) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ResultsStore::open(dir.path()).expect("store");
    let rec = with_hashes(record(id, RunStatus::Complete));
    store.save(&rec).expect("save");
    (dir, store, rec)
}

fn venv_python() -> PathBuf {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/h5py-venv");
    let python = target.join("bin/python");
    let ready = python.exists()
        && Command::new(&python)
            .args(["-c", "import h5py"])
            .status()
            .is_ok_and(|s| s.success());
    if !ready {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&target)
            .status()
            .expect("python3 -m venv");
        assert!(made.success(), "python3 -m venv failed");
        let installed = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "h5py"])
            .status()
            .expect("pip install h5py");
        assert!(installed.success(), "pip install h5py failed");
    }
    python
}

#[test]
fn h5py_reads_runs_config_metrics_and_hashes() {
    let (_dir, store, sealed) = store_holding("00aa11bb22cc33dd");
    store
        .save(&with_hashes(record("ffee", RunStatus::Diverged)))
        .expect("save");
    assert_eq!(store.rebuild().expect("rebuild"), 2);
    let script = r#"
import json, sys, h5py
f = h5py.File(sys.argv[1], "r")
run = f["runs/00aa11bb22cc33dd"]
a = run.attrs
assert a["study"] == "mlp-keras", a["study"]
assert a["status"] == "complete"
assert a["seed"] == 2**64 - 4
assert abs(a["test_accuracy"] - 0.9759) < 1e-12
assert a["init_sha256"] == sys.argv[2] and a["outputs_sha256"] == sys.argv[3]
assert json.loads(a["config_json"]) == {"study": "mlp-keras"}
assert a["finished_at"] == "2026-11-24T06:34:14Z"
assert [float(x) for x in run["step_loss"][:]] == [float.fromhex("0x1.266666p+1"), float.fromhex("0x1.19999ap+0"), 0.5], run["step_loss"][:]
assert run["final_params/layers.0.weight"].shape == (2, 3)
assert json.loads(run["initial_params"].attrs["param_names"]) == ["layers.0.weight"]
assert list(run["grad_norms"].keys()) == ["layers.0", "layers.1"]
assert run["activations/layers.0/histogram"].shape == (2, 3)
assert list(run["activations/layers.0/dead_fraction"][:]) == [0.0, 0.125]
assert a["plateau_escape_epoch"] == 12.0 and a["best_val_epoch"] == 3.0
assert a["published_plateau_escape_epoch"] == 55.0
assert list(json.loads(a["grid_point"]).items()) == [("part", "depth"), ("activation", "relu")]
assert run["bptt/grad_h_norm"].shape == (2, 3) and run["bptt/layer0/grad_h_norm"].shape == (2, 3)
assert list(run["curves/test_loss"][:]) == [float.fromhex("0x1.333334p-2"), float.fromhex("0x1.99999ap-3")]
assert list(run["activations/layers.0/std"][:]) == [float.fromhex("0x1.666666p-1"), 1.25]
assert json.loads(run["lsuv"].attrs["order"]) == ["rnn.l0", "head"]
l = run["lsuv/rnn.l0"].attrs
assert l["iterations"] == 2 and l["converged"] == 1 and l["variance_before"] == 1.6875
assert l["variance_after"] == 1.0256 and l["scale"] == 0.8176
assert run["lsuv/head"].attrs["converged"] == 0
assert f["runs/ffee"].attrs["status"] == "diverged"
print("ok", len(f["runs"]))
"#;
    let out = Command::new(venv_python())
        .arg("-c")
        .arg(script)
        .arg(store.results_path())
        .arg(&sealed.init_sha256)
        .arg(&sealed.outputs_sha256)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok 2");
}

#[test]
fn store_round_trips_and_rebuild_is_whole() {
    let (dir, store, rec) = store_holding("0123456789abcdef");
    assert_eq!(store.load(&rec.run_id).expect("load"), rec);
    // A crash mid-write leaves only a temporary file, which is never a run.
    std::fs::write(dir.path().join("runs/.deadbeef.h5.tmp42"), b"half").expect("write");
    assert_eq!(store.run_ids().expect("ids"), vec![rec.run_id.clone()]);
    store.rebuild().expect("rebuild");
    assert_eq!(store.read_results().expect("read"), vec![rec]);
}
