//! `cargo xtask test`: the README's test command.

use std::process::Command;

use anyhow::{bail, Context};
use initlab_train::{BackendKind, Profile};

use crate::download::{ensure, DataArgs};
use crate::torch_env::{self, TorchEnv};
use crate::{paths, reproduce};

/// Run every test: fetch the data (from the mirror when set), `cargo test
/// --workspace --release`, then the smoke profile of every study checked against snapshots/.
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
    if args.backend == BackendKind::Tch {
        return run_tch(args, cache.dir());
    }

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Release, like the xtask that runs the smoke grid: the optimized
    // dependencies are built once for both, not once per profile.
    eprintln!("== cargo test --workspace --release");
    let status = Command::new(&cargo)
        .current_dir(paths::project_root())
        .args(["test", "--workspace", "--release"])
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
        device: "cpu".into(),
        jobs: None,
        out,
        check: true,
        shard: None,
        only: Vec::new(),
        set: Vec::new(),
        dry_run: false,
        data: args.data,
    })
}

/// `--backend tch`: the tests that need libtorch, then the smoke profile on tch.
///
/// The default-backend tests are not run again (`cargo xtask test` does that).
/// `tests/tch_equivalence.rs` (built with `--features tch` in target/tch, release
/// profile so that it reuses the tch xtask's dependencies) checks every study's
/// smoke runs against ndarray: same `init_sha256`, trajectories within the
/// tolerance stated there, and repeatable outputs on tch. The smoke grid then
/// runs through the command line into target/initlab-smoke-tch/; it has no
/// snapshot of its own, since libtorch's kernels (and so the 4th decimal) depend
/// on the CPU they run on, and the equivalence test is the check.
fn run_tch(args: Args, cache: &std::path::Path) -> anyhow::Result<()> {
    let env = TorchEnv::require()?;
    eprintln!("== cargo test --release -p initlab-train --features tch (target/tch)");
    let started = std::time::Instant::now();
    let status = torch_env::cargo(&env, "test")
        .args([
            "--release",
            "-p",
            "initlab-train",
            "--features",
            "tch",
            "--lib",
            "--test",
            "training",
            "--test",
            "tch_equivalence",
        ])
        .env("INITLAB_CACHE", cache)
        .status()
        .context("running cargo test --features tch")?;
    if !status.success() {
        bail!("tch tests failed ({status})");
    }
    eprintln!(
        "tch tests passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    eprintln!("== reproduce --profile smoke --backend tch");
    let out = paths::project_root()
        .join("target")
        .join("initlab-smoke-tch");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    reproduce::run(reproduce::Args {
        profile: Profile::Smoke,
        studies: Vec::new(),
        backend: BackendKind::Tch,
        device: "cpu".into(),
        jobs: None,
        out,
        check: false,
        shard: None,
        only: Vec::new(),
        set: Vec::new(),
        dry_run: false,
        data: args.data,
    })
}
