//! The values of a run's config that parse but cannot be trained: a fraction
//! outside (0, 1), a zero width or count, a learning rate that is not a
//! positive number. Each is found where the config is expanded, so the error
//! names the study file and the key (with its line where the file writes it).

use initlab_models::Recurrence;

use super::config::{DataConfig, ModelConfig, OptimizerConfig, TrainingConfig};

/// The first out-of-range value: its key as a study file writes it
/// (`data.validation_fraction`) and what is wrong with it.
pub(super) fn out_of_range(
    model: &ModelConfig,
    data: &DataConfig,
    training: &TrainingConfig,
) -> Option<(String, String)> {
    let mut found = Vec::new();
    model_ranges(model, &mut found);
    if found.is_empty() {
        let count = parameter_count(model);
        if count > MAX_PARAMETERS {
            found.push((
                "model".into(),
                format!(
                    "has {count} parameters, more than the {MAX_PARAMETERS} (4 GiB of f32 per copy) a run can hold"
                ),
            ));
        }
    }
    data_ranges(data, &mut found);
    training_ranges(training, &mut found);
    found.into_iter().next()
}

type Found = Vec<(String, String)>;

/// Parameters a run may have: each copy (initial, current, final, optimizer
/// moments) is 4 bytes a parameter, so this is already 4 GiB a copy.
const MAX_PARAMETERS: u128 = 1 << 30;

/// How many parameters `model` has, counted without building its specs (a
/// study asking for 2^32 layers must be refused before anything is allocated).
fn parameter_count(model: &ModelConfig) -> u128 {
    let dense = |inputs: u128, outputs: u128| inputs * outputs + outputs;
    match model {
        ModelConfig::Mlp(m) => {
            let widths: Vec<u128> = std::iter::once(m.inputs)
                .chain(m.hidden.iter().copied())
                .chain(std::iter::once(m.outputs))
                .map(|w| w as u128)
                .collect();
            widths.windows(2).map(|w| dense(w[0], w[1])).sum()
        }
        ModelConfig::Rnn(m) => {
            let gates: u128 = if m.cell == Recurrence::Lstm { 4 } else { 1 };
            let (input, hidden, layers) = (m.input as u128, m.hidden as u128, m.layers as u128);
            let layer = |inputs: u128| gates * hidden * (inputs + hidden + 2);
            layer(input)
                + layers.saturating_sub(1) * layer(hidden)
                + dense(hidden, m.outputs as u128)
        }
        ModelConfig::EventLstm(m) => {
            let (vocabulary, dim, hidden) = (m.vocabulary as u128, m.dim as u128, m.hidden as u128);
            vocabulary * dim
                + 4 * hidden * (dim + hidden + 2)
                + dense(m.window as u128 * hidden, vocabulary)
        }
    }
}

/// Seeds a study or profile may ask for: every run of the grid is expanded
/// (and its config held) when the file is read.
pub(super) const MAX_SEEDS: u32 = 10_000;

fn positive(found: &mut Found, key: &str, value: usize) {
    if value == 0 {
        found.push((key.into(), "is 0; it must be at least 1".into()));
    }
}

fn positive_number(found: &mut Found, key: &str, value: f64) {
    if !(value > 0.0 && value.is_finite()) {
        found.push((
            key.into(),
            format!("is {value}; it must be a finite number > 0"),
        ));
    }
}

/// `value` in `[low, high)`, or `(low, high)` when `open_low`.
fn within(found: &mut Found, key: &str, value: f64, low: f64, high: f64, open_low: bool) {
    let above = if open_low { value > low } else { value >= low };
    if !(above && value < high) {
        let bracket = if open_low { '(' } else { '[' };
        found.push((
            key.into(),
            format!("is {value}; it must be in {bracket}{low}, {high})"),
        ));
    }
}

fn model_ranges(model: &ModelConfig, found: &mut Found) {
    match model {
        ModelConfig::Mlp(m) => {
            positive(found, "model.inputs", m.inputs);
            positive(found, "model.outputs", m.outputs);
            if let Some(i) = m.hidden.iter().position(|&w| w == 0) {
                found.push((
                    "model.hidden".into(),
                    format!("has width 0 at layer {i}; every layer needs at least 1 unit"),
                ));
            }
        }
        ModelConfig::Rnn(m) => {
            positive(found, "model.input", m.input);
            positive(found, "model.hidden", m.hidden);
            positive(found, "model.layers", m.layers);
            positive(found, "model.outputs", m.outputs);
            if m.cell == Recurrence::Lstm && m.nonlinearity.is_some() {
                found.push((
                    "model.nonlinearity".into(),
                    "is set for an LSTM, whose gates are fixed (σ and tanh)".into(),
                ));
            }
        }
        ModelConfig::EventLstm(m) => {
            positive(found, "model.vocabulary", m.vocabulary);
            positive(found, "model.dim", m.dim);
            positive(found, "model.hidden", m.hidden);
            positive(found, "model.window", m.window);
        }
    }
}

fn data_ranges(data: &DataConfig, found: &mut Found) {
    match data {
        DataConfig::Mnist {
            validation_fraction,
            normalize,
            eval_batch,
            ..
        } => {
            within(
                found,
                "data.validation_fraction",
                *validation_fraction,
                0.0,
                1.0,
                true,
            );
            if let Some([_, std]) = normalize {
                positive_number(found, "data.normalize", *std);
            }
            if let Some(b) = eval_batch {
                positive(found, "data.eval_batch", *b);
            }
        }
        DataConfig::Adding {
            length,
            examples_per_epoch,
            eval_examples,
            eval_batch,
            escape_below,
            ..
        } => {
            if *length < 2 {
                found.push((
                    "data.length".into(),
                    format!("is {length}; two markers need at least 2 steps"),
                ));
            }
            positive(found, "data.examples_per_epoch", *examples_per_epoch);
            positive(found, "data.eval_examples", *eval_examples);
            positive(found, "data.eval_batch", *eval_batch);
            positive_number(found, "data.escape_below", *escape_below);
        }
        DataConfig::Maestro {
            window,
            train_windows,
            validation_windows,
            test_windows,
            eval_batch,
            ..
        } => {
            positive(found, "data.window", *window);
            for (key, value) in [
                ("data.train_windows", train_windows),
                ("data.validation_windows", validation_windows),
                ("data.test_windows", test_windows),
            ] {
                if let Some(n) = value {
                    positive(found, key, *n);
                }
            }
            positive(found, "data.eval_batch", *eval_batch);
        }
    }
}

fn training_ranges(training: &TrainingConfig, found: &mut Found) {
    positive(found, "training.epochs", training.epochs);
    positive(found, "training.batch_size", training.batch_size);
    if let Some(n) = training.train_limit {
        positive(found, "training.train_limit", n);
    }
    if let Some(n) = training.eval_limit {
        positive(found, "training.eval_limit", n);
    }
    if let Some(c) = training.clip_grad_norm {
        positive_number(found, "training.clip_grad_norm", c);
    }
    let key = |name: &str| format!("training.optimizer.{name}");
    positive_number(found, &key("lr"), training.optimizer.lr());
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
            within(found, &key("beta1"), beta1, 0.0, 1.0, false);
            within(found, &key("beta2"), beta2, 0.0, 1.0, false);
            positive_number(found, &key("epsilon"), epsilon);
        }
        OptimizerConfig::Sgd { momentum, .. } => {
            within(found, &key("momentum"), momentum, 0.0, 1.0, false);
        }
    }
    if let OptimizerConfig::AdamW { weight_decay, .. } = training.optimizer {
        if !(weight_decay >= 0.0 && weight_decay.is_finite()) {
            found.push((
                key("weight_decay"),
                format!("is {weight_decay}; it must be a finite number ≥ 0"),
            ));
        }
    }
}
