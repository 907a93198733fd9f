//! The note-embedding trainer on tiny corpora written here: it learns, stops
//! early, saves and loads back bit for bit, names tables by what made them, and
//! flags the tokens it never trained. With the MAESTRO mirror present, one test
//! also runs the real pipeline for a few steps.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use initlab_data::maestro::{encode_midi, MidiWriteOptions, Note, Piece, SplitScheme};
use initlab_data::{sha256_bytes, Cache, Manifest};
use initlab_models::HostParams;
use initlab_train::{
    cross_entropy, embedding_hash, load_or_train, EmbeddingConfig, EmbeddingData,
    EmbeddingObserver, EmbeddingStore, EpochReport, Provenance, TrainedEmbedding,
};

/// A repeating 8-token phrase inside start … end: the previous four tokens
/// (as a set) determine the next, so the summed context can predict it.
const PHRASE: [u32; 8] = [60, 64, 67, 300, 188, 192, 195, 310];

fn piece(name: &str, repeats: usize, offset: usize) -> Piece {
    let mut tokens = vec![356];
    tokens.extend((0..repeats * PHRASE.len()).map(|i| PHRASE[(i + offset) % PHRASE.len()]));
    tokens.push(357);
    Piece {
        path: name.into(),
        tokens,
    }
}

fn corpus() -> EmbeddingData {
    EmbeddingData::from_pieces(
        vec![piece("a", 30, 0), piece("b", 30, 3), piece("c", 20, 5)],
        vec![piece("v", 10, 1)],
    )
}

/// The study's model with a short context and a fast optimizer, for seconds-long tests.
fn config(epochs: usize) -> EmbeddingConfig {
    let mut c = EmbeddingConfig::study(4);
    c.training.lr = 0.02;
    c.training.batch_size = 32;
    c.training.max_epochs = epochs;
    c
}

fn train(config: &EmbeddingConfig, data: &EmbeddingData) -> TrainedEmbedding {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddingStore::new(dir.path());
    let (trained, how) = load_or_train(&store, config, data, &Count::default()).expect("train");
    assert_eq!(how, Provenance::Trained);
    trained
}

/// The host pass's loss and gradients against burn's autodiff through the
/// same model (`NoteEmbedding`, `cross_entropy`), on the study's shape.
#[test]
fn host_gradients_match_burn_autodiff() {
    use burn::backend::{Autodiff, NdArray};
    use burn::tensor::{Int, Tensor, TensorData};
    use initlab_models::{EmbeddingScratch, HostNoteEmbedding, NoteEmbedding};
    type B = Autodiff<NdArray<f32>>;

    let config = EmbeddingConfig::study(16);
    let host = HostParams::sample(
        &config.model.param_specs(),
        &config.plan().expect("plan"),
        5,
    )
    .expect("sample");
    let device = Default::default();
    let burn_model: NoteEmbedding<B> = config.model.init(&host, &device).expect("init");
    let kernel = HostNoteEmbedding::new(&config.model, &host).expect("host model");
    let (n, context, v) = (24, 16, config.model.vocabulary);
    // Repeated tokens within a window and across windows, every id below v.
    let tokens: Vec<u32> = (0..n * context)
        .map(|i| ((i * 37 + i / 5) % v) as u32)
        .collect();
    let targets: Vec<u32> = (0..n).map(|i| ((i * 101 + 7) % v) as u32).collect();

    let mut grads = kernel.zero_grads();
    let sum = kernel.loss_and_grads(
        &tokens,
        &targets,
        n,
        &mut grads,
        &mut EmbeddingScratch::default(),
    );
    let loss = (sum / n as f64) as f32;

    let x = Tensor::<B, 2, Int>::from_data(
        TensorData::new(tokens.iter().map(|&t| i64::from(t)).collect(), [n, context]),
        &device,
    );
    let y = Tensor::<B, 1, Int>::from_data(
        TensorData::new(targets.iter().map(|&t| i64::from(t)).collect(), [n]),
        &device,
    );
    let burn_loss = cross_entropy(burn_model.forward(x), y);
    let burn_value: f32 = burn_loss.clone().into_scalar();
    let g = burn_loss.backward();
    let host_of = |t: Tensor<NdArray<f32>, 2>| t.into_data().to_vec::<f32>().expect("f32");
    let table = host_of(burn_model.embedding.grad(&g).expect("table grad"));
    let weight_t = host_of(burn_model.output.weight.grad(&g).expect("weight grad")); // [d, v]
    let bias = burn_model
        .output
        .bias
        .grad(&g)
        .expect("bias grad")
        .into_data()
        .to_vec::<f32>()
        .expect("f32");
    let d = config.model.dim;
    let weight: Vec<f32> = (0..v * d).map(|i| weight_t[(i % d) * v + i / d]).collect();

    assert!(
        (loss - burn_value).abs() < 1e-5,
        "loss {loss} vs burn {burn_value}"
    );
    let close = |name: &str, ours: &[f32], theirs: &[f32]| {
        assert_eq!(ours.len(), theirs.len(), "{name}");
        for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
            assert!(
                (a - b).abs() <= 1e-6 + 1e-4 * b.abs(),
                "{name}[{i}]: host {a}, burn {b}"
            );
        }
    };
    close("embedding.weight", &grads.table, &table);
    close("output.weight", &grads.weight, &weight);
    close("output.bias", &grads.bias, &bias);
}

/// The batch halves run on two threads when there are two; one thread must
/// give the same table to the bit.
#[test]
fn the_table_is_the_same_on_one_thread_or_two() {
    let data = corpus();
    let config = config(2);
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| train(&config, &data))
    };
    let (one, two) = (on(1), on(2));
    assert_eq!(one.meta.params_sha256, two.meta.params_sha256);
    assert_eq!(one.params, two.params);
}

#[derive(Default)]
struct Count {
    steps: AtomicUsize,
    epochs: AtomicUsize,
}

impl EmbeddingObserver for Count {
    fn step(&self, _: f32) {
        self.steps.fetch_add(1, Ordering::Relaxed);
    }
    fn epoch_finished(&self, _: &EpochReport) {
        self.epochs.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn training_reduces_the_validation_loss() {
    let t = train(&config(3), &corpus());
    let v = &t.meta.val_loss;
    assert_eq!((v.len(), t.meta.kept_epoch), (3, 3));
    assert!(v[0] < (359f32).ln(), "{v:?}");
    assert!(v[2] < v[0] * 0.8, "{v:?}");
    assert!(t.meta.train_loss[2] < t.meta.train_loss[0]);
    let windows: usize = [240 + 2, 240 + 2, 160 + 2].iter().map(|n| n - 4).sum();
    assert_eq!(
        (t.meta.train_windows, t.meta.validation_windows),
        (windows, 82 - 4)
    );
    assert_eq!(t.table().shape, [359, 32]);
    assert_eq!(t.val_loss(), v[2]);
}

#[test]
fn early_stopping_stops_after_patience_epochs_without_improvement() {
    // With a zero learning rate nothing moves, so after the first epoch the
    // validation loss never improves: 1 epoch + `patience` more, then stop.
    let mut c = config(20);
    c.training.lr = 0.0;
    c.training.patience = 3;
    let t = train(&c, &corpus());
    assert_eq!(t.meta.val_loss.len(), 4);
    assert!(t.meta.stopped_early);
    assert_eq!((t.meta.best_epoch, t.meta.kept_epoch), (1, 4));
    assert!(t.meta.val_loss.iter().all(|v| *v == t.meta.val_loss[0]));

    // Reaching max_epochs is not an early stop, even on the patience-th epoch.
    c.training.max_epochs = 4;
    let t = train(&c, &corpus());
    assert_eq!(t.meta.val_loss.len(), 4);
    assert!(!t.meta.stopped_early);
}

#[test]
fn restore_best_keeps_the_best_epochs_parameters() {
    // A learning rate far too high makes the loss jump about; whichever epoch
    // was best is the one kept.
    let mut c = config(4);
    c.training.lr = 5.0;
    c.training.patience = 10;
    c.training.restore_best = true;
    let t = train(&c, &corpus());
    let best = t
        .meta
        .val_loss
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i + 1);
    assert_eq!(Some(t.meta.kept_epoch), best);
    assert_eq!(t.meta.kept_epoch, t.meta.best_epoch);
    assert!(
        t.meta.kept_epoch < 4,
        "the best epoch should not be the last: {:?}",
        t.meta.val_loss
    );
    // Training is deterministic, so a run stopped at the best epoch ends with
    // the very parameters that were kept.
    c.training.restore_best = false;
    c.training.max_epochs = t.meta.best_epoch;
    assert_eq!(train(&c, &corpus()).params, t.params);
}

#[test]
fn save_then_load_gives_identical_parameters_and_skips_training() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddingStore::new(dir.path().join("embeddings"));
    let (c, data) = (config(1), corpus());
    let first = Count::default();
    let (trained, how) = load_or_train(&store, &c, &data, &first).expect("train");
    assert_eq!(how, Provenance::Trained);
    assert!(first.steps.load(Ordering::Relaxed) > 0);
    let hash = &trained.meta.hash;
    assert!(store.params_path(hash).is_file() && store.meta_path(hash).is_file());

    let again = Count::default();
    let (loaded, how) = load_or_train(&store, &c, &data, &again).expect("load");
    assert_eq!(how, Provenance::Loaded);
    assert_eq!(
        (
            again.steps.load(Ordering::Relaxed),
            again.epochs.load(Ordering::Relaxed)
        ),
        (0, 0)
    );
    assert_eq!(loaded.params, trained.params);
    assert_eq!(loaded.meta.params_sha256, trained.meta.params_sha256);
    assert_eq!(loaded.meta.val_loss, trained.meta.val_loss);
    assert_eq!(loaded.meta.config, trained.meta.config);

    // A damaged table is refused, naming the file, never silently used.
    let path = store.params_path(hash);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[100] ^= 1;
    std::fs::write(&path, bytes).expect("write");
    let err = store.load(hash).expect_err("damaged").to_string();
    assert!(
        err.contains(&*path.to_string_lossy()) && err.contains("hash"),
        "{err}"
    );

    assert!(store.load(&"0".repeat(64)).expect("absent").is_none());
}

#[test]
fn the_hash_changes_with_the_config_or_data_and_nothing_else() {
    let (c, data) = (config(2), corpus());
    let hash = embedding_hash(&c, &data.files);
    assert_eq!(hash.len(), 64);
    assert_eq!(hash, embedding_hash(&c.clone(), &corpus().files));
    // The same config written differently (keys reordered, spec spelled short)
    // hashes alike once validated.
    let text = r#"
        [init]
        bias = "uniform(low=-0.17677669529663687, high=0.17677669529663687)"
        weight = "pytorch-linear-default"
        embedding = "normal"
        [training]
        seed = 1
        lr = 0.02
        beta1 = 0.9
        beta2 = 0.999
        epsilon = 1e-8
        batch_size = 32
        max_epochs = 2
        patience = 5
        [data]
        split = { seed = 20190506, kind = "study" }
        [model]
        context = 4
        dim = 32
        vocabulary = 359
    "#;
    let parsed = EmbeddingConfig::parse(Path::new("t.toml"), text).expect("parse");
    assert_eq!(parsed.canonical_json(), c.canonical_json());
    assert_eq!(embedding_hash(&parsed, &data.files), hash);

    let mut changed = Vec::new();
    let mut k = c.clone();
    k.model.context = 8;
    changed.push(k);
    let mut k = c.clone();
    k.training.lr = 0.01;
    changed.push(k);
    let mut k = c.clone();
    k.training.seed = 2;
    changed.push(k);
    let mut k = c.clone();
    k.data.max_windows = Some(100);
    changed.push(k);
    let mut k = c.clone();
    k.data.split = SplitScheme::Metadata;
    changed.push(k);
    let mut k = c.clone();
    k.init.insert("bias".into(), "zeros".into());
    changed.push(k);
    for k in &changed {
        assert_ne!(embedding_hash(k, &data.files), hash, "{k:?}");
    }
    let other = EmbeddingData::from_pieces(vec![piece("a", 30, 1)], vec![piece("v", 10, 1)]);
    assert_ne!(embedding_hash(&c, &other.files), hash);
}

#[test]
fn tokens_never_seen_keep_their_initial_rows_and_are_flagged() {
    let c = config(2);
    let t = train(&c, &corpus());
    // Every token outside the phrase and start: end (357) only ever follows a
    // context, so its row is untrained though it occurs; pad (358) never occurs.
    let in_context: Vec<u32> = PHRASE.iter().copied().chain([356]).collect();
    let expected_untrained: Vec<u32> = (0..359).filter(|t| !in_context.contains(t)).collect();
    assert_eq!(t.meta.untrained_rows, expected_untrained);
    let expected_unseen: Vec<u32> = expected_untrained
        .iter()
        .copied()
        .filter(|&t| t != 357)
        .collect();
    assert_eq!(t.meta.unseen_tokens, expected_unseen);

    let initial =
        HostParams::sample(&c.model.param_specs(), &c.plan().expect("plan"), 1).expect("sample");
    assert_eq!(initial.sha256(), t.meta.init_sha256);
    let before = initial.get("embedding.weight").expect("table");
    let after = &t.table().values;
    let row = |v: &[f32], tok: u32| v[tok as usize * 32..(tok as usize + 1) * 32].to_vec();
    for tok in 0..359u32 {
        let same = row(before, tok) == row(after, tok);
        assert_eq!(same, expected_untrained.contains(&tok), "token {tok}");
    }
}

#[test]
fn a_token_outside_the_vocabulary_is_an_error_not_a_panic() {
    let mut bad = piece("bad", 5, 0);
    bad.tokens[3] = 400;
    let data = EmbeddingData::from_pieces(vec![bad], vec![piece("v", 5, 0)]);
    let dir = tempfile::tempdir().expect("tempdir");
    let err = load_or_train(
        &EmbeddingStore::new(dir.path()),
        &config(1),
        &data,
        &Count::default(),
    )
    .expect_err("out of range")
    .to_string();
    assert!(err.contains("bad") && err.contains("400"), "{err}");
}

/// Ten tiny MIDI files under `maestro/2018/` and a manifest listing them.
fn fixture(root: &Path) -> (Manifest, Cache) {
    let mirror = root.join("mirror");
    std::fs::create_dir_all(mirror.join("maestro/2018")).expect("mkdir");
    let mut manifest = String::new();
    for f in 0..10u8 {
        let notes: Vec<Note> = (0..40u64)
            .map(|i| Note {
                time: i * 50,
                pitch: 48 + ((i * 7 + u64::from(f)) % 24) as u8,
                duration: 80,
                velocity: 64,
            })
            .collect();
        let bytes = encode_midi(&notes, &MidiWriteOptions::default()).expect("midi");
        let path = format!("maestro/2018/piece-{f}.midi");
        std::fs::write(mirror.join(&path), &bytes).expect("write");
        manifest.push_str(&format!(
            "[[file]]\ndataset = \"maestro\"\npath = \"{path}\"\nsha256 = \"{}\"\nsize = {}\n\n",
            sha256_bytes(&bytes),
            bytes.len()
        ));
    }
    let manifest = Manifest::parse(Path::new("fixture.toml"), &manifest).expect("manifest");
    let cache = Cache::new(root.join("cache"), Some(mirror)).offline();
    for entry in &manifest.files {
        cache.ensure(entry).expect("copy");
    }
    (manifest, cache)
}

#[test]
fn maestro_is_read_through_the_verified_cache_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (manifest, cache) = fixture(dir.path());
    let c = config(1);
    let data = EmbeddingData::maestro(&manifest, &cache, &c).expect("load");
    // The study's split of 10 files: 8 train+validation (6 + 2), 2 test.
    assert_eq!((data.train.len(), data.validation.len()), (6, 2));
    assert_eq!(data.files.len(), 10);
    let trained = train(&c, &data);
    assert_eq!(trained.meta.data_files, data.files);

    // A file the manifest does not list would change the split unverified.
    let extra = cache.dir().join("maestro/2018/extra.midi");
    std::fs::copy(cache.dir().join("maestro/2018/piece-0.midi"), &extra).expect("copy");
    let err = EmbeddingData::maestro(&manifest, &cache, &c)
        .expect_err("unlisted")
        .to_string();
    assert!(err.contains("extra.midi"), "{err}");
    std::fs::remove_file(&extra).expect("rm");

    // A damaged file is refused before anything is read.
    let damaged = cache.dir().join("maestro/2018/piece-3.midi");
    let mut bytes = std::fs::read(&damaged).expect("read");
    bytes[20] ^= 0x40;
    std::fs::write(&damaged, bytes).expect("write");
    let err = EmbeddingData::maestro(&manifest, &cache, &c)
        .expect_err("damaged")
        .to_string();
    assert!(
        err.contains("piece-3.midi") && err.contains("sha256 mismatch"),
        "{err}"
    );
}

/// The shared dataset mirror, when this machine has one.
fn mirror() -> Option<PathBuf> {
    let dir = std::env::var_os("INITLAB_DATA_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"));
    dir.join("maestro").is_dir().then_some(dir)
}

#[test]
fn real_maestro_windows_train_for_a_few_steps() {
    let Some(mirror) = mirror() else {
        eprintln!("no MAESTRO mirror (INITLAB_DATA_MIRROR or ../shared/datasets): skipped");
        return;
    };
    let manifest_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/manifest.toml");
    let manifest = Manifest::load(&manifest_path).expect("manifest");
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = Cache::new(dir.path(), Some(mirror)).offline();
    for entry in manifest.dataset("maestro").expect("maestro entries") {
        cache.ensure(entry).expect("copy from the mirror");
    }
    let mut c = EmbeddingConfig::study(16);
    c.data.max_windows = Some(640);
    c.training.max_epochs = 1;
    let data = EmbeddingData::maestro(&manifest, &cache, &c).expect("MAESTRO");
    assert!(data.skipped.is_empty(), "{:?}", data.skipped);
    assert_eq!((data.train.len(), data.validation.len()), (59, 15));
    let t = train(&c, &data);
    assert_eq!(
        (t.meta.train_windows, t.meta.validation_windows),
        (640, 640)
    );
    assert!(t.meta.val_loss[0].is_finite());
    assert!(t.meta.untrained_rows.contains(&358), "pad never occurs");
}
