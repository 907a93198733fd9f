//! `cargo xtask reproduce`: train the studies' grids and report.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use initlab_analysis::{snapshot_text, summarize, summary_table, ResultsStore};
use initlab_train::{
    point_name, run_grid, BackendKind, Observer, Overrides, Profile, RunRecord, RunSpec, Sources,
    Study, TaskSet,
};

use crate::download::{ensure, DataArgs};
use crate::{estimate, paths};

/// Train the studies' grids, store every run, print measured vs published.
///
/// Runs already in <out>/runs/ (same run id) are skipped, so an interrupted
/// command picks up where it stopped. Each finished run is committed to its own
/// file at once; <out>/results.h5 is rebuilt from them after each study.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// smoke: a few hundred steps on a subset (CI); quick: the published config
    /// with a few seeds; paper: with as many seeds as the paper.
    #[arg(long, default_value = "quick")]
    pub profile: Profile,
    /// A study name from experiments/ or a path to a study file (repeatable;
    /// default: every study in experiments/).
    #[arg(long = "study", value_name = "NAME|PATH")]
    pub studies: Vec<String>,
    /// The burn backend to train on (ndarray, candle, flex, tch; compiled-in ones only).
    #[arg(long, default_value_t = BackendKind::DEFAULT)]
    pub backend: BackendKind,
    /// Where the backend computes: cpu, or with --backend tch also cuda or cuda:N.
    #[arg(long, default_value = "cpu", value_name = "cpu|cuda|cuda:N")]
    pub device: String,
    /// Runs trained at once [default: the number of cores].
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Where results go: <out>/runs/<id>.h5 per run and <out>/results.h5.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Compare each study's summary with its snapshot in snapshots/ and fail on drift.
    #[arg(long)]
    pub check: bool,
    /// Train only shard I of N (0-based) of each study's runs, for a cluster's job
    /// array: the runs at positions I, I+N, ... of the sorted run ids. Writes their
    /// run files and no results.h5; `cargo xtask merge` joins the shards.
    #[arg(long, value_name = "I/N", conflicts_with = "check")]
    pub shard: Option<crate::shard::Shard>,
    /// Run only these values of a grid axis (repeatable): AXIS=LABEL[,LABEL],
    /// e.g. `model=irnn`, `length=150,200`, `initializer=xavier`, `part=depth`.
    #[arg(long = "only", value_name = "AXIS=LABELS")]
    pub only: Vec<String>,
    /// Change a config key of every run (repeatable): KEY=VALUE, the value in
    /// TOML, e.g. `training.epochs=80`. A changed config is a new run with a
    /// new id; stored runs are never overwritten.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Print each study's runs, training steps and the wall time they would
    /// take on this machine (from a few timed steps of each kind of run), and
    /// train nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub data: DataArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // Everything that can be wrong with the request is checked before anything
    // is written, so a bad study file leaves earlier results untouched.
    args.backend.select_device(&args.device)?;
    let names = if args.studies.is_empty() {
        Study::names(&paths::experiments())
    } else {
        args.studies.clone()
    };
    let studies = names
        .iter()
        .map(|n| Study::find(&paths::experiments(), n))
        .collect::<Result<Vec<_>, _>>()?;
    let mut overrides = Overrides::default();
    for o in &args.only {
        overrides.only(o).map_err(anyhow::Error::msg)?;
    }
    for s in &args.set {
        overrides.set(s).map_err(anyhow::Error::msg)?;
    }
    // A shard trains its share of each study's runs and nothing else.
    let plans = studies
        .iter()
        .map(|s| {
            Ok(crate::shard::select(
                s.runs_with(args.profile, args.backend, &overrides)?,
                args.shard,
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (manifest, cache) = args.data.open()?;
    let mut needed: Vec<String> = plans
        .iter()
        .flatten()
        .flat_map(|r| Sources::datasets(&r.config.data))
        .map(|d| d.to_string())
        .collect();
    needed.sort();
    needed.dedup();
    ensure(&manifest, &cache, &needed, false)?;
    let store = ResultsStore::open(&args.out)?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let table_progress = crate::embeddings::Progress::new(0);
    let mut sources = Sources::new(&manifest, &cache, &table_progress);
    if args.dry_run {
        sources = sources.without_training_tables();
    }
    // Every study's data is read (decoded, tokenized, its fixed sets drawn)
    // before anything trains, so bad data stops the command before it writes.
    let mut tasks = TaskSet::default();
    for (study, runs) in studies.iter().zip(&plans) {
        tasks
            .add(runs, &sources)
            .with_context(|| format!("study {}: preparing its data", study.info.name))?;
    }

    if args.dry_run {
        let start_up = started.elapsed().as_secs_f64();
        return dry_run(&args, &studies, &plans, &tasks, &store, jobs, start_up);
    }
    // A stored run counts as done only once its file verifies; one that does
    // not (cut short, edited, damaged on disk) is set aside and trained again.
    store.remove_stale_temporaries()?;
    let damaged = store.set_aside_damaged()?;
    for d in &damaged {
        eprintln!(
            "{}: moved to {}; training the run again",
            d.error,
            d.moved_to.display()
        );
    }
    let planned: std::collections::HashSet<&str> =
        plans.iter().flatten().map(|r| r.id.as_str()).collect();
    let elsewhere = damaged
        .iter()
        .filter(|d| !planned.contains(d.run_id.as_str()))
        .count();
    if elsewhere > 0 {
        eprintln!(
            "{elsewhere} damaged run(s) belong to studies or profiles not run now; they are trained again when theirs are"
        );
    }

    let mut all_records = Vec::new();
    let mut drift = Vec::new();
    for (study, runs) in studies.iter().zip(&plans) {
        if let Some(why) = not_in_profile(study, args.profile) {
            eprintln!("{}: {why}", study.info.name);
            continue;
        }
        let todo = not_stored(runs, &store);
        let costs = estimate::costs(&todo, &tasks, jobs)?;
        eprintln!(
            "{} ({}): {} runs, {} already stored, profile {}, backend {}, {jobs} jobs",
            study.info.name,
            study.info.title,
            runs.len(),
            runs.len() - todo.len(),
            args.profile.name(),
            args.backend
        );
        let progress = Progress::new(&study.info.name, &todo, &costs);
        // Longest first, so the grid does not end on one long run.
        let mut ordered: Vec<(f64, &RunSpec)> =
            costs.iter().map(|c| c.seconds()).zip(&todo).collect();
        ordered.sort_by(|a, b| b.0.total_cmp(&a.0));
        let ordered: Vec<RunSpec> = ordered.into_iter().map(|(_, r)| r.clone()).collect();
        let outcome = run_grid(&ordered, &tasks, jobs, &store, &progress)
            .with_context(|| format!("study {}", study.info.name))?;
        progress.bar.finish_and_clear();
        if let Some(shard) = args.shard {
            // A shard is partial: results.h5, the report and --check are merge's.
            eprintln!(
                "{}: shard {shard}: {} trained, {} skipped; wrote run files only, in {} (no results.h5): `cargo xtask merge` joins the shards",
                study.info.name,
                outcome.trained.len(),
                runs.len() - todo.len(),
                args.out.join("runs").display()
            );
            continue;
        }
        let stored = store.rebuild()?;
        let records: Vec<RunRecord> = runs
            .iter()
            .map(|r| store.load(&r.id))
            .collect::<Result<_, _>>()?;
        let healed = runs
            .iter()
            .filter(|r| damaged.iter().any(|d| d.run_id == r.id))
            .count();
        let healed = if healed > 0 {
            format!(" ({healed} healed: damaged files set aside and retrained)")
        } else {
            String::new()
        };
        eprintln!(
            "{}: {} trained{healed}, {} skipped; {} runs in {}",
            study.info.name,
            outcome.trained.len(),
            runs.len() - todo.len(),
            stored,
            store.results_path().display()
        );
        if args.check {
            if let Err(e) = check_snapshot(&study.info.name, args.profile, args.backend, &records) {
                drift.push(format!("{e:#}"));
            }
        }
        all_records.extend(records);
    }
    if args.shard.is_some() {
        return Ok(());
    }
    println!("{}", summary_table(&summarize(&all_records)));
    // The report covers every run in results.h5; it is written before a
    // snapshot drift fails the command, so the drift can be looked at.
    crate::report::write(&args.out)?;
    if !drift.is_empty() {
        bail!("snapshot drift:\n{}", drift.join("\n"));
    }
    Ok(())
}

/// Compares a study's rounded per-run summary with `snapshots/<name>.snap`.
///
/// On drift insta prints the diff and writes a `.snap.new` beside the snapshot
/// (not in CI); `cargo insta review` accepts an intended change.
fn check_snapshot(
    study: &str,
    profile: Profile,
    backend: BackendKind,
    records: &[RunRecord],
) -> anyhow::Result<()> {
    let name = if backend == BackendKind::DEFAULT {
        format!("{study}-{}", profile.name())
    } else {
        format!("{study}-{}-{backend}", profile.name())
    };
    let text = snapshot_text(records);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(paths::snapshots());
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(format!(
        "{study}, profile {}, backend {backend}: per-run test accuracy/loss and initial-parameter hash",
        profile.name()
    ));
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name.as_str(), text.as_str()))
    }));
    std::panic::set_hook(hook);
    match result {
        Ok(()) => {
            eprintln!("{study}: snapshot {name} matches");
            Ok(())
        }
        Err(_) => bail!("{study}: results differ from snapshots/{name}.snap (diff above; `cargo insta review` accepts an intended change)"),
    }
}

/// A progress bar per study: its unit is the estimated cost of the steps
/// (each run's steps weigh what one of its steps was timed at), so the ETA
/// holds when cheap and dear runs share a grid.
struct Progress {
    bar: ProgressBar,
    runs: usize,
    done: AtomicUsize,
    /// Milliseconds of estimated cost per step, by run id.
    step_cost: HashMap<String, u64>,
    steps: AtomicUsize,
}

impl Progress {
    fn new(study: &str, runs: &[RunSpec], costs: &[estimate::RunCost]) -> Self {
        let step_cost: HashMap<String, u64> = runs
            .iter()
            .zip(costs)
            .map(|(r, c)| {
                (
                    r.id.clone(),
                    (c.seconds_per_step * 1e6).round().max(1.0) as u64,
                )
            })
            .collect();
        let total: u64 = runs
            .iter()
            .zip(costs)
            .map(|(r, c)| step_cost[&r.id] * c.steps as u64)
            .sum();
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{study} [{{bar:30}}] {{percent}}% · {{msg}} · ETA {{eta}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress {
            bar,
            runs: runs.len(),
            done: AtomicUsize::new(0),
            step_cost,
            steps: AtomicUsize::new(0),
        }
    }
}

impl Observer for Progress {
    fn step(&self, run_id: &str, loss: f32) {
        self.bar
            .inc(self.step_cost.get(run_id).copied().unwrap_or(1));
        let steps = self.steps.fetch_add(1, Ordering::Relaxed) + 1;
        if steps.is_multiple_of(50) {
            self.bar.set_message(format!(
                "{steps} steps · runs {}/{} · loss {loss:.4}",
                self.done.load(Ordering::Relaxed),
                self.runs
            ));
        }
    }

    fn finished(&self, r: &RunRecord) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.bar.suspend(|| {
            eprintln!(
                "  [{done}/{}] {} {:<14} r{} {:<8} {} ({:.1} s)",
                self.runs,
                r.run_id,
                point_name(&r.grid, &r.label),
                r.replicate,
                r.status.as_str(),
                outcome(r),
                r.wall_seconds
            )
        });
    }
}

/// The numbers a finished run's line shows: test accuracy and loss, and the
/// study-specific metrics it recorded.
fn outcome(r: &RunRecord) -> String {
    let mut parts = Vec::new();
    if r.test_accuracy.is_finite() {
        parts.push(format!("test acc {:.4}", r.test_accuracy));
    }
    parts.push(format!("loss {:.4}", r.test_loss));
    for (name, value) in &r.metrics {
        parts.push(format!("{name} {value:.4}"));
    }
    parts.join(" ")
}

/// `--dry-run`: per study, the runs still to train, their steps and the wall
/// time they would take here with `jobs` at once. A training command reads
/// the same data (`start_up`, as long as it took this command) and times the
/// same steps before each study: both are in the figures.
fn dry_run(
    args: &Args,
    studies: &[Study],
    plans: &[Vec<RunSpec>],
    tasks: &TaskSet,
    store: &ResultsStore,
    jobs: usize,
    start_up: f64,
) -> anyhow::Result<()> {
    println!(
        "profile {}, backend {}, {jobs} jobs; times from at least {} timed steps of each kind of run on this machine, one copy per job at once; runs handed out longest first",
        args.profile.name(),
        args.backend,
        estimate::TIMED_STEPS
    );
    println!(
        "{:<14} {:>6} {:>7} {:>12} {:>16} {:>16}",
        "study", "runs", "stored", "steps", "one job", "wall estimate"
    );
    println!(
        "{:<14} {:>6} {:>7} {:>12} {:>16} {:>16}",
        "start-up",
        "",
        "",
        "",
        estimate::duration(start_up),
        estimate::duration(start_up)
    );
    let (mut all_seconds, mut all_wall) = (start_up, start_up);
    for (study, runs) in studies.iter().zip(plans) {
        if let Some(why) = not_in_profile(study, args.profile) {
            println!("{:<14} {why}", study.info.name);
            continue;
        }
        let todo = not_stored(runs, store);
        let timing = std::time::Instant::now();
        let costs = estimate::costs(&todo, tasks, jobs)?;
        // Training times the same steps first, for its progress bar.
        let timing = timing.elapsed().as_secs_f64();
        let each: Vec<f64> = costs.iter().map(|c| c.seconds()).collect();
        let seconds: f64 = each.iter().sum::<f64>() + timing;
        let wall = estimate::makespan(&each, jobs) + timing;
        all_seconds += seconds;
        all_wall += wall;
        println!(
            "{:<14} {:>6} {:>7} {:>12} {:>16} {:>16}",
            study.info.name,
            runs.len(),
            runs.len() - todo.len(),
            costs.iter().map(|c| c.steps).sum::<usize>(),
            estimate::duration(seconds),
            estimate::duration(wall)
        );
    }
    println!(
        "{:<14} {:>6} {:>7} {:>12} {:>16} {:>16}",
        "all",
        "",
        "",
        "",
        estimate::duration(all_seconds),
        estimate::duration(all_wall)
    );
    Ok(())
}

/// The runs of `runs` with no file in `store` yet: what is left to train.
fn not_stored(runs: &[RunSpec], store: &ResultsStore) -> Vec<RunSpec> {
    runs.iter()
        .filter(|r| !store.run_path(&r.id).is_file())
        .cloned()
        .collect()
}

/// Why `study` has no runs in `profile`, if it has none.
fn not_in_profile(study: &Study, profile: Profile) -> Option<String> {
    study
        .skipped(profile)
        .map(|why| format!("not in profile {}: {why}", profile.name()))
}
