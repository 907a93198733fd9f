//! How a run trains, the part of its configuration that is neither its
//! network ([`ModelConfig`](crate::ModelConfig), with the networks) nor its
//! data ([`DataConfig`](crate::DataConfig), with the tasks): what a study
//! file's `[training]` table holds after the grid point and profile are
//! applied, and what the canonical config hashes.
//!
//! **Invariant:** a key added here after runs were stored is optional and left
//! out of the canonical JSON while it has its default value, so configs that
//! do not use it keep their hash, and with it their run ids and seeds.

use serde::{Deserialize, Serialize};

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
