//! `cargo xtask report`: the plots and the report, from results.h5, without
//! training; with `--readme`, the README's result tables rewritten from them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use initlab_analysis::{write_report, Error, Report, ResultsStore};

/// Flags of `cargo xtask report` (its help text is the doc of `Command::Report`).
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The results folder, as given to `reproduce --out`.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Also rewrite FILE's result blocks from this store: each block between
    /// `<!-- results: STUDY -->` and `<!-- /results: STUDY -->` whose study
    /// the store holds becomes that study's key tables and verdicts, headed
    /// by the store's sha256, the commit and the machine. Blocks of studies
    /// the store lacks are left as they are, so one study at a time can be
    /// measured and written.
    #[arg(long, value_name = "FILE")]
    pub readme: Option<PathBuf>,
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
    let report = write(&args.out)?;
    if let Some(readme) = &args.readme {
        write_readme(readme, &args.out, &report)?;
    }
    Ok(())
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
pub fn write(out: &Path) -> anyhow::Result<Report> {
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
    Ok(report)
}

/// Rewrites `readme`'s result blocks of the studies in `report` (written to
/// a temporary file and renamed, so a failure leaves the README as it was).
fn write_readme(readme: &Path, out: &Path, report: &Report) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(readme).with_context(|| format!("reading {}", readme.display()))?;
    let provenance = provenance(out, report);
    let mut text = text;
    let mut missing = Vec::new();
    for key in &report.key_results {
        let body = format!("{provenance}\n\n{}", key.markdown.trim_end());
        match replace_block(&text, &key.study, &body) {
            Ok(Some(new)) => {
                text = new;
                eprintln!("{}: results of `{}` rewritten", readme.display(), key.study);
            }
            Ok(None) => missing.push(key.study.as_str()),
            Err(e) => bail!("{}: {e}", readme.display()),
        }
    }
    if !missing.is_empty() {
        eprintln!(
            "{}: no block for {} (add `<!-- results: STUDY -->` and `<!-- /results: STUDY -->` \
             where its tables belong)",
            readme.display(),
            missing.join(", ")
        );
    }
    let tmp = readme.with_extension("md.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, readme).with_context(|| format!("renaming onto {}", readme.display()))
}

/// `text` with the block of `study` replaced by `body`; `None` if it has no
/// such block, an error if the block is not closed.
pub fn replace_block(text: &str, study: &str, body: &str) -> Result<Option<String>, String> {
    let open = format!("<!-- results: {study} -->");
    let close = format!("<!-- /results: {study} -->");
    let Some(start) = text.find(&open) else {
        return Ok(None);
    };
    let inner = start + open.len();
    let Some(end) = text[inner..].find(&close).map(|i| inner + i) else {
        let line = text[..start].lines().count() + 1;
        return Err(format!("line {line}: `{open}` has no `{close}`"));
    };
    Ok(Some(format!(
        "{}\n{body}\n{}",
        &text[..inner],
        &text[end..]
    )))
}

/// One line saying where the numbers came from: the store, the code, the machine.
fn provenance(out: &Path, report: &Report) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(crate::paths::project_root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = match (
        git(&["rev-parse", "--short=12", "HEAD"]),
        // Changes to Markdown (this README among them) do not change a number.
        git(&[
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            ":(exclude)*.md",
        ]),
    ) {
        (Some(c), Some(changes)) if changes.is_empty() => format!("commit `{c}`"),
        (Some(c), _) => format!("commit `{c}` with uncommitted changes to the code"),
        (None, _) => "an unknown commit (no git)".into(),
    };
    let finished = report
        .finished
        .as_ref()
        .map_or(String::new(), |(a, b)| format!(", finished {a} to {b}"));
    format!(
        "*Written by `cargo xtask report --out {} --readme` from its `results.h5` (sha256 `{}…`, \
         {} runs{finished}) at {commit}, on {}.*",
        out.display(),
        &report.results_sha256[..16.min(report.results_sha256.len())],
        report.runs,
        machine()
    )
}

/// The CPU model and how many threads it offers, as the OS reports them.
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model}, {threads} threads")
}

#[cfg(test)]
mod tests {
    use super::replace_block;

    #[test]
    fn a_block_is_replaced_and_the_rest_kept() {
        let text = "a\n<!-- results: s -->\nold\n<!-- /results: s -->\nb\n";
        let new = replace_block(text, "s", "new")
            .expect("closed")
            .expect("found");
        assert_eq!(
            new,
            "a\n<!-- results: s -->\nnew\n<!-- /results: s -->\nb\n"
        );
        assert_eq!(replace_block(text, "t", "x"), Ok(None));
        let open = replace_block("x\n<!-- results: s -->\nold\n", "s", "new");
        assert_eq!(
            open,
            Err("line 2: `<!-- results: s -->` has no `<!-- /results: s -->`".into())
        );
    }
}
