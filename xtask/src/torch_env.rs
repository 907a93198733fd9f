//! The project-local PyTorch install behind `--backend tch`, and the environment
//! that building and running with it needs.
//!
//! burn 0.21's `tch` feature links libtorch through torch-sys 0.22, which wants
//! PyTorch 2.9.0. `cargo xtask setup-torch` installs it from PyPI into
//! `.venv-torch/` (git-ignored). Nothing here is ever exported by the user:
//! [`TorchEnv::apply`] sets `LIBTORCH_USE_PYTORCH=1`, `PATH` (the venv's `bin`
//! first, so torch-sys's build script finds the venv's `python`),
//! `LD_LIBRARY_PATH` (the venv's `torch/lib`) and, unless set,
//! `OMP_NUM_THREADS=1` on each child process.
//!
//! The `cargo xtask` alias builds xtask without the `tch` feature, so that the
//! default build never needs PyTorch. When such a binary is asked for
//! `--backend tch`, [`forward_if_needed`] runs the same command again through
//! `cargo run --release --features tch` with `CARGO_TARGET_DIR=target/tch`: a separate
//! target directory, so the feature flip never rebuilds the default graph.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use crate::paths;

/// The PyTorch version torch-sys 0.22 (burn-tch 0.21) checks for at build time.
pub const TORCH_VERSION: &str = "2.9.0";

/// `.venv-torch/`, or `INITLAB_TORCH_VENV` when set (a venv kept outside the checkout).
pub fn venv_dir() -> PathBuf {
    std::env::var_os("INITLAB_TORCH_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| paths::project_root().join(".venv-torch"))
}

/// `target/tch/`: every build with the `tch` feature goes here.
pub fn target_dir() -> PathBuf {
    paths::project_root().join("target").join("tch")
}

/// A virtualenv with a working `import torch` of [`TORCH_VERSION`].
#[derive(Debug, Clone)]
pub struct TorchEnv {
    /// The virtualenv.
    pub venv: PathBuf,
    /// `torch.__version__`, e.g. `2.9.0+cu128`.
    pub version: String,
    /// The directory holding `libtorch_cpu.so` and friends (`torch/lib`).
    pub lib_dir: PathBuf,
}

impl TorchEnv {
    /// Finds the venv and asks its python for torch's version and library
    /// directory. `Ok(None)` when there is no venv or no importable torch.
    pub fn probe(venv: &Path) -> anyhow::Result<Option<TorchEnv>> {
        let python = venv.join("bin").join("python");
        if !python.is_file() {
            return Ok(None);
        }
        let out = Command::new(&python)
            .args([
                "-c",
                "import os, torch; print(torch.__version__); print(os.path.join(os.path.dirname(torch.__file__), 'lib'))",
            ])
            .output()
            .with_context(|| format!("running {}", python.display()))?;
        if !out.status.success() {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let (Some(version), Some(lib)) = (lines.next(), lines.next()) else {
            return Ok(None);
        };
        Ok(Some(TorchEnv {
            venv: venv.to_path_buf(),
            version: version.trim().to_string(),
            lib_dir: PathBuf::from(lib.trim()),
        }))
    }

    /// The install `--backend tch` needs, or an error naming `cargo xtask setup-torch`.
    pub fn require() -> anyhow::Result<TorchEnv> {
        let venv = venv_dir();
        match Self::probe(&venv)? {
            Some(env) if env.is_expected_version() => Ok(env),
            Some(env) => bail!(
                "--backend tch needs PyTorch {TORCH_VERSION}, but {} has {}; run `cargo xtask setup-torch`",
                venv.display(),
                env.version
            ),
            None => bail!(
                "--backend tch needs PyTorch {TORCH_VERSION} in {}, which has none; run `cargo xtask setup-torch` first (a 3.8 GB download, 6.7 GiB on disk)",
                venv.display()
            ),
        }
    }

    /// Whether the version is the one torch-sys accepts (`2.9.0`, `2.9.0+cu128`, …).
    pub fn is_expected_version(&self) -> bool {
        self.version.split('+').next() == Some(TORCH_VERSION)
    }

    /// Sets what building and running against this torch needs on `cmd`.
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("LIBTORCH_USE_PYTORCH", "1");
        cmd.env("VIRTUAL_ENV", &self.venv);
        cmd.env("PATH", prepend(&self.venv.join("bin"), "PATH"));
        cmd.env("LD_LIBRARY_PATH", prepend(&self.lib_dir, "LD_LIBRARY_PATH"));
        // One intra-op thread per run, like ndarray's matmul: a grid trains
        // `--jobs` runs at once, and libtorch's spinning thread pool is 18×
        // slower per step when its threads share busy cores (measured on the
        // 2-core CI machine). An explicit OMP_NUM_THREADS wins.
        if std::env::var_os("OMP_NUM_THREADS").is_none() {
            cmd.env("OMP_NUM_THREADS", "1");
        }
    }
}

/// `dir` followed by the current value of the path list `var`.
fn prepend(dir: &Path, var: &str) -> OsString {
    let mut dirs = vec![dir.to_path_buf()];
    if let Some(old) = std::env::var_os(var) {
        dirs.extend(std::env::split_paths(&old).filter(|p| p != dir));
    }
    std::env::join_paths(dirs).unwrap_or_else(|_| dir.as_os_str().to_owned())
}

/// Whether a command line asks for the tch backend (`--backend tch` or `--backend=tch`).
pub fn asks_for_tch(args: &[OsString]) -> bool {
    args.windows(2)
        .any(|w| w[0] == "--backend" && w[1] == "tch")
        || args.iter().any(|a| a == "--backend=tch")
}

/// A `cargo` command run in the project root, with the torch environment and
/// `CARGO_TARGET_DIR=target/tch` (the caller adds the subcommand's own arguments
/// after `sub`).
pub fn cargo(env: &TorchEnv, sub: &str) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    // The variable, not `--target-dir`: criterion finds its output directory
    // (target/tch/criterion) from it too.
    cmd.current_dir(paths::project_root())
        .arg(sub)
        .env("CARGO_TARGET_DIR", target_dir());
    env.apply(&mut cmd);
    cmd
}

/// When this binary lacks the `tch` feature and the command line asks for
/// `--backend tch`, runs the same command with a tch-enabled xtask and returns
/// its exit code; `Ok(None)` when this binary can do the work itself.
///
/// The tch-enabled binary is built (once, then incrementally) by `cargo run
/// --release --features tch -p xtask` with `CARGO_TARGET_DIR=target/tch`.
pub fn forward_if_needed() -> anyhow::Result<Option<i32>> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if cfg!(feature = "tch") || !asks_for_tch(&args) {
        return Ok(None);
    }
    let env = TorchEnv::require()?;
    eprintln!(
        "== this xtask has no tch backend: running it again with --features tch (torch {}, target/tch)",
        env.version
    );
    let mut cmd = cargo(&env, "run");
    cmd.args([
        "--release",
        "--quiet",
        "--package",
        "xtask",
        "--bin",
        "xtask",
        "--features",
        "tch",
        "--",
    ])
    .args(&args);
    let status = cmd.status().context("running cargo run --features tch")?;
    Ok(Some(status.code().unwrap_or(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn finds_the_tch_backend_in_either_spelling() {
        assert!(asks_for_tch(&args(
            "reproduce --profile smoke --backend tch"
        )));
        assert!(asks_for_tch(&args("test --backend=tch")));
        assert!(!asks_for_tch(&args("reproduce --backend ndarray")));
        assert!(!asks_for_tch(&args("reproduce --study tch")));
    }

    #[test]
    fn version_check_ignores_the_local_build_tag() {
        let env = |v: &str| TorchEnv {
            venv: PathBuf::new(),
            version: v.into(),
            lib_dir: PathBuf::new(),
        };
        assert!(env("2.9.0+cu128").is_expected_version());
        assert!(env("2.9.0").is_expected_version());
        assert!(!env("2.9.1").is_expected_version());
    }

    #[test]
    fn a_missing_venv_is_none_not_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(TorchEnv::probe(dir.path()).expect("probe").is_none());
    }
}
