/*!
Studies, runs and the training loop.

# Overview
- A [`Study`] is a TOML file in `experiments/`: model, data, training, the grid
  of initializers × seeds, and per-[`Profile`] overrides. Unknown keys and
  wrongly typed values are errors naming the file, line and key.
- [`Study::runs`] expands the grid into [`RunSpec`]s. A run's id and seed come
  from the sha256 of its canonical [`RunConfig`], so adding a grid point never
  changes another run.
- [`train_run`] trains one run on any `B: AutodiffBackend` from host-sampled
  weights and returns a [`RunRecord`]; a NaN loss is recorded as `diverged`.
- [`run_grid`] trains a grid in parallel and hands each finished run to a
  [`RunSink`] (the results store, which lives in `initlab-analysis`).

This crate never writes result files itself: storage is behind [`RunSink`].
*/
#![deny(missing_docs)]

mod activations;
mod backend;
mod clip;
mod data;
mod embeddings;
mod error;
mod grid;
mod run;
mod study;
mod toml_file;
mod trainer;

pub use crate::backend::{dispatch, BackendKind, BackendTask};
pub use crate::clip::{clip_grad_norm, ClipOutcome};
pub use crate::data::{ClassificationData, Split};
pub use crate::embeddings::{
    embedding_hash, load_or_train, train_embedding, DataFile, EmbeddingConfig, EmbeddingData,
    EmbeddingDataConfig, EmbeddingMeta, EmbeddingObserver, EmbeddingStore, EmbeddingTraining,
    EpochReport, Provenance, TensorInfo, TrainedEmbedding, EMBEDDING_FORMAT,
};
pub use crate::error::{Error, Result};
pub use crate::grid::{run_grid, GridOutcome, RunSink};
pub use crate::run::{
    now_rfc3339, ActivationStats, NamedTensor, RunConfig, RunLabels, RunRecord, RunSpec, RunStatus,
};
pub use crate::study::{
    DataConfig, GridConfig, GridInitializer, InitConfig, ModelConfig, OptimizerConfig, Profile,
    ProfileOverride, Study, StudyInfo, TrainingConfig,
};
pub use crate::trainer::{cross_entropy, train_run, Observer, Silent};
