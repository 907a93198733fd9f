//! Building the tasks a grid needs from the verified datasets, once each.
//!
//! Runs that share a data config (and a study, whose master seed fixes the
//! splits and evaluation sets) share one task: MNIST is decoded once, MAESTRO
//! tokenized once, the adding problem's fixed sets drawn once.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use initlab_data::adding::AddingProblem;
use initlab_data::maestro::Split;
use initlab_data::{Cache, Manifest, Mnist, SequenceReader};

use crate::data::ClassificationData;
use crate::embeddings::{
    embedding_hash, load_or_train, verified_maestro, EmbeddingConfig, EmbeddingObserver,
};
use crate::embeddings::{EmbeddingData, EmbeddingStore};
use crate::run::RunSpec;
use crate::study::DataConfig;
use crate::task::maestro::Sampling;
use crate::task::{AddingTask, MaestroTask, MnistTask, Task};
use crate::{Error, Result};

/// Default examples per MNIST evaluation batch.
const MNIST_EVAL_BATCH: usize = 2000;

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
        match data {
            DataConfig::Mnist { .. } => &["mnist"],
            DataConfig::Maestro { .. } => &["maestro"],
            DataConfig::Adding { .. } => &[],
        }
    }

    fn mnist(&self) -> Result<&Mnist> {
        if let Some(m) = self.mnist.get() {
            return Ok(m);
        }
        let loaded = Mnist::load(self.manifest, self.cache)?;
        Ok(self.mnist.get_or_init(|| loaded))
    }

    /// The task of one data config, its splits seeded by `data_seed`; paths in
    /// it are relative to `study_dir`.
    pub fn task(
        &self,
        data: &DataConfig,
        data_seed: u64,
        study_dir: &Path,
    ) -> Result<Arc<dyn Task>> {
        Ok(match data {
            DataConfig::Mnist {
                validation_fraction,
                holdout,
                reading,
                normalize,
                eval_batch,
            } => {
                let mnist = self.mnist()?;
                let splits = Arc::new(ClassificationData::mnist_with(
                    mnist,
                    *validation_fraction,
                    *holdout,
                    *normalize,
                    data_seed,
                ));
                let batch = eval_batch.unwrap_or(MNIST_EVAL_BATCH);
                match reading {
                    None => Arc::new(MnistTask::flat(splits, batch)),
                    Some(r) => {
                        let reader = SequenceReader::for_images(*r, &mnist.train)?;
                        Arc::new(MnistTask::sequences(splits, reader, batch))
                    }
                }
            }
            DataConfig::Adding {
                length,
                placement,
                examples_per_epoch,
                eval_examples,
                eval_batch,
                escape_below,
            } => {
                let problem = AddingProblem::new(*length)?.with_placement(*placement);
                Arc::new(
                    AddingTask::new(
                        problem,
                        *examples_per_epoch,
                        *eval_examples,
                        *eval_batch,
                        data_seed,
                    )
                    .with_escape_below(*escape_below),
                )
            }
            DataConfig::Maestro {
                window,
                embedding,
                train_windows,
                validation_windows,
                test_windows,
                eval_batch,
                ..
            } => {
                let config = EmbeddingConfig::load(&study_dir.join(embedding))?;
                let (maestro, files) = verified_maestro(self.manifest, self.cache, &config)?;
                let pieces = Split::ALL.map(|s| maestro.pieces(s).to_vec());
                let data = EmbeddingData {
                    train: pieces[0].clone(),
                    validation: pieces[1].clone(),
                    files,
                    skipped: Vec::new(),
                };
                let store = EmbeddingStore::in_cache(self.cache);
                let table = if self.train_tables {
                    let (trained, _) = load_or_train(&store, &config, &data, self.observer)?;
                    trained.table().values.clone()
                } else {
                    let mut valid = config.clone();
                    valid.validate()?;
                    match store.load(&embedding_hash(&valid, &data.files))? {
                        Some(trained) => trained.table().values.clone(),
                        None => vec![0.0; valid.model.vocabulary * valid.model.dim],
                    }
                };
                let sampling = Sampling {
                    train_windows: *train_windows,
                    validation_windows: *validation_windows,
                    test_windows: *test_windows,
                };
                Arc::new(MaestroTask::new(
                    pieces,
                    *window,
                    sampling,
                    *eval_batch,
                    table,
                    data_seed,
                )?)
            }
        })
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
