//! The burn backends initlab can train on, chosen at run time.
//!
//! Each backend is a cargo feature; [`BackendKind::available`] lists the ones
//! compiled in. Code is generic over `B: AutodiffBackend`, and [`dispatch`]
//! picks the concrete type.

use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

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

    /// The name and burn version, as recorded with each run.
    pub fn describe(self) -> String {
        format!("{} (burn 0.21.0, f32, cpu)", self.name())
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

/// Runs `task` on the backend `kind`, on its CPU device.
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
            burn::backend::libtorch::LibTorchDevice::Cpu,
            kind,
        )),
        #[allow(unreachable_patterns)]
        other => Err(Error::Backend {
            name: other.name().to_string(),
            message: "not compiled into this build".into(),
        }),
    }
}
