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
mod allocator;
mod backend;
mod clip;
mod data;
mod embeddings;
mod error;
mod generate;
mod grid;
mod mean_field;
mod network;
mod optim;
mod range_check;
mod record;
mod run;
mod sources;
mod study;
mod task;
mod toml_file;
mod trainer;

pub use crate::backend::{dispatch, BackendKind, BackendTask};
pub use crate::clip::{clip_grad_norm, ClipOutcome};
pub use crate::data::{ClassificationData, Examples, Holdout};
pub use crate::embeddings::{
    embedding_hash, load_or_train, train_embedding, verified_maestro, DataFile, EmbeddingConfig,
    EmbeddingData, EmbeddingDataConfig, EmbeddingMeta, EmbeddingObserver, EmbeddingStore,
    EmbeddingTraining, EpochReport, Provenance, TensorInfo, TrainedEmbedding, EMBEDDING_FORMAT,
};
pub use crate::error::{Error, Result};
pub use crate::generate::{continue_tokens, Generation};
pub use crate::grid::{run_grid, GridOutcome, RunSink};
pub use crate::network::{
    check_fits, BuildNetwork, DeviceInput, LayerOutputs, ModelConfig, Network, NetworkConfig,
};
pub use crate::optim::{HostOptimizer, StepReport};
pub use crate::range_check::RangeCheck;
pub use crate::record::{now_rfc3339, ActivationStats, NamedTensor, RunRecord, RunStatus};
pub use crate::run::{point_name, RunConfig, RunLabels, RunSpec};
pub use crate::sources::{Sources, TaskSet};
pub use crate::study::{
    Axis, AxisValue, GridConfig, GridInitializer, InitConfig, OptimizerConfig, Overrides, Part,
    Profile, ProfileOverride, Published, Study, StudyInfo, TestSchedule, TrainingConfig,
};
pub use crate::task::{
    cross_entropy, input_second_moment, AddingConfig, AddingTask, Batch, DataConfig, DataSources,
    EvalSet, Input, InputKind, InputShape, MaestroConfig, MaestroTask, MnistConfig, MnistTask,
    Objective, Sampling, Target, Task, TaskConfig, TrainStream, PROBE_EXAMPLES,
};
pub use crate::trainer::{
    stepper, time_run, time_steps, train_network, train_run, Observer, Silent, StepTiming, Stepper,
    TimingBudget,
};
