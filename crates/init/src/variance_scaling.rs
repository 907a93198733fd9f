//! Variance scaling: Glorot/Xavier, He/Kaiming, LeCun and the general
//! `variance-scaling` of Keras and Flax, of which the others are special cases.
//!
//! Every scheme here picks a target standard deviation `σ` from the fans and
//! then draws from one of three distributions of that standard deviation
//! ([`Distribution`]). Written as Keras does, `σ² = scale / fan`:
//!
//! | scheme            | scale      | fan                      |
//! |-------------------|------------|--------------------------|
//! | `xavier-*`        | gain²      | (fan_in + fan_out) / 2   |
//! | `kaiming-*`       | gain²      | fan_in or fan_out (mode) |
//! | `lecun-*`         | 1          | fan_in                   |

use crate::elementwise::{fill_normal, fill_uniform};
use crate::truncated::fill_truncated_normal;
use crate::InitRng;

/// The standard deviation of `N(0, 1)` truncated to `[-2, 2]`.
///
/// Keras divides its target `σ` by this constant before drawing from a normal
/// truncated at ±2 of its own standard deviation, so that the truncated draws
/// have exactly the target `σ` (`keras.initializers.VarianceScaling`).
/// Written with Keras's digits so that it can be found in its source.
#[allow(clippy::excessive_precision)]
pub const TRUNCATED_NORMAL_STD: f64 = 0.879_625_661_034_239_78;

/// The distribution a variance-scaling scheme draws from, all three with the
/// same target standard deviation `σ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Distribution {
    /// `N(0, σ²)`, spec `normal`: PyTorch's `*_normal_` and Keras's
    /// `untruncated_normal`. (Keras's deprecated `"normal"` alias means the
    /// truncated one; here `normal` is never truncated.)
    Normal,
    /// `N(0, s²)` with `s = σ / 0.8796…`, redrawn outside `±2s`, spec
    /// `truncated-normal`: Keras's `truncated_normal` and the default of its
    /// `glorot_normal`, `he_normal` and `lecun_normal`. Its standard deviation
    /// is exactly `σ`.
    TruncatedNormal,
    /// `U(-√3σ, √3σ)`, spec `uniform`.
    Uniform,
}

impl Distribution {
    /// Every distribution, in spec spelling order.
    pub const ALL: [Distribution; 3] = [
        Distribution::Normal,
        Distribution::TruncatedNormal,
        Distribution::Uniform,
    ];

    /// The spec spelling: `normal`, `truncated-normal` or `uniform`.
    pub fn as_str(self) -> &'static str {
        match self {
            Distribution::Normal => "normal",
            Distribution::TruncatedNormal => "truncated-normal",
            Distribution::Uniform => "uniform",
        }
    }
}

/// `n` draws of standard deviation `std` from `distribution`, mean 0.
pub(crate) fn fill_with_std(
    n: usize,
    std: f64,
    distribution: Distribution,
    rng: &mut InitRng,
) -> Vec<f32> {
    match distribution {
        Distribution::Normal => fill_normal(n, 0.0, std, rng),
        Distribution::TruncatedNormal => {
            let s = std / TRUNCATED_NORMAL_STD;
            fill_truncated_normal(n, 0.0, s, -2.0 * s, 2.0 * s, rng)
        }
        Distribution::Uniform => {
            // PyTorch computes the bound as √3·σ, so do we.
            let bound = 3.0_f64.sqrt() * std;
            fill_uniform(n, -bound, bound, rng)
        }
    }
}

/// Glorot & Bengio's `σ = gain · √(2 / (fan_in + fan_out))`.
pub(crate) fn xavier_std(gain: f64, fan_in: usize, fan_out: usize) -> f64 {
    gain * (2.0 / (fan_in as f64 + fan_out as f64)).sqrt()
}

/// He et al.'s `σ = gain / √fan`.
pub(crate) fn kaiming_std(gain: f64, fan: f64) -> f64 {
    gain / fan.sqrt()
}

/// Keras's `σ = √(scale / max(1, fan))`.
pub(crate) fn variance_scaling_std(scale: f64, fan: f64) -> f64 {
    (scale / fan.max(1.0)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_normal_std_is_the_std_of_the_truncated_standard_normal() {
        // Var of N(0,1) on [-2,2] is 1 - 2·2·φ(2) / (Φ(2) - Φ(-2)).
        let phi2 = (-2.0_f64).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let mass = 0.954_499_736_103_641_6; // erf(√2)
        let var = 1.0 - 4.0 * phi2 / mass;
        assert!((var.sqrt() - TRUNCATED_NORMAL_STD).abs() < 1e-15);
    }

    #[test]
    fn named_stds_follow_their_formulas() {
        assert_eq!(xavier_std(1.0, 300, 100), (2.0_f64 / 400.0).sqrt());
        assert_eq!(
            kaiming_std(2.0_f64.sqrt(), 50.0),
            (2.0_f64).sqrt() / 50.0_f64.sqrt()
        );
        assert_eq!(variance_scaling_std(2.0, 0.5), 2.0_f64.sqrt());
    }
}
