//! Running a study's runs in parallel, skipping the ones already stored.

use burn::tensor::backend::AutodiffBackend;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::backend::{dispatch, BackendKind, BackendTask};
use crate::record::RunRecord;
use crate::run::RunSpec;
use crate::sources::TaskSet;
use crate::task::Task;
use crate::trainer::{train_run, Observer};
use crate::{Error, Result};

/// Where finished runs go. The store implements it; this crate only calls it,
/// so training never depends on how results are written.
pub trait RunSink: Sync {
    /// True when a run with this id is already stored, complete or diverged.
    fn contains(&self, run_id: &str) -> bool;
    /// Stores a finished run durably (it must survive a crash right after).
    fn save(&self, record: &RunRecord) -> std::result::Result<(), String>;
}

/// What [`run_grid`] did.
#[derive(Debug, Default)]
pub struct GridOutcome {
    /// Runs trained now, in grid order.
    pub trained: Vec<RunRecord>,
    /// Ids of runs skipped because the sink already had them.
    pub skipped: Vec<String>,
}

struct TrainTask<'a> {
    spec: &'a RunSpec,
    task: &'a dyn Task,
    observer: &'a dyn Observer,
}

impl BackendTask for TrainTask<'_> {
    type Output = Result<RunRecord>;
    fn run<B: AutodiffBackend>(self, device: B::Device, _: BackendKind) -> Self::Output {
        train_run::<B>(self.spec, self.task, &device, self.observer)
    }
}

/// Trains every run the sink does not have yet, `jobs` at a time on each run's
/// backend, saving each as soon as it finishes, so that an interrupted grid
/// loses at most the runs in flight.
///
/// Each worker takes the next run in `runs` order as soon as it is free, so
/// a caller that lists the longest runs first (`reproduce` does, by estimated
/// cost) never ends a grid with one long run on one worker while the other
/// idles. The order changes no run's numbers; `trained` comes back in the
/// order of `runs`. After a failure no new run starts; the first failure in
/// `runs` order is returned once the runs in flight have finished.
pub fn run_grid(
    runs: &[RunSpec],
    tasks: &TaskSet,
    jobs: usize,
    sink: &dyn RunSink,
    observer: &dyn Observer,
) -> Result<GridOutcome> {
    let (done, todo): (Vec<&RunSpec>, Vec<&RunSpec>) =
        runs.iter().partition(|r| sink.contains(&r.id));
    let workers = jobs.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .map_err(|e| Error::Backend {
            name: "threads".into(),
            message: format!("cannot start {jobs} worker threads: {e}"),
        })?;
    let train_one = |spec: &RunSpec| -> Result<RunRecord> {
        let record = dispatch(
            spec.backend,
            TrainTask {
                spec,
                task: tasks.get(spec)?,
                observer,
            },
        )??;
        sink.save(&record).map_err(|message| Error::Store {
            run_id: record.run_id.clone(),
            message,
        })?;
        observer.finished(&record);
        Ok(record)
    };
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let finished: Mutex<Vec<(usize, Result<RunRecord>)>> = Mutex::new(Vec::new());
    pool.scope(|scope| {
        for _ in 0..workers.min(todo.len()) {
            scope.spawn(|_| {
                while !failed.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(spec) = todo.get(i) else { break };
                    let outcome = train_one(spec);
                    if outcome.is_err() {
                        failed.store(true, Ordering::SeqCst);
                    }
                    finished
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .push((i, outcome));
                }
            });
        }
    });
    let mut finished = finished
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    finished.sort_by_key(|(i, _)| *i);
    let trained = finished
        .into_iter()
        .map(|(_, outcome)| outcome)
        .collect::<Result<Vec<_>>>()?;
    Ok(GridOutcome {
        trained,
        skipped: done.into_iter().map(|r| r.id.clone()).collect(),
    })
}
