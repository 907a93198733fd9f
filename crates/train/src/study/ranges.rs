//! The values of a run's config that parse but cannot be trained: a fraction
//! outside (0, 1), a zero width or count, a learning rate that is not a
//! positive number. Each is found where the config is expanded, so the error
//! names the study file and the key (with its line where the file writes it).

use super::config::{OptimizerConfig, TrainingConfig};
use crate::network::ModelConfig;
use crate::range_check::RangeCheck;
use crate::task::DataConfig;

/// The first out-of-range value: its key as a study file writes it
/// (`data.validation_fraction`) and what is wrong with it.
pub(super) fn out_of_range(
    model: &ModelConfig,
    data: &DataConfig,
    training: &TrainingConfig,
) -> Option<(String, String)> {
    let mut found = RangeCheck::default();
    let network = model.network();
    network.check_ranges(&mut found);
    if found.is_empty() {
        let count = network.parameter_count();
        if count > MAX_PARAMETERS {
            found.push(
                "model",
                format!(
                    "has {count} parameters, more than the {MAX_PARAMETERS} (4 GiB of f32 per copy) a run can hold"
                ),
            );
        }
    }
    data.task().check_ranges(&mut found);
    training_ranges(training, &mut found);
    found.first()
}

/// Parameters a run may have: each copy (initial, current, final, optimizer
/// moments) is 4 bytes a parameter, so this is already 4 GiB a copy.
const MAX_PARAMETERS: u128 = 1 << 30;

/// Seeds a study or profile may ask for: every run of the grid is expanded
/// (and its config held) when the file is read.
pub(super) const MAX_SEEDS: u32 = 10_000;

fn training_ranges(training: &TrainingConfig, found: &mut RangeCheck) {
    found.positive("training.epochs", training.epochs);
    found.positive("training.batch_size", training.batch_size);
    if let Some(n) = training.train_limit {
        found.positive("training.train_limit", n);
    }
    if let Some(n) = training.eval_limit {
        found.positive("training.eval_limit", n);
    }
    if let Some(c) = training.clip_grad_norm {
        found.positive_number("training.clip_grad_norm", c);
    }
    let key = |name: &str| format!("training.optimizer.{name}");
    found.positive_number(&key("lr"), training.optimizer.lr());
    match training.optimizer {
        OptimizerConfig::Adam {
            beta1,
            beta2,
            epsilon,
            ..
        }
        | OptimizerConfig::AdamW {
            beta1,
            beta2,
            epsilon,
            ..
        } => {
            found.within(&key("beta1"), beta1, 0.0, 1.0, false);
            found.within(&key("beta2"), beta2, 0.0, 1.0, false);
            found.positive_number(&key("epsilon"), epsilon);
        }
        OptimizerConfig::Sgd { momentum, .. } => {
            found.within(&key("momentum"), momentum, 0.0, 1.0, false);
        }
    }
    if let OptimizerConfig::AdamW { weight_decay, .. } = training.optimizer {
        if !(weight_decay >= 0.0 && weight_decay.is_finite()) {
            found.push(
                key("weight_decay"),
                format!("is {weight_decay}; it must be a finite number ≥ 0"),
            );
        }
    }
}
