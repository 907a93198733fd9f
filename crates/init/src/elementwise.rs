//! Schemes that draw every element independently of the shape: constants,
//! uniform and normal.

use rand::distributions::{Distribution as _, Uniform as UniformLaw};
use rand::Rng;
use rand_distr::StandardNormal;

use crate::scheme::{Initializer, Layer, Needs, Spec, Target};
use crate::spec::SchemeKind;
use crate::{Error, InitRng, Scheme};

/// `zeros`.
pub const ZEROS: SchemeKind = SchemeKind::new("zeros | 0 | – | `zeros_` | `Zeros`", |_| {
    Ok(Scheme::new(Constant::Zeros))
});

/// `ones`.
pub const ONES: SchemeKind = SchemeKind::new("ones | 1 | – | `ones_` | `Ones`", |_| {
    Ok(Scheme::new(Constant::Ones))
});

/// `constant(value=…)`.
pub const CONSTANT: SchemeKind = SchemeKind::new(
    "constant(value=…) | `value`; `constant(value=1)` is the LSTM forget-gate bias | Jozefowicz et al. 2015 | `constant_` | `Constant`",
    |keys| Ok(Scheme::new(Constant::Value(keys.number("value")?))),
);

/// Every element the same. Specs `zeros`, `ones`, `constant(value=…)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Constant {
    /// All zeros. PyTorch `zeros_`, Keras `Zeros`.
    Zeros,
    /// All ones. PyTorch `ones_`, Keras `Ones`.
    Ones,
    /// Every element the value, which must be finite; `constant(value=1)` is
    /// the forget-gate bias of Jozefowicz et al. (2015).
    Value(f64),
}

impl Initializer for Constant {
    fn spec(&self) -> Spec {
        match *self {
            Constant::Zeros => Spec::new(ZEROS.name, Needs::Anything),
            Constant::Ones => Spec::new(ONES.name, Needs::Anything),
            Constant::Value(value) => {
                Spec::new(CONSTANT.name, Needs::Anything).finite("value", value)
            }
        }
    }

    fn draw(&self, target: &Target<'_>, _: &mut InitRng) -> Vec<f32> {
        fill_constant(target.n, self.value())
    }

    fn variance(&self, _: &Layer<'_>) -> Result<Option<f64>, Error> {
        Ok((self.value() == 0.0).then_some(0.0))
    }
}

impl Constant {
    fn value(self) -> f64 {
        match self {
            Constant::Zeros => 0.0,
            Constant::Ones => 1.0,
            Constant::Value(value) => value,
        }
    }
}

/// `uniform(high=1,low=0)`.
pub const UNIFORM: SchemeKind = SchemeKind::new(
    "uniform(high=1,low=0) | `U(low, high)` | – | `uniform_` | `RandomUniform`",
    |keys| {
        keys.numbers(["low", "high"])
            .map(|[low, high]| Scheme::new(Uniform { low, high }))
    },
);

/// `U(low, high)`. Spec `uniform(high=1,low=0)`. PyTorch `uniform_`, Keras
/// `RandomUniform` (whose defaults are ±0.05).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Uniform {
    /// Lower bound, inclusive; finite, `< high`.
    pub low: f64,
    /// Upper bound, exclusive; finite.
    pub high: f64,
}

impl Initializer for Uniform {
    fn spec(&self) -> Spec {
        let Uniform { low, high } = *self;
        let width = "a number such that high - low is finite";
        Spec::new(UNIFORM.name, Needs::Anything)
            .finite("low", low)
            .finite("high", high)
            .that("high", high, high > low, "a number > low")
            .that("high", high, (high - low).is_finite(), width)
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        fill_uniform(target.n, self.low, self.high, rng)
    }

    fn variance(&self, _: &Layer<'_>) -> Result<Option<f64>, Error> {
        let centred = self.low == -self.high;
        Ok(centred.then(|| uniform_variance(self.high)))
    }
}

/// `normal(mean=0,std=1)`.
pub const NORMAL: SchemeKind = SchemeKind::new(
    "normal(mean=0,std=1) | `N(mean, std²)` | – | `normal_` | `RandomNormal`",
    |keys| {
        keys.numbers(["mean", "std"])
            .map(|[mean, std]| Scheme::new(Normal { mean, std }))
    },
);

/// `N(mean, std²)`. Spec `normal(mean=0,std=1)`. PyTorch `normal_`, Keras
/// `RandomNormal` (whose default std is 0.05).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normal {
    /// Mean `μ`; finite.
    pub mean: f64,
    /// Standard deviation `σ`; finite, `> 0`.
    pub std: f64,
}

impl Initializer for Normal {
    fn spec(&self) -> Spec {
        Spec::new(NORMAL.name, Needs::Anything)
            .finite("mean", self.mean)
            .positive("std", self.std)
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        fill_normal(target.n, self.mean, self.std, rng)
    }

    fn variance(&self, _: &Layer<'_>) -> Result<Option<f64>, Error> {
        Ok((self.mean == 0.0).then_some(self.std * self.std))
    }
}

/// The variance of `U(−half_width, half_width)`.
pub(crate) fn uniform_variance(half_width: f64) -> f64 {
    half_width * half_width / 3.0
}

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
    let uniform = UniformLaw::new(low, high);
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
