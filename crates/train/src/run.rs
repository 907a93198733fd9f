//! A run: one point of a study's grid with one seed, its id, and what it records.

use std::collections::BTreeMap;
use std::path::PathBuf;

use initlab_models::{InitPlan, LsuvRecord};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::backend::BackendKind;
use crate::study::{DataConfig, ModelConfig, TrainingConfig};

/// Everything that determines a run's numbers. Its canonical JSON (sorted keys,
/// shortest round-trip numbers) is what the run id and the run seed are hashed from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunConfig {
    /// The study's name.
    pub study: String,
    /// The network.
    pub model: ModelConfig,
    /// The data.
    pub data: DataConfig,
    /// Training, after profile overrides.
    pub training: TrainingConfig,
    /// Canonical initializer spec per parameter group; `*` is the default.
    pub init: BTreeMap<String, String>,
    /// Which replicate of its grid point this run is (0, 1, ...).
    pub replicate: u32,
}

impl RunConfig {
    /// The canonical JSON: object keys sorted, numbers in shortest round-trip form.
    pub fn canonical_json(&self) -> String {
        // serde_json's Value keeps object keys in a BTreeMap, so this sorts them.
        serde_json::to_value(self)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }
}

/// A run ready to train: its config, id and seed.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// The config.
    pub config: RunConfig,
    /// sha256 of the canonical config, hex.
    pub config_sha256: String,
    /// The run's name everywhere: 16 hex digits of the sha256 of the config hash
    /// and the backend, so each backend's run of a config is stored apart.
    pub id: String,
    /// The backend the run trains on.
    pub backend: BackendKind,
    /// The study's master seed, which also seeds its data splits and fixed
    /// evaluation sets.
    pub master_seed: u64,
    /// The study file's folder, where paths in its config are relative to;
    /// not part of the config, so it never changes an id.
    pub study_dir: PathBuf,
    /// The RNG seed, from the study's master seed and the config hash alone: adding
    /// a grid point never changes another run's seed, and every backend starts
    /// from the same initial weights.
    pub seed: u64,
    /// The initializer's label (`glorot-normal`).
    pub label: String,
    /// The grid initializer's canonical spec.
    pub initializer: String,
    /// The published test accuracy for this initializer, if any.
    pub published: Option<f64>,
    /// Other published numbers for this run's grid point, by metric
    /// (`plateau_escape_epoch`, `best_val_accuracy`, `test_loss`).
    pub published_metrics: Vec<(String, f64)>,
    /// The grid point besides the initializer: `(axis, value label)` in the
    /// study file's order, `part` first when the study has parts.
    pub grid: Vec<(String, String)>,
    /// The initializer of every parameter group.
    pub plan: InitPlan,
}

/// What a grid point says about a run besides its config.
#[derive(Clone, Debug, Default)]
pub struct RunLabels {
    /// The initializer's label (`glorot-normal`).
    pub label: String,
    /// The grid initializer's canonical spec.
    pub initializer: String,
    /// The published test accuracy for this initializer, if any.
    pub published: Option<f64>,
    /// Other published numbers for the grid point, by metric.
    pub published_metrics: Vec<(String, f64)>,
    /// `(axis, value label)` of the grid point besides the initializer.
    pub grid: Vec<(String, String)>,
}

impl RunSpec {
    /// Derives the id and seed of `config` trained on `backend`.
    pub fn new(
        config: RunConfig,
        master_seed: u64,
        backend: BackendKind,
        labels: RunLabels,
        plan: InitPlan,
    ) -> Self {
        let config_sha256 = hex(&Sha256::digest(config.canonical_json().as_bytes()));
        let digest = Sha256::new()
            .chain_update(master_seed.to_le_bytes())
            .chain_update(config_sha256.as_bytes())
            .finalize();
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&digest[..8]);
        let id = hex(&Sha256::new()
            .chain_update(config_sha256.as_bytes())
            .chain_update(b":")
            .chain_update(backend.name().as_bytes())
            .finalize())[..16]
            .to_string();
        RunSpec {
            id,
            config_sha256,
            backend,
            master_seed,
            study_dir: PathBuf::new(),
            seed: u64::from_le_bytes(seed),
            config,
            label: labels.label,
            initializer: labels.initializer,
            published: labels.published,
            published_metrics: labels.published_metrics,
            grid: labels.grid,
            plan,
        }
    }

    /// `axis=value` pairs and the initializer's label, `/`-joined: how
    /// progress lines and errors name the run.
    pub fn point(&self) -> String {
        point_name(&self.grid, &self.label)
    }
}

/// `activation=relu/optimizer=sgd/xavier`: a grid point's name.
pub fn point_name(grid: &[(String, String)], label: &str) -> String {
    grid.iter()
        .map(|(axis, value)| format!("{axis}={value}"))
        .chain(std::iter::once(label.to_string()))
        .collect::<Vec<_>>()
        .join("/")
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Trained every epoch.
    Complete,
    /// The loss became NaN or infinite; training stopped there.
    Diverged,
}

impl RunStatus {
    /// `complete` or `diverged`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Complete => "complete",
            RunStatus::Diverged => "diverged",
        }
    }
}

impl std::str::FromStr for RunStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "complete" => Ok(RunStatus::Complete),
            "diverged" => Ok(RunStatus::Diverged),
            _ => Err(format!("unknown run status `{s}`")),
        }
    }
}

/// One named tensor on the host, PyTorch layout.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    /// The parameter's name (`layers.0.weight`).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub values: Vec<f32>,
}

/// One hidden layer's outputs on the fixed trace batch, before (`[0]`) and after
/// (`[1]`) training.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivationStats {
    /// The layer (`layers.0`).
    pub layer: String,
    /// The histograms' common range, `[min, max]` over both stages.
    pub range: [f32; 2],
    /// Fraction of the outputs in each of 61 equal bins over `range`.
    pub histogram: [Vec<f32>; 2],
    /// Fraction of units flat on every example: dead ReLUs, or tanh/sigmoid
    /// units saturated whatever the input.
    pub dead_fraction: [f32; 2],
    /// Fraction of outputs where the nonlinearity's gradient (nearly) vanishes:
    /// 0 for ReLU, |a| > 0.99 for tanh, outside [0.01, 0.99] for sigmoid.
    pub flat_fraction: [f32; 2],
    /// Standard deviation of the finite outputs: the layer's activation scale
    /// (NaN where none is finite, or in files written before it was kept).
    pub std: [f32; 2],
}

impl NamedTensor {
    /// Wraps a model's `(name, shape, values)` triples, as `host_params` returns them.
    pub fn from_host(params: Vec<(String, Vec<usize>, Vec<f32>)>) -> Vec<NamedTensor> {
        params
            .into_iter()
            .map(|(name, shape, values)| NamedTensor {
                name,
                shape,
                values,
            })
            .collect()
    }
}

/// Everything a run produced. The store writes it; reports read it back.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// The run id.
    pub run_id: String,
    /// The study's name.
    pub study: String,
    /// The initializer's label.
    pub label: String,
    /// The grid initializer's canonical spec.
    pub initializer: String,
    /// How it ended.
    pub status: RunStatus,
    /// The RNG seed.
    pub seed: u64,
    /// The replicate index.
    pub replicate: u32,
    /// The canonical config JSON.
    pub config_json: String,
    /// sha256 of the canonical config.
    pub config_sha256: String,
    /// sha256 of the initial parameters (identical on every backend).
    pub init_sha256: String,
    /// sha256 of the final parameters and every metric series.
    pub outputs_sha256: String,
    /// The backend that trained it, with its version.
    pub backend: String,
    /// Test accuracy at the end (NaN if diverged).
    pub test_accuracy: f64,
    /// Test loss at the end (NaN if diverged).
    pub test_loss: f64,
    /// Published test accuracy, if any.
    pub published: Option<f64>,
    /// Other published numbers for the run's grid point, by metric.
    pub published_metrics: Vec<(String, f64)>,
    /// The grid point besides the initializer, `(axis, value label)`.
    pub grid: Vec<(String, String)>,
    /// Scalars a study asks for beyond test accuracy and loss, stored as
    /// attributes: `diverged_epoch`, `best_val_accuracy`, `best_val_epoch`,
    /// `plateau_escape_epoch`, ...
    pub metrics: Vec<(String, f64)>,
    /// When it finished, RFC 3339 UTC.
    pub finished_at: String,
    /// Seconds of wall time spent training and evaluating.
    pub wall_seconds: f64,
    /// Training loss of every step.
    pub step_loss: Vec<f32>,
    /// Mean training loss per epoch.
    pub train_loss: Vec<f32>,
    /// Training accuracy per epoch (on the batches as they were trained).
    pub train_accuracy: Vec<f32>,
    /// Validation loss per epoch.
    pub val_loss: Vec<f32>,
    /// Validation accuracy per epoch.
    pub val_accuracy: Vec<f32>,
    /// Per layer: the mean over each epoch's steps of the gradient's L2 norm.
    pub grad_norms: Vec<(String, Vec<f32>)>,
    /// Further per-epoch series, by name (`test_loss`, `test_accuracy` when a
    /// study tests every epoch; `val_top5_accuracy`).
    pub curves: Vec<(String, Vec<f32>)>,
    /// Per-time-step norms of a recurrent network on the probe batch, at
    /// initialization and after each epoch: `grad_h_norm` and `h_norm`
    /// `[epochs + 1, T]` for the top layer, `layer{k}/…` for those below.
    pub bptt: Vec<NamedTensor>,
    /// Per hidden layer: its outputs on a fixed validation batch at init and at the end.
    pub activations: Vec<ActivationStats>,
    /// What LSUV did to each layer it calibrated, in forward order; empty
    /// unless the run's plan names `lsuv`.
    pub lsuv: Vec<LsuvRecord>,
    /// Parameters before training (after LSUV's rescaling).
    pub initial_params: Vec<NamedTensor>,
    /// Parameters after training.
    pub final_params: Vec<NamedTensor>,
}

impl RunRecord {
    /// sha256 over the final parameters and the metric series (not the wall time),
    /// so the same config and seed on the same machine give the same hash.
    pub fn compute_outputs_sha256(&self) -> String {
        let mut h = Sha256::new();
        for t in &self.final_params {
            h.update(t.name.as_bytes());
            for v in &t.values {
                h.update(v.to_le_bytes());
            }
        }
        let series: [(&str, &[f32]); 5] = [
            ("step_loss", &self.step_loss),
            ("train_loss", &self.train_loss),
            ("train_accuracy", &self.train_accuracy),
            ("val_loss", &self.val_loss),
            ("val_accuracy", &self.val_accuracy),
        ];
        for (name, values) in series.into_iter().chain(
            self.grad_norms
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_slice())),
        ) {
            h.update(name.as_bytes());
            for v in values {
                h.update(v.to_le_bytes());
            }
        }
        for a in &self.activations {
            h.update(a.layer.as_bytes());
            for v in a.histogram.iter().flatten().chain(&a.range).chain(&a.std) {
                h.update(v.to_le_bytes());
            }
        }
        for (name, values) in &self.curves {
            h.update(name.as_bytes());
            for v in values {
                h.update(v.to_le_bytes());
            }
        }
        for t in &self.bptt {
            h.update(t.name.as_bytes());
            for v in &t.values {
                h.update(v.to_le_bytes());
            }
        }
        for (name, value) in &self.metrics {
            h.update(name.as_bytes());
            h.update(value.to_le_bytes());
        }
        // Nothing for a run without LSUV, so the hashes of earlier runs stand.
        for l in &self.lsuv {
            h.update(l.layer.as_bytes());
            h.update(l.outcome.iterations.to_le_bytes());
            for v in [
                l.outcome.variance_before,
                l.outcome.variance,
                l.outcome.scale,
            ] {
                h.update(v.to_le_bytes());
            }
            h.update([u8::from(l.outcome.converged)]);
        }
        h.update(self.test_accuracy.to_le_bytes());
        h.update(self.test_loss.to_le_bytes());
        hex(&h.finalize())
    }
}

pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Now as RFC 3339 UTC (`2026-11-24T06:34:14Z`), without a date-time dependency.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm), valid for the Unix era.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
