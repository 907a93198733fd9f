//! A run file damaged on disk (cut short, or bytes changed in its parameters,
//! its outputs or an attribute) is refused by every read, naming the file and
//! what failed, and `set_aside_damaged` renames it without deleting it.

use std::path::Path;

use initlab_analysis::{fixture, verify_run_file, Error, ResultsStore};
use initlab_train::RunRecord;

/// Values stored once each, so a test can find their bytes in the file.
const INITIAL: f32 = 1234.5677;
const FINAL: f32 = -765.4321;
const ACCURACY: f64 = 0.123_456_789_012_345_6;
const CONFIG: &str = r#"{"study":"damage-fixture"}"#;

fn record(id: &str) -> RunRecord {
    fixture::with_hashes(RunRecord {
        config_json: CONFIG.into(),
        test_accuracy: ACCURACY,
        initial_params: fixture::params(INITIAL),
        final_params: fixture::params(FINAL),
        ..fixture::record(id)
    })
}

/// A store holding two good runs, with results.h5 built from them.
fn fresh() -> (tempfile::TempDir, ResultsStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ResultsStore::open(dir.path()).expect("store");
    for id in ["00000000000000aa", "00000000000000bb"] {
        store.save(&record(id)).expect("save");
    }
    store.rebuild().expect("rebuild");
    (dir, store)
}

/// Replaces the one occurrence of `from` in the file with `to` (same length).
fn replace_once(path: &Path, from: &[u8], to: &[u8]) {
    let mut bytes = std::fs::read(path).expect("read");
    let at: Vec<usize> = (0..=bytes.len() - from.len())
        .filter(|&i| &bytes[i..i + from.len()] == from)
        .collect();
    assert_eq!(at.len(), 1, "the marker is stored once");
    bytes[at[0]..at[0] + from.len()].copy_from_slice(to);
    std::fs::write(path, bytes).expect("write");
}

/// Every read refuses the damaged run `a` naming its file and `what`; the
/// rebuild writes nothing; setting aside renames only it, keeping its bytes.
fn refused_everywhere(dir: &tempfile::TempDir, store: &ResultsStore, what: &str) {
    let id = "00000000000000aa";
    let path = store.run_path(id);
    let results_before = std::fs::read(store.results_path()).expect("results.h5");
    let named = |e: &Error| {
        let text = e.to_string();
        assert!(
            text.contains(&path.display().to_string()) && text.contains(what),
            "{text}"
        );
        assert!(!text.contains('\n'), "one line: {text}");
    };
    named(&store.load(id).expect_err("load refuses it"));
    named(&verify_run_file(&path).expect_err("verify refuses it"));
    named(&store.verify_all().expect_err("verify_all refuses it"));
    named(&store.rebuild().expect_err("rebuild refuses it"));
    assert_eq!(
        std::fs::read(store.results_path()).expect("results.h5"),
        results_before,
        "a failed rebuild leaves results.h5 as it was"
    );
    let damaged_bytes = std::fs::read(&path).expect("read");
    let aside = store.set_aside_damaged().expect("set aside");
    assert_eq!(aside.len(), 1);
    assert_eq!(aside[0].run_id, id);
    named(&aside[0].error);
    assert_eq!(
        aside[0].moved_to,
        dir.path().join(format!("runs/{id}.h5.damaged"))
    );
    assert!(!path.exists());
    assert_eq!(
        std::fs::read(&aside[0].moved_to).expect("kept"),
        damaged_bytes
    );
    assert_eq!(store.run_ids().expect("ids"), vec!["00000000000000bb"]);
    assert_eq!(store.rebuild().expect("rebuild from the good run"), 1);
    // Stored again (as a retrained run would be), it verifies; a second
    // damage of the same run does not overwrite the first copy.
    store.save(&record(id)).expect("save");
    store.load(id).expect("the new file verifies");
    std::fs::write(&path, b"not hdf5").expect("write");
    let again = store.set_aside_damaged().expect("set aside");
    assert_eq!(
        again[0].moved_to,
        dir.path().join(format!("runs/{id}.h5.damaged.1"))
    );
    assert_eq!(
        std::fs::read(&aside[0].moved_to).expect("kept"),
        damaged_bytes
    );
}

#[test]
fn a_truncated_run_file_is_refused_and_set_aside() {
    let (dir, store) = fresh();
    let path = store.run_path("00000000000000aa");
    let bytes = std::fs::read(&path).expect("read");
    for keep in [0, 8, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..keep]).expect("write");
        let err = store.load("00000000000000aa").expect_err("truncated");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
    refused_everywhere(&dir, &store, "");
}

#[test]
fn changed_bytes_in_the_initial_parameters_fail_init_sha256() {
    let (dir, store) = fresh();
    let path = store.run_path("00000000000000aa");
    replace_once(
        &path,
        &INITIAL.to_le_bytes(),
        &(INITIAL + 1.0).to_le_bytes(),
    );
    refused_everywhere(&dir, &store, "init_sha256");
}

#[test]
fn changed_bytes_in_the_final_parameters_fail_outputs_sha256() {
    let (dir, store) = fresh();
    let path = store.run_path("00000000000000aa");
    replace_once(&path, &FINAL.to_le_bytes(), &(FINAL * 2.0).to_le_bytes());
    refused_everywhere(&dir, &store, "outputs_sha256");
}

#[test]
fn changed_bytes_in_an_attribute_fail_its_hash() {
    let (dir, store) = fresh();
    let path = store.run_path("00000000000000aa");
    replace_once(&path, &ACCURACY.to_le_bytes(), &0.9f64.to_le_bytes());
    refused_everywhere(&dir, &store, "outputs_sha256");

    let (dir, store) = fresh();
    let path = store.run_path("00000000000000aa");
    replace_once(&path, b"damage-fixture", b"damage-fixturf");
    refused_everywhere(&dir, &store, "config_sha256");
}

#[test]
fn results_h5_with_changed_bytes_is_refused_by_its_reader() {
    let (_dir, store) = fresh();
    let path = store.results_path();
    let mut bytes = std::fs::read(&path).expect("read");
    let marker = INITIAL.to_le_bytes();
    let at = (0..bytes.len() - 4)
        .find(|&i| bytes[i..i + 4] == marker)
        .expect("marker");
    bytes[at..at + 4].copy_from_slice(&(INITIAL - 1.0).to_le_bytes());
    std::fs::write(&path, bytes).expect("write");
    let err = store.read_results().expect_err("damaged results.h5");
    assert!(
        err.to_string().contains("results.h5") && err.to_string().contains("init_sha256"),
        "{err}"
    );
}

#[test]
fn a_killed_writes_temporary_is_removed_and_a_live_ones_kept() {
    let (dir, store) = fresh();
    let runs = dir.path().join("runs");
    // pid_max is at most 2^22, so no process has this id.
    let dead = runs.join(".00000000000000cc.h5.tmp4999999");
    let live = runs.join(format!(".00000000000000dd.h5.tmp{}", std::process::id()));
    std::fs::write(&dead, b"half a run").expect("write");
    std::fs::write(&live, b"being written").expect("write");
    assert_eq!(store.remove_stale_temporaries().expect("remove"), 1);
    assert!(!dead.exists() && live.exists());
    assert_eq!(
        store.run_ids().expect("ids"),
        vec!["00000000000000aa", "00000000000000bb"]
    );
}
