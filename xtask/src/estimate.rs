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
use initlab_train::{time_run, EvalSet, RunSpec, StepTiming, TaskSet, TestSchedule};

/// Steps timed per shape at least, after two that warm up (more for a cheap
/// step: see `initlab_train::MIN_TIMED_SECONDS`).
pub const TIMED_STEPS: usize = 6;

/// What one run will cost.
#[derive(Clone, Debug)]
pub struct RunCost {
    /// Training steps in all.
    pub steps: usize,
    /// Estimated wall seconds per step, the per-epoch validation amortized
    /// over the steps.
    pub seconds_per_step: f64,
    /// Estimated wall seconds outside the steps: set-up (sampling, LSUV) and
    /// the test-set evaluations.
    pub fixed_seconds: f64,
}

impl RunCost {
    /// Estimated wall seconds of the whole run.
    pub fn seconds(&self) -> f64 {
        self.steps as f64 * self.seconds_per_step + self.fixed_seconds
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
            let examples = |set: EvalSet| {
                task.eval_batches(set, t.eval_limit)
                    .iter()
                    .map(|b| b.len())
                    .sum::<usize>() as f64
            };
            let validation = examples(EvalSet::Validation) * timing.eval_seconds_per_example;
            let tests = match t.test {
                TestSchedule::EveryEpoch => t.epochs + 1,
                TestSchedule::End | TestSchedule::BestValidation => 1,
            };
            let test = tests as f64 * examples(EvalSet::Test) * timing.eval_seconds_per_example;
            Ok(RunCost {
                steps: t.epochs * per_epoch,
                seconds_per_step: timing.step_seconds + validation / per_epoch.max(1) as f64,
                fixed_seconds: timing.setup_seconds + test,
            })
        })
        .collect()
}

/// Wall seconds for `jobs` workers to train runs costing `seconds`, each
/// worker taking the next run, longest first, when it is free: how
/// `reproduce` hands them out, so a grid of unequal runs is costed as it will
/// end, not as if its runs could be split.
pub fn makespan(seconds: &[f64], jobs: usize) -> f64 {
    let mut sorted = seconds.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let mut free_at = vec![0.0_f64; jobs.max(1)];
    for s in sorted {
        if let Some(earliest) = free_at.iter_mut().min_by(|a, b| a.total_cmp(b)) {
            *earliest += s;
        }
    }
    free_at.into_iter().fold(0.0, f64::max)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makespan_hands_runs_out_longest_first() {
        // Two workers: 5 | 4, then 3 joins the 4 and 2 the 5: both end at 7.
        assert_eq!(makespan(&[2.0, 3.0, 4.0, 5.0], 2), 7.0);
        // A run longer than all the others together is the wall time.
        assert_eq!(makespan(&[10.0, 1.0, 1.0, 1.0], 2), 10.0);
        // Unequal runs do not split: three of 3 on two workers take 6, not 4.5.
        assert_eq!(makespan(&[3.0, 3.0, 3.0], 2), 6.0);
        assert_eq!(makespan(&[3.0, 3.0, 3.0], 1), 9.0);
        assert_eq!(makespan(&[], 2), 0.0);
    }
}
