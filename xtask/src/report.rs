//! `cargo xtask report`: the plots and the report, from results.h5, without training.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use initlab_analysis::{write_report, Error, ResultsStore};

/// Flags of `cargo xtask report` (its help text is the doc of `Command::Report`).
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The results folder, as given to `reproduce --out`.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let results = args.out.join("results.h5");
    if !results.is_file() {
        bail!(
            "{} does not exist: run `cargo xtask reproduce --out {}` first",
            results.display(),
            args.out.display()
        );
    }
    // results.h5 is checked as it is read; the run files behind it are
    // checked here, so a damaged one is found before it is reported on.
    let store = ResultsStore::open(&args.out)?;
    store.verify_all().map_err(|e| damaged(e, &args.out))?;
    write(&args.out)
}

/// A failed read of a stored run as one line, with what heals it.
pub fn damaged(error: Error, out: &Path) -> anyhow::Error {
    match error {
        Error::Io { .. } => error.into(),
        _ => anyhow::anyhow!(
            "{error}: `cargo xtask reproduce --out {}` moves it to <file>.damaged and trains the run again",
            out.display()
        ),
    }
}

/// Writes the report for `out` and says where it is; `reproduce` calls this too.
pub fn write(out: &Path) -> anyhow::Result<()> {
    let store = ResultsStore::open(out)?;
    let report = write_report(&store)
        .with_context(|| format!("writing the report for {}", out.display()))?;
    eprintln!(
        "report: {} runs, {} plots in {}; {} and {}",
        report.runs,
        report.plots.len(),
        out.join("plots").display(),
        report.markdown.display(),
        report.html.display()
    );
    Ok(())
}
