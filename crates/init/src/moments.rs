//! The variance a scheme's draws have for a given layer: what mean-field
//! theory calls σ_w² / fan_in (and σ_b² for a bias).

use crate::fans::{fans, Fans};
use crate::sparse::zeros_per_column;
use crate::variance_scaling::{kaiming_std, variance_scaling_std, xavier_std};
use crate::{Error, Scheme};

impl Scheme {
    /// The variance of one element drawn for `shape` (a weight in PyTorch
    /// layout, or a bias with its layer's `fans` given), when the draws are
    /// centred and i.i.d.-like enough for the variance to be the whole story.
    ///
    /// `None` for a scheme with non-zero mean (`ones`, a non-zero `constant`,
    /// an off-centre `uniform` or `normal`, `chrono`), for `identity` (no
    /// randomness), for `lsuv` (its scale comes from data) and for the
    /// asymmetric or clipped normals, whose variance is not derived here.
    /// Orthogonal's is gain² / max(rows, cols): each entry of a matrix with
    /// orthonormal rows or columns. Multiply by the fan-in for σ_w²: N(0, 1)
    /// on a 784-input layer gives 784, `kaiming-normal` 2, `xavier-*`
    /// 2 · fan_in / (fan_in + fan_out).
    ///
    /// # Errors
    /// As [`fans()`](crate::fans()) when a scheme needs fans and neither the
    /// shape nor `given` has them.
    pub fn variance(&self, shape: &[usize], given: Option<Fans>) -> Result<Option<f64>, Error> {
        let fans = || -> Result<Fans, Error> {
            match given {
                Some(f) => Ok(f),
                None => fans(shape),
            }
        };
        let fan_in = || fans().map(|f| f.fan_in as f64);
        let uniform = |half_width: f64| half_width * half_width / 3.0;
        Ok(match *self {
            Scheme::Zeros => Some(0.0),
            Scheme::Constant { value: 0.0 } => Some(0.0),
            Scheme::Ones | Scheme::Constant { .. } | Scheme::Chrono { .. } => None,
            Scheme::Uniform { low, high } if low == -high => Some(uniform(high)),
            Scheme::Uniform { .. } => None,
            Scheme::Normal { mean: 0.0, std } => Some(std * std),
            Scheme::Normal { .. }
            | Scheme::TruncatedNormal { .. }
            | Scheme::ClippedNormal { .. } => None,
            Scheme::XavierUniform { gain } | Scheme::XavierNormal { gain, .. } => {
                let f = fans()?;
                Some(xavier_std(gain, f.fan_in, f.fan_out).powi(2))
            }
            Scheme::XavierStandard { mode } => Some(uniform(1.0) / mode.fan(fans()?)),
            Scheme::KaimingUniform { mode, nonlinearity }
            | Scheme::KaimingNormal {
                mode, nonlinearity, ..
            } => Some(kaiming_std(nonlinearity.gain(), mode.fan(fans()?)).powi(2)),
            Scheme::LecunUniform | Scheme::LecunNormal { .. } => Some(1.0 / fan_in()?),
            Scheme::VarianceScaling { scale, mode, .. } => {
                Some(variance_scaling_std(scale, mode.fan(fans()?)).powi(2))
            }
            Scheme::Orthogonal { gain } => {
                let f = fans()?;
                let rows = shape.first().copied().unwrap_or(f.fan_out);
                Some(gain * gain / (rows.max(f.fan_in) as f64))
            }
            Scheme::Identity { .. } | Scheme::Lsuv { .. } => None,
            Scheme::Sparse { sparsity, std } => {
                let rows = shape.first().copied().unwrap_or(0).max(1);
                let kept = 1.0 - zeros_per_column(rows, sparsity) as f64 / rows as f64;
                Some(std * std * kept)
            }
            Scheme::PytorchLinearDefault | Scheme::PytorchRnnDefault => {
                Some(uniform(1.0) / fan_in()?)
            }
            Scheme::KerasDenseDefault if shape.len() < 2 => Some(0.0),
            Scheme::KerasDenseDefault => {
                let f = fans()?;
                Some(xavier_std(1.0, f.fan_in, f.fan_out).powi(2))
            }
        })
    }
}
