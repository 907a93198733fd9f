//! Building the tasks a grid needs from the verified datasets, once each.
//!
//! Runs that share a data config (and a study, whose master seed fixes the
//! splits and evaluation sets) share one task: MNIST is decoded once, MAESTRO
//! tokenized once, the adding problem's fixed sets drawn once.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use initlab_data::maestro::{Piece, Split};
use initlab_data::{Cache, Manifest, Mnist};

use crate::embeddings::{
    embedding_hash, load_or_train, verified_maestro, EmbeddingConfig, EmbeddingData,
    EmbeddingObserver, EmbeddingStore,
};
use crate::run::RunSpec;
use crate::task::{DataConfig, DataSources, Task};
use crate::{Error, Result};

/// The datasets on disk, opened lazily.
pub struct Sources<'a> {
    manifest: &'a Manifest,
    cache: &'a Cache,
    observer: &'a dyn EmbeddingObserver,
    /// Whether a missing embedding table is trained, or stands in as zeros
    /// (to time a grid without training anything).
    train_tables: bool,
    mnist: OnceLock<Mnist>,
}

impl<'a> Sources<'a> {
    /// Datasets from `cache`, verified against `manifest`.
    pub fn new(
        manifest: &'a Manifest,
        cache: &'a Cache,
        observer: &'a dyn EmbeddingObserver,
    ) -> Self {
        Sources {
            manifest,
            cache,
            observer,
            train_tables: true,
            mnist: OnceLock::new(),
        }
    }

    /// The same sources, with zeros standing in for an embedding table that
    /// is not trained yet, for a dry run that must not train anything.
    pub fn without_training_tables(mut self) -> Self {
        self.train_tables = false;
        self
    }

    /// The manifest's dataset names a data config reads (`mnist`, `maestro`;
    /// none for generated data).
    pub fn datasets(data: &DataConfig) -> &'static [&'static str] {
        data.task().datasets()
    }

    /// The task of one data config, its splits seeded by `data_seed`; paths in
    /// it are relative to `study_dir`.
    pub fn task(
        &self,
        data: &DataConfig,
        data_seed: u64,
        study_dir: &Path,
    ) -> Result<Arc<dyn Task>> {
        data.task().build(self, data_seed, study_dir)
    }
}

impl DataSources for Sources<'_> {
    fn mnist(&self) -> Result<&Mnist> {
        if let Some(m) = self.mnist.get() {
            return Ok(m);
        }
        let loaded = Mnist::load(self.manifest, self.cache)?;
        Ok(self.mnist.get_or_init(|| loaded))
    }

    /// The table is trained once and stored; without training, a stored
    /// table or zeros stand in.
    fn maestro(&self, config: &EmbeddingConfig) -> Result<([Vec<Piece>; 3], Vec<f32>)> {
        let (maestro, files) = verified_maestro(self.manifest, self.cache, config)?;
        let pieces = Split::ALL.map(|s| maestro.pieces(s).to_vec());
        let data = EmbeddingData {
            train: pieces[0].clone(),
            validation: pieces[1].clone(),
            files,
            skipped: Vec::new(),
        };
        let store = EmbeddingStore::in_cache(self.cache);
        let table = if self.train_tables {
            let (trained, _) = load_or_train(&store, config, &data, self.observer)?;
            trained.table().values.clone()
        } else {
            let mut valid = config.clone();
            valid.validate()?;
            match store.load(&embedding_hash(&valid, &data.files))? {
                Some(trained) => trained.table().values.clone(),
                None => vec![0.0; valid.model.vocabulary * valid.model.dim],
            }
        };
        Ok((pieces, table))
    }
}

/// The tasks of a set of runs, one per (study seed, data config).
#[derive(Default)]
pub struct TaskSet {
    tasks: HashMap<String, Arc<dyn Task>>,
}

impl TaskSet {
    fn key(run: &RunSpec) -> String {
        let data = serde_json::to_string(&run.config.data).unwrap_or_default();
        format!("{}:{data}", run.master_seed)
    }

    /// Builds the task of every run in `runs` that the set does not have yet.
    pub fn add(&mut self, runs: &[RunSpec], sources: &Sources) -> Result<()> {
        for run in runs {
            if let Entry::Vacant(slot) = self.tasks.entry(Self::key(run)) {
                slot.insert(sources.task(&run.config.data, run.master_seed, &run.study_dir)?);
            }
        }
        Ok(())
    }

    /// A set in which every run of `runs` has `task`, for tests and benches.
    pub fn single(runs: &[RunSpec], task: Arc<dyn Task>) -> Self {
        let tasks = runs.iter().map(|r| (Self::key(r), task.clone())).collect();
        TaskSet { tasks }
    }

    /// The task of `run`.
    pub fn get(&self, run: &RunSpec) -> Result<&dyn Task> {
        self.tasks
            .get(&Self::key(run))
            .map(|t| t.as_ref())
            .ok_or_else(|| Error::Task(format!("no data prepared for run {}", run.id)))
    }
}
