//! What a grid will cost on this machine, from a few timed steps of each kind
//! of run: `reproduce --dry-run` prints it, and the progress bar's ETA runs on
//! the same numbers.
//!
//! Runs that differ only in seed or initializer cost the same per step, so one
//! calibration serves every run of a *shape*: the model, the data config and
//! the training config without its epochs. Each shape is timed as the grid
//! runs it: one copy per `--jobs` worker at once, on a pool of `--jobs`
//! threads. A copy timed alone on one thread, the other core idle, ran
//! 10–20 % faster than runs of small models beside each other in the grid
//! (shared caches, memory bandwidth and clock).

use std::collections::HashMap;

use anyhow::Context;
use initlab_train::{
    time_run, EvalSet, RunSpec, StepTiming, Task, TaskSet, TestSchedule, TimingBudget,
};

/// Steps timed per shape at least, after two that warm up.
pub const TIMED_STEPS: usize = 6;
/// ... and on until this many seconds have passed: a run's speed on a
/// shared machine wanders by 10–20 % from one second to the next (one
/// lstm-maestro run costed at 447 s from half a second of steps, 367 s half
/// an hour later; its runs took 346–370 s between).
const TIMED_SECONDS: f64 = 1.0;
/// ... but no more than this share of the steps of all the grid's runs of
/// the shape, so that timing the smoke profile's short runs does not take
/// longer than running them. (A share of one run's steps held mlp-keras's
/// quick timing to 375 steps, a quarter of a second, and one such quarter
/// costed its 31 s grid at 44 s.)
const TIMED_SHARE: usize = 20;

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

/// What one shape costs: its timing and the size of its evaluation sets.
#[derive(Clone, Copy)]
struct ShapeCost {
    timing: StepTiming,
    validation_examples: f64,
    test_examples: f64,
}

/// Times every shape among `runs` once, with as many copies at once as the
/// grid will run (`jobs`, or fewer runs), and costs each run.
pub fn costs(runs: &[RunSpec], tasks: &TaskSet, jobs: usize) -> anyhow::Result<Vec<RunCost>> {
    let mut shapes: HashMap<String, ShapeCost> = HashMap::new();
    let copies = jobs.min(runs.len()).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .context("a pool of --jobs threads for timing")?;
    // Steps per epoch of each run, and the steps of each shape's runs together.
    let mut per_epoch = Vec::with_capacity(runs.len());
    let mut shape_steps: HashMap<String, usize> = HashMap::new();
    for run in runs {
        let t = &run.config.training;
        let stream = tasks
            .get(run)?
            .train_stream(run.seed, t.batch_size, t.train_limit);
        per_epoch.push(stream.steps_per_epoch());
        *shape_steps.entry(shape(run)).or_default() += t.epochs * stream.steps_per_epoch();
    }
    runs.iter()
        .zip(per_epoch)
        .map(|(run, per_epoch)| {
            let task = tasks.get(run)?;
            let t = &run.config.training;
            let key = shape(run);
            let cost = match shapes.get(&key) {
                Some(cost) => *cost,
                None => {
                    let all_steps = shape_steps.get(&key).copied().unwrap_or_default();
                    let budget = TimingBudget {
                        min_steps: TIMED_STEPS,
                        max_steps: (all_steps / TIMED_SHARE).max(TIMED_STEPS),
                        min_seconds: TIMED_SECONDS,
                    };
                    // The sets are the same for every run of a shape (the data
                    // config and `eval_limit` are part of it): counted once,
                    // since counting builds every batch.
                    let examples = |set: EvalSet| {
                        task.eval_batches(set, t.eval_limit)
                            .iter()
                            .map(|b| b.len())
                            .sum::<usize>() as f64
                    };
                    let cost = ShapeCost {
                        timing: side_by_side(&pool, copies, run, task, budget)?,
                        validation_examples: examples(EvalSet::Validation),
                        test_examples: examples(EvalSet::Test),
                    };
                    shapes.insert(key, cost);
                    cost
                }
            };
            let per_example = cost.timing.eval_seconds_per_example;
            let tests = match t.test {
                TestSchedule::EveryEpoch => t.epochs + 1,
                TestSchedule::End | TestSchedule::BestValidation => 1,
            };
            Ok(RunCost {
                steps: t.epochs * per_epoch,
                seconds_per_step: cost.timing.step_seconds
                    + cost.validation_examples * per_example / per_epoch.max(1) as f64,
                fixed_seconds: cost.timing.setup_seconds
                    + tests as f64 * cost.test_examples * per_example,
            })
        })
        .collect()
}

/// `copies` timings of `run` at once on `pool`, spawned as `run_grid` spawns
/// its workers (so they share the pool's threads as runs do); their mean, and
/// the steps all of them timed.
fn side_by_side(
    pool: &rayon::ThreadPool,
    copies: usize,
    run: &RunSpec,
    task: &dyn Task,
    budget: TimingBudget,
) -> anyhow::Result<StepTiming> {
    let timings = std::sync::Mutex::new(Vec::new());
    pool.scope(|scope| {
        for _ in 0..copies {
            scope.spawn(|_| {
                let timing = time_run(run, task, budget);
                if let Ok(mut all) = timings.lock() {
                    all.push(timing);
                }
            });
        }
    });
    let timings = timings
        .into_inner()
        .map_err(|_| anyhow::anyhow!("timing run {} panicked", run.id))?
        .into_iter()
        .collect::<Result<Vec<StepTiming>, _>>()?;
    let mean = |field: fn(&StepTiming) -> f64| {
        timings.iter().map(field).sum::<f64>() / timings.len().max(1) as f64
    };
    Ok(StepTiming {
        setup_seconds: mean(|t| t.setup_seconds),
        step_seconds: mean(|t| t.step_seconds),
        eval_seconds_per_example: mean(|t| t.eval_seconds_per_example),
        timed_steps: timings.iter().map(|t| t.timed_steps).sum(),
    })
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
