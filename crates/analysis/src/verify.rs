//! Checking a run file against its own hashes before it is trusted.
//!
//! Every run file carries three sha256s computed when the run finished: of its
//! canonical config, of its initial parameters and of its outputs. Recomputing
//! them from what the file holds shows that the file is whole and unedited,
//! which is what `cargo xtask merge` needs before it takes runs from shard
//! directories that other machines wrote.

use std::path::{Path, PathBuf};

use hdf5_pure::File;
use initlab_train::RunRecord;
use sha2::{Digest, Sha256};

use crate::run_file::{hdf5_err, read_run};
use crate::{Error, Result};

/// A run file that matched its hashes, by what identifies its contents. It
/// keeps no tensors, so a whole grid's worth can be held before merging.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRun {
    /// The file that was checked.
    pub path: PathBuf,
    /// Its run id (the file's name, and the group it holds).
    pub run_id: String,
    /// sha256 of the canonical config, as stored and recomputed.
    pub config_sha256: String,
    /// sha256 of the initial parameters, as stored and recomputed.
    pub init_sha256: String,
    /// sha256 of the outputs, as stored and recomputed.
    pub outputs_sha256: String,
    /// sha256 of the file's bytes when checked, so that [`ResultsStore::import`]
    /// copies exactly what was verified.
    pub file_sha256: String,
}

impl VerifiedRun {
    /// True when `other` is the same run with the same results: the same id,
    /// config, initial parameters and outputs (wall time and date may differ).
    pub fn same_run(&self, other: &VerifiedRun) -> bool {
        (
            &self.run_id,
            &self.config_sha256,
            &self.init_sha256,
            &self.outputs_sha256,
        ) == (
            &other.run_id,
            &other.config_sha256,
            &other.init_sha256,
            &other.outputs_sha256,
        )
    }
}

/// Checks `record`, read from `path`, against its three hashes: `config_sha256`
/// against its `config_json`, `init_sha256` against its initial parameters in
/// model order, `outputs_sha256` against its final parameters and metrics.
///
/// The error names the file and the first hash that does not match.
pub fn verify_record(record: &RunRecord, path: &Path) -> Result<()> {
    let [config, init, outputs] = record_hashes(record);
    let checks = [
        (
            "config_sha256",
            "config_json",
            &record.config_sha256,
            config,
        ),
        ("init_sha256", "initial_params", &record.init_sha256, init),
        (
            "outputs_sha256",
            "final_params and metric series",
            &record.outputs_sha256,
            outputs,
        ),
    ];
    for (hash, of, stored, computed) in checks {
        if *stored != computed {
            return Err(Error::HashMismatch {
                path: path.to_path_buf(),
                hash,
                of,
                stored: stored.clone(),
                computed,
            });
        }
    }
    Ok(())
}

/// The config, init and output hashes of what `record` holds, computed as a
/// finished run computes them (what [`verify_record`] compares).
pub fn record_hashes(record: &RunRecord) -> [String; 3] {
    let config = hex(&Sha256::digest(record.config_json.as_bytes()));
    let init = initlab_models::params_sha256(
        record
            .initial_params
            .iter()
            .map(|t| (t.name.as_str(), t.shape.as_slice(), t.values.as_slice())),
    );
    [config, init, record.compute_outputs_sha256()]
}

/// Reads the run file at `path` (`<dir>/runs/<run id>.h5`) and checks it with
/// [`verify_record`].
pub fn verify_run_file(path: &Path) -> Result<VerifiedRun> {
    let (record, file_sha256) = read_verified(path)?;
    Ok(VerifiedRun {
        path: path.to_path_buf(),
        run_id: record.run_id,
        config_sha256: record.config_sha256,
        init_sha256: record.init_sha256,
        outputs_sha256: record.outputs_sha256,
        file_sha256,
    })
}

/// The one path by which a run file is read: its bytes, the run they hold
/// (every part readable), its three hashes recomputed and compared, and the
/// sha256 of the bytes themselves.
pub(crate) fn read_verified(path: &Path) -> Result<(RunRecord, String)> {
    let run_id = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".h5"))
        .ok_or_else(|| Error::Hdf5 {
            path: path.to_path_buf(),
            message: "not a run file: its name should be <run id>.h5".into(),
        })?;
    let bytes = std::fs::read(path).map_err(|error| Error::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let file_sha256 = hex(&Sha256::digest(&bytes));
    let file = File::from_bytes(bytes).map_err(|e| hdf5_err(path, e))?;
    let record = read_run(&file, path, run_id)?;
    verify_record(&record, path)?;
    Ok((record, file_sha256))
}

pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use initlab_train::{ActivationStats, NamedTensor, RunStatus};

    use crate::ResultsStore;

    use super::*;

    /// A value no other tensor or series holds, so a test can find its bytes.
    const MARKER: f32 = 1234.5677;

    fn tensor(name: &str, shape: &[usize], first: f32) -> NamedTensor {
        let n = shape.iter().product::<usize>();
        NamedTensor {
            name: name.into(),
            shape: shape.to_vec(),
            values: (0..n).map(|i| first + i as f32 * 0.25).collect(),
        }
    }

    /// An MLP's parameters in the model's order, where `bias` follows `weight`:
    /// the order the store's name sort would not give back.
    fn params(first: f32) -> Vec<NamedTensor> {
        vec![
            tensor("layers.0.weight", &[3, 4], first),
            tensor("layers.0.bias", &[3], 0.5),
            tensor("layers.1.weight", &[2, 3], -1.0),
            tensor("layers.1.bias", &[2], 2.0),
        ]
    }

    /// A record whose three hashes are right.
    fn record() -> RunRecord {
        let mut r = RunRecord {
            run_id: "0123456789abcdef".into(),
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
            grid: vec![("part".into(), "depth".into())],
            metrics: vec![("best_val_epoch".into(), 1.0)],
            finished_at: "2026-11-24T06:34:14Z".into(),
            wall_seconds: 0.5,
            step_loss: vec![2.0, 1.5],
            train_loss: vec![1.75],
            train_accuracy: vec![0.25],
            val_loss: vec![1.5],
            val_accuracy: vec![0.5],
            grad_norms: vec![
                ("layers.0".into(), vec![0.5]),
                ("layers.1".into(), vec![0.25]),
            ],
            activations: vec![ActivationStats {
                layer: "layers.0".into(),
                range: [0.0, 1.0],
                histogram: [vec![0.5, 0.5], vec![1.0, 0.0]],
                dead_fraction: [0.0, 0.0],
                flat_fraction: [0.0, 0.0],
                std: [0.5, 0.25],
            }],
            curves: vec![("test_loss".into(), vec![1.0])],
            bptt: vec![initlab_train::NamedTensor {
                name: "grad_h_norm".into(),
                shape: vec![1, 2],
                values: vec![0.5, 0.25],
            }],
            lsuv: Vec::new(),
            initial_params: params(MARKER),
            final_params: params(0.125),
        };
        r.config_sha256 = hex(&Sha256::digest(r.config_json.as_bytes()));
        r.init_sha256 = initlab_models::params_sha256(
            r.initial_params
                .iter()
                .map(|t| (t.name.as_str(), t.shape.as_slice(), t.values.as_slice())),
        );
        r.outputs_sha256 = r.compute_outputs_sha256();
        r
    }

    #[test]
    fn save_then_load_keeps_model_order_and_every_hash_verifies() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ResultsStore::open(dir.path()).expect("store");
        let rec = record();
        store.save(&rec).expect("save");
        let back = store.load(&rec.run_id).expect("verifies");
        let names = |ts: &[NamedTensor]| ts.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&back.initial_params), names(&rec.initial_params));
        assert_eq!(names(&back.final_params), names(&rec.final_params));
        assert_eq!(back, rec);
        let verified = verify_run_file(&store.run_path(&rec.run_id)).expect("verifies");
        assert_eq!(verified.outputs_sha256, rec.outputs_sha256);
        // results.h5 keeps the order too.
        store.rebuild().expect("rebuild");
        assert_eq!(store.read_results().expect("read"), vec![rec]);
    }

    #[test]
    fn a_changed_value_fails_naming_the_file_and_the_hash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ResultsStore::open(dir.path()).expect("store");
        let rec = record();
        store.save(&rec).expect("save");
        let path = store.run_path(&rec.run_id);
        let mut bytes = std::fs::read(&path).expect("read");
        let marker = MARKER.to_le_bytes();
        let at: Vec<usize> = (0..bytes.len() - 4)
            .filter(|&i| bytes[i..i + 4] == marker)
            .collect();
        assert_eq!(at.len(), 1, "the marker is stored once");
        bytes[at[0]..at[0] + 4].copy_from_slice(&(MARKER + 1.0).to_le_bytes());
        std::fs::write(&path, bytes).expect("write");
        let err = verify_run_file(&path).expect_err("tampered").to_string();
        assert!(
            err.contains(&path.display().to_string()) && err.contains("init_sha256"),
            "{err}"
        );
        let err = store.load(&rec.run_id).expect_err("tampered");
        assert!(
            matches!(
                err,
                Error::HashMismatch {
                    hash: "init_sha256",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn an_edited_config_or_output_fails_naming_its_hash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ResultsStore::open(dir.path()).expect("store");
        let mut rec = record();
        rec.config_json = r#"{"study":"other"}"#.into();
        store.save(&rec).expect("save");
        let err = verify_run_file(&store.run_path(&rec.run_id)).expect_err("edited");
        assert!(
            matches!(
                err,
                Error::HashMismatch {
                    hash: "config_sha256",
                    ..
                }
            ),
            "{err}"
        );

        let mut rec = record();
        rec.test_accuracy = 0.75;
        store.save(&rec).expect("save");
        let err = verify_run_file(&store.run_path(&rec.run_id)).expect_err("edited");
        assert!(
            matches!(
                err,
                Error::HashMismatch {
                    hash: "outputs_sha256",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("0123456789abcdef.h5"), "{err}");
    }

    #[test]
    fn import_copies_the_verified_file_and_refuses_one_changed_since() {
        let (a, b) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let (from, to) = (
            ResultsStore::open(a.path()).expect("store"),
            ResultsStore::open(b.path()).expect("store"),
        );
        let rec = record();
        from.save(&rec).expect("save");
        let verified = verify_run_file(&from.run_path(&rec.run_id)).expect("verifies");
        to.import(&verified).expect("import");
        assert_eq!(
            std::fs::read(to.run_path(&rec.run_id)).expect("read"),
            std::fs::read(from.run_path(&rec.run_id)).expect("read")
        );
        let mut changed = rec.clone();
        changed.wall_seconds = 9.0;
        from.save(&changed).expect("save");
        let err = to.import(&verified).expect_err("changed since");
        assert!(
            err.to_string().contains("changed since it was verified"),
            "{err}"
        );
    }
}
