//! What a grid will cost on this machine, from a few timed steps of each kind
//! of run: `reproduce --dry-run` prints it, and the progress bar's ETA runs on
//! the same numbers.
//!
//! Runs that differ only in seed or initializer cost the same per step, so one
//! calibration serves every run of a *shape*: the model, the data config and
//! the training config without its epochs. Each shape is timed in a pool of
//! one thread, the share of a job when `--jobs` equals the cores.

use std::collections::HashMap;

use anyhow::Context;
use initlab_train::{time_run, EvalSet, RunSpec, StepTiming, TaskSet};

/// Steps timed per shape, after two that warm up.
pub const TIMED_STEPS: usize = 6;

/// What one run will cost.
#[derive(Clone, Debug)]
pub struct RunCost {
    /// Training steps in all.
    pub steps: usize,
    /// Estimated wall seconds per step, evaluation amortized over the steps.
    pub seconds_per_step: f64,
}

impl RunCost {
    /// Estimated wall seconds of the whole run.
    pub fn seconds(&self) -> f64 {
        self.steps as f64 * self.seconds_per_step
    }
}

/// Times every shape among `runs` once and costs each run.
pub fn costs(runs: &[RunSpec], tasks: &TaskSet) -> anyhow::Result<Vec<RunCost>> {
    let mut timings: HashMap<String, StepTiming> = HashMap::new();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .context("a one-thread pool for timing")?;
    runs.iter()
        .map(|run| {
            let task = tasks.get(run)?;
            let t = &run.config.training;
            let stream = task.train_stream(run.seed, t.batch_size, t.train_limit);
            let per_epoch = stream.steps_per_epoch();
            let key = shape(run);
            let timing = match timings.get(&key) {
                Some(timing) => *timing,
                None => {
                    let timing = pool.install(|| time_run(run, task, TIMED_STEPS))?;
                    timings.insert(key, timing);
                    timing
                }
            };
            let eval = task
                .eval_batches(EvalSet::Validation, t.eval_limit)
                .iter()
                .map(|b| b.len())
                .sum::<usize>();
            let eval_seconds = eval as f64 * timing.eval_seconds_per_example;
            Ok(RunCost {
                steps: t.epochs * per_epoch,
                seconds_per_step: timing.step_seconds + eval_seconds / per_epoch.max(1) as f64,
            })
        })
        .collect()
}

/// Runs of one shape cost the same per step.
fn shape(run: &RunSpec) -> String {
    let mut training = run.config.training.clone();
    training.epochs = 1;
    format!(
        "{}|{}|{}|{}",
        serde_json::to_string(&run.config.model).unwrap_or_default(),
        serde_json::to_string(&run.config.data).unwrap_or_default(),
        serde_json::to_string(&training).unwrap_or_default(),
        run.backend
    )
}

/// `1 h 02 min`, `12 min 30 s`, `45 s`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}
