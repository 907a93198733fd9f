//! The parts of a run's configuration besides its network (whose
//! [`ModelConfig`](crate::ModelConfig) lives with the networks): data and
//! training. Each is what a study file's `[data]` and `[training]` tables hold
//! after the grid point and profile are applied, and what the canonical config
//! hashes.
//!
//! **Invariant:** a key added here after runs were stored is optional and left
//! out of the canonical JSON while it has its default value, so configs that
//! do not use it keep their hash, and with it their run ids and seeds.

use initlab_data::adding::MarkerPlacement;
use initlab_data::Reading;
use serde::{Deserialize, Serialize};

use crate::data::Holdout;
use crate::task::{InputKind, InputShape};

const MNIST_PIXELS: usize = 784;

/// The data a study trains on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dataset", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DataConfig {
    /// MNIST: the 60k training images split into train and validation, and
    /// the 10k test images; flat, or read as sequences.
    Mnist {
        /// Fraction of the 60k training images held out for validation (0.2: 48k/12k).
        validation_fraction: f64,
        /// Which images are held out: a seeded shuffle (default) or the last ones.
        #[serde(default, skip_serializing_if = "Holdout::is_default")]
        holdout: Holdout,
        /// Read each image as a sequence (`{ kind = "rows" }`) for a recurrent
        /// network; absent: one flat vector per image.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reading: Option<Reading>,
        /// `[mean, std]`: pixels in `[0, 1]` become `(x − mean) / std`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        normalize: Option<[f64; 2]>,
        /// Examples per evaluation batch (default 2000).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        eval_batch: Option<usize>,
    },
    /// The adding problem (Le, Jaitly & Hinton 2015), generated from seeds.
    Adding {
        /// Steps per sequence, `T`.
        length: usize,
        /// Where the two markers go (`uniform`: anywhere, distinct).
        #[serde(default)]
        placement: MarkerPlacement,
        /// Fresh training examples per epoch.
        examples_per_epoch: usize,
        /// Examples in each of the fixed validation and test sets.
        eval_examples: usize,
        /// Examples per evaluation batch.
        eval_batch: usize,
        /// A run has escaped the plateau in the first epoch whose validation
        /// MSE is below this (`plateau_escape_epoch`, 1-based).
        escape_below: f64,
    },
    /// MAESTRO's event tokens in windows, the next token as target.
    Maestro {
        /// Tokens per input window.
        window: usize,
        /// The note-embedding config whose trained table every run starts
        /// from, relative to the study file (`embeddings/maestro.toml`).
        embedding: String,
        /// The embedding config's canonical sha256, filled in when the study
        /// is expanded (never written in a study file), so that a changed
        /// table config changes the run ids.
        #[serde(default, skip_deserializing)]
        embedding_sha256: String,
        /// Training windows per epoch, a fresh seeded sample each epoch;
        /// absent: every window.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        train_windows: Option<usize>,
        /// A fixed seeded subsample of the validation windows; absent: all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        validation_windows: Option<usize>,
        /// A fixed seeded subsample of the test windows; absent: all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        test_windows: Option<usize>,
        /// Windows per evaluation batch.
        eval_batch: usize,
    },
}

impl DataConfig {
    /// The dataset's name in study files: `mnist`, `adding`, `maestro`.
    pub fn dataset(&self) -> &'static str {
        match self {
            DataConfig::Mnist { .. } => "mnist",
            DataConfig::Adding { .. } => "adding",
            DataConfig::Maestro { .. } => "maestro",
        }
    }

    /// The input its examples give a network.
    pub fn provides(&self) -> InputShape {
        match self {
            DataConfig::Mnist { reading: None, .. } => {
                InputShape::new(InputKind::Features, MNIST_PIXELS)
            }
            DataConfig::Mnist {
                reading: Some(r), ..
            } => {
                let features = match r {
                    Reading::Rows => 28,
                    Reading::Pixels | Reading::PermutedPixels { .. } => 1,
                };
                InputShape::new(InputKind::Sequences, features)
            }
            DataConfig::Adding { .. } => InputShape::new(InputKind::Sequences, 2),
            DataConfig::Maestro { window, .. } => InputShape::new(InputKind::Tokens, *window),
        }
    }

    /// How the data is read, where another reading would fit another network.
    pub fn reading_hint(&self) -> &'static str {
        match self {
            DataConfig::Mnist { reading: None, .. } => {
                " as flat images (set data.reading for sequences)"
            }
            DataConfig::Mnist { .. } => " as sequences",
            _ => "",
        }
    }

    /// Time steps per example, for sequence data.
    pub fn steps(&self) -> Option<usize> {
        match self {
            DataConfig::Mnist {
                reading: Some(r), ..
            } => Some(match r {
                Reading::Rows => 28,
                Reading::Pixels | Reading::PermutedPixels { .. } => MNIST_PIXELS,
            }),
            DataConfig::Mnist { .. } => None,
            DataConfig::Adding { length, .. } => Some(*length),
            DataConfig::Maestro { window, .. } => Some(*window),
        }
    }
}

/// The optimizer and its hyper-parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// Adam (Kingma & Ba 2015).
    Adam {
        /// Learning rate.
        lr: f64,
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Added to the denominator for stability (Keras 1e-7, PyTorch 1e-8).
        epsilon: f64,
    },
    /// AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay, as
    /// `torch.optim.AdamW`.
    #[serde(rename = "adamw")]
    AdamW {
        /// Learning rate.
        lr: f64,
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Added to the denominator for stability (PyTorch 1e-8).
        epsilon: f64,
        /// Each step multiplies the parameters by `1 − lr·weight_decay`
        /// (PyTorch's default 0.01).
        weight_decay: f64,
    },
    /// Plain stochastic gradient descent, with optional momentum.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum (0 for none).
        #[serde(default)]
        momentum: f64,
    },
}

impl OptimizerConfig {
    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            OptimizerConfig::Adam { lr, .. }
            | OptimizerConfig::AdamW { lr, .. }
            | OptimizerConfig::Sgd { lr, .. } => lr,
        }
    }
}

/// When the test set is evaluated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestSchedule {
    /// Once, after the last epoch.
    #[default]
    End,
    /// After every epoch too (the `test_loss`/`test_accuracy` curves); the
    /// reported numbers are the last epoch's.
    EveryEpoch,
    /// Once, with the parameters of the epoch with the best validation score.
    BestValidation,
}

impl TestSchedule {
    fn is_default(&self) -> bool {
        *self == TestSchedule::End
    }
}

/// How a run trains.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// Use only the first N training examples (after the split), for smoke runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_limit: Option<usize>,
    /// Evaluate on only the first N validation and test examples, for smoke runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_limit: Option<usize>,
    /// Scale the gradients so that their global L2 norm is at most this, as
    /// `torch.nn.utils.clip_grad_norm_`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip_grad_norm: Option<f64>,
    /// When the test set is evaluated.
    #[serde(default, skip_serializing_if = "TestSchedule::is_default")]
    pub test: TestSchedule,
}
