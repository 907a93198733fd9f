//! `cargo xtask test`: the README's test command.

use std::process::Command;

use anyhow::{bail, Context};
use initlab_train::{BackendKind, Profile};

use crate::download::{ensure, DataArgs};
use crate::{paths, reproduce};

/// Run every test: fetch the data (from the mirror when set), `cargo test
/// --workspace`, then the smoke profile of every study checked against snapshots/.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub data: DataArgs,
    /// Backend for the smoke profile.
    #[arg(long, default_value_t = BackendKind::DEFAULT)]
    pub backend: BackendKind,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (manifest, cache) = args.data.open()?;
    ensure(&manifest, &cache, &["mnist".to_string()], true).context("fetching test data")?;

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("== cargo test --workspace");
    let status = Command::new(&cargo)
        .current_dir(paths::project_root())
        .args(["test", "--workspace"])
        .env("INITLAB_CACHE", cache.dir())
        .status()
        .with_context(|| format!("running {cargo} test"))?;
    if !status.success() {
        bail!("cargo test --workspace failed ({status})");
    }

    eprintln!("== reproduce --profile smoke --check");
    // A fresh output directory, so the smoke grid really trains rather than
    // finding its runs already stored.
    let out = paths::project_root().join("target").join("initlab-smoke");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    reproduce::run(reproduce::Args {
        profile: Profile::Smoke,
        studies: Vec::new(),
        backend: args.backend,
        jobs: None,
        out,
        check: true,
        data: args.data,
    })
}
