//! Normals restricted to `[low, high]`: the truncated normal, which redraws
//! outside (`N(μ, σ²)` conditioned on the interval), and the clipped normal,
//! which clamps.
//!
//! # Notes
//! The algorithm is Robert (1995), "Simulation of truncated normal variables",
//! Statistics and Computing 5:121–125. It is exact (only rejection, no
//! approximation of Φ⁻¹) and efficient for any interval, including far tails
//! where plain rejection from `N(μ, σ²)` would almost never accept:
//! - an interval containing the mean and at least √(2π)σ wide: draw from the
//!   normal and redraw until inside (what TensorFlow and Keras do at ±2σ, with
//!   acceptance 95.4%);
//! - a narrower interval containing the mean: a uniform proposal on the interval;
//! - an interval in one tail: a shifted exponential proposal, or a uniform one
//!   when the interval is short.
//!
//! PyTorch's `trunc_normal_` draws the same distribution by inverting the CDF,
//! so its numbers differ from these for the same seed, but not its law.

use rand::Rng;
use rand_distr::StandardNormal;

use crate::scheme::{Initializer, Needs, Spec, Target};
use crate::spec::{Keys, SchemeKind};
use crate::{Error, InitRng, Scheme};

/// `N(mean, std²)` restricted to `[low, high]`, by [`Tails`]. Specs
/// `truncated-normal(high=2,low=-2,mean=0,std=1)` and
/// `clipped-normal(high=2,low=-2,mean=0,std=1)`; `low`, `high` are absolute,
/// not in units of `std`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoundedNormal {
    /// Mean `μ` of the unrestricted normal; finite.
    pub mean: f64,
    /// Standard deviation `σ` of the unrestricted normal; finite, `> 0`.
    pub std: f64,
    /// Lower bound; `< high`, may be `-inf`.
    pub low: f64,
    /// Upper bound; may be `inf`.
    pub high: f64,
    /// What becomes of a draw outside.
    pub tails: Tails,
}

/// What a [`BoundedNormal`] does with a draw outside `[low, high]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tails {
    /// Draw again (`truncated-normal`): the density is the normal's rescaled
    /// by `1 / (Φ(β) − Φ(α))`. PyTorch `trunc_normal_` (same defaults); Keras
    /// `TruncatedNormal(stddev=s)` is `truncated-normal(high=2s,low=-2s,std=s)`.
    Redraw,
    /// Clamp (`clipped-normal`): the mass outside becomes atoms at the
    /// bounds; what the RNN/LSTM study calls "truncated" (N(0, 1) clipped to
    /// ±2). No PyTorch or Keras equivalent (`normal_` then `clamp_`).
    Clamp,
}

/// `truncated-normal(high=2,low=-2,mean=0,std=1)`.
pub const TRUNCATED_NORMAL: SchemeKind = SchemeKind::new(
    "truncated-normal(high=2,low=-2,mean=0,std=1) | `N(mean, std²)` conditioned on `[low, high]` (redrawn outside); bounds absolute | Robert 1995 (sampler) | `trunc_normal_` | `TruncatedNormal(stddev=s)` = `high=2s,low=-2s,std=s`",
    |keys| bounded(keys, Tails::Redraw),
);

/// `clipped-normal(high=2,low=-2,mean=0,std=1)`.
pub const CLIPPED_NORMAL: SchemeKind = SchemeKind::new(
    "clipped-normal(high=2,low=-2,mean=0,std=1) | `clamp(N(mean, std²), low, high)`: atoms at the bounds | the RNN/LSTM study's \"truncated\" | `normal_` + `clamp_` | –",
    |keys| bounded(keys, Tails::Clamp),
);

fn bounded(keys: &Keys<'_>, tails: Tails) -> Result<Scheme, Error> {
    let [mean, std, low, high] = keys.numbers(["mean", "std", "low", "high"])?;
    Ok(Scheme::new(BoundedNormal {
        mean,
        std,
        low,
        high,
        tails,
    }))
}

impl Initializer for BoundedNormal {
    fn spec(&self) -> Spec {
        let name = match self.tails {
            Tails::Redraw => TRUNCATED_NORMAL.name,
            Tails::Clamp => CLIPPED_NORMAL.name,
        };
        let BoundedNormal { low, high, .. } = *self;
        let low_ok = !low.is_nan() && low != f64::INFINITY;
        Spec::new(name, Needs::Anything)
            .finite("mean", self.mean)
            .positive("std", self.std)
            .number("low", low)
            .that("low", low, low_ok, "a number < high")
            .number("high", high)
            .that("high", high, !high.is_nan() && high > low, "a number > low")
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        self.fill(target.n, rng)
    }
}

impl BoundedNormal {
    /// `n` draws; the caller has checked `std > 0` and `low < high`.
    fn fill(&self, n: usize, rng: &mut InitRng) -> Vec<f32> {
        let BoundedNormal {
            mean,
            std,
            low,
            high,
            tails,
        } = *self;
        let a = (low - mean) / std;
        let b = (high - mean) / std;
        (0..n)
            .map(|_| {
                let z = match tails {
                    Tails::Redraw => standard_truncated(a, b, rng),
                    Tails::Clamp => rng.sample(StandardNormal),
                };
                // The affine map may round one ulp past a bound; clamping
                // keeps the promise that no value lies outside [low, high].
                (mean + std * z).clamp(low, high) as f32
            })
            .collect()
    }
}

/// `√(2π)`: below this width, a uniform proposal on `[a, b] ∋ 0` beats the
/// normal one (Robert 1995, §2.2).
const SQRT_2PI: f64 = 2.506_628_274_631_000_5;

/// `n` draws from `N(0, std²)` restricted to `[-2·std, 2·std]`, redrawing
/// outside, as Keras's truncated normal draws; the caller has checked
/// `std > 0`.
pub(crate) fn fill_within_two_std(n: usize, std: f64, rng: &mut InitRng) -> Vec<f32> {
    let normal = BoundedNormal {
        mean: 0.0,
        std,
        low: -2.0 * std,
        high: 2.0 * std,
        tails: Tails::Redraw,
    };
    normal.fill(n, rng)
}

/// One draw of `N(0, 1)` restricted to `[a, b]`, `a < b` (either may be infinite).
pub(crate) fn standard_truncated(a: f64, b: f64, rng: &mut InitRng) -> f64 {
    if a <= 0.0 && 0.0 <= b {
        if b - a >= SQRT_2PI {
            loop {
                let z: f64 = rng.sample(StandardNormal);
                if a <= z && z <= b {
                    return z;
                }
            }
        }
        // Here the interval is finite and narrow: the density is at most
        // φ(0), so a uniform proposal accepts with probability exp(-z²/2).
        loop {
            let z = a + (b - a) * rng.gen::<f64>();
            if rng.gen::<f64>() <= (-0.5 * z * z).exp() {
                return z;
            }
        }
    } else if a > 0.0 {
        upper_tail(a, b, rng)
    } else {
        -upper_tail(-b, -a, rng)
    }
}

/// One draw of `N(0, 1)` restricted to `[a, b]` with `0 < a < b`.
fn upper_tail(a: f64, b: f64, rng: &mut InitRng) -> f64 {
    // Robert's optimal rate of the exponential proposal.
    let alpha = (a + (a * a + 4.0).sqrt()) / 2.0;
    // Below this width a uniform proposal on [a, b] accepts more often than
    // the exponential one (Robert 1995, §2.3).
    let uniform_below = 2.0 * std::f64::consts::E.sqrt() / (a + (a * a + 4.0).sqrt())
        * ((a * a - a * (a * a + 4.0).sqrt()) / 4.0).exp();
    if b - a < uniform_below {
        loop {
            let z = a + (b - a) * rng.gen::<f64>();
            if rng.gen::<f64>() <= ((a * a - z * z) / 2.0).exp() {
                return z;
            }
        }
    }
    loop {
        // 1 - U lies in (0, 1], so the logarithm is finite.
        let z = a - (1.0 - rng.gen::<f64>()).ln() / alpha;
        let d = z - alpha;
        if z <= b && rng.gen::<f64>() <= (-0.5 * d * d).exp() {
            return z;
        }
    }
}
