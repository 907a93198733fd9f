//! The results store: one HDF5 file per finished run, and `results.h5` rebuilt
//! from them.
//!
//! A run file is written to a temporary name, synced and renamed into
//! `<out>/runs/<run id>.h5`, so it either exists whole or not at all: a crash or
//! `kill -9` at any moment loses only the runs in flight. `results.h5` is
//! rebuilt from the run files the same way, so it is always a readable file.
//! The layout is documented in ARCHITECTURE.md; other tools (h5py) rely on it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use hdf5_pure::{AttrValue, File, FileBuilder, GroupBuilder};
use initlab_train::{NamedTensor, RunRecord, RunSink};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::run_file::{hdf5_err, read_run, PARAM_NAMES};
use crate::verify::{hex, read_verified, verify_record, VerifiedRun};
use crate::{Error, Result};

/// The metric series every run stores, as datasets of its group.
const SERIES: [&str; 5] = [
    "step_loss",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
];

/// The only code that opens `results.h5` and the run files.
#[derive(Clone, Debug)]
pub struct ResultsStore {
    out: PathBuf,
}

impl ResultsStore {
    /// A store in `out` (`results/` by default); creates `out/runs/`.
    pub fn open(out: &Path) -> Result<Self> {
        let runs = out.join("runs");
        std::fs::create_dir_all(&runs).map_err(|error| Error::Io { path: runs, error })?;
        Ok(ResultsStore {
            out: out.to_path_buf(),
        })
    }

    /// `<out>/results.h5`.
    pub fn results_path(&self) -> PathBuf {
        self.out.join("results.h5")
    }

    /// `<out>/runs/<id>.h5`.
    pub fn run_path(&self, run_id: &str) -> PathBuf {
        self.out.join("runs").join(format!("{run_id}.h5"))
    }

    /// Writes one run's file atomically.
    pub fn save(&self, record: &RunRecord) -> Result<()> {
        let mut builder = FileBuilder::new();
        builder.set_attr("format", AttrValue::VarLenString("initlab-run/1".into()));
        let mut runs = builder.create_group("runs");
        add_run(&mut runs, record);
        builder.add_group(runs.finish());
        let path = self.run_path(&record.run_id);
        let bytes = builder.finish().map_err(|e| Error::Hdf5 {
            path: path.clone(),
            message: e.to_string(),
        })?;
        write_atomic(&path, &bytes)
    }

    /// Reads one run back, checked against its three hashes: the only way a
    /// run file is read, so no damaged or edited run reaches a table, a report
    /// or `results.h5`. The error names the file and what failed.
    pub fn load(&self, run_id: &str) -> Result<RunRecord> {
        read_verified(&self.run_path(run_id)).map(|(record, _)| record)
    }

    /// Checks every run file; each that fails is renamed to
    /// `runs/<id>.h5.damaged` (never deleted, so it can still be looked at),
    /// which leaves the run to be trained again. Returns what was set aside.
    pub fn set_aside_damaged(&self) -> Result<Vec<Damaged>> {
        let mut damaged = Vec::new();
        for id in self.run_ids()? {
            let path = self.run_path(&id);
            match read_verified(&path) {
                Ok(_) => {}
                // Not damage: the file could not be read at all (permissions).
                Err(error @ Error::Io { .. }) => return Err(error),
                Err(error) => {
                    let moved_to = aside_path(&path);
                    std::fs::rename(&path, &moved_to).map_err(|error| Error::Io {
                        path: path.clone(),
                        error,
                    })?;
                    damaged.push(Damaged {
                        run_id: id,
                        error,
                        moved_to,
                    });
                }
            }
        }
        Ok(damaged)
    }

    /// Removes the temporaries (`runs/.<id>.h5.tmp<pid>`) of writes whose
    /// process is gone (killed mid-write); returns how many. Only where
    /// `/proc` lists processes, so the file of a live writer is never touched.
    pub fn remove_stale_temporaries(&self) -> Result<usize> {
        if !Path::new("/proc/self").exists() {
            return Ok(0);
        }
        let dir = self.out.join("runs");
        let entries = std::fs::read_dir(&dir).map_err(|error| Error::Io {
            path: dir.clone(),
            error,
        })?;
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix('.')
                .and_then(|n| n.split_once(".h5.tmp"))
                .and_then(|(_, pid)| pid.parse::<u32>().ok());
            let Some(pid) = pid else { continue };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                std::fs::remove_file(entry.path()).map_err(|error| Error::Io {
                    path: entry.path(),
                    error,
                })?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Checks every run file and fails on the first that does not verify.
    pub fn verify_all(&self) -> Result<usize> {
        let ids = self.run_ids()?;
        // Every file on every core; the first damaged one in id order is named.
        let checked: Vec<Result<()>> = ids
            .par_iter()
            .map(|id| read_verified(&self.run_path(id)).map(drop))
            .collect();
        checked.into_iter().collect::<Result<()>>()?;
        Ok(ids.len())
    }

    /// Ids of every stored run, sorted.
    pub fn run_ids(&self) -> Result<Vec<String>> {
        let dir = self.out.join("runs");
        let entries = std::fs::read_dir(&dir).map_err(|error| Error::Io {
            path: dir.clone(),
            error,
        })?;
        let mut ids: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(".h5").map(str::to_string)
            })
            .filter(|id| !id.starts_with('.'))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Every stored run, sorted by id.
    pub fn records(&self) -> Result<Vec<RunRecord>> {
        self.run_ids()?.iter().map(|id| self.load(id)).collect()
    }

    /// Rewrites `results.h5` from every run file, atomically. Returns the run count.
    pub fn rebuild(&self) -> Result<usize> {
        let records = self.records()?;
        let mut builder = FileBuilder::new();
        builder.set_attr(
            "format",
            AttrValue::VarLenString("initlab-results/1".into()),
        );
        let mut runs = builder.create_group("runs");
        for record in &records {
            add_run(&mut runs, record);
        }
        builder.add_group(runs.finish());
        let path = self.results_path();
        let bytes = builder.finish().map_err(|e| Error::Hdf5 {
            path: path.clone(),
            message: e.to_string(),
        })?;
        write_atomic(&path, &bytes)?;
        Ok(records.len())
    }

    /// Reads every run of `results.h5` (not the run files), each checked
    /// against its hashes like a run file.
    pub fn read_results(&self) -> Result<Vec<RunRecord>> {
        let path = self.results_path();
        let file = File::open(&path).map_err(|e| hdf5_err(&path, e))?;
        let runs = file.group("runs").map_err(|e| hdf5_err(&path, e))?;
        let mut ids = runs.groups().map_err(|e| hdf5_err(&path, e))?;
        ids.sort();
        ids.iter()
            .map(|id| {
                let record = read_run(&file, &path, id)?;
                verify_record(&record, &path)?;
                Ok(record)
            })
            .collect()
    }

    /// Copies a verified run file into this store as `runs/<run id>.h5`,
    /// atomically. Fails, writing nothing, if the file changed since it was
    /// verified.
    pub fn import(&self, run: &VerifiedRun) -> Result<()> {
        let bytes = std::fs::read(&run.path).map_err(|error| Error::Io {
            path: run.path.clone(),
            error,
        })?;
        if hex(&Sha256::digest(&bytes)) != run.file_sha256 {
            return Err(Error::Hdf5 {
                path: run.path.clone(),
                message: "changed since it was verified; merge again".into(),
            });
        }
        write_atomic(&self.run_path(&run.run_id), &bytes)
    }
}

/// A run file that failed its check and was renamed out of the way.
#[derive(Debug)]
pub struct Damaged {
    /// The run's id: `runs/<id>.h5` is free for it to be trained again.
    pub run_id: String,
    /// Why it failed (the error names the file as it was).
    pub error: Error,
    /// Where the file is now.
    pub moved_to: PathBuf,
}

/// `<file>.damaged`, or `<file>.damaged.N` for the first N free, so that an
/// earlier damaged copy is never overwritten.
fn aside_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".damaged");
    let first = PathBuf::from(&name);
    (1..)
        .map(|n| {
            if n == 1 {
                first.clone()
            } else {
                let mut numbered = name.clone();
                numbered.push(format!(".{}", n - 1));
                PathBuf::from(numbered)
            }
        })
        .find(|p| !p.exists())
        .unwrap_or(first)
}

impl RunSink for ResultsStore {
    fn contains(&self, run_id: &str) -> bool {
        self.run_path(run_id).is_file()
    }

    fn save(&self, record: &RunRecord) -> std::result::Result<(), String> {
        ResultsStore::save(self, record).map_err(|e| e.to_string())
    }
}

/// Adds `r` as the group `<runs>/<run id>`.
fn add_run(runs: &mut GroupBuilder, r: &RunRecord) {
    let mut run = runs.create_group(&r.run_id);
    let strings = [
        ("study", &r.study),
        ("label", &r.label),
        ("initializer", &r.initializer),
        ("config_json", &r.config_json),
        ("config_sha256", &r.config_sha256),
        ("init_sha256", &r.init_sha256),
        ("outputs_sha256", &r.outputs_sha256),
        ("backend", &r.backend),
        ("finished_at", &r.finished_at),
    ];
    for (name, value) in strings {
        // Variable-length UTF-8, which h5py reads as `str` rather than bytes.
        run.set_attr(name, AttrValue::VarLenString(value.clone()));
    }
    run.set_attr(
        "grid_point",
        AttrValue::VarLenString(pairs_json(
            r.grid.iter().map(|(a, v)| (a.as_str(), v.as_str())),
        )),
    );
    // Each metric is an attribute of its own (what h5py users read); the
    // list of their names lets the reader find them again.
    for (prefix, list, values) in [
        ("", "metrics", &r.metrics),
        ("published_", "published_metrics", &r.published_metrics),
    ] {
        for (name, value) in values {
            run.set_attr(&format!("{prefix}{name}"), AttrValue::F64(*value));
        }
        let names: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
        run.set_attr(list, AttrValue::VarLenString(list_json(&names)));
    }
    run.set_attr("status", AttrValue::VarLenString(r.status.as_str().into()));
    run.set_attr("seed", AttrValue::U64(r.seed));
    run.set_attr("replicate", AttrValue::U32(r.replicate));
    run.set_attr("test_accuracy", AttrValue::F64(r.test_accuracy));
    run.set_attr("test_loss", AttrValue::F64(r.test_loss));
    run.set_attr("wall_seconds", AttrValue::F64(r.wall_seconds));
    if let Some(p) = r.published {
        run.set_attr("published_test_accuracy", AttrValue::F64(p));
    }
    let series: [&[f32]; 5] = [
        &r.step_loss,
        &r.train_loss,
        &r.train_accuracy,
        &r.val_loss,
        &r.val_accuracy,
    ];
    for (name, values) in SERIES.iter().zip(series) {
        // A regression run has no accuracy: the dataset is left out.
        if values.is_empty() && name.ends_with("accuracy") {
            continue;
        }
        add_series(&mut run, name, values);
    }
    if !r.curves.is_empty() {
        let mut curves = run.create_group("curves");
        for (name, values) in &r.curves {
            add_series(&mut curves, name, values);
        }
        run.add_group(curves.finish());
    }
    if !r.bptt.is_empty() {
        add_tensors(&mut run, "bptt", &r.bptt);
    }
    let mut norms = run.create_group("grad_norms");
    let layers: Vec<&str> = r.grad_norms.iter().map(|(l, _)| l.as_str()).collect();
    norms.set_attr("order", AttrValue::VarLenString(list_json(&layers)));
    for (layer, values) in &r.grad_norms {
        add_series(&mut norms, layer, values);
    }
    run.add_group(norms.finish());
    let mut activations = run.create_group("activations");
    for a in &r.activations {
        let mut layer = activations.create_group(&a.layer);
        let hist: Vec<f32> = a.histogram.iter().flatten().copied().collect();
        layer
            .create_dataset("histogram")
            .with_f32_data(&hist)
            .with_shape(&[2, a.histogram[0].len() as u64]);
        let pairs: [(&str, &[f32]); 4] = [
            ("range", &a.range),
            ("dead_fraction", &a.dead_fraction),
            ("flat_fraction", &a.flat_fraction),
            ("std", &a.std),
        ];
        for (name, values) in pairs {
            layer
                .create_dataset(name)
                .with_f32_data(values)
                .with_shape(&[2]);
        }
        activations.add_group(layer.finish());
    }
    run.add_group(activations.finish());
    // Only a run whose plan names `lsuv` has the group, so the files of
    // every other run are what they were before LSUV was implemented.
    if !r.lsuv.is_empty() {
        let mut lsuv = run.create_group("lsuv");
        let layers: Vec<&str> = r.lsuv.iter().map(|l| l.layer.as_str()).collect();
        lsuv.set_attr("order", AttrValue::VarLenString(list_json(&layers)));
        for l in &r.lsuv {
            let mut layer = lsuv.create_group(&l.layer);
            let o = &l.outcome;
            layer.set_attr("iterations", AttrValue::U32(o.iterations));
            layer.set_attr("variance_before", AttrValue::F64(o.variance_before));
            layer.set_attr("variance_after", AttrValue::F64(o.variance));
            layer.set_attr("scale", AttrValue::F64(o.scale));
            layer.set_attr("converged", AttrValue::U32(u32::from(o.converged)));
            lsuv.add_group(layer.finish());
        }
        run.add_group(lsuv.finish());
    }
    for (group, tensors) in [
        ("initial_params", &r.initial_params),
        ("final_params", &r.final_params),
    ] {
        let mut g = run.create_group(group);
        let names = tensors
            .iter()
            .map(|t| serde_json::Value::String(t.name.clone()))
            .collect();
        g.set_attr(
            PARAM_NAMES,
            AttrValue::VarLenString(serde_json::Value::Array(names).to_string()),
        );
        for t in tensors {
            let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
            g.create_dataset(&t.name)
                .with_f32_data(&t.values)
                .with_shape(&shape);
        }
        run.add_group(g.finish());
    }
    runs.add_group(run.finish());
}

/// Tensors named `a/b/name` as datasets in nested groups under `group`.
/// A one-dimensional f32 dataset: an epoch or step series.
fn add_series(group: &mut GroupBuilder, name: &str, values: &[f32]) {
    group
        .create_dataset(name)
        .with_f32_data(values)
        .with_shape(&[values.len() as u64]);
}

fn add_tensors(parent: &mut GroupBuilder, group: &str, tensors: &[NamedTensor]) {
    let mut g = parent.create_group(group);
    let mut subgroups: Vec<(String, Vec<NamedTensor>)> = Vec::new();
    for t in tensors {
        match t.name.split_once('/') {
            Some((sub, rest)) => {
                let inner = NamedTensor {
                    name: rest.to_string(),
                    ..t.clone()
                };
                match subgroups.iter_mut().find(|(n, _)| n == sub) {
                    Some((_, list)) => list.push(inner),
                    None => subgroups.push((sub.to_string(), vec![inner])),
                }
            }
            None => {
                let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
                g.create_dataset(&t.name)
                    .with_f32_data(&t.values)
                    .with_shape(&shape);
            }
        }
    }
    for (sub, list) in subgroups {
        add_tensors(&mut g, &sub, &list);
    }
    parent.add_group(g.finish());
}

/// `{"a":"b",...}`, keys in the given order.
fn pairs_json<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let items: Vec<String> = pairs
        .map(|(k, v)| {
            format!(
                "{}:{}",
                serde_json::Value::from(k),
                serde_json::Value::from(v)
            )
        })
        .collect();
    format!("{{{}}}", items.join(","))
}

fn list_json(names: &[&str]) -> String {
    serde_json::Value::from(names.to_vec()).to_string()
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it
/// over `path`, so that `path` is either whole or absent. On any failure (a
/// full disk) the temporary is removed and the error names the file being
/// written.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(error) = written {
        // Best effort: the write's own error is the one to report.
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Io {
            path: path.to_path_buf(),
            error,
        });
    }
    if let Ok(d) = std::fs::File::open(dir) {
        // Persists the rename; not every filesystem allows syncing a folder.
        let _ = d.sync_all();
    }
    Ok(())
}

/// The store's writes read back through the checked path: a run file is
/// trusted only when its three hashes recompute.
#[cfg(test)]
mod checked_read_tests {
    use initlab_train::NamedTensor;

    use super::*;
    use crate::fixture::{self, tensor};
    use crate::verify::verify_run_file;

    /// A value no other tensor or series holds, so a test can find its bytes.
    const MARKER: f32 = 1234.5677;

    /// An MLP's parameters in the model's order, where `bias` follows `weight`:
    /// the order the store's name sort would not give back.
    fn params(first: f32) -> Vec<NamedTensor> {
        vec![
            tensor("layers.0.weight", &[3, 4], first, 0.25),
            tensor("layers.0.bias", &[3], 0.5, 0.25),
            tensor("layers.1.weight", &[2, 3], -1.0, 0.25),
            tensor("layers.1.bias", &[2], 2.0, 0.25),
        ]
    }

    /// A record with every part a run file holds, whose three hashes are right.
    fn record() -> RunRecord {
        fixture::with_hashes(RunRecord {
            grid: vec![("part".into(), "depth".into())],
            metrics: vec![("best_val_epoch".into(), 1.0)],
            grad_norms: vec![
                ("layers.0".into(), vec![0.5]),
                ("layers.1".into(), vec![0.25]),
            ],
            curves: vec![("test_loss".into(), vec![1.0])],
            bptt: vec![tensor("grad_h_norm", &[1, 2], 0.5, -0.25)],
            initial_params: params(MARKER),
            final_params: params(0.125),
            ..fixture::record("0123456789abcdef")
        })
    }

    /// A store in a new temporary folder, holding `rec`.
    fn store_holding(rec: &RunRecord) -> (tempfile::TempDir, ResultsStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ResultsStore::open(dir.path()).expect("store");
        store.save(rec).expect("save");
        (dir, store)
    }

    #[test]
    fn save_then_load_keeps_model_order_and_every_hash_verifies() {
        let rec = record();
        let (_dir, store) = store_holding(&rec);
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

    /// `err` says that the stored `hash` does not match what the file holds.
    fn assert_hash_mismatch(err: &Error, hash: &str) {
        assert!(
            matches!(err, Error::HashMismatch { hash: h, .. } if *h == hash),
            "{err}"
        );
    }

    #[test]
    fn a_changed_value_fails_naming_the_file_and_the_hash() {
        let rec = record();
        let (_dir, store) = store_holding(&rec);
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
        assert_hash_mismatch(&err, "init_sha256");
    }

    #[test]
    fn an_edited_config_or_output_fails_naming_its_hash() {
        let mut rec = record();
        rec.config_json = r#"{"study":"other"}"#.into();
        let (_dir, store) = store_holding(&rec);
        let err = verify_run_file(&store.run_path(&rec.run_id)).expect_err("edited");
        assert_hash_mismatch(&err, "config_sha256");

        let mut rec = record();
        rec.test_accuracy = 0.75;
        store.save(&rec).expect("save");
        let err = verify_run_file(&store.run_path(&rec.run_id)).expect_err("edited");
        assert_hash_mismatch(&err, "outputs_sha256");
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
