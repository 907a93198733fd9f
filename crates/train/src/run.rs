//! What a run is: one point of a study's grid with one seed, its config and id.
//! What it produced is [`crate::record`]'s.

use std::collections::BTreeMap;
use std::path::PathBuf;

use initlab_models::{derive_seed, InitPlan};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::backend::BackendKind;
use crate::network::ModelConfig;
use crate::record::hex;
use crate::study::TrainingConfig;
use crate::task::DataConfig;

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
        let seed = derive_seed(master_seed, &config_sha256);
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
            seed,
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
