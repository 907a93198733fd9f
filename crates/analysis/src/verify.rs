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
