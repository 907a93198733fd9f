//! The command line end to end, on fixture data the tests write themselves:
//! a tiny MNIST in IDX format, its manifest, and small study files. Each test
//! gets its own directory, so they run anywhere and in parallel.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// A fixture world: mirror with MNIST-shaped data, a manifest, a cache, an out dir.
struct World {
    dir: tempfile::TempDir,
}

const FILES: [&str; 4] = [
    "mnist/train-images-idx3-ubyte.gz",
    "mnist/train-labels-idx1-ubyte.gz",
    "mnist/t10k-images-idx3-ubyte.gz",
    "mnist/t10k-labels-idx1-ubyte.gz",
];

fn idx(magic: u32, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut b = magic.to_be_bytes().to_vec();
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(payload);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// Images whose class is drawn as a bright horizontal bar at row 2·label, plus
/// deterministic noise: learnable, so accuracy moves.
fn images(n: usize, salt: usize) -> (Vec<u8>, Vec<u8>) {
    let mut pixels = Vec::with_capacity(n * 784);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let label = (i * 7 + salt) % 10;
        labels.push(label as u8);
        for p in 0..784 {
            let row = p / 28;
            let noise = ((i * 131 + p * 17 + salt) % 97) as u8;
            pixels.push(if row == 2 * label + 4 { 255 } else { noise });
        }
    }
    (pixels, labels)
}

impl World {
    fn new() -> World {
        let world = World {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        let (train_x, train_y) = images(500, 0);
        let (test_x, test_y) = images(100, 3);
        let contents = [
            gzip(&idx(0x803, &[500, 28, 28], &train_x)),
            gzip(&idx(0x801, &[500], &train_y)),
            gzip(&idx(0x803, &[100, 28, 28], &test_x)),
            gzip(&idx(0x801, &[100], &test_y)),
        ];
        std::fs::create_dir_all(world.mirror().join("mnist")).expect("mkdir");
        for (name, bytes) in FILES.iter().zip(&contents) {
            std::fs::write(world.mirror().join(name), bytes).expect("write");
        }
        world.write_manifest();
        world
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    fn mirror(&self) -> PathBuf {
        self.path("mirror")
    }
    fn cache(&self) -> PathBuf {
        self.path("cache")
    }
    fn manifest(&self) -> PathBuf {
        self.path("manifest.toml")
    }

    /// A manifest listing the mirror's files as they are now.
    fn write_manifest(&self) {
        let mut text = String::new();
        for name in FILES {
            let bytes = std::fs::read(self.mirror().join(name)).expect("read");
            let sha: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            text += &format!(
                "[[file]]\ndataset = \"mnist\"\npath = \"{name}\"\nsha256 = \"{sha}\"\nsize = {}\n\n",
                bytes.len()
            );
        }
        std::fs::write(self.manifest(), text).expect("write manifest");
    }

    /// A small study file; `extra` is appended to `[training]`.
    fn study(&self, name: &str, seeds: u32, epochs: usize, extra: &str) -> PathBuf {
        let text = format!(
            r#"[study]
name = "{name}"
title = "fixture"
reference = "none"
master_seed = 7

[model]
kind = "mlp"
inputs = 784
hidden = [16]
outputs = 10
activation = "relu"

[data]
dataset = "mnist"
validation_fraction = 0.2

[training]
epochs = {epochs}
batch_size = 20
optimizer = {{ kind = "adam", lr = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7 }}
{extra}
[init]
default = "zeros"

[grid]
groups = ["weight"]
seeds = {seeds}

[[grid.initializers]]
label = "zeros"
spec = "zeros"

[[grid.initializers]]
label = "he-normal"
spec = "kaiming-normal(distribution=truncated-normal)"

[[grid.initializers]]
label = "huge"
spec = "normal(mean=0,std=1e30)"
"#
        );
        let path = self.path(&format!("{name}.toml"));
        std::fs::write(&path, text).expect("write study");
        path
    }

    fn xtask(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
        cmd.args(args)
            .env("INITLAB_MANIFEST", self.manifest())
            .env("INITLAB_CACHE", self.cache())
            .env_remove("INITLAB_DATA_MIRROR")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.xtask(args).output().expect("spawn xtask")
    }

    fn reproduce(&self, study: &Path, out: &str, extra: &[&str]) -> Output {
        self.reproduce_command(study, &self.path(out), extra)
            .output()
            .expect("spawn xtask")
    }

    /// `reproduce` of `study` into `out` from the fixture mirror, offline.
    fn reproduce_command(&self, study: &Path, out: &Path, extra: &[&str]) -> Command {
        let mirror = self.mirror();
        let mut args = vec![
            "reproduce",
            "--study",
            study.to_str().expect("utf-8 path"),
            "--out",
            out.to_str().expect("utf-8 path"),
            "--mirror",
            mirror.to_str().expect("utf-8 path"),
            "--offline",
        ];
        args.extend_from_slice(extra);
        self.xtask(&args)
    }

    /// The same, started in a process group of its own with its output
    /// discarded, so that [`kill_group`] reaches its worker threads' process.
    fn spawn_reproduce(&self, study: &Path, out: &Path, extra: &[&str]) -> Child {
        use std::os::unix::process::CommandExt;
        self.reproduce_command(study, out, extra)
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn xtask")
    }
}

/// `kill -9` to `child`'s process group, then reaps it; whether the kill was
/// delivered (it is not when the group had already exited).
fn kill_group(child: &mut Child) -> bool {
    let delivered = Command::new("kill")
        .args(["-9", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let _ = child.wait();
    delivered
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn hashes(out: &Path) -> Vec<(String, String, String)> {
    let store = initlab_analysis::ResultsStore::open(out).expect("store");
    let mut rows: Vec<_> = store
        .read_results()
        .expect("results.h5 readable")
        .into_iter()
        .map(|r| (r.run_id, r.status.as_str().to_string(), r.outputs_sha256))
        .collect();
    rows.sort();
    rows
}

#[test]
fn reproduce_is_deterministic_skips_stored_runs_and_records_divergence() {
    let w = World::new();
    let study = w.study("fixture", 2, 2, "");
    let first = w.reproduce(&study, "a", &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let table = String::from_utf8_lossy(&first.stdout);
    assert!(
        table.contains("he-normal") && table.contains("zeros"),
        "{table}"
    );
    let a = hashes(&w.path("a"));
    assert_eq!(a.len(), 6);
    // N(0, 1e30) weights overflow the logits: recorded as diverged, and the grid went on.
    assert_eq!(a.iter().filter(|r| r.1 == "diverged").count(), 2, "{a:?}");

    let again = w.reproduce(&study, "a", &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("0 trained, 6 skipped"),
        "{}",
        stderr(&again)
    );
    assert_eq!(hashes(&w.path("a")), a);

    let fresh = w.reproduce(&study, "b", &["--jobs", "1"]);
    assert!(fresh.status.success(), "{}", stderr(&fresh));
    assert_eq!(
        hashes(&w.path("b")),
        a,
        "same config and seed, same outputs"
    );
}

#[test]
fn kill_mid_grid_then_rerun_completes_without_loss_or_duplicates() {
    let w = World::new();
    let study = w.study("killed", 6, 6, "");
    let reference = w.reproduce(&study, "reference", &["--jobs", "1"]);
    assert!(reference.status.success(), "{}", stderr(&reference));
    let expected = hashes(&w.path("reference"));
    assert_eq!(expected.len(), 18);

    // A finished earlier grid, so there is a results.h5 to keep readable.
    let small = w.study("small", 1, 1, "");
    assert!(w.reproduce(&small, "killed", &[]).status.success());
    let out = w.path("killed");
    let mut child = w.spawn_reproduce(&study, &out, &["--jobs", "1"]);
    let runs_dir = out.join("runs");
    let started = Instant::now();
    // Wait until two of this grid's runs are stored (the small study left 3).
    while std::fs::read_dir(&runs_dir).map_or(0, |d| d.count()) < 5 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "grid never progressed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(kill_group(&mut child), "the grid was running");
    let stored = std::fs::read_dir(&runs_dir).map_or(0, |d| d.count());
    assert!(
        stored < 3 + 18,
        "the kill came after the grid finished; make the grid longer"
    );
    let partial = hashes(&out);
    assert_eq!(
        partial.len(),
        3,
        "results.h5 still holds the earlier study after the kill"
    );

    let rerun = w.reproduce(&study, "killed", &[]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    let after: Vec<_> = hashes(&out)
        .into_iter()
        .filter(|r| expected.iter().any(|e| e.0 == r.0))
        .collect();
    assert_eq!(
        after, expected,
        "every run present once, with the uninterrupted hashes"
    );
}

#[test]
fn bad_inputs_fail_with_one_line_naming_the_file_and_leave_results_untouched() {
    let w = World::new();
    let study = w.study("fixture", 1, 1, "");
    assert!(w.reproduce(&study, "out", &[]).status.success());
    let results = w.path("out/results.h5");
    let before = std::fs::read(&results).expect("results.h5");
    let unchanged = || assert_eq!(std::fs::read(&results).expect("results.h5"), before);

    // An unknown key: file, line and key.
    let bad = w.study("typo", 1, 1, "learning_rat = 0.1\n");
    let o = w.reproduce(&bad, "out", &[]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("typo.toml:22:1:") && err.contains("learning_rat"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    unchanged();

    // A damaged cache file with no mirror and no network: refused, named.
    let cached = w.cache().join(FILES[1]);
    std::fs::write(&cached, b"damaged").expect("write");
    let out = w.path("out");
    let o = w.run(&[
        "reproduce",
        "--study",
        study.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--offline",
    ]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("train-labels-idx1-ubyte.gz") && err.contains("--mirror"),
        "{err}"
    );
    unchanged();

    // A mirror whose copy does not match the manifest: checksum mismatch, named.
    std::fs::write(w.mirror().join(FILES[1]), b"not the labels").expect("write");
    let o = w.reproduce(&study, "out", &[]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("mirror/mnist/train-labels-idx1-ubyte.gz") && err.contains("sha256 mismatch"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    unchanged();

    // A truncated gzip that the manifest vouches for: the gzip error names it.
    let images = w.mirror().join(FILES[2]);
    let bytes = std::fs::read(&images).expect("read");
    std::fs::write(&images, &bytes[..bytes.len() / 2]).expect("write");
    std::fs::remove_dir_all(w.cache()).expect("clear cache");
    World::write_manifest(&w);
    let o = w.reproduce(&study, "out", &[]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("t10k-images-idx3-ubyte.gz") && err.contains("gzip"),
        "{err}"
    );
    unchanged();
}

#[test]
fn download_without_mirror_or_network_says_how_to_get_the_data() {
    let w = World::new();
    let o = w.run(&["download", "--offline"]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("mnist/train-images-idx3-ubyte.gz") && err.contains("--mirror"),
        "{err}"
    );
    let mirror = w.mirror();
    let o = w.run(&["download", "--mirror", mirror.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = w.run(&["download", "--offline"]);
    assert!(stderr(&o).contains("already verified"), "{}", stderr(&o));
}

/// `(run id, status, init_sha256, outputs_sha256)` of every run in `<out>/results.h5`.
fn run_hashes(out: &Path) -> Vec<(String, String, String, String)> {
    let store = initlab_analysis::ResultsStore::open(out).expect("store");
    let mut rows: Vec<_> = store
        .read_results()
        .expect("results.h5 readable")
        .into_iter()
        .map(|r| {
            let status = r.status.as_str().to_string();
            (r.run_id, status, r.init_sha256, r.outputs_sha256)
        })
        .collect();
    rows.sort();
    rows
}

/// The summary table of `<out>/results.h5` without its s/epoch column: wall
/// time is the one thing two runs of the same grid do not share.
fn table_without_timing(out: &Path) -> String {
    let store = initlab_analysis::ResultsStore::open(out).expect("store");
    let records = store.read_results().expect("results.h5 readable");
    initlab_analysis::summary_table(&initlab_analysis::summarize(&records))
        .lines()
        .map(|l| l.rsplit_once(' ').map_or(l, |(rest, _)| rest).trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The rows of the summary table a command printed, without the s/epoch
/// column, sorted: `reproduce` prints them in grid order, `merge` in run-id order.
fn printed_rows(o: &Output, study: &str) -> Vec<String> {
    let mut rows: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.starts_with(study))
        .map(|l| l.rsplit_once(' ').map_or(l, |(rest, _)| rest).to_string())
        .collect();
    rows.sort();
    rows
}

/// Ids of the run files in `<dir>/runs/`, sorted.
fn run_file_ids(dir: &Path) -> Vec<String> {
    initlab_analysis::ResultsStore::open(dir)
        .expect("store")
        .run_ids()
        .expect("ids")
}

impl World {
    fn merge(&self, out: &str, shards: &[&str]) -> Output {
        let out = self.path(out);
        let shards: Vec<PathBuf> = shards.iter().map(|s| self.path(s)).collect();
        let mut args = vec!["merge", "--out", out.to_str().expect("utf-8 path")];
        args.extend(shards.iter().map(|s| s.to_str().expect("utf-8 path")));
        self.run(&args)
    }
}

#[test]
fn three_shards_merge_to_the_unsharded_store_and_conflicts_are_refused() {
    let w = World::new();
    let study = w.study("sharded", 2, 1, "");
    let single = w.reproduce(&study, "single", &[]);
    assert!(single.status.success(), "{}", stderr(&single));
    let expected = run_hashes(&w.path("single"));
    assert_eq!(expected.len(), 6);

    let mut ids = Vec::new();
    for i in 0..3 {
        let (dir, shard) = (format!("shard-{i}"), format!("{i}/3"));
        let o = w.reproduce(&study, &dir, &["--shard", &shard]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("wrote run files only"),
            "{}",
            stderr(&o)
        );
        assert!(
            !w.path(&dir).join("results.h5").exists(),
            "a shard is partial and writes no results.h5"
        );
        let mine = run_file_ids(&w.path(&dir));
        assert_eq!(mine.len(), 2, "6 runs in 3 round-robin shards");
        ids.extend(mine);
    }
    ids.sort();
    let all: Vec<String> = expected.iter().map(|r| r.0.clone()).collect();
    assert_eq!(ids, all, "every run in exactly one shard");

    // A shard rerun after losing a run (killed before its file was renamed in)
    // trains that run alone, with the same result.
    let lost = w
        .path("shard-1/runs")
        .join(format!("{}.h5", run_file_ids(&w.path("shard-1"))[0]));
    std::fs::remove_file(&lost).expect("remove");
    let rerun = w.reproduce(&study, "shard-1", &["--shard", "1/3"]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert!(
        stderr(&rerun).contains("1 trained, 1 skipped"),
        "{}",
        stderr(&rerun)
    );

    let merged = w.merge("merged", &["shard-0", "shard-1", "shard-2"]);
    assert!(merged.status.success(), "{}", stderr(&merged));
    assert_eq!(
        run_hashes(&w.path("merged")),
        expected,
        "same runs and hashes"
    );
    assert_eq!(
        table_without_timing(&w.path("merged")),
        table_without_timing(&w.path("single"))
    );
    assert_eq!(
        printed_rows(&merged, "sharded"),
        printed_rows(&single, "sharded")
    );
    assert_eq!(printed_rows(&single, "sharded").len(), 3);
    assert!(w.path("merged/report.md").is_file());

    // Merging again, or the unsharded store in with the shards: identical
    // runs are taken once.
    let again = w.merge("merged", &["shard-0", "shard-1", "shard-2", "single"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("12 identical duplicates taken once"),
        "{}",
        stderr(&again)
    );
    assert_eq!(run_hashes(&w.path("merged")), expected);

    let results = w.path("merged/results.h5");
    let before = std::fs::read(&results).expect("results.h5");
    let store = |dir: &str| initlab_analysis::ResultsStore::open(&w.path(dir)).expect("store");
    let id = run_file_ids(&w.path("shard-1"))[0].clone();

    // The same run id with other (self-consistent) outputs: refused, naming both files.
    let mut other = store("shard-1").load(&id).expect("load");
    other.final_params[0].values[0] += 1.0;
    other.outputs_sha256 = other.compute_outputs_sha256();
    store("conflict").save(&other).expect("save");
    let o = w.merge("fresh", &["shard-1", "conflict"]);
    let err = stderr(&o);
    assert!(!o.status.success());
    for file in [
        format!("shard-1/runs/{id}.h5"),
        format!("conflict/runs/{id}.h5"),
    ] {
        assert!(
            err.contains(&file) && err.contains("outputs_sha256"),
            "{file}: {err}"
        );
    }
    assert!(!w.path("fresh").exists(), "nothing written");
    // Into the merged store, whose own copy of the run is the other file.
    let o = w.merge("merged", &["shard-0", "shard-1", "conflict"]);
    let err = stderr(&o);
    assert!(!o.status.success());
    for file in [
        format!("merged/runs/{id}.h5"),
        format!("conflict/runs/{id}.h5"),
    ] {
        assert!(err.contains(&file), "{file}: {err}");
    }
    assert_eq!(std::fs::read(&results).expect("results.h5"), before);

    // A file edited after its run: refused, naming the file and the hash.
    let mut edited = store("shard-2")
        .load(&run_file_ids(&w.path("shard-2"))[0])
        .expect("load");
    let config = edited.config_json.replace("\"sharded\"", "\"edited\"");
    assert_ne!(config, edited.config_json);
    edited.config_json = config;
    store("edited").save(&edited).expect("save");
    let o = w.merge("merged", &["shard-0", "edited"]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains(&format!("edited/runs/{}.h5", edited.run_id)) && err.contains("config_sha256"),
        "{err}"
    );
    assert_eq!(std::fs::read(&results).expect("results.h5"), before);

    // What is not a shard, and shard numbers that do not exist.
    let o = w.merge("merged", &["nowhere"]);
    assert!(
        !o.status.success() && stderr(&o).contains("not a shard directory"),
        "{}",
        stderr(&o)
    );
    for bad in ["3/3", "0/0", "x/2"] {
        let o = w.reproduce(&study, "bad", &["--shard", bad]);
        assert!(
            !o.status.success() && stderr(&o).contains(bad),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(std::fs::read(&results).expect("results.h5"), before);
}

#[test]
fn a_shard_killed_mid_way_and_rerun_loses_and_repeats_nothing() {
    let w = World::new();
    let study = w.study("killed", 6, 6, "");
    let reference = w.reproduce(&study, "reference", &["--shard", "0/2", "--jobs", "1"]);
    assert!(reference.status.success(), "{}", stderr(&reference));
    let out = w.path("killed");
    let mut child = w.spawn_reproduce(&study, &out, &["--jobs", "1", "--shard", "0/2"]);
    let started = Instant::now();
    while run_file_ids(&out).len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "shard never progressed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(kill_group(&mut child), "the shard was running");
    assert!(
        run_file_ids(&out).len() < 9,
        "the kill came after the shard finished; make the grid longer"
    );
    let rerun = w.reproduce(&study, "killed", &["--shard", "0/2"]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert_eq!(run_file_ids(&out), run_file_ids(&w.path("reference")));
    for dir in ["reference", "killed"] {
        let o = w.merge(&format!("{dir}-merged"), &[dir]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(
        run_hashes(&w.path("killed-merged")),
        run_hashes(&w.path("reference-merged")),
        "every run of the shard present once, with the uninterrupted hashes"
    );
}

/// An lstm-maestro-shaped run with small random weights, stored in `out`.
fn event_lstm_run(out: &Path) -> String {
    use initlab_train::{ModelConfig, NamedTensor, RunRecord, RunStatus};
    let model: ModelConfig = serde_json::from_str(
        r#"{"kind":"event-lstm","vocabulary":359,"dim":4,"hidden":6,"window":8}"#,
    )
    .expect("model");
    let mut state = 9u64;
    let params: Vec<NamedTensor> = model
        .param_specs()
        .into_iter()
        .map(|spec| {
            let n: usize = spec.shape.iter().product();
            let values = (0..n)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                    ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.6
                })
                .collect();
            NamedTensor {
                name: spec.name,
                shape: spec.shape,
                values,
            }
        })
        .collect();
    let config = serde_json::json!({"model": model, "study": "lstm-maestro"}).to_string();
    let record = RunRecord {
        run_id: "0123456789abcdef".into(),
        study: "lstm-maestro".into(),
        label: "xavier".into(),
        initializer: "xavier-standard(mode=fan-out)".into(),
        status: RunStatus::Complete,
        seed: 1,
        replicate: 0,
        config_sha256: format!("{:x}", Sha256::digest(config.as_bytes())),
        config_json: config,
        init_sha256: initlab_models::params_sha256(
            params
                .iter()
                .map(|t| (t.name.as_str(), t.shape.as_slice(), t.values.as_slice())),
        ),
        outputs_sha256: String::new(),
        backend: "ndarray".into(),
        test_accuracy: 0.2,
        test_loss: 3.0,
        published: None,
        published_metrics: Vec::new(),
        grid: Vec::new(),
        metrics: Vec::new(),
        finished_at: "2026-12-03T00:00:00Z".into(),
        wall_seconds: 1.0,
        step_loss: vec![3.0],
        train_loss: vec![3.0],
        train_accuracy: vec![0.1],
        val_loss: vec![3.0],
        val_accuracy: vec![0.2],
        grad_norms: Vec::new(),
        curves: Vec::new(),
        bptt: Vec::new(),
        activations: Vec::new(),
        lsuv: Vec::new(),
        initial_params: params.clone(),
        final_params: params,
    };
    let record = RunRecord {
        outputs_sha256: record.compute_outputs_sha256(),
        ..record
    };
    let store = initlab_analysis::ResultsStore::open(out).expect("store");
    store.save(&record).expect("save");
    record.run_id
}

#[test]
fn sample_writes_a_midi_file_that_decodes_to_the_seed_then_new_notes() {
    use initlab_data::maestro::{read_midi, write_midi, MidiWriteOptions, Note};
    let w = World::new();
    let out = w.path("results");
    let id = event_lstm_run(&out);
    // A seed of five notes: its first 8 event tokens are the seed window.
    let notes: Vec<Note> = (0..5)
        .map(|i| Note {
            time: 96 * i,
            pitch: 60 + i as u8,
            duration: 90,
            velocity: 64,
        })
        .collect();
    let prime = w.path("prime.mid");
    write_midi(&prime, &notes, &MidiWriteOptions::default()).expect("prime");
    let sample = |seed: &str, file: &str| {
        let path = w.path(file);
        let o = w.run(&[
            "sample",
            "--run",
            &id,
            "--results",
            out.to_str().expect("utf-8"),
            "--prime",
            prime.to_str().expect("utf-8"),
            "--tokens",
            "200",
            "--seed",
            seed,
            "--out",
            path.to_str().expect("utf-8"),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        path
    };
    let a = sample("1", "a.mid");
    let written = read_midi(&a).expect("the file decodes as MIDI").notes;
    // The seed window (start token, then 7 events) decodes to the seed's
    // first notes; the drawn events add to it.
    assert!(!written.is_empty());
    assert_eq!(written[0].pitch, 60);
    // Same run, seed and seed window: the same file; another seed: another.
    let bytes = |p: &Path| std::fs::read(p).expect("read");
    assert_eq!(bytes(&a), bytes(&sample("1", "b.mid")));
    assert_ne!(bytes(&a), bytes(&sample("2", "c.mid")));
    // A run that is not an event LSTM is refused, naming what it is.
    let o = w.run(&[
        "sample",
        "--run",
        "ffffffffffffffff",
        "--results",
        out.to_str().expect("utf-8"),
        "--out",
        w.path("x.mid").to_str().expect("utf-8"),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("no run ffffffffffffffff"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dry_run_prints_the_cost_and_trains_nothing() {
    let w = World::new();
    let study = w.study("fixture", 2, 2, "");
    let o = w.reproduce(&study, "out", &["--dry-run", "--jobs", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let row = stdout
        .lines()
        .find(|l| l.starts_with("fixture"))
        .unwrap_or_else(|| panic!("a row for the study: {stdout}"));
    // The fixture grid: 3 initializers × 2 seeds, none stored yet.
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[1..3], ["6", "0"], "{row}");
    assert!(stdout.contains("wall estimate"), "{stdout}");
    assert!(!w.path("out/results.h5").exists());
    let runs = std::fs::read_dir(w.path("out/runs")).map_or(0, |d| d.count());
    assert_eq!(runs, 0, "a dry run writes no run file");
}

/// The run files of `<out>/runs/` by name, with their bytes.
fn run_files(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(out.join("runs"))
        .expect("runs/")
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_damaged_run_file_is_refused_by_report_and_sample_and_retrained_by_reproduce() {
    let w = World::new();
    let study = w.study("fixture", 1, 1, "");
    assert!(w.reproduce(&study, "out", &[]).status.success());
    let out = w.path("out");
    let expected = hashes(&out);
    let id = run_file_ids(&out)[0].clone();
    let file = out.join(format!("runs/{id}.h5"));
    let bytes = std::fs::read(&file).expect("read");
    // Cut short, as a full disk or an interrupted copy leaves it.
    std::fs::write(&file, &bytes[..bytes.len() / 2]).expect("write");
    let results_before = std::fs::read(out.join("results.h5")).expect("results.h5");
    let refused = |o: &Output| {
        let err = stderr(o);
        assert!(!o.status.success());
        assert!(
            err.contains(&format!("runs/{id}.h5")) && err.contains(".damaged"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        err.trim().to_string()
    };
    let report = refused(&w.run(&["report", "--out", out.to_str().expect("utf-8")]));
    let sample = refused(&w.run(&[
        "sample",
        "--run",
        &id,
        "--results",
        out.to_str().expect("utf-8"),
        "--out",
        w.path("x.mid").to_str().expect("utf-8"),
    ]));
    assert_eq!(report, sample, "the same line from report and sample");
    assert_eq!(
        std::fs::read(out.join("results.h5")).expect("results.h5"),
        results_before
    );

    let healed = w.reproduce(&study, "out", &[]);
    let err = stderr(&healed);
    assert!(healed.status.success(), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("moved to"))
        .expect("a line for the damaged file");
    assert!(
        line.contains(&format!("runs/{id}.h5:")) && line.contains(&format!("runs/{id}.h5.damaged")),
        "{line}"
    );
    assert!(err.contains("1 trained (1 healed"), "{err}");
    assert_eq!(
        std::fs::read(out.join(format!("runs/{id}.h5.damaged"))).expect("kept"),
        &bytes[..bytes.len() / 2],
        "the damaged file is kept, not deleted"
    );
    assert_eq!(hashes(&out), expected, "retrained to the same outputs");
}

#[test]
fn a_write_that_fails_mid_grid_stops_naming_the_file_and_a_rerun_completes() {
    let w = World::new();
    let out = w.path("out");
    assert!(w
        .reproduce(&w.study("fixture", 1, 1, ""), "out", &[])
        .status
        .success());
    let earlier = run_files(&out);
    let results_before = std::fs::read(out.join("results.h5")).expect("results.h5");
    let bigger = w.study("fixture", 2, 1, "");
    let reference = w.reproduce(&bigger, "reference", &[]);
    assert!(reference.status.success(), "{}", stderr(&reference));

    // An injected write error: the kernel refuses to write past 48 KiB to any
    // one file (RLIMIT_FSIZE, SIGXFSZ ignored), less than one run file, as a
    // disk that has filled up refuses the next write.
    let mirror = w.mirror();
    let full = Command::new("bash")
        .args(["-c", r#"ulimit -f 48 && trap '' XFSZ && exec "$@""#, "bash"])
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "reproduce",
            "--study",
            bigger.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
            "--mirror",
            mirror.to_str().expect("utf-8"),
            "--offline",
            "--jobs",
            "1",
        ])
        .env("INITLAB_MANIFEST", w.manifest())
        .env("INITLAB_CACHE", w.cache())
        .env_remove("INITLAB_DATA_MIRROR")
        .stdin(Stdio::null())
        .output()
        .expect("spawn");
    let all = stderr(&full);
    assert!(!full.status.success(), "{all}");
    // The study's progress line, then the error on one line.
    let errors: Vec<&str> = all.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{all}");
    let err = errors[0];
    let new_file = err
        .split_whitespace()
        .find(|word| word.contains("/runs/") && word.ends_with(".h5:"))
        .unwrap_or_else(|| panic!("names the run file being written: {err}"));
    let new_file = Path::new(new_file.trim_end_matches(':'));
    assert!(!new_file.exists(), "no partial run file");
    assert_eq!(
        run_files(&out),
        earlier,
        "no temporary left, earlier runs kept"
    );
    assert_eq!(
        std::fs::read(out.join("results.h5")).expect("results.h5"),
        results_before
    );

    let rerun = w.reproduce(&bigger, "out", &[]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert!(stderr(&rerun).contains("3 trained"), "{}", stderr(&rerun));
    assert_eq!(hashes(&out), hashes(&w.path("reference")));
}

#[test]
fn init_refuses_a_zero_dim_and_a_sample_too_big_for_memory() {
    let w = World::new();
    for (shape, what) in [
        ("0x5", "dim 0 is 0"),
        ("5x0x3", "dim 1 is 0"),
        ("100000x100000", "of memory, more than"),
    ] {
        let o = w.run(&["init", "--scheme", "orthogonal", "--shape", shape]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{shape}: {err}");
        assert!(
            err.contains(&format!("--shape {shape}")) && err.contains(what),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    let o = w.run(&["init", "--scheme", "orthogonal", "--shape", "4x3"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `kill -9` at random instants of one grid (24 runs of 120 epochs), each command resuming the last:
/// after every kill results.h5 (once written) opens and verifies, and the final
/// rerun holds every run once with the uninterrupted grid's hashes. Three
/// kills in `cargo xtask test` (seconds); `scripts/kill-grid.sh` sets
/// `INITLAB_KILLS=20` (minutes of CPU) and prints the figure.
#[test]
fn kill_nine_at_random_instants_loses_and_repeats_nothing() {
    let kills: usize = std::env::var("INITLAB_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(3);
    let w = World::new();
    let study = w.study("killed", 8, 120, "");
    let started = Instant::now();
    let reference = w.reproduce(&study, "reference", &["--jobs", "1"]);
    assert!(reference.status.success(), "{}", stderr(&reference));
    let uninterrupted = started.elapsed();
    let expected = hashes(&w.path("reference"));
    let out = w.path("killed");
    // xorshift, seeded from the clock; the seed is printed to replay a failure.
    let mut state = std::env::var("INITLAB_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64 | 1)
        });
    println!(
        "uninterrupted grid: {} runs in {:.1} s; kill seed {state}",
        expected.len(),
        uninterrupted.as_secs_f64()
    );
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut landed = (0, 0);
    for k in 0..kills {
        // A random instant up to an eighth of the uninterrupted grid's time:
        // kills land in the start-up (data, cost estimate) and mid-training,
        // and the grid is not done before the last of them.
        let ms = next() % (uninterrupted.as_millis() as u64 / 8).max(1);
        let before = run_file_ids(&out).len();
        let mut child = w.spawn_reproduce(&study, &out, &["--jobs", "2"]);
        std::thread::sleep(Duration::from_millis(ms));
        let finished = child.try_wait().expect("wait").is_some();
        kill_group(&mut child);
        let stored = run_file_ids(&out).len();
        if finished {
            landed.1 += 1;
        } else {
            landed.0 += 1;
        }
        let opens = if out.join("results.h5").exists() {
            format!("results.h5 opens with {} runs", hashes(&out).len())
        } else {
            "no results.h5 yet".to_string()
        };
        println!(
            "kill {:>2} at {ms:>5} ms: {before:>2} → {stored:>2} run files; {opens}{}",
            k + 1,
            if finished {
                " (had already finished)"
            } else {
                ""
            }
        );
    }
    let temporaries = |out: &Path| {
        std::fs::read_dir(out.join("runs"))
            .expect("runs/")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
            .count()
    };
    let leftovers = temporaries(&out);
    let rerun = w.reproduce(&study, "killed", &[]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert_eq!(
        temporaries(&out),
        0,
        "the rerun removes the killed writes' temporaries"
    );
    assert_eq!(run_file_ids(&out).len(), expected.len(), "each run once");
    assert_eq!(
        hashes(&out),
        expected,
        "every run present once, with the uninterrupted hashes"
    );
    println!(
        "{kills} kills ({} mid-command, {} after it finished); final rerun: {} runs, every output hash equal to the uninterrupted grid; {leftovers} temporaries of killed writes were left in runs/, and the rerun removed them",
        landed.0,
        landed.1,
        expected.len()
    );
}
