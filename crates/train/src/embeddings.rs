//! Pre-training the LSTM study's note embeddings, once per (data, config).
//!
//! The study trains its embedding model (see [`NoteEmbeddingConfig`]) once and
//! starts every LSTM run from the stored table. Here that table is named by the
//! sha256 of the canonical [`EmbeddingConfig`] and the sha256 of every data file
//! it was trained on ([`embedding_hash`]), saved under the cache by
//! [`EmbeddingStore`], and found again by [`load_or_train`]: the same config on
//! the same data is never trained twice, and a changed config or file never
//! picks up a stale table.
//!
//! Files, in `<cache>/embeddings/`:
//! - `<hash>.bin`: every parameter in [`NoteEmbeddingConfig::param_specs`] order,
//!   PyTorch layout, little-endian f32, nothing else (`numpy.fromfile(path, "<f4")`);
//! - `<hash>.json`: an [`EmbeddingMeta`]: the config, the data files, the loss
//!   of every epoch, the tokens whose rows were never trained, each tensor's name,
//!   shape and byte offset, and the parameters' sha256, checked on every load.
//!
//! Both are written atomically, the table first, so a `.json` that exists
//! always describes a complete table.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use initlab_data::maestro::{
    EventOptions, Maestro, Piece, Split, SplitScheme, Vocabulary, Windows,
};
use initlab_data::{sha256_bytes, write_atomic, Cache, Manifest};
use initlab_init::elementwise::Constant;
use initlab_init::Scheme;
use initlab_models::{
    params_sha256, EmbeddingScratch, HostNoteEmbedding, HostParams, InitPlan, NoteEmbeddingConfig,
    NoteEmbeddingGrads,
};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::optim::Adam;
use crate::record::{now_rfc3339, NamedTensor};
use crate::toml_file;
use crate::{Error, Result};

/// The format tag of the saved meta, and the first line hashed into every name:
/// changing how a table is trained or stored changes this, so old tables are
/// never mistaken for new ones. `/1` tables were trained through burn's
/// autodiff; `/2` on the host, whose float sums run in another order; `/3`
/// with the host kernels' `exp` in the softmax and its sums in 16 lanes.
pub const EMBEDDING_FORMAT: &str = "initlab-embedding/3";

/// What [`EmbeddingMeta::backend`] records for a table trained here.
const TRAINER: &str = "host (initlab-models HostNoteEmbedding, f32, batch in two halves)";

/// The parameter groups of the model, each of which the config's `[init]` names.
const GROUPS: [&str; 3] = ["embedding", "weight", "bias"];

/// Everything that determines a trained table besides the data. Its canonical
/// JSON (sorted keys) is hashed with the data files' sha256 into its name.
///
/// Read from `experiments/embeddings/*.toml` ([`EmbeddingConfig::load`]); the
/// study's is [`EmbeddingConfig::study`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingConfig {
    /// The model's shape; `vocabulary` must match the event options.
    pub model: NoteEmbeddingConfig,
    /// Which tokens it is trained on.
    pub data: EmbeddingDataConfig,
    /// The optimizer and the stopping rule.
    pub training: EmbeddingTraining,
    /// The initializer spec of each parameter group (`embedding`, `weight`,
    /// `bias`), canonical after [`EmbeddingConfig::validate`].
    pub init: BTreeMap<String, String>,
}

/// The data side of an [`EmbeddingConfig`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingDataConfig {
    /// How MAESTRO files are split; the table must be trained on the training
    /// split of the LSTM study that uses it, so it never saw that study's test pieces.
    pub split: SplitScheme,
    /// The tokenizer's options (muspy's defaults: 359 tokens with start, end, pad).
    #[serde(default)]
    pub events: EventOptions,
    /// Train on at most this many windows (and validate on at most this many),
    /// a seeded random subset, to try the pipeline quickly; none: every window.
    #[serde(default)]
    pub max_windows: Option<usize>,
}

/// Optimizer and stopping rule of an [`EmbeddingConfig`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingTraining {
    /// Adam's learning rate (the study: 1e-4).
    pub lr: f64,
    /// Adam's β₁ (PyTorch: 0.9).
    pub beta1: f64,
    /// Adam's β₂ (PyTorch: 0.999).
    pub beta2: f64,
    /// Adam's ε (PyTorch: 1e-8; burn's default, 1e-5, is not the study's).
    pub epsilon: f64,
    /// Windows per step (64).
    pub batch_size: usize,
    /// Epochs at most (15).
    pub max_epochs: usize,
    /// Stop after this many epochs in a row without a lower validation loss (5).
    pub patience: usize,
    /// Keep the parameters of the epoch with the lowest validation loss rather
    /// than those of the last epoch. The study keeps the last (false).
    #[serde(default)]
    pub restore_best: bool,
    /// Seeds the initial parameters, the window subset and each epoch's shuffle.
    pub seed: u64,
}

impl EmbeddingConfig {
    /// The study's configuration with `context` tokens summed: Adam lr 1e-4
    /// (PyTorch's betas and ε), batch 64, up to 15 epochs, patience 5, the last
    /// epoch's parameters kept, PyTorch's default initializers (`nn.Embedding`:
    /// N(0, 1); `nn.Linear`: U(±1/√32) for weight and bias), and the study's
    /// 59/15/19 file split of MAESTRO 2018 with a fixed seed.
    pub fn study(context: usize) -> Self {
        let model = NoteEmbeddingConfig::study(context);
        let bound = 1.0 / (model.dim as f64).sqrt();
        let init = [
            ("embedding", "normal(mean=0,std=1)".to_string()),
            ("weight", "pytorch-linear-default".to_string()),
            ("bias", format!("uniform(high={bound},low={})", -bound)),
        ]
        .into_iter()
        .map(|(g, s)| (g.to_string(), s))
        .collect();
        let mut config = EmbeddingConfig {
            model,
            data: EmbeddingDataConfig {
                split: SplitScheme::Study { seed: 20190506 },
                events: EventOptions::default(),
                max_windows: None,
            },
            training: EmbeddingTraining {
                lr: 1e-4,
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 1e-8,
                batch_size: 64,
                max_epochs: 15,
                patience: 5,
                restore_best: false,
                seed: 1,
            },
            init,
        };
        // The specs above are valid; this only puts them in canonical form.
        let _ = config.canonicalize_init();
        config
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self> {
        Self::validated(path, toml_file::load(path)?)
    }

    /// Parses and validates config text; `path` names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        Self::validated(path, toml_file::parse(path, text)?)
    }

    fn validated(path: &Path, mut config: EmbeddingConfig) -> Result<Self> {
        config.validate().map_err(|e| match e {
            Error::Invalid { message, .. } => Error::Invalid {
                path: path.to_path_buf(),
                message,
            },
            e => e,
        })?;
        Ok(config)
    }

    /// Checks every value and puts the initializer specs in canonical form, so
    /// that two spellings of one config hash alike. Errors name the key.
    pub fn validate(&mut self) -> Result<()> {
        self.model.validate()?;
        let vocabulary = Vocabulary::new(self.data.events)?;
        if self.model.vocabulary != vocabulary.size() as usize {
            return Err(invalid(format!(
                "model.vocabulary is {}, but the event options give {} tokens (events, start, end, pad)",
                self.model.vocabulary,
                vocabulary.size()
            )));
        }
        let t = &self.training;
        if !(t.lr.is_finite() && t.lr >= 0.0) {
            return Err(invalid(format!(
                "training.lr must be finite and ≥ 0, got {}",
                t.lr
            )));
        }
        for (name, beta) in [("beta1", t.beta1), ("beta2", t.beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err(invalid(format!(
                    "training.{name} must be in [0, 1), got {beta}"
                )));
            }
        }
        if !(t.epsilon.is_finite() && t.epsilon > 0.0) {
            return Err(invalid(format!(
                "training.epsilon must be positive, got {}",
                t.epsilon
            )));
        }
        for (name, value) in [
            ("training.batch_size", t.batch_size),
            ("training.max_epochs", t.max_epochs),
            ("training.patience", t.patience),
        ] {
            if value == 0 {
                return Err(invalid(format!("{name} must be at least 1")));
            }
        }
        if self.data.max_windows == Some(0) {
            return Err(invalid("data.max_windows must be at least 1".into()));
        }
        self.canonicalize_init()?;
        self.plan()?.validate(&self.model.param_specs())?;
        Ok(())
    }

    fn canonicalize_init(&mut self) -> Result<()> {
        for group in self.init.keys() {
            if !GROUPS.contains(&group.as_str()) {
                return Err(invalid(format!(
                    "init.{group}: no such parameter group; the groups are {}",
                    GROUPS.join(", ")
                )));
            }
        }
        for group in GROUPS {
            let spec = self.init.get_mut(group).ok_or_else(|| {
                invalid(format!(
                    "init.{group} is missing: name an initializer for each of {}",
                    GROUPS.join(", ")
                ))
            })?;
            let scheme: Scheme = spec
                .parse()
                .map_err(|e| invalid(format!("init.{group}: {e}")))?;
            *spec = scheme.to_string();
        }
        Ok(())
    }

    /// The initializer of each parameter group.
    pub fn plan(&self) -> Result<InitPlan> {
        let mut plan = InitPlan::new(Scheme::new(Constant::Zeros));
        for (group, spec) in &self.init {
            let scheme: Scheme = spec
                .parse()
                .map_err(|e| invalid(format!("init.{group}: {e}")))?;
            plan = plan.with(group, scheme);
        }
        Ok(plan)
    }

    /// The canonical JSON: object keys sorted, numbers in shortest round-trip form.
    pub fn canonical_json(&self) -> String {
        // serde_json's Value keeps object keys in a BTreeMap, so this sorts them.
        serde_json::to_value(self)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }
}

/// One file a table was trained from, by its sha256.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    /// Path in the manifest (`maestro/2018/….midi`), or a name for in-memory data.
    pub path: String,
    /// Lowercase hex sha256 of its bytes.
    pub sha256: String,
}

/// The name of a table: lowercase hex sha256 of [`EMBEDDING_FORMAT`], the
/// config's canonical JSON and each data file's `sha256  path` line, sorted by
/// path, each followed by a newline. The backend is not part of it: every LSTM
/// run, on any backend, starts from the same table.
pub fn embedding_hash(config: &EmbeddingConfig, files: &[DataFile]) -> String {
    let mut files: Vec<&DataFile> = files.iter().collect();
    files.sort();
    let mut h = Sha256::new();
    h.update(EMBEDDING_FORMAT.as_bytes());
    h.update(b"\n");
    h.update(config.canonical_json().as_bytes());
    h.update(b"\n");
    for f in files {
        h.update(format!("{}  {}\n", f.sha256, f.path).as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Tokenized pieces to train and validate on, and the files they came from.
#[derive(Clone, Debug)]
pub struct EmbeddingData {
    /// Fitted on.
    pub train: Vec<Piece>,
    /// Early stopping watches the loss on these.
    pub validation: Vec<Piece>,
    /// What the pieces were read from; hashed into the table's name.
    pub files: Vec<DataFile>,
    /// Files left out, with the reason (`path: why`); callers should report them.
    pub skipped: Vec<String>,
}

impl EmbeddingData {
    /// In-memory pieces (tests, other corpora). Each split is named by the sha256
    /// of its tokens, so different tokens never share a table.
    pub fn from_pieces(train: Vec<Piece>, validation: Vec<Piece>) -> Self {
        let digest = |name: &str, pieces: &[Piece]| {
            let mut bytes = Vec::new();
            for p in pieces {
                bytes.extend((p.tokens.len() as u64).to_le_bytes());
                bytes.extend(p.tokens.iter().flat_map(|t| t.to_le_bytes()));
            }
            DataFile {
                path: format!("tokens/{name}"),
                sha256: sha256_bytes(&bytes),
            }
        };
        let files = vec![digest("train", &train), digest("validation", &validation)];
        EmbeddingData {
            train,
            validation,
            files,
            skipped: Vec::new(),
        }
    }

    /// MAESTRO from the cache, split and tokenized as `config.data` says
    /// (see [`verified_maestro`]).
    pub fn maestro(manifest: &Manifest, cache: &Cache, config: &EmbeddingConfig) -> Result<Self> {
        let (maestro, files) = verified_maestro(manifest, cache, config)?;
        Ok(EmbeddingData {
            train: maestro.pieces(Split::Train).to_vec(),
            validation: maestro.pieces(Split::Validation).to_vec(),
            files,
            skipped: maestro
                .skipped()
                .iter()
                .map(|s| format!("{}: {}", s.path, s.error))
                .collect(),
        })
    }
}

/// MAESTRO from the cache, split and tokenized as `config.data` says, with
/// every file it was read from.
///
/// Every `maestro` file of the manifest is verified against its sha256 first
/// ([`Cache::verified`]), and any MIDI or metadata file under
/// `<cache>/maestro/` that the manifest does not list is an error, so that
/// nothing unverified is trained on. Call `cargo xtask download` (or
/// [`Cache::ensure`]) before.
pub fn verified_maestro(
    manifest: &Manifest,
    cache: &Cache,
    config: &EmbeddingConfig,
) -> Result<(Maestro, Vec<DataFile>)> {
    let entries = manifest.dataset("maestro")?;
    let mut files = Vec::with_capacity(entries.len());
    for entry in &entries {
        cache.verified(entry)?;
        files.push(DataFile {
            path: entry.path.clone(),
            sha256: entry.sha256.clone(),
        });
    }
    let root = cache.dir().join("maestro");
    let listed: HashSet<&str> = entries
        .iter()
        .filter_map(|e| e.path.strip_prefix("maestro/"))
        .collect();
    let unlisted = |path: &str| Error::Invalid {
        path: root.join(path),
        message: format!(
            "in the cache but not in {}, so it cannot be verified; remove it",
            manifest.path.display()
        ),
    };
    // Maestro::load reads the newest maestro-v*.csv beside the year folders.
    let dir = std::fs::read_dir(&root).map_err(|error| Error::Io {
        path: root.clone(),
        error,
    })?;
    for item in dir.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        if name.starts_with("maestro-v") && name.ends_with(".csv") && !listed.contains(&*name) {
            return Err(unlisted(&name));
        }
    }
    let vocabulary = Vocabulary::new(config.data.events)?;
    let maestro = Maestro::load(&root, vocabulary, config.data.split)?;
    let read = Split::ALL
        .into_iter()
        .flat_map(|s| maestro.pieces(s).iter().map(|p| p.path.as_str()))
        .chain(maestro.skipped().iter().map(|s| s.path.as_str()));
    for path in read {
        if !listed.contains(path) {
            return Err(unlisted(path));
        }
    }
    Ok((maestro, files))
}

/// What a trained table's `.json` records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingMeta {
    /// [`EMBEDDING_FORMAT`].
    pub format: String,
    /// [`embedding_hash`] of `config` and `data_files`: the table's name.
    pub hash: String,
    /// The config it was trained with.
    pub config: EmbeddingConfig,
    /// The files it was trained from.
    pub data_files: Vec<DataFile>,
    /// What trained it (format 1: the burn backend; format 2: the host trainer).
    pub backend: String,
    /// Windows per training epoch.
    pub train_windows: usize,
    /// Windows the validation loss is taken over.
    pub validation_windows: usize,
    /// Mean training loss of each epoch trained.
    pub train_loss: Vec<f32>,
    /// Validation loss after each epoch trained.
    pub val_loss: Vec<f32>,
    /// Wall seconds of each epoch's training steps (validation excluded).
    pub epoch_seconds: Vec<f64>,
    /// The epoch (1-based) with the lowest validation loss.
    pub best_epoch: usize,
    /// The epoch (1-based) whose parameters were saved: the last, or the best
    /// with `restore_best`.
    pub kept_epoch: usize,
    /// Whether training stopped before `max_epochs` for lack of improvement.
    pub stopped_early: bool,
    /// Tokens that occur nowhere in the training windows, context or target.
    pub unseen_tokens: Vec<u32>,
    /// Tokens never in a training window's context: their embedding rows got no
    /// gradient and keep their initial values (a superset of `unseen_tokens`;
    /// `end` is one, since it only ever follows a context).
    pub untrained_rows: Vec<u32>,
    /// sha256 of the initial parameters ([`params_sha256`]).
    pub init_sha256: String,
    /// sha256 of the saved parameters, checked on every load.
    pub params_sha256: String,
    /// Each tensor in the `.bin`, in order.
    pub tensors: Vec<TensorInfo>,
    /// When training finished, RFC 3339 UTC.
    pub finished_at: String,
    /// Wall seconds of the whole training, validation included.
    pub wall_seconds: f64,
}

/// Where one tensor lies in a table's `.bin`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorInfo {
    /// Parameter name (`embedding.weight`).
    pub name: String,
    /// Shape, PyTorch layout.
    pub shape: Vec<usize>,
    /// Byte offset of its first value.
    pub offset: usize,
}

/// A trained note-embedding model: its record and its parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainedEmbedding {
    /// What was trained, how, and how it went.
    pub meta: EmbeddingMeta,
    /// Every parameter in [`NoteEmbeddingConfig::param_specs`] order, PyTorch layout.
    pub params: Vec<NamedTensor>,
}

impl TrainedEmbedding {
    /// The embedding table, `(vocabulary, dim)`: what the LSTM study loads.
    pub fn table(&self) -> &NamedTensor {
        // The params always come from param_specs, whose first entry is the table.
        &self.params[0]
    }

    /// The validation loss of the kept epoch.
    pub fn val_loss(&self) -> f32 {
        self.meta
            .val_loss
            .get(self.meta.kept_epoch.saturating_sub(1))
            .copied()
            .unwrap_or(f32::NAN)
    }
}

/// Told about training progress (progress bars, logs).
pub trait EmbeddingObserver: Sync {
    /// An epoch of `steps` steps begins (`epoch` is 1-based).
    fn epoch_started(&self, _epoch: usize, _steps: usize) {}
    /// One step finished with this training loss.
    fn step(&self, _loss: f32) {}
    /// An epoch and its validation finished.
    fn epoch_finished(&self, _report: &EpochReport) {}
}

/// One finished epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's windows.
    pub train_loss: f32,
    /// Validation loss after the epoch.
    pub val_loss: f32,
    /// Whether it is the lowest so far.
    pub improved: bool,
    /// Wall seconds of the training steps.
    pub seconds: f64,
    /// Training windows per second.
    pub windows_per_second: f64,
}

/// Trains the note-embedding model on the host ([`HostNoteEmbedding`]), with
/// burn's Adam formula, each batch in two halves on two threads
/// ([`split_step`]): the same config and data give the same table bit for bit
/// for any thread count.
///
/// The initial parameters are sampled from `config.training.seed`. A
/// non-finite loss is an error: a diverged table is of no use to the LSTM study.
pub fn train_embedding(
    config: &EmbeddingConfig,
    data: &EmbeddingData,
    observer: &dyn EmbeddingObserver,
) -> Result<TrainedEmbedding> {
    crate::allocator::keep_freed_memory();
    let mut config = config.clone();
    config.validate()?;
    let hash = embedding_hash(&config, &data.files);
    let fail = |message: String| Error::Invalid {
        path: PathBuf::from(format!("embedding {hash}")),
        message,
    };
    let t = &config.training;
    let context = config.model.context;
    let vocabulary = config.model.vocabulary;
    for piece in data.train.iter().chain(&data.validation) {
        if let Some(bad) = piece.tokens.iter().find(|&&t| t as usize >= vocabulary) {
            return Err(fail(format!(
                "{}: token {bad} is outside the vocabulary of {vocabulary}",
                piece.path
            )));
        }
    }
    let train = Windows::new(&data.train, context)?;
    let validation = Windows::new(&data.validation, context)?;
    let mut rng = ChaCha8Rng::seed_from_u64(t.seed);
    let mut order = subset(train.len(), config.data.max_windows, &mut rng);
    let val_order = subset(validation.len(), config.data.max_windows, &mut rng);
    if order.is_empty() || val_order.is_empty() {
        return Err(fail(format!(
            "no windows of {context} tokens: {} training, {} validation",
            order.len(),
            val_order.len()
        )));
    }
    let (unseen_tokens, untrained_rows) = usage(&train, &order, vocabulary);

    let specs = config.model.param_specs();
    let host = HostParams::sample(&specs, &config.plan()?, t.seed)?;
    let mut model = HostNoteEmbedding::new(&config.model, &host)?;
    let adam = Adam {
        beta1: t.beta1 as f32,
        beta2: t.beta2 as f32,
        epsilon: t.epsilon as f32,
    };
    let mut halves = [model.zero_grads(), model.zero_grads()];
    let mut moments = [model.zero_grads(), model.zero_grads()];
    let mut scratches = [EmbeddingScratch::default(), EmbeddingScratch::default()];
    let mut adam_steps = 0i32;

    let started = Instant::now();
    let steps = order.len().div_ceil(t.batch_size);
    let (mut train_loss, mut val_loss, mut epoch_seconds) = (Vec::new(), Vec::new(), Vec::new());
    let (mut best, mut best_epoch, mut since_best) = (f32::INFINITY, 0usize, 0usize);
    let mut best_params = None;
    let mut stopped_early = false;
    // The whole loop is one job of the thread pool, so that each step's join
    // of two half batches starts on a worker and the other worker, still
    // awake from the step before, takes its half at once: from outside the
    // pool every step was a hand-off to it and back, 35 µs of a 170 µs step.
    rayon::scope(|_| -> Result<()> {
        for epoch in 1..=t.max_epochs {
            observer.epoch_started(epoch, steps);
            let epoch_start = Instant::now();
            order.shuffle(&mut rng);
            let mut loss_sum = 0.0f64;
            for (step, batch) in order.chunks(t.batch_size).enumerate() {
                let (x, y) = train.gather(batch);
                let value = split_step(&model, &x, &y, &mut halves, &mut scratches);
                observer.step(value);
                if !value.is_finite() {
                    return Err(fail(format!(
                        "training loss is {value} at epoch {epoch}, step {}",
                        step + 1
                    )));
                }
                loss_sum += f64::from(value) * batch.len() as f64;
                adam_steps += 1;
                let update = |param: &mut Vec<f32>, grad: &mut Vec<f32>, half: &[f32], m, v| {
                    grad.iter_mut().zip(half).for_each(|(a, b)| *a += b);
                    adam.update(t.lr, adam_steps, adam_steps == 1, param, grad, m, v);
                };
                // The halves' sum and the update, the table on one thread and
                // the output layer on the other.
                let ([g0, g1], [m, v]) = (&mut halves, &mut moments);
                let model = &mut model;
                rayon::join(
                    || {
                        update(
                            &mut model.table,
                            &mut g0.table,
                            &g1.table,
                            &mut m.table,
                            &mut v.table,
                        )
                    },
                    || {
                        update(
                            &mut model.weight,
                            &mut g0.weight,
                            &g1.weight,
                            &mut m.weight,
                            &mut v.weight,
                        );
                        update(
                            &mut model.bias,
                            &mut g0.bias,
                            &g1.bias,
                            &mut m.bias,
                            &mut v.bias,
                        );
                    },
                );
            }
            let seconds = epoch_start.elapsed().as_secs_f64();
            let val = evaluate(&model, &validation, &val_order);
            if !val.is_finite() {
                return Err(fail(format!(
                    "validation loss is {val} after epoch {epoch}"
                )));
            }
            let improved = val < best;
            if improved {
                (best, best_epoch, since_best) = (val, epoch, 0);
                if t.restore_best {
                    best_params = Some(model.host_params());
                }
            } else {
                since_best += 1;
            }
            train_loss.push((loss_sum / order.len() as f64) as f32);
            val_loss.push(val);
            epoch_seconds.push(seconds);
            observer.epoch_finished(&EpochReport {
                epoch,
                train_loss: train_loss[epoch - 1],
                val_loss: val,
                improved,
                seconds,
                windows_per_second: order.len() as f64 / seconds.max(1e-9),
            });
            // As the study: stop once `patience` epochs in a row brought no improvement.
            if since_best == t.patience && epoch < t.max_epochs {
                stopped_early = true;
                break;
            }
        }
        Ok(())
    })?;
    let epochs = val_loss.len();
    let (kept_epoch, params) = match best_params {
        Some(params) => (best_epoch, params),
        None => (epochs, model.host_params()),
    };
    let params = NamedTensor::from_host(params);
    let meta = EmbeddingMeta {
        format: EMBEDDING_FORMAT.to_string(),
        hash,
        data_files: data.files.clone(),
        backend: TRAINER.to_string(),
        train_windows: order.len(),
        validation_windows: val_order.len(),
        train_loss,
        val_loss,
        epoch_seconds,
        best_epoch,
        kept_epoch,
        stopped_early,
        unseen_tokens,
        untrained_rows,
        init_sha256: host.sha256(),
        params_sha256: tensors_sha256(&params),
        tensors: tensor_infos(&params),
        finished_at: now_rfc3339(),
        wall_seconds: started.elapsed().as_secs_f64(),
        config,
    };
    Ok(TrainedEmbedding { meta, params })
}

/// The mean loss of one batch, the gradient of each half of it left in
/// `halves` (their sum is the batch's): each half on its own thread. The cut
/// is fixed by the batch alone, so the sum, and every bit of the table, is the
/// same on any number of threads.
fn split_step(
    model: &HostNoteEmbedding,
    tokens: &[u32],
    targets: &[u32],
    halves: &mut [NoteEmbeddingGrads; 2],
    scratches: &mut [EmbeddingScratch; 2],
) -> f32 {
    let n = targets.len();
    let cut = n / 2;
    let context = tokens.len() / n.max(1);
    let ([g0, g1], [s0, s1]) = (halves, scratches);
    let (l0, l1) = rayon::join(
        || model.loss_and_grads(&tokens[..cut * context], &targets[..cut], n, g0, s0),
        || model.loss_and_grads(&tokens[cut * context..], &targets[cut..], n, g1, s1),
    );
    if cut == 0 {
        // One window: the second half is the whole batch.
        std::mem::swap(g0, g1);
        g1.table.fill(0.0);
        g1.weight.fill(0.0);
        g1.bias.fill(0.0);
        return (l1 / n as f64) as f32;
    }
    ((l0 + l1) / n as f64) as f32
}

/// Up to `limit` distinct indices below `n`, a seeded random choice in
/// ascending order; all of them, in order, when `limit` is none or at least `n`.
fn subset(n: usize, limit: Option<usize>, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    match limit {
        Some(limit) if limit < n => {
            let (chosen, _) = all.partial_shuffle(rng, limit);
            let mut chosen = chosen.to_vec();
            chosen.sort_unstable();
            chosen
        }
        _ => all,
    }
}

/// (tokens in no chosen window at all, tokens in no chosen window's context).
fn usage(windows: &Windows<'_>, chosen: &[usize], vocabulary: usize) -> (Vec<u32>, Vec<u32>) {
    let mut in_context = vec![false; vocabulary];
    let mut as_target = vec![false; vocabulary];
    for window in chosen.iter().filter_map(|&i| windows.get(i)) {
        for &t in window.input {
            in_context[t as usize] = true;
        }
        as_target[window.target as usize] = true;
    }
    let tokens = |keep: &dyn Fn(usize) -> bool| {
        (0..vocabulary)
            .filter(|&t| keep(t))
            .map(|t| t as u32)
            .collect()
    };
    (
        tokens(&|t| !in_context[t] && !as_target[t]),
        tokens(&|t| !in_context[t]),
    )
}

/// Mean cross-entropy over the windows at `indices`.
fn evaluate(model: &HostNoteEmbedding, windows: &Windows<'_>, indices: &[usize]) -> f32 {
    // Chunks on every core, their sums added in chunk order: the same bits
    // for any thread count.
    let sums: Vec<f64> = indices
        .par_chunks(4096)
        .map_init(EmbeddingScratch::default, |scratch, chunk| {
            let (x, y) = windows.gather(chunk);
            f64::from(model.loss(&x, &y, scratch)) * chunk.len() as f64
        })
        .collect();
    (sums.iter().sum::<f64>() / indices.len().max(1) as f64) as f32
}

fn tensors_sha256(params: &[NamedTensor]) -> String {
    params_sha256(
        params
            .iter()
            .map(|t| (t.name.as_str(), t.shape.as_slice(), t.values.as_slice())),
    )
}

fn tensor_infos(params: &[NamedTensor]) -> Vec<TensorInfo> {
    let mut offset = 0;
    params
        .iter()
        .map(|t| {
            let info = TensorInfo {
                name: t.name.clone(),
                shape: t.shape.clone(),
                offset,
            };
            offset += t.values.len() * 4;
            info
        })
        .collect()
}

/// Trained tables on disk, by hash: `<dir>/<hash>.bin` and `<dir>/<hash>.json`.
#[derive(Clone, Debug)]
pub struct EmbeddingStore {
    dir: PathBuf,
}

impl EmbeddingStore {
    /// A store in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        EmbeddingStore { dir: dir.into() }
    }

    /// The store beside the datasets, `<cache>/embeddings/`: a table is derived
    /// data, kept with what it was derived from.
    pub fn in_cache(cache: &Cache) -> Self {
        Self::new(cache.dir().join("embeddings"))
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where a table's parameters are.
    pub fn params_path(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}.bin"))
    }

    /// Where a table's meta is.
    pub fn meta_path(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}.json"))
    }

    /// Writes a table, parameters first, each atomically; returns the meta's path.
    pub fn save(&self, trained: &TrainedEmbedding) -> Result<PathBuf> {
        let hash = &trained.meta.hash;
        let bytes: Vec<u8> = trained
            .params
            .iter()
            .flat_map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()))
            .collect();
        write_atomic(&self.params_path(hash), &bytes)?;
        let meta_path = self.meta_path(hash);
        let json = serde_json::to_vec_pretty(&trained.meta).map_err(|e| Error::Invalid {
            path: meta_path.clone(),
            message: format!("cannot serialize the meta: {e}"),
        })?;
        write_atomic(&meta_path, &json)?;
        Ok(meta_path)
    }

    /// The table named `hash`, or `None` when there is none. A table that is
    /// there but does not check out (a meta for another hash, a short or altered
    /// `.bin`) is an error naming the file: delete it to train again.
    pub fn load(&self, hash: &str) -> Result<Option<TrainedEmbedding>> {
        let meta_path = self.meta_path(hash);
        let json = match std::fs::read(&meta_path) {
            Ok(json) => json,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => {
                return Err(Error::Io {
                    path: meta_path,
                    error,
                })
            }
        };
        let bad = |path: &Path, message: String| Error::Invalid {
            path: path.to_path_buf(),
            message: format!("{message}; delete it to train again"),
        };
        let meta: EmbeddingMeta = serde_json::from_slice(&json)
            .map_err(|e| bad(&meta_path, format!("not an embedding meta: {e}")))?;
        if meta.format != EMBEDDING_FORMAT {
            return Err(bad(
                &meta_path,
                format!("format `{}`, expected `{EMBEDDING_FORMAT}`", meta.format),
            ));
        }
        let recomputed = embedding_hash(&meta.config, &meta.data_files);
        if meta.hash != hash || recomputed != hash {
            return Err(bad(
                &meta_path,
                format!(
                    "describes table {} (config and data hash to {recomputed}), not {hash}",
                    meta.hash
                ),
            ));
        }
        let expected_tensors = {
            let mut offset = 0;
            meta.config
                .model
                .param_specs()
                .into_iter()
                .map(|spec| {
                    let info = TensorInfo {
                        offset,
                        name: spec.name,
                        shape: spec.shape,
                    };
                    offset += info.shape.iter().product::<usize>() * 4;
                    info
                })
                .collect::<Vec<_>>()
        };
        if meta.tensors != expected_tensors {
            return Err(bad(
                &meta_path,
                "its tensors are not the model's parameters in order".into(),
            ));
        }
        let params_path = self.params_path(hash);
        let bytes = std::fs::read(&params_path).map_err(|error| Error::Io {
            path: params_path.clone(),
            error,
        })?;
        let expected: usize = meta
            .tensors
            .iter()
            .map(|t| t.shape.iter().product::<usize>() * 4)
            .sum();
        if bytes.len() != expected {
            return Err(bad(
                &params_path,
                format!("{} bytes, the meta lists {expected}", bytes.len()),
            ));
        }
        let params: Vec<NamedTensor> = meta
            .tensors
            .iter()
            .map(|t| {
                let len = t.shape.iter().product::<usize>() * 4;
                let values = bytes[t.offset..t.offset + len]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                NamedTensor {
                    name: t.name.clone(),
                    shape: t.shape.clone(),
                    values,
                }
            })
            .collect();
        let actual = tensors_sha256(&params);
        if actual != meta.params_sha256 {
            return Err(bad(
                &params_path,
                format!(
                    "parameters hash to {actual}, the meta says {}",
                    meta.params_sha256
                ),
            ));
        }
        Ok(Some(TrainedEmbedding { meta, params }))
    }
}

/// Whether [`load_or_train`] found the table or trained it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// It was in the store.
    Loaded,
    /// It was trained now and saved.
    Trained,
}

/// The table for `config` on `data`: loaded from `store` when it is there,
/// otherwise trained ([`train_embedding`]) and saved first.
pub fn load_or_train(
    store: &EmbeddingStore,
    config: &EmbeddingConfig,
    data: &EmbeddingData,
    observer: &dyn EmbeddingObserver,
) -> Result<(TrainedEmbedding, Provenance)> {
    let mut config = config.clone();
    config.validate()?;
    let hash = embedding_hash(&config, &data.files);
    if let Some(trained) = store.load(&hash)? {
        return Ok((trained, Provenance::Loaded));
    }
    let trained = train_embedding(&config, data, observer)?;
    store.save(&trained)?;
    Ok((trained, Provenance::Trained))
}

fn invalid(message: String) -> Error {
    Error::Invalid {
        path: PathBuf::from("<embedding config>"),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_config_is_the_study_config_with_context_16() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/embeddings/maestro.toml");
        let config = EmbeddingConfig::load(&path).expect("experiments/embeddings/maestro.toml");
        assert_eq!(config, EmbeddingConfig::study(16));
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = "[model]\nvocabulary = 359\ndim = 32\ncontext = 16\nwidth = 3\n";
        let err = EmbeddingConfig::parse(Path::new("e.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("e.toml:5:"), "{err}");
        assert!(err.contains("width"), "{err}");
    }

    #[test]
    fn vocabulary_must_match_the_event_options() {
        let mut config = EmbeddingConfig::study(16);
        config.data.events.encode_velocity = true;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("391"), "{err}");
    }

    #[test]
    fn a_missing_or_unknown_group_is_refused() {
        let mut config = EmbeddingConfig::study(16);
        config.init.remove("bias");
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("init.bias"));
        let mut config = EmbeddingConfig::study(16);
        config.init.insert("recurrent".into(), "zeros".into());
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("init.recurrent"));
    }

    #[test]
    fn subset_is_seeded_sorted_and_distinct() {
        let pick = |seed| subset(1000, Some(10), &mut ChaCha8Rng::seed_from_u64(seed));
        let a = pick(1);
        assert_eq!(a, pick(1));
        assert_ne!(a, pick(2));
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a.len() == 10);
        let all = subset(5, Some(10), &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(all, [0, 1, 2, 3, 4]);
    }
}
