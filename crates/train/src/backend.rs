//! The burn backends initlab can train on, chosen at run time.
//!
//! Each backend is a cargo feature; [`BackendKind::available`] lists the ones
//! compiled in. Code is generic over `B: AutodiffBackend`, and [`dispatch`]
//! picks the concrete type.

use std::sync::atomic::{AtomicUsize, Ordering};

use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The PyTorch version burn-tch 0.21 (torch-sys 0.22) links against; its build
/// script refuses any other.
pub const TORCH_VERSION: &str = "2.9.0";

/// [`CUDA_DEVICE`] when the CPU is selected.
const CPU: usize = usize::MAX;

/// The CUDA device tch runs on, or [`CPU`]; set by [`BackendKind::select_device`].
static CUDA_DEVICE: AtomicUsize = AtomicUsize::new(CPU);

fn selected_cuda() -> Option<usize> {
    match CUDA_DEVICE.load(Ordering::Relaxed) {
        CPU => None,
        i => Some(i),
    }
}

fn device_name(cuda: Option<usize>) -> String {
    cuda.map_or("cpu".into(), |i| format!("cuda:{i}"))
}

/// `cpu` → `None`; `cuda` → `Some(0)`; `cuda:N` → `Some(N)`.
fn parse_device(s: &str) -> std::result::Result<Option<usize>, String> {
    match s {
        "cpu" => Ok(None),
        "cuda" => Ok(Some(0)),
        _ => s
            .strip_prefix("cuda:")
            .and_then(|i| i.parse::<usize>().ok())
            .filter(|&i| i != CPU)
            .map(Some)
            .ok_or_else(|| format!("unknown device `{s}`; expected cpu, cuda or cuda:N")),
    }
}

/// A burn backend by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// burn-ndarray: pure Rust, deterministic; the default (see ARCHITECTURE.md for the benchmark).
    Ndarray,
    /// burn-candle on the CPU: pure Rust.
    Candle,
    /// burn-flex: pure Rust, multithreaded.
    Flex,
    /// burn-tch: libtorch, needs a PyTorch install.
    Tch,
}

impl BackendKind {
    /// The backend used when none is named: the fastest deterministic pure-Rust one
    /// on this study's train step, by `cargo xtask bench`.
    pub const DEFAULT: BackendKind = BackendKind::Ndarray;

    /// Every backend, compiled in or not.
    pub const ALL: [BackendKind; 4] = [
        BackendKind::Ndarray,
        BackendKind::Candle,
        BackendKind::Flex,
        BackendKind::Tch,
    ];

    /// The name used on the command line and in records.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Ndarray => "ndarray",
            BackendKind::Candle => "candle",
            BackendKind::Flex => "flex",
            BackendKind::Tch => "tch",
        }
    }

    /// Whether this binary was built with the backend.
    pub fn is_compiled(self) -> bool {
        match self {
            BackendKind::Ndarray => cfg!(feature = "ndarray"),
            BackendKind::Candle => cfg!(feature = "candle"),
            BackendKind::Flex => cfg!(feature = "flex"),
            BackendKind::Tch => cfg!(feature = "tch"),
        }
    }

    /// The backends compiled into this binary.
    pub fn available() -> Vec<BackendKind> {
        Self::ALL.into_iter().filter(|b| b.is_compiled()).collect()
    }

    /// The name, burn version (and libtorch's for tch) and device, as recorded with each run.
    pub fn describe(self) -> String {
        self.describe_on(selected_cuda())
    }

    fn describe_on(self, cuda: Option<usize>) -> String {
        match self {
            BackendKind::Tch => format!(
                "tch (burn 0.21.0, libtorch {TORCH_VERSION}, f32, {})",
                device_name(cuda)
            ),
            other => format!("{} (burn 0.21.0, f32, cpu)", other.name()),
        }
    }

    /// Chooses the device [`dispatch`] gives this backend from now on, for the
    /// whole process: `cpu`, or for tch `cuda` / `cuda:N`. Every other backend
    /// here runs on the CPU only. The run id does not include the device: a GPU
    /// run of a config replaces nothing, it is skipped when a CPU run is stored.
    pub fn select_device(self, device: &str) -> Result<()> {
        let cuda = parse_device(device).map_err(|message| Error::Backend {
            name: self.name().to_string(),
            message,
        })?;
        if cuda.is_some() && self != BackendKind::Tch {
            return Err(Error::Backend {
                name: self.name().to_string(),
                message: format!("runs on the CPU only; `--device {device}` needs `--backend tch`"),
            });
        }
        CUDA_DEVICE.store(cuda.unwrap_or(CPU), Ordering::Relaxed);
        Ok(())
    }
}

impl std::str::FromStr for BackendKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let kind = Self::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| Error::Backend {
                name: s.to_string(),
                message: format!(
                    "unknown backend; expected one of {}",
                    Self::ALL.map(|b| b.name()).join(", ")
                ),
            })?;
        if !kind.is_compiled() {
            let hint = if kind == BackendKind::Tch {
                "; it needs PyTorch: run `cargo xtask setup-torch` first"
            } else {
                ""
            };
            return Err(Error::Backend {
                name: s.to_string(),
                message: format!(
                    "not compiled into this build (cargo feature `{s}`){hint}; compiled: {}",
                    Self::available()
                        .iter()
                        .map(|b| b.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        Ok(kind)
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Work that runs on whichever backend [`dispatch`] picks.
pub trait BackendTask {
    /// What the work returns.
    type Output;
    /// Runs the work on backend `B`.
    fn run<B: AutodiffBackend>(self, device: B::Device, kind: BackendKind) -> Self::Output;
}

/// Runs `task` on the backend `kind`, on its CPU device (tch: the device
/// [`BackendKind::select_device`] chose).
#[allow(unused_variables)] // With no backend feature, only the error arm is left.
pub fn dispatch<T: BackendTask>(kind: BackendKind, task: T) -> Result<T::Output> {
    #[allow(unused_imports)]
    use burn::backend::Autodiff;
    match kind {
        #[cfg(feature = "ndarray")]
        BackendKind::Ndarray => Ok(task.run::<Autodiff<burn::backend::NdArray<f32>>>(
            burn::backend::ndarray::NdArrayDevice::Cpu,
            kind,
        )),
        // burn 0.21 marks candle deprecated; it is kept because the studies were asked for on it.
        #[cfg(feature = "candle")]
        #[allow(deprecated)]
        BackendKind::Candle => Ok(task.run::<Autodiff<burn::backend::Candle<f32, i64>>>(
            burn::backend::candle::CandleDevice::Cpu,
            kind,
        )),
        #[cfg(feature = "flex")]
        BackendKind::Flex => {
            Ok(task.run::<Autodiff<burn::backend::Flex>>(burn::backend::flex::FlexDevice, kind))
        }
        #[cfg(feature = "tch")]
        BackendKind::Tch => Ok(task.run::<Autodiff<burn::backend::LibTorch<f32>>>(
            selected_cuda().map_or(
                burn::backend::libtorch::LibTorchDevice::Cpu,
                burn::backend::libtorch::LibTorchDevice::Cuda,
            ),
            kind,
        )),
        #[allow(unreachable_patterns)]
        other => Err(Error::Backend {
            name: other.name().to_string(),
            message: "not compiled into this build".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse_and_only_tch_takes_cuda() {
        assert_eq!(parse_device("cpu"), Ok(None));
        assert_eq!(parse_device("cuda"), Ok(Some(0)));
        assert_eq!(parse_device("cuda:1"), Ok(Some(1)));
        for bad in ["gpu", "cuda:", "cuda:x", "CUDA", ""] {
            assert!(parse_device(bad).is_err(), "{bad}");
        }
        let err = BackendKind::Ndarray.select_device("cuda").unwrap_err();
        assert!(err.to_string().contains("--backend tch"), "{err}");
        assert!(BackendKind::Tch.select_device("gpu").is_err());
        // Not `select_device("cuda")`: that would switch every tch run in this
        // test process to a GPU.
        assert_eq!(
            BackendKind::Tch.describe_on(Some(1)),
            "tch (burn 0.21.0, libtorch 2.9.0, f32, cuda:1)"
        );
        assert_eq!(
            BackendKind::Tch.describe_on(None),
            "tch (burn 0.21.0, libtorch 2.9.0, f32, cpu)"
        );
        assert_eq!(
            BackendKind::Ndarray.describe(),
            "ndarray (burn 0.21.0, f32, cpu)"
        );
    }
}
