//! Schemes that draw every element independently of the shape: constants,
//! uniform, normal and clipped normal.

use rand::distributions::{Distribution as _, Uniform};
use rand::Rng;
use rand_distr::StandardNormal;

use crate::InitRng;

/// `n` copies of `value`.
pub(crate) fn fill_constant(n: usize, value: f64) -> Vec<f32> {
    vec![value as f32; n]
}

/// `n` draws from `U(low, high)`; the caller has checked `low < high`, both
/// finite, and `high - low` finite.
///
/// `rand`'s float `Uniform` is half-open, so no draw reaches `high`; the cast
/// to `f32` rounds monotonically, so none exceeds `high as f32` either.
pub(crate) fn fill_uniform(n: usize, low: f64, high: f64, rng: &mut InitRng) -> Vec<f32> {
    let uniform = Uniform::new(low, high);
    (0..n).map(|_| uniform.sample(rng) as f32).collect()
}

/// `n` draws from `N(mean, std²)`, by `rand_distr`'s ziggurat.
pub(crate) fn fill_normal(n: usize, mean: f64, std: f64, rng: &mut InitRng) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let z: f64 = rng.sample(StandardNormal);
            (mean + std * z) as f32
        })
        .collect()
}

/// `n` draws from `N(mean, std²)`, each clamped into `[low, high]`.
///
/// Unlike [`fill_truncated_normal`](crate::truncated::fill_truncated_normal)
/// this keeps the mass outside the bounds, as atoms at `low` and `high`.
pub(crate) fn fill_clipped_normal(
    n: usize,
    mean: f64,
    std: f64,
    low: f64,
    high: f64,
    rng: &mut InitRng,
) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let z: f64 = rng.sample(StandardNormal);
            (mean + std * z).clamp(low, high) as f32
        })
        .collect()
}
