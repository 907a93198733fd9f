//! `cargo xtask setup-torch`: the PyTorch install that `--backend tch` links against.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};

use crate::torch_env::{venv_dir, TorchEnv, TORCH_VERSION};

/// Install PyTorch 2.9.0 (what burn 0.21's libtorch backend links against)
/// into a project-local virtualenv, .venv-torch/ (git-ignored).
///
/// PyPI has only the CUDA build for x86-64: about 3.8 GB to download and 6.7 GiB
/// on disk (libtorch needs the nvidia runtime wheels even on the CPU). Does
/// nothing when the venv already imports torch 2.9.0. Afterwards
/// `--backend tch` works with every command; it builds a tch-enabled xtask in
/// target/tch/ and sets LIBTORCH_USE_PYTORCH, PATH and LD_LIBRARY_PATH itself.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The Python that creates the virtualenv.
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
    /// Where the virtualenv goes [default: .venv-torch/, or INITLAB_TORCH_VENV].
    #[arg(long, value_name = "DIR")]
    pub venv: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let venv = args.venv.unwrap_or_else(venv_dir);
    if let Some(env) = TorchEnv::probe(&venv)? {
        if env.is_expected_version() {
            println!(
                "torch {} already in {} ({}); nothing to do",
                env.version,
                venv.display(),
                gigabytes(&venv)
            );
            print_env(&env);
            return Ok(());
        }
        println!(
            "{} has torch {}; installing {TORCH_VERSION} over it",
            venv.display(),
            env.version
        );
    }
    let started = Instant::now();
    if !venv.join("bin").join("python").is_file() {
        println!("creating virtualenv {}", venv.display());
        let status = Command::new(&args.python)
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .with_context(|| format!("running {} -m venv", args.python.display()))?;
        if !status.success() {
            bail!(
                "{} -m venv {} failed ({status})",
                args.python.display(),
                venv.display()
            );
        }
    }
    println!("pip install torch=={TORCH_VERSION} (about 3.8 GB from PyPI)");
    let pip = Command::new(venv.join("bin").join("python"))
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            // The wheel is 0.9 GB; pip's cache would keep a second copy of what the venv holds.
            "--no-cache-dir",
            "--progress-bar",
            "off",
            &format!("torch=={TORCH_VERSION}"),
        ])
        .status()
        .context("running pip")?;
    if !pip.success() {
        bail!("pip install torch=={TORCH_VERSION} failed ({pip})");
    }
    let Some(env) = TorchEnv::probe(&venv)? else {
        bail!("pip succeeded but {} cannot import torch", venv.display());
    };
    if !env.is_expected_version() {
        bail!("pip installed torch {}, not {TORCH_VERSION}", env.version);
    }
    println!(
        "installed torch {} into {} ({}) in {:.0} s",
        env.version,
        venv.display(),
        gigabytes(&venv),
        started.elapsed().as_secs_f64()
    );
    print_env(&env);
    Ok(())
}

fn print_env(env: &TorchEnv) {
    println!(
        "--backend tch now builds xtask with the tch feature in target/tch/ (about 10 minutes the first time) with\n  \
         LIBTORCH_USE_PYTORCH=1\n  PATH={}:$PATH\n  LD_LIBRARY_PATH={}\nset for you; try `cargo xtask reproduce --profile smoke --backend tch`",
        env.venv.join("bin").display(),
        env.lib_dir.display()
    );
}

/// The size of a directory tree, e.g. `6.7 GiB`.
fn gigabytes(dir: &Path) -> String {
    fn size(dir: &Path) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => size(&e.path()),
                Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
                _ => 0,
            })
            .sum()
    }
    format!("{:.1} GiB", size(dir) as f64 / f64::from(1u32 << 30))
}
