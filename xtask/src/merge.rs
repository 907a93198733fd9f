//! `cargo xtask merge`: join the run files of `reproduce --shard` directories
//! into one results store.
//!
//! Every input file is checked against its hashes, and every run id resolved,
//! before anything is written: a damaged file or two different results for one
//! run leave `<out>` as it was. Runs already in `<out>/runs/` count as an input,
//! so merging again (or merging more shards in later) is safe.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use initlab_analysis::{summarize, summary_table, verify_run_file, ResultsStore, VerifiedRun};
use rayon::prelude::*;

/// Flags of `cargo xtask merge` (its help text is the doc of `Command::Merge`).
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Where the merged store goes: <out>/runs/<id>.h5, <out>/results.h5 and the report.
    #[arg(long)]
    pub out: PathBuf,
    /// The shard directories, as given to `reproduce --shard I/N --out`.
    #[arg(required = true, value_name = "SHARD_DIR")]
    pub shards: Vec<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut inputs = Vec::new();
    if args.out.join("runs").is_dir() {
        inputs.push(run_files(&args.out)?);
    }
    for dir in &args.shards {
        if !dir.join("runs").is_dir() {
            bail!(
                "{}: no runs/ folder, so not a shard directory (`reproduce --shard I/N --out DIR` writes DIR/runs/)",
                dir.display()
            );
        }
        inputs.push(run_files(dir)?);
    }
    let files: Vec<PathBuf> = inputs.into_iter().flatten().collect();
    let checked: Vec<_> = files.par_iter().map(|path| verify_run_file(path)).collect();
    let mut problems = Vec::new();
    // One run per id; the first file in argument order (<out>'s own first) is kept.
    let mut runs: BTreeMap<String, VerifiedRun> = BTreeMap::new();
    let mut duplicates = 0;
    for result in checked {
        let run = match result {
            Ok(run) => run,
            Err(e) => {
                problems.push(format!("{e}"));
                continue;
            }
        };
        match runs.get(&run.run_id) {
            None => {
                runs.insert(run.run_id.clone(), run);
            }
            Some(kept) if kept.same_run(&run) => duplicates += 1,
            Some(kept) => problems.push(conflict(kept, &run)),
        }
    }
    if !problems.is_empty() {
        bail!(
            "nothing merged into {}, {} problem(s):\n{}",
            args.out.display(),
            problems.len(),
            problems.join("\n")
        );
    }

    let store = ResultsStore::open(&args.out)?;
    let mut copied = 0;
    for run in runs.values() {
        if !same_file(&run.path, &store.run_path(&run.run_id)) {
            store.import(run)?;
            copied += 1;
        }
    }
    let stored = store.rebuild()?;
    let records = store.read_results()?;
    eprintln!(
        "merge: {} run files verified, {copied} copied, {duplicates} identical duplicates taken once; {stored} runs in {}",
        files.len(),
        store.results_path().display()
    );
    println!("{}", summary_table(&summarize(&records)));
    crate::report::write(&args.out)?;
    Ok(())
}

/// `<dir>/runs/*.h5`, sorted (temporary files of an interrupted write excluded).
fn run_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let store = ResultsStore::open(dir)?;
    let ids = store
        .run_ids()
        .with_context(|| format!("listing the runs of {}", dir.display()))?;
    Ok(ids.iter().map(|id| store.run_path(id)).collect())
}

/// The error for one run id stored twice with different results.
fn conflict(a: &VerifiedRun, b: &VerifiedRun) -> String {
    let differ: Vec<&str> = [
        ("config_sha256", &a.config_sha256, &b.config_sha256),
        ("init_sha256", &a.init_sha256, &b.init_sha256),
        ("outputs_sha256", &a.outputs_sha256, &b.outputs_sha256),
    ]
    .into_iter()
    .filter(|(_, x, y)| x != y)
    .map(|(name, ..)| name)
    .collect();
    format!(
        "run {} is in {} and in {} with different {}: the same run gave different results; keep one file and merge again",
        a.run_id,
        a.path.display(),
        b.path.display(),
        differ.join(", ")
    )
}

/// True when both paths name one file (a shard directory given as `--out`).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
