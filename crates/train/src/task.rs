//! What a run learns: batches of inputs and targets, and the loss and metrics
//! that judge the outputs.
//!
//! The training loop knows one [`Task`] trait. A task hands out host batches —
//! image features, sequences, or token windows, with class or value targets —
//! and says its [`Objective`]. The loop uploads the batch, runs the network,
//! and scores the outputs with the objective, so image classification (study
//! 1, 2), sequence classification (study 3's RNN), next-event prediction
//! (study 3's LSTM) and regression (study 4) share every line of it.

//!
//! A task is its data file in `initlab-data` and its file here,
//! `task/<name>.rs`: the study file's `[data]` table as a config struct
//! implementing [`TaskConfig`] (what it gives a network, its ranges, how its
//! task is built from the verified data) and the [`Task`] itself. One line in
//! [`tasks!`](DataConfig) below makes it a [`DataConfig`] variant.

use std::path::Path;
use std::sync::Arc;

use burn::tensor::backend::Backend;
use burn::tensor::{activation, ElementConversion, Int, Tensor, TensorData};
use initlab_data::maestro::Piece;
use initlab_data::Mnist;
use serde::{Deserialize, Serialize};

pub use self::adding::{AddingConfig, AddingTask};
pub use self::maestro::{MaestroConfig, MaestroTask, Sampling};
pub use self::mnist::{MnistConfig, MnistTask};

use crate::embeddings::EmbeddingConfig;
use crate::range_check::RangeCheck;
use crate::Result;

/// Declares every task: its module under `task/`, its [`DataConfig`]
/// variant (kebab-cased, the study file's `dataset`) and the config it holds.
macro_rules! tasks {
    ($($(#[$doc:meta])* $module:ident: $variant:ident($config:ty),)*) => {
        $(mod $module;)*

        /// The data a study trains on.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "dataset", rename_all = "kebab-case")]
        pub enum DataConfig {
            $($(#[$doc])* $variant($config),)*
        }

        impl DataConfig {
            /// The task's config, as the study and the fit check see it.
            pub fn task(&self) -> &dyn TaskConfig {
                match self {
                    $(DataConfig::$variant(c) => c,)*
                }
            }

            fn task_mut(&mut self) -> &mut dyn TaskConfig {
                match self {
                    $(DataConfig::$variant(c) => c,)*
                }
            }
        }
    };
}

tasks! {
    /// MNIST: the 60k training images split into train and validation, and
    /// the 10k test images; flat, or read as sequences.
    mnist: Mnist(MnistConfig),
    /// The adding problem (Le, Jaitly & Hinton 2015), generated from seeds.
    adding: Adding(AddingConfig),
    /// MAESTRO's event tokens in windows, the next token as target.
    maestro: Maestro(MaestroConfig),
}

/// What the study, the fit check and the grid need of a task's config.
pub trait TaskConfig: Sync {
    /// Its `dataset` in a study file (`mnist`), for error messages.
    fn dataset(&self) -> &'static str;

    /// The input its examples give a network.
    fn provides(&self) -> InputShape;

    /// How the data is read, where another reading would fit another
    /// network (` as flat images`); empty where there is one reading.
    fn reading_hint(&self) -> &'static str {
        ""
    }

    /// Time steps per example, for sequence data.
    fn steps(&self) -> Option<usize>;

    /// Records its values that parse but cannot be trained.
    fn check_ranges(&self, found: &mut RangeCheck);

    /// The manifest's dataset names it reads (none for generated data).
    fn datasets(&self) -> &'static [&'static str] {
        &[]
    }

    /// Fills in what the study file does not write but the run ids depend
    /// on, from files beside the study in `study_dir`.
    ///
    /// # Errors
    /// Such a file missing or invalid.
    fn fill_in(&mut self, _study_dir: &Path) -> Result<()> {
        Ok(())
    }

    /// The task, its splits and evaluation sets seeded by `data_seed`; paths
    /// in the config are relative to `study_dir`.
    ///
    /// # Errors
    /// Data missing or failing verification; a config the data cannot meet.
    fn build(
        &self,
        sources: &dyn DataSources,
        data_seed: u64,
        study_dir: &Path,
    ) -> Result<Arc<dyn Task>>;
}

/// The verified datasets on disk that tasks are built from, each opened once.
pub trait DataSources {
    /// The MNIST images.
    ///
    /// # Errors
    /// The files missing or failing verification.
    fn mnist(&self) -> Result<&Mnist>;

    /// MAESTRO's pieces by split (train, validation, test) and the trained
    /// note-embedding table of `embedding`.
    ///
    /// # Errors
    /// The files missing or failing verification; the table failing to train.
    fn maestro(&self, embedding: &EmbeddingConfig) -> Result<([Vec<Piece>; 3], Vec<f32>)>;
}

impl DataConfig {
    /// The dataset's name in study files: `mnist`, `adding`, `maestro`.
    pub fn dataset(&self) -> &'static str {
        self.task().dataset()
    }

    /// The input its examples give a network.
    pub fn provides(&self) -> InputShape {
        self.task().provides()
    }

    /// Time steps per example, for sequence data.
    pub fn steps(&self) -> Option<usize> {
        self.task().steps()
    }

    /// Fills in what the study file does not write (see
    /// [`TaskConfig::fill_in`]).
    ///
    /// # Errors
    /// As [`TaskConfig::fill_in`].
    pub fn fill_in(&mut self, study_dir: &Path) -> Result<()> {
        self.task_mut().fill_in(study_dir)
    }
}

/// Examples in the fixed batch that activation traces and BPTT probes run on.
pub const PROBE_EXAMPLES: usize = 256;

/// A batch's inputs on the host, row-major.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// `[batch, features]`.
    Features {
        /// The values.
        values: Vec<f32>,
        /// Features per example.
        features: usize,
    },
    /// `[batch, steps, features]`.
    Sequences {
        /// The values.
        values: Vec<f32>,
        /// Time steps per example.
        steps: usize,
        /// Features per step.
        features: usize,
    },
    /// `[batch, steps]` token ids.
    Tokens {
        /// The ids.
        ids: Vec<i64>,
        /// Tokens per example.
        steps: usize,
    },
}

impl Input {
    /// Examples in the batch.
    pub fn len(&self) -> usize {
        match self {
            Input::Features { values, features } => values.len() / (*features).max(1),
            Input::Sequences {
                values,
                steps,
                features,
            } => values.len() / (steps * features).max(1),
            Input::Tokens { ids, steps } => ids.len() / (*steps).max(1),
        }
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The kind of input a task provides and a network reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// [`Input::Features`].
    Features,
    /// [`Input::Sequences`].
    Sequences,
    /// [`Input::Tokens`].
    Tokens,
}

impl std::fmt::Display for InputKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InputKind::Features => "feature vectors",
            InputKind::Sequences => "sequences",
            InputKind::Tokens => "token windows",
        })
    }
}

/// An input's kind and size: features per example or per step, or tokens
/// per window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputShape {
    /// The kind.
    pub kind: InputKind,
    /// Features per example or step, tokens per window.
    pub size: usize,
}

impl InputShape {
    /// `size` of `kind`.
    pub fn new(kind: InputKind, size: usize) -> Self {
        InputShape { kind, size }
    }
}

/// A batch's targets on the host.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// One class index per example.
    Classes(Vec<i64>),
    /// One value per example.
    Values(Vec<f32>),
}

/// Inputs and targets of one batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// The inputs.
    pub input: Input,
    /// The targets.
    pub target: Target,
}

impl Batch {
    /// Examples in the batch.
    pub fn len(&self) -> usize {
        self.input.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.input.is_empty()
    }
}

/// Which fixed set an evaluation runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalSet {
    /// Held out from training, evaluated after every epoch.
    Validation,
    /// Reported once (or every epoch, where a study asks).
    Test,
}

/// How outputs are judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    /// Softmax cross-entropy on class logits; accuracy, and top-`k` accuracy
    /// when `top_k` is set.
    Classification {
        /// Also count a hit when the target is among the `k` highest logits.
        top_k: Option<usize>,
    },
    /// Mean squared error of one output per example; no accuracy.
    Regression,
}

impl Objective {
    /// The mean loss of `outputs` `[batch, outputs]` against `target`.
    pub fn loss<B: Backend>(&self, outputs: Tensor<B, 2>, target: &Target) -> Tensor<B, 1> {
        let device = outputs.device();
        match target {
            Target::Classes(classes) => {
                let t = Tensor::<B, 1, Int>::from_data(
                    TensorData::new(classes.clone(), [classes.len()]),
                    &device,
                );
                cross_entropy(outputs, t)
            }
            Target::Values(values) => {
                let [batch, _] = outputs.dims();
                let t =
                    Tensor::<B, 1>::from_data(TensorData::new(values.clone(), [batch]), &device);
                (outputs.reshape([batch]) - t).square().mean()
            }
        }
    }

    /// `(hits, top-k hits)` of `outputs` against class targets; `(0, 0)` for regression.
    pub fn hits<B: Backend>(&self, outputs: Tensor<B, 2>, target: &Target) -> (usize, usize) {
        let (Objective::Classification { top_k }, Target::Classes(classes)) = (self, target) else {
            return (0, 0);
        };
        let top1 = count_correct(outputs.clone(), classes);
        let topk = match top_k {
            Some(k) => count_top_k(outputs, classes, *k),
            None => 0,
        };
        (top1, topk)
    }

    /// Whether accuracy means anything here.
    pub fn has_accuracy(&self) -> bool {
        matches!(self, Objective::Classification { .. })
    }

    /// `k` of the top-`k` accuracy, if it is kept.
    pub fn top_k(&self) -> Option<usize> {
        match self {
            Objective::Classification { top_k } => *top_k,
            Objective::Regression => None,
        }
    }
}

/// Mean softmax cross-entropy of logits `[batch, classes]` against class indices.
pub fn cross_entropy<B: Backend>(logits: Tensor<B, 2>, targets: Tensor<B, 1, Int>) -> Tensor<B, 1> {
    let log_probs = activation::log_softmax(logits, 1);
    log_probs
        .gather(1, targets.unsqueeze_dim(1)) // [batch, 1]
        .mean()
        .neg()
}

fn count_correct<B: Backend>(logits: Tensor<B, 2>, labels: &[i64]) -> usize {
    let predicted: Vec<i64> = logits
        .argmax(1)
        .into_data()
        .convert::<i64>()
        .into_vec()
        .unwrap_or_default();
    predicted.iter().zip(labels).filter(|(p, l)| p == l).count()
}

/// Hits where fewer than `k` logits beat the target's (ties count for the target).
fn count_top_k<B: Backend>(logits: Tensor<B, 2>, labels: &[i64], k: usize) -> usize {
    let [batch, classes] = logits.dims();
    let values: Vec<f32> = logits
        .into_data()
        .convert::<f32>()
        .into_vec()
        .unwrap_or_default();
    (0..batch)
        .filter(|&b| {
            let row = &values[b * classes..(b + 1) * classes];
            let Some(&target) = usize::try_from(labels[b]).ok().and_then(|t| row.get(t)) else {
                return false;
            };
            row.iter().filter(|&&v| v > target).count() < k
        })
        .count()
}

/// The mean of a scalar loss tensor as f32.
pub(crate) fn scalar<B: Backend>(t: Tensor<B, 1>) -> f32 {
    t.into_scalar().elem()
}

/// The next `batch_size` indices of `order` from `*next` on (fewer at the
/// end), advancing `*next` past them; `None` once `order` is used up.
fn next_indices<'a>(
    order: &'a [usize],
    next: &mut usize,
    batch_size: usize,
) -> Option<&'a [usize]> {
    if *next >= order.len() {
        return None;
    }
    let end = (*next + batch_size).min(order.len());
    let indices = &order[*next..end];
    *next = end;
    Some(indices)
}

/// The batches of one run's training, epoch by epoch.
pub trait TrainStream: Send {
    /// Steps in every epoch.
    fn steps_per_epoch(&self) -> usize;
    /// Starts the next epoch (the first call starts epoch 1).
    fn start_epoch(&mut self);
    /// The epoch's next batch, or `None` when the epoch is done.
    fn next_batch(&mut self) -> Option<Batch>;
}

/// A dataset and what a network is asked to do with it.
pub trait Task: Send + Sync {
    /// How outputs are judged.
    fn objective(&self) -> Objective;
    /// The training batches of one run: its seed orders or draws the data,
    /// `limit` caps the examples of an epoch (smoke profiles).
    fn train_stream(
        &self,
        seed: u64,
        batch_size: usize,
        limit: Option<usize>,
    ) -> Box<dyn TrainStream + '_>;
    /// A fixed evaluation set in batches, capped at `limit` examples.
    fn eval_batches(&self, set: EvalSet, limit: Option<usize>) -> Vec<Batch>;
    /// The fixed validation batch that activation traces and BPTT probes see.
    fn probe_batch(&self) -> Batch;
    /// A regression task's plateau: the first epoch whose validation loss is
    /// below this is recorded as `plateau_escape_epoch`.
    fn escape_below(&self) -> Option<f64> {
        None
    }
    /// Tensors that replace sampled initial parameters of the same name (a
    /// pre-trained embedding table), as `(name, values)`.
    fn pretrained(&self) -> Vec<(String, Vec<f32>)> {
        Vec::new()
    }
}

/// The mean-field theory's q⁰ = ‖x‖²/N₀ of a run's inputs, from the `data`
/// table of its canonical config (as stored with the run), for the datasets
/// whose input statistics are known; `None` for the others.
pub fn input_second_moment(data: &serde_json::Value) -> Option<f64> {
    match data.get("dataset")?.as_str()? {
        "mnist" => {
            let normalize = match data.get("normalize").and_then(|v| v.as_array()) {
                Some(ms) if ms.len() == 2 => Some([ms[0].as_f64()?, ms[1].as_f64()?]),
                _ => None,
            };
            Some(mnist::input_second_moment(normalize))
        }
        _ => None,
    }
}
